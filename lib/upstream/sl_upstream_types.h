#ifndef SL_UPSTREAM_TYPES_H
#define SL_UPSTREAM_TYPES_H

/*
 * Shared, read-mostly state of every pool and backend: what the balancers on
 * the worker lcores read to choose a backend, and what one control thread
 * derives from the outcomes the workers report.
 *
 * Who writes what:
 *  - the control thread alone writes the published fields (eff_weight,
 *    health, ejected, breaker, panic, the counters) with relaxed atomic
 *    stores; workers read them with relaxed loads and no lock;
 *  - workers keep the concurrency gauges (conns, pending, inflight, retries)
 *    with relaxed atomic adds, so limits hold across lcores;
 *  - workers report each finished request (and each health check) as a
 *    16-byte outcome on their own single-producer ring; the control thread
 *    is its single consumer. A full ring drops the outcome and counts it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include <rte_common.h>

#include "sl_breaker_types.h"
#include "sl_lb_types.h"

struct rte_ring;
struct sl_conf;
struct sl_event_log;

enum sl_up_health {
	SL_UP_HEALTH_UP = 0,     /* also the state before the first check */
	SL_UP_HEALTH_DOWN,
};

/* What became of one request, or one health check. */
enum sl_up_kind {
	SL_UP_OK = 0,            /* a response that is not a failure status */
	SL_UP_FAIL_STATUS,       /* a status in the breaker's failure_statuses */
	SL_UP_CONNECT_FAIL,      /* refused, unreachable, or connect timeout */
	SL_UP_RESET,             /* reset or invalid response */
	SL_UP_TIMEOUT,           /* no response within response_timeout_ms */
	SL_UP_HEALTH_PASS,
	SL_UP_HEALTH_FAIL,
	SL_UP_ABANDONED,         /* the client left first: no verdict */
};

struct sl_up_outcome {
	uint16_t pool;
	uint16_t backend;
	uint8_t kind;
	uint8_t lcore_idx;
	uint16_t status;
	uint32_t latency_us;
	uint32_t reserved;       /* SL_UP_OUT_* flags */
};

#define SL_UP_OUT_PROBE 0x1      /* the request held a half-open permit */
#define SL_UP_OUT_RETRY 0x2      /* the attempt was a retry: it earns no budget */

/* Why a request got no backend: each has its own counter. */
#define SL_UP_REFUSALS(X) \
	X(none_available,       "no backend eligible (all down, ejected, open or weight 0)") \
	X(pool_max_connections, "pool limits.max_connections reached") \
	X(pool_max_pending,     "pool limits.max_pending reached") \
	X(pool_max_inflight,    "pool limits.max_inflight reached") \
	X(backend_limits,       "every eligible backend at one of its own limits") \
	X(concurrency,          "every eligible backend at its adaptive concurrency limit")

enum sl_up_refusal {
#define SL_UP_REFUSAL_ENUM(name, desc) SL_UP_REFUSE_##name,
	SL_UP_REFUSALS(SL_UP_REFUSAL_ENUM)
#undef SL_UP_REFUSAL_ENUM
	SL_UP_REFUSE_MAX
};

/*
 * Why a failed attempt was not retried: each has its own counter, since
 * each asks for a different remedy. The client got the failed answer.
 */
#define SL_UP_RETRY_REFUSALS(X) \
	X(budget,           "retry budget spent (retry.budget_pct, min_per_s, min_concurrency)") \
	X(max_retries,      "limits.max_retries retries in progress, in the pool or on the backend") \
	X(pool_cap,         "a pool limit (max_inflight, max_pending, max_connections) reached") \
	X(backend_limits,   "every other eligible backend at one of its own limits") \
	X(no_other_backend, "no backend eligible but the one that failed") \
	X(has_body,         "the request had a body, which is not kept to replay") \
	X(not_idempotent,   "reset or status on a method that is not idempotent") \
	X(attempts,         "retry.attempts already spent on this request") \
	X(response_begun,   "the backend's response had begun")

