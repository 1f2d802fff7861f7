/*
 * The control thread: the single consumer of every worker's outcomes, and the
 * single writer of what the balancers read. It runs each backend's breaker,
 * the pool's outlier ejection, health verdicts, slow start, panic and the
 * imbalance detector, and logs every transition as an event.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_lcore.h>
#include <rte_ring.h>

#include "sl_breaker.h"
#include "sl_conf.h"
#include "sl_event.h"
#include "sl_lb.h"
#include "sl_log.h"
#include "sl_upstream.h"
#include "upstream_private.h"

#define STEP_US          2000    /* control loop period */
#define IMBALANCE_EVERY  500     /* ms between imbalance evaluations */
#define LOAD_SAMPLE_EVERY 10     /* ms between in-flight samples */
#define DRAIN_BURST      256

static const char *
bname(const struct sl_upstream *u, unsigned int pool, unsigned int b)
{
	return u->conf->pools[pool].backends[b].name;
}

static const char *
pname(const struct sl_upstream *u, unsigned int pool)
{
	return u->conf->pools[pool].name;
}

/*
 * A backend back in rotation ramps up only when the pool has a slow start:
 * ready_since_ms != 0 is what STATE shows as slow_start, so it is never set
 * for slow_start_ms 0 (publish_pool clears it when the ramp ends).
 */
static void
ramp_start(const struct sl_upstream *u, unsigned int pool,
	   struct sl_up_backend *b, uint64_t now)
{
	b->ready_since_ms = u->conf->pools[pool].slow_start_ms != 0 ? now : 0;
}

static void
breaker_event(struct sl_upstream *u, unsigned int pool, unsigned int i,
	      enum sl_breaker_event ev, uint64_t now)
{
	struct sl_up_pool *p = &u->pools[pool];
	struct sl_breaker *br = &p->brk[i];
	struct sl_up_backend *b = &p->b[i];

	switch (ev) {
	case SL_BREAKER_EV_OPENED:
		SL_UP_STORE(b->breaker, SL_BREAKER_OPEN);
		b->breaker_opens++;
		sl_event_add(u->events, "breaker", pname(u, pool), bname(u, pool, i),
			     "opened after %u consecutive failures; cooldown %u ms",
			     br->consecutive, br->cooldown_cur_ms);
		break;
	case SL_BREAKER_EV_REOPENED:
		SL_UP_STORE(b->breaker, SL_BREAKER_OPEN);
		b->breaker_opens++;
		sl_event_add(u->events, "breaker", pname(u, pool), bname(u, pool, i),
			     "probe failed in half-open: open again, cooldown %u ms",
			     br->cooldown_cur_ms);
		break;
	case SL_BREAKER_EV_HALF_OPENED:
		SL_UP_STORE(b->probes, (int32_t)p->bconf.half_open_probes);
		SL_UP_STORE(b->breaker, SL_BREAKER_HALF_OPEN);
		sl_event_add(u->events, "breaker", pname(u, pool), bname(u, pool, i),
			     "half-open: %u probe request(s) allowed",
			     p->bconf.half_open_probes);
		break;
	case SL_BREAKER_EV_CLOSED:
		SL_UP_STORE(b->probes, 0);
		SL_UP_STORE(b->breaker, SL_BREAKER_CLOSED);
		ramp_start(u, pool, b, now);
		sl_event_add(u->events, "breaker", pname(u, pool), bname(u, pool, i),
			     "closed: probe succeeded");
		break;
	default:
		break;
	}
}

static void
outlier_event(struct sl_upstream *u, unsigned int pool, unsigned int i,
	      enum sl_outlier_event ev, uint64_t now)
{
	struct sl_up_pool *p = &u->pools[pool];
	const struct sl_outlier_host *h = &p->outlier->host[i];
	static const char *const why[] = {
		[SL_OUTLIER_EV_EJECTED_5XX] = "consecutive 5xx",
		[SL_OUTLIER_EV_EJECTED_GATEWAY] = "consecutive gateway failures",
		[SL_OUTLIER_EV_EJECTED_SUCCESS_RATE] = "success rate below the pool's",
	};

