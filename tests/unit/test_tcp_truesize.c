/*
 * Buffer accounting (lib/tcp/tcp_mem.c): what a connection holds is
 * counted in mbufs, not only bytes. A scripted peer sends small, out of
 * order and over-cap segments; the tests check the mbufs held, the
 * window, the caps and their counters, and that packing keeps the byte
 * stream exact.
 */
#include <rte_eal.h>
#include <rte_hash.h>

#include "sl_test_tcp.h"
#include "sl_test_poison_pool.h"

#define PEER2  0xc6120003u   /* 198.18.0.3 */

static const struct rte_ether_addr peer2_mac = {{ 0x02, 0, 0, 0, 0, 0x03 }};

/* Byte i of a peer's stream: a pattern that shows any loss or reorder. */
static inline char
pat(uint32_t i)
{
	return (char)('a' + (i * 7 + i / 251) % 26);
}

/* Passive handshake from saddr:sport; returns the connection. */
static struct sl_tcp_conn *
open_from(uint32_t saddr, uint16_t sport, uint32_t isn, uint32_t *iss)
{
	struct out o;

	accepted = NULL;
	send_in(&(struct in){ .flags = SYN, .seq = isn, .syn_opts = true,
			      .saddr = saddr, .sport = sport });
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	send_in(&(struct in){ .flags = ACK, .seq = isn + 1, .ack = o.seq + 1,
			      .saddr = saddr, .sport = sport });
	CHECK(accepted != NULL && accepted->state == SL_TCP_ESTABLISHED);
	*iss = o.seq;
	drain_out();
	return accepted;
}

/* The peer sends stream bytes [off, off + len) at sequence base + off. */
static void
send_stream(uint32_t saddr, uint16_t sport, uint32_t base, uint32_t iss,
	    uint32_t off, uint32_t len)
{
	char buf[1460];

	for (uint32_t i = 0; i < len; i++)
		buf[i] = pat(off + i);
	send_in(&(struct in){ .flags = ACK, .seq = base + off, .ack = iss + 1,
			      .data = buf, .len = len, .saddr = saddr,
			      .sport = sport });
	drain_out();
}

/* Everything the app can take from c, checked against the pattern. */
static uint32_t
read_check(struct sl_tcp_conn *c, uint32_t off, uint32_t max_bytes)
{
	struct sl_mq q;
	uint32_t n = 0;
	bool same = true;

	sl_tcp_recv(S, c, max_bytes, &q);
	for (struct rte_mbuf *m = q.head; m != NULL; m = sl_mq_next(m))
		for (uint16_t i = 0; i < rte_pktmbuf_data_len(m); i++, n++)
			same &= rte_pktmbuf_mtod(m, char *)[i] == pat(off + n);
	CHECK(same);
	CHECK_EQ(n, q.bytes);
	sl_mq_free(&q);
	return n;
}

static uint64_t
drops(enum sl_drop_reason why)
{
	return lc->stats[0].drops[why];
}

static uint64_t
drops_total(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < SL_DROP_MAX; i++)
		n += lc->stats[0].drops[i];
	return n;
}

/* 1-byte segments from a peer whose app reads nothing: packed, not pinned. */
static void
test_small_segments_do_not_pin_mbufs(void)
{
	unsigned int before = rte_mempool_avail_count(mp);
	struct sl_tcp_conn *c;
	uint32_t iss, n = 6000;

	setup();
	c = open_from(PEER, PPORT, 1000, &iss);
	for (uint32_t i = 0; i < n; i++)
		send_stream(PEER, PPORT, 1001, iss, i, 1);
	CHECK_EQ(c->rcvq.bytes, n);
	CHECK_EQ(c->rcv_nxt, 1001 + n);
	/* About one mbuf per 2 KB, plus the slack before packing starts. */
	CHECK(c->rcvq.n <= n / 1900 + 1 + S->rcv_slack / S->mbuf_unit);
	CHECK(before - rte_mempool_avail_count(mp) <= c->rcvq.n + 1);
	CHECK(S->stats.rcv_packed_mbufs >= n - c->rcvq.n);
	CHECK_EQ(S->mbufs_held, c->rcvq.n);
	CHECK_EQ(S->stats.mbufs_held, c->rcvq.n);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), c->rcvq.n);
	CHECK_EQ(read_check(c, 0, UINT32_MAX), n);
	CHECK_EQ(S->mbufs_held, 0);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 0);
	/* Full segments are never copied. */
	send_stream(PEER, PPORT, 1001, iss, n, 1400);
	send_stream(PEER, PPORT, 1001, iss, n + 1400, 1400);
	CHECK_EQ(c->rcvq.n, 2);
	CHECK_EQ(read_check(c, n, UINT32_MAX), 2800);
	teardown();
}

