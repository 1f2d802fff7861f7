/*
 * The out-of-order queue: segments above rcv_nxt, kept sorted and
 * disjoint, bounded by tcp.ooo_max and the buffer caps, and moved to the
 * receive queue once the hole before them fills (tcp_input.c).
 */
#include <rte_mbuf.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "tcp_private.h"

/* Insert an out-of-order payload mbuf; frees it when it adds nothing. */
void
tcp_ooo_insert(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port,
	       struct rte_mbuf *m, uint32_t seq, bool fin)
{
	struct rte_mbuf *prev = NULL, *cur = c->ooo.head;
	uint32_t end = seq + rte_pktmbuf_data_len(m);

	while (cur != NULL && sl_seq_le(sl_mq_meta(cur)->seq, seq)) {
		prev = cur;
		cur = sl_mq_next(cur);
	}
	if (prev != NULL) {
		uint32_t pend = sl_mq_meta(prev)->seq + rte_pktmbuf_data_len(prev);

		if (sl_seq_ge(pend, end)) {
			rte_pktmbuf_free(m);   /* already held */
			return;
		}
		if (sl_seq_gt(pend, seq)) {
			rte_pktmbuf_adj(m, (uint16_t)(pend - seq));
			seq = pend;
		}
	}
	if (cur != NULL && sl_seq_gt(end, sl_mq_meta(cur)->seq)) {
		uint32_t keep = sl_mq_meta(cur)->seq - seq;

		if (keep == 0) {
			rte_pktmbuf_free(m);
			return;
		}
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - keep));
		fin = false;
	}
	if (c->ooo.n >= s->conf->ooo_max) {
		sl_drop(s->lc, port, SL_DROP_TCP_OOO_FULL, m);
		return;
	}
	if (!tcp_rcv_admit(s, c, port, m, true))
		return;
	sl_mq_meta(m)->seq = seq;
	sl_mq_meta(m)->fin = fin;
	sl_mq_meta(m)->qnext = cur;
	if (prev != NULL)
		sl_mq_meta(prev)->qnext = m;
	else
		c->ooo.head = m;
	if (cur == NULL)
		c->ooo.tail = m;
	c->ooo.bytes += rte_pktmbuf_data_len(m);
	c->ooo.n++;
	c->ooo_last = seq;
	s->stats.ooo_segments++;
}

/*
 * Nothing follows a FIN: out-of-order data queued beyond it (a peer that
 * lies about where its stream ends) is dropped, not delivered after the
 * end nor acknowledged (as Linux's tcp_fin purges its ofo queue).
 */
void
tcp_ooo_purge(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port)
{
	struct rte_mbuf *m;

	while ((m = sl_mq_pop(&c->ooo)) != NULL)
		sl_drop(s->lc, port, SL_DROP_TCP_STATE, m);
}

/* Move what became in order from ooo to rcvq. Returns true on FIN. */
bool
tcp_ooo_drain(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port)
{
	bool fin = false;

	while (c->ooo.head != NULL &&
	       sl_seq_le(sl_mq_meta(c->ooo.head)->seq, c->rcv_nxt)) {
		struct rte_mbuf *m = sl_mq_pop(&c->ooo);
		uint32_t seq = sl_mq_meta(m)->seq;
		uint32_t end = seq + rte_pktmbuf_data_len(m);
		bool f = sl_mq_meta(m)->fin;

		if (sl_seq_le(end, c->rcv_nxt)) {
			rte_pktmbuf_free(m);
			continue;
		}
		rte_pktmbuf_adj(m, (uint16_t)(c->rcv_nxt - seq));
		tcp_rcvq_add(s, c, m);
		c->rcv_nxt = end;
		if (f) {
			fin = true;
			tcp_ooo_purge(s, c, port);
			break;
		}
	}
	return fin;
}