	switch (ev) {
	case SL_OUTLIER_EV_EJECTED_5XX:
	case SL_OUTLIER_EV_EJECTED_GATEWAY:
	case SL_OUTLIER_EV_EJECTED_SUCCESS_RATE:
		SL_UP_STORE(p->b[i].ejected, 1);
		p->b[i].ejections++;
		sl_event_add(u->events, "ejection", pname(u, pool), bname(u, pool, i),
			     "ejected (%s) for %llu ms, ejection #%u", why[ev],
			     (unsigned long long)(h->ejected_until_ms - now),
			     h->times_ejected);
		break;
	case SL_OUTLIER_EV_SUPPRESSED:
		sl_event_add(u->events, "ejection", pname(u, pool), bname(u, pool, i),
			     "not ejected: max_ejection_pct %u%% already reached",
			     p->oconf.max_ejection_pct);
		break;
	case SL_OUTLIER_EV_RETURNED:
		SL_UP_STORE(p->b[i].ejected, 0);
		ramp_start(u, pool, &p->b[i], now);
		sl_event_add(u->events, "ejection", pname(u, pool), bname(u, pool, i),
			     "returned to service%s",
			     u->conf->pools[pool].slow_start_ms ? " (slow start)" : "");
		break;
	default:
		break;
	}
}

static void
health_result(struct sl_upstream *u, unsigned int pool, unsigned int i,
	      const struct sl_up_outcome *o, uint64_t now)
{
	const struct sl_conf_health *hc = &u->conf->pools[pool].health;
	struct sl_up_backend *b = &u->pools[pool].b[i];
	bool pass = o->kind == SL_UP_HEALTH_PASS;

	b->health_checks++;
	b->last_health_ms = now;
	if (pass) {
		b->hc_pass++;
		b->hc_fail = 0;
		snprintf(b->last_health, sizeof(b->last_health), "pass%s%u",
			 o->status ? ": status " : "", o->status);
	} else {
		b->health_failures++;
		b->hc_fail++;
		b->hc_pass = 0;
		if (o->status)
			snprintf(b->last_health, sizeof(b->last_health),
				 "fail: status %u", o->status);
		else
			snprintf(b->last_health, sizeof(b->last_health),
				 "fail: no answer in time");
	}
	if (b->health == SL_UP_HEALTH_UP && b->hc_fail >= hc->fall) {
		SL_UP_STORE(b->health, SL_UP_HEALTH_DOWN);
		sl_event_add(u->events, "health", pname(u, pool), bname(u, pool, i),
			     "down after %u failed checks (%s)", b->hc_fail,
			     b->last_health);
	} else if (b->health == SL_UP_HEALTH_DOWN && b->hc_pass >= hc->rise) {
		SL_UP_STORE(b->health, SL_UP_HEALTH_UP);
		ramp_start(u, pool, b, now);
		sl_event_add(u->events, "health", pname(u, pool), bname(u, pool, i),
			     "up after %u passed checks%s", b->hc_pass,
			     u->conf->pools[pool].slow_start_ms ? " (slow start)" : "");
	}
}

static void
request_result(struct sl_upstream *u, const struct sl_up_outcome *o,
	       uint64_t now)
{
	struct sl_up_pool *p = &u->pools[o->pool];
	struct sl_up_backend *b = &p->b[o->backend];
	enum sl_outcome oc;
	bool failure = o->kind != SL_UP_OK;

	b->requests++;
	switch (o->status / 100) {
	case 2: b->status_2xx++; break;
	case 3: b->status_3xx++; break;
	case 4: b->status_4xx++; break;
	case 5: b->status_5xx++; break;
	default: break;
	}
	switch (o->kind) {
	case SL_UP_FAIL_STATUS: b->fail_status++; oc = SL_OUT_5XX; break;
	case SL_UP_CONNECT_FAIL: b->fail_connect++; oc = SL_OUT_CONNECT_FAIL; break;
	case SL_UP_RESET: b->fail_reset++; oc = SL_OUT_RESET; break;
	case SL_UP_TIMEOUT: b->fail_timeout++; oc = SL_OUT_TIMEOUT; break;
	default: oc = SL_OUT_SUCCESS; break;
	}
	breaker_event(u, o->pool, o->backend,
		      sl_breaker_result(&p->brk[o->backend], &p->bconf, failure, now),
		      now);
	outlier_event(u, o->pool, o->backend,
		      sl_outlier_record(p->outlier, &p->oconf, o->backend, oc, now),
		      now);
	sl_lb_imbalance_add(p->imb, o->backend, 1, now);
	/* Only answers that count as successes: a fast 503 is no latency. */
	if (o->kind == SL_UP_OK)
		sl_lb_cap_done(&p->cap[o->backend], o->latency_us);
	/* A first attempt earns budget_pct of a retry; a retry earns none. */
	if (!(o->reserved & SL_UP_OUT_RETRY)) {
		p->retry_req[p->retry_slot]++;
		p->retry_window_req++;
		SL_UP_ADD(p->retry_tokens, (int64_t)u->conf->pools[o->pool].retry.budget_pct *
			  SL_UP_RETRY_TOKEN / 100);
	}
}

