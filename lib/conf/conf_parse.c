/*
 * JSON -> struct sl_conf. Structural checks live here: unknown keys, types,
 * ranges, address syntax. Every problem is reported with the JSON pointer of
 * the value at fault, and parsing carries on so that one run shows them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <jansson.h>

#include "sl_conf.h"
#include "conf_private.h"



/* Defaults: documented in docs/configuration.md, keep the two in step. */
#define DEF_IDLE_POLLS     256
#define DEF_IDLE_SLEEP_US  100
#define DEF_BURST          32
#define DEF_MBUFS          65535
#define DEF_MBUF_CACHE     256
#define DEF_MBUF_DATA      2048
#define DEF_ARP_LIFETIME   300
#define DEF_ARP_RETRY_MS   1000
#define DEF_ARP_RETRIES    3
#define DEF_ARP_PENDING    256
#define DEF_ARP_TABLE      1024
#define DEF_DESC           1024
#define DEF_MTU            1500
static void
parse_runtime(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "idle", "idle_polls",
		"idle_sleep_us", "burst", NULL };
	static const char *const idle[] = { "busy", "adaptive", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(root, "runtime", "", p, d);
	int v;

	c->runtime.idle = SL_IDLE_BUSY;
	c->runtime.idle_polls = DEF_IDLE_POLLS;
	c->runtime.idle_sleep_us = DEF_IDLE_SLEEP_US;
	c->runtime.burst = DEF_BURST;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	v = conf_get_enum(o, "idle", p, idle, SL_IDLE_BUSY, d);
	if (v >= 0)
		c->runtime.idle = (enum sl_idle_policy)v;
	conf_get_u32(o, "idle_polls", p, 1, 1000000, DEF_IDLE_POLLS,
		&c->runtime.idle_polls, d);
	conf_get_u32(o, "idle_sleep_us", p, 1, 100000, DEF_IDLE_SLEEP_US,
		&c->runtime.idle_sleep_us, d);
	conf_get_u32(o, "burst", p, 1, 256, DEF_BURST, &c->runtime.burst, d);
}

static void
parse_memory(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "mbufs", "mbuf_cache",
		"mbuf_data_size", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(root, "memory", "", p, d);

	c->memory.mbufs = DEF_MBUFS;
	c->memory.mbuf_cache = DEF_MBUF_CACHE;
	c->memory.mbuf_data_size = DEF_MBUF_DATA;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "mbufs", p, 1023, 16777215, DEF_MBUFS, &c->memory.mbufs, d);
	/* rte_mempool caps the per-lcore cache at RTE_MEMPOOL_CACHE_MAX_SIZE. */
	conf_get_u32(o, "mbuf_cache", p, 0, 512, DEF_MBUF_CACHE,
		&c->memory.mbuf_cache, d);
	conf_get_u32(o, "mbuf_data_size", p, 1024, 16384, DEF_MBUF_DATA,
		&c->memory.mbuf_data_size, d);
}

static void
parse_arp(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "lifetime_s", "retry_ms", "retries",
		"pending_max", "table_size", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(root, "arp", "", p, d);

	c->arp.lifetime_s = DEF_ARP_LIFETIME;
	c->arp.retry_ms = DEF_ARP_RETRY_MS;
	c->arp.retries = DEF_ARP_RETRIES;
	c->arp.pending_max = DEF_ARP_PENDING;
	c->arp.table_size = DEF_ARP_TABLE;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "lifetime_s", p, 1, 86400, DEF_ARP_LIFETIME,
		&c->arp.lifetime_s, d);
	conf_get_u32(o, "retry_ms", p, 10, 60000, DEF_ARP_RETRY_MS,
		&c->arp.retry_ms, d);
	conf_get_u32(o, "retries", p, 1, 20, DEF_ARP_RETRIES, &c->arp.retries, d);
	conf_get_u32(o, "pending_max", p, 0, 65536, DEF_ARP_PENDING,
		&c->arp.pending_max, d);
	conf_get_u32(o, "table_size", p, 16, 65536, DEF_ARP_TABLE,
		&c->arp.table_size, d);
}

