/*
 * Telemetry of balancing and protection: /sluice/pools, /sluice/breakers,
 * /sluice/health, /sluice/events, and the live state in /sluice/backends.
 * The control thread and the workers write these with relaxed atomics (or
 * plain stores of aligned words, which cannot tear on the targets we
 * build for); a row may mix two instants, never a torn number.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_breaker.h"
#include "sl_conf.h"
#include "sl_log.h"
#include "sl_upstream.h"
#include "sl_upstream_telemetry.h"
#include "sl_telemetry.h"

/*
 * Rows a page (or a call, for events), for the worst case to stay under
 * 16 KB: a pool is about 50 fields with two 63-byte names (1.8 KB at
 * worst, counters at 20 digits), a breaker row 22
 * (0.7 KB), a health row 17 with a 127-byte path (0.6 KB), an event 8
 * with 200 bytes of text (0.45 KB, 0.65 KB if every character of the text
 * needs an escape).
 */
#define POOLS_PAGE 8
#define BREAKERS_PAGE 20
#define HEALTH_PAGE 20

static struct sl_dp *ldp;

/*
 * Health as the checks know it: "unknown" when the pool has no health
 * check (nothing says the backend is up; only traffic can tell).
 */
static const char *
health_name(const struct sl_conf *c, unsigned int pool, unsigned int h)
{
	if (!c->pools[pool].health.enabled)
		return "unknown";
	return h == SL_UP_HEALTH_DOWN ? "down" : "up";
}

/* What an operator (or a reload) made of it; "drained" once idle. */
static const char *
admin_name(const struct sl_up_backend *b)
{
	if (TEL_LOAD(b->drained))
		return "drained";
	return sl_up_admin_name((enum sl_up_admin)TEL_LOAD(b->admin));
}

/* One word for an operator: what the balancer makes of this backend. */
static const char *
state_name(const struct sl_up_pool *p, const struct sl_up_backend *b)
{
	if (TEL_LOAD(b->admin) != SL_UP_ADMIN_ENABLED)
		return admin_name(b);
	if (TEL_LOAD(b->weight) == 0)
		return "disabled";
	if (TEL_LOAD(b->health) == SL_UP_HEALTH_DOWN)
		return TEL_LOAD(p->panic) ? "down_panic_routed" : "down";
	if (TEL_LOAD(b->ejected))
		return TEL_LOAD(p->panic) ? "ejected_panic_routed" : "ejected";
	if (TEL_LOAD(b->breaker) == SL_BREAKER_OPEN)
		return "breaker_open";
	if (TEL_LOAD(b->breaker) == SL_BREAKER_HALF_OPEN)
		return "breaker_half_open";
	if (TEL_LOAD(b->ready_since_ms) != 0)
		return "slow_start";
	return "healthy";
}

/*
 * The one definition of a healthy backend, for /sluice/pools' "healthy"
 * (and so sluicectl status, top and the exporter): in rotation, that is
 * STATE healthy or slow_start: enabled (not drained, maintenance or
 * removed), weight > 0, health not down, not ejected, breaker closed.
 */
static bool
in_rotation(const struct sl_up_pool *p, const struct sl_up_backend *b)
{
	const char *s = state_name(p, b);

	return strcmp(s, "healthy") == 0 || strcmp(s, "slow_start") == 0;
}

/*
 * A backend's last_health is a text the control thread rewrites in place
 * with snprintf after each check, under no lock (and telemetry must not
 * make the control thread wait for a reader anyway). The writer bumps the
 * check counter just before it writes the text, so: read the counter, copy
 * the text twice, read the counter again, and keep the copy only when both
 * copies agree and the counter did not move; otherwise try again. What can
 * still slip through is a copy taken while the writer was descheduled in
 * the middle of its snprintf for the whole of both copies: then the text
 * may mix two consecutive verdicts. The structured fields next to it
 * (state, passes and fails in a row) are the authority; the text explains.
 */
