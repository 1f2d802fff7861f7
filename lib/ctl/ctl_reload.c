/*
 * Hot reload: validate, merge, build a generation, hand it to the upstream
 * control thread, publish it to the workers through RCU, and keep the
 * previous config for a one-command rollback. A file reload with warnings
 * is refused unless forced; every outcome is logged, is an event, and is
 * counted for /sluice/reload_status.
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
	ctl.st.strict = strict;
	ctl.st.last_successful = true;
	ctl.st.last_success_unix = ctl.loaded_unix;
	{
		/* main's load printed the findings; count the warnings of the
		 * bytes kept here for sluice_config_warnings. */
		struct sl_conf_diag d = { 0 };

		sl_conf_free(sl_conf_load_buf(ctl.path, ctl.text, ctl.len, false, &d));
		ctl.st.running_warnings = d.n_warnings;
		sl_conf_diag_free(&d);
	}
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
	case SL_CTL_APPLIED:
	case SL_CTL_APPLIED_WARNINGS: return "applied";
	case SL_CTL_UNCHANGED: return "unchanged";
	case SL_CTL_REJECTED:
	case SL_CTL_REJECTED_WARNINGS: return "rejected";
	case SL_CTL_N_OUTCOMES: break;
	}
	return "?";
}

const char *
sl_ctl_outcome_detail(enum sl_ctl_outcome o)
{
	switch (o) {
	case SL_CTL_APPLIED: return "applied";
	case SL_CTL_APPLIED_WARNINGS: return "applied_with_warnings";
	case SL_CTL_UNCHANGED: return "unchanged";
	case SL_CTL_REJECTED: return "rejected_errors";
	case SL_CTL_REJECTED_WARNINGS: return "rejected_warnings";
	case SL_CTL_N_OUTCOMES: break;
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

/*
 * Errors first, then warnings: "pointer: text; ...", cut to fit `len`.
 * `tag` marks warnings "warning: " (not needed where the text around says
 * that every finding is a warning).
 */
static void
findings_text(const struct sl_conf_diag *d, bool tag, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++)
		for (unsigned int i = 0; i < d->n_msgs && n < len; i++) {
			const struct sl_conf_msg *m = &d->msgs[i];
			int w;

			if (m->warning != (pass == 1))
				continue;
			w = snprintf(out + n, len - n, "%s%s: %s%s", n ? "; " : "",
				     m->pointer[0] ? m->pointer : "/",
				     m->warning && tag ? "warning: " : "", m->text);
			n += w > 0 ? (size_t)w : 0;
		}
	if (n >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
}

/*
 * Every outcome of a change, in the log and the event log, naming the
 * findings: an operator reading either learns what was refused and why,
 * or what was applied despite warnings. Events lead with the findings:
 * /sluice/events shows 127 bytes of each.
 */
static void
report(struct sl_dp *dp, const char *who, const struct sl_ctl_result *res)
{
	unsigned long long gen = (unsigned long long)res->generation;
	unsigned int ne = res->diag.n_errors, nw = res->diag.n_warnings;
	char f[1024], fe[200];

	findings_text(&res->diag, true, f, sizeof(f));
	findings_text(&res->diag, ne > 0, fe, sizeof(fe));
	switch (res->outcome) {
	case SL_CTL_APPLIED:
		sl_event_add(dp->events, "config", NULL, NULL,
			     "%s applied: generation %llu, sha256 %.12s; %s", who,
			     gen, res->sha256_hex, res->summary);
		SL_LOG(NOTICE, "%s applied: generation %llu, sha256 %.12s; %s",
		       who, gen, res->sha256_hex, res->summary);
		break;
	case SL_CTL_APPLIED_WARNINGS:
		sl_event_add(dp->events, "config", NULL, NULL,
			     "%s applied%s with %u warning(s), generation %llu: %s; %s",
			     who, res->forced ? " by force" : "", nw, gen, fe,
			     res->summary);
		SL_LOG(WARNING, "%s applied%s with %u warning(s): generation %llu, "
		       "sha256 %.12s; %s; findings: %s", who,
		       res->forced ? " by force" : "", nw, gen, res->sha256_hex,
		       res->summary, f);
		break;
	case SL_CTL_UNCHANGED:
		sl_event_add(dp->events, "config", NULL, NULL,
			     "%s unchanged: the same bytes as generation %llu", who, gen);
		SL_LOG(INFO, "%s unchanged: the same bytes as generation %llu", who, gen);
		break;
	case SL_CTL_REJECTED:
		sl_event_add(dp->events, "config", NULL, NULL,
			     "%s rejected: %u error(s), %u warning(s): %s", who, ne, nw, fe);
		SL_LOG(WARNING, "%s rejected: %u error(s), %u warning(s); generation "
		       "%llu keeps running; findings: %s", who, ne, nw, gen, f);
		break;
	case SL_CTL_REJECTED_WARNINGS: {
		bool strict = ctl.strict;

		sl_event_add(dp->events, "config", NULL, NULL,
			     "%s rejected for %u warning(s)%s: %s", who, nw,
			     strict ? " (--strict)" : ", not forced", fe);
		SL_LOG(WARNING, "%s rejected for %u warning(s), %s; generation %llu "
		       "keeps running; findings: %s", who, nw,
		       strict ? "warnings are errors with --strict" :
		       "not forced (sluicectl reload --force; a SIGHUP never forces)",
		       gen, f);
		break;
	}
	case SL_CTL_N_OUTCOMES:
		break;
	}
}

/* "pool/backend what" appended to a list of at most len bytes. */
static void
name_change(char *list, size_t len, size_t *off, const char *pool,
	    const char *backend, const char *what)
{
	int k;

	if (*off >= len)
		return;
	k = snprintf(list + *off, len - *off, "%s%s/%s %s", *off ? ", " : "",
		     pool, backend, what);
	*off += k > 0 ? (size_t)k : 0;
}

/*
 * Weights an operator set at run time (the upstream's weight differs from
 * the running config's) that applying `next` overrides: the upstream keeps
 * a run-time weight unless the new file changes that backend's weight, and
 * then the file wins. Counted and named so that no override is silent; so
 * are the run-time changes kept (weights the file left alone, and drains
 * and maintenance, which a reload never undoes for a backend it keeps).
 */
static void
count_overrides(const struct sl_dp *dp, const struct sl_conf *run,
		const struct sl_conf *next, struct sl_ctl_result *res)
{
	const struct sl_upstream *u = dp->up;
	unsigned int np, n = 0, kept = 0;
	size_t off = 0, koff = 0;

	if (u == NULL)
		return;
	np = RTE_MIN(__atomic_load_n(&u->n_pools, __ATOMIC_ACQUIRE),
		     RTE_MIN(run->n_pools, next->n_pools));
	for (unsigned int p = 0; p < np; p++) {
		const struct sl_conf_pool *rp = &run->pools[p], *xp = &next->pools[p];
		unsigned int nb = RTE_MIN(SL_UP_LOAD(u->pools[p].n),
					  RTE_MIN(rp->n_backends, xp->n_backends));

		if (rp->removed || xp->removed)
			continue;
		for (unsigned int i = 0; i < nb; i++) {
			const struct sl_conf_backend *rb = &rp->backends[i];
			const struct sl_conf_backend *xb = &xp->backends[i];
			uint32_t w = SL_UP_LOAD(u->pools[p].b[i].weight);
			uint8_t admin = SL_UP_LOAD(u->pools[p].b[i].admin);
			char what[40];

			if (rb->removed || xb->removed)
				continue;
			if (admin == SL_UP_ADMIN_DRAINING || admin == SL_UP_ADMIN_MAINTENANCE) {
				kept++;
				name_change(res->kept_text, sizeof(res->kept_text), &koff,
					    xp->name, xb->name, admin == SL_UP_ADMIN_DRAINING ?
					    "drain" : "maintenance");
			}
			/* Not set at run time, or already what the file says. */
			if (w == rb->weight || w == xb->weight)
				continue;
			snprintf(what, sizeof(what), "weight %u", w);
			if (xb->weight == rb->weight) {
				/* The file left it as it was: kept. */
				kept++;
				name_change(res->kept_text, sizeof(res->kept_text), &koff,
					    xp->name, xb->name, what);
				continue;
			}
			n++;
			snprintf(what, sizeof(what), "%u->%u", w, xb->weight);
			name_change(res->overrides_text, sizeof(res->overrides_text), &off,
				    xp->name, xb->name, what);
		}
	}
	res->weight_overrides = n;
	res->runtime_kept = kept;
}

/* A pool's configured shares: weight / sum, 0 for removed or weight 0. */
static void
conf_shares(const struct sl_conf_pool *cp, double *share)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < cp->n_backends; i++)
		sum += cp->backends[i].removed ? 0 : cp->backends[i].weight;
	for (unsigned int i = 0; i < cp->n_backends; i++)
		share[i] = sum == 0 || cp->backends[i].removed ? 0 :
			   (double)cp->backends[i].weight / (double)sum;
}

