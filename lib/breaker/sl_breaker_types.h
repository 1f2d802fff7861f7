#ifndef SL_BREAKER_TYPES_H
#define SL_BREAKER_TYPES_H

/*
 * Circuit breakers (one per backend) and outlier ejection (one per pool).
 * Plain C, no DPDK, no clock: one control thread owns these and passes the
 * time in, so tests drive them with a fake clock.
 */

#include <stdbool.h>
#include <stdint.h>

#include "sl_lb_types.h"

enum sl_breaker_state {
	SL_BREAKER_CLOSED = 0,
	SL_BREAKER_OPEN,
	SL_BREAKER_HALF_OPEN,
};

struct sl_breaker_conf {
	uint32_t consecutive_failures;   /* open after this many in a row; 0 = off */
	uint32_t error_rate_pct;         /* open when failures*100/requests > this
	                                    over the window; 0 = off */
	uint32_t window_ms;              /* error-rate window; 0 = since closed */
	uint32_t min_requests;           /* ...with at least this many requests
	                                    in the window */
	uint32_t cooldown_ms;            /* open -> half-open after this, doubled
	                                    on each reopening */
	uint32_t cooldown_max_ms;        /* cap on the backed-off cooldown; below
	                                    cooldown_ms (or 0): no backoff */
	uint32_t half_open_probes;       /* probe requests allowed while
	                                    half-open (at least 1); the first
	                                    result decides */
};

#define SL_BREAKER_BUCKETS 10
struct sl_breaker {
	enum sl_breaker_state state;
	uint32_t consecutive;            /* failures in a row */
	uint32_t reopenings;             /* times reopened from half-open, for
	                                    backoff; reset when closed */
	uint64_t opened_ms;
	uint32_t cooldown_cur_ms;
	uint32_t probes_left;            /* probe permits not yet handed out
	                                    while half-open */
	uint32_t probes_out;             /* handed out, no result yet */
	uint64_t bucket_start_ms;
	uint32_t cur;
	uint32_t req[SL_BREAKER_BUCKETS], fail[SL_BREAKER_BUCKETS];
	uint64_t opens;                  /* counter: OPENED + REOPENED + forced;
	                                    survives reset */
};

enum sl_breaker_event {
	SL_BREAKER_EV_NONE = 0,
	SL_BREAKER_EV_OPENED,
	SL_BREAKER_EV_HALF_OPENED,
	SL_BREAKER_EV_CLOSED,
	SL_BREAKER_EV_REOPENED,
};

/* Outlier ejection (Envoy-like) for one pool. */
struct sl_outlier_conf {
	uint32_t consecutive_5xx;        /* 0 = off */
	uint32_t consecutive_gateway;    /* connect failure/reset/timeout in a
	                                    row; 0 = off */
	uint32_t success_rate_min_hosts; /* success-rate ejection needs this
	                                    many hosts with >= min_requests;
	                                    0 = off */
	uint32_t success_rate_min_requests;
	double success_rate_stdev_factor;/* eject if rate < mean - factor*stdev
	                                    (Envoy uses 1.9) */
	uint32_t interval_ms;            /* success-rate evaluation interval;
	                                    0 = no success-rate ejection */
	uint32_t base_ejection_ms;       /* ejection time = base * times
	                                    ejected, capped */
	uint32_t max_ejection_ms;        /* 0 = no cap */
	uint32_t max_ejection_pct;       /* at most floor(n*pct/100) ejected at
	                                    once, and never all n */
};

struct sl_outlier_host {
	bool ejected;
	uint64_t ejected_until_ms;
	uint32_t times_ejected;
	uint32_t consecutive_5xx, consecutive_gateway;
	uint64_t sr_requests, sr_success;  /* current interval */
	uint64_t ejections;              /* counter */
};

struct sl_outlier_pool {
	unsigned int n;
	struct sl_outlier_host host[SL_LB_MAX_BACKENDS];
	uint64_t interval_start_ms;
	uint64_t suppressed;             /* counter: ejections max_ejection_pct
	                                    refused */
};

enum sl_outcome {
	SL_OUT_SUCCESS = 0,
	SL_OUT_5XX,                      /* a configured failure status */
	SL_OUT_CONNECT_FAIL,
	SL_OUT_RESET,
	SL_OUT_TIMEOUT,
};

enum sl_outlier_event {
	SL_OUTLIER_EV_NONE = 0,
	SL_OUTLIER_EV_EJECTED_5XX,
	SL_OUTLIER_EV_EJECTED_GATEWAY,
	SL_OUTLIER_EV_EJECTED_SUCCESS_RATE,
	SL_OUTLIER_EV_RETURNED,
	SL_OUTLIER_EV_SUPPRESSED,        /* would eject, max_ejection_pct reached */
};

#endif
