/*
 * Pools and backends: the balancing policy and everything that protects a
 * backend (limits, breaker, outlier ejection, health checks, retries,
 * imbalance detection). Defaults are documented in docs/configuration.md;
 * keep the two in step.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sl_conf.h"
#include "sl_lb.h"
#include "conf_private.h"

#define DEF_WEIGHT         1
/* A backend over 1.75x its capacity share fills up while the pool runs at
 * 57% of its capacity (1/1.75). 1.75 passes mild, deliberate layouts
 * (weights 1,1,2 or 1,2,3: 1.5x) and still sees one heavy backend of two
 * (10,1: 1.82x); docs/configuration.md has the table. */
#define DEF_SKEW_RATIO     1.75
/* Root-cause alarm: in flight per unit of capacity 4x the peers' mean. */
#define DEF_SAT_RATIO      4.0

static void
status_set_add(struct sl_status_set *s, unsigned int st)
{
	s->bits[st / 64] |= 1ull << (st % 64);
}

/* An array of statuses (100..599) or of "5xx"-style classes. */
static bool
get_status_set(json_t *o, const char *key, const char *ptr,
	       struct sl_status_set *out, struct sl_conf_diag *d)
{
	char ap[PTR_MAX], ep[PTR_MAX];
	json_t *a = conf_get_array(o, key, ptr, ap, false, d), *v;
	size_t i;
	bool ok = true;

	if (a == NULL)
		return json_object_get(o, key) == NULL;
	memset(out, 0, sizeof(*out));
	json_array_foreach(a, i, v) {
		conf_ptr_idx(ep, ap, i);
		if (json_is_integer(v) && json_integer_value(v) >= 100 &&
		    json_integer_value(v) <= 599) {
			status_set_add(out, (unsigned int)json_integer_value(v));
		} else if (json_is_string(v) && strlen(json_string_value(v)) == 3 &&
			   json_string_value(v)[0] >= '1' &&
			   json_string_value(v)[0] <= '5' &&
			   strcmp(json_string_value(v) + 1, "xx") == 0) {
			unsigned int base = (unsigned int)(json_string_value(v)[0] - '0') * 100;

			for (unsigned int s = base; s < base + 100; s++)
				status_set_add(out, s);
		} else {
			conf_err(d, ep, "must be a status 100..599 or a class such as \"5xx\"");
			ok = false;
		}
	}
	return ok;
}

static void
parse_limits(json_t *parent, const char *ptr, struct sl_conf_limits *l,
	     bool pool, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "max_connections", "max_pending",
		"max_inflight", "max_retries", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "limits", ptr, p, d);

	/* 0 = no cap. Retries are bounded by the retry budget, not by a
	 * concurrency cap: a cap of 3 (Envoy's default) refused the burst of
	 * retries a backend's death sets off (docs/configuration.md). */
	*l = (struct sl_conf_limits){ .max_retries = 0 };
	(void)pool;   /* pool and backend limits have the same defaults now */
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "max_connections", p, 0, 10000000, 0, &l->max_connections, d);
	conf_get_u32(o, "max_pending", p, 0, 10000000, 0, &l->max_pending, d);
	conf_get_u32(o, "max_inflight", p, 0, 10000000, 0, &l->max_inflight, d);
	conf_get_u32(o, "max_retries", p, 0, 10000000, l->max_retries,
		     &l->max_retries, d);
}

static void
parse_breaker(json_t *parent, const char *ptr, struct sl_conf_breaker *b,
	      struct sl_conf_diag *d)
{
	static const char *const keys[] = { "consecutive_failures",
		"error_rate_pct", "window_ms", "min_requests", "cooldown_ms",
		"cooldown_max_ms", "half_open_probes", "failure_statuses", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "breaker", ptr, p, d);

	*b = (struct sl_conf_breaker){ .consecutive_failures = 5,
		.error_rate_pct = 50, .window_ms = 10000, .min_requests = 20,
		.cooldown_ms = 5000, .cooldown_max_ms = 60000,
		.half_open_probes = 1 };
	for (unsigned int s = 500; s < 600; s++)
		status_set_add(&b->failure_statuses, s);
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "consecutive_failures", p, 0, 1000000, 5,
		     &b->consecutive_failures, d);
	conf_get_u32(o, "error_rate_pct", p, 0, 100, 50, &b->error_rate_pct, d);
	conf_get_u32(o, "window_ms", p, 100, 3600000, 10000, &b->window_ms, d);
	conf_get_u32(o, "min_requests", p, 1, 1000000, 20, &b->min_requests, d);
	conf_get_u32(o, "cooldown_ms", p, 10, 3600000, 5000, &b->cooldown_ms, d);
	conf_get_u32(o, "cooldown_max_ms", p, 10, 3600000, 60000,
		     &b->cooldown_max_ms, d);
	conf_get_u32(o, "half_open_probes", p, 1, 1000, 1, &b->half_open_probes, d);
	get_status_set(o, "failure_statuses", p, &b->failure_statuses, d);
	if (b->cooldown_max_ms < b->cooldown_ms)
		conf_err(d, p, "cooldown_max_ms (%u) is below cooldown_ms (%u)",
			 b->cooldown_max_ms, b->cooldown_ms);
}

