/*
 * App events are told after the burst (lib/tcp/tcp_event.c): input only
 * marks connections, sl_tcp_dispatch() runs the callbacks, in order
 * (accept, established, readable, writable, closed), once per connection,
 * and a connection an app frees before its turn hears nothing more.
 */
#include <string.h>

#include "sl_test_tcp.h"
#include "sl_test_poison_pool.h"

#define LPORT_EV 9001

/* What the app of these tests heard, in order: a letter per callback. */
static char heard[64];
static unsigned int n_heard;
static char last_bytes[16];
static struct sl_tcp_conn *ev_conns[4];
static unsigned int n_ev_conns;
/* readable() of the first connection aborts the second and reuses its slot. */
static bool abort_second;
static struct sl_tcp_conn *reopened;

static void
note(char what)
{
	n_midsegment += in_tcp_input;
	if (n_heard < sizeof(heard) - 1)
		heard[n_heard++] = what;
}

static void ev_established(struct sl_tcp_conn *c) { (void)c; note('e'); }
static void ev_writable(struct sl_tcp_conn *c) { (void)c; note('w'); }

static void
ev_readable(struct sl_tcp_conn *c)
{
	note('r');
	if (abort_second && c == ev_conns[0] && n_ev_conns > 1) {
		static const struct sl_tcp_app_ops none;

		sl_tcp_abort(S, ev_conns[1]);
		/* The free list is LIFO: the new connection takes that slot. */
		reopened = sl_tcp_connect(S, PEER, 80, 1000, &none, NULL);
	}
}

/* The connection is gone from the network but its last bytes are here. */
static void
ev_closed(struct sl_tcp_conn *c, enum sl_tcp_close_reason why)
{
	struct sl_mq q;
	uint32_t off = 0;

	note(why == SL_TCP_CLOSE_RESET ? 'R' : 'c');
	sl_tcp_recv(S, c, UINT32_MAX, &q);
	for (struct rte_mbuf *m = q.head; m != NULL; m = sl_mq_next(m)) {
		uint32_t n = RTE_MIN((uint32_t)rte_pktmbuf_data_len(m),
				     (uint32_t)sizeof(last_bytes) - 1 - off);

		memcpy(last_bytes + off, rte_pktmbuf_mtod(m, char *), n);
		off += n;
	}
	last_bytes[off] = '\0';
	sl_mq_free(&q);
}

static const struct sl_tcp_app_ops ev_ops = {
	.established = ev_established,
	.readable = ev_readable,
	.writable = ev_writable,
	.closed = ev_closed,
};

static int
ev_accept(struct sl_tcp_conn *c, void *arg)
{
	(void)arg;
	note('a');
	c->ops = &ev_ops;
	if (n_ev_conns < RTE_DIM(ev_conns))
		ev_conns[n_ev_conns++] = c;
	return 0;
}

static void
ev_setup(void)
{
	setup();
	CHECK_EQ(sl_tcp_listen(S, OURS, LPORT_EV, ev_accept, NULL), 0);
	memset(heard, 0, sizeof(heard));
	n_heard = 0;
	n_ev_conns = 0;
	last_bytes[0] = '\0';
	abort_second = false;
	reopened = NULL;
}

/* SYN from sport, answered; returns our ISN. */
static uint32_t
ev_syn(uint16_t sport, uint32_t isn)
{
	return syn_to(sport, LPORT_EV, isn);
}

/*
 * One burst: the handshake's last ACK carrying data, then RST. Nothing is
 * told during it; the dispatch after it tells accept, readable and the
 * close, and the app can still take the bytes in closed().
 */
static void
test_burst_told_after_in_order(void)
{
	uint32_t iss;

	ev_setup();
	iss = ev_syn(41000, 5000);
	hold_dispatch = true;
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 5001, .ack = iss + 1,
			      .data = "hello", .len = 5, .sport = 41000,
			      .dport = LPORT_EV });
	CHECK_EQ(n_heard, 0);
	CHECK_EQ(sl_tcp_dispatch(S), 1);
	CHECK(strcmp(heard, "ar") == 0);
	/* The next burst: more data, then RST. */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 5006, .ack = iss + 1,
			      .data = "world", .len = 5, .sport = 41000,
			      .dport = LPORT_EV });
	send_in(&(struct in){ .flags = RST, .seq = 5011, .sport = 41000,
			      .dport = LPORT_EV });
	CHECK(strcmp(heard, "ar") == 0);
	/* The slot waits for its app to be told; the 4-tuple is free already. */
	CHECK_EQ(S->stats.active, 1);
	CHECK_EQ(sl_tcp_dispatch(S), 1);
	CHECK(strcmp(heard, "arrR") == 0);
	CHECK(strcmp(last_bytes, "helloworld") == 0);
	CHECK_EQ(S->stats.active, 0);
	CHECK_EQ(S->mbufs_held, 0);
	/* Reset before its accept was told: the app never hears of it. */
	iss = ev_syn(41003, 8000);
	send_in(&(struct in){ .flags = ACK, .seq = 8001, .ack = iss + 1,
			      .sport = 41003, .dport = LPORT_EV });
	send_in(&(struct in){ .flags = RST, .seq = 8001, .sport = 41003,
			      .dport = LPORT_EV });
	CHECK_EQ(S->stats.active, 0);
	CHECK(strcmp(heard, "arrR") == 0);
	/* Nothing left to tell. */
	CHECK_EQ(sl_tcp_dispatch(S), 0);
	drain_out();
	teardown();
}

