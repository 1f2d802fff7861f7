/*
 * The proxies' telemetry: /sluice/http, /sluice/routes, /sluice/backends
 * and /sluice/latency for the HTTP proxy, /sluice/tcp for TCP and the L4
 * proxy (TCP's part comes from lib/tcp). Latency histograms live per
 * lcore and are merged here at read time with relaxed loads
 * (sl_hist_merge), so a read never stalls a worker; a percentile may miss
 * the requests of the last microseconds. Each worker's proxies are
 * reached through their lcore slots (sl_h1_proxy_of, sl_proxy_of), the
 * idle pool's size through sl_h1_idle_conns().
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_conf.h"
#include "sl_hist.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"
#include "sl_proxy_telemetry.h"
#include "sl_tcp_telemetry.h"
#include "sl_telemetry.h"
#include "sl_upstream.h"
#include "sl_upstream_telemetry.h"

/*
 * Rows a page, for the worst case to stay under 16 KB: a route is about
 * 20 fields with two 64-byte names and a 127-byte match (0.8 KB at worst),
 * a backend about 67 fields (1.8 KB at worst, with the capacity and
 * root-cause fields).
 */
#define ROUTES_PAGE 16
#define BACKENDS_PAGE 8

/*
 * /sluice/tcp: a TCP dict is about 60 fields (2.2 KB at worst, plus the
 * "total" dict on every page).
 */
#define TCP_PAGE 4

/* p50/p90/p99/p99.9 (and max, mean) of a merged histogram. */
static void
add_quantiles(struct rte_tel_data *d, const char *prefix, const struct sl_hist *h)
{
	static const struct { const char *name; double q; } qs[] = {
		{ "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 }, { "p999", 0.999 } };
	char key[64];

	for (unsigned int i = 0; i < RTE_DIM(qs); i++) {
		snprintf(key, sizeof(key), "%s_%s_us", prefix, qs[i].name);
		rte_tel_data_add_dict_u64(d, key, sl_hist_quantile(h, qs[i].q));
	}
	snprintf(key, sizeof(key), "%s_max_us", prefix);
	rte_tel_data_add_dict_u64(d, key, h->max);
	snprintf(key, sizeof(key), "%s_mean_us", prefix);
	rte_tel_data_add_dict_u64(d, key, h->count ? h->sum / h->count : 0);
}

/* Merge histogram `idx` of an array over every worker's proxy. */
static void
merge_hist(struct sl_hist *acc, size_t off, uint32_t idx)
{
	memset(acc, 0, sizeof(*acc));
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_h1_proxy *hp = sl_h1_proxy_of(tel_dp->workers[w]);
		const struct sl_hist *arr = *(struct sl_hist *const *)((const char *)hp + off);

		sl_hist_merge(acc, &arr[idx]);
	}
}

/* ---- /sluice/http ----------------------------------------------------- */

static int
cmd_http(const char *cmd __rte_unused, const char *params,
	 struct rte_tel_data *d)
{
	uint64_t sum[64] = { 0 }, inflight = 0, clients = 0;
	struct sl_hist *all, *one;

	if (tel_no_params(params, d) != 0)
		return 0;
	RTE_BUILD_BUG_ON(sizeof(struct sl_h1_stats) / sizeof(uint64_t) > RTE_DIM(sum));
	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_h1_proxy *hp = sl_h1_proxy_of(tel_dp->workers[w]);
		const uint64_t *v = (const uint64_t *)&hp->stats;

		for (unsigned int i = 0; i < sl_h1_n_stats && i < RTE_DIM(sum); i++)
			sum[i] += TEL_LOAD(v[i]);
		inflight += TEL_LOAD(hp->stats.inflight);
		clients += TEL_LOAD(hp->stats.clients);
	}
	for (unsigned int i = 0; i < sl_h1_n_stats; i++)
		rte_tel_data_add_dict_u64(d, sl_h1_stat_names[i], sum[i]);
	rte_tel_data_add_dict_u64(d, "inflight", inflight);
	rte_tel_data_add_dict_u64(d, "clients", clients);

	/* Latency over every route of every listener. */
	all = calloc(2, sizeof(*all));
	if (all == NULL)
		return tel_error(d, "out of memory");
	one = all + 1;
	for (unsigned int k = 0; k < 2; k++) {
		size_t off = k == 0 ? offsetof(struct sl_h1_proxy, route_total) :
				      offsetof(struct sl_h1_proxy, route_upstream);

		memset(all, 0, sizeof(*all));
		for (uint32_t i = 0; tel_dp->n_workers > 0 &&
		     i < sl_h1_proxy_of(tel_dp->workers[0])->n_route_hists; i++) {
			merge_hist(one, off, i);
			sl_hist_merge(all, one);
		}
		add_quantiles(d, k == 0 ? "total" : "upstream", all);
	}
	free(all);
	return 0;
}

