/*
 * The session layer (lib/session): an application on the byte-stream API
 * with its own context, with and without a layer between it and TCP. The
 * layer here XORs every byte both ways and counts them: the peer sees
 * only XORed bytes, the application only clear ones, and neither TCP nor
 * the application knows the layer is there.
 */
#include <string.h>

#include "sl_session.h"
#include "sl_test_tcp.h"
#include "sl_test_poison_pool.h"

#define LPORT_SS 9002
#define XOR_KEY  0x5a

/* The application: one per session, passed back in every callback. */
struct app {
	struct sl_session *ss;
	char got[64];
	unsigned int n_got;
	int n_readable, n_closed;
	enum sl_session_close why;
	bool echo;                   /* write back "pong" on "ping" */
};

/* The XOR layer's state for one session. */
struct xor_layer {
	struct sl_mq rx;             /* clear bytes for the application */
	uint64_t bytes_in, bytes_out;
};

static struct app apps[2];
static struct xor_layer xors[2];
static unsigned int n_apps;
static bool use_layer;

static void
xor_mbuf(struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next) {
		uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

		for (uint16_t i = 0; i < m->data_len; i++)
			p[i] ^= XOR_KEY;
	}
}

static void x_established(struct sl_session *ss, void *ctx)
{
	(void)ctx;
	sl_session_app_established(ss);
}

static void
x_readable(struct sl_session *ss, void *ctx)
{
	struct xor_layer *x = ctx;
	struct sl_mq q;

	sl_session_lower_recv(ss, UINT32_MAX, &q);
	for (struct rte_mbuf *m = q.head; m != NULL; m = sl_mq_next(m))
		xor_mbuf(m);
	x->bytes_in += q.bytes;
	sl_mq_splice(&x->rx, &q);
	sl_session_app_readable(ss);
}

static void x_writable(struct sl_session *ss, void *ctx)
{
	(void)ctx;
	sl_session_app_writable(ss);
}

static void
x_closed(struct sl_session *ss, void *ctx, enum sl_session_close why)
{
	struct xor_layer *x = ctx;

	sl_session_app_closed(ss, why);
	sl_mq_free(&x->rx);
}

static int
x_send(struct sl_session *ss, void *ctx, struct rte_mbuf *m)
{
	struct xor_layer *x = ctx;

	xor_mbuf(m);
	x->bytes_out += m->pkt_len;
	return sl_session_lower_send(ss, m);
}

static struct sl_mq *
x_rxq(struct sl_session *ss, void *ctx)
{
	(void)ss;
	return &((struct xor_layer *)ctx)->rx;
}

static const struct sl_session_layer xor_layer = {
	.name = "xor", .established = x_established, .readable = x_readable,
	.writable = x_writable, .closed = x_closed, .send = x_send, .rxq = x_rxq,
};

/* The application: it reads what it is given, and knows nothing of XOR. */
static void
a_readable(struct sl_session *ss, void *ctx)
{
	struct app *a = ctx;
	struct rte_mbuf *m;

	n_midsegment += in_tcp_input;
	CHECK(ss == a->ss);
	a->n_readable++;
	/* Peek at the first byte only, consume it, then take the rest. */
	m = sl_session_peek(ss);
	if (m == NULL)
		return;
	if (a->n_got < sizeof(a->got) - 1)
		a->got[a->n_got++] = *rte_pktmbuf_mtod(m, char *);
	sl_session_consume(ss, 1);
	while ((m = sl_session_peek(ss)) != NULL) {
		uint16_t n = rte_pktmbuf_data_len(m);

		if (a->n_got + n < sizeof(a->got)) {
			memcpy(a->got + a->n_got, rte_pktmbuf_mtod(m, char *), n);
			a->n_got += n;
		}
		sl_session_consume(ss, n);
	}
	CHECK_EQ(sl_session_rx_bytes(ss), 0);
	if (a->echo && a->n_got >= 4 && memcmp(a->got, "ping", 4) == 0)
	{
		CHECK_EQ(sl_session_write(ss, mp, "pong", 4), 4);
		sl_session_flush(ss);
	}
}

static void
a_closed(struct sl_session *ss, void *ctx, enum sl_session_close why)
{
	struct app *a = ctx;

	n_midsegment += in_tcp_input;
	CHECK(ss == a->ss);
	a->n_closed++;
	a->why = why;
}

static const struct sl_session_ops a_ops = {
	.readable = a_readable, .closed = a_closed,
};

static int
a_accept(struct sl_session *ss, void *arg)
{
	struct app *a;

	(void)arg;
	n_midsegment += in_tcp_input;
	if (n_apps == RTE_DIM(apps))
		return -1;
	a = &apps[n_apps];
	memset(a, 0, sizeof(*a));
	a->ss = ss;
	a->echo = true;
	if (use_layer) {
		sl_mq_init(&xors[n_apps].rx);
		xors[n_apps].bytes_in = xors[n_apps].bytes_out = 0;
		sl_session_push_layer(ss, &xor_layer, &xors[n_apps]);
	}
	n_apps++;
	sl_session_bind(ss, &a_ops, a);
	return 0;
}

static struct sl_session_listener listener = { .accept = a_accept };

