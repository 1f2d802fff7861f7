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
};

struct sl_conf_alog {
	char path[1024];         /* "" = no access log */
	uint32_t sample_every;   /* keep one record in N */
	uint32_t ring_size;      /* records queued per worker */
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

struct sl_conf_backend {
	char name[SL_NAME_MAX];
	uint32_t addr;
	uint16_t port;
	uint32_t weight;
	bool valid;
};

struct sl_conf_pool {
	char name[SL_NAME_MAX];
	double skew_warn_ratio;  /* warn when one backend's weight exceeds this
	                            multiple of the mean of the others */
	uint32_t connect_timeout_ms;
	unsigned int n_backends;
	struct sl_conf_backend *backends;
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
	bool valid;
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

	unsigned int n_ports;
	struct sl_conf_port ports[SL_MAX_PORTS];

	unsigned int n_routes;
	struct sl_conf_route *routes;

	unsigned int n_pools;
	struct sl_conf_pool *pools;

	unsigned int n_listeners;
	struct sl_conf_listener *listeners;
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
