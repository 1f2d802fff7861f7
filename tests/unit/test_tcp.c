/*
 * The TCP state machine driven by crafted segments, packetdrill style:
 * each test feeds segments from a scripted peer (198.18.0.2) into the stack
 * through sl_net_input and checks the segments it emits, read back from the
 * lcore's TX buffer. Time is moved by advancing the timer wheel.
 */
#include <rte_eal.h>

#include "sl_test_tcp.h"
#include "sl_test_poison_pool.h"

static void
test_handshake_and_options(void)
{
	struct out o;

	setup();
	send_in(&(struct in){ .flags = SYN, .seq = 5000, .syn_opts = true,
			      .ts = true, .tsval = 777 });
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ack, 5001);
	CHECK(o.o.mss_ok && o.o.mss == 1460);
	CHECK(o.o.ws_ok);
	CHECK(o.o.sack_perm);
	CHECK(o.o.ts_ok && o.o.tsecr == 777);
	CHECK_EQ(S->stats.half_open, 1);
	CHECK_EQ(n_accepts, 0);
	send_in(&(struct in){ .flags = ACK, .seq = 5001, .ack = o.seq + 1,
			      .ts = true, .tsval = 778, .tsecr = o.o.tsval });
	CHECK_EQ(n_accepts, 1);
	CHECK_EQ(S->stats.half_open, 0);
	CHECK(accepted->flags & SL_TCPF_TS);
	CHECK(accepted->flags & SL_TCPF_SACK);
	CHECK_EQ(accepted->snd_wscale, 7);
	CHECK_EQ(accepted->mss, 1460 - 12);   /* timestamps use 12 bytes */
	CHECK_EQ(n_out(), 0);

	/* Without options: MSS defaults to 536, no WS/SACK/TS. */
	send_in(&(struct in){ .flags = SYN, .seq = 1, .sport = 40001 });
	CHECK(get_out(&o));
	CHECK(!o.o.ws_ok && !o.o.ts_ok && !o.o.sack_perm);
	/* Nothing listens on another port: RST, counted. */
	{
		struct in x = { .flags = SYN, .seq = 9 };

		send_in(&x);
	}
	teardown();
}

static void
test_refused_and_no_listener(void)
{
	struct out o;
	uint32_t iss;

	setup();
	refuse = true;
	send_in(&(struct in){ .flags = SYN, .seq = 100 });
	CHECK(get_out(&o));
	iss = o.seq;
	send_in(&(struct in){ .flags = ACK, .seq = 101, .ack = iss + 1 });
	CHECK(get_out(&o));
	CHECK(o.flags & RST);
	CHECK_EQ(S->stats.active, 0);
	teardown();
}

static void
test_data_and_delayed_ack(void)
{
	struct out o;
	uint32_t iss;
	struct sl_mq q;

	setup();
	iss = handshake(1000, false);
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 1001, .ack = iss + 1,
			      .data = "hello", .len = 5 });
	CHECK_EQ(n_readable, 1);
	CHECK_EQ(accepted->rcvq.bytes, 5);
	CHECK_EQ(n_out(), 0);            /* one segment: the ACK is delayed */
	advance(39);
	CHECK_EQ(n_out(), 0);
	advance(2);
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, 1006);
	/* Two segments: acknowledged at once. */
	send_in(&(struct in){ .flags = ACK, .seq = 1006, .ack = iss + 1,
			      .data = "ab", .len = 2 });
	send_in(&(struct in){ .flags = ACK, .seq = 1008, .ack = iss + 1,
			      .data = "cd", .len = 2 });
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 1010);
	sl_tcp_recv(S, accepted, UINT32_MAX, &q);
	CHECK_EQ(q.bytes, 9);
	CHECK(memcmp(rte_pktmbuf_mtod(q.head, char *), "hello", 5) == 0);
	sl_mq_free(&q);
	/* Sending: the payload goes out in one segment with PSH. */
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

		memcpy(rte_pktmbuf_append(m, 4), "pong", 4);
		CHECK_EQ(sl_tcp_send(S, accepted, m), 0);
		sl_tcp_output(S, accepted);
	}
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.plen, 4);
	CHECK(memcmp(o.payload, "pong", 4) == 0);
	CHECK(o.flags & PSH);
	/*
	 * Keep-alive: a request, its ACK riding on the answer, then the next
	 * request. "Every second segment" counts from the last ACK sent, so
	 * the second request waits on the delayed ACK like the first.
	 */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 1010, .ack = iss + 5,
			      .data = "req1", .len = 4 });
	CHECK_EQ(n_out(), 0);
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

		memcpy(rte_pktmbuf_append(m, 4), "ans1", 4);
		CHECK_EQ(sl_tcp_send(S, accepted, m), 0);
		sl_tcp_output(S, accepted);
	}
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 1014);
	CHECK_EQ(o.plen, 4);
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 1014, .ack = iss + 9,
			      .data = "req2", .len = 4 });
	CHECK_EQ(n_out(), 0);
	CHECK(sl_timer_armed(&accepted->delack_timer));
	teardown();
}

