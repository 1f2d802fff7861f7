#ifndef SL_CONF_TYPES_H
#define SL_CONF_TYPES_H

#include <stdint.h>
#include <stdbool.h>

#include "sl_core.h"

/*
 * The parsed, validated configuration. Every field has been range-checked by
 * sl_conf_load(); the dataplane trusts it. Addresses are IPv4 in host byte
 * order (converted once at the edge of the packet path).
 */

enum sl_idle_policy {
	SL_IDLE_BUSY = 0,     /* poll forever: dedicated cores, benchmarks */
	SL_IDLE_ADAPTIVE,     /* back off with short sleeps after empty polls */
};

enum sl_listener_mode {
	SL_MODE_HTTP = 0,
	SL_MODE_TCP,
};

struct sl_conf_runtime {
	enum sl_idle_policy idle;
	uint32_t idle_polls;     /* empty polls before the first sleep */
	uint32_t idle_sleep_us;  /* longest single sleep in adaptive mode */
	uint32_t burst;          /* RX burst size */
};

struct sl_conf_memory {
	uint32_t mbufs;          /* mbufs per NUMA socket in use */
	uint32_t mbuf_cache;     /* per-lcore mempool cache */
	uint32_t mbuf_data_size; /* data room per mbuf, headroom excluded */
};

struct sl_conf_arp {
	uint32_t lifetime_s;     /* a confirmed entry is trusted this long */
	uint32_t retry_ms;       /* interval between requests while resolving */
	uint32_t retries;        /* requests before giving up on a next hop */
	uint32_t pending_max;    /* packets held while waiting, per lcore */
	uint32_t table_size;     /* entries per lcore */
};

enum sl_syncookie_mode {
	SL_SYNCOOKIES_AUTO = 0,  /* once the SYN backlog passes syn_backlog */
	SL_SYNCOOKIES_ALWAYS,
	SL_SYNCOOKIES_NEVER,
};

struct sl_conf_tcp {
	uint32_t max_conns;      /* per worker lcore, preallocated */
	uint32_t syn_backlog;    /* half-open per lcore before cookies (auto) */
	enum sl_syncookie_mode syncookies;
	uint16_t mss;            /* advertised; clamped to port MTU - 40 */
	uint32_t rcv_buf;        /* receive window, bytes */
	uint32_t snd_buf;        /* send queue high watermark, bytes */
	char cc[16];             /* "newreno" or "cubic" */
	uint32_t rto_min_ms;
	uint32_t rto_max_ms;
	uint32_t rto_init_ms;
	uint32_t retries;        /* retransmissions of one segment before abort */
	uint32_t syn_retries;
	uint32_t delack_ms;      /* 0: acknowledge every segment at once */
	uint32_t time_wait_s;
	uint32_t time_wait_max;  /* per lcore; the oldest is recycled past it */
	uint32_t ooo_max;        /* out-of-order segments held per connection */
	uint32_t max_conn_mbufs; /* mbufs one connection may hold (0: no cap) */
	uint32_t max_addr_mbufs; /* mbufs one client address may hold, per lcore */
	uint16_t ephemeral_lo;
	uint16_t ephemeral_hi;
};

struct sl_conf_http {
	uint32_t max_request_line;   /* 414 beyond */
	uint32_t max_header_bytes;   /* 431 beyond */
	uint32_t max_headers;        /* 431 beyond */
	uint64_t max_body;           /* 413 beyond; 0 = no limit */
	uint32_t header_timeout_ms;  /* whole request head; 408 after */
	uint32_t client_idle_s;      /* keep-alive client with no request */
	uint32_t response_timeout_ms;/* backend silent this long: 504 */
	uint32_t upstream_idle_s;    /* idle pooled backend connection */
	uint32_t upstream_pool_max;  /* idle connections kept per backend, per lcore */
	uint32_t max_inflight;       /* requests in progress per lcore */
	uint32_t max_slow_heads_per_client; /* unfinished heads per address, per lcore; 0 = any */
	uint32_t slow_head_mbufs;    /* mbufs unfinished heads may hold per lcore; 0 = mbufs/4 */
};

struct sl_conf_alog {
	char path[1024];         /* "" = no access log */
	uint32_t sample_every;   /* keep one record in N */
	uint32_t ring_size;      /* records queued per worker */
};

/* The incident flight recorder (lib/incident): read at start-up only. */
struct sl_conf_incidents {
	char dir[1024];          /* bundles go here; created if missing */
	uint32_t before_s;       /* seconds of snapshots kept before a trigger */
	uint32_t after_s;        /* seconds recorded after it, then frozen */
	uint32_t max_bundles;    /* kept on disk; the oldest are deleted */
	uint64_t max_bundle_bytes;
};

struct sl_conf_port {
	char name[SL_NAME_MAX];  /* ethdev name: net_af_xdp0, net_tap0, 0000:03:00.0 */
	uint32_t addr;           /* our address on this port */
	uint8_t prefix_len;
	uint32_t gateway;        /* 0 = none */
	uint16_t rx_desc;
	uint16_t tx_desc;
	uint16_t mtu;
	bool valid;              /* every field parsed; semantic checks skip it if not */
};

