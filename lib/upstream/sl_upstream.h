#ifndef SL_UPSTREAM_H
#define SL_UPSTREAM_H

#include <stdint.h>

#include <rte_ring.h>

#include "sl_upstream_types.h"

extern const char *const sl_up_refusal_names[SL_UP_REFUSE_MAX];
extern const char *const sl_up_retry_refusal_names[SL_UP_RETRY_REFUSE_MAX];

/* Create the shared state for every pool of conf. NULL with rte_errno set. */
struct sl_upstream *
sl_upstream_create(const struct sl_conf *conf, unsigned int n_workers,
		   struct sl_event_log *events);

/* Start the control thread that runs breakers, ejection, health, imbalance. */
int
sl_upstream_start(struct sl_upstream *u);

void
sl_upstream_free(struct sl_upstream *u);

/* Monotonic milliseconds: the clock of every breaker and ejection timer. */
uint64_t
sl_up_now_ms(void);

/*
 * The control thread's work, one step at now_ms: drain outcomes, run the
 * timers, publish. Exposed so that tests can drive it with a fake clock.
 */
void
sl_upstream_step(struct sl_upstream *u, uint64_t now_ms);

/*
 * Ask for a backend's weight to change (any thread). The control thread
 * applies it within a few milliseconds and logs an event. On maglev pools
 * the table keeps its configured proportions; the new weight only decides
 * eligibility (0 or not) until the table is rebuilt by a reload.
 * Returns 0, or -EINVAL with a message in err.
 */
int
sl_upstream_set_weight(struct sl_upstream *u, const char *pool,
		       const char *backend, long weight, char *err, size_t len);

/*
 * Indices of a live (not removed) pool and backend by name, in the config
 * the control thread runs. Returns the backend index and sets *pool_idx, or
 * -ENOENT with a message in err.
 */
int
sl_upstream_find(const struct sl_upstream *u, const char *pool,
		 const char *backend, int *pool_idx, char *err, size_t len);

/*
 * Ask the control thread for an operator change to one backend: drain,
 * maintenance, enable, breaker open or reset. Applied within a step and
 * logged as an event. 0, or -ENOENT/-EBUSY with a message in err.
 */
int
sl_upstream_request(struct sl_upstream *u, const char *pool, const char *backend,
		    enum sl_up_op op, char *err, size_t len);

/* Has the request made by sl_upstream_request() been applied? */
static inline bool
sl_upstream_request_done(const struct sl_upstream *u, unsigned int pool,
			 unsigned int b)
{
	return __atomic_load_n(&u->pools[pool].b[b].op_req, __ATOMIC_ACQUIRE) ==
	       SL_UP_OP_NONE;
}

/*
 * Hand a merged config (sl_conf_merge) to the control thread, which applies
 * it at its next step: new pools and backends start, removed ones drain,
 * settings and weights change, maglev tables are rebuilt. Call
 * sl_upstream_applied() to know when; the old config must stay alive until
 * then, and replaced maglev tables until sl_upstream_reclaim() after every
 * worker has passed a quiescent state.
 */
void
sl_upstream_apply(struct sl_upstream *u, const struct sl_conf *next);

static inline bool
sl_upstream_applied(const struct sl_upstream *u, uint64_t generation)
{
	return __atomic_load_n(&u->applied_generation, __ATOMIC_ACQUIRE) >= generation;
}

/* Free what a reload replaced; only once no worker can still read it. */
void
sl_upstream_reclaim(struct sl_upstream *u);

/* Zero every counter the control thread keeps, at its next step. */
void
sl_upstream_reset_counters(struct sl_upstream *u);

const char *
sl_up_admin_name(enum sl_up_admin a);

/* ---- worker side ---------------------------------------------------- */

/* Per-lcore balancing state for one pool. */
struct sl_up_cursor {
	struct sl_lb_swrr swrr;
};