/*
 * tcp.max_conn_mbufs and tcp.max_addr_mbufs: what one connection and one
 * client address (per lcore) may hold of the mbuf pool. The defaults come
 * from memory.mbufs and the buffer sizes (docs/configuration.md).
 */
static void
conf_tcp_mbuf_caps(json_t *o, const char *p, struct sl_conf *c,
		   struct sl_conf_diag *d)
{
	struct sl_conf_tcp *t = &c->tcp;
	uint32_t room = c->memory.mbuf_data_size;
	uint32_t def_addr = c->memory.mbufs / 16 > 64 ? c->memory.mbufs / 16 : 64;
	/* Room for both windows of a busy connection, half a buffer a segment. */
	uint32_t def_conn = 2 * (t->rcv_buf + t->snd_buf) / room;
	bool conn_set = o != NULL && json_object_get(o, "max_conn_mbufs") != NULL;
	bool addr_set = o != NULL && json_object_get(o, "max_addr_mbufs") != NULL;
	char kp[PTR_MAX];

	t->max_addr_mbufs = def_addr;
	if (o != NULL)
		conf_get_u32(o, "max_addr_mbufs", p, 16, 16777215, def_addr,
			&t->max_addr_mbufs, d);
	if (def_conn < 64)
		def_conn = 64;
	if (def_conn > t->max_addr_mbufs)
		def_conn = t->max_addr_mbufs;
	t->max_conn_mbufs = def_conn;
	if (o != NULL)
		conf_get_u32(o, "max_conn_mbufs", p, 16, 16777215, def_conn,
			&t->max_conn_mbufs, d);
	if (addr_set && t->max_addr_mbufs > c->memory.mbufs) {
		conf_ptr_key(kp, p, "max_addr_mbufs");
		conf_err(d, kp, "max_addr_mbufs (%u) is above memory.mbufs (%u): "
			 "one client address could hold the whole mbuf pool",
			 t->max_addr_mbufs, c->memory.mbufs);
	}
	if (conn_set && t->max_conn_mbufs > t->max_addr_mbufs) {
		conf_ptr_key(kp, p, "max_conn_mbufs");
		conf_err(d, kp, "max_conn_mbufs (%u) is above max_addr_mbufs (%u): "
			 "a client connection can never hold more than its address",
			 t->max_conn_mbufs, t->max_addr_mbufs);
	}
	if (conn_set && (uint64_t)t->max_conn_mbufs * (room / 2) < t->rcv_buf) {
		conf_ptr_key(kp, p, "max_conn_mbufs");
		conf_warn(d, kp, "max_conn_mbufs (%u) holds less than rcv_buf (%u "
			  "bytes) at half a %u-byte buffer a segment: the receive "
			  "window will stay below rcv_buf", t->max_conn_mbufs,
			  t->rcv_buf, room);
	}
}

