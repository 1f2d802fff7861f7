#ifndef SL_LB_TYPES_H
#define SL_LB_TYPES_H

/*
 * Load-balancing state. Plain C, no DPDK: the same structures serve the
 * worker lcores, the control thread and the unit tests. Nothing here reads
 * a clock; every time is a millisecond value the caller passes in.
 */

#include <stdbool.h>
#include <stdint.h>

#define SL_LB_MAX_BACKENDS 256

enum sl_lb_policy {
	SL_LB_WRR = 0,
	SL_LB_LEAST_REQUEST,
	SL_LB_MAGLEV,
	SL_LB_RANDOM,
};

/* Smooth weighted round robin cursor: one per lcore, zero-initialised. */
struct sl_lb_swrr {
	int64_t current[SL_LB_MAX_BACKENDS];
};

/*
 * Maglev lookup table. size is prime; table holds size backend indices in
 * storage the caller provides. Read-only once built, so lcores share it.
 */
struct sl_lb_maglev {
	uint32_t size;
	uint16_t *table;
};

/* Retry budget (Envoy): retries may be budget_pct of active requests, but
 * at least min_concurrency so that a quiet pool can still retry. */
struct sl_lb_budget_conf {
	uint32_t budget_pct;
	uint32_t min_concurrency;
};

/* Token bucket. */
struct sl_lb_bucket {
	double tokens;
	uint64_t last_ms;
};

/* Above this, the imbalance ratio is reported as this (the others got
 * nothing): finite, so that it prints and serialises. */
#define SL_LB_IMB_RATIO_MAX 1e9

/* Imbalance window: per backend request counts in a ring of buckets. */
#define SL_LB_IMB_BUCKETS 10
struct sl_lb_imbalance {
	uint32_t n;                      /* backends */
	uint32_t bucket_ms;              /* window / SL_LB_IMB_BUCKETS */
	uint64_t bucket_start_ms;        /* start of the current bucket */
	uint32_t cur;                    /* current bucket index */
	uint32_t counts[SL_LB_IMB_BUCKETS][SL_LB_MAX_BACKENDS];
	uint64_t over_since_ms;          /* 0 = not over threshold */
	bool alarm;
	bool over;                       /* over_since_ms is valid (it may be 0
	                                    on a fake clock that starts at 0) */
	/* results of the last sl_lb_imbalance_eval: */
	/*
	 * Ratio and deviation judge only the backends with weight > 0, on
	 * their shares of the requests those backends got ("observed"), so
	 * that requests still finishing on a backend just taken out do not
	 * make the others look starved.
	 */
	double ratio;                    /* max observed share / mean of the
	                                    others' observed shares (the config
	                                    skew check's measure); 1.0 when
	                                    even or fewer than two */
	double worst_deviation;          /* max over weighted backends of
	                                    |observed/expected - 1| */
	double share[SL_LB_MAX_BACKENDS];     /* share of all requests in the
	                                         window, 0..1 */
	double expected[SL_LB_MAX_BACKENDS];  /* weight-predicted share */
	double deviation[SL_LB_MAX_BACKENDS]; /* observed/expected - 1; for
	                                         expected 0: share (0 when
	                                         nothing came) */
	uint64_t window_requests;
};

#endif
