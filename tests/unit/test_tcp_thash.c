/*
 * Source ports chosen with rte_thash (lib/tcp/tcp_thash.c) against an
 * independent Toeplitz: for many reply tuples, queue counts, RETA sizes and
 * splits of the ephemeral range, the chosen port is in the worker's block,
 * the reply hashes (rte_softrss, rte_softrss_be and a bit-by-bit Toeplitz
 * over the wire bytes) to the worker's queue, and it is the first such port
 * after the hint. Then exhaustion, bad arguments, and sl_tcp_connect()
 * falling back to plain block ports once the RSS ones are used up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_thash.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "sl_tcp.h"
#include "sl_tcp_conn.h"
#include "sl_tcp_thash.h"
#include "sl_test.h"
#include "sl_test_stack.h"
#include "sl_test_poison_pool.h"

#define OURS 0xc6120101u   /* 198.18.1.1: the gateway's backend-side port */

/* Toeplitz as the Microsoft RSS spec defines it, over the bytes on the wire. */
static uint32_t
toeplitz_ref(const uint8_t *key, uint32_t key_len, const uint8_t *in,
	     uint32_t len)
{
	uint32_t h = 0, win;

	win = (uint32_t)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];
	for (uint32_t i = 0; i < len * 8; i++) {
		if (in[i / 8] & (0x80 >> (i % 8)))
			h ^= win;
		win <<= 1;
		if (i / 8 + 4 < key_len && (key[i / 8 + 4] & (0x80 >> (i % 8))))
			win |= 1;
	}
	return h;
}

static uint32_t
ref_hash(const uint8_t *key, uint32_t key_len, uint32_t sa, uint32_t da,
	 uint16_t sp, uint16_t dp)
{
	uint8_t b[12] = { sa >> 24, sa >> 16, sa >> 8, sa, da >> 24, da >> 16,
			  da >> 8, da, sp >> 8, sp, dp >> 8, dp };

	return toeplitz_ref(key, key_len, b, sizeof(b));
}

static uint32_t
softrss(const uint8_t *key, uint32_t sa, uint32_t da, uint16_t sp, uint16_t dp)
{
	struct rte_ipv4_tuple t = { .src_addr = sa, .dst_addr = da, .sport = sp,
				    .dport = dp };

	return rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, key);
}

static uint32_t
softrss_be(const uint8_t *key, uint32_t key_len, uint32_t sa, uint32_t da,
	   uint16_t sp, uint16_t dp)
{
	uint32_t conv[64];
	struct rte_ipv4_tuple t = { .src_addr = sa, .dst_addr = da, .sport = sp,
				    .dport = dp };

	rte_convert_rss_key((const uint32_t *)key, conv, (int)key_len);
	return rte_softrss_be((uint32_t *)&t, RTE_THASH_V4_L4_LEN,
			      (const uint8_t *)conv);
}

/* The RSS spec's own vector validates the reference and the host order. */
static void
test_reference_vector(void)
{
	static const uint8_t ms_key[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
		0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
		0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
		0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa };
	/* 66.9.149.187:2794 -> 161.142.100.80:1766 hashes to 0x51ccc178. */
	uint32_t sa = RTE_IPV4(66, 9, 149, 187), da = RTE_IPV4(161u, 142, 100, 80);

	CHECK_EQ(ref_hash(ms_key, 40, sa, da, 2794, 1766), 0x51ccc178u);
	CHECK_EQ(softrss(ms_key, sa, da, 2794, 1766), 0x51ccc178u);
	CHECK_EQ(softrss_be(ms_key, 40, sa, da, 2794, 1766), 0x51ccc178u);
}

static struct sl_tcp_thash *
make(uint32_t key_len, uint32_t reta_size, uint16_t nq, const uint8_t *seed)
{
	static unsigned int n;
	struct sl_tcp_thash *t;
	uint16_t reta[4096];
	char name[32];

	snprintf(name, sizeof(name), "t_thash_%u", n++);
	t = sl_tcp_thash_create(name, seed, key_len, reta_size, nq);
	CHECK(t != NULL);
	if (t == NULL)
		return NULL;
	sl_tcp_thash_reta_round_robin(t, reta);
	CHECK_EQ(sl_tcp_thash_set_reta(t, reta), 0);
	return t;
}

/* The queue of the reply to a connection from `dp`, by the reference. */
static uint16_t
ref_queue(const uint8_t *key, uint32_t key_len, uint32_t reta_size, uint16_t nq,
	  uint32_t sa, uint32_t da, uint16_t sp, uint16_t dp)
{
	return (uint16_t)((ref_hash(key, key_len, sa, da, sp, dp) &
			   (reta_size - 1)) % nq);   /* round-robin RETA */
}

