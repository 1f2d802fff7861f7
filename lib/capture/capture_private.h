#ifndef CAPTURE_PRIVATE_H
#define CAPTURE_PRIVATE_H

/* Internal to lib/capture: the per-queue tap the ethdev callbacks run. */

#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "sl_capture_types.h"

#define CAPTURE_BURST 64   /* copies queued per ring enqueue */

/*
 * The head of a pcapng Enhanced Packet Block, as rte_pcapng_copy() lays it
 * out at the start of a copy (the file format, so it cannot move). The tap
 * stores the raw TSC in the timestamp; the writer turns it into ns.
 */
struct capture_epb_head {
	uint32_t block_type;
	uint32_t block_length;
	uint32_t interface_id;
	uint32_t timestamp_hi;
	uint32_t timestamp_lo;
};

/*
 * One per queue, i.e. per worker (worker w owns queue w on every port).
 * Set up by the control side before the callbacks are installed and left
 * alone until they are removed and every worker has moved on; while they
 * run, the worker writes only `st`.
 */
struct capture_tap {
	struct rte_ring *ring;           /* SP (this worker) / SC (writer) */
	struct rte_mempool *pool;        /* shared by every tap */
	struct sl_capture_filter filter;
	uint16_t port_id;                /* ethdev id */
	uint16_t queue;
	uint64_t copy_tsc;               /* the TSC handed to rte_pcapng_copy */
	const struct rte_eth_rxtx_callback *rx_cb;
	const struct rte_eth_rxtx_callback *tx_cb;
	struct sl_capture_lcore_stats st;
} __rte_cache_aligned;

uint16_t
capture_rx_cb(uint16_t port_id, uint16_t queue, struct rte_mbuf *pkts[],
	      uint16_t n, uint16_t max, void *arg);

uint16_t
capture_tx_cb(uint16_t port_id, uint16_t queue, struct rte_mbuf *pkts[],
	      uint16_t n, void *arg);

#endif