static uint32_t
ss_handshake(uint16_t sport, uint32_t isn)
{
	uint32_t iss = syn_to(sport, LPORT_SS, isn);

	send_in(&(struct in){ .flags = ACK, .seq = isn + 1, .ack = iss + 1,
			      .sport = sport, .dport = LPORT_SS });
	return iss;
}

/* ping in, pong out, FIN in: the application's view and the wire's. */
static void
run_ping_pong(bool layer, const char *wire_in, const char *wire_out_expect)
{
	struct out o;
	uint32_t iss;
	bool seen_pong = false;

	setup();
	CHECK_EQ(sl_session_listen(S, OURS, LPORT_SS, &listener), 0);
	n_apps = 0;
	use_layer = layer;
	iss = ss_handshake(42000, 1000);
	CHECK_EQ(n_apps, 1);
	CHECK(sl_session_established(apps[0].ss));
	CHECK_EQ(sl_session_remote_addr(apps[0].ss), PEER);
	CHECK_EQ(sl_session_remote_port(apps[0].ss), 42000);
	drain_out();
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 1001, .ack = iss + 1,
			      .data = wire_in, .len = 4, .sport = 42000,
			      .dport = LPORT_SS });
	/* The application saw "ping" whatever the wire carried. */
	CHECK_EQ(apps[0].n_readable, 1);
	CHECK_EQ(apps[0].n_got, 4);
	CHECK(memcmp(apps[0].got, "ping", 4) == 0);
	/* Its "pong" left as the layer made it. */
	while (get_out(&o))
		if (o.plen == 4) {
			CHECK(memcmp(o.payload, wire_out_expect, 4) == 0);
			seen_pong = true;
		}
	CHECK(seen_pong);
	if (layer) {
		CHECK_EQ(xors[0].bytes_in, 4);
		CHECK_EQ(xors[0].bytes_out, 4);
	}
	/* FIN, then the peer's RST after our FIN: closed told once. */
	send_in(&(struct in){ .flags = ACK | FIN, .seq = 1005, .ack = iss + 5,
			      .sport = 42000, .dport = LPORT_SS });
	CHECK(sl_session_eof(apps[0].ss));
	sl_session_shutdown(apps[0].ss);
	sl_session_flush(apps[0].ss);
	drain_out();
	send_in(&(struct in){ .flags = RST, .seq = 1006, .sport = 42000,
			      .dport = LPORT_SS });
	CHECK_EQ(apps[0].n_closed, 1);
	CHECK_EQ(apps[0].why, SL_SESSION_CLOSE_RESET);
	CHECK_EQ(S->stats.active, 0);
	CHECK_EQ(S->mbufs_held, 0);
	drain_out();
	teardown();
}

/* An mbuf chain sent by reference goes out whole, in order. */
static void
test_chain_sent_by_reference(void)
{
	struct rte_mbuf *a, *b;
	struct out o;
	char seen[8] = { 0 };
	uint32_t off = 0;

	setup();
	CHECK_EQ(sl_session_listen(S, OURS, LPORT_SS, &listener), 0);
	n_apps = 0;
	use_layer = false;
	(void)ss_handshake(42001, 2000);
	CHECK_EQ(n_apps, 1);
	apps[0].echo = false;
	drain_out();
	a = rte_pktmbuf_alloc(mp);
	b = rte_pktmbuf_alloc(mp);
	memcpy(rte_pktmbuf_append(a, 3), "abc", 3);
	memcpy(rte_pktmbuf_append(b, 3), "def", 3);
	CHECK_EQ(rte_pktmbuf_chain(a, b), 0);
	CHECK_EQ(sl_session_send(apps[0].ss, a), 0);
	CHECK_EQ(sl_session_unsent(apps[0].ss), 6);
	sl_session_flush(apps[0].ss);
	while (get_out(&o))
		if (o.plen > 0 && off + o.plen <= 6) {
			memcpy(seen + off, o.payload, o.plen);
			off += o.plen;
		}
	CHECK_EQ(off, 6);
	CHECK(memcmp(seen, "abcdef", 6) == 0);
	sl_session_abort(apps[0].ss);
	CHECK_EQ(apps[0].n_closed, 0);   /* abort: no callback */
	CHECK_EQ(S->stats.active, 0);
	drain_out();
	teardown();
}

int
main(int argc, char **argv)
{
	static const char xping[5] = { 'p' ^ XOR_KEY, 'i' ^ XOR_KEY,
		'n' ^ XOR_KEY, 'g' ^ XOR_KEY, 0 };
	static const char xpong[5] = { 'p' ^ XOR_KEY, 'o' ^ XOR_KEY,
		'n' ^ XOR_KEY, 'g' ^ XOR_KEY, 0 };
	int before;

	(void)argc;
	if (sl_test_eal_init(argv[0], "128") != 0)
		return 1;
	CHECK_EQ(sl_tcp_global_init(), 0);
	mp = sl_test_poison_pool_create("t_mbuf", 1023);
	before = (int)rte_mempool_avail_count(mp);
	run_ping_pong(false, "ping", "pong");
	run_ping_pong(true, xping, xpong);
	test_chain_sent_by_reference();
	CHECK_EQ(n_midsegment, 0);
	CHECK_EQ((int)rte_mempool_avail_count(mp), before);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return sl_test_result("test_session");
}