struct split { uint16_t lo, hi; };

/*
 * Every worker of every split, `n` random tuples each: the pick is in the
 * block, reaches the queue by all three hashes, and is the first such port
 * from the hint on (a brute-force walk finds the same one, or none).
 */
static void
check_config(uint32_t reta_size, uint16_t nq, const struct split *sp,
	     unsigned int n)
{
	struct sl_tcp_thash *t = make(40, reta_size, nq, NULL);
	unsigned int bad = 0, picks = 0, none = 0;
	const uint8_t *key;
	uint32_t klen;

	if (t == NULL)
		return;
	key = sl_tcp_thash_key(t, &klen);
	for (uint16_t w = 0; w < nq; w++) {
		uint32_t span = ((uint32_t)sp->hi - sp->lo + 1) / nq;
		uint16_t lo = (uint16_t)(sp->lo + w * span);
		uint16_t hi = (uint16_t)(lo + span - 1);

		for (unsigned int i = 0; i < n; i++) {
			uint32_t sa = RTE_IPV4(198u, 18, 1, 2) + (uint32_t)(rte_rand() % 8);
			uint32_t da = i % 2 ? OURS : (uint32_t)rte_rand();
			uint16_t bport = (uint16_t)(i % 3 ? 80 + rte_rand() % 9000 : 8080);
			uint16_t hint = (uint16_t)(lo + rte_rand() % span), p = 0, want = 0;
			bool found = false;
			int rc;

			/* Brute force: walk from the hint, wrapping in the block. */
			for (uint32_t k = 0, q = hint; k < span; k++) {
				if (ref_queue(key, klen, reta_size, nq, sa, da, bport,
					      (uint16_t)q) == w) {
					want = (uint16_t)q;
					found = true;
					break;
				}
				q = q == hi ? lo : q + 1;
			}
			rc = sl_tcp_thash_pick(t, sa, da, bport, w, hint, lo, hi, &p);
			if (rc == 0) {
				uint32_t h = softrss(key, sa, da, bport, p);

				picks++;
				if (p < lo || p > hi || !found || p != want ||
				    (h & (reta_size - 1)) % nq != w ||
				    softrss_be(key, klen, sa, da, bport, p) != h ||
				    ref_hash(key, klen, sa, da, bport, p) != h ||
				    sl_tcp_thash_queue(t, sa, da, bport, p) != w) {
					if (bad++ == 0)
						fprintf(stderr, "reta %u nq %u block %u-%u w %u "
							"hint %u: picked %u, first valid %u%s\n",
							reta_size, nq, lo, hi, w, hint, p, want,
							found ? "" : " (none)");
				}
			} else {
				none++;
				if (rc != -ENOENT || found) {
					if (bad++ == 0)
						fprintf(stderr, "reta %u nq %u block %u-%u w %u: "
							"rc %d but port %u reaches it\n",
							reta_size, nq, lo, hi, w, rc, want);
				}
			}
		}
	}
	CHECK_EQ(bad, 0);
	/* A block wider than the RETA always holds ports for every queue. */
	if ((uint32_t)(sp->hi - sp->lo + 1) / nq >= 2 * reta_size)
		CHECK_EQ(none, 0);
	CHECK(picks + none == n * nq);
	sl_tcp_thash_free(t);
}

static void
test_pick_matches_softrss(void)
{
	static const uint32_t retas[] = { 64, 128, 512 };
	static const uint16_t nqs[] = { 2, 3, 4, 8, 16 };
	static const struct split splits[] = {
		{ 10000, 65535 },     /* the default ephemeral range */
		{ 1024, 65535 },      /* the widest the config allows */
		{ 32768, 33791 },     /* aligned, narrow */
		{ 40001, 40300 },     /* unaligned, blocks narrower than the RETA */
	};

	for (unsigned int r = 0; r < RTE_DIM(retas); r++)
		for (unsigned int q = 0; q < RTE_DIM(nqs); q++)
			for (unsigned int s = 0; s < RTE_DIM(splits); s++)
				check_config(retas[r], nqs[q], &splits[s], 150);
}

/* The seed survives but for the 2*log2(reta)-1 bits the port bits meet. */
static void
test_key_rewrite(void)
{
	uint8_t seed[40];
	const uint8_t *key;
	uint32_t len, log = 7, changed_outside = 0;
	struct sl_tcp_thash *t;

	for (unsigned int i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)rte_rand();
	t = make(40, 1u << log, 4, seed);
	if (t == NULL)
		return;
	key = sl_tcp_thash_key(t, &len);
	CHECK_EQ(len, 40);
	for (uint32_t b = 0; b < 320; b++) {
		bool in = b >= 128 - 2 * log && b < 127;
		uint8_t m = (uint8_t)(0x80 >> (b % 8));

		if (!in && (key[b / 8] & m) != (seed[b / 8] & m))
			changed_outside++;
	}
	CHECK_EQ(changed_outside, 0);
	sl_tcp_thash_free(t);
}