struct sl_conf_route {
	uint32_t prefix;
	uint8_t prefix_len;
	uint32_t via;            /* next hop, inside a port's subnet */
	bool valid;
};

/* Most backends in one pool (balancer state is sized by it). */
#define SL_CONF_MAX_BACKENDS 256

/* Caps on concurrent work, per pool or per backend; 0 = no cap. */
struct sl_conf_limits {
	uint32_t max_connections;  /* open upstream connections */
	uint32_t max_pending;      /* requests waiting for a connection */
	uint32_t max_inflight;     /* requests sent, response not complete */
	uint32_t max_retries;      /* retries in progress */
};

/* A set of HTTP status codes 100..599, as a bitmap. */
struct sl_status_set {
	uint64_t bits[10];
};

static inline bool
sl_status_set_has(const struct sl_status_set *s, unsigned int status)
{
	return status < 640 && (s->bits[status / 64] >> (status % 64)) & 1;
}

struct sl_conf_backend {
	char name[SL_NAME_MAX];
	uint32_t addr;
	uint16_t port;
	uint32_t weight;
	/*
	 * Declared capacity in concurrent requests; 0 = not declared (the
	 * skew check and the root-cause alarm then take it as equal to its
	 * peers'). A learned capacity, when there is one, belongs next to the
	 * runtime state (sl_up_backend), not here: this is what the file says.
	 */
	uint32_t capacity;
	struct sl_conf_limits limits;
	bool valid;
	bool removed;            /* gone from the file at a reload: draining */
};

enum sl_conf_policy {
	SL_POLICY_WRR = 0,         /* smooth weighted round robin */
	SL_POLICY_LEAST_REQUEST,   /* weighted, power of two choices */
	SL_POLICY_MAGLEV,          /* consistent hashing on hash_key */
	SL_POLICY_RANDOM,
};

enum sl_conf_hash_source {
	SL_HASH_CLIENT_IP = 0,
	SL_HASH_HEADER,
	SL_HASH_COOKIE,
};

struct sl_conf_breaker {
	uint32_t consecutive_failures;  /* 0 = off */
	uint32_t error_rate_pct;        /* 0 = off */
	uint32_t window_ms;
	uint32_t min_requests;
	uint32_t cooldown_ms;
	uint32_t cooldown_max_ms;
	uint32_t half_open_probes;
	struct sl_status_set failure_statuses;
};

struct sl_conf_outlier {
	uint32_t consecutive_5xx;       /* 0 = off */
	uint32_t consecutive_gateway;   /* 0 = off */
	uint32_t success_rate_min_hosts;/* 0 = success-rate ejection off */
	uint32_t success_rate_min_requests;
	double success_rate_stdev_factor;
	uint32_t interval_ms;
	uint32_t base_ejection_ms;
	uint32_t max_ejection_ms;
	uint32_t max_ejection_pct;
};

struct sl_conf_health {
	bool enabled;
	bool http;                      /* HTTP GET; false: a TCP connect */
	uint32_t interval_ms;
	uint32_t timeout_ms;
	uint32_t rise;                  /* passes in a row to mark up */
	uint32_t fall;                  /* failures in a row to mark down */
	char path[256];
	char host[256];                 /* "" = the backend's address */
	struct sl_status_set expect;
};

struct sl_conf_retry {
	uint32_t attempts;              /* extra tries on another backend */
	struct sl_status_set on_statuses;/* retried for idempotent methods */
	uint32_t budget_pct;            /* retries <= this share of requests... */
	uint32_t min_per_s;             /* ...plus this many a second... */
	uint32_t window_s;              /* ...saved up over this long */
	uint32_t min_concurrency;       /* in progress always allowed, budget or not */
};

struct sl_conf_imbalance {
	uint32_t window_ms;
	uint32_t min_requests;          /* in the window before judging */
	double ratio;                   /* 0 = the pool's skew_warn_ratio */
	double deviation;               /* |observed/expected - 1| alarm level */
	uint32_t hold_ms;               /* over threshold this long: event */
	double saturation_ratio;        /* root-cause alarm: in flight per unit
	                                   of capacity this many times the
	                                   peers' mean; 0 = off */
};

/* Adaptive per-backend concurrency limit (lb_concurrency.c). */
struct sl_conf_concurrency {
	bool enabled;                   /* default on; off only by choice */
	uint32_t min;                   /* the limit never goes below this */
	uint32_t max;                   /* ...nor above; also the limit of a
	                                   backend with no capacity known */
	double headroom;                /* limit = capacity x this */
	bool shed;                      /* every backend at its limit: 503
	                                   (true) or the policy's pick (false) */
	double slow_ratio;              /* latency x peers' that is slow; 0 off */
	uint32_t slow_min_ms;           /* ...and at least this far above them */
};

