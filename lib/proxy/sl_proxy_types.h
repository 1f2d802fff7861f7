#ifndef SL_PROXY_TYPES_H
#define SL_PROXY_TYPES_H

#include <stdint.h>

#include "sl_core.h"
#include "sl_session_types.h"
#include "sl_timer_types.h"

struct sl_session;
struct sl_tcp_stack;
struct sl_conf;
struct sl_up_cursor;

/* A client connection spliced to a backend connection (mode "tcp"). */
struct sl_proxy;

struct sl_l4_session {
	struct sl_proxy *px;
	struct sl_session *client;
	struct sl_session *server;
	struct sl_timer idle_timer;
	uint64_t last_active_ms;
	uint64_t start_tsc;
	uint64_t connected_tsc;
	uint64_t bytes_c2s;
	uint64_t bytes_s2c;
	uint32_t client_ip;
	uint16_t client_port;
	uint16_t listener;
	uint16_t pool;               /* the listener's pool when accepted: a
	                                reload may point the listener elsewhere */
	uint16_t backend;
	uint8_t flags;
	uint8_t term;                /* enum sl_alog_term, once known */
	uint32_t free_next;
};

#define SL_L4F_CLIENT_EOF 0x01   /* client's FIN passed on to the server */
#define SL_L4F_SERVER_EOF 0x02   /* server's FIN passed on to the client */
#define SL_L4F_CONNECTED  0x04
#define SL_L4F_LB         0x08   /* counted in the pool's gauges */
#define SL_L4F_JUDGED     0x10   /* outcome told to the control thread */
#define SL_L4F_PROBE      0x20   /* holds a half-open permit */

#define SL_PROXY_STATS(X) \
	X(l4_sessions,        "client connections accepted in tcp mode") \
	X(l4_connect_refused, "backend answered the connect with RST") \
	X(l4_connect_timeout, "backend did not answer within connect_timeout_ms") \
	X(l4_connect_failed,  "no route, port or connection slot for the backend") \
	X(l4_backend_reset,   "backend reset an established session") \
	X(l4_client_reset,    "client reset a session") \
	X(l4_idle_timeouts,   "sessions closed after idle_timeout_s") \
	X(l4_no_session,      "client refused: session table full") \
	X(l4_refused_limits,  "client refused: a pool or backend limit, or none eligible") \
	X(l4_bytes_c2s,       "payload bytes moved client to server") \
	X(l4_bytes_s2c,       "payload bytes moved server to client")

struct sl_proxy_stats {
#define SL_PROXY_STAT_FIELD(name, desc) uint64_t name;
	SL_PROXY_STATS(SL_PROXY_STAT_FIELD)
#undef SL_PROXY_STAT_FIELD
	uint64_t l4_active;          /* gauge */
};

/* The listener context handed to the TCP stack's accept. */
struct sl_l4_listener {
	struct sl_session_listener sl;   /* first: what TCP hands back */
	struct sl_proxy *px;
	uint16_t listener;           /* index in the config */
};

#define SL_PROXY_MAX_LISTENERS 64

/* One lcore's proxy state. */
struct sl_proxy {
	struct sl_tcp_stack *tcp;
	const struct sl_conf *conf;
	struct sl_l4_session *sessions;
	uint32_t max_sessions;
	uint32_t free_head;
	unsigned int n_listeners;
	struct sl_l4_listener listeners[SL_PROXY_MAX_LISTENERS];
	struct sl_up_cursor *cursors;/* balancing state per pool */
	uint64_t rng;
	struct sl_proxy_stats stats;
};

#endif