static void
parse_outlier(json_t *parent, const char *ptr, struct sl_conf_outlier *x,
	      struct sl_conf_diag *d)
{
	static const char *const keys[] = { "consecutive_5xx",
		"consecutive_gateway", "success_rate_min_hosts",
		"success_rate_min_requests", "success_rate_stdev_factor",
		"interval_ms", "base_ejection_ms", "max_ejection_ms",
		"max_ejection_pct", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "outlier", ptr, p, d);

	*x = (struct sl_conf_outlier){ .consecutive_5xx = 5,
		.consecutive_gateway = 5, .success_rate_min_hosts = 5,
		.success_rate_min_requests = 100, .success_rate_stdev_factor = 1.9,
		.interval_ms = 10000, .base_ejection_ms = 30000,
		.max_ejection_ms = 300000, .max_ejection_pct = 50 };
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "consecutive_5xx", p, 0, 1000000, 5, &x->consecutive_5xx, d);
	conf_get_u32(o, "consecutive_gateway", p, 0, 1000000, 5,
		     &x->consecutive_gateway, d);
	conf_get_u32(o, "success_rate_min_hosts", p, 0, 1000, 5,
		     &x->success_rate_min_hosts, d);
	conf_get_u32(o, "success_rate_min_requests", p, 1, 1000000, 100,
		     &x->success_rate_min_requests, d);
	conf_get_double(o, "success_rate_stdev_factor", p, 0.1, 100, 1.9,
			&x->success_rate_stdev_factor, d);
	conf_get_u32(o, "interval_ms", p, 100, 3600000, 10000, &x->interval_ms, d);
	conf_get_u32(o, "base_ejection_ms", p, 100, 3600000, 30000,
		     &x->base_ejection_ms, d);
	conf_get_u32(o, "max_ejection_ms", p, 100, 86400000, 300000,
		     &x->max_ejection_ms, d);
	/* 50: small pools can still eject one (Envoy's 10 would let a pool of
	 * fewer than 10 backends eject none, as the rule is applied exactly). */
	conf_get_u32(o, "max_ejection_pct", p, 0, 100, 50, &x->max_ejection_pct, d);
	if (x->max_ejection_ms < x->base_ejection_ms)
		conf_err(d, p, "max_ejection_ms (%u) is below base_ejection_ms (%u)",
			 x->max_ejection_ms, x->base_ejection_ms);
}

static void
parse_health(json_t *parent, const char *ptr, struct sl_conf_health *h,
	     struct sl_conf_diag *d)
{
	static const char *const keys[] = { "type", "interval_ms", "timeout_ms",
		"rise", "fall", "path", "host", "expect_statuses", NULL };
	static const char *const types[] = { "http", "tcp", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "health_check", ptr, p, d);
	int t;

	*h = (struct sl_conf_health){ .http = true, .interval_ms = 2000,
		.timeout_ms = 1000, .rise = 2, .fall = 3 };
	strcpy(h->path, "/");
	for (unsigned int s = 200; s < 400; s++)
		status_set_add(&h->expect, s);
	if (o == NULL)
		return;
	h->enabled = true;
	conf_check_keys(o, p, keys, d);
	t = conf_get_enum(o, "type", p, types, 0, d);
	h->http = t != 1;
	conf_get_u32(o, "interval_ms", p, 100, 3600000, 2000, &h->interval_ms, d);
	conf_get_u32(o, "timeout_ms", p, 10, 600000, 1000, &h->timeout_ms, d);
	conf_get_u32(o, "rise", p, 1, 100, 2, &h->rise, d);
	conf_get_u32(o, "fall", p, 1, 100, 3, &h->fall, d);
	if (conf_get_str(o, "path", p, false, h->path, sizeof(h->path), d) &&
	    h->path[0] == '\0')
		strcpy(h->path, "/");
	if (h->path[0] != '/' || strpbrk(h->path, " \r\n") != NULL) {
		char kp[PTR_MAX];

		conf_ptr_key(kp, p, "path");
		conf_err(d, kp, "must start with '/' and hold no space or line break");
	}
	conf_get_str(o, "host", p, false, h->host, sizeof(h->host), d);
	if (strpbrk(h->host, " \r\n") != NULL) {
		char kp[PTR_MAX];

		conf_ptr_key(kp, p, "host");
		conf_err(d, kp, "must hold no space or line break");
	}
	get_status_set(o, "expect_statuses", p, &h->expect, d);
	if (h->timeout_ms >= h->interval_ms)
		conf_err(d, p, "timeout_ms (%u) must be below interval_ms (%u)",
			 h->timeout_ms, h->interval_ms);
}

