#ifndef SL_WORKER_H
#define SL_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_conf_types.h"
#include "sl_lcore_types.h"

/*
 * What one lcore's loop carries from one turn to the next: the clock (a
 * turn's end is the next one's start, so every cycle is busy or idle), the
 * run of empty polls and the adaptive sleep, and the runtime settings it
 * follows (a copy: they never change, but a reload frees the config they
 * came from). The caller owns the storage; sl_worker_loop_init() fills it.
 */
struct sl_worker_loop {
	struct sl_conf_runtime rt;
	uint64_t t0;                 /* TSC at the start of the next turn */
	uint32_t empty;              /* empty polls in a row */
	uint32_t sleep_us;           /* the next adaptive sleep */
};

/*
 * The lcore set-up every application of lib/worker shares: the lcore's
 * state on its socket, its ARP table, and TCP stack idx of n_workers, which
 * attaches itself to the lcore (sl_tcp_of) and registers its IPv4 input.
 * The gateway adds its proxies (sl_worker_create), sluice-loadgen its
 * clients and servers. NULL with rte_errno set.
 */
struct sl_lcore *
sl_worker_lcore_create(struct sl_dp *dp, unsigned int lcore_id, unsigned int idx,
		       unsigned int n_workers);

/* Free what sl_worker_lcore_create() made (parked packets included). */
void
sl_worker_lcore_free(struct sl_lcore *lc);

/* A gateway worker: the above plus the L4 and HTTP proxies. NULL with
 * rte_errno set. */
struct sl_lcore *
sl_worker_create(struct sl_dp *dp, unsigned int lcore_id, unsigned int idx,
		 unsigned int n_workers);

/* Free a worker and everything it owns (parked packets included). */
void
sl_worker_free(struct sl_lcore *lc);

/* Start a loop on lc now, with the runtime settings of lc->dp->conf. */
void
sl_worker_loop_init(struct sl_worker_loop *wl, const struct sl_lcore *lc);

/*
 * One turn of the loop: an RX burst per port (steered when several workers
 * share a port), TCP's timers, the applications' events for all of it at
 * once (sl_tcp_dispatch), ARP's retries, then hook(lc, arg) if not NULL,
 * one TX flush per port, and the busy/idle accounting and adaptive idle.
 * lc->now is the turn's start throughout. The hook is an application's own
 * step (sluice-loadgen issues its requests there); it returns true when it
 * did work, so that the turn counts as busy.
 */
void
sl_worker_turn(struct sl_lcore *lc, struct sl_worker_loop *wl,
	       bool (*hook)(struct sl_lcore *lc, void *arg), void *arg);

/*
 * The gateway's run-to-completion loop, launched with
 * rte_eal_remote_launch(): the lifecycle, reload and counter-reset checks,
 * then sl_worker_turn(). Returns 0 when dp->stop is set.
 */
int
sl_worker_main(void *arg);

#endif