/*
 * Reload preflight: what the new shares would send each backend with a
 * learned capacity at the current load (the pool's in flight now, averaged
 * over about a second, x the new share). A backend whose share grows to
 * more than its learned capacity is a warning, so the gate refuses the
 * reload unless forced. Declared capacities are the skew check's; a
 * backend with nothing learned yet is not judged. The merged config keeps
 * pool and backend indices, so index i is the same backend in both.
 */
static void
preflight(const struct sl_dp *dp, const struct sl_conf *run,
	  const struct sl_conf *merged, struct sl_conf_diag *diag)
{
	const struct sl_upstream *u = dp->up;
	unsigned int n_pools = __atomic_load_n(&u->n_pools, __ATOMIC_ACQUIRE);

	for (unsigned int pool = 0; pool < merged->n_pools && pool < run->n_pools &&
	     pool < n_pools; pool++) {
		const struct sl_conf_pool *cp = &merged->pools[pool];
		const struct sl_up_pool *p = &u->pools[pool];
		double old_share[SL_CONF_MAX_BACKENDS], new_share[SL_CONF_MAX_BACKENDS];
		double total = 0;
		unsigned int n = __atomic_load_n(&p->n, __ATOMIC_ACQUIRE);

		n = RTE_MIN(n, RTE_MIN(cp->n_backends, run->pools[pool].n_backends));
		conf_shares(&run->pools[pool], old_share);
		conf_shares(cp, new_share);
		for (unsigned int i = 0; i < n; i++) {
			double v;

			__atomic_load(&p->rc->inflight[i], &v, __ATOMIC_RELAXED);
			total += v;
		}
		for (unsigned int i = 0; i < n; i++) {
			uint32_t cap = __atomic_load_n(&p->b[i].capacity_learned,
						       __ATOMIC_RELAXED);
			double would = total * new_share[i];
			char ptr[64], text[256];

			if (cap == 0 || new_share[i] <= old_share[i] + 1e-9 ||
			    would <= cap)
				continue;
			snprintf(ptr, sizeof(ptr), "/pools/%u/backends/%u",
				 pool, i);
			snprintf(text, sizeof(text), "%s would get %.1f%% of %s's "
				 "requests: about %.0f in flight at the current load, "
				 "its learned capacity is %u", cp->backends[i].name,
				 new_share[i] * 100, cp->name, would, cap);
			sl_conf_diag_warning(diag, ptr, text);
		}
	}
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
	       const char *who, bool gate, bool force, struct sl_ctl_result *res)
{
	struct sl_conf *next, *merged;
	struct sl_gen *g;
	char *copy;

	memset(res, 0, sizeof(*res));
	res->forced = force;
	/* Loaded leniently: the warnings gate below decides, with its reason. */
	next = sl_conf_load_buf(ctl.path, text, len, false, &res->diag);
	if (next == NULL) {
		result_running(res, SL_CTL_REJECTED);
		report(dp, who, res);
		return;
	}
	/* The same bytes change nothing, warnings or not (they already run). */
	if (memcmp(next->sha256, ctl.cur->conf->sha256, sizeof(next->sha256)) == 0) {
		sl_conf_free(next);
		result_running(res, SL_CTL_UNCHANGED);
		snprintf(res->summary, sizeof(res->summary), "the same bytes as the "
			 "running config: nothing to do");
		report(dp, who, res);
		return;
	}
	/* Merged first, so that a restart-only change is said with the warnings. */
	merged = sl_conf_merge(ctl.cur->conf, next, &res->diag);
	if (merged != NULL && gate)
		preflight(dp, ctl.cur->conf, merged, &res->diag);
	if (merged != NULL && res->diag.n_warnings > 0 &&
	    (ctl.strict || (gate && !force))) {
		char would[sizeof(res->summary) - 16];

		describe(ctl.cur->conf, merged, would, sizeof(would));
		snprintf(res->summary, sizeof(res->summary), "would change %s", would);
		sl_conf_free(merged);
		result_running(res, SL_CTL_REJECTED_WARNINGS);
		report(dp, who, res);
		return;
	}
	copy = merged ? malloc(len + 1) : NULL;
	g = copy ? gen_build(merged) : NULL;
	if (g == NULL) {
		if (merged != NULL)
			conf_diag_oom(&res->diag);
		sl_conf_free(merged);
		free(copy);
		result_running(res, SL_CTL_REJECTED);
		report(dp, who, res);
		return;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	count_overrides(dp, ctl.cur->conf, merged, res);
	{
		/* Reverted run-time weights first: telemetry shows 127 bytes. */
		size_t n = 0;

		if (res->weight_overrides > 0)
			n = (size_t)snprintf(res->summary, sizeof(res->summary),
					     "%u run-time weight(s) reverted: %.100s; ",
					     res->weight_overrides, res->overrides_text);
		if (res->runtime_kept > 0 && n < sizeof(res->summary))
			n += (size_t)snprintf(res->summary + n, sizeof(res->summary) - n,
					      "%u run-time change(s) kept: %.60s; ",
					      res->runtime_kept, res->kept_text);
		n = RTE_MIN(n, sizeof(res->summary) - 1);
		describe(ctl.cur->conf, merged, res->summary + n,
			 sizeof(res->summary) - n);
	}

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

	ctl.st.running_warnings = res->diag.n_warnings;
	result_running(res, res->diag.n_warnings > 0 ? SL_CTL_APPLIED_WARNINGS :
			    SL_CTL_APPLIED);
	report(dp, who, res);
}

/* A file reload's outcome, for /sluice/reload_status and the exporter. */
static void
record_reload(const char *trigger, const struct sl_ctl_result *res)
{
	struct sl_ctl_reload_status *st = &ctl.st;
	bool ok = res->outcome == SL_CTL_APPLIED ||
		  res->outcome == SL_CTL_APPLIED_WARNINGS ||
		  res->outcome == SL_CTL_UNCHANGED;

	st->reloads[res->outcome]++;
	st->has_last = true;
	st->last_outcome = res->outcome;
	st->last_forced = res->forced;
	st->last_unix = wall_unix();
	if (ok)
		st->last_success_unix = st->last_unix;
	st->last_successful = ok;
	snprintf(st->last_trigger, sizeof(st->last_trigger), "%s", trigger);
	st->last_errors = res->diag.n_errors;
	st->last_warnings = res->diag.n_warnings;
	st->last_weight_overrides = res->weight_overrides;
	st->last_runtime_kept = res->runtime_kept;
	findings_text(&res->diag, true, st->last_findings, sizeof(st->last_findings));
}

void
sl_ctl_reload_status(struct sl_ctl_reload_status *st)
{
	pthread_mutex_lock(&ctl.lock);
	*st = ctl.st;
	pthread_mutex_unlock(&ctl.lock);
}

void
sl_ctl_reload(struct sl_dp *dp, const char *who, bool force,
	      struct sl_ctl_result *res)
{
	char err[512], label[96];
	size_t len = 0;
	char *text;

	pthread_mutex_lock(&ctl.lock);
	snprintf(label, sizeof(label), "reload (%s)", who);
	text = read_file(ctl.path, &len, err, sizeof(err));
	if (text == NULL) {
		memset(res, 0, sizeof(*res));
		res->forced = force;
		conf_diag_msg(&res->diag, "", err);
		result_running(res, SL_CTL_REJECTED);
		report(dp, label, res);
	} else {
		ctl_apply_text(dp, text, len, "reload", label, true, force, res);
	}
	record_reload(who, res);
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
		ctl_apply_text(dp, text, len, "rollback", "rollback", false, false, res);
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