static void
test_out_of_order_and_sack(void)
{
	struct out o;
	uint32_t iss;

	setup();
	iss = handshake(2000, true);
	drain_out();
	/* Segment 2 first: an immediate duplicate ACK with a SACK block. */
	send_in(&(struct in){ .flags = ACK, .seq = 2011, .ack = iss + 1,
			      .data = "0123456789", .len = 10, .ts = true,
			      .tsval = 2000 });
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 2001);
	CHECK_EQ(o.o.n_sack, 1);
	CHECK_EQ(o.o.sack[0].start, 2011);
	CHECK_EQ(o.o.sack[0].end, 2021);
	CHECK_EQ(S->stats.ooo_segments, 1);
	CHECK_EQ(n_readable, 0);
	/* The hole fills: everything is acknowledged at once. */
	send_in(&(struct in){ .flags = ACK, .seq = 2001, .ack = iss + 1,
			      .data = "abcdefghij", .len = 10, .ts = true,
			      .tsval = 2001 });
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 2021);
	CHECK_EQ(o.o.n_sack, 0);
	CHECK_EQ(accepted->rcvq.bytes, 20);
	CHECK_EQ(accepted->ooo.n, 0);
	/* Two holes: the block of the latest arrival comes first (RFC 2018). */
	send_in(&(struct in){ .flags = ACK, .seq = 2041, .ack = iss + 1,
			      .data = "4444444444", .len = 10, .ts = true,
			      .tsval = 2002 });
	CHECK(get_out(&o));
	send_in(&(struct in){ .flags = ACK, .seq = 2031, .ack = iss + 1,
			      .data = "3333333333", .len = 10, .ts = true,
			      .tsval = 2003 });
	CHECK(get_out(&o));
	CHECK_EQ(o.o.n_sack, 1);   /* 2031-2051 merged into one block */
	send_in(&(struct in){ .flags = ACK, .seq = 2061, .ack = iss + 1,
			      .data = "6666666666", .len = 10, .ts = true,
			      .tsval = 2004 });
	CHECK(get_out(&o));
	CHECK_EQ(o.o.n_sack, 2);
	CHECK_EQ(o.o.sack[0].start, 2061);
	CHECK_EQ(o.o.sack[1].start, 2031);
	CHECK_EQ(o.o.sack[1].end, 2051);
	send_in(&(struct in){ .flags = ACK, .seq = 2021, .ack = iss + 1,
			      .data = "2222222222", .len = 10, .ts = true,
			      .tsval = 2005 });
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 2051);
	CHECK_EQ(accepted->rcvq.bytes, 50);
	/* PAWS: an old timestamp is dropped (and answered with an ACK). */
	send_in(&(struct in){ .flags = ACK, .seq = 2051, .ack = iss + 1,
			      .data = "zz", .len = 2, .ts = true, .tsval = 1500 });
	CHECK_EQ(accepted->rcvq.bytes, 50);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_TCP_PAWS], 1);
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 2051);
	teardown();
}

/*
 * A FIN inside data already queued out of order (found by fuzz_rx): the
 * stream ends at the FIN. What was queued beyond it is dropped, neither
 * delivered after the end nor acknowledged: the ACK is the FIN's + 1.
 */
static void
test_fin_before_queued_data(void)
{
	struct out o;
	uint32_t iss;
	uint64_t dropped;

	setup();
	iss = handshake(2000, true);
	drain_out();
	send_in(&(struct in){ .flags = ACK, .seq = 2011, .ack = iss + 1,
			      .data = "0123456789", .len = 10, .ts = true,
			      .tsval = 2000 });
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 2001);
	CHECK_EQ(accepted->ooo.n, 1);
	dropped = lc->stats[0].drops[SL_DROP_TCP_STATE];
	/* 2001-2015 and a FIN at 2016: the queued 2016-2021 is past the end. */
	send_in(&(struct in){ .flags = ACK | FIN, .seq = 2001, .ack = iss + 1,
			      .data = "abcdefghijklmno", .len = 15, .ts = true,
			      .tsval = 2001 });
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 2017);
	CHECK_EQ(accepted->rcvq.bytes, 15);
	CHECK_EQ(accepted->ooo.n, 0);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_TCP_STATE], dropped + 1);
	CHECK(accepted->flags & SL_TCPF_FIN_RCVD);
	teardown();
}

static void
test_rst_handling(void)
{
	struct out o;
	uint32_t iss;

	setup();
	iss = handshake(3000, false);
	/* Out of window: silently dropped. */
	send_in(&(struct in){ .flags = RST, .seq = 3001 + 1000000 });
	CHECK_EQ(n_out(), 0);
	CHECK(accepted != NULL);
	/* In window, not exact: RFC 5961 challenge ACK. */
	send_in(&(struct in){ .flags = RST, .seq = 3005 });
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, 3001);
	CHECK_EQ(S->stats.challenge_acks, 1);
	CHECK(accepted != NULL);
	/* A SYN on an established connection: challenge ACK too. */
	send_in(&(struct in){ .flags = SYN, .seq = 3001 });
	CHECK(get_out(&o));
	CHECK_EQ(S->stats.challenge_acks, 2);
	/* Exact: the connection is reset and the app told. */
	send_in(&(struct in){ .flags = RST, .seq = 3001 });
	CHECK_EQ(n_closed, 1);
	CHECK_EQ(last_reason, SL_TCP_CLOSE_RESET);
	CHECK_EQ(S->stats.active, 0);
	/* A RST for nothing is dropped, never answered. */
	send_in(&(struct in){ .flags = RST, .seq = 1 });
	CHECK_EQ(n_out(), 0);
	(void)iss;
	teardown();
}