/*
 * The retry budget's floor and its cap: min_per_s tokens a second, and no
 * more than one window earns (budget_pct of its requests plus the floor's
 * window_s seconds), so that a quiet spell cannot bank a retry storm.
 */
static void
retry_budget(struct sl_up_pool *p, const struct sl_conf_retry *rc, uint64_t now)
{
	uint64_t slot_ms = (uint64_t)rc->window_s * 1000 / SL_UP_RETRY_SLOTS;
	int64_t cap, v;

	if (now > p->retry_last_ms) {
		SL_UP_ADD(p->retry_tokens, (int64_t)((now - p->retry_last_ms) *
			  rc->min_per_s * SL_UP_RETRY_TOKEN / 1000));
		p->retry_last_ms = now;
	}
	if (now >= p->retry_slot_start_ms + slot_ms * SL_UP_RETRY_SLOTS) {
		/* The whole window went by (or window_s changed): start over. */
		memset(p->retry_req, 0, sizeof(p->retry_req));
		p->retry_window_req = 0;
		p->retry_slot_start_ms = now;
	}
	while (now >= p->retry_slot_start_ms + slot_ms) {
		p->retry_slot = (p->retry_slot + 1) % SL_UP_RETRY_SLOTS;
		p->retry_window_req -= p->retry_req[p->retry_slot];
		p->retry_req[p->retry_slot] = 0;
		p->retry_slot_start_ms += slot_ms;
	}
	cap = (int64_t)(p->retry_window_req * rc->budget_pct * SL_UP_RETRY_TOKEN / 100) +
	      (int64_t)rc->min_per_s * rc->window_s * SL_UP_RETRY_TOKEN;
	v = SL_UP_LOAD(p->retry_tokens);
	if (v > cap)   /* relative: a worker's take in between is kept */
		SL_UP_SUB(p->retry_tokens, v - cap);
}

/*
 * The client left before the backend answered. No verdict on the backend,
 * but a half-open probe permit it held must not be lost, or the breaker
 * would wait for a result that never comes.
 */
static void
abandoned(struct sl_upstream *u, const struct sl_up_outcome *o)
{
	struct sl_up_backend *b = &u->pools[o->pool].b[o->backend];

	if (SL_UP_LOAD(b->breaker) == SL_BREAKER_HALF_OPEN &&
	    (o->reserved & SL_UP_OUT_PROBE))
		SL_UP_ADD(b->probes, 1);
}

static unsigned int
drain(struct sl_upstream *u, uint64_t now)
{
	struct sl_up_outcome o[DRAIN_BURST];
	unsigned int total = 0;

	for (unsigned int w = 0; w < u->n_workers; w++) {
		unsigned int n;

		do {
			n = rte_ring_sc_dequeue_burst_elem(u->outcomes[w], o,
							   sizeof(o[0]), DRAIN_BURST,
							   NULL);
			for (unsigned int k = 0; k < n; k++) {
				if (o[k].pool >= u->n_pools ||
				    o[k].backend >= u->pools[o[k].pool].n)
					continue;
				if (o[k].kind == SL_UP_ABANDONED)
					abandoned(u, &o[k]);
				else if (o[k].kind == SL_UP_HEALTH_PASS ||
				    o[k].kind == SL_UP_HEALTH_FAIL)
					health_result(u, o[k].pool, o[k].backend,
						      &o[k], now);
				else
					request_result(u, &o[k], now);
			}
			total += n;
		} while (n == DRAIN_BURST);
	}
	u->outcomes_processed += total;
	return total;
}

