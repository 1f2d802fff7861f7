/*
 * Capacity skew and the root-cause alarm. The postmortem's root cause was
 * a config that gave one backend more than it could take; the imbalance
 * detector could not see it, because it judged traffic against the same
 * weights that were wrong, and lost sight of the backend once it was
 * ejected. These judge the weights themselves against capacity, so the
 * verdict lasts as long as the config does. Control thread and
 * --check-config only: nothing here runs per request.
 */
#include <string.h>

#include "sl_lb.h"

int
sl_lb_skew(const uint32_t *weight, const uint32_t *capacity, unsigned int n,
	   double *share, double *cap_share, double *ratio)
{
	uint64_t wsum = 0, declared = 0, ndecl = 0;
	double cmean, ctot = 0, best = -1;
	int top = -1;

	if (n > SL_LB_MAX_BACKENDS)
		n = SL_LB_MAX_BACKENDS;
	for (unsigned int i = 0; i < n; i++) {
		if (weight[i] == 0)
			continue;
		wsum += weight[i];
		if (capacity != NULL && capacity[i] > 0) {
			declared += capacity[i];
			ndecl++;
		}
	}
	/* Undeclared capacities are taken as the mean of the declared ones:
	 * "as its peers", which is "equal" when none is declared. */
	cmean = ndecl ? (double)declared / (double)ndecl : 1.0;
	for (unsigned int i = 0; i < n; i++)
		if (weight[i] > 0)
			ctot += capacity != NULL && capacity[i] > 0 ?
				(double)capacity[i] : cmean;
	for (unsigned int i = 0; i < n; i++) {
		double c = capacity != NULL && capacity[i] > 0 ?
			   (double)capacity[i] : cmean;
		double s = wsum ? (double)weight[i] / (double)wsum : 0;
		double cs = weight[i] > 0 && ctot > 0 ? c / ctot : 0;
		/* (w / W) / (c / C) as w*C / (W*c): exact for integer inputs,
		 * so weights 1,2,3 give 1.5 and not 1.4999999. */
		double r = weight[i] > 0 ? (double)weight[i] * ctot /
					   ((double)wsum * c) : 0;

		if (share != NULL)
			share[i] = s;
		if (cap_share != NULL)
			cap_share[i] = cs;
		if (ratio != NULL)
			ratio[i] = r;
		if (weight[i] > 0 && r > best) {
			best = r;
			top = (int)i;
		}
	}
	return top;
}

void
sl_lb_rc_init(struct sl_lb_rc *rc, unsigned int n)
{
	memset(rc, 0, sizeof(*rc));
	rc->n = n > SL_LB_MAX_BACKENDS ? SL_LB_MAX_BACKENDS : n;
	rc->backend = -1;
}

void
sl_lb_rc_sample(struct sl_lb_rc *rc, const uint32_t *inflight, unsigned int n,
		double alpha)
{
	if (n > rc->n)
		n = rc->n;
	for (unsigned int i = 0; i < n; i++)
		rc->inflight[i] += alpha * ((double)inflight[i] - rc->inflight[i]);
}

/* Capacity as the skew uses it: declared, or the mean of the declared. */
static double
cap_of(const struct sl_lb_rc_in *in, unsigned int i, double cmean)
{
	return in[i].capacity > 0 ? (double)in[i].capacity : cmean;
}

/*
 * Is backend i saturated now: in flight per unit of capacity far above
 * the mean of its serving peers'? Fills *peers with their mean in flight.
 */
static bool
saturated(const struct sl_lb_rc *rc, const struct sl_lb_rc_in *in,
	  unsigned int n, unsigned int i, double cmean, double sat_ratio,
	  double *peers)
{
	double sum = 0, raw = 0;
	unsigned int m = 0;

	for (unsigned int j = 0; j < n; j++) {
		if (j == i || !in[j].serving || in[j].weight == 0)
			continue;
		sum += rc->inflight[j] / cap_of(in, j, cmean);
		raw += rc->inflight[j];
		m++;
	}
	*peers = m ? raw / m : 0;
	if (m == 0 || rc->inflight[i] < SL_LB_RC_SAT_MIN_INFLIGHT)
		return false;
	return rc->inflight[i] / cap_of(in, i, cmean) > sat_ratio * (sum / m);
}