static void
parse_retry(json_t *parent, const char *ptr, struct sl_conf_retry *r,
	    struct sl_conf_diag *d)
{
	static const char *const keys[] = { "attempts", "on_statuses",
		"budget_pct", "min_per_s", "window_s", "min_concurrency", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "retry", ptr, p, d);

	/* Linkerd's and Finagle's budget defaults: 20% of requests plus 10
	 * a second, over 10 s (docs/configuration.md says why). */
	*r = (struct sl_conf_retry){ .attempts = 1, .budget_pct = 20,
		.min_per_s = 10, .window_s = 10, .min_concurrency = 3 };
	status_set_add(&r->on_statuses, 502);
	status_set_add(&r->on_statuses, 503);
	status_set_add(&r->on_statuses, 504);
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "attempts", p, 0, 5, 1, &r->attempts, d);
	get_status_set(o, "on_statuses", p, &r->on_statuses, d);
	conf_get_u32(o, "budget_pct", p, 0, 100, 20, &r->budget_pct, d);
	conf_get_u32(o, "min_per_s", p, 0, 100000, 10, &r->min_per_s, d);
	conf_get_u32(o, "window_s", p, 1, 300, 10, &r->window_s, d);
	conf_get_u32(o, "min_concurrency", p, 0, 100000, 3, &r->min_concurrency, d);
}

/*
 * A ratio that is 0 (off) or at least `min`: read like conf_get_double,
 * then a value in (0, min) is an error that says so (`off_hint` names
 * what 0 means, e.g. "off").
 */
static void
conf_get_ratio_or_off(json_t *o, const char *key, const char *p, double max,
		      double def, double min, const char *off_hint, double *out,
		      struct sl_conf_diag *d)
{
	conf_get_double(o, key, p, 0, max, def, out, d);
	if (*out != 0 && *out < min) {
		char kp[PTR_MAX];

		conf_ptr_key(kp, p, key);
		conf_err(d, kp, "must be 0 (%s) or at least %g", off_hint, min);
	}
}

static void
parse_imbalance(json_t *parent, const char *ptr, struct sl_conf_imbalance *im,
		struct sl_conf_diag *d)
{
	static const char *const keys[] = { "window_ms", "min_requests", "ratio",
		"deviation", "hold_ms", "saturation_ratio", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "imbalance", ptr, p, d);

	*im = (struct sl_conf_imbalance){ .window_ms = 30000,
		.min_requests = 100, .ratio = 0, .deviation = 0.5,
		.hold_ms = 10000, .saturation_ratio = DEF_SAT_RATIO };
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "window_ms", p, 1000, 3600000, 30000, &im->window_ms, d);
	conf_get_u32(o, "min_requests", p, 1, 100000000, 100, &im->min_requests, d);
	conf_get_ratio_or_off(o, "ratio", p, 1e6, 0, 1.0, "use skew_warn_ratio",
			      &im->ratio, d);
	conf_get_double(o, "deviation", p, 0.01, 1e6, 0.5, &im->deviation, d);
	conf_get_u32(o, "hold_ms", p, 0, 3600000, 10000, &im->hold_ms, d);
	conf_get_ratio_or_off(o, "saturation_ratio", p, 1e6, DEF_SAT_RATIO, 1.0,
			      "off", &im->saturation_ratio, d);
}

/*
 * "concurrency": {"enabled", "min", "max", "headroom", "shed", "slow_ratio",
 * "slow_min_ms"}. Defaults: on, 4 to
 * 1024, twice the learned (or declared) capacity: room for a backend's
 * normal burst above the level where its latency departs, while a backend
 * given ten times its share by weight cannot queue ten times its capacity.
 */
