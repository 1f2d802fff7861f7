/*
 * The root-cause alarm, on the control thread: every 10 ms an in-flight
 * sample, every 500 ms (with the imbalance detector) a verdict on the
 * configured weights against the declared capacities and on saturation
 * (lb_alarm.c). Its event names the backend and says why in numbers an
 * operator can act on. Nothing here runs per request.
 */
#include <stdio.h>

#include "sl_conf.h"
#include "sl_event.h"
#include "sl_lb.h"
#include "sl_upstream.h"
#include "upstream_private.h"

/* Weight of a new 10 ms sample in the in-flight average: about 1 s. */
#define RC_ALPHA 0.01

void
up_rootcause_sample(struct sl_up_pool *p)
{
	uint32_t inflight[SL_CONF_MAX_BACKENDS];

	for (unsigned int i = 0; i < p->n; i++)
		inflight[i] = SL_UP_LOAD(p->b[i].inflight);
	for (unsigned int i = 0; i < p->n; i++)
		sl_lb_cap_sample(&p->cap[i], inflight[i]);
	sl_lb_rc_sample(p->rc, inflight, p->n, RC_ALPHA);
}

static const char *
cause_text(uint8_t cause)
{
	return cause == SL_LB_RC_SKEW ? "weight over capacity" :
	       cause == SL_LB_RC_SATURATED ? "saturated" : "none";
}

/*
 * Configured weights, not effective ones: a backend ejected, broken or in
 * slow start still has the share the config gives it, and will get it
 * back. Only what left the config (removed) is out of the spread.
 */
static void
rc_inputs(const struct sl_conf_pool *cp, const struct sl_up_pool *p,
	  struct sl_lb_rc_in *in)
{
	for (unsigned int i = 0; i < p->n; i++) {
		const struct sl_up_backend *b = &p->b[i];
		bool removed = i >= cp->n_backends || cp->backends[i].removed ||
			       b->admin == SL_UP_ADMIN_REMOVED;

		in[i].weight = removed ? 0 : b->weight;
		in[i].capacity = i < cp->n_backends ? cp->backends[i].capacity : 0;
		in[i].serving = !removed && b->admin == SL_UP_ADMIN_ENABLED &&
				b->weight > 0 && b->health == SL_UP_HEALTH_UP &&
				!b->ejected && b->breaker == SL_BREAKER_CLOSED &&
				b->ready_since_ms == 0;
		in[i].slow = !removed && p->slow[i].slow;
	}
}

/* A backend judged slow (without errors: mean latency against its peers'
 * median), or recovered: what it was judged on, and what it keeps
 * meanwhile. Within SL_EVENT_TEXT for pools of any size. */
static void
slow_event(struct sl_upstream *u, unsigned int pool, unsigned int i, int ev,
	   uint32_t limit)
{
	const struct sl_conf_pool *cp = &u->conf->pools[pool];
	struct sl_up_pool *p = &u->pools[pool];
	const struct sl_lb_slow *s = &p->slow[i];
	struct sl_up_backend *b = &p->b[i];

	if (ev > 0) {
		b->slow_entries++;
		sl_event_add(u->events, "slow", cp->name, cp->backends[i].name,
			     "slow: latency %.1f ms vs %.1f ms on peers (%.1fx, "
			     "ratio %.1f) for %.1f s; limit %u -> %u, share /%u",
			     s->latency_us / 1000, s->peer_latency_us / 1000,
			     s->peer_latency_us > 0 ? s->latency_us / s->peer_latency_us : 0,
			     cp->concurrency.slow_ratio, SL_LB_SLOW_TICKS * 0.5,
			     limit, sl_lb_slow_limit(s, limit, cp->concurrency.min),
			     SL_LB_SLOW_SHARE);
		return;
	}
	sl_event_add(u->events, "slow", cp->name, cp->backends[i].name,
		     "recovered: latency %.1f ms vs %.1f ms on peers for %.1f s; "
		     "limit %u and share restored",
		     s->latency_us / 1000, s->peer_latency_us / 1000,
		     SL_LB_SLOW_CLEAR * 0.5, limit);
}

