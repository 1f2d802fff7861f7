#ifndef SL_PORT_H
#define SL_PORT_H

#include <stdbool.h>
#include <stddef.h>

#include <rte_ethdev.h>

#include "sl_lcore_types.h"

struct sl_conf;

/*
 * Create the mbuf pools (one per NUMA socket that has a worker), then bind,
 * configure and start every port named in the config with one RX and one TX
 * queue per worker. Workers must already be in dp->workers.
 * Returns 0, or -1 with a message for the operator in `err`.
 */
int
sl_port_setup(struct sl_dp *dp, const struct sl_conf *conf, char *err,
	      size_t errlen);

/*
 * An AF_XDP TX ring is sent by the kernel only when the PMD's kick (a
 * send() syscall made inside rte_eth_tx_burst) gets through. A kick that
 * does not leaves frames in the ring until the next burst, which for a
 * quiet connection can be an RTO away. An empty burst kicks again: once per
 * dp->tx_kick_tsc (a millisecond), on the worker's own queues of ports that
 * need it, costing one syscall.
 */
static inline void
sl_port_tx_kick(struct sl_lcore *lc, uint64_t now)
{
	const struct sl_dp *dp = lc->dp;
	struct rte_mbuf *none[1];

	if (now - lc->tx_kick_last < dp->tx_kick_tsc)
		return;
	lc->tx_kick_last = now;
	for (unsigned int p = 0; p < dp->n_ports; p++)
		if (dp->ports[p].tx_kick && lc->queue < dp->ports[p].n_queues)
			rte_eth_tx_burst(dp->ports[p].port_id, lc->queue, none, 0);
}

/* Stop and close every port, then free the pools. Safe on partial setup. */
void
sl_port_teardown(struct sl_dp *dp);

/* Mbufs of all pools: total and currently out of the pools. */
void
sl_port_mbuf_usage(const struct sl_dp *dp, uint64_t *total, uint64_t *in_use);

/* "up"/"down", speed in Mbps and duplex, without waiting. */
const char *
sl_port_link(uint16_t port_id, uint32_t *speed_mbps, int *full_duplex);

#endif