static void
parse_tcp(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "max_conns", "syn_backlog",
		"syncookies", "mss", "rcv_buf", "snd_buf", "cc", "rto_min_ms",
		"rto_max_ms", "rto_init_ms", "retries", "syn_retries", "delack_ms",
		"time_wait_s", "time_wait_max", "ooo_max", "ephemeral_lo",
		"ephemeral_hi", "max_conn_mbufs", "max_addr_mbufs", NULL };
	static const char *const cookies[] = { "auto", "always", "never", NULL };
	static const char *const ccs[] = { "newreno", "cubic", NULL };
	struct sl_conf_tcp *t = &c->tcp;
	char p[PTR_MAX], kp[PTR_MAX];
	json_t *o = conf_get_object(root, "tcp", "", p, d);
	uint32_t v;
	int e;

	*t = (struct sl_conf_tcp){ .max_conns = 65536, .syn_backlog = 1024,
		.syncookies = SL_SYNCOOKIES_AUTO, .mss = 1460, .rcv_buf = 262144,
		.snd_buf = 262144, .cc = "newreno", .rto_min_ms = 200,
		.rto_max_ms = 60000, .rto_init_ms = 1000, .retries = 8,
		.syn_retries = 5, .delack_ms = 40, .time_wait_s = 30,
		.time_wait_max = 16384, .ooo_max = 512, .ephemeral_lo = 10000,
		.ephemeral_hi = 65535 };
	if (o == NULL) {
		conf_tcp_mbuf_caps(NULL, p, c, d);
		return;
	}
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "max_conns", p, 64, 4194304, t->max_conns, &t->max_conns, d);
	conf_get_u32(o, "syn_backlog", p, 16, 1048576, t->syn_backlog,
		&t->syn_backlog, d);
	e = conf_get_enum(o, "syncookies", p, cookies, SL_SYNCOOKIES_AUTO, d);
	if (e >= 0)
		t->syncookies = (enum sl_syncookie_mode)e;
	if (conf_get_u32(o, "mss", p, 536, 8960, t->mss, &v, d))
		t->mss = (uint16_t)v;
	conf_get_u32(o, "rcv_buf", p, 16384, 16777216, t->rcv_buf, &t->rcv_buf, d);
	conf_get_u32(o, "snd_buf", p, 16384, 16777216, t->snd_buf, &t->snd_buf, d);
	e = conf_get_enum(o, "cc", p, ccs, 0, d);
	if (e >= 0)
		snprintf(t->cc, sizeof(t->cc), "%s", ccs[e]);
	conf_get_u32(o, "rto_min_ms", p, 1, 10000, t->rto_min_ms, &t->rto_min_ms, d);
	conf_get_u32(o, "rto_max_ms", p, 100, 120000, t->rto_max_ms, &t->rto_max_ms, d);
	conf_get_u32(o, "rto_init_ms", p, 10, 10000, t->rto_init_ms, &t->rto_init_ms, d);
	conf_get_u32(o, "retries", p, 1, 30, t->retries, &t->retries, d);
	conf_get_u32(o, "syn_retries", p, 1, 10, t->syn_retries, &t->syn_retries, d);
	conf_get_u32(o, "delack_ms", p, 0, 500, t->delack_ms, &t->delack_ms, d);
	conf_get_u32(o, "time_wait_s", p, 0, 240, t->time_wait_s, &t->time_wait_s, d);
	conf_get_u32(o, "time_wait_max", p, 0, 4194304, t->time_wait_max,
		&t->time_wait_max, d);
	conf_get_u32(o, "ooo_max", p, 0, 4096, t->ooo_max, &t->ooo_max, d);
	if (conf_get_u32(o, "ephemeral_lo", p, 1024, 65535, t->ephemeral_lo, &v, d))
		t->ephemeral_lo = (uint16_t)v;
	if (conf_get_u32(o, "ephemeral_hi", p, 1024, 65535, t->ephemeral_hi, &v, d))
		t->ephemeral_hi = (uint16_t)v;
	conf_tcp_mbuf_caps(o, p, c, d);
	if (t->rto_min_ms > t->rto_max_ms) {
		conf_ptr_key(kp, p, "rto_min_ms");
		conf_err(d, kp, "rto_min_ms (%u) is above rto_max_ms (%u)",
			 t->rto_min_ms, t->rto_max_ms);
	}
	if (t->ephemeral_hi < t->ephemeral_lo + 255u) {
		conf_ptr_key(kp, p, "ephemeral_hi");
		conf_err(d, kp, "the ephemeral range %u-%u is too small: it needs at "
			 "least 256 ports", t->ephemeral_lo, t->ephemeral_hi);
	}
}