int
sl_lb_rc_eval(struct sl_lb_rc *rc, const struct sl_lb_rc_in *in,
	      unsigned int n, uint64_t now_ms, double skew_ratio,
	      double sat_ratio)
{
	uint32_t w[SL_LB_MAX_BACKENDS] = { 0 }, c[SL_LB_MAX_BACKENDS] = { 0 };
	double cmean = 0, peers = 0, best = -1, wpc_sum = 0;
	unsigned int ndecl = 0, nw = 0;
	int named = -1, prev = rc->backend;
	uint8_t prev_cause = rc->cause;
	bool was = rc->alarm;

	if (n > rc->n)
		n = rc->n;
	for (unsigned int i = 0; i < n; i++) {
		w[i] = in[i].weight;
		c[i] = in[i].capacity;
		if (w[i] > 0 && c[i] > 0) {
			cmean += c[i];
			ndecl++;
		}
	}
	cmean = ndecl ? cmean / ndecl : 1.0;
	sl_lb_skew(w, c, n, rc->share, rc->cap_share, rc->ratio);
	for (unsigned int i = 0; i < n; i++)
		if (w[i] > 0) {
			wpc_sum += w[i] / cap_of(in, i, cmean);
			nw++;
		}
	/* Causes: skew first (a fact of the config), then saturation. */
	for (unsigned int i = 0; i < n; i++) {
		bool above_fair = w[i] > 0 && rc->ratio[i] > 1.0;
		bool sat;

		rc->cause_of[i] = SL_LB_RC_NONE;
		if (skew_ratio > 0 && w[i] > 0 && rc->ratio[i] > skew_ratio) {
			rc->cause_of[i] = SL_LB_RC_SKEW;
			if (rc->ratio[i] > best) {
				best = rc->ratio[i];
				named = (int)i;
			}
		}
		if (sat_ratio <= 0 || !above_fair) {
			rc->latched[i] = false;
			rc->sat_since_ms[i] = rc->calm_since_ms[i] = 0;
			continue;
		}
		/* Judged slow: its share was cut, so its in flight no longer
		 * shows the saturation that got it judged; the cause (a share
		 * above fair on a backend that cannot take it) is still there. */
		sat = in[i].slow || (in[i].serving &&
		      saturated(rc, in, n, i, cmean, sat_ratio, &peers));
		if (sat) {
			rc->calm_since_ms[i] = 0;
			if (rc->sat_since_ms[i] == 0)
				rc->sat_since_ms[i] = now_ms ? now_ms : 1;
			/* The slow judge held its verdict 2 s already. */
			if (in[i].slow ||
			    now_ms - rc->sat_since_ms[i] >= SL_LB_RC_SAT_HOLD_MS)
				rc->latched[i] = true;
		} else {
			rc->sat_since_ms[i] = 0;
			/* Out of service proves nothing: the latch holds. Back
			 * in service and calm for the hold: it lets go. */
			if (!in[i].serving)
				rc->calm_since_ms[i] = 0;
			else if (rc->calm_since_ms[i] == 0)
				rc->calm_since_ms[i] = now_ms ? now_ms : 1;
			else if (now_ms - rc->calm_since_ms[i] >= SL_LB_RC_SAT_HOLD_MS)
				rc->latched[i] = false;
		}
		if (rc->latched[i] && rc->cause_of[i] == SL_LB_RC_NONE)
			rc->cause_of[i] = SL_LB_RC_SATURATED;
	}
	if (named < 0) {
		best = -1;
		for (unsigned int i = 0; i < n; i++)
			if (rc->cause_of[i] == SL_LB_RC_SATURATED &&
			    rc->inflight[i] > best) {
				best = rc->inflight[i];
				named = (int)i;
			}
	}
	rc->alarm = named >= 0;
	rc->backend = named;
	rc->cause = named >= 0 ? rc->cause_of[named] : SL_LB_RC_NONE;
	rc->peer_ratio = rc->peer_inflight = 0;
	if (named >= 0) {
		double mine = w[named] / cap_of(in, (unsigned int)named, cmean);

		if (nw > 1)
			rc->peer_ratio = (wpc_sum - mine) > 0 ?
				mine / ((wpc_sum - mine) / (nw - 1)) : SL_LB_IMB_RATIO_MAX;
		saturated(rc, in, n, (unsigned int)named, cmean, 1.0, &peers);
		rc->peer_inflight = peers;
	}
	if (rc->alarm && !was)
		return 1;
	if (!rc->alarm && was)
		return -1;
	if (rc->alarm && (named != prev || rc->cause != prev_cause))
		return 2;
	return 0;
}