struct sl_conf_pool {
	char name[SL_NAME_MAX];
	double skew_warn_ratio;  /* warn when a backend's configured share
	                            exceeds this multiple of its capacity share */
	uint32_t connect_timeout_ms;
	enum sl_conf_policy policy;
	enum sl_conf_hash_source hash_source;
	char hash_name[64];             /* header or cookie name */
	uint32_t maglev_size;           /* prime */
	uint32_t slow_start_ms;         /* 0 = off */
	uint32_t slow_start_min_pct;
	uint32_t panic_threshold_pct;
	struct sl_conf_limits limits;
	struct sl_conf_concurrency concurrency;
	struct sl_conf_breaker breaker;
	struct sl_conf_outlier outlier;
	struct sl_conf_health health;
	struct sl_conf_retry retry;
	struct sl_conf_imbalance imbalance;
	unsigned int n_backends;
	struct sl_conf_backend *backends;
	/*
	 * Layout, kept across reloads (conf_layout.c): a pool keeps its index
	 * and each backend its index in the pool for as long as the process
	 * runs, so that per-lcore state indexed by them stays valid while
	 * requests are in flight. Removed ones stay as tombstones.
	 */
	bool removed;
	uint32_t backend_cap;    /* backends this pool may grow to */
	uint32_t slot_base;      /* first per-lcore backend slot of this pool */
};

/* Gateway overload protection (per worker lcore). */
struct sl_conf_overload {
	uint32_t busy_pct;              /* shed new work past this busy share; 0 = off */
	uint32_t retry_after_s;         /* in 503s sent while shedding */
};

/* Graceful stop (SIGTERM, /sluice/drain_all): see docs/operations.md. */
#define SL_CONF_GRACE_MS_DEFAULT 5000
struct sl_conf_shutdown {
	uint32_t grace_ms;       /* exchanges in progress may finish this long */
};

/* A token bucket: rate per second and burst; rps 0 = no limit. */
struct sl_conf_rate {
	uint32_t rps;
	uint32_t burst;
};

/* HTTP methods as bits, for route method filters. */
enum sl_http_method_bit {
	SL_METHOD_GET = 0, SL_METHOD_HEAD, SL_METHOD_POST, SL_METHOD_PUT,
	SL_METHOD_DELETE, SL_METHOD_OPTIONS, SL_METHOD_PATCH, SL_METHOD_CONNECT,
	SL_METHOD_TRACE, SL_METHOD_MAX
};

/* One HTTP route of a listener ("routes": [...]). */
struct sl_conf_http_route {
	char host[256];          /* "" any host; "*.example.com"; exact, lowercase */
	char path_prefix[256];   /* starts with '/' */
	uint16_t methods;        /* bit per enum sl_http_method_bit; 0 = any */
	int pool;                /* index into sl_conf.pools */
	struct sl_conf_rate rate_limit; /* 429 past it */
	bool valid;
};

struct sl_conf_listener {
	char name[SL_NAME_MAX];
	uint32_t addr;
	uint16_t port;
	enum sl_listener_mode mode;
	int pool;                /* index into sl_conf.pools, -1 if unresolved */
	uint32_t idle_timeout_s; /* close a session idle this long (both ways) */
	unsigned int n_routes;   /* HTTP routes, in config order */
	struct sl_conf_http_route *routes;
	struct sl_conf_rate client_rate_limit; /* per client address: 429 past it */
	bool valid;
	/* Layout (conf_layout.c): per-lcore route slots, default pool last. */
	uint32_t route_cap;      /* routes this listener may grow to */
	uint32_t route_base;     /* first per-lcore route slot */
};

struct sl_conf {
	char path[4096];
	uint8_t sha256[32];      /* of the file's bytes, as loaded */
	char sha256_hex[65];

	struct sl_conf_runtime runtime;
	struct sl_conf_memory memory;
	struct sl_conf_arp arp;
	struct sl_conf_tcp tcp;
	struct sl_conf_alog access_log;
	struct sl_conf_http http;
	struct sl_conf_overload overload;
	uint32_t events_max;     /* event log entries kept */
	struct sl_conf_incidents incidents;
	struct sl_conf_shutdown shutdown;

	unsigned int n_ports;
	struct sl_conf_port ports[SL_MAX_PORTS];

	unsigned int n_routes;
	struct sl_conf_route *routes;

	unsigned int n_pools;
	struct sl_conf_pool *pools;

	unsigned int n_listeners;
	struct sl_conf_listener *listeners;

	/* Capacities fixed at start-up; a reload may not exceed them. */
	uint32_t pool_cap;       /* pools, tombstones included */
	uint32_t slot_cap;       /* backend slots over all pools */
	uint32_t route_slot_cap; /* route slots over all listeners */
	uint32_t slots_used;
	uint32_t route_slots_used;
	uint64_t generation;     /* 1 at start-up, +1 per applied change */
};

/* One finding of the validator: where (RFC 6901 pointer) and what. */
struct sl_conf_msg {
	bool warning;
	char pointer[256];
	char text[320];
};

struct sl_conf_diag {
	unsigned int n_errors;
	unsigned int n_warnings;
	unsigned int n_msgs;
	unsigned int cap;
	struct sl_conf_msg *msgs;
};

#endif