static void
parse_access_log(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "path", "sample_every", "ring_size",
		NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(root, "access_log", "", p, d);
	struct sl_conf_alog *a = &c->access_log;

	a->path[0] = '\0';
	a->sample_every = 1;
	a->ring_size = 4096;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_str(o, "path", p, false, a->path, sizeof(a->path), d);
	conf_get_u32(o, "sample_every", p, 1, 1000000, 1, &a->sample_every, d);
	conf_get_u32(o, "ring_size", p, 64, 1048576, 4096, &a->ring_size, d);
}

/*
 * How a SIGTERM (or /sluice/drain_all) stops the gateway: exchanges in
 * progress get grace_ms to finish before what remains is reset. Up to
 * 10 min: a supervisor's stop timeout (systemd's TimeoutStopSec) must
 * still be able to cover it.
 */
static void
parse_shutdown(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "grace_ms", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(root, "shutdown", "", p, d);

	c->shutdown.grace_ms = SL_CONF_GRACE_MS_DEFAULT;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "grace_ms", p, 0, 600000, SL_CONF_GRACE_MS_DEFAULT,
		     &c->shutdown.grace_ms, d);
}

static void
parse_http(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "max_request_line",
		"max_header_bytes", "max_headers", "max_body", "header_timeout_ms",
		"client_idle_s", "response_timeout_ms", "upstream_idle_s",
		"upstream_pool_max", "max_inflight", "max_slow_heads_per_client",
		"slow_head_mbufs", NULL };
	char p[PTR_MAX];
	json_t *o = conf_get_object(root, "http", "", p, d);
	struct sl_conf_http *h = &c->http;

	*h = (struct sl_conf_http){ .max_request_line = 8192,
		.max_header_bytes = 16384, .max_headers = 100,
		.max_body = 1ull << 30, .header_timeout_ms = 10000,
		.client_idle_s = 60, .response_timeout_ms = 30000,
		.upstream_idle_s = 30, .upstream_pool_max = 32,
		.max_inflight = 1024, .max_slow_heads_per_client = 256,
		.slow_head_mbufs = 0 };
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	conf_get_u32(o, "max_request_line", p, 256, 8192, 8192, &h->max_request_line, d);
	conf_get_u32(o, "max_header_bytes", p, 256, 16384, 16384, &h->max_header_bytes, d);
	conf_get_u32(o, "max_headers", p, 1, 1000, 100, &h->max_headers, d);
	conf_get_uint(o, "max_body", p, 0, 1ull << 50, 1ull << 30, false, &h->max_body, d);
	conf_get_u32(o, "header_timeout_ms", p, 100, 600000, 10000, &h->header_timeout_ms, d);
	conf_get_u32(o, "client_idle_s", p, 1, 86400, 60, &h->client_idle_s, d);
	conf_get_u32(o, "response_timeout_ms", p, 100, 3600000, 30000,
		&h->response_timeout_ms, d);
	conf_get_u32(o, "upstream_idle_s", p, 1, 86400, 30, &h->upstream_idle_s, d);
	conf_get_u32(o, "upstream_pool_max", p, 0, 4096, 32, &h->upstream_pool_max, d);
	conf_get_u32(o, "max_inflight", p, 16, 1048576, 1024, &h->max_inflight, d);
	conf_get_u32(o, "max_slow_heads_per_client", p, 0, 4194304, 256,
		&h->max_slow_heads_per_client, d);
	conf_get_u32(o, "slow_head_mbufs", p, 0, 16777215, 0, &h->slow_head_mbufs, d);
}

