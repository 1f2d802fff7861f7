/*
 * Outlier ejection (after Envoy's): a host is taken out of its pool for a
 * while after a run of failures, or when its success rate falls well
 * below its peers'. max_ejection_pct bounds how much of the pool may be
 * out at once, so a pool-wide problem never ejects the whole pool.
 */
#include <math.h>
#include <string.h>

#include "sl_breaker.h"

void
sl_outlier_init(struct sl_outlier_pool *p, unsigned int n, uint64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	p->n = n > SL_LB_MAX_BACKENDS ? SL_LB_MAX_BACKENDS : n;
	p->interval_start_ms = now_ms;
}

unsigned int
sl_outlier_max_ejectable(unsigned int n, uint32_t pct)
{
	uint64_t m;

	if (n <= 1)
		return 0;
	m = (uint64_t)n * pct / 100;
	return m < n - 1 ? (unsigned int)m : n - 1;
}

unsigned int
sl_outlier_n_ejected(const struct sl_outlier_pool *p)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < p->n; i++)
		k += p->host[i].ejected;
	return k;
}

/* Eject host i if the pool can spare it; false (and counted) if not. */
static bool
eject(struct sl_outlier_pool *p, const struct sl_outlier_conf *c,
      unsigned int i, uint64_t now_ms)
{
	struct sl_outlier_host *h = &p->host[i];
	uint64_t ms;

	if (sl_outlier_n_ejected(p) + 1 > sl_outlier_max_ejectable(p->n,
								   c->max_ejection_pct)) {
		p->suppressed++;
		return false;
	}
	h->times_ejected++;
	ms = (uint64_t)c->base_ejection_ms * h->times_ejected;
	if (c->max_ejection_ms != 0 && ms > c->max_ejection_ms)
		ms = c->max_ejection_ms;
	h->ejected = true;
	h->ejected_until_ms = now_ms + ms;
	h->ejections++;
	h->consecutive_5xx = 0;
	h->consecutive_gateway = 0;
	return true;
}

enum sl_outlier_event
sl_outlier_record(struct sl_outlier_pool *p, const struct sl_outlier_conf *c,
		  unsigned int i, enum sl_outcome o, uint64_t now_ms)
{
	struct sl_outlier_host *h;
	enum sl_outlier_event ev;

	if (i >= p->n || p->host[i].ejected)
		return SL_OUTLIER_EV_NONE;
	h = &p->host[i];
	h->sr_requests++;
	switch (o) {
	case SL_OUT_SUCCESS:
		h->sr_success++;
		h->consecutive_5xx = 0;
		h->consecutive_gateway = 0;
		return SL_OUTLIER_EV_NONE;
	case SL_OUT_5XX:
		h->consecutive_5xx++;
		break;
	default:
		h->consecutive_gateway++;
		h->consecutive_5xx++;
		break;
	}
	if (c->consecutive_gateway != 0 &&
	    h->consecutive_gateway >= c->consecutive_gateway)
		ev = SL_OUTLIER_EV_EJECTED_GATEWAY;
	else if (c->consecutive_5xx != 0 &&
		 h->consecutive_5xx >= c->consecutive_5xx)
		ev = SL_OUTLIER_EV_EJECTED_5XX;
	else
		return SL_OUTLIER_EV_NONE;
	if (eject(p, c, i, now_ms))
		return ev;
	/* Start the run over, or every further failure would re-report. */
	h->consecutive_5xx = 0;
	h->consecutive_gateway = 0;
	return SL_OUTLIER_EV_SUPPRESSED;
}

/* Success-rate ejection over the interval just ended; returns the count. */
static unsigned int
success_rate(struct sl_outlier_pool *p, const struct sl_outlier_conf *c,
	     uint64_t now_ms, unsigned int *ejected_sr)
{
	unsigned int idx[SL_LB_MAX_BACKENDS], m = 0, k = 0, out = 0;
	double rate[SL_LB_MAX_BACKENDS], mean = 0, var = 0, limit;
	uint64_t min_req = c->success_rate_min_requests ?
			   c->success_rate_min_requests : 1;

	for (unsigned int i = 0; i < p->n; i++) {
		const struct sl_outlier_host *h = &p->host[i];

		if (h->ejected || h->sr_requests < min_req)
			continue;
		rate[i] = (double)h->sr_success / (double)h->sr_requests;
		mean += rate[i];
		idx[m++] = i;
	}
	if (m == 0 || m < c->success_rate_min_hosts)
		return 0;
	mean /= m;
	for (unsigned int j = 0; j < m; j++)
		var += (rate[idx[j]] - mean) * (rate[idx[j]] - mean);
	limit = mean - c->success_rate_stdev_factor * sqrt(var / m);
	/* Keep the outliers, sorted worst first (insertion sort: n <= 256). */
	for (unsigned int j = 0; j < m; j++) {
		unsigned int i = idx[j], pos = k;

		if (!(rate[i] < limit))
			continue;
		while (pos > 0 && rate[idx[pos - 1]] > rate[i]) {
			idx[pos] = idx[pos - 1];
			pos--;
		}
		idx[pos] = i;
		k++;
	}
	for (unsigned int j = 0; j < k; j++) {
		if (!eject(p, c, idx[j], now_ms))
			continue;
		if (ejected_sr != NULL)
			ejected_sr[out] = idx[j];
		out++;
	}
	return out;
}

unsigned int
sl_outlier_tick(struct sl_outlier_pool *p, const struct sl_outlier_conf *c,
		uint64_t now_ms, unsigned int *returned, unsigned int *ejected_sr,
		unsigned int *n_sr)
{
	unsigned int back = 0, sr = 0;

	for (unsigned int i = 0; i < p->n; i++) {
		struct sl_outlier_host *h = &p->host[i];

		if (!h->ejected || now_ms < h->ejected_until_ms)
			continue;
		h->ejected = false;
		h->consecutive_5xx = 0;
		h->consecutive_gateway = 0;
		h->sr_requests = 0;
		h->sr_success = 0;
		if (returned != NULL)
			returned[back] = i;
		back++;
	}
	if (c->interval_ms != 0 && now_ms >= p->interval_start_ms + c->interval_ms) {
		if (c->success_rate_min_hosts != 0)
			sr = success_rate(p, c, now_ms, ejected_sr);
		for (unsigned int i = 0; i < p->n; i++) {
			p->host[i].sr_requests = 0;
			p->host[i].sr_success = 0;
		}
		p->interval_start_ms = now_ms;
	}
	if (n_sr != NULL)
		*n_sr = sr;
	return back;
}

bool
sl_lb_panic(unsigned int healthy_n, unsigned int n, uint32_t threshold_pct)
{
	if (healthy_n == 0)
		return true;
	return n > 0 && (uint64_t)healthy_n * 100 < (uint64_t)threshold_pct * n;
}
