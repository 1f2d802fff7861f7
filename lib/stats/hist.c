#include <math.h>

#include "sl_hist.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

uint64_t
sl_hist_bucket_low(unsigned int b)
{
	unsigned int shift;

	if (b < SL_HIST_SUB)
		return b;
	shift = b / SL_HIST_SUB - 1;
	return ((uint64_t)SL_HIST_SUB + (b % SL_HIST_SUB)) << shift;
}

uint64_t
sl_hist_bucket_high(unsigned int b)
{
	return b + 1 < SL_HIST_BUCKETS ? sl_hist_bucket_low(b + 1) : UINT64_MAX;
}

void
sl_hist_merge(struct sl_hist *acc, const struct sl_hist *h)
{
	uint64_t max = LOAD(h->max);

	acc->count += LOAD(h->count);
	acc->sum += LOAD(h->sum);
	if (max > acc->max)
		acc->max = max;
	for (unsigned int i = 0; i < SL_HIST_BUCKETS; i++)
		acc->buckets[i] += LOAD(h->buckets[i]);
}

uint64_t
sl_hist_quantile(const struct sl_hist *h, double q)
{
	uint64_t total = sl_hist_total(h), need, seen = 0;

	if (total == 0)
		return 0;
	need = (uint64_t)ceil(q * (double)total);
	if (need == 0)
		need = 1;
	for (unsigned int i = 0; i < SL_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= need) {
			uint64_t hi = sl_hist_bucket_high(i) - 1;

			return hi < h->max ? hi : h->max;
		}
	}
	return h->max;
}

uint64_t
sl_hist_total(const struct sl_hist *h)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < SL_HIST_BUCKETS; i++)
		total += h->buckets[i];
	return total;
}

uint64_t
sl_hist_count_le(const struct sl_hist *h, uint64_t bound)
{
	uint64_t n = 0;

	/* Buckets ascend: stop at the first one holding a value past bound. */
	for (unsigned int i = 0; i < SL_HIST_BUCKETS; i++) {
		if (sl_hist_bucket_high(i) - 1 > bound)
			break;
		n += h->buckets[i];
	}
	return n;
}