/* ---- /sluice/routes --------------------------------------------------- */

static const char *const method_names[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
	"TRACE" };

static void
methods_str(uint16_t bits, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	if (bits == 0) {
		snprintf(out, len, "*");
		return;
	}
	for (unsigned int m = 0; m < RTE_DIM(method_names); m++)
		if (bits & (1u << m))
			n += (size_t)snprintf(out + n, len - RTE_MIN(n, len), "%s%s",
					      n ? "," : "", method_names[m]);
}

/* One row per HTTP route and per HTTP listener's default, numbered. */
static struct rte_tel_data *
route_row(const struct sl_conf *c, const struct sl_conf_listener *lis,
	  unsigned int r, struct sl_hist *h)
{
	const struct sl_conf_http_route *rt = r < lis->n_routes ? &lis->routes[r] : NULL;
	int pool = rt ? rt->pool : lis->pool;
	uint32_t idx = lis->route_base + r;   /* the default's slot is n_routes */
	struct rte_tel_data *e = rte_tel_data_alloc();
	char buf[600];

	if (e == NULL)
		return NULL;
	rte_tel_data_start_dict(e);
	tel_add_str(e, "listener", lis->name);
	rte_tel_data_add_dict_u64(e, "route", r);
	rte_tel_data_add_dict_u64(e, "default", rt == NULL);
	if (rt != NULL)
		snprintf(buf, sizeof(buf), "%s%s", rt->host[0] ? rt->host : "*",
			 rt->path_prefix);
	else
		snprintf(buf, sizeof(buf), "(default)");
	tel_add_str(e, "match", buf);
	methods_str(rt ? rt->methods : 0, buf, sizeof(buf));
	rte_tel_data_add_dict_string(e, "methods", buf);
	rte_tel_data_add_dict_u64(e, "rate_limit_rps", rt ? rt->rate_limit.rps : 0);
	tel_add_str(e, "pool", pool >= 0 ? c->pools[pool].name : "");
	merge_hist(h, offsetof(struct sl_h1_proxy, route_total), idx);
	rte_tel_data_add_dict_u64(e, "requests", h->count);
	add_quantiles(e, "total", h);
	merge_hist(h, offsetof(struct sl_h1_proxy, route_upstream), idx);
	add_quantiles(e, "upstream", h);
	return e;
}

static int
cmd_routes(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	const struct sl_conf *c = tel_conf();
	struct tel_page pg = { .size = ROUTES_PAGE };
	unsigned int n = 0;
	struct sl_hist *h;
	char key[16];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	for (unsigned int l = 0; l < c->n_listeners; l++)
		if (c->listeners[l].mode == SL_MODE_HTTP)
			n += c->listeners[l].n_routes + 1;
	if (tel_dp->n_workers == 0)
		n = 0;
	tel_page_set(&pg, n);
	h = malloc(sizeof(*h));
	if (h == NULL)
		return tel_error(d, "out of memory");
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	n = 0;
	for (unsigned int l = 0; l < c->n_listeners && n < pg.last; l++) {
		const struct sl_conf_listener *lis = &c->listeners[l];

		if (lis->mode != SL_MODE_HTTP)
			continue;
		for (unsigned int r = 0; r <= lis->n_routes && n < pg.last; r++, n++) {
			if (n < pg.first)
				continue;
			snprintf(key, sizeof(key), "%u", n);
			tel_add_row(d, key, route_row(c, lis, r, h));
		}
	}
	free(h);
	return 0;
}

/* ---- /sluice/backends ------------------------------------------------- */

static struct rte_tel_data *
backend_row(const struct sl_conf *c, unsigned int pool, unsigned int b,
	    struct sl_hist *h)
{
	const struct sl_conf_backend *be = &c->pools[pool].backends[b];
	uint32_t idx = c->pools[pool].slot_base + b;   /* per-lcore slot */
	struct rte_tel_data *e = rte_tel_data_alloc();
	uint64_t idle = 0;
	char addr[32], ip[16];