static void
copy_volatile_str(char *out, size_t len, const char *src, size_t src_len,
		      const uint64_t *version)
{
	char a[64], b[64];
	size_t n = RTE_MIN(RTE_MIN(src_len, sizeof(a)), len);

	for (int tries = 0; tries < 8; tries++) {
		uint64_t v1 = __atomic_load_n(version, __ATOMIC_ACQUIRE);

		for (size_t i = 0; i < n; i++)
			a[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		for (size_t i = 0; i < n; i++)
			b[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (memcmp(a, b, n) == 0 && __atomic_load_n(version, __ATOMIC_RELAXED) == v1)
			break;
		snprintf(a, sizeof(a), "(changing)");
		n = RTE_MIN(sizeof("(changing)"), len);
	}
	/* NUL-terminate, and keep only printable ASCII (DPDK mangles the rest). */
	for (size_t i = 0; i < n; i++) {
		if (a[i] == '\0') {
			n = i;
			break;
		}
		if (a[i] < 0x20 || a[i] > 0x7e)
			a[i] = '?';
	}
	n = RTE_MIN(n, len - 1);
	memcpy(out, a, n);
	out[n] = '\0';
}

static void
last_health(const struct sl_up_backend *b, char *out, size_t len)
{
	copy_volatile_str(out, len, b->last_health, sizeof(b->last_health),
			      &b->health_checks);
}

bool
sl_upstream_tel_pool_listed(const struct sl_conf *c, unsigned int pool)
{
	return pool < c->n_pools && pool < TEL_LOAD(ldp->up->n_pools) &&
	       !c->pools[pool].removed;
}

unsigned int
sl_upstream_tel_pool_backends(const struct sl_conf *c, unsigned int pool, uint16_t *idx)
{
	const struct sl_up_pool *p = &ldp->up->pools[pool];
	unsigned int n = 0, max = RTE_MIN(c->pools[pool].n_backends, TEL_LOAD(p->n));

	for (unsigned int b = 0; b < max; b++)
		if (!(c->pools[pool].backends[b].removed && TEL_LOAD(p->b[b].drained)))
			idx[n++] = (uint16_t)b;
	return n;
}

unsigned int
sl_upstream_tel_walk_backends(const struct sl_conf *c, int only, sl_upstream_tel_pool_filter keep,
		  unsigned int n, unsigned int first, unsigned int last,
		  uint16_t *idx, sl_upstream_tel_backend_row emit, void *arg)
{
	for (unsigned int p = 0; p < c->n_pools; p++) {
		unsigned int cnt;

		if (only >= 0 ? (int)p != only :
		    !sl_upstream_tel_pool_listed(c, p) || (keep != NULL && !keep(c, p)))
			continue;
		cnt = sl_upstream_tel_pool_backends(c, p, idx);
		if (emit == NULL || n + cnt <= first || n >= last) {
			n += cnt;
			continue;
		}
		for (unsigned int k = 0; k < cnt; k++, n++)
			if (n >= first && n < last)
				emit(c, p, idx[k], n, arg);
	}
	return n;
}

static int
find_pool(const struct sl_conf *c, const char *name, size_t len)
{
	for (unsigned int p = 0; p < c->n_pools; p++)
		if (sl_upstream_tel_pool_listed(c, p) && strlen(c->pools[p].name) == len &&
		    memcmp(c->pools[p].name, name, len) == 0)
			return (int)p;
	return -1;
}

int
sl_upstream_tel_parse_pool_page(const struct sl_conf *c, const char *params, bool required,
		    bool any_ok, int *pool, unsigned int *page, struct rte_tel_data *d)
{
	const char *comma;
	size_t len;

	*pool = -1;
	*page = 0;
	if (params == NULL || *params == '\0') {
		if (!required)
			return 0;
		return tel_error(d, "a pool name is required, e.g. %s",
				 c->n_pools ? c->pools[0].name : "web"), -1;
	}
	*pool = find_pool(c, params, strlen(params));
	if (*pool >= 0)
		return 0;
	/* A bare number: a page of every pool (no pool has that name). */
	if (any_ok && params[strspn(params, "0123456789")] == '\0')
		return tel_parse_page(params, page, d);
	comma = strrchr(params, ',');
	len = comma ? (size_t)(comma - params) : strlen(params);
	if (comma != NULL && tel_parse_page(comma + 1, page, d) != 0)
		return -1;
	if (any_ok && len == 1 && params[0] == '*')
		return 0;
	*pool = find_pool(c, params, len);
	if (*pool < 0)
		return tel_error(d, "no pool named \"%.*s\"%s", (int)RTE_MIN(len, 64u),
				 params, any_ok ? " (\"*\" = every pool)" : ""), -1;
	return 0;
}

static const char *
rc_cause_name(unsigned int cause)
{
	return cause == SL_LB_RC_SKEW ? "skew" :
	       cause == SL_LB_RC_SATURATED ? "saturated" : "none";
}

static uint64_t
permille(const double *v)
{
	double x = tel_load_double(v);

	return x > 0 ? (uint64_t)(x * 1000 + 0.5) : 0;
}

void
sl_upstream_tel_backend_state(struct rte_tel_data *e, const struct sl_conf *c,
		     unsigned int pool, unsigned int i)
{
	const struct sl_up_pool *p = &ldp->up->pools[pool];
	const struct sl_up_backend *b = &p->b[i];
	const struct sl_lb_imbalance *im = p->imb;
	const struct sl_lb_rc *rc = p->rc;
	double dev;
	char text[64];

	rte_tel_data_add_dict_string(e, "state", state_name(p, b));
	rte_tel_data_add_dict_string(e, "admin", admin_name(b));
	rte_tel_data_add_dict_string(e, "health",
				     health_name(c, pool, TEL_LOAD(b->health)));
	last_health(b, text, sizeof(text));
	rte_tel_data_add_dict_string(e, "last_health_check", text);
	rte_tel_data_add_dict_u64(e, "ejected", TEL_LOAD(b->ejected));
	rte_tel_data_add_dict_string(e, "breaker",
				     sl_breaker_state_name(TEL_LOAD(b->breaker)));
	rte_tel_data_add_dict_u64(e, "effective_weight", TEL_LOAD(b->eff_weight));
	rte_tel_data_add_dict_u64(e, "active_connections", TEL_LOAD(b->conns));
	rte_tel_data_add_dict_u64(e, "pending", TEL_LOAD(b->pending));
	rte_tel_data_add_dict_u64(e, "inflight", TEL_LOAD(b->inflight));
	rte_tel_data_add_dict_u64(e, "retries_active", TEL_LOAD(b->retries));
	rte_tel_data_add_dict_u64(e, "outcomes", TEL_LOAD(b->requests));
	rte_tel_data_add_dict_u64(e, "status_2xx", TEL_LOAD(b->status_2xx));
	rte_tel_data_add_dict_u64(e, "status_3xx", TEL_LOAD(b->status_3xx));
	rte_tel_data_add_dict_u64(e, "status_4xx", TEL_LOAD(b->status_4xx));
	rte_tel_data_add_dict_u64(e, "status_5xx", TEL_LOAD(b->status_5xx));
	rte_tel_data_add_dict_u64(e, "fail_status", TEL_LOAD(b->fail_status));
	rte_tel_data_add_dict_u64(e, "fail_connect", TEL_LOAD(b->fail_connect));
	rte_tel_data_add_dict_u64(e, "fail_reset", TEL_LOAD(b->fail_reset));
	rte_tel_data_add_dict_u64(e, "fail_timeout", TEL_LOAD(b->fail_timeout));
	rte_tel_data_add_dict_u64(e, "health_checks", TEL_LOAD(b->health_checks));
	rte_tel_data_add_dict_u64(e, "health_failures", TEL_LOAD(b->health_failures));
	rte_tel_data_add_dict_u64(e, "breaker_opens", TEL_LOAD(b->breaker_opens));
	rte_tel_data_add_dict_u64(e, "ejections", TEL_LOAD(b->ejections));
	/* Shares over the imbalance window, in per mille. */
	rte_tel_data_add_dict_u64(e, "share_permille",
				  (uint64_t)(tel_load_double(&im->share[i]) * 1000 + 0.5));
	rte_tel_data_add_dict_u64(e, "expected_share_permille",
				  (uint64_t)(tel_load_double(&im->expected[i]) * 1000 + 0.5));
	dev = tel_load_double(&im->deviation[i]);
	rte_tel_data_add_dict_int(e, "deviation_pct",
				  (int)(dev * 100 + (dev < 0 ? -0.5 : 0.5)));
	rte_tel_data_add_dict_u64(e, "inflight_share_permille",
				  (uint64_t)(tel_load_double(&p->load->share[i]) * 1000 + 0.5));
	dev = tel_load_double(&p->load->deviation[i]);
	rte_tel_data_add_dict_int(e, "inflight_deviation_pct",
				  (int)(dev * 100 + (dev < 0 ? -0.5 : 0.5)));
	/* Declared capacity (0 = none: as its peers) and what the root-cause
	 * alarm makes of the configured weights against it. */
	rte_tel_data_add_dict_u64(e, "capacity", c->pools[pool].backends[i].capacity);
	/* Learned on the control thread (lb_capacity.c); 0 = unknown yet. */
	rte_tel_data_add_dict_u64(e, "capacity_learned", TEL_LOAD(b->capacity_learned));
	/* Adaptive concurrency limit (lb_concurrency.c); 0 = none. */
	rte_tel_data_add_dict_u64(e, "concurrency_limit", TEL_LOAD(b->conc_limit));
	/* Slow without errors (lb_slow.c): limit and share lowered. */
	rte_tel_data_add_dict_u64(e, "concurrency_passed", TEL_LOAD(b->conc_passed));
	rte_tel_data_add_dict_u64(e, "slow", TEL_LOAD(b->slow));
	rte_tel_data_add_dict_u64(e, "slow_entries", TEL_LOAD(b->slow_entries));
	rte_tel_data_add_dict_u64(e, "configured_share_permille", permille(&rc->share[i]));
	rte_tel_data_add_dict_u64(e, "capacity_share_permille", permille(&rc->cap_share[i]));
	rte_tel_data_add_dict_u64(e, "capacity_skew_permille", permille(&rc->ratio[i]));
	snprintf(text, sizeof(text), "%.1f", tel_load_double(&rc->inflight[i]));
	rte_tel_data_add_dict_string(e, "inflight_avg", text);
	rte_tel_data_add_dict_u64(e, "rootcause_alarm",
				  TEL_LOAD(rc->cause_of[i]) != SL_LB_RC_NONE);
	rte_tel_data_add_dict_string(e, "rootcause",
				     rc_cause_name(TEL_LOAD(rc->cause_of[i])));
}

/* ---- /sluice/pools ---------------------------------------------------- */

static const char *const policy_names[] = { "round_robin", "least_request",
	"maglev", "random" };

static void
add_ratio(struct rte_tel_data *e, const char *key, const double *v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.3f", tel_load_double(v));
	rte_tel_data_add_dict_string(e, key, buf);
}

static struct rte_tel_data *
pool_row(const struct sl_conf *c, unsigned int i, uint16_t *idx)
{
	const struct sl_conf_pool *cp = &c->pools[i];
	const struct sl_up_pool *p = &ldp->up->pools[i];
	struct rte_tel_data *e = rte_tel_data_alloc();
	unsigned int n, down = 0, ejected = 0, open = 0, healthy = 0;
	char buf[48];

	if (e == NULL)
		return NULL;
	n = sl_upstream_tel_pool_backends(c, i, idx);
	for (unsigned int k = 0; k < n; k++) {
		const struct sl_up_backend *b = &p->b[idx[k]];

		down += TEL_LOAD(b->health) == SL_UP_HEALTH_DOWN;
		ejected += TEL_LOAD(b->ejected) != 0;
		open += TEL_LOAD(b->breaker) != SL_BREAKER_CLOSED;
		healthy += in_rotation(p, b);
	}
	rte_tel_data_start_dict(e);
	tel_add_str(e, "name", cp->name);
	rte_tel_data_add_dict_string(e, "policy", policy_names[cp->policy]);
	rte_tel_data_add_dict_u64(e, "backends", n);
	rte_tel_data_add_dict_u64(e, "healthy", healthy);
	rte_tel_data_add_dict_u64(e, "backends_down", down);
	rte_tel_data_add_dict_u64(e, "backends_ejected", ejected);
	rte_tel_data_add_dict_u64(e, "breakers_not_closed", open);
	rte_tel_data_add_dict_u64(e, "panic", TEL_LOAD(p->panic));
	rte_tel_data_add_dict_u64(e, "panic_entries", TEL_LOAD(p->panic_entries));
	rte_tel_data_add_dict_u64(e, "active_connections", TEL_LOAD(p->conns));
	rte_tel_data_add_dict_u64(e, "pending", TEL_LOAD(p->pending));
	rte_tel_data_add_dict_u64(e, "inflight", TEL_LOAD(p->inflight));
	rte_tel_data_add_dict_u64(e, "retries_active", TEL_LOAD(p->retries));
	rte_tel_data_add_dict_u64(e, "retries", TEL_LOAD(p->retries_total));
	/* Requests that went to another backend because one was at its
	 * concurrency limit; those shed when all were: refused_concurrency. */
	rte_tel_data_add_dict_u64(e, "concurrency_spilled", TEL_LOAD(p->conc_spilled));
	rte_tel_data_add_dict_u64(e, "concurrency_over", TEL_LOAD(p->conc_over));
	for (unsigned int r = 0; r < SL_UP_REFUSE_MAX; r++) {
		snprintf(buf, sizeof(buf), "refused_%s", sl_up_refusal_names[r]);
		rte_tel_data_add_dict_u64(e, buf, TEL_LOAD(p->refused[r]));
	}
	/* Failed attempts not retried, by why: each asks for its own remedy. */
	for (unsigned int r = 0; r < SL_UP_RETRY_REFUSE_MAX; r++) {
		snprintf(buf, sizeof(buf), "retry_refused_%s",
			 sl_up_retry_refusal_names[r]);
		rte_tel_data_add_dict_u64(e, buf, TEL_LOAD(p->retry_refused[r]));
	}
	rte_tel_data_add_dict_u64(e, "retry_budget",
				  (uint64_t)RTE_MAX(TEL_LOAD(p->retry_tokens), 0) /
				  SL_UP_RETRY_TOKEN);
	/* Ejections that max_ejection_pct refused: the pool ran out of spares. */
	rte_tel_data_add_dict_u64(e, "ejections_suppressed",
				  TEL_LOAD(p->outlier->suppressed));
	add_ratio(e, "imbalance_ratio", &p->imb_ratio);
	add_ratio(e, "imbalance_worst_deviation", &p->imb_worst_deviation);
	rte_tel_data_add_dict_u64(e, "imbalance_window_requests",
				  TEL_LOAD(p->imb->window_requests));
	rte_tel_data_add_dict_u64(e, "imbalance_alarm", TEL_LOAD(p->imb_alarm));
	rte_tel_data_add_dict_u64(e, "imbalance_alarms", TEL_LOAD(p->imb_alarms));
	add_ratio(e, "load_imbalance_ratio", &p->load_ratio);
	add_ratio(e, "load_imbalance_worst_deviation", &p->load_worst_deviation);
	rte_tel_data_add_dict_u64(e, "load_imbalance_alarm", TEL_LOAD(p->load_alarm));
	rte_tel_data_add_dict_u64(e, "load_imbalance_alarms", TEL_LOAD(p->load_alarms));
	{
		int32_t rb = TEL_LOAD(p->rc_backend);

		rte_tel_data_add_dict_u64(e, "rootcause_alarm", TEL_LOAD(p->rc_alarm));
		rte_tel_data_add_dict_u64(e, "rootcause_alarms", TEL_LOAD(p->rc_alarms));
		tel_add_str(e, "rootcause_backend", rb >= 0 && (unsigned int)rb <
			    cp->n_backends ? cp->backends[rb].name : "");
		rte_tel_data_add_dict_string(e, "rootcause",
					     rc_cause_name(TEL_LOAD(p->rc_cause)));
	}
	return e;
}

/* /sluice/pools[,<page>]: rows keyed by pool name. */
static int
cmd_pools(const char *cmd __rte_unused, const char *params,
	  struct rte_tel_data *d)
{
	const struct sl_conf *c = tel_conf();
	struct tel_page pg = { .size = POOLS_PAGE };
	unsigned int n = 0, *pools = calloc(c->n_pools + 1, sizeof(*pools));
	uint16_t *idx = calloc(SL_CONF_MAX_BACKENDS + 1, sizeof(*idx));
	char key[SL_NAME_MAX + 12];

	if (pools == NULL || idx == NULL || tel_parse_page(params, &pg.page, d) != 0) {
		if (pools == NULL || idx == NULL)
			tel_error(d, "out of memory");
		free(pools);
		free(idx);
		return 0;
	}
	for (unsigned int i = 0; i < c->n_pools; i++)
		if (sl_upstream_tel_pool_listed(c, i))
			pools[n++] = i;
	tel_page_set(&pg, n);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	for (unsigned int k = pg.first; k < pg.last; k++) {
		tel_key(key, sizeof(key), c->pools[pools[k]].name, pools[k]);
		tel_add_row(d, key, pool_row(c, pools[k], idx));
	}
	free(pools);
	free(idx);
	return 0;
}

/* ---- rows over (pool, backend) pairs: breakers and health ------------- */

typedef struct rte_tel_data *(*backend_rower)(const struct sl_conf *c,
					       unsigned int pool, unsigned int b,
					       uint64_t now);

struct table_ctx {
	struct rte_tel_data *d;
	backend_rower row;
	uint64_t now;
};

static void
table_row(const struct sl_conf *c, unsigned int pool, unsigned int b,
	  unsigned int n, void *arg)
{
	struct table_ctx *t = arg;
	char key[16];

	snprintf(key, sizeof(key), "%u", n);
	tel_add_row(t->d, key, t->row(c, pool, b, t->now));
}

/*
 * One numbered row per backend of the chosen pool, or of every listed pool
 * the filter keeps; the numbers run over that whole list, so they stay the
 * same from page to page.
 */
static int
pool_backend_table(const char *params, unsigned int page_size, sl_upstream_tel_pool_filter keep,
		   backend_rower row, struct rte_tel_data *d)
{
	const struct sl_conf *c = tel_conf();
	struct tel_page pg = { .size = page_size };
	struct table_ctx t = { .d = d, .row = row, .now = sl_up_now_ms() };
	uint16_t *idx;
	int only;

	if (sl_upstream_tel_parse_pool_page(c, params, false, true, &only, &pg.page, d) != 0)
		return 0;
	idx = calloc(SL_CONF_MAX_BACKENDS + 1, sizeof(*idx));
	if (idx == NULL)
		return tel_error(d, "out of memory");
	tel_page_set(&pg, sl_upstream_tel_walk_backends(c, only, keep, 0, 0, 0, idx, NULL, NULL));
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	sl_upstream_tel_walk_backends(c, only, keep, 0, pg.first, pg.last, idx, table_row, &t);
	free(idx);
	return 0;
}

static uint64_t
ms_since(uint64_t then, uint64_t now)
{
	return now > then ? now - then : 0;
}

/*
 * A backend's breaker and outlier detector. The control thread alone
 * writes both; telemetry reads aligned words with relaxed loads.
 */
static struct rte_tel_data *
breaker_row(const struct sl_conf *c, unsigned int pool, unsigned int b, uint64_t now)
{
	const struct sl_up_pool *p = &ldp->up->pools[pool];
	const struct sl_breaker *br = &p->brk[b];
	const struct sl_outlier_host *oh = &p->outlier->host[b];
	struct rte_tel_data *e = rte_tel_data_alloc();
	uint64_t req = 0, fail = 0, until;
	unsigned int state = TEL_LOAD(p->b[b].breaker);

	if (e == NULL)
		return NULL;
	for (unsigned int k = 0; k < SL_BREAKER_BUCKETS; k++) {
		req += TEL_LOAD(br->req[k]);
		fail += TEL_LOAD(br->fail[k]);
	}
	rte_tel_data_start_dict(e);
	tel_add_str(e, "pool", c->pools[pool].name);
	tel_add_str(e, "backend", c->pools[pool].backends[b].name);
	rte_tel_data_add_dict_string(e, "state", sl_breaker_state_name(state));
	rte_tel_data_add_dict_u64(e, "consecutive_failures", TEL_LOAD(br->consecutive));
	rte_tel_data_add_dict_u64(e, "window_requests", req);
	rte_tel_data_add_dict_u64(e, "window_failures", fail);
	rte_tel_data_add_dict_u64(e, "cooldown_ms", TEL_LOAD(br->cooldown_cur_ms));
	rte_tel_data_add_dict_u64(e, "open_for_ms", state == SL_BREAKER_CLOSED ? 0 :
				  ms_since(TEL_LOAD(br->opened_ms), now));
	rte_tel_data_add_dict_u64(e, "reopenings", TEL_LOAD(br->reopenings));
	rte_tel_data_add_dict_u64(e, "probes_left",
				  (uint64_t)RTE_MAX(TEL_LOAD(p->b[b].probes), 0));
	rte_tel_data_add_dict_u64(e, "probes_out", TEL_LOAD(br->probes_out));
	rte_tel_data_add_dict_u64(e, "opens", TEL_LOAD(p->b[b].breaker_opens));
	/* Outlier ejection. */
	until = TEL_LOAD(oh->ejected_until_ms);
	rte_tel_data_add_dict_u64(e, "ejected", TEL_LOAD(p->b[b].ejected));
	rte_tel_data_add_dict_u64(e, "ejected_ms_left",
				  TEL_LOAD(p->b[b].ejected) && until > now ? until - now : 0);
	rte_tel_data_add_dict_u64(e, "times_ejected", TEL_LOAD(oh->times_ejected));
	rte_tel_data_add_dict_u64(e, "consecutive_5xx", TEL_LOAD(oh->consecutive_5xx));
	rte_tel_data_add_dict_u64(e, "consecutive_gateway",
				  TEL_LOAD(oh->consecutive_gateway));
	rte_tel_data_add_dict_u64(e, "interval_requests", TEL_LOAD(oh->sr_requests));
	rte_tel_data_add_dict_u64(e, "interval_successes", TEL_LOAD(oh->sr_success));
	rte_tel_data_add_dict_u64(e, "ejections", TEL_LOAD(p->b[b].ejections));
	return e;
}

/* /sluice/breakers[,<pool>|*[,<page>]] */
static int
cmd_breakers(const char *cmd __rte_unused, const char *params,
	     struct rte_tel_data *d)
{
	return pool_backend_table(params, BREAKERS_PAGE, NULL, breaker_row, d);
}

/* ---- /sluice/health --------------------------------------------------- */

static bool
pool_checked(const struct sl_conf *c, unsigned int pool)
{
	return c->pools[pool].health.enabled;
}

static struct rte_tel_data *
health_row(const struct sl_conf *c, unsigned int pool, unsigned int i, uint64_t now)
{
	const struct sl_conf_pool *cp = &c->pools[pool];
	const struct sl_conf_health *hc = &cp->health;
	const struct sl_up_backend *b = &ldp->up->pools[pool].b[i];
	struct rte_tel_data *e = rte_tel_data_alloc();
	uint64_t checks = TEL_LOAD(b->health_checks);
	char text[RTE_TEL_MAX_STRING_LEN];

	if (e == NULL)
		return NULL;
	rte_tel_data_start_dict(e);
	tel_add_str(e, "pool", cp->name);
	tel_add_str(e, "backend", cp->backends[i].name);
	rte_tel_data_add_dict_u64(e, "enabled", hc->enabled);
	rte_tel_data_add_dict_string(e, "kind", !hc->enabled ? "none" :
				     hc->http ? "http" : "tcp");
	tel_add_str(e, "path", hc->enabled && hc->http ? hc->path : "");
	rte_tel_data_add_dict_u64(e, "interval_ms", hc->interval_ms);
	rte_tel_data_add_dict_u64(e, "timeout_ms", hc->timeout_ms);
	rte_tel_data_add_dict_u64(e, "rise", hc->rise);
	rte_tel_data_add_dict_u64(e, "fall", hc->fall);
	rte_tel_data_add_dict_string(e, "state",
				     health_name(c, pool, TEL_LOAD(b->health)));
	rte_tel_data_add_dict_u64(e, "passes_in_row", TEL_LOAD(b->hc_pass));
	rte_tel_data_add_dict_u64(e, "fails_in_row", TEL_LOAD(b->hc_fail));
	rte_tel_data_add_dict_u64(e, "checks", checks);
	rte_tel_data_add_dict_u64(e, "failures", TEL_LOAD(b->health_failures));
	last_health(b, text, sizeof(text));
	rte_tel_data_add_dict_string(e, "last_result", text);
	/* Both on the control thread's monotonic clock (sl_up_now_ms). */
	rte_tel_data_add_dict_u64(e, "last_check_age_ms", checks == 0 ? 0 :
				  ms_since(TEL_LOAD(b->last_health_ms), now));
	return e;
}

/* /sluice/health[,<pool>|*[,<page>]] */
static int
cmd_health(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	return pool_backend_table(params, HEALTH_PAGE, pool_checked, health_row, d);
}

/* ---- /sluice/set_weight ----------------------------------------------- */

/* /sluice/set_weight,<pool>,<backend>,<weight> */
static int
cmd_set_weight(const char *cmd __rte_unused, const char *params,
	       struct rte_tel_data *d)
{
	char buf[256], err[160], *pool, *backend, *w, *end;
	long weight;

	snprintf(buf, sizeof(buf), "%s", params ? params : "");
	pool = strtok(buf, ",");
	backend = pool ? strtok(NULL, ",") : NULL;
	w = backend ? strtok(NULL, ",") : NULL;
	if (w == NULL)
		return tel_error(d, "usage: /sluice/set_weight,<pool>,<backend>,<weight 0-1000>");
	weight = strtol(w, &end, 10);
	if (*end != '\0' || end == w)
		return tel_error(d, "weight must be an integer");
	if (sl_upstream_set_weight(ldp->up, pool, backend, weight, err, sizeof(err)) != 0)
		return tel_error(d, "%s", err);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "pool", pool);
	rte_tel_data_add_dict_string(d, "backend", backend);
	rte_tel_data_add_dict_u64(d, "weight", (uint64_t)weight);
	rte_tel_data_add_dict_string(d, "status", "applied within milliseconds; see /sluice/events");
	return 0;
}

int
sl_upstream_telemetry_register(struct sl_dp *dp)
{
	int rc = 0;

	ldp = dp;
	if (dp->up == NULL || dp->events == NULL)
		return -EINVAL;
	rc |= tel_reg("/sluice/pools", cmd_pools,
		"Per pool: policy, health counts, panic, gauges, retries, refusals, imbalance. Param: page (8 a page)");
	rc |= tel_reg("/sluice/breakers", cmd_breakers,
		"Breaker and outlier state per backend: state, failures, cooldown, probes, ejection. Params: [pool|*][,page] (20 a page)");
	rc |= tel_reg("/sluice/health", cmd_health,
		"Health checks per backend: kind, interval, state, in a row, totals, last result and age. Params: [pool|*][,page] (20 a page)");
	rc |= tel_reg("/sluice/set_weight", cmd_set_weight,
		"Change a backend's weight (0-1000), logged as an event. Parameters: pool,backend,weight");
	return rc;
}
