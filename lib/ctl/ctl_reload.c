/*
 * Hot reload: validate, merge, build a generation, hand it to the upstream
 * control thread, publish it to the workers through RCU, and keep the
 * previous config for a one-command rollback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "sl_conf.h"
#include "sl_ctl.h"
#include "sl_event.h"
#include "sl_log.h"
#include "sl_route.h"
#include "sl_upstream.h"
#include "ctl_private.h"

struct ctl_state ctl = { .lock = PTHREAD_MUTEX_INITIALIZER };
static void (*reader_sync)(void);

void
sl_ctl_set_reader_sync(void (*sync)(void))
{
	reader_sync = sync;
}

static uint64_t
wall_unix(void)
{
	return (uint64_t)time(NULL);
}

static void
gen_free(struct sl_gen *g)
{
	if (g == NULL)
		return;
	for (unsigned int i = 0; g->routes != NULL && i < g->conf->n_listeners; i++)
		sl_route_free(g->routes[i]);
	free(g->routes);
	sl_conf_free((struct sl_conf *)(uintptr_t)g->conf);
	free(g);
}

/* Route tables are compiled here, off the fast path, once for all workers. */
static struct sl_gen *
gen_build(struct sl_conf *conf)
{
	struct sl_gen *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->conf = conf;
	g->routes = calloc(conf->n_listeners + 1, sizeof(*g->routes));
	if (g->routes == NULL)
		goto fail;
	for (unsigned int i = 0; i < conf->n_listeners; i++) {
		if (conf->listeners[i].mode != SL_MODE_HTTP)
			continue;
		g->routes[i] = sl_route_compile(&conf->listeners[i]);
		if (g->routes[i] == NULL)
			goto fail;
	}
	return g;
fail:
	g->conf = conf;
	if (g->routes != NULL)
		for (unsigned int i = 0; i < conf->n_listeners; i++)
			sl_route_free(g->routes[i]);
	free(g->routes);
	free(g);
	return NULL;
}