static void
parse_concurrency(json_t *parent, const char *ptr, struct sl_conf_concurrency *cc,
		  struct sl_conf_diag *d)
{
	static const char *const keys[] = { "enabled", "min", "max", "headroom",
		"shed", "slow_ratio", "slow_min_ms", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "concurrency", ptr, p, d);
	json_t *en;

	*cc = (struct sl_conf_concurrency){ .enabled = true, .min = 4,
		.max = 1024, .headroom = 2.0, .shed = false, .slow_ratio = 4.0,
		.slow_min_ms = 20 };
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	for (unsigned int k = 0; k < 2; k++) {
		const char *key = k == 0 ? "enabled" : "shed";
		bool *dst = k == 0 ? &cc->enabled : &cc->shed;
		char kp[PTR_MAX];

		en = json_object_get(o, key);
		if (en == NULL)
			continue;
		if (json_is_boolean(en)) {
			*dst = json_is_true(en);
		} else {
			conf_ptr_key(kp, p, key);
			conf_err(d, kp, "must be true or false");
		}
	}
	conf_get_u32(o, "min", p, 1, 1000000, 4, &cc->min, d);
	conf_get_u32(o, "max", p, 1, 1000000, 1024, &cc->max, d);
	conf_get_double(o, "headroom", p, 1.0, 100.0, 2.0, &cc->headroom, d);
	conf_get_ratio_or_off(o, "slow_ratio", p, 100.0, 4.0, 1.5, "off",
			      &cc->slow_ratio, d);
	conf_get_u32(o, "slow_min_ms", p, 0, 60000, 20, &cc->slow_min_ms, d);
	if (cc->max < cc->min) {
		char kp[PTR_MAX];

		conf_ptr_key(kp, p, "max");
		conf_err(d, kp, "must be at least min (%u)", cc->min);
	}
}

static void
parse_backend(json_t *o, const char *ep, void *elem, void *ctx,
	      struct sl_conf_diag *d)
{
	static const char *const keys[] = { "name", "address", "port",
		"weight", "capacity", "limits", NULL };
	struct sl_conf_backend *b = elem;
	char addr[16];
	uint64_t v;
	bool ok = true;

	(void)ctx;
	conf_check_keys(o, ep, keys, d);
	ok &= conf_get_ipv4(o, "address", ep, true, &b->addr, d);
	ok &= conf_get_uint(o, "port", ep, 1, 65535, 0, true, &v, d);
	b->port = (uint16_t)v;
	/* Negative weights are caught here: the range starts at 0. */
	ok &= conf_get_uint(o, "weight", ep, 0, 1000, DEF_WEIGHT, false, &v, d);
	b->weight = (uint32_t)v;
	/* Concurrent requests, not a rate: a backend that queues runs out of
	 * workers, and its rate follows from latency (Little's law). */
	ok &= conf_get_uint(o, "capacity", ep, 1, 1000000, 0, false, &v, d);
	b->capacity = (uint32_t)v;
	ok &= conf_get_str(o, "name", ep, false, b->name, sizeof(b->name), d);
	if (b->name[0] == '\0')
		snprintf(b->name, sizeof(b->name), "%s:%u",
			 sl_conf_fmt_ipv4(b->addr, addr), b->port);
	parse_limits(o, ep, &b->limits, false, d);
	b->valid = ok;
}

static void
parse_hash_key(json_t *parent, const char *ptr, struct sl_conf_pool *pool,
	       struct sl_conf_diag *d)
{
	static const char *const keys[] = { "source", "name", NULL };
	static const char *const sources[] = { "client_ip", "header", "cookie",
		NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, "hash_key", ptr, p, d);
	int s;

	pool->hash_source = SL_HASH_CLIENT_IP;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	s = conf_get_enum(o, "source", p, sources, SL_HASH_CLIENT_IP, d);
	pool->hash_source = s >= 0 ? (enum sl_conf_hash_source)s : SL_HASH_CLIENT_IP;
	conf_get_str(o, "name", p, pool->hash_source != SL_HASH_CLIENT_IP,
		     pool->hash_name, sizeof(pool->hash_name), d);
}

static void
parse_pool(json_t *o, const char *ep, void *elem, void *ctx,
	   struct sl_conf_diag *d)
{
	static const char *const keys[] = { "name", "backends",
		"skew_warn_ratio", "connect_timeout_ms", "policy", "hash_key",
		"maglev_table_size", "slow_start_ms", "slow_start_min_pct",
		"panic_threshold_pct", "limits", "breaker", "outlier",
		"health_check", "retry", "imbalance", "concurrency", NULL };
	static const char *const policies[] = { "round_robin", "least_request",
		"maglev", "random", NULL };
	struct sl_conf_pool *pool = elem;
	char bp[PTR_MAX];
	json_t *ba;
	int pol;

