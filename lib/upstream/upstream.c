/*
 * Creation of the shared pool state. Everything is allocated here, once,
 * before the workers start: the fast path and the control thread allocate
 * nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "sl_breaker.h"
#include "sl_conf.h"
#include "sl_lb.h"
#include "sl_log.h"
#include "sl_upstream.h"
#include "upstream_private.h"

const char *const sl_up_refusal_names[SL_UP_REFUSE_MAX] = {
#define SL_UP_REFUSAL_NAME(name, desc) #name,
	SL_UP_REFUSALS(SL_UP_REFUSAL_NAME)
#undef SL_UP_REFUSAL_NAME
};

const char *const sl_up_retry_refusal_names[SL_UP_RETRY_REFUSE_MAX] = {
#define SL_UP_RETRY_REFUSAL_NAME(name, desc) #name,
	SL_UP_RETRY_REFUSALS(SL_UP_RETRY_REFUSAL_NAME)
#undef SL_UP_RETRY_REFUSAL_NAME
};

#define OUTCOME_RING 16384

uint64_t
sl_up_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
breaker_conf(const struct sl_conf_breaker *c, struct sl_breaker_conf *b)
{
	*b = (struct sl_breaker_conf){
		.consecutive_failures = c->consecutive_failures,
		.error_rate_pct = c->error_rate_pct,
		.window_ms = c->window_ms,
		.min_requests = c->min_requests,
		.cooldown_ms = c->cooldown_ms,
		.cooldown_max_ms = c->cooldown_max_ms,
		.half_open_probes = c->half_open_probes,
	};
}

static void
outlier_conf(const struct sl_conf_outlier *c, struct sl_outlier_conf *o)
{
	*o = (struct sl_outlier_conf){
		.consecutive_5xx = c->consecutive_5xx,
		.consecutive_gateway = c->consecutive_gateway,
		.success_rate_min_hosts = c->success_rate_min_hosts,
		.success_rate_min_requests = c->success_rate_min_requests,
		.success_rate_stdev_factor = c->success_rate_stdev_factor,
		.interval_ms = c->interval_ms,
		.base_ejection_ms = c->base_ejection_ms,
		.max_ejection_ms = c->max_ejection_ms,
		.max_ejection_pct = c->max_ejection_pct,
	};
}

/* A backend slot that starts (or restarts) serving: full state reset. */
void
up_backend_init(struct sl_up_pool *p, const struct sl_conf_pool *cp,
		unsigned int i, uint64_t now)
{
	const struct sl_conf_backend *cb = &cp->backends[i];
	struct sl_up_backend *b = &p->b[i];
	uint8_t key[6];

	memcpy(key, &cb->addr, 4);
	memcpy(key + 4, &cb->port, 2);
	p->ids[i] = sl_lb_hash(key, sizeof(key), 0x5ca1ab1e);
	/* Gauges stay: requests still in flight from a previous life end here. */
	b->weight = cb->weight;
	b->eff_weight = cb->removed ? 0 : cb->weight;
	b->health = SL_UP_HEALTH_UP;
	b->ejected = 0;
	b->breaker = SL_BREAKER_CLOSED;
	b->admin = cb->removed ? SL_UP_ADMIN_REMOVED : SL_UP_ADMIN_ENABLED;
	b->drained = 0;
	b->probes = 0;
	b->hc_pass = b->hc_fail = 0;
	b->ready_since_ms = 0;
	snprintf(b->last_health, sizeof(b->last_health), "%s",
		 cp->health.enabled ? "not checked yet" : "no health check");
	sl_breaker_init(&p->brk[i], &p->bconf, now);
	/* A new backend, or one back after removal: nothing learned yet. */
	sl_lb_cap_init(&p->cap[i]);
	b->capacity_learned = 0;
	memset(&p->slow[i], 0, sizeof(p->slow[i]));
	b->slow = 0;
}