static char *
read_file(const char *path, size_t *len, char *err, size_t elen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		snprintf(err, elen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    n <= 16 * 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	if (buf == NULL)
		snprintf(err, elen, "cannot read %s (or larger than 16 MiB)", path);
	fclose(f);
	return buf;
}

int
sl_ctl_init(struct sl_dp *dp, struct sl_conf *conf, bool strict, char *err,
	    size_t len)
{
	unsigned int n = RTE_MAX(rte_lcore_count(), 1u);
	size_t sz = rte_rcu_qsbr_get_memsize(n);

	ctl.strict = strict;
	snprintf(ctl.path, sizeof(ctl.path), "%s", conf->path);
	ctl.text = read_file(conf->path, &ctl.len, err, len);
	if (ctl.text == NULL)
		return -1;
	snprintf(ctl.source, sizeof(ctl.source), "start-up");
	ctl.loaded_unix = wall_unix();
	dp->qsbr = rte_zmalloc("sl_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->qsbr == NULL || rte_rcu_qsbr_init(dp->qsbr, n) != 0) {
		snprintf(err, len, "cannot create the RCU state: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	ctl.cur = gen_build(conf);
	if (ctl.cur == NULL) {
		snprintf(err, len, "out of memory compiling the route tables");
		return -1;
	}
	dp->conf = conf;
	dp->gen = ctl.cur;
	return 0;
}

void
sl_ctl_free(struct sl_dp *dp)
{
	gen_free(ctl.retired);
	gen_free(ctl.cur);
	ctl.retired = ctl.cur = NULL;
	free(ctl.text);
	free(ctl.prev_text);
	ctl.text = ctl.prev_text = NULL;
	rte_free(dp->qsbr);
	dp->qsbr = NULL;
	dp->gen = NULL;
	dp->conf = NULL;
}

const char *
sl_ctl_outcome_name(enum sl_ctl_outcome o)
{
	switch (o) {
	case SL_CTL_APPLIED: return "applied";
	case SL_CTL_UNCHANGED: return "unchanged";
	case SL_CTL_REJECTED: return "rejected";
	}
	return "?";
}

void
sl_ctl_result_free(struct sl_ctl_result *res)
{
	sl_conf_diag_free(&res->diag);
}

static void
result_running(struct sl_ctl_result *res, enum sl_ctl_outcome o)
{
	res->outcome = o;
	res->generation = ctl.cur->conf->generation;
	snprintf(res->sha256_hex, sizeof(res->sha256_hex), "%s",
		 ctl.cur->conf->sha256_hex);
}

/* What a merged config changes against the running one, in a few words. */
static void
describe(const struct sl_conf *a, const struct sl_conf *b, char *out, size_t len)
{
	unsigned int pools_add = 0, pools_del = 0, be_add = 0, be_del = 0;
	unsigned int weights = 0, listeners = 0;

	for (unsigned int p = 0; p < b->n_pools; p++) {
		const struct sl_conf_pool *np = &b->pools[p];
		const struct sl_conf_pool *op = p < a->n_pools ? &a->pools[p] : NULL;

		if (op == NULL || (op->removed && !np->removed)) {
			pools_add++;
			be_add += np->n_backends;
			continue;
		}
		if (np->removed && !op->removed)
			pools_del++;
		for (unsigned int i = 0; i < np->n_backends; i++) {
			const struct sl_conf_backend *nb = &np->backends[i];
			const struct sl_conf_backend *ob = i < op->n_backends ?
							   &op->backends[i] : NULL;

			if (ob == NULL || (ob->removed && !nb->removed))
				be_add++;
			else if (nb->removed && !ob->removed)
				be_del++;
			else if (!nb->removed && nb->weight != ob->weight)
				weights++;
		}
	}
	for (unsigned int l = 0; l < b->n_listeners; l++) {
		const struct sl_conf_listener *x = &a->listeners[l], *y = &b->listeners[l];
		bool same = x->n_routes == y->n_routes && x->pool == y->pool;

		for (unsigned int r = 0; same && r < x->n_routes; r++)
			same = strcmp(x->routes[r].host, y->routes[r].host) == 0 &&
			       strcmp(x->routes[r].path_prefix, y->routes[r].path_prefix) == 0 &&
			       x->routes[r].pool == y->routes[r].pool &&
			       x->routes[r].methods == y->routes[r].methods;
		listeners += !same;
	}
	snprintf(out, len, "pools +%u -%u, backends +%u -%u, %u weight change(s), "
		 "routes changed on %u listener(s)", pools_add, pools_del, be_add,
		 be_del, weights, listeners);
}

static void
reject_event(struct sl_dp *dp, const char *who, struct sl_ctl_result *res)
{
	const struct sl_conf_msg *first = NULL;

	for (unsigned int i = 0; i < res->diag.n_msgs && first == NULL; i++)
		if (!res->diag.msgs[i].warning)
			first = &res->diag.msgs[i];
	if (first == NULL && res->diag.n_msgs > 0)
		first = &res->diag.msgs[0];
	sl_event_add(dp->events, "config", NULL, NULL,
		     "%s rejected: %u error(s)%s%s%s%s; generation %llu keeps running",
		     who, res->diag.n_errors + (ctl.strict ? res->diag.n_warnings : 0),
		     first ? ", first at " : "", first ? first->pointer : "",
		     first ? ": " : "", first ? first->text : "",
		     (unsigned long long)ctl.cur->conf->generation);
}

/* The upstream control thread takes the new config before any worker does. */
static void
upstream_handover(struct sl_dp *dp, const struct sl_conf *merged)
{
	sl_upstream_apply(dp->up, merged);
	if (!dp->up->started) {
		sl_upstream_step(dp->up, sl_up_now_ms());
		return;
	}
	/* It steps every 2 ms and never blocks: this wait is short. */
	while (!sl_upstream_applied(dp->up, merged->generation))
		usleep(500);
}

void
ctl_apply_text(struct sl_dp *dp, const char *text, size_t len, const char *source,
	       const char *who, struct sl_ctl_result *res)
{
	struct sl_conf *next, *merged;
	struct sl_gen *g;
	char *copy;

	memset(res, 0, sizeof(*res));
	next = sl_conf_load_buf(ctl.path, text, len, ctl.strict, &res->diag);
	if (next == NULL) {
		result_running(res, SL_CTL_REJECTED);
		reject_event(dp, who, res);
		return;
	}
	if (memcmp(next->sha256, ctl.cur->conf->sha256, sizeof(next->sha256)) == 0) {
		sl_conf_free(next);
		result_running(res, SL_CTL_UNCHANGED);
		snprintf(res->summary, sizeof(res->summary), "the same bytes as the "
			 "running config: nothing to do");
		return;
	}
	merged = sl_conf_merge(ctl.cur->conf, next, &res->diag);
	copy = merged ? malloc(len + 1) : NULL;
	g = copy ? gen_build(merged) : NULL;
	if (g == NULL) {
		if (merged != NULL)
			conf_diag_oom(&res->diag);
		sl_conf_free(merged);
		free(copy);
		result_running(res, SL_CTL_REJECTED);
		reject_event(dp, who, res);
		return;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	describe(ctl.cur->conf, merged, res->summary, sizeof(res->summary));

	upstream_handover(dp, merged);
	__atomic_store_n(&dp->conf, merged, __ATOMIC_RELEASE);
	__atomic_store_n(&dp->gen, g, __ATOMIC_RELEASE);
	/* Every worker has adopted g once this returns. */
	rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
	sl_upstream_reclaim(dp->up);
	/*
	 * Telemetry handlers read dp->conf outside the workers' RCU: wait for
	 * those that began before the publish. The config before last is then
	 * out of every hand (the one just replaced is kept for /sluice/config's
	 * previous sha and for handlers of ctl's own that still hold it).
	 */
	if (reader_sync != NULL)
		reader_sync();
	gen_free(ctl.retired);
	ctl.retired = ctl.cur;
	ctl.cur = g;

	free(ctl.prev_text);
	ctl.prev_text = ctl.text;
	ctl.prev_len = ctl.len;
	snprintf(ctl.prev_sha, sizeof(ctl.prev_sha), "%s", ctl.retired->conf->sha256_hex);
	ctl.prev_loaded_unix = ctl.loaded_unix;
	ctl.text = copy;
	ctl.len = len;
	ctl.loaded_unix = wall_unix();
	snprintf(ctl.source, sizeof(ctl.source), "%s", source);

	result_running(res, SL_CTL_APPLIED);
	sl_event_add(dp->events, "config", NULL, NULL,
		     "%s applied: generation %llu, sha256 %.12s; %s", who,
		     (unsigned long long)merged->generation, merged->sha256_hex,
		     res->summary);
	SL_LOG(NOTICE, "%s applied: generation %llu, sha256 %.12s; %s", who,
	       (unsigned long long)merged->generation, merged->sha256_hex, res->summary);
}

void
sl_ctl_reload(struct sl_dp *dp, const char *who, struct sl_ctl_result *res)
{
	char err[512], label[96];
	size_t len = 0;
	char *text;

	pthread_mutex_lock(&ctl.lock);
	snprintf(label, sizeof(label), "reload (%s)", who);
	text = read_file(ctl.path, &len, err, sizeof(err));
	if (text == NULL) {
		memset(res, 0, sizeof(*res));
		conf_diag_msg(&res->diag, "", err);
		result_running(res, SL_CTL_REJECTED);
		reject_event(dp, label, res);
	} else {
		ctl_apply_text(dp, text, len, "reload", label, res);
	}
	free(text);
	pthread_mutex_unlock(&ctl.lock);
}

void
sl_ctl_rollback(struct sl_dp *dp, struct sl_ctl_result *res)
{
	char *text;
	size_t len;

	pthread_mutex_lock(&ctl.lock);
	if (ctl.prev_text == NULL) {
		memset(res, 0, sizeof(*res));
		conf_diag_msg(&res->diag, "", "no previous config to roll back to: "
			      "nothing was changed since start-up");
		result_running(res, SL_CTL_REJECTED);
		pthread_mutex_unlock(&ctl.lock);
		return;
	}
	/* ctl_apply_text replaces prev_text: keep our own copy of it. */
	len = ctl.prev_len;
	text = malloc(len + 1);
	if (text == NULL) {
		memset(res, 0, sizeof(*res));
		conf_diag_oom(&res->diag);
		result_running(res, SL_CTL_REJECTED);
	} else {
		memcpy(text, ctl.prev_text, len);
		ctl_apply_text(dp, text, len, "rollback", "rollback", res);
		free(text);
	}
	pthread_mutex_unlock(&ctl.lock);
}

size_t
sl_ctl_config(struct sl_ctl_config_info *info, char *buf, size_t cap)
{
	size_t n;

	pthread_mutex_lock(&ctl.lock);
	memset(info, 0, sizeof(*info));
	n = ctl.len < cap ? ctl.len : (cap > 0 ? cap - 1 : 0);
	if (cap > 0) {
		memcpy(buf, ctl.text, n);
		buf[n] = '\0';
	}
	info->text = buf;
	info->len = ctl.len;
	snprintf(info->path, sizeof(info->path), "%.255s", ctl.path);
	snprintf(info->sha256_hex, sizeof(info->sha256_hex), "%s",
		 ctl.cur->conf->sha256_hex);
	snprintf(info->source, sizeof(info->source), "%s", ctl.source);
	info->loaded_unix = ctl.loaded_unix;
	info->generation = ctl.cur->conf->generation;
	info->has_previous = ctl.prev_text != NULL;
	snprintf(info->prev_sha256_hex, sizeof(info->prev_sha256_hex), "%s", ctl.prev_sha);
	info->prev_loaded_unix = ctl.prev_loaded_unix;
	n = ctl.len;
	pthread_mutex_unlock(&ctl.lock);
	return n;
}