/* Weights an operator asked for: applied here, by the single writer. */
static void
apply_weight_requests(struct sl_upstream *u, unsigned int pool)
{
	struct sl_up_pool *p = &u->pools[pool];

	for (unsigned int i = 0; i < p->n; i++) {
		uint32_t req = __atomic_exchange_n(&p->b[i].weight_req, 0,
						   __ATOMIC_RELAXED);

		if (req == 0)
			continue;
		sl_event_add(u->events, "weight", pname(u, pool), bname(u, pool, i),
			     "weight set from %u to %u by an operator",
			     p->b[i].weight, req - 1);
		SL_UP_STORE(p->b[i].weight, req - 1);
	}
}

/* Recompute what the balancers read: effective weights, panic. */
static void
publish_pool(struct sl_upstream *u, unsigned int pool, uint64_t now)
{
	const struct sl_conf_pool *cp = &u->conf->pools[pool];
	struct sl_up_pool *p = &u->pools[pool];
	unsigned int healthy = 0, weighted = 0;
	bool panic, any_slow = false;

	for (unsigned int i = 0; i < p->n; i++) {
		struct sl_up_backend *b = &p->b[i];

		if (b->weight == 0 || b->admin != SL_UP_ADMIN_ENABLED)
			continue;
		weighted++;
		if (b->health == SL_UP_HEALTH_UP && !b->ejected)
			healthy++;
	}
	panic = weighted > 0 && sl_lb_panic(healthy, weighted, cp->panic_threshold_pct);
	if (panic != (bool)p->panic) {
		SL_UP_STORE(p->panic, panic);
		if (panic)
			p->panic_entries++;
		sl_event_add(u->events, "panic", cp->name, NULL,
			     panic ? "entered panic: %u of %u backends healthy, "
				     "below panic_threshold_pct %u%%; routing to all" :
				     "left panic: %u of %u backends healthy "
				     "(panic_threshold_pct %u%%)",
			     healthy, weighted, cp->panic_threshold_pct);
	}
	SL_UP_STORE(p->healthy, healthy);
	for (unsigned int i = 0; i < p->n; i++)
		any_slow |= cp->concurrency.enabled && p->slow[i].slow;
	for (unsigned int i = 0; i < p->n; i++) {
		struct sl_up_backend *b = &p->b[i];
		uint32_t w = b->weight;

		/* Panic routes to the unhealthy, never to what an operator or
		 * a reload took out. */
		if (b->admin != SL_UP_ADMIN_ENABLED)
			w = 0;
		else if (!panic && (b->health != SL_UP_HEALTH_UP || b->ejected))
			w = 0;
		else if (b->ready_since_ms != 0) {
			/* No ramp configured, or the ramp is over: full weight,
			 * and STATE no longer says slow_start. */
			if (cp->slow_start_ms == 0 ||
			    now - b->ready_since_ms >= cp->slow_start_ms)
				b->ready_since_ms = 0;
			else
				w = sl_lb_slow_start_weight(w, b->ready_since_ms, now,
							    cp->slow_start_ms,
							    cp->slow_start_min_pct);
		}
		/* Slow without errors (upstream_rootcause.c): a quarter of
		 * its share until it recovers. */
		w = sl_lb_slow_weight(&p->slow[i], w, any_slow);
		SL_UP_STORE(b->eff_weight, w);
	}
}

