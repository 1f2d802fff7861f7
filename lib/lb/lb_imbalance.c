/*
 * Imbalance detector: does the traffic each backend actually received over
 * the last window match what the weights promised? A ring of buckets keeps
 * the window sliding in steps of window/SL_LB_IMB_BUCKETS without storing
 * per-request times.
 */
#include <math.h>
#include <string.h>

#include "sl_lb.h"

void
sl_lb_imbalance_init(struct sl_lb_imbalance *im, unsigned int n,
		     uint32_t window_ms, uint64_t now_ms)
{
	memset(im, 0, sizeof(*im));
	im->n = n > SL_LB_MAX_BACKENDS ? SL_LB_MAX_BACKENDS : n;
	im->bucket_ms = window_ms / SL_LB_IMB_BUCKETS;
	if (im->bucket_ms == 0)
		im->bucket_ms = 1;
	im->bucket_start_ms = now_ms;
	im->ratio = 1.0;
}

/* Advance to the bucket that holds now_ms, clearing the ones that expire. */
static void
rotate(struct sl_lb_imbalance *im, uint64_t now_ms)
{
	uint64_t steps;

	if (now_ms < im->bucket_start_ms + im->bucket_ms)
		return;
	steps = (now_ms - im->bucket_start_ms) / im->bucket_ms;
	im->bucket_start_ms += steps * im->bucket_ms;
	if (steps >= SL_LB_IMB_BUCKETS) {
		memset(im->counts, 0, sizeof(im->counts));
		return;
	}
	while (steps-- > 0) {
		im->cur = (im->cur + 1) % SL_LB_IMB_BUCKETS;
		memset(im->counts[im->cur], 0, sizeof(im->counts[im->cur]));
	}
}

void
sl_lb_imbalance_add(struct sl_lb_imbalance *im, unsigned int backend,
		    uint32_t requests, uint64_t now_ms)
{
	uint32_t *c;

	rotate(im, now_ms);
	if (backend >= im->n)
		return;
	c = &im->counts[im->cur][backend];
	*c = *c > UINT32_MAX - requests ? UINT32_MAX : *c + requests;
}

/*
 * Fill share, expected and deviation, and the summaries. Deviation and
 * ratio judge only the backends with weight > 0, on their shares of the
 * traffic those backends got: requests still finishing on a backend just
 * taken out are normal, and must not make the others look starved.
 */
static void
measure(struct sl_lb_imbalance *im, const uint32_t *weight)
{
	uint64_t obs[SL_LB_MAX_BACKENDS], total = 0, wtotal = 0, wsum = 0;
	double smax = 0;
	unsigned int m = 0;

	for (unsigned int i = 0; i < im->n; i++) {
		obs[i] = 0;
		for (unsigned int k = 0; k < SL_LB_IMB_BUCKETS; k++)
			obs[i] += im->counts[k][i];
		total += obs[i];
		wsum += weight[i];
		if (weight[i] > 0) {
			wtotal += obs[i];
			m++;
		}
	}
	im->window_requests = total;
	im->worst_deviation = 0;
	for (unsigned int i = 0; i < im->n; i++) {
		double e = wsum ? (double)weight[i] / (double)wsum : 0;
		double s;

		im->share[i] = total ? (double)obs[i] / (double)total : 0;
		im->expected[i] = e;
		if (e == 0) {
			im->deviation[i] = im->share[i];
			continue;
		}
		s = wtotal ? (double)obs[i] / (double)wtotal : 0;
		if (s > smax)
			smax = s;
		im->deviation[i] = s / e - 1.0;
		if (fabs(im->deviation[i]) > im->worst_deviation)
			im->worst_deviation = fabs(im->deviation[i]);
	}
	im->ratio = 1.0;
	if (m >= 2 && smax > 0) {
		/* Shares among the weighted backends sum to 1. */
		double others = (1.0 - smax) / (m - 1);

		im->ratio = others > smax / SL_LB_IMB_RATIO_MAX ?
			    smax / others : SL_LB_IMB_RATIO_MAX;
	}
}

int
sl_lb_imbalance_eval(struct sl_lb_imbalance *im, const uint32_t *weight,
		     uint64_t now_ms, uint64_t min_requests,
		     double ratio_threshold, double deviation_threshold,
		     uint32_t hold_ms)
{
	bool over;

	rotate(im, now_ms);
	measure(im, weight);
	over = im->window_requests > 0 && im->window_requests >= min_requests &&
	       ((ratio_threshold > 0 && im->ratio > ratio_threshold) ||
		(deviation_threshold > 0 &&
		 im->worst_deviation > deviation_threshold));
	if (!over) {
		im->over = false;
		im->over_since_ms = 0;
		if (im->alarm) {
			im->alarm = false;
			return -1;
		}
		return 0;
	}
	if (!im->over) {
		im->over = true;
		im->over_since_ms = now_ms;
	}
	if (!im->alarm && now_ms >= im->over_since_ms &&
	    now_ms - im->over_since_ms >= hold_ms) {
		im->alarm = true;
		return 1;
	}
	return 0;
}