void
up_rootcause_eval(struct sl_upstream *u, unsigned int pool, uint64_t now)
{
	const struct sl_conf_pool *cp = &u->conf->pools[pool];
	struct sl_up_pool *p = &u->pools[pool];
	struct sl_lb_rc_in in[SL_CONF_MAX_BACKENDS];
	const struct sl_lb_rc *rc = p->rc;
	const struct sl_conf_concurrency *cc = &cp->concurrency;
	double lat[SL_CONF_MAX_BACKENDS], level[SL_CONF_MAX_BACKENDS];
	int8_t slow_ev[SL_CONF_MAX_BACKENDS];
	const char *bn;
	uint32_t wsum = 0;
	int ev, k;

	/* The learned capacities' tick is this evaluation's (500 ms). */
	for (unsigned int i = 0; i < p->n; i++) {
		uint32_t learned = (uint32_t)(sl_lb_cap_tick(&p->cap[i],
					      SL_LB_CAP_TOLERANCE) + 0.5);

		SL_UP_STORE(p->b[i].capacity_learned, learned);
		lat[i] = p->cap[i].tick_latency_us;
		level[i] = p->cap[i].tick_level;
	}
	/* Slow without errors, against its peers: an automatic response of
	 * the adaptive concurrency, so off with it. */
	sl_lb_slow_eval(p->slow, lat, level, p->n,
			cc->enabled ? cc->slow_ratio : 0,
			(double)cc->slow_min_ms * 1000, slow_ev);
	for (unsigned int i = 0; i < p->n; i++) {
		uint32_t learned = p->b[i].capacity_learned;
		uint32_t limit;

		SL_UP_STORE(p->b[i].conc_known, (uint8_t)(cc->enabled && (learned != 0 ||
			    (i < cp->n_backends && cp->backends[i].capacity != 0) ||
			    p->slow[i].slow)));
		/* The workers' spill-over limit follows what was learned. */
		limit = sl_lb_conc_limit(learned,
			    i < cp->n_backends ? cp->backends[i].capacity : 0,
			    cc->enabled, cc->min, cc->max, cc->headroom);
		SL_UP_STORE(p->b[i].conc_limit,
			    sl_lb_slow_limit(&p->slow[i], limit, cc->min));
		SL_UP_STORE(p->b[i].slow, p->slow[i].slow);
		if (slow_ev[i] != 0 && i < cp->n_backends)
			slow_event(u, pool, i, slow_ev[i], limit);
	}
	rc_inputs(cp, p, in);
	ev = sl_lb_rc_eval(p->rc, in, p->n, now, cp->skew_warn_ratio,
			   cp->imbalance.saturation_ratio);
	SL_UP_STORE(p->rc_backend, rc->backend);
	SL_UP_STORE(p->rc_cause, rc->cause);
	SL_UP_STORE(p->rc_alarm, rc->alarm);
	if (ev == 0)
		return;
	if (ev < 0) {
		sl_event_add(u->events, "rootcause", cp->name, NULL,
			     "cleared: every backend's configured share is within "
			     "skew_warn_ratio %.2f of its capacity share, and none "
			     "is saturated", cp->skew_warn_ratio);
		return;
	}
	if (ev == 1)
		p->rc_alarms++;
	k = rc->backend;
	bn = cp->backends[k].name;
	for (unsigned int i = 0; i < p->n; i++)
		wsum += in[i].weight;
	/* The text fits SL_EVENT_TEXT for names up to about 40 characters;
	 * the event's backend field carries the name whole. */
	sl_event_add(u->events, "rootcause", cp->name, bn,
		     "%s%s: %s weight %u of %u, %.1f%% of requests vs capacity "
		     "share %.1f%% (%.2fx, limit %.2f), %.1fx its peers; in flight "
		     "%.1f vs %.1f on peers",
		     ev == 2 ? "now " : "", cause_text(rc->cause), bn,
		     in[k].weight, wsum, rc->share[k] * 100, rc->cap_share[k] * 100,
		     rc->ratio[k], cp->skew_warn_ratio, rc->peer_ratio,
		     rc->inflight[k], rc->peer_inflight);
}