/* Log a raised or cleared imbalance alarm; `what` names the measure. */
static void
imbalance_event(struct sl_upstream *u, unsigned int pool,
		const struct sl_lb_imbalance *im, int ev, double ratio,
		const char *what)
{
	const struct sl_conf_pool *cp = &u->conf->pools[pool];
	struct sl_up_pool *p = &u->pools[pool];

	if (ev > 0) {
		/* The backend that breaks the rule, not the busiest one: after a
		 * return from maintenance that is the one still short. */
		unsigned int top = im->named >= 0 && (unsigned int)im->named < p->n ?
				   (unsigned int)im->named : 0;

		sl_event_add(u->events, "imbalance", cp->name, bname(u, pool, top),
			     "alarm on %s: ratio to capacity share %.2f (limit %.2f), "
			     "worst deviation %.0f%% (limit %.0f%%); %s takes %.1f%% "
			     "of %llu, expected %.1f%%",
			     what, im->ratio, ratio, im->worst_deviation * 100,
			     cp->imbalance.deviation * 100, bname(u, pool, top),
			     im->share[top] * 100,
			     (unsigned long long)im->window_requests,
			     im->expected[top] * 100);
	} else if (ev < 0) {
		sl_event_add(u->events, "imbalance", cp->name, NULL,
			     "cleared on %s: ratio %.2f, worst deviation %.0f%%",
			     what, im->ratio, im->worst_deviation * 100);
	}
}

/*
 * Requests per backend come from the outcomes; in-flight load is sampled
 * here every LOAD_SAMPLE_EVERY ms. Both are judged against the shares the
 * effective weights predict.
 */
static void
imbalance_pool(struct sl_upstream *u, unsigned int pool, uint64_t now)
{
	const struct sl_conf_pool *cp = &u->conf->pools[pool];
	struct sl_up_pool *p = &u->pools[pool];
	uint32_t w[SL_CONF_MAX_BACKENDS], cap[SL_CONF_MAX_BACKENDS];
	double ratio = cp->imbalance.ratio != 0 ? cp->imbalance.ratio :
		       cp->skew_warn_ratio;
	int ev;

	for (unsigned int i = 0; i < p->n; i++)
		w[i] = SL_UP_LOAD(p->b[i].eff_weight);
	if (now >= p->load_next_ms) {
		p->load_next_ms = now + LOAD_SAMPLE_EVERY;
		for (unsigned int i = 0; i < p->n; i++)
			sl_lb_imbalance_add(p->load, i, SL_UP_LOAD(p->b[i].inflight), now);
		/* What each backend was promised meanwhile: time out of
		 * service then expects nothing of it. */
		sl_lb_imbalance_weigh(p->imb, w, now);
		sl_lb_imbalance_weigh(p->load, w, now);
		up_rootcause_sample(p);
	}
	if (now < p->imb_next_ms)
		return;
	p->imb_next_ms = now + IMBALANCE_EVERY;
	for (unsigned int i = 0; i < p->n; i++)
		cap[i] = i < cp->n_backends ? cp->backends[i].capacity : 0;
	sl_lb_imbalance_set_capacity(p->imb, cap, p->n);
	sl_lb_imbalance_set_capacity(p->load, cap, p->n);
	up_rootcause_eval(u, pool, now);
	ev = sl_lb_imbalance_eval(p->imb, w, now, cp->imbalance.min_requests,
				  ratio, cp->imbalance.deviation,
				  cp->imbalance.hold_ms);
	p->imb_ratio = p->imb->ratio;
	p->imb_worst_deviation = p->imb->worst_deviation;
	SL_UP_STORE(p->imb_alarm, p->imb->alarm);
	if (ev > 0)
		p->imb_alarms++;
	imbalance_event(u, pool, p->imb, ev, ratio, "requests");
	/* In-flight samples: min_requests counts request-samples here. */
	ev = sl_lb_imbalance_eval(p->load, w, now, cp->imbalance.min_requests,
				  ratio, cp->imbalance.deviation,
				  cp->imbalance.hold_ms);
	p->load_ratio = p->load->ratio;
	p->load_worst_deviation = p->load->worst_deviation;
	SL_UP_STORE(p->load_alarm, p->load->alarm);
	if (ev > 0)
		p->load_alarms++;
	imbalance_event(u, pool, p->load, ev, ratio, "in-flight load");
}

