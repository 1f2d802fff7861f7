/*
 * Connection ownership across workers (lib/steer, the ephemeral split in
 * lib/tcp): the owner formulas, then two fake workers on one port whose
 * bursts go through sl_steer_rx()/sl_steer_drain() for real (rings, ARP
 * copies, counters, TX hand-off), without a NIC.
 */
#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_thash.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "sl_steer.h"
#include "sl_tcp.h"
#include "sl_test.h"
#include "sl_test_stack.h"
#include "../../lib/tcp/tcp_private.h"
#include "sl_test_poison_pool.h"

#define OURS   0xc6120001u   /* 198.18.0.1 */
#define PEER   0xc6120002u   /* 198.18.0.2 */

static const struct rte_ether_addr our_mac = {{ 0x02, 0, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr peer_mac = {{ 0x02, 0, 0, 0, 0, 0x02 }};

static struct rte_mempool *mp;
static struct sl_dp dp;
static struct sl_conf conf;
static unsigned int delivered[2];      /* TCP segments each worker processed */
static uint16_t last_dport[2];

/* ---- the formulas -------------------------------------------------------- */

/*
 * Every port a stack hands out is owned, by the formula, by that stack's
 * worker: the split and the owner lookup are one formula.
 */
static void
test_eph_blocks_match_stacks(void)
{
	static const struct { uint16_t lo, hi; unsigned int n; } cases[] = {
		{ 10000, 65535, 1 }, { 10000, 65535, 2 }, { 10000, 65535, 3 },
		{ 1024, 65535, 7 }, { 10000, 10257, 4 },  /* 258 ports: 2 spare */
	};

	for (unsigned int c = 0; c < RTE_DIM(cases); c++) {
		struct sl_conf_tcp tc = conf.tcp;
		uint32_t span = sl_tcp_eph_span(cases[c].lo, cases[c].hi, cases[c].n);

		tc.ephemeral_lo = cases[c].lo;
		tc.ephemeral_hi = cases[c].hi;
		for (unsigned int w = 0; w < cases[c].n; w++) {
			struct sl_tcp_stack *s =
				sl_tcp_stack_create(NULL, &tc, SOCKET_ID_ANY, w, cases[c].n);

			CHECK(s != NULL);
			if (s == NULL)
				continue;
			CHECK_EQ(s->eph_hi - s->eph_lo + 1, span);
			CHECK_EQ(sl_tcp_eph_owner(tc.ephemeral_lo, span, cases[c].n,
						  s->eph_lo), w);
			CHECK_EQ(sl_tcp_eph_owner(tc.ephemeral_lo, span, cases[c].n,
						  s->eph_hi), w);
			CHECK_EQ(sl_tcp_eph_owner(tc.ephemeral_lo, span, cases[c].n,
						  (uint16_t)(s->eph_lo + span / 2)), w);
			sl_tcp_stack_free(s);
		}
		/* Outside the range, or past the last block: nobody's. */
		CHECK_EQ(sl_tcp_eph_owner(cases[c].lo, span, cases[c].n,
					  (uint16_t)(cases[c].lo - 1)), -1);
		CHECK_EQ(sl_tcp_eph_owner(cases[c].lo, span, cases[c].n, 80), -1);
		if (span * cases[c].n < (uint32_t)cases[c].hi - cases[c].lo + 1)
			CHECK_EQ(sl_tcp_eph_owner(cases[c].lo, span, cases[c].n,
						  cases[c].hi), -1);
	}
	/* The documented example: 10000-65535 over two workers. */
	CHECK_EQ(sl_tcp_eph_span(10000, 65535, 2), 27768);
	CHECK_EQ(sl_tcp_eph_owner(10000, 27768, 2, 37767), 0);
	CHECK_EQ(sl_tcp_eph_owner(10000, 27768, 2, 37768), 1);
	CHECK_EQ(sl_tcp_eph_owner(10000, 27768, 2, 65535), 1);
}

/*
 * The software owner of a client flow: Toeplitz (rte_softrss, our fixed
 * key) of the 4-tuple mod N; the same for every segment of a flow, and
 * spread over the workers.
 */
static void
test_flow_owner(void)
{
	unsigned int hits[4][4] = { { 0 } };

	for (uint32_t i = 0; i < 4000; i++) {
		uint32_t src = PEER + (i % 8);
		uint16_t sport = (uint16_t)(32768 + i * 7);
		struct rte_ipv4_tuple t = { .src_addr = src, .dst_addr = OURS,
					    .sport = sport, .dport = 80 };
		uint32_t h = rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN,
					 sl_steer_rss_key);

		for (unsigned int n = 1; n <= 4; n++) {
			unsigned int o = sl_steer_flow_owner(src, OURS, sport, 80, n);

			CHECK(o < n);
			CHECK_EQ(o, h % n);
			/* Stable: the SYN and every later segment agree. */
			CHECK_EQ(sl_steer_flow_owner(src, OURS, sport, 80, n), o);
			hits[n - 1][o]++;
		}
	}
	for (unsigned int n = 2; n <= 4; n++)
		for (unsigned int o = 0; o < n; o++) {
			/* Within a third of the even share. */
			CHECK(hits[n - 1][o] > 4000 / n * 2 / 3);
			CHECK(hits[n - 1][o] < 4000 / n * 4 / 3);
		}
	/* The key is the common 40-byte default (RSS of most NICs). */
	CHECK_EQ(sl_steer_rss_key[0], 0x6d);
	CHECK_EQ(sl_steer_rss_key[39], 0xfa);
}

/* ---- two workers, one port ---------------------------------------------- */

static void
tcp_hook(void *ctx, unsigned int port, struct rte_mbuf *m,
	 struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	const struct sl_lcore *l = ctx;
	const struct rte_tcp_hdr *th = (const void *)((const uint8_t *)ip + hlen);

	(void)port;
	delivered[l->worker_idx]++;
	last_dport[l->worker_idx] = rte_be_to_cpu_16(th->dst_port);
	rte_pktmbuf_free(m);
}

static struct sl_lcore *
worker(unsigned int idx)
{
	struct sl_conf_arp ac = { .lifetime_s = 300, .retry_ms = 100, .retries = 3,
		.pending_max = 16, .table_size = 64 };
	struct sl_lcore *l = rte_zmalloc("lc", sizeof(*l), RTE_CACHE_LINE_SIZE);
	char name[32];

	l->lcore_id = idx;     /* names the per-lcore hash tables */
	l->worker_idx = idx;
	l->queue = (uint16_t)idx;
	l->dp = &dp;
	l->pool = mp;
	l->now = rte_rdtsc();
	snprintf(name, sizeof(name), "t_steer_arp_%u", idx);
	l->arp = sl_arp_create(name, SOCKET_ID_ANY, &ac, dp.tsc_hz);
	/* The stack attaches itself (sl_tcp_of); its input is ours instead. */
	CHECK(sl_tcp_stack_create(l, &conf.tcp, SOCKET_ID_ANY, idx, 2) != NULL);
	CHECK_EQ(sl_ipv4_proto_register(l, IPPROTO_TCP, tcp_hook, l), 0);
	CHECK(l->arp != NULL && sl_tcp_of(l) != NULL);
	return l;
}

static struct rte_mbuf *
tcp_seg(uint32_t src, uint16_t sport, uint16_t dport)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (void *)rte_pktmbuf_append(m,
		sizeof(*eth) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr));
	struct rte_ipv4_hdr *ip = (void *)(eth + 1);
	struct rte_tcp_hdr *th = (void *)(ip + 1);

	eth->dst_addr = our_mac;
	eth->src_addr = peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*th));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(OURS);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memset(th, 0, sizeof(*th));
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->data_off = 5 << 4;
	th->tcp_flags = RTE_TCP_SYN_FLAG;
	return m;
}

