#ifndef SL_PROXY_HTTP_H
#define SL_PROXY_HTTP_H

/*
 * The HTTP/1.1 reverse proxy ("mode": "http"), on the lcore's TCP stack.
 *
 * One exchange at a time per client connection: a request is parsed,
 * routed, sent to a backend over a pooled keep-alive connection, and its
 * response streamed back before the next pipelined request is read, so
 * responses always come back in order. Bodies stream in both directions
 * (Content-Length, chunked, close-delimited); the send queues' watermarks
 * give the backpressure. Hop-by-hop fields are stripped; X-Forwarded-For,
 * X-Forwarded-Proto, Via and (when absent) X-Request-Id are added; every
 * other request field is passed on byte for byte.
 */

#include <stdint.h>

#include "sl_hist.h"
#include "sl_http_types.h"
#include "sl_lcore_types.h"
#include "sl_proxy_types.h"
#include "sl_session_types.h"
#include "sl_timer_types.h"

struct sl_route_table;
struct sl_gen;
struct sl_upstream;
struct sl_up_cursor;
struct sl_lb_bucket;
struct sl_h1_check;

#define SL_H1_HASH_KEYS 4            /* distinct header/cookie hash keys */
#define SL_H1_CLIENT_BUCKETS 4096    /* per-client rate limit slots per lcore */

/* A per-client-address token bucket, direct-mapped by address. */
struct sl_h1_client_bucket {
	uint32_t ip;
	uint16_t listener;
	double tokens;
	uint64_t last_ms;
};

#define SL_H1_HEAD_MAX (8192 + 16384 + 1024)

/* Counters of the HTTP proxy, per lcore. */
#define SL_H1_STATS(X) \
	X(requests,          "requests read from clients") \
	X(responses,         "responses sent to clients (errors included)") \
	X(status_2xx,        "responses 200-299") \
	X(status_3xx,        "responses 300-399") \
	X(status_4xx,        "responses 400-499") \
	X(status_5xx,        "responses 500-599") \
	X(err_400,           "400 sent: malformed request") \
	X(err_404,           "404 sent: no route") \
	X(err_408,           "408 sent: request head too slow") \
	X(err_413,           "413 sent: body over max_body") \
	X(err_414,           "414 sent: request line too long") \
	X(err_431,           "431 sent: header fields too large") \
	X(err_501,           "501 sent: unsupported transfer coding") \
	X(err_502,           "502 sent: backend reset or invalid response") \
	X(err_503,           "503 sent: no backend available") \
	X(err_504,           "504 sent: backend timed out") \
	X(err_505,           "505 sent: HTTP version not supported") \
	X(upstream_connects, "new backend connections opened") \
	X(upstream_reused,   "requests sent on a pooled connection") \
	X(client_conns,      "client connections accepted") \
	X(no_exchange,       "requests refused: max_inflight reached (503)") \
	X(aborted_midway,    "responses cut short: client reset after headers") \
	X(upstream_idle_closed, "pooled backend connections closed after upstream_idle_s") \
	X(err_429,           "429 sent: a route or client rate limit") \
	X(overloaded,        "503 sent with x-sluice-overloaded: a pool or backend limit") \
	X(shed,              "503 sent or connection refused: this lcore over overload.busy_pct") \
	X(retries,           "requests retried on another backend") \
	X(retries_refused,   "failed attempts not retried, any reason (by reason: the pool's retry_refused_*)") \
	X(conn_forbidden,    "400 sent: Connection named a framing field or one the proxy adds") \
	X(head_overflow,     "431 (request) or 502 (response): a head that no longer fits after rewriting") \
	X(slow_heads_evicted, "408 sent: oldest unfinished head closed, http.slow_head_mbufs reached") \
	X(slow_heads_per_client, "408 sent: unfinished heads of one address over http.max_slow_heads_per_client") \
	X(slow_addr_untracked, "unfinished heads not counted per address: its table window was full") \
	X(drain_keepalive_closed, "responses sent with Connection: close because the gateway drains") \
	X(drain_idle_closed, "client connections waiting for a request, closed by the drain")

