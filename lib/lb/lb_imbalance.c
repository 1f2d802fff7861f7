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
	im->named = -1;
}

void
sl_lb_imbalance_set_capacity(struct sl_lb_imbalance *im,
			     const uint32_t *capacity, unsigned int n)
{
	memset(im->capacity, 0, sizeof(im->capacity));
	for (unsigned int i = 0; capacity != NULL && i < n && i < im->n; i++)
		im->capacity[i] = capacity[i];
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
		memset(im->wtime[im->cur], 0, sizeof(im->wtime[im->cur]));
		memset(im->stime[im->cur], 0, sizeof(im->stime[im->cur]));
	}
}

static inline void
sat_add(uint32_t *c, uint64_t v)
{
	*c = v > UINT32_MAX - *c ? UINT32_MAX : *c + (uint32_t)v;
}

/* Share-time units: a backend with all of the weight for 1 ms earns this. */
#define SHARE_UNIT 1000

void
sl_lb_imbalance_weigh(struct sl_lb_imbalance *im, const uint32_t *weight,
		      uint64_t now_ms)
{
	uint64_t dt, wsum = 0, decl = 0, ndecl = 0;
	double csum = 0, cmean;

	rotate(im, now_ms);
	if (im->weighed_ms == 0 || now_ms <= im->weighed_ms) {
		/* First call (or a clock that stood still): a start point. */
		if (im->weighed_ms == 0)
			im->weighed_ms = now_ms ? now_ms : 1;
		return;
	}
	dt = now_ms - im->weighed_ms;
	if (dt > im->bucket_ms)
		dt = im->bucket_ms;
	im->weighed_ms = now_ms;
	for (unsigned int i = 0; i < im->n; i++) {
		wsum += weight[i];
		if (weight[i] > 0 && im->capacity[i] > 0) {
			decl += im->capacity[i];
			ndecl++;
		}
	}
	if (wsum == 0)
		return;
	cmean = ndecl ? (double)decl / (double)ndecl : 1.0;
	for (unsigned int i = 0; i < im->n; i++)
		if (weight[i] > 0)
			csum += im->capacity[i] > 0 ? im->capacity[i] : cmean;
	/* Shares of the instant, times dt: a bucket then says what share of
	 * its requests each backend was promised, whatever the rate. */
	for (unsigned int i = 0; i < im->n; i++) {
		double c = im->capacity[i] > 0 ? im->capacity[i] : cmean;

		if (weight[i] == 0)
			continue;
		sat_add(&im->wtime[im->cur][i],
			(uint64_t)weight[i] * dt * SHARE_UNIT / wsum);
		sat_add(&im->stime[im->cur][i],
			(uint64_t)(c / csum * (double)(dt * SHARE_UNIT)));
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
 * Fill share, expected, deviation, ratio and the summaries. Each bucket's
 * requests are expected to have gone as the shares recorded in that bucket
 * said (time a backend spent out of service is not held against it: it
 * was promised nothing then); a bucket with no record uses the weights
 * given now. Deviation and ratio judge only the backends promised some
 * share, on their shares of what those got: requests still finishing on a
 * backend just taken out are normal, and must not make the others look
 * starved. ratio uses capacity shares over the time in service.
 */
static void
measure(struct sl_lb_imbalance *im, const uint32_t *weight)
{
	double exp[SL_LB_MAX_BACKENDS], cexp[SL_LB_MAX_BACKENDS];
	double now_w[SL_LB_MAX_BACKENDS], now_c[SL_LB_MAX_BACKENDS];
	uint64_t obs[SL_LB_MAX_BACKENDS], total = 0, wsum = 0;
	double ecnt = 0, ccnt = 0, eobs = 0, cobs = 0, csum = 0, cmean;
	uint64_t decl = 0, ndecl = 0;

	for (unsigned int i = 0; i < im->n; i++) {
		wsum += weight[i];
		if (weight[i] > 0 && im->capacity[i] > 0) {
			decl += im->capacity[i];
			ndecl++;
		}
	}
	cmean = ndecl ? (double)decl / (double)ndecl : 1.0;
	for (unsigned int i = 0; i < im->n; i++) {
		now_c[i] = weight[i] > 0 ?
			   (im->capacity[i] > 0 ? im->capacity[i] : cmean) : 0;
		csum += now_c[i];
	}
	for (unsigned int i = 0; i < im->n; i++) {
		now_w[i] = wsum ? (double)weight[i] / (double)wsum : 0;
		now_c[i] = csum > 0 ? now_c[i] / csum : 0;
		obs[i] = 0;
		exp[i] = cexp[i] = 0;
	}
	for (unsigned int k = 0; k < SL_LB_IMB_BUCKETS; k++) {
		uint64_t nk = 0, tw = 0, tc = 0;

		for (unsigned int i = 0; i < im->n; i++) {
			nk += im->counts[k][i];
			tw += im->wtime[k][i];
			tc += im->stime[k][i];
		}
		for (unsigned int i = 0; i < im->n; i++) {
			obs[i] += im->counts[k][i];
			exp[i] += nk * (tw ? (double)im->wtime[k][i] / tw : now_w[i]);
			cexp[i] += nk * (tc ? (double)im->stime[k][i] / tc : now_c[i]);
		}
		total += nk;
	}
	im->window_requests = total;
	im->worst_deviation = 0;
	im->ratio = 1.0;
	im->named = im->ratio_top = -1;
	for (unsigned int i = 0; i < im->n; i++) {
		if (exp[i] > 0) {
			ecnt += exp[i];
			eobs += obs[i];
		}
		if (cexp[i] > 0) {
			ccnt += cexp[i];
			cobs += obs[i];
		}
	}
	for (unsigned int i = 0; i < im->n; i++) {
		/* An empty window still shows what is expected now. */
		double e = total ? exp[i] / total : now_w[i], s, r;

		im->share[i] = total ? (double)obs[i] / (double)total : 0;
		im->expected[i] = e;
		if (exp[i] == 0) {
			im->deviation[i] = im->share[i];
		} else {
			s = eobs > 0 ? obs[i] / eobs : 0;
			im->deviation[i] = s / (exp[i] / ecnt) - 1.0;
			if (fabs(im->deviation[i]) > im->worst_deviation) {
				im->worst_deviation = fabs(im->deviation[i]);
				im->named = (int32_t)i;
			}
		}
		if (cexp[i] == 0 || cobs == 0)
			continue;
		r = (obs[i] / cobs) / (cexp[i] / ccnt);
		if (r > SL_LB_IMB_RATIO_MAX)
			r = SL_LB_IMB_RATIO_MAX;
		if (r > im->ratio) {
			im->ratio = r;
			im->ratio_top = (int32_t)i;
		}
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
	/* Name whoever breaks a rule: the largest ratio when that is over
	 * (else the one that deviates most, which measure() named). */
	if (ratio_threshold > 0 && im->ratio > ratio_threshold && im->ratio_top >= 0)
		im->named = im->ratio_top;
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