/*
 * Random sizes, some out of order, read in random pieces while they
 * arrive: packing (which moves bytes between mbufs, the head's included)
 * must hand the app exactly the stream sent.
 */
static void
test_packing_preserves_the_stream(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	uint32_t iss, sent = 0, got = 0, total = 200000;
	struct sl_tcp_conn *c;

	setup();
	c = open_from(PEER, PPORT, 5000, &iss);
	while (sent < total) {
		uint32_t r = (uint32_t)sl_test_rand(&rng);
		uint32_t len = (r & 3) ? 1 + r % 40 : 1 + r % 1400;

		len = RTE_MIN(len, total - sent);
		/* Keep within the window: the app reads when it is half used. */
		if (c->rcvq.bytes + len > 30000)
			got += read_check(c, got, 1 + (r >> 8) % 20000);
		if ((r >> 20) % 8 == 0 && len > 2) {
			/* The second half first: it waits out of order. */
			uint32_t half = len / 2;

			send_stream(PEER, PPORT, 5001, iss, sent + half, len - half);
			send_stream(PEER, PPORT, 5001, iss, sent, half);
		} else {
			send_stream(PEER, PPORT, 5001, iss, sent, len);
		}
		sent += len;
		CHECK(tcp_held(c) <= 8 + c->rcvq.bytes / 1000 + S->rcv_slack / S->mbuf_unit);
	}
	while (got < total && c->rcvq.n > 0)
		got += read_check(c, got, UINT32_MAX);
	CHECK_EQ(got, total);
	CHECK_EQ(c->ooo.n, 0);
	CHECK(S->stats.rcv_packed_mbufs > 0);
	CHECK_EQ(drops_total(), 0);
	teardown();
}

static void
tweak_ooo(struct sl_conf_tcp *t)
{
	t->ooo_max = 200;
}

/*
 * Out-of-order 1-byte segments with holes between them cannot be packed.
 * Their buffers count: the window the app's read reopens is what memory
 * allows, and past twice rcv_buf of mbufs new ones are dropped, counted.
 */
static void
test_window_closes_by_buffers(void)
{
	uint32_t iss, edge, mem_max;
	struct sl_tcp_conn *c;
	struct out o;
	unsigned int held;

	setup_tweak = tweak_ooo;
	setup();
	c = open_from(PEER, PPORT, 100, &iss);
	for (uint32_t i = 0; i < 20; i++)
		send_stream(PEER, PPORT, 101, iss, 10000 + 2 * i, 1);
	CHECK_EQ(c->ooo.n, 20);
	/* 20 mbufs of 1 byte take 20 buffers' worth of the window. */
	CHECK(tcp_rcv_space(S, c) <= c->rcv_buf - 20 * S->mbuf_unit / 2);
	edge = c->rcv_adv;
	/* In-order data, then the app reads it: the window reopens only as
	 * far as the memory left allows, so its right edge does not move. */
	send_stream(PEER, PPORT, 101, iss, 0, 1400);
	send_stream(PEER, PPORT, 101, iss, 1400, 1400);
	CHECK_EQ(read_check(c, 0, UINT32_MAX), 2800);
	drain_out();
	tcp_send_ack(S, c);
	CHECK(get_out(&o));
	CHECK_EQ(o.ack, 101 + 2800);
	/* (+1: the window is stated in units of the scale, rounded up.) */
	CHECK(sl_seq_le(o.ack + ((uint32_t)o.win << c->rcv_wscale), edge + 1));
	/* Fill memory with holes: past 2 * rcv_buf of buffers, dropped. */
	mem_max = 2 * c->rcv_buf / S->mbuf_unit;
	for (uint32_t i = 20; i < 150; i++)
		send_stream(PEER, PPORT, 101, iss, 10000 + 2 * i, 1);
	held = c->rcvq.n + c->ooo.n;
	CHECK(held <= mem_max);
	CHECK(held >= mem_max - 1);
	CHECK(S->stats.rcv_mem_dropped >= 150 - mem_max);
	CHECK_EQ(drops(SL_DROP_TCP_RCV_MEM), S->stats.rcv_mem_dropped);
	CHECK(tcp_rcv_space(S, c) < S->mbuf_unit);
	/* The count bound still holds on its own. */
	CHECK(c->ooo.n <= S->conf->ooo_max);
	setup_tweak = NULL;
	teardown();
}