static void
parse_ports(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "name", "address", "gateway",
		"rx_desc", "tx_desc", "mtu", NULL };
	char p[PTR_MAX], ep[PTR_MAX];
	json_t *a = conf_get_array(root, "ports", "", p, true, d);
	json_t *o;
	size_t i;

	if (a == NULL)
		return;
	if (json_array_size(a) == 0)
		conf_err(d, p, "at least one port is required");
	if (json_array_size(a) > SL_MAX_PORTS)
		conf_err(d, p, "at most %d ports are supported (got %zu)",
			 SL_MAX_PORTS, json_array_size(a));
	json_array_foreach(a, i, o) {
		struct sl_conf_port *port;
		uint32_t v;
		bool ok = true;

		if (i >= SL_MAX_PORTS)
			break;
		conf_ptr_idx(ep, p, i);
		if (!json_is_object(o)) {
			conf_err(d, ep, "must be an object");
			continue;
		}
		port = &c->ports[c->n_ports++];
		conf_check_keys(o, ep, keys, d);
		ok &= conf_get_str(o, "name", ep, true, port->name,
			      sizeof(port->name), d);
		ok &= conf_get_cidr(o, "address", ep, &port->addr,
			       &port->prefix_len, d);
		ok &= conf_get_ipv4(o, "gateway", ep, false, &port->gateway, d);
		ok &= conf_get_u32(o, "rx_desc", ep, 64, 32768, DEF_DESC, &v, d);
		port->rx_desc = (uint16_t)v;
		ok &= conf_get_u32(o, "tx_desc", ep, 64, 32768, DEF_DESC, &v, d);
		port->tx_desc = (uint16_t)v;
		ok &= conf_get_u32(o, "mtu", ep, 576, 9000, DEF_MTU, &v, d);
		port->mtu = (uint16_t)v;
		port->valid = ok;
	}
}

static bool
get_pool_ref(json_t *o, const char *key, const char *ep, bool required,
	     const struct sl_conf *c, int *pool, struct sl_conf_diag *d)
{
	char name[SL_NAME_MAX], kp[PTR_MAX];

	*pool = -1;
	if (!conf_get_str(o, key, ep, required, name, sizeof(name), d))
		return false;
	if (name[0] == '\0')
		return true;
	for (unsigned int i = 0; i < c->n_pools; i++)
		if (strcmp(c->pools[i].name, name) == 0)
			*pool = (int)i;
	if (*pool < 0) {
		conf_ptr_key(kp, ep, key);
		conf_err(d, kp, "pool \"%s\" is not defined in /pools", name);
		return false;
	}
	return true;
}

static void
parse_route(json_t *o, const char *ep, void *elem, void *ctx,
	    struct sl_conf_diag *d)
{
	static const char *const keys[] = { "prefix", "via", NULL };
	struct sl_conf_route *r = elem;
	bool ok = true;

	(void)ctx;
	conf_check_keys(o, ep, keys, d);
	ok &= conf_get_cidr(o, "prefix", ep, &r->prefix, &r->prefix_len, d);
	ok &= conf_get_ipv4(o, "via", ep, true, &r->via, d);
	r->valid = ok;
}

static void
parse_routes(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	char p[PTR_MAX];

	c->routes = conf_parse_objects(root, "routes", "", false, sizeof(*c->routes),
				  &c->n_routes, parse_route, NULL, p, d);
}

static const char *const method_names[SL_METHOD_MAX + 1] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
	"TRACE", NULL };

