/*
 * Telemetry of balancing and protection: /sluice/pools, /sluice/breakers,
 * /sluice/events, and the live state in /sluice/backends. The control
 * thread and the workers write these with relaxed atomics; a row may mix
 * two instants, never a torn value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_breaker.h"
#include "sl_conf.h"
#include "sl_event.h"
#include "sl_log.h"
#include "sl_upstream.h"
#include "telemetry_private.h"

#define EVENTS_PAGE 40

static struct sl_dp *ldp;

static const char *
health_name(unsigned int h)
{
	return h == SL_UP_HEALTH_DOWN ? "down" : "up";
}

/* One word for an operator: what the balancer makes of this backend. */
static const char *
state_name(const struct sl_up_pool *p, const struct sl_up_backend *b)
{
	if (b->weight == 0)
		return "disabled";
	if (SL_UP_LOAD(b->health) == SL_UP_HEALTH_DOWN)
		return SL_UP_LOAD(p->panic) ? "down_panic_routed" : "down";
	if (SL_UP_LOAD(b->ejected))
		return SL_UP_LOAD(p->panic) ? "ejected_panic_routed" : "ejected";
	if (SL_UP_LOAD(b->breaker) == SL_BREAKER_OPEN)
		return "breaker_open";
	if (SL_UP_LOAD(b->breaker) == SL_BREAKER_HALF_OPEN)
		return "breaker_half_open";
	if (b->ready_since_ms != 0)
		return "slow_start";
	return "healthy";
}

void
tel_lb_backend_state(struct rte_tel_data *e, unsigned int pool, unsigned int i)
{
	const struct sl_up_pool *p = &ldp->up->pools[pool];
	const struct sl_up_backend *b = &p->b[i];
	const struct sl_lb_imbalance *im = p->imb;

	rte_tel_data_add_dict_string(e, "state", state_name(p, b));
	rte_tel_data_add_dict_string(e, "health", health_name(SL_UP_LOAD(b->health)));
	rte_tel_data_add_dict_string(e, "last_health_check", b->last_health);
	rte_tel_data_add_dict_u64(e, "ejected", SL_UP_LOAD(b->ejected));
	rte_tel_data_add_dict_string(e, "breaker",
				     sl_breaker_state_name(SL_UP_LOAD(b->breaker)));
	rte_tel_data_add_dict_u64(e, "effective_weight", SL_UP_LOAD(b->eff_weight));
	rte_tel_data_add_dict_u64(e, "active_connections", SL_UP_LOAD(b->conns));
	rte_tel_data_add_dict_u64(e, "pending", SL_UP_LOAD(b->pending));
	rte_tel_data_add_dict_u64(e, "inflight", SL_UP_LOAD(b->inflight));
	rte_tel_data_add_dict_u64(e, "retries_active", SL_UP_LOAD(b->retries));
	rte_tel_data_add_dict_u64(e, "outcomes", SL_UP_LOAD(b->requests));
	rte_tel_data_add_dict_u64(e, "status_2xx", SL_UP_LOAD(b->status_2xx));
	rte_tel_data_add_dict_u64(e, "status_3xx", SL_UP_LOAD(b->status_3xx));
	rte_tel_data_add_dict_u64(e, "status_4xx", SL_UP_LOAD(b->status_4xx));
	rte_tel_data_add_dict_u64(e, "status_5xx", SL_UP_LOAD(b->status_5xx));
	rte_tel_data_add_dict_u64(e, "fail_status", SL_UP_LOAD(b->fail_status));
	rte_tel_data_add_dict_u64(e, "fail_connect", SL_UP_LOAD(b->fail_connect));
	rte_tel_data_add_dict_u64(e, "fail_reset", SL_UP_LOAD(b->fail_reset));
	rte_tel_data_add_dict_u64(e, "fail_timeout", SL_UP_LOAD(b->fail_timeout));
	rte_tel_data_add_dict_u64(e, "health_checks", SL_UP_LOAD(b->health_checks));
	rte_tel_data_add_dict_u64(e, "health_failures", SL_UP_LOAD(b->health_failures));
	rte_tel_data_add_dict_u64(e, "breaker_opens", SL_UP_LOAD(b->breaker_opens));
	rte_tel_data_add_dict_u64(e, "ejections", SL_UP_LOAD(b->ejections));
	/* Shares over the imbalance window, in per mille. */
	rte_tel_data_add_dict_u64(e, "share_permille",
				  (uint64_t)(im->share[i] * 1000 + 0.5));
	rte_tel_data_add_dict_u64(e, "expected_share_permille",
				  (uint64_t)(im->expected[i] * 1000 + 0.5));
	rte_tel_data_add_dict_int(e, "deviation_pct",
				  (int)(im->deviation[i] * 100 + (im->deviation[i] < 0 ? -0.5 : 0.5)));
	rte_tel_data_add_dict_u64(e, "inflight_share_permille",
				  (uint64_t)(p->load->share[i] * 1000 + 0.5));
	rte_tel_data_add_dict_int(e, "inflight_deviation_pct",
				  (int)(p->load->deviation[i] * 100 +
					(p->load->deviation[i] < 0 ? -0.5 : 0.5)));
}

