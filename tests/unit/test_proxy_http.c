/*
 * The HTTP proxy (lib/proxy) end to end on one lcore's real TCP stack,
 * between a client and a backend played by the fake network of the proxy
 * fuzz harness (tests/fuzz/fuzz_stack.h: minimal TCP peers at L2-L4,
 * virtual time). What a request looks like at the backend (the fields the
 * proxy adds, hop-by-hop and Connection-named fields stripped), that the
 * response is relayed and the backend connection pooled and reused, and
 * the gateway's own answers: 400 for a Connection field naming a framing
 * field, 502 for a backend reset, 504 for a silent backend, 503 for a
 * refused connection. After each case every connection is closed and
 * nothing is left: clients, exchanges, TCP connections, mbufs.
 */
#define _GNU_SOURCE   /* memmem */
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "sl_conf.h"
#include "sl_event.h"
#include "sl_lcore.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"
#include "sl_route.h"
#include "sl_upstream.h"
#include "sl_test.h"
#include "sl_test_stack.h"
#include "../fuzz/fuzz_stack.h"

#define GW_IP      0xc6120001u   /* 198.18.0.1 */
#define CLIENT_IP  0xc6120002u   /* 198.18.0.2 */
#define BACKEND_IP 0xc612000au   /* 198.18.0.10 */

/*
 * No retries: with one backend, each failure is the client's answer. A
 * pooled connection's idle age is wall time, not the virtual clock: a
 * long upstream_idle_s keeps a slow machine from retiring it mid-case.
 */
static const char conf_json[] =
	"{\"version\": 1,"
	" \"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"} ],"
	" \"tcp\": {\"max_conns\": 64, \"rcv_buf\": 16384, \"snd_buf\": 16384,"
	"   \"time_wait_s\": 0, \"rto_init_ms\": 100, \"retries\": 3,"
	"   \"syn_retries\": 1},"
	" \"http\": {\"header_timeout_ms\": 1000, \"client_idle_s\": 1,"
	"   \"response_timeout_ms\": 500, \"upstream_idle_s\": 60,"
	"   \"max_inflight\": 16},"
	" \"pools\": [ {\"name\": \"a\", \"connect_timeout_ms\": 200,"
	"   \"retry\": {\"attempts\": 0},"
	"   \"backends\": [ {\"name\": \"b0\", \"address\": \"198.18.0.10\","
	"     \"port\": 80} ]} ],"
	" \"listeners\": [ {\"name\": \"web\", \"address\": \"198.18.0.1\","
	"   \"port\": 80, \"mode\": \"http\", \"pool\": \"a\"} ]}";

static struct fz_net N;
static struct sl_dp dp;
static struct sl_gen gen;
static struct sl_route_table *routes[2];
static unsigned int mbuf_base;
static uint16_t next_port = 30000;
static bool refuse_syn;           /* the backend host has nothing listening */
static struct fz_peer *backend;   /* the backend connection last written to */

static bool
on_syn(struct fz_net *n, uint32_t ip, uint16_t port)
{
	(void)n;
	return ip == BACKEND_IP && port == 80 && !refuse_syn;
}

/* Both hosts close when the gateway does, as a well-behaved peer would. */
static void
on_data(struct fz_net *n, struct fz_peer *p)
{
	if (p->ip == BACKEND_IP)
		backend = p;
	if (p->fin_rcvd && !p->fin_queued)
		fz_peer_close(n, p);
}

static struct sl_h1_proxy *
hp(void)
{
	return sl_h1_proxy_of(N.lc);
}

/* Does buf hold s (buf is not a C string)? */
static bool
has(const struct fuzz_buf *buf, const char *s)
{
	return buf->n > 0 && memmem(buf->b, buf->n, s, strlen(s)) != NULL;
}

