#ifndef SL_LB_H
#define SL_LB_H

/*
 * Backend choice and the small control-loop helpers around it: weighted
 * round robin, random, least request (power of two choices), Maglev
 * consistent hashing, slow start, retry budget, token bucket and the
 * imbalance detector. No DPDK and no clock: usable from lcores, a control
 * thread and unit tests alike. Arrays are indexed by backend, n of them,
 * n <= SL_LB_MAX_BACKENDS (larger n is clamped). A weight of 0 means "not
 * eligible" everywhere.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_lb_types.h"

/*
 * Smooth weighted round robin (nginx's algorithm): deterministic and
 * evenly interleaved, weights 5,1,1 give a,a,b,a,c,a,a repeating. A backend
 * whose weight is 0 has its cursor reset, so it re-enters without a burst.
 * Returns the index, or -1 if no backend is eligible.
 */
int
sl_lb_swrr_pick(struct sl_lb_swrr *s, const uint32_t *weight, unsigned int n);

/* xorshift64* PRNG. A zero *state (which would stick at 0) is reseeded. */
uint64_t
sl_lb_rand(uint64_t *state);

/* Weighted random among weight > 0. -1 if none. */
int
sl_lb_random_pick(const uint32_t *weight, unsigned int n, uint64_t *rng);

/*
 * The two distinct candidates of one least-request draw: *first weighted
 * by weight, *second weighted among the others (without replacement).
 * Returns how many were drawn: 0 (none eligible, both -1), 1 (only one
 * eligible, *second = -1) or 2. Exposed so tests can see the draw.
 */
unsigned int
sl_lb_p2c_draw(const uint32_t *weight, unsigned int n, uint64_t *rng,
	       int *first, int *second);

/*
 * Weighted least request, power of two choices: of two distinct backends
 * drawn by sl_lb_p2c_draw, the one with the lower inflight/weight (ties:
 * lower inflight, then the first drawn). One eligible: that one. -1 if none.
 */
int
sl_lb_p2c_pick(const uint32_t *weight, const uint32_t *inflight, unsigned int n,
	       uint64_t *rng);

/*
 * Build a weighted Maglev table (Eisenbud et al., NSDI'16) into m->table,
 * m->size entries. ids[i] is a stable identity of backend i (a hash of
 * addr:port): it alone fixes the backend's permutation, so removing one
 * of N backends moves about 1/N of the keys. Backends get entries in
 * proportion to weight (weight 0: none). Returns 0, or -EINVAL when size
 * is not prime, table is NULL, n is too large or no weight is > 0.
 */
int
sl_lb_maglev_build(struct sl_lb_maglev *m, const uint32_t *weight,
		   const uint64_t *ids, unsigned int n);

/*
 * Backend for a key hash: table[hash % size]. When eligible is given and
 * that backend is not, probe up to 32 more entries at positions re-hashed
 * from the key, so that keys of a down backend spread over the others
 * while every other key stays put. -1 if none found.
 */
int
sl_lb_maglev_pick(const struct sl_lb_maglev *m, uint64_t hash,
		  const bool *eligible);

bool
sl_lb_is_prime(uint32_t x);

/* 64-bit hash of bytes: FNV-1a with a murmur3 finaliser for avalanche. */
uint64_t
sl_lb_hash(const void *data, size_t len, uint64_t seed);

/*
 * Slow start: the effective weight of a backend back in service since
 * since_ms, a linear ramp from max(1, weight*min_pct/100) to weight over
 * window_ms. window_ms == 0 or since_ms == 0: weight. Never 0 for weight > 0.
 */
uint32_t
sl_lb_slow_start_weight(uint32_t weight, uint64_t since_ms, uint64_t now_ms,
			uint32_t window_ms, uint32_t min_pct);

/*
 * May one more retry start? Allowed retries are
 * max(min_concurrency, floor(active_requests*budget_pct/100)).
 */
bool
sl_lb_budget_allows(const struct sl_lb_budget_conf *c, uint32_t active_requests,
		    uint32_t active_retries);

/* Token bucket, full (burst tokens) at now_ms. */
void
sl_lb_bucket_init(struct sl_lb_bucket *b, double burst, uint64_t now_ms);

/* Refill at rate tokens per second up to burst, then take one if there is
 * one. A clock that goes backwards refills nothing. */
bool
sl_lb_bucket_take(struct sl_lb_bucket *b, double rate, double burst,
		  uint64_t now_ms);

/* Imbalance detector over a sliding window of window_ms, kept in
 * SL_LB_IMB_BUCKETS buckets (so it forgets in steps of window/10). */
void
sl_lb_imbalance_init(struct sl_lb_imbalance *im, unsigned int n,
		     uint32_t window_ms, uint64_t now_ms);

/* Count requests sent to backend; rotates buckets as time passes. */
void
sl_lb_imbalance_add(struct sl_lb_imbalance *im, unsigned int backend,
		    uint32_t requests, uint64_t now_ms);

/*
 * Record the effective weights (0 = not eligible) in force since the last
 * call, into the current bucket: the expected shares then follow what the
 * balancer was told over the window, not only what it is told now. Call it
 * often (the control thread does every 10 ms); a gap counts as at most one
 * bucket.
 */
void
sl_lb_imbalance_weigh(struct sl_lb_imbalance *im, const uint32_t *weight,
		      uint64_t now_ms);

/* Declared capacities for the ratio (NULL or 0 = as its peers). */
void
sl_lb_imbalance_set_capacity(struct sl_lb_imbalance *im,
			     const uint32_t *capacity, unsigned int n);