static struct rte_mbuf *
payload(const char *s, uint32_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	char *p = rte_pktmbuf_append(m, (uint16_t)n);

	for (uint32_t i = 0; i < n; i++)
		p[i] = s[i % strlen(s)];
	return m;
}

static void
test_retransmit_and_recovery(void)
{
	struct out o;
	uint32_t iss, mss;

	setup();
	iss = handshake(4000, false);
	mss = accepted->mss;
	/* RTO: data unacknowledged for rto_init (1 s) is sent again. */
	sl_tcp_send(S, accepted, payload("x", 100));
	sl_tcp_output(S, accepted);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, iss + 1);
	advance(999);
	CHECK_EQ(n_out(), 0);
	advance(2);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.plen, 100);
	CHECK_EQ(S->stats.retransmits_timeout, 1);
	CHECK_EQ(accepted->rto_ms, 2000);   /* backed off */
	send_in(&(struct in){ .flags = ACK, .seq = 4001, .ack = iss + 101 });
	CHECK_EQ(accepted->sndq.bytes, 0);
	CHECK(!sl_timer_armed(&accepted->rtx_timer));

	/* Fast retransmit: 4 segments out, the first lost, 3 dup ACKs. */
	accepted->cc.cwnd = 10 * mss;
	for (int i = 0; i < 4; i++)
		sl_tcp_send(S, accepted, payload("y", mss));
	sl_tcp_output(S, accepted);
	CHECK_EQ(n_out(), 4);
	drain_out();
	for (int i = 0; i < 3; i++)
		send_in(&(struct in){ .flags = ACK, .seq = 4001, .ack = iss + 101 });
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, iss + 101);
	CHECK_EQ(o.plen, mss);
	CHECK_EQ(S->stats.retransmits_fast, 1);
	CHECK(accepted->flags & SL_TCPF_IN_RECOVERY);
	/* Partial ACK (RFC 6582): the next hole goes out at once. */
	send_in(&(struct in){ .flags = ACK, .seq = 4001, .ack = iss + 101 + mss });
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, iss + 101 + mss);
	CHECK(accepted->flags & SL_TCPF_IN_RECOVERY);
	/* Full ACK: recovery ends, cwnd deflates to ssthresh. */
	send_in(&(struct in){ .flags = ACK, .seq = 4001, .ack = iss + 101 + 4 * mss });
	CHECK(!(accepted->flags & SL_TCPF_IN_RECOVERY));
	CHECK_EQ(accepted->cc.cwnd, accepted->cc.ssthresh);
	CHECK_EQ(accepted->sndq.bytes, 0);
	teardown();
}

static void
test_sack_recovery(void)
{
	struct out o;
	uint32_t iss, mss, base;

	setup();
	iss = handshake(4500, true);
	drain_out();
	mss = accepted->mss;
	base = iss + 1;
	accepted->cc.cwnd = 10 * mss;
	for (int i = 0; i < 5; i++)
		sl_tcp_send(S, accepted, payload("s", mss));
	sl_tcp_output(S, accepted);
	CHECK_EQ(n_out(), 5);
	drain_out();
	/* Segments 1 and 3 lost; the peer SACKs 2, then 4-5. */
	send_in(&(struct in){ .flags = ACK, .seq = 4501, .ack = base, .ts = true,
			      .tsval = 5000, .n_sack = 1,
			      .sack = { { base + mss, base + 2 * mss } } });
	send_in(&(struct in){ .flags = ACK, .seq = 4501, .ack = base, .ts = true,
			      .tsval = 5001, .n_sack = 2,
			      .sack = { { base + 3 * mss, base + 5 * mss },
					{ base + mss, base + 2 * mss } } });
	/* 3*MSS SACKed: recovery starts with the first hole... */
	CHECK(accepted->flags & SL_TCPF_IN_RECOVERY);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base);
	/* ...and the partial ACK sends the other hole, skipping SACKed data. */
	send_in(&(struct in){ .flags = ACK, .seq = 4501, .ack = base + 2 * mss,
			      .ts = true, .tsval = 5002, .n_sack = 1,
			      .sack = { { base + 3 * mss, base + 5 * mss } } });
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base + 2 * mss);
	CHECK_EQ(o.plen, mss);
	teardown();
}

