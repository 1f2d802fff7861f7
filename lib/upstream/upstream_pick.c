/*
 * Worker side: choose a backend for one request. Reads only what the control
 * thread published, plus the shared gauges, with relaxed atomics: no lock.
 */
#include <string.h>

#include <rte_common.h>

#include "sl_breaker.h"
#include "sl_conf.h"
#include "sl_lb.h"
#include "sl_upstream.h"

static inline bool
over(uint32_t cap, uint32_t now)
{
	return cap != 0 && now >= cap;
}

/* A gauge without what the caller itself holds in it (never below 0). */
static inline uint32_t
less(uint32_t gauge, uint32_t held)
{
	return gauge > held ? gauge - held : 0;
}

/* Take one half-open permit; false when none is left. */
static bool
take_probe(struct sl_up_backend *b)
{
	int32_t v = SL_UP_LOAD(b->probes);

	while (v > 0)
		if (__atomic_compare_exchange_n(&b->probes, &v, v - 1, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	return false;
}

static __rte_always_inline int
policy_pick(const struct sl_conf_pool *cp, struct sl_up_pool *p, unsigned int n,
	    struct sl_up_cursor *cur, const uint32_t *w, uint64_t hash,
	    uint64_t *rng)
{
	uint32_t inflight[SL_CONF_MAX_BACKENDS];
	bool eligible[SL_CONF_MAX_BACKENDS];

	switch (cp->policy) {
	case SL_POLICY_LEAST_REQUEST:
		for (unsigned int i = 0; i < n; i++)
			inflight[i] = SL_UP_LOAD(p->b[i].inflight);
		return sl_lb_p2c_pick(w, inflight, n, rng);
	case SL_POLICY_MAGLEV: {
		/* A table built for a newer config may name backends this
		 * config does not have yet: those are never eligible here. */
		const struct sl_lb_maglev *m = __atomic_load_n(&p->maglev,
							       __ATOMIC_ACQUIRE);

		if (m == NULL)
			return sl_lb_random_pick(w, n, rng);
		memset(eligible, 0, sizeof(eligible));
		for (unsigned int i = 0; i < n; i++)
			eligible[i] = w[i] > 0;
		return sl_lb_maglev_pick(m, hash, eligible);
	}
	case SL_POLICY_RANDOM:
		return sl_lb_random_pick(w, n, rng);
	case SL_POLICY_WRR:
	default:
		return sl_lb_swrr_pick(&cur->swrr, w, n);
	}
}

/*
 * `held` is what the request itself already counts in the pool's gauges
 * (a retry's failed attempt, not yet finished): its own slot never stands
 * in its way. Counts nothing: the callers count refusals as theirs.
 * Inlined so that a first attempt's zero `held` folds away.
 */
static __rte_always_inline int
pick(struct sl_upstream *u, const struct sl_conf *conf, unsigned int pool,
     struct sl_up_cursor *cur, uint64_t hash, uint64_t *rng, int exclude,
     const struct sl_up_held *held, enum sl_up_refusal *why, bool *probe)
{
	const struct sl_conf_pool *cp = &conf->pools[pool];
	struct sl_up_pool *p = &u->pools[pool];
	uint32_t w[SL_CONF_MAX_BACKENDS];
	unsigned int eligible = 0, capped = 0, conc = 0;
	uint64_t conc_mask[(SL_CONF_MAX_BACKENDS + 63) / 64] = { 0 };
	bool conc_over = false;
	int k;
	/* The pool's arrays hold backend_cap slots: the worker's config decides
	 * how many of them it knows. */
	unsigned int n = cp->n_backends;
	/*
	 * The pool's max_inflight counts requests stuck on a slow backend as
	 * much as those on a healthy one, so it would shed traffic a healthy
	 * backend could take. With adaptive concurrency on, each backend's own
	 * limit already bounds what it can hold, so the pool cap refuses only
	 * when no eligible backend is under its concurrency limit: at the cap,
	 * backends without headroom are passed over, and one with headroom
	 * still takes the request. Headroom here needs a known capacity
	 * (learned or declared): a limit that is only concurrency.max says
	 * nothing about the backend, and the pool cap stays the operator's
	 * bound for it. With concurrency off, the cap refuses as before.
	 */
	bool pool_full = over(cp->limits.max_inflight,
			      less(SL_UP_LOAD(p->inflight), held->inflight));

	if (pool_full && !cp->concurrency.enabled) {
		*why = SL_UP_REFUSE_pool_max_inflight;
		return -1;
	}
	/* Open connections, pooled idle ones included: the backends' view. */
	if (over(cp->limits.max_connections, less(SL_UP_LOAD(p->conns), held->conns))) {
		*why = SL_UP_REFUSE_pool_max_connections;
		return -1;
	}
	if (over(cp->limits.max_pending, less(SL_UP_LOAD(p->pending), held->pending))) {
		*why = SL_UP_REFUSE_pool_max_pending;
		return -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct sl_up_backend *b = &p->b[i];
		const struct sl_conf_limits *l = &cp->backends[i].limits;
		uint32_t inf, lim;

		w[i] = SL_UP_LOAD(b->eff_weight);
		if (w[i] == 0 || (int)i == exclude || cp->backends[i].removed ||
		    SL_UP_LOAD(b->breaker) == SL_BREAKER_OPEN) {
			w[i] = 0;
			continue;
		}
		eligible++;
		inf = SL_UP_LOAD(b->inflight);
		if (over(l->max_inflight, inf) ||
		    over(l->max_pending, SL_UP_LOAD(b->pending)) ||
		    over(l->max_connections, SL_UP_LOAD(b->conns))) {
			w[i] = 0;
			capped++;
			continue;
		}
		/* The shared gauge, not a per-worker share: a limit of 4
		 * holds as 4 across lcores, and reading it adds no write. */
		lim = SL_UP_LOAD(b->conc_limit);
		if (over(lim, inf) ||
		    (unlikely(pool_full) && !SL_UP_LOAD(b->conc_known))) {
			w[i] = 0;
			conc++;
			conc_mask[i / 64] |= 1ull << (i % 64);
		}
	}
	if (unlikely(pool_full) && conc + capped == eligible && eligible > 0) {
		*why = SL_UP_REFUSE_pool_max_inflight;
		return -1;
	}
	/*
	 * Every eligible backend at its limit. A learned limit is an estimate
	 * (a backend whose latency rose with load, or jittered, may have
	 * learned a level far below what it serves), so by default it only
	 * steers: the policy picks as if there were no limits, and the
	 * operator's own bounds (limits.max_inflight) still refuse. Shedding
	 * here, turning a latency rise into 503s, is concurrency.shed.
	 */
	if (unlikely(conc != 0) && conc + capped == eligible &&
	    !cp->concurrency.shed) {
		for (unsigned int i = 0; i < n; i++)
			if (conc_mask[i / 64] & (1ull << (i % 64)))
				w[i] = SL_UP_LOAD(p->b[i].eff_weight);
		conc_over = true;
	}
	/* A half-open backend takes only its permitted probes: re-draw. */
	for (unsigned int tries = 0; tries <= n; tries++) {
		k = policy_pick(cp, p, n, cur, w, hash, rng);

		if (k < 0 || (unsigned int)k >= n)
			break;
		*probe = false;
		if (SL_UP_LOAD(p->b[k].breaker) != SL_BREAKER_HALF_OPEN)
			goto picked;
		if (take_probe(&p->b[k])) {
			*probe = true;
			goto picked;
		}
		w[k] = 0;
	}
	*why = eligible == 0 ? SL_UP_REFUSE_none_available :
	       capped == eligible ? SL_UP_REFUSE_backend_limits :
	       conc + capped == eligible && !conc_over ? SL_UP_REFUSE_concurrency :
	       SL_UP_REFUSE_none_available;
	return -1;
picked:
	/* One shared add, only when a backend was at its limit. */
	if (unlikely(conc_over))
		SL_UP_ADD(p->conc_over, 1);
	else if (unlikely(conc != 0)) {
		SL_UP_ADD(p->conc_spilled, 1);
		/* And on each backend passed over: which one is at its
		 * limit, per backend, without a gauge to watch. */
		for (unsigned int i = 0; i < n; i++)
			if (conc_mask[i / 64] & (1ull << (i % 64)))
				SL_UP_ADD(p->b[i].conc_passed, 1);
	}
	return k;
}

int
sl_up_pick(struct sl_upstream *u, const struct sl_conf *conf, unsigned int pool,
	   struct sl_up_cursor *cur, uint64_t hash, uint64_t *rng, int exclude,
	   enum sl_up_refusal *why, bool *probe)
{
	static const struct sl_up_held none;
	int k = pick(u, conf, pool, cur, hash, rng, exclude, &none, why, probe);

	if (k < 0)
		SL_UP_ADD(u->pools[pool].refused[*why], 1);
	return k;
}

/*
 * Take one retry from the budget: a token when there is one, else one of
 * the min_concurrency retries always allowed in progress. A token taken by
 * a racing worker is given back, so the balance never stays below zero.
 */
static bool
budget_take(struct sl_up_pool *p, const struct sl_conf_retry *rc)
{
	if (__atomic_fetch_sub(&p->retry_tokens, SL_UP_RETRY_TOKEN,
			       __ATOMIC_RELAXED) >= SL_UP_RETRY_TOKEN)
		return true;
	SL_UP_ADD(p->retry_tokens, SL_UP_RETRY_TOKEN);
	return SL_UP_LOAD(p->retries) < rc->min_concurrency;
}

int
sl_up_retry_pick(struct sl_upstream *u, const struct sl_conf *conf,
		 unsigned int pool, struct sl_up_cursor *cur, uint64_t hash,
		 uint64_t *rng, unsigned int failed, const struct sl_up_held *held,
		 enum sl_up_retry_refusal *why, bool *probe)
{
	const struct sl_conf_pool *cp = &conf->pools[pool];
	struct sl_up_pool *p = &u->pools[pool];
	enum sl_up_refusal r;
	int b;

	b = pick(u, conf, pool, cur, hash, rng, (int)failed, held, &r, probe);
	if (b < 0) {
		*why = r == SL_UP_REFUSE_none_available ?
		       SL_UP_RETRY_REFUSE_no_other_backend :
		       r == SL_UP_REFUSE_backend_limits ||
		       r == SL_UP_REFUSE_concurrency ?
		       SL_UP_RETRY_REFUSE_backend_limits :
		       SL_UP_RETRY_REFUSE_pool_cap;
		goto refuse;
	}
	if (over(cp->limits.max_retries, SL_UP_LOAD(p->retries)) ||
	    over(cp->backends[b].limits.max_retries, SL_UP_LOAD(p->b[b].retries))) {
		*why = SL_UP_RETRY_REFUSE_max_retries;
		goto refuse_probe;
	}
	if (!budget_take(p, &cp->retry)) {
		*why = SL_UP_RETRY_REFUSE_budget;
		goto refuse_probe;
	}
	SL_UP_ADD(p->retries, 1);
	SL_UP_ADD(p->b[b].retries, 1);
	SL_UP_ADD(p->retries_total, 1);
	return b;
refuse_probe:
	if (*probe)   /* the permit goes back unused */
		SL_UP_ADD(p->b[b].probes, 1);
	*probe = false;
refuse:
	SL_UP_ADD(p->retry_refused[*why], 1);
	return -1;
}

void
sl_up_retry_refused(struct sl_upstream *u, unsigned int pool,
		    enum sl_up_retry_refusal why)
{
	SL_UP_ADD(u->pools[pool].retry_refused[why], 1);
}

void
sl_up_retry_end(struct sl_upstream *u, unsigned int pool, unsigned int b)
{
	SL_UP_SUB(u->pools[pool].retries, 1);
	SL_UP_SUB(u->pools[pool].b[b].retries, 1);
}