	if (e == NULL)
		return NULL;
	rte_tel_data_start_dict(e);
	tel_add_str(e, "name", be->name);
	snprintf(addr, sizeof(addr), "%s:%u", sl_conf_fmt_ipv4(be->addr, ip), be->port);
	rte_tel_data_add_dict_string(e, "address", addr);
	rte_tel_data_add_dict_u64(e, "weight", tel_dp->up ?
				  TEL_LOAD(tel_dp->up->pools[pool].b[b].weight) : be->weight);
	if (tel_dp->up != NULL)
		sl_upstream_tel_backend_state(e, c, pool, b);
	/* Pooled keep-alive connections waiting for a request, all lcores. */
	for (unsigned int w = 0; w < tel_dp->n_workers; w++)
		idle += sl_h1_idle_conns(sl_h1_proxy_of(tel_dp->workers[w]), idx);
	rte_tel_data_add_dict_u64(e, "idle_connections", idle);
	merge_hist(h, offsetof(struct sl_h1_proxy, backend_total), idx);
	rte_tel_data_add_dict_u64(e, "requests", h->count);
	add_quantiles(e, "total", h);
	merge_hist(h, offsetof(struct sl_h1_proxy, backend_upstream), idx);
	add_quantiles(e, "upstream", h);
	return e;
}

/* /sluice/backends,<pool>[,<page>]: rows keyed by backend name. */
static int
cmd_backends(const char *cmd __rte_unused, const char *params,
	     struct rte_tel_data *d)
{
	const struct sl_conf *c = tel_conf();
	struct tel_page pg = { .size = BACKENDS_PAGE };
	struct sl_hist *h;
	uint16_t *idx;
	char keys[BACKENDS_PAGE][SL_NAME_MAX + 12];
	int pool;

	if (sl_upstream_tel_parse_pool_page(c, params, true, false, &pool, &pg.page, d) != 0)
		return 0;
	h = malloc(sizeof(*h));
	idx = calloc(c->pools[pool].n_backends + 1, sizeof(*idx));
	if (h == NULL || idx == NULL) {
		free(h);
		free(idx);
		return tel_error(d, "out of memory");
	}
	tel_page_set(&pg, tel_dp->n_workers ? sl_upstream_tel_pool_backends(c, (unsigned int)pool, idx) : 0);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	for (unsigned int i = pg.first; i < pg.last; i++) {
		unsigned int n = i - pg.first;

		tel_key(keys[n], sizeof(keys[n]), c->pools[pool].backends[idx[i]].name,
			idx[i]);
		/*
		 * A backend removed by a reload stays listed while it drains, and
		 * its name may come back with another address; two names may also
		 * sanitise alike. A repeated key would hide a row, so it gets the
		 * slot number (the row's "name" keeps the exact name).
		 */
		for (unsigned int k = 0; k < n; k++)
			if (strcmp(keys[k], keys[n]) == 0) {
				size_t l = strlen(keys[n]);

				snprintf(keys[n] + l, sizeof(keys[n]) - l, "_%u", idx[i]);
				break;
			}
		tel_add_row(d, keys[n], backend_row(c, (unsigned int)pool, idx[i], h));
	}
	free(idx);
	free(h);
	return 0;
}

/* ---- /sluice/latency -------------------------------------------------- */

/*
 * The histograms themselves, for Prometheus `_bucket`/`_sum`/`_count`:
 * cumulative counts at fixed bounds, one row per scope. The rows are wide
 * (2 x 17 numbers, 2.5 KB at worst), hence their own command and a small page.
 */
#define LATENCY_PAGE 5

static const uint64_t latency_bounds_us[] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000 };

static void
add_buckets(struct rte_tel_data *e, const char *phase, const struct sl_hist *h)
{
	char key[48];

	snprintf(key, sizeof(key), "%s_count", phase);
	rte_tel_data_add_dict_u64(e, key, sl_hist_total(h));
	snprintf(key, sizeof(key), "%s_sum_us", phase);
	rte_tel_data_add_dict_u64(e, key, h->sum);
	for (unsigned int i = 0; i < RTE_DIM(latency_bounds_us); i++) {
		snprintf(key, sizeof(key), "%s_le_%" PRIu64 "_us", phase,
			 latency_bounds_us[i]);
		rte_tel_data_add_dict_u64(e, key, sl_hist_count_le(h, latency_bounds_us[i]));
	}
}