static void
tweak_caps(struct sl_conf_tcp *t)
{
	t->max_conn_mbufs = 16;
	t->max_addr_mbufs = 24;
	t->ooo_max = 100;
}

/* Full segments that cannot be packed: the caps bite, per connection and
 * per address, are counted, and go away with the connections. */
static void
test_caps_bite_and_count(void)
{
	unsigned int before = rte_mempool_avail_count(mp);
	struct sl_tcp_conn *a, *b, *x;
	uint32_t iss_a, iss_b, iss_x;

	setup_tweak = tweak_caps;
	setup();
	teach_arp(PEER2, &peer2_mac);
	a = open_from(PEER, PPORT, 1000, &iss_a);
	for (uint32_t i = 0; i < 30; i++)
		send_stream(PEER, PPORT, 1001, iss_a, i * 1400, 1400);
	CHECK_EQ(tcp_held(a), 16);
	CHECK_EQ(a->rcvq.bytes, 16 * 1400);
	CHECK_EQ(S->stats.conn_mbufs_capped, 14);
	CHECK_EQ(drops(SL_DROP_TCP_CONN_MBUFS), 14);
	CHECK_EQ(tcp_rcv_space(S, a), 0);
	/* A second connection from the same address gets what is left. */
	b = open_from(PEER, PPORT + 1, 7000, &iss_b);
	for (uint32_t i = 0; i < 12; i++)
		send_stream(PEER, PPORT + 1, 7001, iss_b, i * 1400, 1400);
	CHECK_EQ(tcp_held(b), 8);
	CHECK_EQ(S->stats.addr_mbufs_capped, 4);
	CHECK_EQ(drops(SL_DROP_TCP_ADDR_MBUFS), 4);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 24);
	/* Another address is not held back by the first one. */
	x = open_from(PEER2, PPORT, 3000, &iss_x);
	for (uint32_t i = 0; i < 10; i++)
		send_stream(PEER2, PPORT, 3001, iss_x, i * 1400, 1400);
	CHECK_EQ(tcp_held(x), 10);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER2), 10);
	CHECK_EQ(S->stats.addr_mbufs_capped, 4);
	/* Out-of-order segments are capped the same way. */
	for (uint32_t j = 0; j < 7; j++)
		send_stream(PEER2, PPORT, 3001, iss_x, 20000 + j * 1400, 1400);
	CHECK_EQ(x->ooo.n, 6);
	CHECK_EQ(S->stats.conn_mbufs_capped, 15);
	/* What the app reads is the bytes accepted, in order. */
	CHECK_EQ(read_check(a, 0, UINT32_MAX), 16 * 1400);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 8);
	/* The app's own holdings count too (sl_tcp_hold). */
	sl_tcp_hold(S, a, 10);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 18);
	CHECK_EQ(S->mbufs_held, 10 + 8 + 16);
	sl_tcp_abort(S, a);
	sl_tcp_abort(S, b);
	sl_tcp_abort(S, x);
	drain_out();
	CHECK_EQ(S->mbufs_held, 0);
	CHECK_EQ(S->stats.mbufs_held, 0);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 0);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER2), 0);
	CHECK_EQ(rte_mempool_avail_count(mp), before);
	setup_tweak = NULL;
	teardown();
}

/*
 * An out-of-order queue that holds the whole budget must not refuse the
 * segment filling its hole: that segment is the only thing that can drain
 * it, so refusing it wedged the connection for good (each resend refused
 * again). The first segment is lost; the peer's next ones fill the
 * out-of-order queue up to the connection's cap, and then to the
 * address's cap with a second connection holding the rest. The resent
 * first segment is taken each time, by dropping out-of-order data from
 * the top, and the stream completes.
 */