/*
 * The caller's loop: asking again from p + 1 visits exactly the block's
 * ports that reach the queue, each once, then comes back to the first.
 */
static void
test_enumeration(void)
{
	struct sl_tcp_thash *t = make(52, 512, 3, NULL);
	uint16_t lo = 20011, hi = 23456, hint = 21000, p, first = 0;
	uint32_t sa = RTE_IPV4(198u, 18, 1, 7), n_want = 0, n_got = 0, bad = 0;
	const uint8_t *key;
	uint32_t klen;
	static bool seen[65536];

	if (t == NULL)
		return;
	key = sl_tcp_thash_key(t, &klen);
	memset(seen, 0, sizeof(seen));
	for (uint32_t q = lo; q <= hi; q++)
		n_want += ref_queue(key, klen, 512, 3, sa, OURS, 443, (uint16_t)q) == 1;
	while (sl_tcp_thash_pick(t, sa, OURS, 443, 1, hint, lo, hi, &p) == 0 &&
	       p != first && n_got <= n_want) {
		if (first == 0)
			first = p;
		if (seen[p] || ref_queue(key, klen, 512, 3, sa, OURS, 443, p) != 1)
			bad++;
		seen[p] = true;
		n_got++;
		hint = p == hi ? lo : (uint16_t)(p + 1);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(n_got, n_want);
	CHECK(n_want > (uint32_t)(hi - lo + 1) / 3 / 2);
	sl_tcp_thash_free(t);
}

static void
test_exhaustion_and_errors(void)
{
	struct sl_tcp_thash *t = make(40, 64, 2, NULL), *t2;
	uint16_t reta[64], p = 0;

	if (t == NULL)
		return;
	/* A queue with no RETA entry: no port can reach it. */
	for (unsigned int i = 0; i < 64; i++)
		reta[i] = 0;
	CHECK_EQ(sl_tcp_thash_set_reta(t, reta), 0);
	CHECK_EQ(sl_tcp_thash_pick(t, 1, 2, 80, 1, 30000, 30000, 40000, &p), -ENOENT);
	CHECK_EQ(sl_tcp_thash_pick(t, 1, 2, 80, 0, 30000, 30000, 40000, &p), 0);
	CHECK_EQ(p, 30000);
	/* A one-port block: that port or nothing, whatever the hint. */
	for (unsigned int i = 0; i < 200; i++) {
		uint16_t q = (uint16_t)(1024 + rte_rand() % 60000);
		uint16_t w = (uint16_t)(i % 2);
		int rc;

		sl_tcp_thash_reta_round_robin(t, reta);
		sl_tcp_thash_set_reta(t, reta);
		rc = sl_tcp_thash_pick(t, (uint32_t)i, OURS, 80, w, 5, q, q, &p);
		if (sl_tcp_thash_queue(t, (uint32_t)i, OURS, 80, q) == w) {
			CHECK_EQ(rc, 0);
			CHECK_EQ(p, q);
		} else {
			CHECK_EQ(rc, -ENOENT);
		}
	}
	/* Bad arguments. */
	CHECK_EQ(sl_tcp_thash_pick(t, 1, 2, 80, 2, 30000, 30000, 40000, &p), -EINVAL);
	CHECK_EQ(sl_tcp_thash_pick(t, 1, 2, 80, 0, 30000, 40000, 30000, &p), -EINVAL);
	reta[7] = 2;
	CHECK_EQ(sl_tcp_thash_set_reta(t, reta), -EINVAL);
	CHECK(sl_tcp_thash_create("t_bad1", NULL, 40, 100, 2) == NULL);
	CHECK_EQ(rte_errno, EINVAL);
	CHECK(sl_tcp_thash_create("t_bad2", NULL, 8, 64, 2) == NULL);
	CHECK(sl_tcp_thash_create("t_bad3", NULL, 40, 2, 2) == NULL);
	t2 = sl_tcp_thash_create("t_dup", NULL, 40, 64, 2);
	CHECK(t2 != NULL);
	CHECK(sl_tcp_thash_create("t_dup", NULL, 40, 64, 2) == NULL);
	CHECK_EQ(rte_errno, EEXIST);
	/* No RETA yet: nothing to aim at. */
	CHECK_EQ(sl_tcp_thash_pick(t2, 1, 2, 80, 0, 30000, 30000, 40000, &p), -EINVAL);
	sl_tcp_thash_free(t2);
	sl_tcp_thash_free(t);
}

/*
 * sl_tcp_connect() on an RSS port, worker 1 of 2: ports from the block
 * that reach queue 1 first, then, once those are taken for this backend,
 * the rest of the block (handed over in software), then EADDRNOTAVAIL.
 */
static void
test_connect_uses_thash(void)
{
	static struct sl_dp dp;
	static struct sl_conf conf;
	struct sl_conf_arp ac = { .lifetime_s = 300, .retry_ms = 100, .retries = 3,
		.pending_max = 4, .table_size = 64 };
	struct rte_mempool *mp;
	struct sl_tcp_thash *t = make(40, 128, 2, NULL);
	struct sl_tcp_stack *s;
	struct sl_lcore *lc;
	uint32_t backend = RTE_IPV4(198u, 18, 1, 2), n_rss = 0, n_other = 0;
	uint32_t want_rss = 0, bad = 0, i;
	uint16_t lo, hi;

	if (t == NULL)
		return;
	mp = sl_test_poison_pool_create("t_thash_mbuf", 1023);
	sl_test_conf_stack(&conf, OURS, 600, 10000, 10999);
	dp.conf = &conf;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.n_ports = 1;
	dp.n_workers = 2;
	dp.ports[0].addr = OURS;
	dp.ports[0].prefix_len = 24;
	dp.ports[0].mask = 0xffffff00u;
	dp.ports[0].mtu = 1500;
	dp.ports[0].n_queues = 2;
	dp.ports[0].steer = SL_STEER_RSS;
	dp.ports[0].rss = t;
	lc = rte_zmalloc("lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	lc->dp = &dp;
	lc->pool = mp;
	lc->queue = 1;
	lc->worker_idx = 1;
	lc->now = rte_rdtsc();
	lc->arp = sl_arp_create("t_thash_arp", SOCKET_ID_ANY, &ac, dp.tsc_hz);
	s = sl_tcp_stack_create(lc, &conf.tcp, SOCKET_ID_ANY, 1, 2);
	CHECK(s != NULL && lc->arp != NULL && mp != NULL);
	if (s == NULL || lc->arp == NULL || mp == NULL)
		return;
	CHECK(sl_tcp_of(lc) == s);
	lo = s->eph_lo;
	hi = s->eph_hi;
	CHECK_EQ(lo, 10500);
	CHECK_EQ(hi, 10999);
	for (uint32_t q = lo; q <= hi; q++)
		want_rss += sl_tcp_thash_queue(t, backend, OURS, 8080, (uint16_t)q) == 1;
	for (i = 0; i < 600; i++) {
		struct sl_tcp_conn *c = sl_tcp_connect(s, backend, 8080, 3000, NULL, NULL);
		bool rss;

		if (c == NULL)
			break;
		rss = sl_tcp_thash_queue(t, backend, OURS, 8080, c->lport) == 1;
		if (c->lport < lo || c->lport > hi)
			bad++;
		/* Every RSS port goes before the first other one. */
		if (rss && n_other > 0)
			bad++;
		n_rss += rss;
		n_other += !rss;
		for (uint16_t k = 0; k < lc->txq[0].n; k++)
			rte_pktmbuf_free(lc->txq[0].pkts[k]);
		lc->txq[0].n = 0;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(n_rss, want_rss);
	CHECK_EQ(n_rss + n_other, hi - lo + 1);
	CHECK_EQ(rte_errno, EADDRNOTAVAIL);
	CHECK(want_rss > 150 && want_rss < 350);
	sl_tcp_stack_free(s);
	sl_arp_free(lc->arp);
	rte_free(lc);
	rte_mempool_free(mp);
	sl_tcp_thash_free(t);
}

int
main(int argc, char **argv)
{
	uint64_t seed;

	(void)argc;
	if (sl_test_eal_init(argv[0], "128") != 0)
		return 1;
	CHECK_EQ(sl_tcp_global_init(), 0);
	/* Random tuples and keys; SL_TEST_SEED replays a failing run. */
	seed = getenv("SL_TEST_SEED") ? strtoull(getenv("SL_TEST_SEED"), NULL, 0)
				       : rte_rdtsc();
	printf("test_tcp_thash: seed %" PRIu64 "\n", seed);
	rte_srand(seed);
	test_reference_vector();
	test_key_rewrite();
	test_pick_matches_softrss();
	test_enumeration();
	test_exhaustion_and_errors();
	test_connect_uses_thash();
	rte_eal_cleanup();
	return sl_test_result("test_tcp_thash");
}