/*
 * Two connections readable in one burst; the first one's callback aborts
 * the second and opens a connection that takes its slot. The second is
 * never told anything, and the new one does not inherit its event.
 */
static void
test_freed_before_its_turn_hears_nothing(void)
{
	uint32_t iss1, iss2;

	ev_setup();
	iss1 = ev_syn(41001, 6000);
	iss2 = ev_syn(41002, 7000);
	hold_dispatch = true;
	send_in(&(struct in){ .flags = ACK, .seq = 6001, .ack = iss1 + 1,
			      .sport = 41001, .dport = LPORT_EV });
	send_in(&(struct in){ .flags = ACK, .seq = 7001, .ack = iss2 + 1,
			      .sport = 41002, .dport = LPORT_EV });
	CHECK_EQ(sl_tcp_dispatch(S), 2);
	CHECK(strcmp(heard, "aa") == 0);
	/* The next burst: data for both. */
	send_in(&(struct in){ .flags = ACK, .seq = 6001, .ack = iss1 + 1,
			      .data = "a", .len = 1, .sport = 41001,
			      .dport = LPORT_EV });
	send_in(&(struct in){ .flags = ACK, .seq = 7001, .ack = iss2 + 1,
			      .data = "b", .len = 1, .sport = 41002,
			      .dport = LPORT_EV });
	CHECK(strcmp(heard, "aa") == 0);
	abort_second = true;
	/* The first is told readable (and aborts the second), the second
	 * nothing: its event went with it. */
	CHECK_EQ(sl_tcp_dispatch(S), 1);
	CHECK(strcmp(heard, "aar") == 0);
	CHECK(reopened != NULL);
	CHECK(reopened == ev_conns[1]);
	CHECK_EQ(reopened->state, SL_TCP_SYN_SENT);
	CHECK_EQ(reopened->events, 0);
	CHECK_EQ(sl_tcp_dispatch(S), 0);
	CHECK_EQ(S->stats.active, 2);
	sl_tcp_abort(S, reopened);
	sl_tcp_abort(S, ev_conns[0]);
	drain_out();
	teardown();
}

/* An active open is told `established` at dispatch, not in the SYN-ACK. */
static void
test_established_told_at_dispatch(void)
{
	struct sl_tcp_conn *c;
	struct out o;

	ev_setup();
	c = sl_tcp_connect(S, PEER, 8080, 1000, &ev_ops, NULL);
	CHECK(c != NULL);
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, SYN);
	hold_dispatch = true;
	send_in(&(struct in){ .flags = SYN | ACK, .seq = 9000, .ack = o.seq + 1,
			      .sport = 8080, .dport = c->lport });
	CHECK_EQ(c->state, SL_TCP_ESTABLISHED);
	CHECK_EQ(n_heard, 0);
	CHECK_EQ(sl_tcp_dispatch(S), 1);
	CHECK(strcmp(heard, "e") == 0);
	sl_tcp_abort(S, c);
	CHECK_EQ(S->stats.active, 0);
	drain_out();
	teardown();
}

int
main(int argc, char **argv)
{
	int before;

	(void)argc;
	if (sl_test_eal_init(argv[0], "128") != 0)
		return 1;
	CHECK_EQ(sl_tcp_global_init(), 0);
	mp = sl_test_poison_pool_create("t_mbuf", 1023);
	before = (int)rte_mempool_avail_count(mp);
	test_burst_told_after_in_order();
	test_freed_before_its_turn_hears_nothing();
	test_established_told_at_dispatch();
	CHECK_EQ(n_midsegment, 0);
	CHECK_EQ((int)rte_mempool_avail_count(mp), before);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return sl_test_result("test_tcp_events");
}
