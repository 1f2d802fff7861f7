#ifndef SL_HIST_H
#define SL_HIST_H

/*
 * Log-linear latency histogram (the HdrHistogram idea, fixed and small):
 * values are bucketed by power of two, each power split into
 * 2^SL_HIST_SUB_BITS linear sub-buckets, so any recorded value is known
 * within 1/2^SL_HIST_SUB_BITS (12.5%) of itself. One writer (its lcore)
 * records with plain increments; readers merge copies and ask for
 * percentiles. Values are unitless (Sluice records microseconds).
 */

#include <stdint.h>

#define SL_HIST_SUB_BITS 3
#define SL_HIST_SUB      (1u << SL_HIST_SUB_BITS)
#define SL_HIST_POWERS   40      /* values up to 2^40 (12.7 days in µs) */
#define SL_HIST_BUCKETS  (SL_HIST_POWERS * SL_HIST_SUB)

struct sl_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t max;
	uint64_t buckets[SL_HIST_BUCKETS];
};

/* Bucket of a value: exact below SL_HIST_SUB, log-linear above. */
static inline unsigned int
sl_hist_bucket(uint64_t v)
{
	unsigned int msb, shift;

	if (v < SL_HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	if (msb >= SL_HIST_POWERS + SL_HIST_SUB_BITS - 1)
		return SL_HIST_BUCKETS - 1;
	shift = msb - SL_HIST_SUB_BITS;
	return (shift + 1) * SL_HIST_SUB + (unsigned int)((v >> shift) & (SL_HIST_SUB - 1));
}

static inline void
sl_hist_record(struct sl_hist *h, uint64_t v)
{
	h->buckets[sl_hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Smallest value that falls in bucket b (the inverse of sl_hist_bucket). */
uint64_t
sl_hist_bucket_low(unsigned int b);

/* One past the largest value of bucket b. */
uint64_t
sl_hist_bucket_high(unsigned int b);

/* acc += h, reading h with relaxed loads (h may be live on another lcore). */
void
sl_hist_merge(struct sl_hist *acc, const struct sl_hist *h);

/*
 * The value at quantile q (0 < q <= 1): the upper edge of the bucket where
 * the cumulative count reaches q * count, capped at the recorded max.
 * 0 when empty.
 */
uint64_t
sl_hist_quantile(const struct sl_hist *h, double q);

/* Samples in the buckets (count may be a moment ahead of them). */
uint64_t
sl_hist_total(const struct sl_hist *h);

/*
 * Samples in the buckets whose every value is <= bound: the cumulative
 * count of a Prometheus bucket `le="bound"`. A bucket that straddles the
 * bound (at most 12.5% of its values wide) counts in the next bound up, so
 * the result never claims a sample was faster than it may have been.
 */
uint64_t
sl_hist_count_le(const struct sl_hist *h, uint64_t bound);

#endif