static unsigned int
count(const struct fuzz_buf *buf, const char *s)
{
	size_t len = strlen(s), off = 0;
	unsigned int k = 0;
	const uint8_t *hit;

	while (off < buf->n &&
	       (hit = memmem(buf->b + off, buf->n - off, s, len)) != NULL) {
		k++;
		off = (size_t)(hit - buf->b) + len;
	}
	return k;
}

static struct fz_peer *
client_connect(void)
{
	struct fz_peer *c = fz_peer_connect(&N, CLIENT_IP, next_port++, 80);

	fz_net_pump(&N);
	CHECK(c->est);
	return c;
}

static void
client_send(struct fz_peer *c, const char *req)
{
	fz_peer_write(&N, c, req, strlen(req), 0);
	fz_net_pump(&N);
}

/*
 * Close what is still open, let every timer run out, and check that
 * nothing is left; then forget the peers.
 */
static void
finish(struct fz_peer *c)
{
	/* The client, then the backend: a pooled connection the backend
	 * closes leaves the pool. */
	if (!fz_peer_gone(c))
		fz_peer_close(&N, c);
	fz_net_advance(&N, 100);
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++)
		if (N.peers[i].used && !fz_peer_gone(&N.peers[i]))
			fz_peer_close(&N, &N.peers[i]);
	fz_net_advance(&N, 3000);
	CHECK_EQ(sl_tcp_of(N.lc)->stats.active, 0);
	CHECK_EQ(hp()->stats.clients, 0);
	CHECK_EQ(hp()->stats.inflight, 0);
	CHECK_EQ(hp()->idle[0].n, 0);
	CHECK_EQ(rte_ring_count(N.tx), 0);
	CHECK_EQ(rte_mempool_avail_count(N.mp), mbuf_base);
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++) {
		fuzz_buf_free(&N.peers[i].out);
		fuzz_buf_free(&N.peers[i].in);
		N.peers[i].used = false;
	}
	backend = NULL;
	refuse_syn = false;
}