/*
 * Choose a backend of `pool` for one request, as the worker's own config
 * `conf` describes it (which may be one generation behind the control
 * thread's for a moment during a reload), honouring health, ejection,
 * breakers (taking a half-open permit when needed), panic, and the pool's
 * and backends' limits. `hash` is the request's key (maglev only);
 * `exclude` is a backend not to choose (a retry's previous one) or -1.
 * Returns the backend index (*probe: it took a half-open permit, to be
 * reported with SL_UP_OUT_PROBE), or -1 with *why set.
 */
int
sl_up_pick(struct sl_upstream *u, const struct sl_conf *conf, unsigned int pool,
	   struct sl_up_cursor *cur, uint64_t hash, uint64_t *rng, int exclude,
	   enum sl_up_refusal *why, bool *probe);

#define SL_UP_ADD(field, v) \
	__atomic_add_fetch(&(field), (v), __ATOMIC_RELAXED)
#define SL_UP_SUB(field, v) \
	__atomic_sub_fetch(&(field), (v), __ATOMIC_RELAXED)
#define SL_UP_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define SL_UP_STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

/* Gauges: a request in flight, waiting for a connection, a connection. */
static inline void
sl_up_inflight(struct sl_upstream *u, unsigned int pool, unsigned int b, int d)
{
	SL_UP_ADD(u->pools[pool].inflight, (uint32_t)d);
	SL_UP_ADD(u->pools[pool].b[b].inflight, (uint32_t)d);
}

static inline void
sl_up_pending(struct sl_upstream *u, unsigned int pool, unsigned int b, int d)
{
	SL_UP_ADD(u->pools[pool].pending, (uint32_t)d);
	SL_UP_ADD(u->pools[pool].b[b].pending, (uint32_t)d);
}

static inline void
sl_up_conns(struct sl_upstream *u, unsigned int pool, unsigned int b, int d)
{
	SL_UP_ADD(u->pools[pool].conns, (uint32_t)d);
	SL_UP_ADD(u->pools[pool].b[b].conns, (uint32_t)d);
}

/* What a request whose attempt failed still counts in the pool's gauges. */
struct sl_up_held {
	uint32_t inflight, pending, conns;
};

/*
 * Choose a backend for a retry of a request whose attempt at `failed` went
 * wrong, within the pool's limits (less what the request itself `held`),
 * limits.max_retries and the retry budget. Never `failed`. Returns the
 * backend, counted as a retry in progress (sl_up_retry_end ends it), or -1
 * with *why counted in the pool's retry_refused.
 */
int
sl_up_retry_pick(struct sl_upstream *u, const struct sl_conf *conf,
		 unsigned int pool, struct sl_up_cursor *cur, uint64_t hash,
		 uint64_t *rng, unsigned int failed, const struct sl_up_held *held,
		 enum sl_up_retry_refusal *why, bool *probe);

/* Count a retry the proxy refused by itself (a body, the method...). */
void
sl_up_retry_refused(struct sl_upstream *u, unsigned int pool,
		    enum sl_up_retry_refusal why);

void
sl_up_retry_end(struct sl_upstream *u, unsigned int pool, unsigned int b);

/* Report an outcome from worker widx; never blocks, counts a full ring. */
static inline void
sl_up_report(struct sl_upstream *u, unsigned int widx, unsigned int pool,
	     unsigned int b, enum sl_up_kind kind, unsigned int status,
	     uint32_t latency_us, uint32_t flags)
{
	struct sl_up_outcome o = { .pool = (uint16_t)pool, .backend = (uint16_t)b,
		.kind = (uint8_t)kind, .status = (uint16_t)status,
		.lcore_idx = (uint8_t)widx, .latency_us = latency_us, .reserved = flags };

	if (rte_ring_sp_enqueue_elem(u->outcomes[widx], &o, sizeof(o)) != 0)
		u->outcomes_dropped[widx]++;
}

#endif
