#ifndef SL_WORKER_H
#define SL_WORKER_H

#include "sl_lcore_types.h"

/* Allocate a worker's state on its lcore's socket. NULL with rte_errno set. */
struct sl_lcore *
sl_worker_create(struct sl_dp *dp, unsigned int lcore_id, unsigned int idx,
		 unsigned int n_workers);

/* Free a worker and everything it owns (parked packets included). */
void
sl_worker_free(struct sl_lcore *lc);

/*
 * The run-to-completion loop, launched with rte_eal_remote_launch():
 * RX burst per port -> classify/handle -> one TX burst per port, timers,
 * then the idle policy. Returns 0 when dp->stop is set.
 */
int
sl_worker_main(void *arg);

#endif