/* An ARP request from the peer for our address. */
static struct rte_mbuf *
arp_request(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (void *)rte_pktmbuf_append(m,
		sizeof(*eth) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *a = (void *)(eth + 1);

	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	a->arp_data.arp_sha = peer_mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(PEER);
	memset(&a->arp_data.arp_tha, 0, sizeof(a->arp_data.arp_tha));
	a->arp_data.arp_tip = rte_cpu_to_be_32(OURS);
	return m;
}

static unsigned int
arp_entries(const struct sl_lcore *l)
{
	struct sl_arp_info info[8];

	return sl_arp_snapshot(l->arp, rte_rdtsc(), dp.tsc_hz, info, RTE_DIM(info));
}

/* Put every frame an lcore buffered for TX back in the pool. */
static uint16_t
txq_discard(struct sl_lcore *l)
{
	uint16_t n = l->txq[0].n;

	for (uint16_t i = 0; i < n; i++)
		rte_pktmbuf_free(l->txq[0].pkts[i]);
	l->txq[0].n = 0;
	return n;
}

static void
test_two_workers(void)
{
	struct sl_lcore *w0, *w1;
	struct rte_mbuf *pkts[64];
	uint32_t span = sl_tcp_eph_span(conf.tcp.ephemeral_lo, conf.tcp.ephemeral_hi, 2);
	uint16_t sport0 = 0, sport1 = 0, kept, reply1, nobody;
	unsigned int in_use, tx;
	uint32_t tx_taken;
	char err[256] = "";

	memset(&dp, 0, sizeof(dp));
	dp.conf = &conf;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.n_ports = 1;
	dp.ports[0].addr = OURS;
	dp.ports[0].prefix_len = 24;
	dp.ports[0].mask = 0xffffff00u;
	dp.ports[0].mac = our_mac;
	dp.ports[0].mtu = 1500;
	dp.ports[0].port_id = 0;
	dp.ports[0].n_queues = 2;
	dp.n_workers = 2;
	dp.workers[0] = w0 = worker(0);
	dp.workers[1] = w1 = worker(1);
	in_use = rte_mempool_in_use_count(mp);
	CHECK_EQ(sl_steer_setup(&dp, err, sizeof(err)), 0);
	CHECK(sl_steer_of(w0) != NULL && sl_steer_of(w1) != NULL);
	CHECK_EQ(sl_steer_port_mode(&dp, 0), SL_STEER_SOFTWARE);
	CHECK_STR(sl_steer_mode_name(sl_steer_port_mode(&dp, 0)), "software");

	/* Two client flows, one owned by each worker by the flow hash. */
	for (uint16_t p = 40000; sport0 == 0 || sport1 == 0; p++) {
		if (sl_steer_flow_owner(PEER, OURS, p, 80, 2) == 0)
			sport0 = sport0 ? sport0 : p;
		else
			sport1 = sport1 ? sport1 : p;
	}
	reply1 = (uint16_t)(conf.tcp.ephemeral_lo + span + 5);   /* worker 1's block */
	nobody = conf.tcp.ephemeral_hi;                           /* past both blocks */
	CHECK_EQ(sl_tcp_eph_owner(conf.tcp.ephemeral_lo, span, 2, nobody), -1);

	/* Worker 0 receives all of it. */
	pkts[0] = tcp_seg(PEER, sport0, 80);
	pkts[1] = tcp_seg(PEER, sport1, 80);
	pkts[2] = tcp_seg(0xc6120102u, 8080, reply1);
	pkts[3] = tcp_seg(0xc6120102u, 8080, nobody);
	pkts[4] = arp_request();
	kept = sl_steer_rx(w0, 0, pkts, 5);
	/* Kept: its own flow, the owner-less segment, the ARP original. */
	CHECK_EQ(kept, 3);
	CHECK_EQ(w0->stats[0].rx_packets, 5);
	CHECK_EQ(w0->stats[0].steered_out, 3);    /* two segments + ARP copy */
	CHECK_EQ(w0->stats[0].steer_no_owner, 1);
	sl_net_deliver(w0, 0, pkts, kept);
	CHECK_EQ(delivered[0], 2);
	CHECK_EQ(arp_entries(w0), 1);
	CHECK_EQ(w0->stats[0].arp_replies_sent, 1);
	CHECK_EQ(txq_discard(w0), 1);             /* the ARP reply */
	CHECK_EQ(arp_entries(w1), 0);

	/* Worker 1 drains: its client flow, its reply, and the ARP copy. */
	CHECK_EQ(sl_steer_drain(w1, &tx_taken), 3);
	CHECK_EQ(tx_taken, 0);
	CHECK_EQ(w1->stats[0].steered_in, 3);
	CHECK_EQ(w1->stats[0].rx_packets, 0);     /* counted where received */
	CHECK_EQ(delivered[1], 2);
	CHECK_EQ(last_dport[1], reply1);
	/* The copy taught worker 1 the neighbour, and answered nothing. */
	CHECK_EQ(arp_entries(w1), 1);
	CHECK_EQ(w1->stats[0].arp_replies_sent, 0);
	CHECK_EQ(w1->txq[0].n, 0);
	CHECK_EQ(sl_steer_drain(w1, &tx_taken), 0);
	CHECK_EQ(sl_steer_drain(w0, &tx_taken), 0);

	/* A ring that is never drained fills, and then drops by name. */
	for (unsigned int round = 0; round < SL_STEER_RING_SIZE / 32 + 2; round++) {
		for (unsigned int i = 0; i < 32; i++)
			pkts[i] = tcp_seg(PEER, sport1, 80);
		CHECK_EQ(sl_steer_rx(w0, 0, pkts, 32), 0);
	}
	CHECK(w0->stats[0].drops[SL_DROP_STEER_RING_FULL] >= 64);
	CHECK_EQ(w0->stats[0].steered_out - 3 + w0->stats[0].drops[SL_DROP_STEER_RING_FULL],
		 (SL_STEER_RING_SIZE / 32 + 2) * 32);
	while (sl_steer_drain(w1, &tx_taken) > 0)
		;
	CHECK_EQ(w1->stats[0].steered_in, w0->stats[0].steered_out);
	sl_steer_teardown(&dp);
	CHECK(sl_steer_of(w0) == NULL && sl_steer_of(w1) == NULL);

	/* One queue for two workers: worker 1 sends through worker 0. */
	dp.ports[0].n_queues = 1;
	CHECK_EQ(sl_steer_setup(&dp, err, sizeof(err)), 0);
	CHECK(w1->txq[0].handoff != NULL && w0->txq[0].handoff == NULL);
	sl_tx(w1, 0, tcp_seg(PEER, 1, 2));
	sl_tx(w1, 0, tcp_seg(PEER, 1, 3));
	sl_tx_flush(w1, 0);
	CHECK_EQ(w1->stats[0].tx_handed_off, 2);
	CHECK_EQ(w1->txq[0].n, 0);
	CHECK_EQ(sl_steer_drain(w0, &tx_taken), 0);
	CHECK_EQ(tx_taken, 2);
	tx = txq_discard(w0);
	CHECK_EQ(tx, 2);
	/* Left in a ring at stop: freed by the teardown. */
	sl_tx(w1, 0, tcp_seg(PEER, 1, 4));
	sl_tx_flush(w1, 0);
	sl_steer_teardown(&dp);
	CHECK(w1->txq[0].handoff == NULL);
	CHECK_EQ(rte_mempool_in_use_count(mp), in_use);
	if (err[0] != '\0')
		fprintf(stderr, "setup: %s\n", err);
	for (unsigned int w = 0; w < 2; w++) {
		sl_tcp_stack_free(sl_tcp_of(dp.workers[w]));
		sl_arp_free(dp.workers[w]->arp);
		rte_free(dp.workers[w]);
	}
}

/* One worker: nothing is set up, every port is "single". */
static void
test_one_worker(void)
{
	char err[64] = "";

	memset(&dp, 0, sizeof(dp));
	dp.n_ports = 1;
	dp.n_workers = 1;
	CHECK_EQ(sl_steer_setup(&dp, err, sizeof(err)), 0);
	CHECK_EQ(sl_steer_port_mode(&dp, 0), SL_STEER_SINGLE);
	CHECK_STR(sl_steer_mode_name(SL_STEER_SINGLE), "single");
	CHECK_STR(sl_steer_mode_name(SL_STEER_RSS), "rss");
}

int
main(int argc, char **argv)
{

	(void)argc;
	if (sl_test_eal_init(argv[0], "128") != 0)
		return 1;
	CHECK_EQ(sl_tcp_global_init(), 0);
	mp = sl_test_poison_pool_create("t_mbuf", 8191);
	sl_test_conf_stack(&conf, OURS, 16, 10000, 20000);
	test_eph_blocks_match_stacks();
	test_flow_owner();
	test_two_workers();
	test_one_worker();
	return sl_test_result("test_steer");
}