static const char *const policy_names[] = { "round_robin", "least_request",
	"maglev", "random" };

static int
cmd_pools(const char *cmd __rte_unused, const char *params __rte_unused,
	  struct rte_tel_data *d)
{
	const struct sl_conf *c = ldp->conf;

	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < c->n_pools; i++) {
		const struct sl_up_pool *p = &ldp->up->pools[i];
		struct rte_tel_data *e = rte_tel_data_alloc();
		char buf[32];

		if (e == NULL)
			break;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "policy", policy_names[c->pools[i].policy]);
		rte_tel_data_add_dict_u64(e, "backends", p->n);
		rte_tel_data_add_dict_u64(e, "healthy", SL_UP_LOAD(p->healthy));
		rte_tel_data_add_dict_u64(e, "panic", SL_UP_LOAD(p->panic));
		rte_tel_data_add_dict_u64(e, "panic_entries", SL_UP_LOAD(p->panic_entries));
		rte_tel_data_add_dict_u64(e, "active_connections", SL_UP_LOAD(p->conns));
		rte_tel_data_add_dict_u64(e, "pending", SL_UP_LOAD(p->pending));
		rte_tel_data_add_dict_u64(e, "inflight", SL_UP_LOAD(p->inflight));
		rte_tel_data_add_dict_u64(e, "retries_active", SL_UP_LOAD(p->retries));
		rte_tel_data_add_dict_u64(e, "retries", SL_UP_LOAD(p->retries_total));
		for (unsigned int r = 0; r < SL_UP_REFUSE_MAX; r++) {
			snprintf(buf, sizeof(buf), "refused_%s", sl_up_refusal_names[r]);
			rte_tel_data_add_dict_u64(e, buf, SL_UP_LOAD(p->refused[r]));
		}
		snprintf(buf, sizeof(buf), "%.3f", p->imb_ratio);
		rte_tel_data_add_dict_string(e, "imbalance_ratio", buf);
		snprintf(buf, sizeof(buf), "%.3f", p->imb_worst_deviation);
		rte_tel_data_add_dict_string(e, "imbalance_worst_deviation", buf);
		rte_tel_data_add_dict_u64(e, "imbalance_window_requests",
					  p->imb->window_requests);
		rte_tel_data_add_dict_u64(e, "imbalance_alarm", SL_UP_LOAD(p->imb_alarm));
		rte_tel_data_add_dict_u64(e, "imbalance_alarms", SL_UP_LOAD(p->imb_alarms));
		snprintf(buf, sizeof(buf), "%.3f", p->load_ratio);
		rte_tel_data_add_dict_string(e, "load_imbalance_ratio", buf);
		snprintf(buf, sizeof(buf), "%.3f", p->load_worst_deviation);
		rte_tel_data_add_dict_string(e, "load_imbalance_worst_deviation", buf);
		rte_tel_data_add_dict_u64(e, "load_imbalance_alarm", SL_UP_LOAD(p->load_alarm));
		rte_tel_data_add_dict_u64(e, "load_imbalance_alarms", SL_UP_LOAD(p->load_alarms));
		if (rte_tel_data_add_dict_container(d, c->pools[i].name, e, 0) != 0)
			rte_tel_data_free(e);
	}
	return 0;
}

/* /sluice/breakers[,<pool>]: breaker state of every backend. */
static int
cmd_breakers(const char *cmd __rte_unused, const char *params,
	     struct rte_tel_data *d)
{
	const struct sl_conf *c = ldp->conf;
	unsigned int n = 0;
	char key[16];

	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < c->n_pools; i++) {
		const struct sl_up_pool *p = &ldp->up->pools[i];

		if (params != NULL && *params && strcmp(params, c->pools[i].name) != 0)
			continue;
		for (unsigned int b = 0; b < p->n && n < 200; b++) {
			const struct sl_breaker *br = &p->brk[b];
			struct rte_tel_data *e = rte_tel_data_alloc();

			if (e == NULL)
				return 0;
			rte_tel_data_start_dict(e);
			rte_tel_data_add_dict_string(e, "pool", c->pools[i].name);
			rte_tel_data_add_dict_string(e, "backend", c->pools[i].backends[b].name);
			rte_tel_data_add_dict_string(e, "state",
				sl_breaker_state_name(SL_UP_LOAD(p->b[b].breaker)));
			rte_tel_data_add_dict_u64(e, "consecutive_failures", br->consecutive);
			rte_tel_data_add_dict_u64(e, "cooldown_ms", br->cooldown_cur_ms);
			rte_tel_data_add_dict_u64(e, "probes_left",
						  (uint64_t)RTE_MAX(SL_UP_LOAD(p->b[b].probes), 0));
			rte_tel_data_add_dict_u64(e, "opens", SL_UP_LOAD(p->b[b].breaker_opens));
			snprintf(key, sizeof(key), "%u", n++);
			if (rte_tel_data_add_dict_container(d, key, e, 0) != 0)
				rte_tel_data_free(e);
		}
	}
	return 0;
}

