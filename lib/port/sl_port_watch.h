#ifndef SL_PORT_WATCH_H
#define SL_PORT_WATCH_H

/*
 * The RX watchdog: a port that stops receiving while packets keep arriving
 * for it is detected, counted and restarted, without restarting Sluice.
 *
 * It runs on the main (control) lcore, off the fast path. A port is
 * stalled when, for SL_PORT_STALL_MS, the PMD delivered no packet
 * (rte_eth_stats ipackets stood still) while evidence of arrivals kept
 * growing: the PMD's or kernel's drop counters (imissed, ierrors,
 * rx_nombuf) or, for a kernel-backed port (af_xdp), the kernel's own
 * rx_packets of the interface. A quiet port is never stalled: nothing
 * arrives, nothing is dropped.
 *
 * Recovery (net_af_xdp), once per SL_PORT_STALL_MS while the stall lasts: the workers
 * stop polling the port (sl_port_rx_paused, checked in their RX loop; the
 * RCU quiescent state they report each loop turn tells when none is inside
 * rte_eth_rx_burst for it), the port is stopped and started, and polling
 * resumes. When the mbuf pool is empty at detection, the stall is also
 * counted as rx_stalls_pool_empty: the PMD cannot refill its RX ring, and
 * receiving resumes as soon as mbufs come back (docs/operations.md, "A port
 * stopped receiving").
 */

#include <stdbool.h>
#include <stdint.h>

#include "sl_core.h"
#include "sl_lcore_types.h"

#define SL_PORT_STALL_MS 500

/* Workers skip RX on a port whose flag is set (a recovery is under way). */
extern uint8_t sl_port_rx_pause[SL_MAX_PORTS];

static inline bool
sl_port_rx_paused(unsigned int port)
{
	return __atomic_load_n(&sl_port_rx_pause[port], __ATOMIC_ACQUIRE) != 0;
}

/* What telemetry shows per port (/sluice/ports). */
struct sl_port_watch_stats {
	uint64_t rx_stalls;              /* stalls detected */
	uint64_t rx_stalls_pool_empty;   /* of those, with the mbuf pool empty */
	uint64_t rx_stall_restarts;      /* port stop/start done to recover */
	uint64_t rx_stall_recoveries;    /* stalls that ended (packets again) */
	uint64_t rx_stall_ms;            /* time of the current stall, 0 if none */
	bool rx_stalled;
};

/* Port setup, after a port's RX queues: the AF_XDP sockets that appeared
 * belong to `port` (XDP_STATISTICS in the stall report and evidence). */
void
sl_port_watch_claim_xsk(unsigned int port);

/* After sl_port_setup: take the first readings. */
void
sl_port_watch_init(struct sl_dp *dp);

/* Main lcore, every few ms: check each port, recover a stalled one. */
void
sl_port_watch_run(struct sl_dp *dp);

void
sl_port_watch_get(unsigned int port, struct sl_port_watch_stats *out);

/*
 * Test hook (SLUICE_TEST_HOOKS=1 only, see lib/telemetry): every worker
 * takes mbufs out of its pool and keeps them, leaving `leave` available,
 * so that a test can provoke an empty-pool RX stall; release gives them
 * all back. Returns how many are held. A worker sees a request when
 * sl_port_test_hold_gen differs from the one it last took and calls
 * sl_port_test_hold_lcore between bursts.
 */
extern unsigned int sl_port_test_hold_gen;

void
sl_port_test_hold_lcore(struct sl_lcore *lc);

unsigned int
sl_port_test_hold(struct sl_dp *dp, unsigned int leave);

unsigned int
sl_port_test_release(void);

#endif