/* Histogram pair `idx` (total, upstream) of the arrays at off_t / off_u. */
static struct rte_tel_data *
latency_row(const char *scope, const char *listener, const char *match,
	    const char *pool, const char *backend, size_t off_t, size_t off_u,
	    uint32_t idx, uint32_t n_idx, struct sl_hist *h)
{
	struct rte_tel_data *e = rte_tel_data_alloc();
	struct sl_hist *one = h + 1;

	if (e == NULL)
		return NULL;
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_string(e, "scope", scope);
	tel_add_str(e, "listener", listener);
	tel_add_str(e, "match", match);
	tel_add_str(e, "pool", pool);
	tel_add_str(e, "backend", backend);
	for (unsigned int k = 0; k < 2; k++) {
		size_t off = k == 0 ? off_t : off_u;

		memset(h, 0, sizeof(*h));
		/* n_idx > 1: every route of every listener, merged ("all"). */
		for (uint32_t i = idx; i < idx + n_idx; i++) {
			merge_hist(one, off, i);
			sl_hist_merge(h, one);
		}
		add_buckets(e, k == 0 ? "total" : "upstream", h);
	}
	return e;
}

struct latency_ctx {
	struct rte_tel_data *d;
	struct sl_hist *h;
};

static void
latency_backend_row(const struct sl_conf *c, unsigned int pool, unsigned int b,
		    unsigned int n, void *arg)
{
	struct latency_ctx *l = arg;
	char key[16];

	snprintf(key, sizeof(key), "%u", n);
	tel_add_row(l->d, key, latency_row("backend", "", "", c->pools[pool].name,
		c->pools[pool].backends[b].name,
		offsetof(struct sl_h1_proxy, backend_total),
		offsetof(struct sl_h1_proxy, backend_upstream),
		c->pools[pool].slot_base + b, 1, l->h));
}

static int
cmd_latency(const char *cmd __rte_unused, const char *params,
	    struct rte_tel_data *d)
{
	const size_t rt_t = offsetof(struct sl_h1_proxy, route_total);
	const size_t rt_u = offsetof(struct sl_h1_proxy, route_upstream);
	const struct sl_conf *c = tel_conf();
	struct tel_page pg = { .size = LATENCY_PAGE };
	unsigned int n = 0;
	struct sl_hist *h;
	uint16_t *idx;
	char key[16], match[600];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	h = calloc(2, sizeof(*h));
	idx = calloc(SL_CONF_MAX_BACKENDS + 1, sizeof(*idx));
	if (h == NULL || idx == NULL) {
		free(h);
		free(idx);
		return tel_error(d, "out of memory");
	}
	/* "all", every route, every listed backend (drained tombstones are not). */
	if (tel_dp->n_workers > 0) {
		n = 1;
		for (unsigned int l = 0; l < c->n_listeners; l++)
			if (c->listeners[l].mode == SL_MODE_HTTP)
				n += c->listeners[l].n_routes + 1;
		n = sl_upstream_tel_walk_backends(c, -1, NULL, n, 0, 0, idx, NULL, NULL);
	}
	tel_page_set(&pg, n);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	n = 0;
	if (pg.first == 0 && pg.last > 0) {
		uint32_t routes = sl_h1_proxy_of(tel_dp->workers[0])->n_route_hists;

		tel_add_row(d, "0", latency_row("all", "", "", "", "", rt_t, rt_u,
						0, routes, h));
	}
	n = 1;
	for (unsigned int l = 0; l < c->n_listeners && n < pg.last; l++) {
		const struct sl_conf_listener *lis = &c->listeners[l];

		if (lis->mode != SL_MODE_HTTP)
			continue;
		for (unsigned int r = 0; r <= lis->n_routes && n < pg.last; r++, n++) {
			const struct sl_conf_http_route *rt =
				r < lis->n_routes ? &lis->routes[r] : NULL;
			int pool = rt ? rt->pool : lis->pool;

			if (n < pg.first)
				continue;
			if (rt != NULL)
				snprintf(match, sizeof(match), "%s%s",
					 rt->host[0] ? rt->host : "*", rt->path_prefix);
			else
				snprintf(match, sizeof(match), "(default)");
			snprintf(key, sizeof(key), "%u", n);
			tel_add_row(d, key, latency_row("route", lis->name, match,
				pool >= 0 ? c->pools[pool].name : "", "", rt_t, rt_u,
				lis->route_base + r, 1, h));
		}
	}
	if (n < pg.last) {
		struct latency_ctx l = { .d = d, .h = h };

		sl_upstream_tel_walk_backends(c, -1, NULL, n, pg.first, pg.last, idx,
				  latency_backend_row, &l);
	}
	free(idx);
	free(h);
	return 0;
}