	(void)ctx;
	conf_check_keys(o, ep, keys, d);
	conf_get_str(o, "name", ep, true, pool->name, sizeof(pool->name), d);
	conf_get_double(o, "skew_warn_ratio", ep, 1.0, 1e6, DEF_SKEW_RATIO,
			&pool->skew_warn_ratio, d);
	conf_get_u32(o, "connect_timeout_ms", ep, 10, 600000, 3000,
		     &pool->connect_timeout_ms, d);
	pol = conf_get_enum(o, "policy", ep, policies, SL_POLICY_WRR, d);
	pool->policy = pol >= 0 ? (enum sl_conf_policy)pol : SL_POLICY_WRR;
	parse_hash_key(o, ep, pool, d);
	if (json_object_get(o, "hash_key") != NULL && pool->policy != SL_POLICY_MAGLEV) {
		conf_ptr_key(bp, ep, "hash_key");
		conf_err(d, bp, "hash_key applies to \"policy\": \"maglev\" only");
	}
	if (conf_get_u32(o, "maglev_table_size", ep, 251, 1000003, 65537,
			 &pool->maglev_size, d) && !sl_lb_is_prime(pool->maglev_size)) {
		conf_ptr_key(bp, ep, "maglev_table_size");
		conf_err(d, bp, "%u is not prime", pool->maglev_size);
	}
	conf_get_u32(o, "slow_start_ms", ep, 0, 3600000, 0, &pool->slow_start_ms, d);
	conf_get_u32(o, "slow_start_min_pct", ep, 1, 100, 10,
		     &pool->slow_start_min_pct, d);
	conf_get_u32(o, "panic_threshold_pct", ep, 0, 100, 50,
		     &pool->panic_threshold_pct, d);
	parse_limits(o, ep, &pool->limits, true, d);
	parse_concurrency(o, ep, &pool->concurrency, d);
	parse_breaker(o, ep, &pool->breaker, d);
	parse_outlier(o, ep, &pool->outlier, d);
	parse_health(o, ep, &pool->health, d);
	parse_retry(o, ep, &pool->retry, d);
	parse_imbalance(o, ep, &pool->imbalance, d);
	ba = json_object_get(o, "backends");
	if (json_is_array(ba) && json_array_size(ba) == 0) {
		conf_ptr_key(bp, ep, "backends");
		conf_err(d, bp, "a pool needs at least one backend");
		return;
	}
	if (json_is_array(ba) && json_array_size(ba) > SL_CONF_MAX_BACKENDS) {
		conf_ptr_key(bp, ep, "backends");
		conf_err(d, bp, "a pool holds at most %u backends (got %zu)",
			 SL_CONF_MAX_BACKENDS, json_array_size(ba));
		return;
	}
	pool->backends = conf_parse_objects(o, "backends", ep, true,
					    sizeof(*pool->backends),
					    &pool->n_backends, parse_backend,
					    NULL, bp, d);
}

void
conf_parse_pools(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	char p[PTR_MAX];

	c->pools = conf_parse_objects(root, "pools", "", true, sizeof(*c->pools),
				      &c->n_pools, parse_pool, NULL, p, d);
}

/* {"rps": N, "burst": M} under parent[key]; absent = no limit. */
void
conf_parse_rate(json_t *parent, const char *key, const char *ptr,
		struct sl_conf_rate *r, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "rps", "burst", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(parent, key, ptr, p, d);

	*r = (struct sl_conf_rate){ 0, 0 };
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "rps", p, 1, 100000000, 0, &r->rps, d);
	if (json_object_get(o, "rps") == NULL)
		conf_err(d, p, "missing required key \"rps\"");
	conf_get_u32(o, "burst", p, 1, 100000000, r->rps ? r->rps : 1, &r->burst, d);
}

void
conf_parse_overload(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "busy_pct", "retry_after_s",
		"events_max", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(root, "overload", "", p, d);

	/* Off unless asked: a poll-mode lcore near 100% busy may still be
	 * keeping up (see docs/configuration.md). */
	c->overload = (struct sl_conf_overload){ .busy_pct = 0,
		.retry_after_s = 1 };
	c->events_max = 1024;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "busy_pct", p, 0, 100, 0, &c->overload.busy_pct, d);
	conf_get_u32(o, "retry_after_s", p, 0, 3600, 1, &c->overload.retry_after_s, d);
	conf_get_u32(o, "events_max", p, 16, 1000000, 1024, &c->events_max, d);
}
