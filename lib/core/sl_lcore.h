#ifndef SL_LCORE_H
#define SL_LCORE_H

#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "sl_lcore_types.h"

/*
 * Give module m's state on lc (ctx), registering m at its first call: m->id
 * is its slot in lc->mod[] from then on, for every lcore. Control thread,
 * while lc's loop is not running. 0, or -ENOSPC when every slot is taken.
 */
int
sl_lcore_module_attach(struct sl_lcore *lc, struct sl_lcore_module *m,
		       void *ctx);

/* Take m's state off lc if it is still ctx (a module's free); lc may be NULL. */
void
sl_lcore_module_detach(struct sl_lcore *lc, const struct sl_lcore_module *m,
		       const void *ctx);

/* Module m's state on lc, NULL if none: one load at a slot fixed at init. */
static inline void *
sl_lcore_module_ctx(const struct sl_lcore *lc, const struct sl_lcore_module *m)
{
	return lc->mod[m->id];
}

/*
 * An operator reset the counters: zero lc's port counters and cycle
 * accounting, and let each attached module zero its own (reset_counters).
 * Gauges stay. On lc's own lcore, the only writer of all of them.
 */
void
sl_lcore_reset_counters(struct sl_lcore *lc);

/* Count a drop against a port and free the packet. */
static inline void
sl_drop(struct sl_lcore *lc, unsigned int port, enum sl_drop_reason why,
	struct rte_mbuf *m)
{
	lc->stats[port].drops[why]++;
	rte_pktmbuf_free(m);
}

/* Send every packet buffered for a port in one burst. */
static inline void
sl_tx_flush(struct sl_lcore *lc, unsigned int port)
{
	struct sl_txq *q = &lc->txq[port];
	struct sl_port_stats *st = &lc->stats[port];
	uint16_t sent;

	if (q->n == 0)
		return;
	if (unlikely(q->handoff != NULL)) {
		/* No queue of ours here: the queue's worker sends (and counts). */
		sent = (uint16_t)rte_ring_sp_enqueue_burst(q->handoff,
							   (void **)q->pkts, q->n, NULL);
		st->tx_handed_off += sent;
		for (uint16_t i = sent; i < q->n; i++)
			sl_drop(lc, port, SL_DROP_STEER_RING_FULL, q->pkts[i]);
		q->n = 0;
		return;
	}
	for (uint16_t i = 0; i < q->n; i++)
		st->tx_bytes += rte_pktmbuf_pkt_len(q->pkts[i]);
	sent = rte_eth_tx_burst(lc->dp->ports[port].port_id, lc->queue,
				q->pkts, q->n);
	if (unlikely(sent < q->n)) {
		/* One retry: AF_XDP often frees TX slots on the next call. */
		sent += rte_eth_tx_burst(lc->dp->ports[port].port_id, lc->queue,
					 q->pkts + sent, q->n - sent);
		for (uint16_t i = sent; i < q->n; i++) {
			st->tx_bytes -= rte_pktmbuf_pkt_len(q->pkts[i]);
			sl_drop(lc, port, SL_DROP_TX_FULL, q->pkts[i]);
		}
	}
	st->tx_packets += sent;
	q->n = 0;
}

/* Queue a finished frame for TX on a port; flushed once per loop turn. */
static inline void
sl_tx(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m)
{
	struct sl_txq *q = &lc->txq[port];

	if (unlikely(q->n == SL_TXQ_MAX))
		sl_tx_flush(lc, port);
	q->pkts[q->n++] = m;
}

static inline void
sl_tx_flush_all(struct sl_lcore *lc)
{
	for (unsigned int p = 0; p < lc->dp->n_ports; p++)
		sl_tx_flush(lc, p);
}

/* Milliseconds to TSC cycles, for timers. */
static inline uint64_t
sl_ms_to_tsc(const struct sl_lcore *lc, uint64_t ms)
{
	return ms * lc->dp->tsc_hz / 1000;
}

#endif