static void
test_hole_filler_admitted_at_cap(void)
{
	unsigned int before = rte_mempool_avail_count(mp);
	struct sl_tcp_conn *a, *b;
	uint32_t iss_a, iss_b, off;

	setup_tweak = tweak_caps;
	setup();
	a = open_from(PEER, PPORT, 1000, &iss_a);
	/* Segment 0 lost; 1..20 arrive and fill the queue to the cap (16). */
	for (uint32_t i = 1; i <= 20; i++)
		send_stream(PEER, PPORT, 1001, iss_a, i * 1400, 1400);
	CHECK_EQ(a->ooo.n, 16);
	CHECK_EQ(tcp_held(a), 16);
	/* The resend of segment 0 is taken: one out-of-order mbuf, the top
	 * one, gives way, and what it joins is in order now. */
	send_stream(PEER, PPORT, 1001, iss_a, 0, 1400);
	CHECK_EQ(a->rcv_nxt, 1001 + 16 * 1400);
	CHECK_EQ(a->ooo.n, 0);
	CHECK_EQ(tcp_held(a), 16);
	CHECK_EQ(S->stats.ooo_pruned, 1);
	CHECK_EQ(read_check(a, 0, UINT32_MAX), 16 * 1400);
	/* The peer resends the rest; all of it arrives in order. */
	for (off = 16 * 1400; off < 21 * 1400; off += 1400)
		send_stream(PEER, PPORT, 1001, iss_a, off, 1400);
	CHECK_EQ(a->rcv_nxt, 1001 + 21 * 1400);
	CHECK_EQ(read_check(a, 16 * 1400, UINT32_MAX), 5 * 1400);

	/* The address's cap (24): b holds 10 in order, a's queue the rest. */
	b = open_from(PEER, PPORT + 1, 7000, &iss_b);
	for (uint32_t i = 0; i < 10; i++)
		send_stream(PEER, PPORT + 1, 7001, iss_b, i * 1400, 1400);
	CHECK_EQ(tcp_held(b), 10);
	off = 21 * 1400;
	for (uint32_t i = 1; i <= 16; i++)
		send_stream(PEER, PPORT, 1001, iss_a, off + i * 1400, 1400);
	CHECK_EQ(a->ooo.n, 14);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 24);
	send_stream(PEER, PPORT, 1001, iss_a, off, 1400);
	CHECK_EQ(a->rcv_nxt, 1001 + off + 14 * 1400);
	CHECK_EQ(S->stats.ooo_pruned, 2);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 24);
	/* Every mbuf pruned was counted as a drop under the cap's reason. */
	CHECK_EQ(drops(SL_DROP_TCP_ADDR_MBUFS) + drops(SL_DROP_TCP_CONN_MBUFS),
		 S->stats.addr_mbufs_capped + S->stats.conn_mbufs_capped +
		 S->stats.ooo_pruned);
	CHECK_EQ(read_check(a, off, UINT32_MAX), 14 * 1400);
	sl_tcp_abort(S, a);
	sl_tcp_abort(S, b);
	drain_out();
	CHECK_EQ(S->mbufs_held, 0);
	CHECK_EQ(sl_tcp_addr_mbufs(S, PEER), 0);
	CHECK_EQ(rte_mempool_avail_count(mp), before);
	setup_tweak = NULL;
	teardown();
}

/*
 * The send side: 1-byte writes are packed into the queue's tail; writes
 * that cannot be packed (their buffers shared) use up the room
 * sl_tcp_sndq_room() gives by mbufs, long before snd_buf bytes.
 */