static void
test_zero_window_probe(void)
{
	struct out o;
	uint32_t iss;

	setup();
	iss = handshake(6000, false);
	/* The peer closes its window. */
	send_in(&(struct in){ .flags = ACK, .seq = 6001, .ack = iss + 1, .win0 = true });
	CHECK_EQ(accepted->snd_wnd, 0);
	sl_tcp_send(S, accepted, payload("z", 10));
	sl_tcp_output(S, accepted);
	CHECK_EQ(n_out(), 0);
	CHECK(accepted->flags & SL_TCPF_PERSIST);
	advance(1001);
	CHECK(get_out(&o));
	CHECK_EQ(o.plen, 1);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(S->stats.window_probes, 1);
	/* Backoff: the next probe waits twice as long. */
	advance(1500);
	CHECK_EQ(n_out(), 0);
	advance(600);
	CHECK_EQ(n_out(), 1);
	drain_out();
	teardown();
}

/*
 * Our zero-window probe carries one real byte. A peer whose window has
 * reopened (its window update was lost) takes that byte and acknowledges
 * it: SEG.ACK = probe + 1. That ACK acknowledges data we did send, so it
 * must be accepted with its window. Refusing it as "ACK for data never
 * sent" (RFC 5961) left both ends stuck: every later segment from the peer
 * carried the same ACK and was dropped whole, data and window update
 * alike, while our probes at the old sequence were duplicates to the peer.
 */
static void
test_probe_byte_acknowledged(void)
{
	struct out o;
	uint32_t iss;

	setup();
	iss = handshake(6500, false);
	send_in(&(struct in){ .flags = ACK, .seq = 6501, .ack = iss + 1, .win0 = true });
	for (int i = 0; i < 3; i++)
		sl_tcp_send(S, accepted, payload("p", 1000));
	sl_tcp_output(S, accepted);
	CHECK_EQ(n_out(), 0);
	advance(1001);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.plen, 1);
	/* The peer took the byte and offers 64 KiB; it also sends us data. */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 6501, .ack = iss + 2,
			      .data = "resp", .len = 4 });
	CHECK_EQ(lc->stats[0].drops[SL_DROP_TCP_BAD_ACK], 0);
	CHECK_EQ(accepted->snd_una, iss + 2);
	CHECK_EQ(accepted->rcv_nxt, 6505);
	CHECK(accepted->snd_wnd > 0);
	CHECK(!(accepted->flags & SL_TCPF_PERSIST));
	/* The rest goes out at once, from the byte after the probe. */
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, iss + 2);
	CHECK(o.plen > 0);
	CHECK_EQ(o.ack, 6505);
	drain_out();
	CHECK(sl_timer_armed(&accepted->rtx_timer));

	/* Same again, but the peer's ACK of the probe byte is lost: its
	 * duplicate ACK, answering our next probe, must still be heard. */
	send_in(&(struct in){ .flags = ACK, .seq = 6505, .ack = accepted->snd_max,
			      .win0 = true });
	sl_tcp_send(S, accepted, payload("q", 100));
	sl_tcp_output(S, accepted);
	drain_out();
	CHECK(accepted->flags & SL_TCPF_PERSIST);
	advance(60000);
	CHECK(get_out(&o));
	CHECK_EQ(o.plen, 1);
	{
		uint32_t probe = o.seq;

		drain_out();
		/* The ACK of the probe (ack = probe + 1) was lost; the next
		 * probe, at the same sequence, is a duplicate to the peer, which
		 * answers with its latest ACK and window. */
		advance(60000);
		CHECK(get_out(&o));
		CHECK_EQ(o.seq, probe);
		drain_out();
		send_in(&(struct in){ .flags = ACK, .seq = 6505, .ack = probe + 1 });
		CHECK_EQ(accepted->snd_una, probe + 1);
		CHECK(accepted->snd_wnd > 0);
		CHECK(get_out(&o));
		CHECK_EQ(o.seq, probe + 1);
		CHECK(o.plen > 0);
	}
	drain_out();
	teardown();
}

/*
 * Data went out, then the peer's window shut before any of it was acked.
 * Our ACKs must carry SEG.SEQ at the window's right edge (snd_una here):
 * Linux discards a segment beyond a zero window, window update and all,
 * and both ends would then wait on each other for ever.
 */
static void
test_ack_seq_within_shut_window(void)
{
	struct out o;
	uint32_t iss;

	setup();
	iss = handshake(7000, false);
	sl_tcp_send(S, accepted, payload("q", 1000));
	sl_tcp_output(S, accepted);
	CHECK(get_out(&o));
	CHECK_EQ(o.plen, 1000);
	drain_out();
	send_in(&(struct in){ .flags = ACK, .seq = 7001, .ack = iss + 1, .win0 = true });
	CHECK_EQ(accepted->snd_wnd, 0);
	CHECK_EQ(accepted->snd_max, iss + 1001);
	/* The peer sends; whenever our ACK goes out, it must be acceptable. */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 7001, .ack = iss + 1,
			      .win0 = true, .data = "hello", .len = 5 });
	advance(500);
	CHECK(n_out() >= 1);
	while (get_out(&o)) {
		if (o.plen == 0) {
			CHECK_EQ(o.seq, iss + 1);
			CHECK_EQ(o.ack, 7006);
		}
	}
	teardown();
}