/* A worker started or stopped shedding load: one event per episode. */
static void
shed_episodes(struct sl_upstream *u)
{
	for (unsigned int w = 0; w < u->n_workers; w++) {
		uint8_t on = SL_UP_LOAD(u->shedding[w]);

		if (on == u->shed_logged[w])
			continue;
		u->shed_logged[w] = on;
		sl_event_add(u->events, "shed", NULL, NULL,
			     on ? "worker %u over overload.busy_pct %u%%: refusing new "
				  "connections, 503 to new requests" :
				  "worker %u back under overload.busy_pct %u%%: shedding ended",
			     w, u->conf->overload.busy_pct);
	}
}

const char *
sl_up_admin_name(enum sl_up_admin a)
{
	switch (a) {
	case SL_UP_ADMIN_ENABLED: return "enabled";
	case SL_UP_ADMIN_DRAINING: return "draining";
	case SL_UP_ADMIN_MAINTENANCE: return "maintenance";
	case SL_UP_ADMIN_REMOVED: return "removed";
	}
	return "?";
}

static void
set_admin(struct sl_upstream *u, unsigned int pool, unsigned int i,
	  enum sl_up_admin a)
{
	struct sl_up_backend *b = &u->pools[pool].b[i];

	if (b->admin == a) {
		sl_event_add(u->events, "admin", pname(u, pool), bname(u, pool, i),
			     "already %s: nothing changed", sl_up_admin_name(a));
		return;
	}
	sl_event_add(u->events, "admin", pname(u, pool), bname(u, pool, i),
		     "%s -> %s by an operator", sl_up_admin_name(b->admin),
		     sl_up_admin_name(a));
	SL_UP_STORE(b->drained, 0);
	SL_UP_STORE(b->admin, a);
	if (a == SL_UP_ADMIN_ENABLED)
		ramp_start(u, pool, b, sl_up_now_ms());
}

/* Operator requests (drain, maintenance, enable, breaker), by the single writer. */
static void
apply_op_requests(struct sl_upstream *u, unsigned int pool, uint64_t now)
{
	struct sl_up_pool *p = &u->pools[pool];

	for (unsigned int i = 0; i < p->n; i++) {
		uint32_t op = __atomic_load_n(&p->b[i].op_req, __ATOMIC_ACQUIRE);

		if (op == SL_UP_OP_NONE)
			continue;
		switch (op) {
		case SL_UP_OP_DRAIN:
			set_admin(u, pool, i, SL_UP_ADMIN_DRAINING);
			break;
		case SL_UP_OP_MAINTENANCE:
			set_admin(u, pool, i, SL_UP_ADMIN_MAINTENANCE);
			break;
		case SL_UP_OP_ENABLE:
			set_admin(u, pool, i, SL_UP_ADMIN_ENABLED);
			break;
		case SL_UP_OP_BREAKER_OPEN:
			sl_breaker_force_open(&p->brk[i], &p->bconf, now);
			SL_UP_STORE(p->b[i].probes, 0);
			SL_UP_STORE(p->b[i].breaker, SL_BREAKER_OPEN);
			p->b[i].breaker_opens++;
			sl_event_add(u->events, "breaker", pname(u, pool), bname(u, pool, i),
				     "forced open by an operator; cooldown %u ms",
				     p->brk[i].cooldown_cur_ms);
			break;
		case SL_UP_OP_BREAKER_RESET:
			sl_breaker_reset(&p->brk[i], &p->bconf, now);
			SL_UP_STORE(p->b[i].probes, 0);
			SL_UP_STORE(p->b[i].breaker, SL_BREAKER_CLOSED);
			sl_event_add(u->events, "breaker", pname(u, pool), bname(u, pool, i),
				     "reset to closed by an operator");
			break;
		default:
			break;
		}
		__atomic_store_n(&p->b[i].op_req, SL_UP_OP_NONE, __ATOMIC_RELEASE);
	}
}