/* ---- /sluice/tcp ------------------------------------------------------ */

/* One lcore's TCP and L4-proxy counters, or the sum over all of them. */
static struct rte_tel_data *
tcp_dict(const struct sl_conf *c, int only)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	uint64_t px[32] = { 0 };
	uint64_t l4_active = 0, max_sessions = 0;

	if (d == NULL)
		return NULL;
	RTE_BUILD_BUG_ON(sizeof(struct sl_proxy_stats) / sizeof(uint64_t) > RTE_DIM(px));
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_lcore *lc = tel_dp->workers[w];
		const struct sl_proxy *p = sl_proxy_of(lc);
		const uint64_t *pv = (const uint64_t *)&p->stats;

		if (only >= 0 && (int)w != only)
			continue;
		for (unsigned int i = 0; i < sl_proxy_n_stats && i < RTE_DIM(px); i++)
			px[i] += TEL_LOAD(pv[i]);
		l4_active += TEL_LOAD(p->stats.l4_active);
		max_sessions += p->max_sessions;
	}
	rte_tel_data_start_dict(d);
	sl_tcp_telemetry_stats(d, only);
	for (unsigned int i = 0; i < sl_proxy_n_stats; i++)
		rte_tel_data_add_dict_u64(d, sl_proxy_stat_names[i], px[i]);
	rte_tel_data_add_dict_u64(d, "l4_active", l4_active);
	rte_tel_data_add_dict_u64(d, "l4_max_sessions", max_sessions);
	rte_tel_data_add_dict_u64(d, "mem_per_conn_bytes", sl_tcp_telemetry_conn_bytes());
	rte_tel_data_add_dict_u64(d, "mem_per_session_bytes",
				  sizeof(struct sl_l4_session));
	rte_tel_data_add_dict_u64(d, "max_conns", c->tcp.max_conns);
	return d;
}

/*
 * "total" (the sum) on every page, then a page of per-lcore dicts. The
 * count of lcores is "workers": "total" is taken by the sum.
 */
static int
cmd_tcp(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	const struct sl_conf *c = tel_conf();
	struct tel_page pg = { .size = TCP_PAGE };
	char key[32];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	tel_page_set(&pg, tel_dp->n_workers);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "workers", pg.total);
	rte_tel_data_add_dict_u64(d, "page", pg.page);
	rte_tel_data_add_dict_u64(d, "pages", (pg.total + pg.size - 1) / pg.size);
	tel_add_row(d, "total", tcp_dict(c, -1));
	for (unsigned int w = pg.first; w < pg.last; w++) {
		snprintf(key, sizeof(key), "%u", tel_dp->workers[w]->lcore_id);
		tel_add_row(d, key, tcp_dict(c, (int)w));
	}
	return 0;
}

int
sl_proxy_telemetry_register(struct sl_dp *dp __rte_unused)
{
	int rc = 0;

	rc |= tel_reg("/sluice/http", cmd_http,
		"HTTP proxy summed over workers: requests, status classes, errors, retries, shed, latency. No parameters");
	rc |= tel_reg("/sluice/routes", cmd_routes,
		"Per HTTP route and listener default: match, methods, pool, requests, latency. Param: page (16 a page)");
	rc |= tel_reg("/sluice/backends", cmd_backends,
		"Per backend of a pool: state, health, breaker, weights, gauges, outcomes, share, latency. Params: pool[,page] (8 a page)");
	rc |= tel_reg("/sluice/tcp", cmd_tcp,
		"TCP and L4 proxy counters, conns by state: \"total\" and per worker lcore. Param: page (4 lcores a page)");
	rc |= tel_reg("/sluice/latency", cmd_latency,
		"Latency histograms (all, per route, per backend): count, sum, cumulative counts at fixed us bounds. Param: page (5 a page)");
	return rc;
}