/*
 * After an RTO rewinds snd_nxt, a bare ACK still carries SEG.SEQ = snd_max.
 * The peer may hold everything we sent (its ACKs were lost): Linux then
 * drops a segment that ends before the RCV.NXT it last advertised, so an
 * ACK at the rewound snd_nxt (our ACK of its data, our window) was thrown
 * away until our resends caught up.
 */
static void
test_ack_seq_after_rto(void)
{
	struct out o;
	uint32_t iss, mss, base;

	setup();
	iss = handshake(7100, false);
	mss = accepted->mss;
	base = iss + 1;
	accepted->cc.cwnd = 10 * mss;
	for (int i = 0; i < 4; i++)
		sl_tcp_send(S, accepted, payload("r", mss));
	sl_tcp_output(S, accepted);
	CHECK_EQ(n_out(), 4);
	drain_out();
	/* Every ACK of the peer was lost: the RTO resends snd_una's segment. */
	advance(1001);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base);
	CHECK_EQ(accepted->snd_nxt, base + mss);
	CHECK_EQ(accepted->snd_max, base + 4 * mss);
	/* The peer sends data; it already holds all four segments. */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 7101, .ack = base,
			      .data = "hi", .len = 2 });
	advance(41);
	CHECK(get_out(&o));
	CHECK_EQ(o.plen, 0);
	CHECK_EQ(o.ack, 7103);
	CHECK_EQ(o.seq, base + 4 * mss);
	drain_out();
	teardown();
}

/*
 * Our window is shut (the application has not read 64 KiB). The peer's
 * zero-window probe, one byte before rcv_nxt, acknowledges our data: that
 * ACK must be heard (RFC 9293 3.10.7.4) even though the segment is not
 * acceptable, or our retransmissions never end.
 */
static void
test_ack_heard_through_shut_window(void)
{
	static char chunk[1460];
	struct out o;
	uint32_t iss, seq = 8001;

	setup();
	iss = handshake(8000, false);
	memset(chunk, 'w', sizeof(chunk));
	while (accepted->rcv_adv != accepted->rcv_nxt && seq - 8001 < 200000) {
		uint32_t room = accepted->rcv_adv - accepted->rcv_nxt;
		uint32_t n = room < sizeof(chunk) ? room : sizeof(chunk);

		send_in(&(struct in){ .flags = ACK, .seq = seq, .ack = iss + 1,
				      .data = chunk, .len = n });
		seq += n;
		drain_out();
	}
	CHECK_EQ(accepted->rcv_adv, accepted->rcv_nxt);
	sl_tcp_send(S, accepted, payload("a", 500));
	sl_tcp_output(S, accepted);
	CHECK(get_out(&o));
	CHECK_EQ(o.plen, 500);
	drain_out();
	CHECK_EQ(accepted->snd_una, iss + 1);
	/* The probe: seq one before rcv_nxt, acknowledging our 500 bytes. */
	send_in(&(struct in){ .flags = ACK, .seq = seq - 1, .ack = iss + 501 });
	CHECK_EQ(accepted->snd_una, iss + 501);
	CHECK(!sl_timer_armed(&accepted->rtx_timer) ||
	      (accepted->flags & SL_TCPF_PERSIST));
	/* And it is answered with our (shut) window at rcv_nxt. */
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, seq);
	CHECK_EQ(o.win, 0);
	drain_out();
	teardown();
}

/*
 * The peer missed our ACK and retransmits data we already have; that
 * retransmission carries its ACK of our data. The data is dropped, the
 * ACK must be heard, or each side keeps refusing the other's ACKs.
 */
static void
test_ack_heard_on_old_duplicate(void)
{
	struct out o;
	uint32_t iss;

	setup();
	iss = handshake(9000, false);
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 9001, .ack = iss + 1,
			      .data = "0123456789", .len = 10 });
	CHECK_EQ(accepted->rcv_nxt, 9011);
	drain_out();
	sl_tcp_send(S, accepted, payload("b", 300));
	sl_tcp_output(S, accepted);
	CHECK(get_out(&o));
	CHECK_EQ(o.plen, 300);
	drain_out();
	/* The old segment again, now acknowledging our 300 bytes. */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 9001, .ack = iss + 301,
			      .data = "0123456789", .len = 10 });
	CHECK_EQ(accepted->snd_una, iss + 301);
	CHECK_EQ(accepted->rcv_nxt, 9011);
	CHECK_EQ(accepted->rcvq.bytes, 10);
	/* An ACK beyond what we sent is still refused (RFC 5961). */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 9001, .ack = iss + 5000,
			      .data = "0123456789", .len = 10 });
	CHECK_EQ(accepted->snd_una, iss + 301);
	drain_out();
	teardown();
}