static const char ok_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* A GET reaches the backend with the proxy's fields; its answer comes back. */
static void
test_get_forwarded(void)
{
	struct sl_h1_stats before = hp()->stats;
	struct fz_peer *c = client_connect();

	client_send(c, "GET /a/../b HTTP/1.1\r\nHost: example\r\nX-Keep: 1\r\n\r\n");
	CHECK(backend != NULL);
	if (backend == NULL) {
		finish(c);
		return;
	}
	/* The target with its dot-segments removed, in HTTP/1.1. */
	CHECK(has(&backend->in, "GET /b HTTP/1.1\r\n"));
	CHECK(has(&backend->in, "\r\nHost: example\r\n"));
	CHECK(has(&backend->in, "\r\nX-Keep: 1\r\n"));
	CHECK(has(&backend->in, "\r\nX-Forwarded-For: 198.18.0.2\r\n"));
	CHECK(has(&backend->in, "\r\nX-Forwarded-Proto: http\r\n"));
	CHECK(has(&backend->in, "\r\nVia: 1.1 sluice\r\n"));
	CHECK(has(&backend->in, "\r\nX-Request-Id: "));
	CHECK(backend->in.n > 4 &&
	      memcmp(backend->in.b + backend->in.n - 4, "\r\n\r\n", 4) == 0);
	CHECK_EQ(c->in.n, 0);   /* nothing for the client before the backend answers */

	fz_peer_write(&N, backend, ok_resp, strlen(ok_resp), 0);
	fz_net_pump(&N);
	CHECK(c->in.n > 17 && memcmp(c->in.b, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(has(&c->in, "\r\nContent-Length: 2\r\n"));
	CHECK(has(&c->in, "\r\nVia: 1.1 sluice\r\n"));
	CHECK(c->in.n > 6 && memcmp(c->in.b + c->in.n - 6, "\r\n\r\nok", 6) == 0);
	CHECK(!c->fin_rcvd);   /* keep-alive */
	CHECK_EQ(hp()->stats.requests - before.requests, 1);
	CHECK_EQ(hp()->stats.status_2xx - before.status_2xx, 1);
	CHECK_EQ(hp()->stats.upstream_connects - before.upstream_connects, 1);
	CHECK_EQ(hp()->idle[0].n, 1);   /* the backend connection is pooled */
	finish(c);
}

/*
 * The next request on a keep-alive client goes over the pooled backend
 * connection. X-Forwarded-For gets the client appended; hop-by-hop fields
 * and the ones Connection names stay behind.
 */
static void
test_keepalive_reuses_pool_and_strips(void)
{
	struct sl_h1_stats before = hp()->stats;
	struct fz_peer *c = client_connect(), *first;
	size_t at;

	client_send(c, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
	first = backend;
	CHECK(first != NULL);
	if (first == NULL) {
		finish(c);
		return;
	}
	fz_peer_write(&N, first, ok_resp, strlen(ok_resp), 0);
	fz_net_pump(&N);
	at = first->in.n;
	client_send(c, "GET /2 HTTP/1.1\r\nHost: h\r\n"
		    "X-Forwarded-For: 198.18.0.99\r\n"
		    "Connection: X-Drop\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\n"
		    "TE: trailers\r\nX-Keep: 2\r\n\r\n");
	CHECK(backend == first);   /* the same backend connection */
	CHECK_EQ(hp()->stats.upstream_reused - before.upstream_reused, 1);
	CHECK_EQ(hp()->stats.upstream_connects - before.upstream_connects, 1);
	{
		struct fuzz_buf second = { 0 };

		fuzz_buf_put(&second, first->in.b + at, first->in.n - at);
		CHECK(has(&second, "GET /2 HTTP/1.1\r\n"));
		CHECK(has(&second, "\r\nX-Forwarded-For: 198.18.0.99, 198.18.0.2\r\n"));
		CHECK_EQ(count(&second, "X-Forwarded-For"), 1);
		CHECK(!has(&second, "X-Drop"));
		CHECK(!has(&second, "Keep-Alive"));
		CHECK(!has(&second, "Connection"));
		CHECK(!has(&second, "TE:"));
		CHECK(has(&second, "\r\nX-Keep: 2\r\n"));
		fuzz_buf_free(&second);
	}
	fz_peer_write(&N, first, ok_resp, strlen(ok_resp), 0);
	fz_net_pump(&N);
	CHECK_EQ(count(&c->in, "HTTP/1.1 200 OK\r\n"), 2);
	CHECK_EQ(hp()->stats.requests - before.requests, 2);
	finish(c);
}

/* The gateway's own error answers the client and closes its connection. */
static void
check_error(struct fz_peer *c, const char *line)
{
	CHECK(c->in.n > strlen(line) && memcmp(c->in.b, line, strlen(line)) == 0);
	CHECK(has(&c->in, "\r\nConnection: close\r\n"));
	CHECK(c->fin_rcvd);
}

/* Connection may not name a field the framing or the proxy depends on. */
static void
test_connection_naming_framing_is_400(void)
{
	struct sl_h1_stats before = hp()->stats;
	struct fz_peer *c = client_connect();

	client_send(c, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		    "Connection: content-length\r\n\r\nabc");
	check_error(c, "HTTP/1.1 400 Bad Request\r\n");
	CHECK(backend == NULL);   /* nothing reached a backend */
	CHECK_EQ(hp()->stats.conn_forbidden - before.conn_forbidden, 1);
	CHECK_EQ(hp()->stats.err_400 - before.err_400, 1);
	CHECK_EQ(hp()->stats.status_4xx - before.status_4xx, 1);
	finish(c);
}

/* A backend that resets after the request: 502. */
static void
test_backend_reset_is_502(void)
{
	struct sl_h1_stats before = hp()->stats;
	struct fz_peer *c = client_connect();

	client_send(c, "GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(backend != NULL);
	if (backend != NULL) {
		fz_peer_reset(&N, backend);
		fz_net_pump(&N);
	}
	check_error(c, "HTTP/1.1 502 Bad Gateway\r\n");
	CHECK_EQ(hp()->stats.err_502 - before.err_502, 1);
	CHECK_EQ(hp()->stats.status_5xx - before.status_5xx, 1);
	finish(c);
}

/* A backend that says nothing within response_timeout_ms: 504. */
static void
test_silent_backend_is_504(void)
{
	struct sl_h1_stats before = hp()->stats;
	struct fz_peer *c = client_connect();

	client_send(c, "GET /s HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(backend != NULL);
	fz_net_advance(&N, 400);
	CHECK_EQ(c->in.n, 0);   /* not yet: the timeout is 500 ms */
	fz_net_advance(&N, 200);
	check_error(c, "HTTP/1.1 504 Gateway Timeout\r\n");
	CHECK_EQ(hp()->stats.err_504 - before.err_504, 1);
	finish(c);
}

/* Nothing listens on the backend (RST to the SYN): 503. */
static void
test_refused_backend_is_503(void)
{
	struct sl_h1_stats before = hp()->stats;
	struct fz_peer *c = client_connect();

	refuse_syn = true;
	client_send(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	check_error(c, "HTTP/1.1 503 Service Unavailable\r\n");
	CHECK(backend == NULL);
	CHECK_EQ(hp()->stats.err_503 - before.err_503, 1);
	CHECK_EQ(hp()->stats.upstream_connects - before.upstream_connects, 1);
	finish(c);
}

/* One lcore as fuzz_proxy.c sets it up: the proxy over a real TCP stack. */
static int
setup(char *argv0)
{
	static const struct rte_ether_addr gw_mac = {{ 0x02, 0, 0, 0, 0, 0x01 }};
	struct sl_conf_diag d = { 0 };
	struct sl_conf *conf;
	struct sl_lcore *lc;
	struct rte_ether_addr mac;

	if (sl_test_eal_init(argv0, "256") != 0 || sl_tcp_global_init() != 0)
		return -1;
	conf = sl_conf_load_buf("test_proxy_http", conf_json, strlen(conf_json),
				false, &d);
	sl_conf_diag_print(&d, "test_proxy_http", stderr);
	sl_conf_diag_free(&d);
	if (conf == NULL)
		return -1;
	routes[0] = sl_route_compile(&conf->listeners[0]);
	gen.conf = conf;
	gen.routes = routes;
	N.mp = rte_pktmbuf_pool_create("tp_mbufs", 4095, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	N.tx = rte_ring_create("tp_tx", 16384, SOCKET_ID_ANY,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp.conf = conf;
	dp.gen = &gen;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.start_tsc = rte_rdtsc();
	dp.n_ports = 1;
	dp.ports[0].addr = GW_IP;
	dp.ports[0].prefix_len = 24;
	dp.ports[0].mask = 0xffffff00u;
	dp.ports[0].mac = gw_mac;
	dp.ports[0].mtu = 1500;
	dp.n_workers = 1;
	dp.events = sl_event_log_create(64);
	if (routes[0] == NULL || N.mp == NULL || N.tx == NULL || dp.events == NULL)
		return -1;
	dp.up = sl_upstream_create(conf, 1, dp.events);
	lc = rte_zmalloc("tp_lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	if (dp.up == NULL || lc == NULL)
		return -1;
	lc->lcore_id = rte_lcore_id();
	lc->dp = &dp;
	lc->pool = N.mp;
	lc->gen = &gen;
	lc->now = rte_rdtsc();
	lc->arp = sl_arp_create("tp_arp", SOCKET_ID_ANY, &conf->arp, dp.tsc_hz);
	sl_tcp_stack_create(lc, &conf->tcp, SOCKET_ID_ANY, 0, 1);
	if (lc->arp == NULL || sl_tcp_of(lc) == NULL)
		return -1;
	sl_h1_create(sl_tcp_of(lc), &gen, SOCKET_ID_ANY);
	if (sl_h1_proxy_of(lc) == NULL)
		return -1;
	/* Every frame flushed goes to our ring, not to an ethdev. */
	lc->txq[0].handoff = N.tx;
	N.lc = lc;
	N.gw_ip = GW_IP;
	N.gw_mac = gw_mac;
	N.on_data = on_data;
	N.on_syn = on_syn;
	N.vnow = sl_tcp_of(lc)->wheel.now;
	N.iss_seed = 0x5eed;
	/* Both hosts introduce themselves, so nothing waits on ARP. */
	mac = fz_mac_of(CLIENT_IP);
	fz_arp(&N, &mac, CLIENT_IP, RTE_ARP_OP_REQUEST);
	mac = fz_mac_of(BACKEND_IP);
	fz_arp(&N, &mac, BACKEND_IP, RTE_ARP_OP_REQUEST);
	fz_net_pump(&N);
	mbuf_base = rte_mempool_avail_count(N.mp);
	return 0;
}

/*
 * An operator's counter reset, as the worker runs it (reset_req):
 * sl_lcore_reset_counters zeroes the port counters and has each attached
 * module zero its own, keeping its gauges; here mid-exchange, with one
 * client, one request in flight and two TCP connections. A module never
 * attached to this lcore (the L4 proxy) reads NULL.
 */
static uint64_t
route_hist_count(void)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < hp()->n_route_hists; i++)
		n += hp()->route_total[i].count;
	return n;
}

static void
test_counter_reset_keeps_gauges(void)
{
	struct sl_tcp_stack *s = sl_tcp_of(N.lc);
	struct fz_peer *c = client_connect();

	CHECK(sl_lcore_module_ctx(N.lc, &sl_h1_module) == hp());
	CHECK(sl_proxy_of(N.lc) == NULL);
	client_send(c, "GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(backend != NULL);
	if (backend == NULL) {
		finish(c);
		return;
	}
	CHECK(hp()->stats.requests > 0 && hp()->stats.status_2xx > 0);
	CHECK(s->stats.segments_in > 0 && N.lc->stats[0].rx_packets > 0);
	CHECK(route_hist_count() > 0);
	sl_lcore_reset_counters(N.lc);
	CHECK_EQ(hp()->stats.requests, 0);
	CHECK_EQ(hp()->stats.status_2xx, 0);
	CHECK_EQ(hp()->stats.upstream_connects, 0);
	CHECK_EQ(route_hist_count(), 0);
	CHECK_EQ(s->stats.segments_in, 0);
	CHECK_EQ(s->stats.passive_opens, 0);
	CHECK_EQ(N.lc->stats[0].rx_packets, 0);
	CHECK_EQ(N.lc->cycles.polls, 0);
	/* The gauges stay. */
	CHECK_EQ(hp()->stats.clients, 1);
	CHECK_EQ(hp()->stats.inflight, 1);
	CHECK_EQ(s->stats.active, 2);
	CHECK_EQ(s->stats.state[SL_TCP_ESTABLISHED], 2);
	/* Counting goes on from zero. */
	fz_peer_write(&N, backend, ok_resp, strlen(ok_resp), 0);
	fz_net_pump(&N);
	CHECK_EQ(count(&c->in, "HTTP/1.1 200 OK\r\n"), 1);
	CHECK_EQ(hp()->stats.status_2xx, 1);
	CHECK_EQ(hp()->stats.inflight, 0);
	CHECK_EQ(route_hist_count(), 1);
	CHECK_EQ(sl_h1_idle_conns(hp(), 0), 1);   /* the backend connection is pooled */
	finish(c);
}

int
main(int argc, char **argv)
{
	(void)argc;
	if (setup(argv[0]) != 0) {
		fprintf(stderr, "set-up failed\n");
		return 1;
	}
	test_get_forwarded();
	test_keepalive_reuses_pool_and_strips();
	test_connection_naming_framing_is_400();
	test_backend_reset_is_502();
	test_silent_backend_is_504();
	test_refused_backend_is_503();
	test_counter_reset_keeps_gauges();
	return sl_test_result("proxy_http");
}
