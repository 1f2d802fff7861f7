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
	/*
	 * What the window promised, per bucket: effective weight x ms, and ms
	 * in service (effective weight > 0), from sl_lb_imbalance_weigh. A
	 * backend out for part of the window is expected to have had only
	 * that part's share, so a return from maintenance is no deviation.
	 */
	uint32_t wtime[SL_LB_IMB_BUCKETS][SL_LB_MAX_BACKENDS];
	uint32_t stime[SL_LB_IMB_BUCKETS][SL_LB_MAX_BACKENDS];
	uint64_t weighed_ms;             /* last sl_lb_imbalance_weigh; 0 = never */
	uint32_t capacity[SL_LB_MAX_BACKENDS]; /* declared; 0 = as its peers */
	int32_t named;                   /* the backend that breaks a rule most
	                                    (the one an event names); -1 none */
	int32_t ratio_top;               /* the backend with the largest ratio */
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
	double ratio;                    /* max over backends of observed
	                                    share / capacity share in service
	                                    (the config skew check's measure,
	                                    on what happened); 1.0 when none */
	double worst_deviation;          /* max over weighted backends of
	                                    |observed/expected - 1| */
	double share[SL_LB_MAX_BACKENDS];     /* share of all requests in the
	                                         window, 0..1 */
	double expected[SL_LB_MAX_BACKENDS];  /* share the effective weights
	                                         predicted over the window */
	double deviation[SL_LB_MAX_BACKENDS]; /* observed/expected - 1; for
	                                         expected 0: share (0 when
	                                         nothing came) */
	uint64_t window_requests;
};

/*
 * Root-cause alarm (lb_alarm.c): judged on the configured weights and the
 * declared capacities, not on what the balancer does now, so it stays up
 * while the backend it names is ejected, broken or in slow start.
 */
enum sl_lb_rc_cause {
	SL_LB_RC_NONE = 0,
	SL_LB_RC_SKEW,         /* configured share > skew_warn_ratio x capacity share */
	SL_LB_RC_SATURATED,    /* in flight far above its peers', share above fair */
};

/* Below this many requests in flight (averaged), nothing is saturated. */
#define SL_LB_RC_SAT_MIN_INFLIGHT 4.0
/* Saturation must last this long before it is a cause. */
#define SL_LB_RC_SAT_HOLD_MS 2000

/* One backend, as the control thread sees it at an evaluation. */
struct sl_lb_rc_in {
	uint32_t weight;       /* configured (file or operator); 0 = out of the spread */
	uint32_t capacity;     /* declared; 0 = as its peers */
	bool serving;          /* takes traffic at its full weight now */
	bool slow;             /* judged slow without errors (lb_slow.c): its
	                          lowered share hides the saturation it shows */
};

struct sl_lb_rc {
	uint32_t n;
	bool alarm;
	int32_t backend;                 /* named; -1 when not raised */
	uint8_t cause;                   /* enum sl_lb_rc_cause of the named one */
	uint8_t cause_of[SL_LB_MAX_BACKENDS];   /* per backend */
	bool latched[SL_LB_MAX_BACKENDS];       /* saturated; held while it is
	                                           out of service */
	uint64_t sat_since_ms[SL_LB_MAX_BACKENDS];  /* saturated from; 0 = not */
	uint64_t calm_since_ms[SL_LB_MAX_BACKENDS]; /* serving unsaturated from */
	double inflight[SL_LB_MAX_BACKENDS];    /* moving average of in flight */
	/* results of the last evaluation */
	double share[SL_LB_MAX_BACKENDS];       /* configured share, 0..1 */
	double cap_share[SL_LB_MAX_BACKENDS];   /* capacity share, 0..1 */
	double ratio[SL_LB_MAX_BACKENDS];       /* share / cap_share */
	double peer_ratio;               /* named: its weight per unit of capacity
	                                    over its peers' mean */
	double peer_inflight;            /* named: its peers' mean in flight */
};

/*
 * Learned capacity of one backend (lb_capacity.c): the in-flight level at
 * which its latency departs from its own low-load baseline. Fed by the
 * control thread: in-flight samples and completed requests' latency,
 * judged once a tick.
 */
#define SL_LB_CAP_MIN_TICKS  20      /* ticks with completions before a value */
#define SL_LB_CAP_MIN_OVER   3       /* ticks over tolerance above the knee */
#define SL_LB_CAP_MIN_DONE   3       /* completions for a tick to count */
#define SL_LB_CAP_TOLERANCE  2.0     /* latency over baseline x this departs */

struct sl_lb_cap {
	/* this tick's accumulators */
	double inflight_sum;
	uint32_t inflight_n;
	uint32_t done;                   /* requests completed */
	uint64_t latency_sum_us;
	/* learned */
	double baseline_us;              /* slowly-moving minimum of tick latency */
	double knee;                     /* highest in flight with latency in tolerance */
	uint32_t ticks;                  /* ticks that counted */
	uint32_t over;                   /* of them, over tolerance above the knee */
	double over_level;               /* lowest level of those */
	/* the last tick, for the slow-backend judge (lb_slow.c) */
	double tick_latency_us;          /* mean; 0 = under SL_LB_CAP_MIN_DONE done */
	double tick_level;               /* mean in flight */
};

/*
 * A backend slow without errors (lb_slow.c): every tick its mean latency
 * is compared with the median of its peers'. SL_LB_SLOW_TICKS ticks in a
 * row at slow_ratio or more (and slow_min_ms above them) make it slow; its
 * concurrency limit is halved and its share quartered until SL_LB_SLOW_CLEAR
 * ticks in a row under half the ratio.
 */
#define SL_LB_SLOW_TICKS 4           /* 2 s at the 500 ms tick */
#define SL_LB_SLOW_CLEAR 6           /* 3 s */
#define SL_LB_SLOW_SHARE 4           /* its peers' weight x this meanwhile */

struct sl_lb_slow {
	uint8_t slow;                    /* judged slow */
	uint8_t over, under;             /* ticks in a row over / clear */
	double latency_us;               /* its last tick with data */
	double peer_latency_us;          /* its peers' median then */
	double level_at;                 /* its in flight when judged slow */
};

#endif