/* Build a maglev table for the pool's current weights (admin-out: 0). */
struct sl_lb_maglev *
up_maglev_build(const struct sl_up_pool *p, const struct sl_conf_pool *cp)
{
	uint32_t weight[SL_CONF_MAX_BACKENDS];
	struct sl_lb_maglev *m;

	m = rte_zmalloc("sl_up_maglev", sizeof(*m), 0);
	if (m == NULL)
		return NULL;
	m->size = cp->maglev_size;
	m->table = rte_zmalloc("sl_up_maglev", m->size * sizeof(uint16_t), 0);
	for (unsigned int i = 0; i < cp->n_backends; i++)
		weight[i] = cp->backends[i].removed ? 0 : cp->backends[i].weight;
	if (m->table == NULL ||
	    sl_lb_maglev_build(m, weight, p->ids, cp->n_backends) != 0) {
		rte_free(m->table);
		rte_free(m);
		return NULL;
	}
	return m;
}

void
up_maglev_free(struct sl_lb_maglev *m)
{
	if (m != NULL)
		rte_free(m->table);
	rte_free(m);
}

/* Settings the control thread derives from a pool's config. */
void
up_pool_settings(struct sl_up_pool *p, const struct sl_conf_pool *cp)
{
	breaker_conf(&cp->breaker, &p->bconf);
	outlier_conf(&cp->outlier, &p->oconf);
}

/*
 * Arrays are sized to the pool's backend_cap, not its backend count, so
 * that a reload can add backends without reallocating what lcores read.
 */
int
up_pool_init(struct sl_up_pool *p, const struct sl_conf_pool *cp, uint64_t now)
{
	unsigned int cap = RTE_MAX(cp->backend_cap, cp->n_backends);

	cap = RTE_MAX(cap, 1u);
	p->b = rte_zmalloc("sl_up_backends", cap * sizeof(*p->b),
			   RTE_CACHE_LINE_SIZE);
	p->ids = rte_zmalloc("sl_up_ids", cap * sizeof(*p->ids), 0);
	p->brk = rte_zmalloc("sl_up_brk", cap * sizeof(*p->brk), 0);
	p->outlier = rte_zmalloc("sl_up_outlier", sizeof(*p->outlier), 0);
	p->imb = rte_zmalloc("sl_up_imb", sizeof(*p->imb), 0);
	p->load = rte_zmalloc("sl_up_load", sizeof(*p->load), 0);
	p->rc = rte_zmalloc("sl_up_rc", sizeof(*p->rc), 0);
	p->cap = rte_zmalloc("sl_up_cap", cap * sizeof(*p->cap), 0);
	p->slow = rte_zmalloc("sl_up_slow", cap * sizeof(*p->slow), 0);
	if (p->b == NULL || p->ids == NULL || p->brk == NULL ||
	    p->outlier == NULL || p->imb == NULL || p->load == NULL ||
	    p->rc == NULL || p->cap == NULL || p->slow == NULL)
		return -ENOMEM;
	up_pool_settings(p, cp);
	for (unsigned int i = 0; i < cp->n_backends; i++)
		up_backend_init(p, cp, i, now);
	p->n = cp->n_backends;
	p->healthy = p->n;
	sl_outlier_init(p->outlier, p->n, now);
	sl_lb_imbalance_init(p->imb, p->n, cp->imbalance.window_ms, now);
	sl_lb_imbalance_init(p->load, p->n, cp->imbalance.window_ms, now);
	sl_lb_rc_init(p->rc, cap);
	p->rc_backend = -1;
	/* A new pool may retry at once: it starts with the floor's window. */
	p->retry_tokens = (int64_t)cp->retry.min_per_s * cp->retry.window_s *
			  SL_UP_RETRY_TOKEN;
	p->retry_last_ms = p->retry_slot_start_ms = now;
	if (cp->policy == SL_POLICY_MAGLEV) {
		p->maglev = up_maglev_build(p, cp);
		if (p->maglev == NULL)
			return -ENOMEM;
	}
	return 0;
}

struct sl_upstream *
sl_upstream_create(const struct sl_conf *conf, unsigned int n_workers,
		   struct sl_event_log *events)
{
	struct sl_upstream *u;
	uint64_t now = sl_up_now_ms();
	char name[RTE_RING_NAMESIZE];
	int rc = 0;

