#ifndef SL_BREAKER_H
#define SL_BREAKER_H

/*
 * Per-backend circuit breaker and per-pool outlier ejection, driven by one
 * control thread that feeds request outcomes and the time. No DPDK, no
 * clock reads, no allocation.
 */

#include <stdbool.h>
#include <stdint.h>

#include "sl_breaker_types.h"

void
sl_breaker_init(struct sl_breaker *b, const struct sl_breaker_conf *c,
		uint64_t now_ms);

/* Time-driven transition: OPEN -> HALF_OPEN once now >= opened_ms +
 * cooldown_cur_ms, with probes_left = half_open_probes (at least 1). */
enum sl_breaker_event
sl_breaker_tick(struct sl_breaker *b, const struct sl_breaker_conf *c,
		uint64_t now_ms);

/* May a request go to this backend now? CLOSED: yes; OPEN: no; HALF_OPEN:
 * only while probe permits remain (taking one). No time transitions: call
 * sl_breaker_tick first. */
bool
sl_breaker_allow(struct sl_breaker *b);

/*
 * One request's result (failure as the configuration defines it).
 * CLOSED: counted in the window and the run of failures; trips to OPEN
 * (OPENED) on consecutive_failures or on the error rate with min_requests.
 * HALF_OPEN: success closes (CLOSED: window, run, backoff cleared);
 * failure reopens with the cooldown doubled up to cooldown_max_ms
 * (REOPENED). OPEN: results of requests sent before it opened change
 * nothing. Returns the event.
 */
enum sl_breaker_event
sl_breaker_result(struct sl_breaker *b, const struct sl_breaker_conf *c,
		  bool failure, uint64_t now_ms);

/* Open now (an operator's or a health check's decision); the cooldown
 * restarts and keeps its current backoff. */
void
sl_breaker_force_open(struct sl_breaker *b, const struct sl_breaker_conf *c,
		      uint64_t now_ms);

/* Back to CLOSED with counts and backoff cleared (the opens counter stays). */
void
sl_breaker_reset(struct sl_breaker *b, const struct sl_breaker_conf *c,
		 uint64_t now_ms);

/* "closed", "open", "half_open" ("unknown" otherwise). */
const char *
sl_breaker_state_name(enum sl_breaker_state s);

void
sl_outlier_init(struct sl_outlier_pool *p, unsigned int n, uint64_t now_ms);

/*
 * Record one outcome of backend i. SUCCESS clears both runs; 5XX extends
 * the 5xx run; a gateway failure (connect, reset, timeout) extends both
 * runs, since Envoy counts it as a 5xx too. A run reaching its threshold
 * ejects the host (EJECTED_GATEWAY is checked first) unless that would
 * exceed sl_outlier_max_ejectable: then SUPPRESSED and the runs restart.
 * Outcomes of an ejected host (requests already in flight) are ignored.
 */
enum sl_outlier_event
sl_outlier_record(struct sl_outlier_pool *p, const struct sl_outlier_conf *c,
		  unsigned int i, enum sl_outcome o, uint64_t now_ms);

/*
 * Time-driven work: return the hosts whose ejection is over (their indices
 * in returned[], the count is the return value), and once every
 * interval_ms run success-rate ejection: among non-ejected hosts with >=
 * success_rate_min_requests in the interval, when there are >=
 * success_rate_min_hosts of them, eject those below mean - factor*stdev,
 * worst first, within max_ejection_pct (indices in ejected_sr[], count in
 * *n_sr); then start a new interval. Arrays hold up to n entries; either
 * may be NULL.
 */
unsigned int
sl_outlier_tick(struct sl_outlier_pool *p, const struct sl_outlier_conf *c,
		uint64_t now_ms, unsigned int *returned, unsigned int *ejected_sr,
		unsigned int *n_sr);

/* min(floor(n*pct/100), n-1); 0 for n <= 1. */
unsigned int
sl_outlier_max_ejectable(unsigned int n, uint32_t pct);

unsigned int
sl_outlier_n_ejected(const struct sl_outlier_pool *p);

/* Panic routing: healthy_n of n weighted backends. In panic when
 * healthy_n == 0, or n > 0 and healthy_n*100 < threshold_pct*n. */
bool
sl_lb_panic(unsigned int healthy_n, unsigned int n, uint32_t threshold_pct);

#endif