static void
test_send_queue_counts_mbufs(void)
{
	struct rte_mbuf *shared[64];
	struct sl_tcp_conn *c;
	uint32_t iss, room0;

	setup();
	c = open_from(PEER, PPORT, 1000, &iss);
	room0 = sl_tcp_sndq_room(S, c);
	CHECK_EQ(room0, c->snd_buf);
	for (uint32_t i = 0; i < 3000; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

		*rte_pktmbuf_append(m, 1) = pat(i);
		CHECK_EQ(sl_tcp_send(S, c, m), 0);
	}
	CHECK_EQ(c->sndq.bytes, 3000);
	CHECK(c->sndq.n <= 3000 / 2000 + 2 + S->snd_slack / S->mbuf_unit);
	CHECK(S->stats.snd_packed_mbufs >= 3000 - c->sndq.n);
	/* Sent as it was written. */
	send_in(&(struct in){ .flags = ACK, .seq = 1001, .ack = iss + 1,
			      .win = 65535 });
	{
		struct out o;
		uint32_t off = 0;
		bool same = true;

		sl_tcp_output(S, c);
		while (get_out(&o)) {
			if (o.plen == 0)
				continue;
			CHECK_EQ(o.seq, iss + 1 + off);
			for (uint32_t i = 0; i < RTE_MIN(o.plen, sizeof(o.payload)); i++)
				same &= o.payload[i] == pat(off + i);
			off += o.plen;
		}
		CHECK(same);
		CHECK_EQ(off, 3000);
		send_in(&(struct in){ .flags = ACK, .seq = 1001, .ack = iss + 1 + off });
		drain_out();
	}
	CHECK_EQ(c->sndq.n, 0);
	/* Mbufs someone else also holds cannot be written into. */
	for (uint32_t i = 0; i < RTE_DIM(shared); i++) {
		shared[i] = rte_pktmbuf_alloc(mp);
		*rte_pktmbuf_append(shared[i], 1) = 'x';
		rte_mbuf_refcnt_update(shared[i], 1);
	}
	for (uint32_t i = 0; i < 30; i++)
		sl_tcp_send(S, c, shared[i]);
	CHECK_EQ(c->sndq.n, 30);
	CHECK(sl_tcp_sndq_room(S, c) <= c->snd_buf - 30 * S->mbuf_unit / 2);
	for (uint32_t i = 30; i < RTE_DIM(shared); i++)
		sl_tcp_send(S, c, shared[i]);
	CHECK_EQ(sl_tcp_sndq_room(S, c), 0);
	CHECK(c->sndq.bytes < c->snd_buf / 100);
	sl_tcp_abort(S, c);
	drain_out();
	for (uint32_t i = 0; i < RTE_DIM(shared); i++)
		rte_pktmbuf_free(shared[i]);
	teardown();
}

/* The connection table's hash is keyed per stack: a 4-tuple hashes
 * differently in two stacks, so colliding tuples cannot be precomputed. */
static void
test_table_hash_is_keyed(void)
{
	struct { uint32_t raddr, laddr; uint16_t rport, lport; } k = {
		PEER, OURS, PPORT, LPORT };
	struct sl_tcp_stack *s2;
	unsigned int differ = 0;

	setup();
	s2 = sl_tcp_stack_create(NULL, &conf.tcp, SOCKET_ID_ANY, 1, 2);
	CHECK(s2 != NULL);
	/* Two 32-bit secrets could match by chance: look at several keys. */
	for (uint16_t p = 0; p < 4; p++) {
		k.rport = (uint16_t)(PPORT + p);
		differ += rte_hash_hash(S->table, &k) != rte_hash_hash(s2->table, &k);
	}
	CHECK(differ >= 3);
	CHECK(S->addr_seed[0] != s2->addr_seed[0] || S->addr_seed[1] != s2->addr_seed[1]);
	sl_tcp_stack_free(s2);
	/* Connections are still found through it. */
	{
		uint32_t iss;
		struct sl_tcp_conn *c = open_from(PEER, PPORT, 1, &iss);

		CHECK(tcp_lookup(S, OURS, LPORT, PEER, PPORT) == c);
	}
	teardown();
}

int
main(int argc, char **argv)
{
	int before;

	(void)argc;
	if (sl_test_eal_init(argv[0], "256") != 0)
		return 1;
	CHECK_EQ(sl_tcp_global_init(), 0);
	mp = sl_test_poison_pool_create("t_mbuf", 8191);
	before = (int)rte_mempool_avail_count(mp);
	test_small_segments_do_not_pin_mbufs();
	test_packing_preserves_the_stream();
	test_window_closes_by_buffers();
	test_caps_bite_and_count();
	test_hole_filler_admitted_at_cap();
	test_send_queue_counts_mbufs();
	test_table_hash_is_keyed();
	/* No path leaks an mbuf. */
	CHECK_EQ((int)rte_mempool_avail_count(mp), before);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return sl_test_result("test_tcp_truesize");
}