static void
test_close_and_time_wait(void)
{
	struct out o;
	uint32_t iss;

	setup();
	iss = handshake(7000, false);
	/* We close first: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> gone. */
	sl_tcp_shutdown(S, accepted);
	CHECK(get_out(&o));
	CHECK(o.flags & FIN);
	CHECK_EQ(accepted->state, SL_TCP_FIN_WAIT_1);
	send_in(&(struct in){ .flags = ACK, .seq = 7001, .ack = iss + 2 });
	CHECK_EQ(accepted->state, SL_TCP_FIN_WAIT_2);
	{
		struct sl_tcp_conn *c = accepted;

		send_in(&(struct in){ .flags = FIN | ACK, .seq = 7001, .ack = iss + 2 });
		CHECK_EQ(c->state, SL_TCP_TIME_WAIT);
		CHECK(get_out(&o));
		CHECK_EQ(o.ack, 7002);
		CHECK_EQ(S->time_wait, 1);
		CHECK_EQ(n_closed, 1);    /* the app is done at TIME_WAIT */
		/* A retransmitted FIN is acknowledged again. */
		send_in(&(struct in){ .flags = FIN | ACK, .seq = 7001, .ack = iss + 2 });
		CHECK(get_out(&o));
		CHECK_EQ(o.ack, 7002);
		advance(2001);
		CHECK_EQ(S->time_wait, 0);
		CHECK_EQ(S->stats.active, 0);
	}
	teardown();
}

static void
test_simultaneous_close(void)
{
	struct out o;
	uint32_t iss;
	struct sl_tcp_conn *c;

	setup();
	iss = handshake(8000, false);
	c = accepted;
	sl_tcp_shutdown(S, c);
	CHECK(get_out(&o));
	/* The peer's FIN crosses ours: CLOSING, then TIME_WAIT on its ACK. */
	send_in(&(struct in){ .flags = FIN | ACK, .seq = 8001, .ack = iss + 1 });
	CHECK_EQ(c->state, SL_TCP_CLOSING);
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 8002);
	send_in(&(struct in){ .flags = ACK, .seq = 8002, .ack = iss + 2 });
	CHECK_EQ(c->state, SL_TCP_TIME_WAIT);
	teardown();
}

static void
test_passive_close(void)
{
	struct out o;
	uint32_t iss;
	struct sl_tcp_conn *c;

	setup();
	iss = handshake(8500, false);
	c = accepted;
	send_in(&(struct in){ .flags = FIN | ACK, .seq = 8501, .ack = iss + 1 });
	CHECK_EQ(c->state, SL_TCP_CLOSE_WAIT);
	CHECK(sl_tcp_eof(c));
	CHECK(get_out(&o));
	sl_tcp_shutdown(S, c);
	CHECK_EQ(c->state, SL_TCP_LAST_ACK);
	CHECK(get_out(&o));
	CHECK(o.flags & FIN);
	send_in(&(struct in){ .flags = ACK, .seq = 8502, .ack = iss + 2 });
	CHECK_EQ(n_closed, 1);
	CHECK_EQ(last_reason, SL_TCP_CLOSE_NORMAL);
	CHECK_EQ(S->stats.active, 0);
	teardown();
}

static void
test_syncookies(void)
{
	struct out o;

	setup();
	/* The stack keeps its own copy of the tcp settings. */
	S->conf_copy.syncookies = SL_SYNCOOKIES_ALWAYS;
	send_in(&(struct in){ .flags = SYN, .seq = 9000, .syn_opts = true,
			      .ts = true, .tsval = 55 });
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(S->stats.syncookies_sent, 1);
	CHECK_EQ(S->stats.active, 0);          /* no state kept */
	/* A forged ACK fails. */
	send_in(&(struct in){ .flags = ACK, .seq = 9001, .ack = o.seq + 77,
			      .ts = true, .tsval = 56, .tsecr = o.o.tsval });
	CHECK_EQ(S->stats.syncookies_failed, 1);
	CHECK_EQ(n_accepts, 0);
	drain_out();
	/* The real one builds the connection, options recovered. */
	send_in(&(struct in){ .flags = ACK, .seq = 9001, .ack = o.seq + 1,
			      .ts = true, .tsval = 56, .tsecr = o.o.tsval,
			      .data = "hi", .len = 2 });
	CHECK_EQ(S->stats.syncookies_ok, 1);
	CHECK_EQ(n_accepts, 1);
	CHECK(accepted != NULL);
	if (accepted != NULL) {
		CHECK(accepted->flags & SL_TCPF_SACK);
		CHECK(accepted->flags & SL_TCPF_WS);
		CHECK_EQ(accepted->snd_wscale, 7);
		CHECK_EQ(accepted->rcvq.bytes, 2);
	}
	teardown();
}