/*
 * Judge the window: fills ratio, share, expected, deviation,
 * worst_deviation, named and window_requests. Expected shares come from the
 * weights recorded by sl_lb_imbalance_weigh over the window (from `weight`
 * when nothing was recorded). ratio is the largest observed share over
 * the backend's capacity share while in service. "Over" when
 * window_requests >= min_requests and (ratio > ratio_threshold or
 * worst_deviation > deviation_threshold); a threshold <= 0 is off. The
 * alarm rises once over has held for hold_ms and clears as soon as it is
 * not. Returns +1 when this call raised the alarm, -1 when it cleared it,
 * else 0.
 */
int
sl_lb_imbalance_eval(struct sl_lb_imbalance *im, const uint32_t *weight,
		     uint64_t now_ms, uint64_t min_requests,
		     double ratio_threshold, double deviation_threshold,
		     uint32_t hold_ms);

/*
 * Capacity skew of a weight vector: for each backend with weight > 0,
 * share[i] = weight / sum of weights, cap_share[i] = capacity / sum of
 * capacities and ratio[i] = share / cap_share (0 for weight 0). Capacity
 * NULL or 0 counts as the mean of the declared ones (equal capacities when
 * none is). Any output may be NULL. Returns the index of the largest
 * ratio, or -1 when no weight is > 0.
 */
int
sl_lb_skew(const uint32_t *weight, const uint32_t *capacity, unsigned int n,
	   double *share, double *cap_share, double *ratio);

/* Root-cause alarm: start clean for n backends. */
void
sl_lb_rc_init(struct sl_lb_rc *rc, unsigned int n);

/* Fold one sample of in-flight counts into the moving averages; alpha is
 * the weight of the new sample (0.01 every 10 ms: about a second). */
void
sl_lb_rc_sample(struct sl_lb_rc *rc, const uint32_t *inflight, unsigned int n,
		double alpha);

/*
 * Judge: a backend is a cause when its configured share is over
 * skew_ratio x its capacity share (at once: the config says so), or when,
 * serving with a share above its capacity share, its average in flight
 * per unit of capacity has been over sat_ratio x its serving peers' mean
 * (and at least SL_LB_RC_SAT_MIN_INFLIGHT) for SL_LB_RC_SAT_HOLD_MS. A
 * saturated backend stays a cause while it is not serving (ejected, down,
 * breaker open, slow start), until it has served unsaturated for
 * SL_LB_RC_SAT_HOLD_MS or its share drops to fair. skew_ratio or
 * sat_ratio <= 0: that cause is off. Names the skew cause with the largest
 * ratio, else the saturated one with the most in flight. Returns +1 when
 * this call raised the alarm, -1 when it cleared it, 2 when it stays
 * raised but names another backend or cause, else 0.
 */
int
sl_lb_rc_eval(struct sl_lb_rc *rc, const struct sl_lb_rc_in *in,
	      unsigned int n, uint64_t now_ms, double skew_ratio,
	      double sat_ratio);

/* Learned capacity: forget everything (a new backend). */
void
sl_lb_cap_init(struct sl_lb_cap *c);

/* One in-flight sample, and one completed request's latency. */
void
sl_lb_cap_sample(struct sl_lb_cap *c, uint32_t inflight);

void
sl_lb_cap_done(struct sl_lb_cap *c, uint32_t latency_us);

/*
 * Close a tick: pair the tick's mean in flight with the mean latency of the
 * requests it completed. A tick under SL_LB_CAP_MIN_DONE completions does
 * not count. Returns the learned capacity (sl_lb_cap_value).
 */
double
sl_lb_cap_tick(struct sl_lb_cap *c, double tolerance);

/*
 * The learned capacity, in concurrent requests: the highest mean in flight
 * seen with latency under baseline x tolerance, once SL_LB_CAP_MIN_TICKS
 * ticks counted and latency departed above that level at least
 * SL_LB_CAP_MIN_OVER times; else 0 (unknown: a backend never pushed past
 * its knee has shown no limit).
 */
double
sl_lb_cap_value(const struct sl_lb_cap *c);

/*
 * A backend's concurrency limit (lb_concurrency.c): its learned capacity
 * times headroom (rounded up), never above its declared capacity; the
 * declared capacity as it stands when nothing is learned; held within
 * [min, max]; max when neither is known; 0 (no limit) when disabled.
 */
uint32_t
sl_lb_conc_limit(uint32_t learned, uint32_t declared, bool enabled,
		 uint32_t min, uint32_t max, double headroom);

/*
 * One tick of the slow-backend judge over a pool's n backends (lb_slow.c):
 * lat_us[i] is backend i's mean latency this tick (0: too few requests to
 * judge), level[i] its mean in flight. A backend is over when its latency
 * is at least `ratio` times the median of its peers' (those with data) and
 * at least min_excess_us above it. ev[i] is 1 when it became slow, -1 when
 * it recovered, else 0. ratio 0 judges nothing (and clears every verdict).
 */
void
sl_lb_slow_eval(struct sl_lb_slow *s, const double *lat_us,
		const double *level, unsigned int n, double ratio,
		double min_excess_us, int8_t *ev);

/*
 * What a slow backend keeps: its concurrency limit cut to half what it
 * held when judged slow (never below min, never above `limit`), and a
 * quarter of its relative share: while a pool has a slow backend, the
 * effective weight of each of the others is SL_LB_SLOW_SHARE times its
 * weight (sl_lb_slow_weight; the slow one keeps its own).
 */
uint32_t
sl_lb_slow_limit(const struct sl_lb_slow *s, uint32_t limit, uint32_t min);
uint32_t
sl_lb_slow_weight(const struct sl_lb_slow *s, uint32_t weight, bool pool_has_slow);

#endif