/* A draining or removed backend with nothing in flight: say so, once. */
static void
drained_check(struct sl_upstream *u, unsigned int pool)
{
	struct sl_up_pool *p = &u->pools[pool];

	for (unsigned int i = 0; i < p->n; i++) {
		struct sl_up_backend *b = &p->b[i];
		bool out = b->admin == SL_UP_ADMIN_DRAINING ||
			   b->admin == SL_UP_ADMIN_REMOVED;
		bool idle = SL_UP_LOAD(b->inflight) == 0 && SL_UP_LOAD(b->pending) == 0;

		if (!out || !idle || b->drained)
			continue;
		SL_UP_STORE(b->drained, 1);
		sl_event_add(u->events, "admin", pname(u, pool), bname(u, pool, i),
			     "drained: no request in flight (%u connection(s) still open)",
			     SL_UP_LOAD(b->conns));
	}
}

void
sl_upstream_apply(struct sl_upstream *u, const struct sl_conf *next)
{
	__atomic_store_n(&u->next_conf, next, __ATOMIC_RELEASE);
}

void
sl_upstream_reset_counters(struct sl_upstream *u)
{
	__atomic_store_n(&u->reset_req, 1, __ATOMIC_RELEASE);
}

static void
reset_counters(struct sl_upstream *u)
{
	for (unsigned int pool = 0; pool < u->n_pools; pool++) {
		struct sl_up_pool *p = &u->pools[pool];

		for (unsigned int i = 0; i < p->n; i++) {
			struct sl_up_backend *b = &p->b[i];

			b->requests = b->status_2xx = b->status_3xx = 0;
			b->status_4xx = b->status_5xx = 0;
			b->fail_status = b->fail_connect = b->fail_reset = 0;
			b->fail_timeout = b->health_checks = b->health_failures = 0;
			b->breaker_opens = b->ejections = 0;
		}
		/* Workers add to these with atomics; a store of 0 may lose an
		 * add racing with it, which a reset can afford. */
		for (unsigned int r = 0; r < SL_UP_REFUSE_MAX; r++)
			SL_UP_STORE(p->refused[r], 0);
		for (unsigned int r = 0; r < SL_UP_RETRY_REFUSE_MAX; r++)
			SL_UP_STORE(p->retry_refused[r], 0);
		SL_UP_STORE(p->retries_total, 0);
		SL_UP_STORE(p->conc_spilled, 0);
		SL_UP_STORE(p->conc_over, 0);
		p->panic_entries = p->imb_alarms = p->load_alarms = 0;
		p->rc_alarms = 0;
		p->outlier->suppressed = 0;
	}
	u->outcomes_processed = 0;
	for (unsigned int w = 0; w < u->n_workers; w++)
		SL_UP_STORE(u->outcomes_dropped[w], 0);
	sl_event_add(u->events, "admin", NULL, NULL,
		     "counters reset by an operator");
}

/*
 * Apply a reload's merged config. Indices are stable (sl_conf_merge), so
 * this only starts what is new, retires what is gone and takes new
 * settings; breaker, ejection and health state of backends that stay is
 * kept. The new maglev tables are published before the workers see the
 * new config: a worker still on the old one ignores backends it does not
 * know (sl_up_pick).
 */