static void
test_active_open(void)
{
	struct out o;
	struct sl_tcp_conn *c;

	setup();
	c = sl_tcp_connect(S, PEER, LPORT, 3000, &app_ops, NULL);
	CHECK(c != NULL);
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, SYN);
	CHECK(c->lport >= 10000 && c->lport <= 20000);
	/* Refused: the app hears REFUSED, the slot is free again. */
	send_in(&(struct in){ .flags = RST | ACK, .seq = 0, .ack = o.seq + 1,
			      .sport = LPORT, .dport = c->lport });
	CHECK_EQ(n_closed, 1);
	CHECK_EQ(last_reason, SL_TCP_CLOSE_REFUSED);
	CHECK_EQ(S->stats.connect_refused, 1);
	CHECK_EQ(S->stats.active, 0);
	/* Accepted: a SYN-ACK completes it and the app is told. */
	c = sl_tcp_connect(S, PEER, LPORT, 3000, &app_ops, NULL);
	CHECK(get_out(&o));
	send_in(&(struct in){ .flags = SYN | ACK, .seq = 123, .ack = o.seq + 1,
			      .syn_opts = true, .sport = LPORT, .dport = c->lport });
	CHECK_EQ(n_established, 1);
	CHECK_EQ(c->state, SL_TCP_ESTABLISHED);
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, 124);
	/*
	 * On a connection we opened, a segment that ends the backend's write
	 * (PSH) is acknowledged at once: a backend with Nagle on waits for
	 * it before sending the rest (the passive side keeps its delayed ACK:
	 * test_data_and_delayed_ack).
	 */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 124, .ack = c->snd_nxt,
			      .sport = LPORT, .dport = c->lport,
			      .data = "HTTP", .len = 4 });
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, 128);
	/*
	 * An app that says when it awaits more (sl_tcp_app_ack): PSH waits on
	 * the delayed ACK; sl_tcp_ack_now sends it; with nothing unacked it
	 * sends nothing.
	 */
	sl_tcp_app_ack(c);
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 128, .ack = c->snd_nxt,
			      .sport = LPORT, .dport = c->lport,
			      .data = "/1.1", .len = 4 });
	CHECK_EQ(n_out(), 0);
	CHECK(sl_timer_armed(&c->delack_timer));
	sl_tcp_ack_now(S, c);
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, 132);
	CHECK(!sl_timer_armed(&c->delack_timer));
	sl_tcp_ack_now(S, c);
	CHECK_EQ(n_out(), 0);
	/* Not acked by the app: the delayed ACK still comes. */
	send_in(&(struct in){ .flags = ACK | PSH, .seq = 132, .ack = c->snd_nxt,
			      .sport = LPORT, .dport = c->lport,
			      .data = " 200", .len = 4 });
	CHECK_EQ(n_out(), 0);
	advance(41);
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, 136);
	sl_tcp_abort(S, c);
	CHECK(get_out(&o));
	CHECK(o.flags & RST);
	CHECK_EQ(S->stats.active, 0);
	n_closed = 0;
	/* Connect timeout: SYNs back off, then the app hears TIMEOUT. */
	c = sl_tcp_connect(S, PEER, 9, 2500, &app_ops, NULL);
	CHECK(c != NULL);
	drain_out();
	advance(1001);
	CHECK_EQ(n_out(), 1);   /* second SYN */
	drain_out();
	advance(2001);
	CHECK_EQ(n_closed, 1);
	CHECK_EQ(last_reason, SL_TCP_CLOSE_TIMEOUT);
	CHECK_EQ(S->stats.connect_timeout, 1);
	CHECK_EQ(S->stats.active, 0);
	teardown();
}

static void
test_wraparound(void)
{
	struct out o;
	uint32_t iss;
	struct sl_mq q;

	setup();
	/* The peer's sequence numbers cross 2^32 inside this exchange. */
	iss = handshake(0xfffffff0u, false);
	send_in(&(struct in){ .flags = ACK, .seq = 0xfffffff1u, .ack = iss + 1,
			      .data = "0123456789abcdefghij", .len = 20 });
	send_in(&(struct in){ .flags = ACK, .seq = 0x00000005u, .ack = iss + 1,
			      .data = "KLMNO", .len = 5 });
	CHECK_EQ(accepted->rcvq.bytes, 25);
	CHECK_EQ(accepted->rcv_nxt, 0x0000000au);
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 0x0000000au);
	/* A retransmission of bytes before the wrap is trimmed, not re-queued. */
	send_in(&(struct in){ .flags = ACK, .seq = 0xfffffffbu, .ack = iss + 1,
			      .data = "abcdefghijKLMNOpq", .len = 17 });
	CHECK_EQ(accepted->rcvq.bytes, 27);
	sl_tcp_recv(S, accepted, UINT32_MAX, &q);
	sl_mq_free(&q);
	teardown();
}

/*
 * An RTO after our FIN is out rewinds snd_nxt like any other: everything
 * from snd_una up to and including the FIN must then go again as ACKs come
 * back. The exact sequence of the lossy echo's tail: the backend's FIN
 * reached the client side while a window of data was still in flight, the
 * last data segment carried our FIN (CLOSE_WAIT -> LAST_ACK), and the whole
 * flight was lost. Output used to skip LAST_ACK/FIN_WAIT_1/CLOSING once the
 * FIN was out, so after the RTO only snd_una's segment went; every later
 * hole waited for an RTO of its own, each twice as long as the last.
 */