struct sl_h1_stats {
#define SL_H1_STAT_FIELD(name, desc) uint64_t name;
	SL_H1_STATS(SL_H1_STAT_FIELD)
#undef SL_H1_STAT_FIELD
	uint64_t inflight;           /* gauge */
	uint64_t clients;            /* gauge */
};

struct sl_h1_xchg;

/*
 * A client connection. Until its request head is complete, it holds no
 * exchange: the head's bytes stay in the TCP receive queue (charged to the
 * connection's window) and are only scanned, and the client is on the
 * lcore's slow-head list, oldest first, so that buffer shortage closes the
 * oldest unfinished heads rather than refusing new clients.
 */
struct sl_h1_client {
	struct sl_h1_proxy *hp;
	struct sl_session *conn;
	struct sl_h1_xchg *x;        /* exchange in progress, or NULL */
	struct sl_mq pending;        /* received, not yet parsed */
	uint32_t pending_off;        /* parsed bytes of pending.head */
	struct sl_timer timer;       /* header timeout, or keep-alive idle */
	uint32_t client_ip;
	uint16_t client_port;
	uint16_t listener;
	uint8_t flags;
	uint16_t slow_mbufs;         /* mbufs counted in hp->slow_mbufs */
	uint32_t slow_prev, slow_next; /* slow-head list, by index */
	struct sl_http_head_scan scan; /* the head before the exchange */
	uint32_t free_next;
};

/* Unfinished heads per client address (open addressing, keyed hash). */
struct sl_h1_addr_count {
	uint32_t ip;
	uint32_t n;                  /* 0: the slot is free */
};

struct sl_h1_xchg {
	struct sl_h1_client *cl;
	struct sl_session *up;
	struct sl_mq to_up;          /* for the backend, before it connects */
	struct sl_timer timer;       /* backend response timeout */
	uint64_t start_tsc;
	uint64_t up_start_tsc;
	uint64_t bytes_in, bytes_out;
	int route;
	int pool;
	uint16_t backend;
	uint16_t status;
	uint32_t flags;
	uint8_t tries;               /* backends tried so far */
	uint8_t lb_flags;            /* SL_UP_OUT_* of the current backend */
	uint64_t khash[SL_H1_HASH_KEYS]; /* hash of each key field, 0 = absent */
	uint8_t state;
	uint8_t method;
	uint16_t host_len;
	uint16_t conn_len;
	uint32_t target_off, target_len;
	uint32_t free_next;
	char host[256];
	char path[80];               /* for the access log, truncated */
	char conn_fields[256];       /* the Connection field, to strip what it names */
	uint32_t head_len;
	char head[SL_H1_HEAD_MAX];
	struct sl_http_parser req;
	struct sl_http_parser resp;
};

/* Pooled idle backend connections, per backend. */
struct sl_h1_idle {
	struct sl_h1_proxy *hp;      /* the owner: callbacks get the idle list */
	uint32_t g;                  /* its backend slot */
	uint32_t n;
	struct sl_session **conns;
	uint64_t *since_tsc;
};

struct sl_h1_listener {
	struct sl_session_listener sl;   /* what TCP hands back on accept */
	struct sl_h1_proxy *hp;
	uint16_t listener;           /* index in the config */
	struct sl_route_table *routes;
};