enum sl_up_retry_refusal {
#define SL_UP_RETRY_REFUSAL_ENUM(name, desc) SL_UP_RETRY_REFUSE_##name,
	SL_UP_RETRY_REFUSALS(SL_UP_RETRY_REFUSAL_ENUM)
#undef SL_UP_RETRY_REFUSAL_ENUM
	SL_UP_RETRY_REFUSE_MAX
};

/* Retry budget: the window over which deposits count, in slots. */
#define SL_UP_RETRY_SLOTS 10
/* Budget tokens are thousandths of a retry: a retry takes this many. */
#define SL_UP_RETRY_TOKEN 1000

/* What an operator (or a reload) made of a backend. */
enum sl_up_admin {
	SL_UP_ADMIN_ENABLED = 0,
	SL_UP_ADMIN_DRAINING,        /* no new requests; in-flight ones finish */
	SL_UP_ADMIN_MAINTENANCE,     /* out of service until enabled */
	SL_UP_ADMIN_REMOVED,         /* gone from the config: drains, never returns */
};

/* Operator requests, applied by the control thread (the single writer). */
enum sl_up_op {
	SL_UP_OP_NONE = 0,
	SL_UP_OP_DRAIN,
	SL_UP_OP_MAINTENANCE,
	SL_UP_OP_ENABLE,
	SL_UP_OP_BREAKER_OPEN,
	SL_UP_OP_BREAKER_RESET,
};

struct sl_up_backend {
	/* published by the control thread */
	uint32_t weight;             /* configured weight */
	uint32_t eff_weight;         /* what balancers use; 0 = not eligible */
	uint8_t health;              /* enum sl_up_health */
	uint8_t ejected;
	uint8_t breaker;             /* enum sl_breaker_state */
	uint8_t admin;               /* enum sl_up_admin */
	uint8_t drained;             /* draining or removed, and nothing in flight */
	int32_t probes;              /* half-open permits left; workers take them */
	uint32_t weight_req;         /* operator's new weight + 1; 0 = none */
	uint32_t op_req;             /* enum sl_up_op; SL_UP_OP_NONE = none */
	uint32_t capacity_learned;   /* in flight where latency departs; 0 = unknown */
	uint32_t conc_limit;         /* adaptive concurrency limit; 0 = none */
	uint8_t conc_known;          /* the limit rests on a known capacity */
	uint8_t slow;                /* slow without errors: limit, share lowered */
	/* gauges, kept by the workers */
	uint32_t conns;              /* open upstream connections */
	uint32_t pending;            /* requests waiting for a connection */
	uint32_t inflight;           /* requests sent, response not complete */
	uint32_t retries;            /* retries in progress */
	/* requests that went elsewhere because this backend was at its
	 * concurrency limit (workers, relaxed adds, only when it happens) */
	uint64_t conc_passed;
	/* counters, written by the control thread from outcomes */
	uint64_t requests;
	uint64_t status_2xx, status_3xx, status_4xx, status_5xx;
	uint64_t fail_status, fail_connect, fail_reset, fail_timeout;
	uint64_t health_checks, health_failures;
	uint64_t breaker_opens, ejections;
	uint64_t slow_entries;       /* times judged slow */
	/* control thread only */
	uint64_t ready_since_ms;     /* slow start from here; 0 = full weight */
	uint32_t hc_pass, hc_fail;   /* in a row */
	uint64_t last_health_ms;
	char last_health[48];
} __rte_cache_aligned;