static void
test_rto_after_fin(void)
{
	struct out o;
	uint32_t iss, mss, base;
	struct sl_tcp_conn *c;

	setup();
	iss = handshake(9500, false);
	c = accepted;
	mss = c->mss;
	base = iss + 1;
	/* The peer half-closes: CLOSE_WAIT. */
	send_in(&(struct in){ .flags = FIN | ACK, .seq = 9501, .ack = base });
	CHECK_EQ(c->state, SL_TCP_CLOSE_WAIT);
	drain_out();
	/* Four segments, then our FIN riding on the last: LAST_ACK. */
	c->cc.cwnd = 10 * mss;
	for (int i = 0; i < 4; i++)
		sl_tcp_send(S, c, payload("f", mss));
	sl_tcp_shutdown(S, c);
	CHECK_EQ(n_out(), 4);
	CHECK_EQ(c->state, SL_TCP_LAST_ACK);
	for (int i = 0; i < 4; i++) {
		CHECK(get_out(&o));
		CHECK_EQ(o.seq, base + (uint32_t)i * mss);
		CHECK_EQ(!!(o.flags & FIN), i == 3);
	}
	/* All lost. The RTO (rto_init, 1 s) resends snd_una's segment. */
	advance(1001);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base);
	CHECK_EQ(o.plen, mss);
	CHECK_EQ(n_out(), 0);
	CHECK_EQ(c->snd_nxt, base + mss);
	/* Its ACK lets the next two go at once (slow start from one MSS)... */
	send_in(&(struct in){ .flags = ACK, .seq = 9502, .ack = base + mss });
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base + mss);
	CHECK_EQ(o.plen, mss);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base + 2 * mss);
	CHECK_EQ(n_out(), 0);
	/* ...and theirs the last one, with the FIN again. */
	send_in(&(struct in){ .flags = ACK, .seq = 9502, .ack = base + 3 * mss });
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base + 3 * mss);
	CHECK_EQ(o.plen, mss);
	CHECK(o.flags & FIN);
	CHECK_EQ(n_out(), 0);
	CHECK_EQ(S->stats.retransmits_timeout, 1);
	/* Everything acknowledged, FIN included: the connection is done. */
	send_in(&(struct in){ .flags = ACK, .seq = 9502, .ack = base + 4 * mss + 1 });
	CHECK_EQ(n_closed, 1);
	CHECK_EQ(last_reason, SL_TCP_CLOSE_NORMAL);
	CHECK_EQ(n_out(), 0);

	teardown();

	/*
	 * A bare FIN (shutdown after the data was out), lost with the first
	 * segment; the second got through. The RTO resends the first; its ACK
	 * covers all the data, and the FIN must follow at once rather than
	 * after another RTO. FIN_WAIT_1 this time.
	 */
	setup();
	iss = handshake(9600, false);
	c = accepted;
	base = iss + 1;
	c->cc.cwnd = 10 * mss;
	for (int i = 0; i < 2; i++)
		sl_tcp_send(S, c, payload("g", mss));
	sl_tcp_output(S, c);
	sl_tcp_shutdown(S, c);
	CHECK_EQ(c->state, SL_TCP_FIN_WAIT_1);
	CHECK_EQ(n_out(), 3);
	for (int i = 0; i < 2; i++) {
		CHECK(get_out(&o));
		CHECK(!(o.flags & FIN));
	}
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base + 2 * mss);
	CHECK_EQ(o.plen, 0);
	CHECK(o.flags & FIN);
	advance(1001);
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base);
	CHECK_EQ(o.plen, mss);
	CHECK(!(o.flags & FIN));
	CHECK_EQ(n_out(), 0);
	send_in(&(struct in){ .flags = ACK, .seq = 9601, .ack = base + 2 * mss });
	CHECK(get_out(&o));
	CHECK_EQ(o.seq, base + 2 * mss);
	CHECK_EQ(o.plen, 0);
	CHECK(o.flags & FIN);
	CHECK_EQ(n_out(), 0);
	send_in(&(struct in){ .flags = ACK, .seq = 9601, .ack = base + 2 * mss + 1 });
	CHECK_EQ(c->state, SL_TCP_FIN_WAIT_2);
	CHECK_EQ(n_out(), 0);
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
	mp = sl_test_poison_pool_create("t_mbuf", 4095);
	before = (int)rte_mempool_avail_count(mp);
	test_handshake_and_options();
	test_refused_and_no_listener();
	test_data_and_delayed_ack();
	test_out_of_order_and_sack();
	test_fin_before_queued_data();
	test_rst_handling();
	test_retransmit_and_recovery();
	test_sack_recovery();
	test_zero_window_probe();
	test_probe_byte_acknowledged();
	test_ack_seq_within_shut_window();
	test_ack_seq_after_rto();
	test_ack_heard_through_shut_window();
	test_ack_heard_on_old_duplicate();
	test_close_and_time_wait();
	test_simultaneous_close();
	test_passive_close();
	test_syncookies();
	test_active_open();
	test_wraparound();
	test_rto_after_fin();
	/* No callback ran inside segment processing, in any test above. */
	CHECK_EQ(n_midsegment, 0);
	/* No path leaks an mbuf. */
	CHECK_EQ((int)rte_mempool_avail_count(mp), before);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return sl_test_result("test_tcp");
}