/* /sluice/events[,<after seq>]: the event log, oldest first, 40 at a time. */
static int
cmd_events(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	struct sl_event *ev = calloc(EVENTS_PAGE, sizeof(*ev));
	uint64_t after = params && *params ? strtoull(params, NULL, 10) : 0;
	uint64_t added, cap;
	unsigned int n;
	char key[24];

	if (ev == NULL)
		return -ENOMEM;
	n = sl_event_read(ldp->events, after, ev, EVENTS_PAGE);
	sl_event_counts(ldp->events, &added, &cap);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", added);
	rte_tel_data_add_dict_u64(d, "capacity", cap);
	rte_tel_data_add_dict_u64(d, "next", n ? ev[n - 1].seq : after);
	for (unsigned int i = 0; i < n; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			break;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_u64(e, "seq", ev[i].seq);
		rte_tel_data_add_dict_u64(e, "time_us", ev[i].wall_us);
		rte_tel_data_add_dict_string(e, "kind", ev[i].kind);
		rte_tel_data_add_dict_string(e, "pool", ev[i].pool);
		rte_tel_data_add_dict_string(e, "backend", ev[i].backend);
		rte_tel_data_add_dict_string(e, "text", ev[i].text);
		snprintf(key, sizeof(key), "%llu", (unsigned long long)ev[i].seq);
		if (rte_tel_data_add_dict_container(d, key, e, 0) != 0)
			rte_tel_data_free(e);
	}
	free(ev);
	return 0;
}

/* /sluice/set_weight,<pool>,<backend>,<weight> */
static int
cmd_set_weight(const char *cmd __rte_unused, const char *params,
	       struct rte_tel_data *d)
{
	char buf[256], err[160], *pool, *backend, *w, *end;
	long weight;

	rte_tel_data_start_dict(d);
	snprintf(buf, sizeof(buf), "%s", params ? params : "");
	pool = strtok(buf, ",");
	backend = pool ? strtok(NULL, ",") : NULL;
	w = backend ? strtok(NULL, ",") : NULL;
	if (w == NULL) {
		rte_tel_data_add_dict_string(d, "error",
			"usage: /sluice/set_weight,<pool>,<backend>,<weight 0-1000>");
		return 0;
	}
	weight = strtol(w, &end, 10);
	if (*end != '\0' || end == w) {
		rte_tel_data_add_dict_string(d, "error", "weight must be an integer");
		return 0;
	}
	if (sl_upstream_set_weight(ldp->up, pool, backend, weight, err, sizeof(err)) != 0) {
		rte_tel_data_add_dict_string(d, "error", err);
		return 0;
	}
	rte_tel_data_add_dict_string(d, "pool", pool);
	rte_tel_data_add_dict_string(d, "backend", backend);
	rte_tel_data_add_dict_u64(d, "weight", (uint64_t)weight);
	rte_tel_data_add_dict_string(d, "status", "applied within milliseconds; see /sluice/events");
	return 0;
}

int
tel_lb_register(struct sl_dp *dp)
{
	int rc = 0;

	ldp = dp;
	if (dp->up == NULL || dp->events == NULL)
		return -EINVAL;
	rc |= rte_telemetry_register_cmd("/sluice/pools", cmd_pools,
		"Per pool: policy, healthy, panic, gauges, refusals by limit, imbalance ratio and alarm. No parameters");
	rc |= rte_telemetry_register_cmd("/sluice/breakers", cmd_breakers,
		"Breaker of every backend: state, consecutive failures, cooldown, probes left, opens. Parameter: pool (optional)");
	rc |= rte_telemetry_register_cmd("/sluice/events", cmd_events,
		"Event log, oldest first, 40 per call: seq, time_us, kind, pool, backend, text. Parameter: last seq seen");
	rc |= rte_telemetry_register_cmd("/sluice/set_weight", cmd_set_weight,
		"Change a backend's weight (0-1000), logged as an event. Parameters: pool,backend,weight");
	if (rc != 0)
		SL_LOG(ERR, "telemetry: cannot register the balancing commands");
	return rc;
}