/* A host pattern: a DNS name, or "*." and a name. Stored lowercase. */
static bool
host_ok(char *h)
{
	const char *p = h;
	size_t label = 0;

	if (strncmp(h, "*.", 2) == 0)
		p += 2;
	if (*p == '\0')
		return false;
	for (char *c = h; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	for (; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			   *p == '-' || *p == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static bool
get_methods(json_t *o, const char *ep, uint16_t *methods, struct sl_conf_diag *d)
{
	char kp[PTR_MAX], mp[PTR_MAX];
	json_t *ma = conf_get_array(o, "methods", ep, kp, false, d), *m;
	bool ok = true;
	size_t k;

	*methods = 0;
	json_array_foreach(ma, k, m) {
		int b = -1;

		conf_ptr_idx(mp, kp, k);
		for (int x = 0; x < SL_METHOD_MAX && json_is_string(m); x++)
			if (strcmp(json_string_value(m), method_names[x]) == 0)
				b = x;
		if (b < 0) {
			conf_err(d, mp, "not an HTTP method (GET, HEAD, POST, PUT, "
				 "DELETE, OPTIONS, PATCH, CONNECT, TRACE)");
			ok = false;
		} else {
			*methods |= (uint16_t)(1u << b);
		}
	}
	return ok;
}

static void
parse_http_route(json_t *o, const char *ep, void *elem, void *ctx,
		 struct sl_conf_diag *d)
{
	static const char *const keys[] = { "host", "path_prefix", "methods",
		"pool", "rate_limit", NULL };
	struct sl_conf_http_route *r = elem;
	char kp[PTR_MAX];
	bool ok = true;

	conf_check_keys(o, ep, keys, d);
	ok &= conf_get_str(o, "host", ep, false, r->host, sizeof(r->host), d);
	if (r->host[0] != '\0' && !host_ok(r->host)) {
		conf_ptr_key(kp, ep, "host");
		conf_err(d, kp, "\"%s\" is not a host name or *.suffix pattern",
			 r->host);
		ok = false;
	}
	ok &= conf_get_str(o, "path_prefix", ep, false, r->path_prefix,
		      sizeof(r->path_prefix), d);
	if (r->path_prefix[0] == '\0') {
		strcpy(r->path_prefix, "/");
	} else if (r->path_prefix[0] != '/' || strpbrk(r->path_prefix, " ?#") != NULL) {
		conf_ptr_key(kp, ep, "path_prefix");
		conf_err(d, kp, "\"%s\" must start with '/' and hold no space, "
			 "'?' or '#'", r->path_prefix);
		ok = false;
	}
	ok &= get_methods(o, ep, &r->methods, d);
	ok &= get_pool_ref(o, "pool", ep, true, ctx, &r->pool, d);
	conf_parse_rate(o, "rate_limit", ep, &r->rate_limit, d);
	r->valid = ok;
}

static void
parse_listener(json_t *o, const char *ep, void *elem, void *ctx,
	       struct sl_conf_diag *d)
{
	static const char *const keys[] = { "name", "address", "port", "mode",
		"pool", "idle_timeout_s", "routes", "client_rate_limit", NULL };
	static const char *const modes[] = { "http", "tcp", NULL };
	struct sl_conf_listener *l = elem;
	char rp[PTR_MAX];
	uint64_t v;
	int mode;
	bool ok = true;

	conf_check_keys(o, ep, keys, d);
	ok &= conf_get_str(o, "name", ep, true, l->name, sizeof(l->name), d);
	ok &= conf_get_ipv4(o, "address", ep, true, &l->addr, d);
	ok &= conf_get_uint(o, "port", ep, 1, 65535, 0, true, &v, d);
	l->port = (uint16_t)v;
	mode = conf_get_enum(o, "mode", ep, modes, SL_MODE_HTTP, d);
	ok &= mode >= 0;
	l->mode = mode >= 0 ? (enum sl_listener_mode)mode : SL_MODE_HTTP;
	ok &= conf_get_u32(o, "idle_timeout_s", ep, 1, 86400, 300, &l->idle_timeout_s, d);
	l->routes = conf_parse_objects(o, "routes", ep, false, sizeof(*l->routes),
				  &l->n_routes, parse_http_route, ctx, rp, d);
	/* With routes, "pool" is optional: the default for a miss. */
	ok &= get_pool_ref(o, "pool", ep, l->n_routes == 0, ctx, &l->pool, d);
	conf_parse_rate(o, "client_rate_limit", ep, &l->client_rate_limit, d);
	l->valid = ok;
}

static void
parse_listeners(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	char p[PTR_MAX];

	c->listeners = conf_parse_objects(root, "listeners", "", true,
				     sizeof(*c->listeners), &c->n_listeners,
				     parse_listener, c, p, d);
}

/* One intel-ipsec-mb manager per thread that loads configs, set up on its
 * first load and kept: setting one up (alloc_mb_mgr + init_mb_mgr_auto)
 * costs far more than hashing a config, and loads come again on every
 * reload, --check-config and in the fuzzer. Thread-local because a manager
 * is not safe to share; config loads run on the main and control threads
 * only, so there are at most a few. */
static __thread IMB_MGR *hash_mgr;

static void
hash_buf(struct sl_conf *c, const char *buf, size_t len)
{
	if (hash_mgr == NULL) {
		hash_mgr = alloc_mb_mgr(0);
		if (hash_mgr != NULL)
			init_mb_mgr_auto(hash_mgr, NULL);
	}
	if (hash_mgr != NULL)
		IMB_SHA256(hash_mgr, buf, len, c->sha256);
	else
		memset(c->sha256, 0, sizeof(c->sha256));
	for (int i = 0; i < 32; i++)
		snprintf(c->sha256_hex + 2 * i, 3, "%02x", c->sha256[i]);
}

struct sl_conf *
sl_conf_load_buf(const char *name, const char *buf, size_t len, bool strict,
		 struct sl_conf_diag *d)
{
	static const char *const keys[] = { "$schema", "version", "runtime",
		"memory", "arp", "tcp", "http", "access_log", "ports", "routes",
		"pools", "listeners", "overload", "incidents", "shutdown", NULL };
	unsigned int errors_before = d->n_errors;
	json_error_t jerr;
	struct sl_conf *c;
	json_t *root;
	uint64_t version;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		conf_err(d, "", "invalid JSON at line %d, column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		conf_err(d, "", "the configuration must be a JSON object");
		json_decref(root);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		conf_err(d, "", "out of memory");
		json_decref(root);
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", name);
	hash_buf(c, buf, len);

	conf_check_keys(root, "", keys, d);
	if (conf_get_uint(root, "version", "", 0, UINT32_MAX, 1, true, &version, d) &&
	    version != 1)
		conf_err(d, "/version", "unsupported version %llu: this build reads "
			 "version 1", (unsigned long long)version);
	parse_runtime(root, c, d);
	parse_memory(root, c, d);
	parse_arp(root, c, d);
	parse_tcp(root, c, d);
	parse_access_log(root, c, d);
	parse_http(root, c, d);
	parse_ports(root, c, d);
	parse_routes(root, c, d);
	conf_parse_pools(root, c, d);
	conf_parse_overload(root, c, d);
	conf_parse_incidents(root, c, d);
	parse_shutdown(root, c, d);
	parse_listeners(root, c, d);
	json_decref(root);

	conf_check(c, d);

	if (d->n_errors > errors_before || (strict && d->n_warnings > 0)) {
		sl_conf_free(c);
		return NULL;
	}
	sl_conf_layout_init(c);
	return c;
}

struct sl_conf *
sl_conf_load(const char *path, bool strict, struct sl_conf_diag *d)
{
	struct sl_conf *c;
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL) {
		conf_err(d, "", "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		conf_err(d, "", "cannot read: %s", strerror(errno));
		fclose(f);
		return NULL;
	}
	if (len > 16 * 1024 * 1024) {
		conf_err(d, "", "file is larger than 16 MiB");
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		conf_err(d, "", "cannot read: %s", buf ? strerror(errno) :
			 "out of memory");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	c = sl_conf_load_buf(path, buf, (size_t)len, strict, d);
	free(buf);
	return c;
}

void
sl_conf_free(struct sl_conf *c)
{
	if (c == NULL)
		return;
	for (unsigned int i = 0; i < c->n_pools; i++)
		free(c->pools[i].backends);
	free(c->pools);
	free(c->routes);
	for (unsigned int i = 0; i < c->n_listeners; i++)
		free(c->listeners[i].routes);
	free(c->listeners);
	free(c);
}