static void
apply_conf(struct sl_upstream *u, const struct sl_conf *c, uint64_t now)
{
	const struct sl_conf *old = u->conf;

	for (unsigned int pool = 0; pool < c->n_pools && pool < u->pool_cap; pool++) {
		const struct sl_conf_pool *cp = &c->pools[pool];
		struct sl_up_pool *p = &u->pools[pool];
		bool grew;

		if (pool >= u->n_pools) {
			if (up_pool_init(p, cp, now) != 0) {
				sl_event_add(u->events, "config", cp->name, NULL,
					     "out of memory starting this pool: it "
					     "stays empty");
				p->n = 0;
			}
			continue;
		}
		up_pool_settings(p, cp);
		grew = cp->n_backends > p->n;
		for (unsigned int i = 0; i < cp->n_backends; i++) {
			const struct sl_conf_backend *cb = &cp->backends[i];
			struct sl_up_backend *b = &p->b[i];
			bool was_removed = i < old->pools[pool].n_backends &&
					   old->pools[pool].backends[i].removed;

			if (i >= p->n || (was_removed && !cb->removed)) {
				up_backend_init(p, cp, i, now);
				continue;
			}
			if (cb->removed) {
				if (b->admin != SL_UP_ADMIN_REMOVED) {
					SL_UP_STORE(b->drained, 0);
					SL_UP_STORE(b->admin, SL_UP_ADMIN_REMOVED);
				}
				continue;
			}
			/* A weight set at run time survives a reload that leaves
			 * the file's value for this backend as it was; a file
			 * that changes it wins (issue 14: predictable reloads). */
			if (i >= old->pools[pool].n_backends ||
			    cb->weight != old->pools[pool].backends[i].weight)
				SL_UP_STORE(b->weight, cb->weight);
		}
		if (grew) {
			SL_UP_STORE(p->n, cp->n_backends);
			p->outlier->n = p->n;
		}
		if (grew || cp->imbalance.window_ms != old->pools[pool].imbalance.window_ms) {
			sl_lb_imbalance_init(p->imb, p->n, cp->imbalance.window_ms, now);
			sl_lb_imbalance_init(p->load, p->n, cp->imbalance.window_ms, now);
		}
		if (cp->policy == SL_POLICY_MAGLEV || p->maglev != NULL) {
			struct sl_lb_maglev *m = cp->policy == SL_POLICY_MAGLEV ?
						 up_maglev_build(p, cp) : NULL;

			if (cp->policy == SL_POLICY_MAGLEV && m == NULL) {
				sl_event_add(u->events, "config", cp->name, NULL,
					     "out of memory for the maglev table: "
					     "the old one stays");
			} else if (u->n_retired < RTE_DIM(u->retired)) {
				u->retired[u->n_retired++] = p->maglev;
				__atomic_store_n(&p->maglev, m, __ATOMIC_RELEASE);
			} else {
				up_maglev_free(m);
			}
		}
	}
	u->conf = c;
	__atomic_store_n(&u->n_pools, RTE_MIN(c->n_pools, u->pool_cap), __ATOMIC_RELEASE);
	__atomic_store_n(&u->applied_generation, c->generation, __ATOMIC_RELEASE);
}


void
sl_upstream_step(struct sl_upstream *u, uint64_t now)
{
	unsigned int back[SL_CONF_MAX_BACKENDS], sr[SL_CONF_MAX_BACKENDS], n_sr;

	const struct sl_conf *next = __atomic_exchange_n(&u->next_conf, NULL,
							 __ATOMIC_ACQUIRE);

	/* Outcomes queued under the old config still name its indices, which
	 * the new one keeps: drain them either side of the switch alike. */
	drain(u, now);
	if (next != NULL)
		apply_conf(u, next, now);
	if (__atomic_exchange_n(&u->reset_req, 0, __ATOMIC_ACQUIRE))
		reset_counters(u);
	shed_episodes(u);
	for (unsigned int pool = 0; pool < u->n_pools; pool++) {
		struct sl_up_pool *p = &u->pools[pool];
		unsigned int n_back;

		for (unsigned int i = 0; i < p->n; i++)
			breaker_event(u, pool, i, sl_breaker_tick(&p->brk[i],
						&p->bconf, now), now);
		n_sr = 0;
		n_back = sl_outlier_tick(p->outlier, &p->oconf, now, back, sr, &n_sr);
		for (unsigned int k = 0; k < n_back; k++)
			outlier_event(u, pool, back[k], SL_OUTLIER_EV_RETURNED, now);
		for (unsigned int k = 0; k < n_sr; k++)
			outlier_event(u, pool, sr[k], SL_OUTLIER_EV_EJECTED_SUCCESS_RATE,
				      now);
		apply_weight_requests(u, pool);
		apply_op_requests(u, pool, now);
		publish_pool(u, pool, now);
		drained_check(u, pool);
		imbalance_pool(u, pool, now);
		retry_budget(p, &u->conf->pools[pool].retry, now);
	}
}

static void *
ctl_main(void *arg)
{
	struct sl_upstream *u = arg;

	while (!u->stop) {
		sl_upstream_step(u, sl_up_now_ms());
		usleep(STEP_US);
	}
	return NULL;
}

int
sl_upstream_start(struct sl_upstream *u)
{
	int rc = rte_ctrl_thread_create(&u->thread, "sl-upstream", NULL, ctl_main, u);

	if (rc == 0)
		u->started = true;
	return rc;
}