struct sl_h1_proxy {
	struct sl_tcp_stack *tcp;
	const struct sl_conf *conf;
	struct sl_h1_client *clients;
	uint32_t max_clients, free_clients;
	struct sl_h1_xchg *xchgs;
	uint32_t max_xchgs, free_xchgs;
	/* unfinished request heads (slowloris defence) */
	uint32_t slow_first, slow_last; /* oldest, newest; UINT32_MAX: none */
	uint32_t n_slow;
	uint32_t slow_mbufs;         /* mbufs they hold */
	struct sl_h1_addr_count *slow_addrs;
	uint32_t slow_addr_mask;
	uint32_t slow_addr_seed;     /* random: slots cannot be aimed at */
	uint32_t request_seq;        /* for generated X-Request-Id */
	unsigned int n_listeners;
	struct sl_h1_listener listeners[SL_PROXY_MAX_LISTENERS];
	uint32_t *pool_base;         /* first global backend index per pool */
	struct sl_h1_idle *idle;     /* per global backend */
	struct sl_timer idle_sweep;  /* closes pooled connections past upstream_idle_s */
	/*
	 * Latency histograms (microseconds), merged by telemetry at read time.
	 * Routes: route_base[listener] + route index, and + n_routes for the
	 * listener's default pool. Backends: pool_base[pool] + backend.
	 */
	uint32_t *route_base;
	uint32_t n_route_hists, n_backend_hists;
	struct sl_hist *route_total, *route_upstream;
	struct sl_hist *backend_total, *backend_upstream;
	struct sl_http_limits limits;
	/* balancing (proxy_http_lb.c) */
	struct sl_upstream *up;
	unsigned int widx;           /* worker index: the outcome ring */
	struct sl_up_cursor *cursors;/* per pool */
	uint64_t rng;
	unsigned int n_keys;
	struct { char name[64]; uint8_t cookie; } keys[SL_H1_HASH_KEYS];
	int8_t *pool_key;            /* per pool: index in keys, -1 none */
	struct sl_lb_bucket *route_buckets; /* by route_base + route */
	struct sl_h1_client_bucket *client_buckets;
	uint64_t busy_check_tsc, busy_prev, idle_prev;
	bool shedding;
	struct sl_h1_check *checks;  /* health checks (worker 0 only) */
	uint32_t n_checks;
	bool draining;               /* sl_h1_drain(): close after each response */
	struct sl_h1_stats stats;
};

/* The HTTP proxy's slot on each lcore: sl_h1_create() attaches it to its
 * TCP stack's lcore, sl_h1_free() takes it back. */
extern struct sl_lcore_module sl_h1_module;

/* The lcore's HTTP proxy, NULL if none. */
static inline struct sl_h1_proxy *
sl_h1_proxy_of(const struct sl_lcore *lc)
{
	return lc->mod[sl_h1_module.id];
}

struct sl_h1_proxy *
sl_h1_create(struct sl_tcp_stack *tcp, const struct sl_gen *gen, int socket);

/*
 * Take a new config generation (a reload), on the worker, between bursts.
 * Exchanges in flight keep their pool and backend indices, which the new
 * config keeps (sl_conf_merge); pooled connections to removed backends are
 * closed; route tables, hash keys, limits and health checks switch over.
 */
void
sl_h1_adopt(struct sl_h1_proxy *hp, const struct sl_gen *gen);

void
sl_h1_free(struct sl_h1_proxy *hp);

/* Pooled connections to backend slot g waiting for a request, read from
 * another thread (telemetry): relaxed, one writer (the worker). */
static inline uint32_t
sl_h1_idle_conns(const struct sl_h1_proxy *hp, uint32_t g)
{
	return __atomic_load_n(&hp->idle[g].n, __ATOMIC_RELAXED);
}

/*
 * How long a client connection waiting for a request is kept once the
 * drain starts: a client that sends back to back (its next request is on
 * the wire) gets that one answered, with Connection: close; one that
 * waits longer is closed. Long enough for an RTT on a loaded machine,
 * short enough not to hold up the stop.
 */
#define SL_H1_DRAIN_IDLE_MS 500

/*
 * The gateway drains (on the worker, once): from now on every response
 * says Connection: close and its connection closes after it, and clients
 * waiting for their next request get SL_H1_DRAIN_IDLE_MS to send it
 * (proxy_http_drain.c).
 */
void
sl_h1_drain(struct sl_h1_proxy *hp);

/* The drain was called off (on the worker, once): see proxy_http_drain.c. */
void
sl_h1_undrain(struct sl_h1_proxy *hp);

/*
 * Client connections that still have work while draining: an exchange,
 * a request awaited, or response bytes not yet acknowledged. A connection
 * we closed whose data is acknowledged (FIN_WAIT_2 behind a client that
 * does not close) has none. O(max clients): call it a few times a second.
 */
uint32_t
sl_h1_drain_left(const struct sl_h1_proxy *hp);

extern const char *const sl_h1_stat_names[];
extern const unsigned int sl_h1_n_stats;

#endif
