/*
 * The slow-backend judge: a backend whose latency rises far above its
 * peers' without a single error opens no breaker and trips no outlier
 * rule, yet it holds requests (and the pool's budget) for as long as it
 * is slow, and in the postmortem it queued for 3 s before its first 503.
 * Judged on the control thread every 500 ms from the capacity learner's
 * tick (lb_capacity.c). Pure arithmetic on the caller's arrays.
 */
#include <math.h>
#include <string.h>

#include "sl_lb.h"

/* Sort v[0..n) in place: n is small (a pool's backends). */
static void
sort(double *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		double x = v[i];
		unsigned int j = i;

		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Median of sorted v[0..n), n > 0. */
static double
median(const double *v, unsigned int n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void
sl_lb_slow_eval(struct sl_lb_slow *s, const double *lat_us,
		const double *level, unsigned int n, double ratio,
		double min_excess_us, int8_t *ev)
{
	double sorted[n > 0 ? n : 1], peers[n > 0 ? n : 1];
	unsigned int have = 0;

	memset(ev, 0, n * sizeof(*ev));
	for (unsigned int i = 0; i < n; i++)
		if (lat_us[i] > 0)
			sorted[have++] = lat_us[i];
	sort(sorted, have);
	for (unsigned int i = 0; i < n; i++) {
		struct sl_lb_slow *b = &s[i];
		unsigned int np = 0;
		double peer;
		bool over, clear;

		if (ratio <= 0) {
			if (b->slow)
				ev[i] = -1;
			memset(b, 0, sizeof(*b));
			continue;
		}
		/* No data this tick (idle, or passed over): no verdict
		 * either way; a slow backend stays so until it shows it
		 * is not. */
		if (lat_us[i] <= 0)
			continue;
		/* Its peers: the sorted latencies without its own (still
		 * sorted). */
		for (unsigned int k = 0, skipped = 0; k < have; k++) {
			if (!skipped && sorted[k] == lat_us[i]) {
				skipped = 1;
				continue;
			}
			peers[np++] = sorted[k];
		}
		if (np == 0)
			continue;
		peer = median(peers, np);
		b->latency_us = lat_us[i];
		b->peer_latency_us = peer;
		over = lat_us[i] >= peer * ratio &&
		       lat_us[i] - peer >= min_excess_us;
		clear = lat_us[i] < peer * ratio / 2 ||
			lat_us[i] - peer < min_excess_us / 2;
		b->over = over ? (uint8_t)(b->over < 255 ? b->over + 1 : 255) : 0;
		b->under = clear ? (uint8_t)(b->under < 255 ? b->under + 1 : 255) : 0;
		if (!b->slow && b->over >= SL_LB_SLOW_TICKS) {
			b->slow = 1;
			b->under = 0;
			b->level_at = level[i];
			ev[i] = 1;
		} else if (b->slow && b->under >= SL_LB_SLOW_CLEAR) {
			b->slow = 0;
			b->over = 0;
			ev[i] = -1;
		}
	}
}

uint32_t
sl_lb_slow_limit(const struct sl_lb_slow *s, uint32_t limit, uint32_t min)
{
	uint32_t v;

	if (!s->slow || limit == 0)
		return limit;
	v = (uint32_t)ceil(s->level_at / 2);
	if (v < min)
		v = min;
	return v < limit ? v : limit;
}

uint32_t
sl_lb_slow_weight(const struct sl_lb_slow *s, uint32_t weight, bool pool_has_slow)
{
	/* Weights are integers, and most are 1: a quarter of a slow one's
	 * is had by giving each of its peers four times theirs. */
	if (!pool_has_slow || s->slow)
		return weight;
	return weight * SL_LB_SLOW_SHARE;
}