	u = rte_zmalloc("sl_upstream", sizeof(*u), RTE_CACHE_LINE_SIZE);
	if (u == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	u->conf = conf;
	u->events = events;
	u->n_workers = n_workers;
	u->n_pools = conf->n_pools;
	u->pool_cap = RTE_MAX(conf->pool_cap, conf->n_pools);
	u->applied_generation = conf->generation;
	u->pools = rte_zmalloc("sl_up_pools", (u->pool_cap + 1) * sizeof(*u->pools),
			       RTE_CACHE_LINE_SIZE);
	if (u->pools == NULL)
		rc = -ENOMEM;
	for (unsigned int i = 0; rc == 0 && i < conf->n_pools; i++)
		rc = up_pool_init(&u->pools[i], &conf->pools[i], now);
	for (unsigned int w = 0; rc == 0 && w < n_workers; w++) {
		snprintf(name, sizeof(name), "sl_up_out_%u", w);
		u->outcomes[w] = rte_ring_create_elem(name, sizeof(struct sl_up_outcome),
						      OUTCOME_RING, SOCKET_ID_ANY,
						      RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (u->outcomes[w] == NULL)
			rc = -rte_errno;
	}
	if (rc != 0) {
		sl_upstream_free(u);
		rte_errno = -rc;
		return NULL;
	}
	return u;
}

void
sl_upstream_free(struct sl_upstream *u)
{
	if (u == NULL)
		return;
	if (u->started) {
		u->stop = true;
		pthread_join(u->thread, NULL);
	}
	for (unsigned int w = 0; w < u->n_workers; w++)
		rte_ring_free(u->outcomes[w]);
	for (unsigned int i = 0; u->pools != NULL && i < u->n_pools; i++) {
		struct sl_up_pool *p = &u->pools[i];

		rte_free(p->b);
		rte_free(p->ids);
		rte_free(p->brk);
		rte_free(p->outlier);
		rte_free(p->imb);
		rte_free(p->load);
		rte_free(p->rc);
		rte_free(p->cap);
		rte_free(p->slow);
		up_maglev_free(p->maglev);
	}
	sl_upstream_reclaim(u);
	rte_free(u->pools);
	rte_free(u);
}

int
sl_upstream_set_weight(struct sl_upstream *u, const char *pool,
		       const char *backend, long weight, char *err, size_t len)
{
	int p, b = sl_upstream_find(u, pool, backend, &p, err, len);

	if (b < 0)
		return b;
	if (weight < 0 || weight > 1000) {
		snprintf(err, len, "weight must be 0 to 1000 (got %ld)", weight);
		return -EINVAL;
	}
	SL_UP_STORE(u->pools[p].b[b].weight_req, (uint32_t)weight + 1);
	return 0;
}

int
sl_upstream_find(const struct sl_upstream *u, const char *pool,
		 const char *backend, int *pool_idx, char *err, size_t len)
{
	const struct sl_conf *c = u->conf;

	for (unsigned int p = 0; p < c->n_pools; p++) {
		const struct sl_conf_pool *cp = &c->pools[p];

		if (cp->removed || strcmp(cp->name, pool) != 0)
			continue;
		*pool_idx = (int)p;
		for (unsigned int b = 0; b < cp->n_backends; b++)
			if (!cp->backends[b].removed &&
			    strcmp(cp->backends[b].name, backend) == 0)
				return (int)b;
		snprintf(err, len, "pool \"%s\" has no backend \"%s\"", pool, backend);
		return -ENOENT;
	}
	snprintf(err, len, "no pool \"%s\"", pool);
	return -ENOENT;
}

int
sl_upstream_request(struct sl_upstream *u, const char *pool, const char *backend,
		    enum sl_up_op op, char *err, size_t len)
{
	int p, b = sl_upstream_find(u, pool, backend, &p, err, len);
	uint32_t none = SL_UP_OP_NONE;

	if (b < 0)
		return b;
	if (!__atomic_compare_exchange_n(&u->pools[p].b[b].op_req, &none, (uint32_t)op,
					 false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
		snprintf(err, len, "another change to %s/%s is still being applied; "
			 "try again", pool, backend);
		return -EBUSY;
	}
	return 0;
}

void
sl_upstream_reclaim(struct sl_upstream *u)
{
	for (unsigned int i = 0; i < u->n_retired; i++)
		up_maglev_free(u->retired[i]);
	u->n_retired = 0;
}