struct sl_up_pool {
	unsigned int n;
	uint8_t panic;               /* published */
	uint32_t healthy;            /* published: backends eligible by health/ejection */
	/* gauges, workers */
	uint32_t conns, pending, inflight, retries, requests_active;
	/* counters, workers (relaxed atomic adds) */
	uint64_t refused[SL_UP_REFUSE_MAX];
	uint64_t retry_refused[SL_UP_RETRY_REFUSE_MAX];
	uint64_t retries_total;
	/* requests placed on another backend because one at its
	 * concurrency limit was passed over (workers, relaxed adds) */
	uint64_t conc_spilled;
	/* requests the policy placed although every eligible backend was
	 * at its limit (concurrency.shed false: a learned limit is an
	 * estimate, and it steers rather than refuses) */
	uint64_t conc_over;
	/*
	 * Retry budget, in SL_UP_RETRY_TOKEN units: workers take a token per
	 * retry; the control thread deposits budget_pct of a token for each
	 * request and min_per_s tokens a second, and caps the balance at what
	 * one window earns. A death's burst of retries draws on what the
	 * window saved instead of on what is in flight at that instant.
	 */
	int64_t retry_tokens;
	/* control thread only */
	uint64_t retry_last_ms;          /* last floor deposit */
	uint64_t retry_slot_start_ms;
	uint32_t retry_slot;             /* current slot of retry_req */
	uint32_t retry_req[SL_UP_RETRY_SLOTS];   /* first attempts, per slot */
	uint64_t retry_window_req;       /* their sum */
	uint64_t panic_entries;      /* control thread */
	/* Read-only once published; a reload publishes a new one (RCU). */
	struct sl_lb_maglev *maglev;
	uint64_t *ids;
	struct sl_up_backend *b;
	/* control thread only */
	struct sl_breaker_conf bconf;
	struct sl_outlier_conf oconf;
	struct sl_breaker *brk;
	struct sl_outlier_pool *outlier;
	struct sl_lb_imbalance *imb;
	uint64_t imb_next_ms;
	double imb_ratio;            /* published copies for telemetry */
	double imb_worst_deviation;
	uint8_t imb_alarm;
	uint64_t imb_alarms;
	/* The same judgement on in-flight load, sampled every 10 ms. */
	struct sl_lb_imbalance *load;
	uint64_t load_next_ms;
	double load_ratio;
	double load_worst_deviation;
	uint8_t load_alarm;
	uint64_t load_alarms;
	/* Root-cause alarm: configured weights against capacity, and
	 * saturation (lb_alarm.c); judged with the imbalance detector. */
	struct sl_lb_rc *rc;
	uint8_t rc_alarm;            /* published copies for telemetry */
	int32_t rc_backend;          /* named backend; -1 = none */
	uint8_t rc_cause;            /* enum sl_lb_rc_cause */
	uint64_t rc_alarms;
	/* Learned capacity per backend (lb_capacity.c), by index: a reload
	 * keeps a backend's index, so what it learned stays with it. */
	struct sl_lb_cap *cap;
	struct sl_lb_slow *slow;         /* the slow-backend judge, per backend */
};

struct sl_upstream {
	const struct sl_conf *conf;  /* the control thread's; see next_conf */
	struct sl_event_log *events;
	unsigned int n_pools;        /* published: grows at a reload, never shrinks */
	unsigned int pool_cap;
	struct sl_up_pool *pools;
	/* A reload hands its merged config over here; the control thread applies it. */
	const struct sl_conf *next_conf;
	uint64_t applied_generation;
	struct sl_lb_maglev *retired[64];  /* tables replaced, freed after a grace period */
	unsigned int n_retired;
	uint32_t reset_req;          /* zero the counters at the next step */
	unsigned int n_workers;
	struct rte_ring *outcomes[RTE_MAX_LCORE];   /* by worker index */
	uint64_t outcomes_dropped[RTE_MAX_LCORE];   /* by worker index, its writer */
	uint64_t outcomes_processed;
	uint8_t shedding[RTE_MAX_LCORE];            /* by worker index, its writer */
	uint8_t shed_logged[RTE_MAX_LCORE];         /* control thread */
	pthread_t thread;
	bool started;
	volatile bool stop;
};

#endif
