/*
 * ARP and the IPv4/ICMP input path, driven with crafted frames on a fake
 * lcore. No ethdev: packets the stack sends stay in the lcore's TX buffer
 * (flushed only at 64), where the test inspects and frees them. The clock is
 * lc->now with a 1 MHz fake TSC, so 1 ms = 1000 ticks.
 */
#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "sl_test.h"
#include "sl_test_poison_pool.h"

#define HZ 1000000ull
#define OURS   0xc6120001u   /* 198.18.0.1 */
#define PEER   0xc6120002u   /* 198.18.0.2 */
#define PEER2  0xc6120003u

static const struct rte_ether_addr our_mac = {{ 0x02, 0, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr peer_mac = {{ 0x02, 0, 0, 0, 0, 0x02 }};

static struct sl_dp dp;
static struct sl_conf conf;
static struct sl_lcore *lc;
static struct rte_mempool *mp;

static void
setup(uint32_t table_size, uint32_t pending_max)
{
	struct sl_conf_arp ac = { .lifetime_s = 5, .retry_ms = 100, .retries = 3,
		.pending_max = pending_max, .table_size = table_size };
	static unsigned int gen;
	char name[32];

	memset(&dp, 0, sizeof(dp));
	memset(&conf, 0, sizeof(conf));
	conf.n_ports = 1;
	conf.ports[0].addr = OURS;
	conf.ports[0].prefix_len = 24;
	conf.ports[0].valid = true;
	dp.conf = &conf;
	dp.tsc_hz = HZ;
	dp.n_ports = 1;
	dp.ports[0].addr = OURS;
	dp.ports[0].prefix_len = 24;
	dp.ports[0].mask = 0xffffff00u;
	dp.ports[0].mac = our_mac;
	lc = rte_zmalloc("lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	lc->dp = &dp;
	lc->pool = mp;
	lc->now = 1000 * HZ;
	snprintf(name, sizeof(name), "t_arp_%u", gen++);
	lc->arp = sl_arp_create(name, SOCKET_ID_ANY, &ac, HZ);
	CHECK(lc->arp != NULL);
}

static void
teardown(void)
{
	for (uint16_t i = 0; i < lc->txq[0].n; i++)
		rte_pktmbuf_free(lc->txq[0].pkts[i]);
	sl_arp_free(lc->arp);
	rte_free(lc);
}

/* Take the next sent frame (caller frees), NULL if none. */
static struct rte_mbuf *
sent(void)
{
	static uint16_t head;
	struct sl_txq *q = &lc->txq[0];
	struct rte_mbuf *m;

	if (q->n == 0) {
		head = 0;
		return NULL;
	}
	m = q->pkts[head++];
	if (head == q->n) {
		q->n = 0;
		head = 0;
	}
	return m;
}

static unsigned int
n_sent(void)
{
	return lc->txq[0].n;
}

static void
drain_sent(void)
{
	struct rte_mbuf *m;

	while ((m = sent()) != NULL)
		rte_pktmbuf_free(m);
}

/*
 * Silence past the entry's lifetime (5 s in setup) and then through every
 * probe (3, 100 ms apart): the entry is deleted. Probes sent are dropped.
 */
static void
age_out(void)
{
	lc->now += 6 * HZ;
	for (int i = 0; i < 5; i++) {
		lc->now += 101 * 1000;
		sl_arp_tick(lc);
		drain_sent();
	}
}

static struct rte_mbuf *
arp_frame(uint16_t op, const struct rte_ether_addr *sha, uint32_t sip,
	  uint32_t tip, const struct rte_ether_addr *dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (void *)rte_pktmbuf_append(m, sizeof(*eth) +
					sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = (void *)(eth + 1);

	eth->dst_addr = *dst;
	eth->src_addr = *sha;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = *sha;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	memset(&arp->arp_data.arp_tha, 0, 6);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	return m;
}

static const struct rte_ether_addr bcast = {{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }};

static void
input(struct rte_mbuf *m)
{
	sl_net_input(lc, 0, &m, 1);
}

static struct rte_arp_hdr *
arp_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *,
				       sizeof(struct rte_ether_hdr));
}

static struct sl_arp_entry *
entry(uint32_t ip)
{
	for (uint32_t i = 0; i < lc->arp->size; i++)
		if (lc->arp->entries[i].state != SL_ARP_FREE &&
		    lc->arp->entries[i].ip == ip)
			return &lc->arp->entries[i];
	return NULL;
}

static void
test_answer_and_learn(void)
{
	struct rte_mbuf *m;
	struct rte_arp_hdr *a;
	struct rte_ether_hdr *eth;

	setup(64, 8);
	input(arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, PEER, OURS, &bcast));
	m = sent();
	CHECK(m != NULL);
	if (m != NULL) {
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		a = arp_of(m);
		CHECK(rte_is_same_ether_addr(&eth->dst_addr, &peer_mac));
		CHECK(rte_is_same_ether_addr(&eth->src_addr, &our_mac));
		CHECK_EQ(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REPLY);
		CHECK(rte_is_same_ether_addr(&a->arp_data.arp_sha, &our_mac));
		CHECK_EQ(rte_be_to_cpu_32(a->arp_data.arp_sip), OURS);
		CHECK(rte_is_same_ether_addr(&a->arp_data.arp_tha, &peer_mac));
		CHECK_EQ(rte_be_to_cpu_32(a->arp_data.arp_tip), PEER);
		rte_pktmbuf_free(m);
	}
	CHECK(entry(PEER) != NULL && entry(PEER)->state == SL_ARP_REACHABLE);
	CHECK_EQ(lc->stats[0].arp_replies_sent, 1);

	/* A request for someone else: no answer, nothing learned. */
	input(arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, PEER2, 0xc6120009, &bcast));
	CHECK_EQ(n_sent(), 0);
	CHECK(entry(PEER2) == NULL);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ARP_NOT_FOR_US], 1);

	/* Malformed: wrong hardware length, truncated, unknown opcode. */
	m = arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, PEER, OURS, &bcast);
	arp_of(m)->arp_hlen = 8;
	input(m);
	m = arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, PEER, OURS, &bcast);
	rte_pktmbuf_trim(m, 10);
	input(m);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ARP_MALFORMED], 2);
	input(arp_frame(9, &peer_mac, PEER, OURS, &bcast));
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ARP_BAD_OP], 1);
	/* Outside our subnet: answered (it asked for us) but never learned. */
	input(arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, 0xc6130001, OURS, &bcast));
	CHECK(entry(0xc6130001) == NULL);
	drain_sent();
	teardown();
}

static struct rte_mbuf *
ip_packet(uint32_t dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ipv4_hdr *ip;

	rte_pktmbuf_append(m, sizeof(struct rte_ether_hdr) + 28);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
				     sizeof(struct rte_ether_hdr));
	memset(ip, 0, 28);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(28);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(OURS);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	return m;
}

static void
test_resolve_queue_release(void)
{
	struct rte_mbuf *m;

	setup(64, 2);
	sl_ipv4_output(lc, ip_packet(PEER));
	sl_ipv4_output(lc, ip_packet(PEER));
	sl_ipv4_output(lc, ip_packet(PEER));   /* over pending_max = 2 */
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ARP_PENDING_FULL], 1);
	/* Exactly one broadcast request went out, for the next hop. */
	CHECK_EQ(n_sent(), 1);
	m = sent();
	if (m != NULL) {
		CHECK(rte_is_broadcast_ether_addr(
			&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr));
		CHECK_EQ(rte_be_to_cpu_32(arp_of(m)->arp_data.arp_tip), PEER);
		CHECK_EQ(rte_be_to_cpu_32(arp_of(m)->arp_data.arp_sip), OURS);
		rte_pktmbuf_free(m);
	}
	CHECK(entry(PEER) != NULL && entry(PEER)->state == SL_ARP_INCOMPLETE);
	CHECK_EQ(lc->arp->n_pending, 2);

	/* The reply releases both parked packets, addressed to the peer. */
	input(arp_frame(RTE_ARP_OP_REPLY, &peer_mac, PEER, OURS, &our_mac));
	CHECK_EQ(lc->arp->n_pending, 0);
	CHECK_EQ(n_sent(), 2);
	while ((m = sent()) != NULL) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (void *)(eth + 1);

		CHECK(rte_is_same_ether_addr(&eth->dst_addr, &peer_mac));
		CHECK(rte_is_same_ether_addr(&eth->src_addr, &our_mac));
		CHECK_EQ(eth->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV4));
		CHECK_EQ(rte_raw_cksum(ip, 20), 0xffff);
		rte_pktmbuf_free(m);
	}
	CHECK_EQ(lc->stats[0].arp_replies_received, 1);
	teardown();
}

static void
test_retry_and_give_up(void)
{
	setup(64, 8);
	sl_ipv4_output(lc, ip_packet(PEER2));
	CHECK_EQ(n_sent(), 1);
	drain_sent();
	/* Before retry_ms nothing is resent. */
	lc->now += 50 * 1000;
	sl_arp_tick(lc);
	CHECK_EQ(n_sent(), 0);
	/* Requests 2 and 3 at 100 ms intervals, then give up. */
	for (int i = 0; i < 2; i++) {
		lc->now += 101 * 1000;
		sl_arp_tick(lc);
		CHECK_EQ(n_sent(), 1);
		drain_sent();
	}
	CHECK_EQ(lc->arp->n_pending, 1);
	lc->now += 101 * 1000;
	sl_arp_tick(lc);
	CHECK_EQ(n_sent(), 0);
	CHECK_EQ(lc->arp->n_pending, 0);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ARP_UNRESOLVED], 1);
	CHECK(entry(PEER2) == NULL);
	CHECK_EQ(lc->arp->n_used, 0);
	CHECK_EQ(lc->stats[0].arp_requests_sent, 3);
	teardown();
}

static void
test_lifetime_revalidation(void)
{
	struct rte_mbuf *m;

	setup(64, 8);
	input(arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, PEER, OURS, &bcast));
	drain_sent();
	CHECK(entry(PEER) != NULL);
	/* Past the 5 s lifetime the entry goes stale but still carries traffic. */
	lc->now += 6 * HZ;
	sl_ipv4_output(lc, ip_packet(PEER));
	CHECK(entry(PEER) != NULL && entry(PEER)->state == SL_ARP_STALE);
	CHECK_EQ(n_sent(), 1);
	drain_sent();
	/* The tick re-validates by unicast to the known MAC. */
	lc->next_tick = 0;
	sl_arp_tick(lc);
	m = sent();
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK(rte_is_same_ether_addr(
			&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &peer_mac));
		CHECK_EQ(rte_be_to_cpu_16(arp_of(m)->arp_opcode), RTE_ARP_OP_REQUEST);
		rte_pktmbuf_free(m);
	}
	/* An answer makes it reachable again. */
	input(arp_frame(RTE_ARP_OP_REPLY, &peer_mac, PEER, OURS, &our_mac));
	CHECK(entry(PEER)->state == SL_ARP_REACHABLE);
	/* Silence after the next lifetime removes it after `retries` probes. */
	age_out();
	CHECK(entry(PEER) == NULL);
	teardown();
}

/*
 * The lookup cache (sl_arp_table.cache) never answers for an entry that was
 * deleted, nor for one reused by another IP: a frame to a neighbour that
 * was forgotten resolves afresh, never to whoever holds its old slot now.
 */
static void
test_cache_after_delete(void)
{
	static const struct rte_ether_addr peer2_mac = {{ 0x02, 0, 0, 0, 0, 0x03 }};
	struct sl_arp_entry *old;
	struct rte_mbuf *m;
	uint32_t reuser;

	setup(64, 8);
	input(arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, PEER, OURS, &bcast));
	drain_sent();
	sl_ipv4_output(lc, ip_packet(PEER));   /* found, and cached */
	m = sent();
	CHECK(m != NULL && rte_is_same_ether_addr(
		&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &peer_mac));
	rte_pktmbuf_free(m);
	old = entry(PEER);
	/* Silent past its lifetime and the probes: deleted. */
	age_out();
	CHECK(entry(PEER) == NULL);
	/* Deleted: the next frame resolves afresh (a request, the frame parked). */
	sl_ipv4_output(lc, ip_packet(PEER));
	CHECK_EQ(lc->arp->n_pending, 1);
	m = sent();
	CHECK(m != NULL && rte_be_to_cpu_16(rte_pktmbuf_mtod(m,
		struct rte_ether_hdr *)->ether_type) == RTE_ETHER_TYPE_ARP);
	rte_pktmbuf_free(m);
	CHECK(entry(PEER) != NULL && entry(PEER)->state == SL_ARP_INCOMPLETE);
	old = entry(PEER);
	/* Unanswered: deleted again, the frame dropped. */
	for (int i = 0; i < 4; i++) {
		lc->now += 101 * 1000;
		sl_arp_tick(lc);
		drain_sent();
	}
	CHECK(entry(PEER) == NULL);
	CHECK_EQ(lc->arp->n_pending, 0);
	/* Other neighbours until one gets PEER's slot (the 64-entry table may
	 * fill up first: then PEER cannot get an entry at all). */
	for (reuser = PEER2; reuser < OURS + 250; reuser++) {
		input(arp_frame(RTE_ARP_OP_REQUEST, &peer2_mac, reuser, OURS, &bcast));
		drain_sent();
		if (entry(reuser) == NULL || entry(reuser) == old)
			break;
	}
	CHECK(entry(reuser) != NULL && entry(reuser) == old &&
	      entry(reuser)->state == SL_ARP_REACHABLE);
	/* PEER again: parked behind a request, or dropped for a full table;
	 * never sent to the MAC of the neighbour in its old slot. */
	sl_ipv4_output(lc, ip_packet(PEER));
	while ((m = sent()) != NULL) {
		CHECK_EQ(rte_be_to_cpu_16(rte_pktmbuf_mtod(m,
			struct rte_ether_hdr *)->ether_type), RTE_ETHER_TYPE_ARP);
		rte_pktmbuf_free(m);
	}
	CHECK_EQ(lc->arp->n_pending + lc->stats[0].drops[SL_DROP_ARP_TABLE_FULL], 1);
	/* The new holder goes to its own MAC. */
	sl_ipv4_output(lc, ip_packet(reuser));
	m = sent();
	CHECK(m != NULL && rte_is_same_ether_addr(
		&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &peer2_mac));
	rte_pktmbuf_free(m);
	drain_sent();
	teardown();   /* frees a parked packet */
}

static void
test_table_full_and_announce(void)
{
	struct rte_mbuf *m;
	uint32_t cap;

	setup(16, 64);
	cap = lc->arp->size;
	for (uint32_t i = 0; i < cap + 3; i++) {
		sl_ipv4_output(lc, ip_packet(0xc6120010 + i));
		drain_sent();
	}
	CHECK(lc->stats[0].drops[SL_DROP_ARP_TABLE_FULL] >= 3);
	CHECK(lc->arp->n_used <= cap);
	sl_arp_flush_pending(lc->arp);

	sl_arp_announce(lc, 0);
	m = sent();
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK(rte_is_broadcast_ether_addr(
			&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr));
		CHECK_EQ(rte_be_to_cpu_32(arp_of(m)->arp_data.arp_sip), OURS);
		CHECK_EQ(rte_be_to_cpu_32(arp_of(m)->arp_data.arp_tip), OURS);
		rte_pktmbuf_free(m);
	}
	teardown();
}

static struct rte_mbuf *
echo_request(uint32_t dst, uint16_t frag)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t plen = 20 + 8 + 32;
	struct rte_ether_hdr *eth = (void *)rte_pktmbuf_append(m, sizeof(*eth) + plen);
	struct rte_ipv4_hdr *ip = (void *)(eth + 1);
	struct rte_icmp_hdr *icmp = (void *)(ip + 1);

	eth->dst_addr = our_mac;
	eth->src_addr = peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, plen);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(plen);
	ip->time_to_live = 64;
	ip->fragment_offset = rte_cpu_to_be_16(frag);
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = rte_cpu_to_be_32(PEER);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = RTE_BE16(0x1234);
	icmp->icmp_seq_nb = RTE_BE16(7);
	for (int i = 0; i < 32; i++)
		((uint8_t *)(icmp + 1))[i] = (uint8_t)i;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, plen - 20);
	return m;
}

static void
test_icmp_echo(void)
{
	struct rte_mbuf *m;

	setup(64, 8);
	/* Learn the peer first, as the kernel's ARP request would teach us. */
	input(arp_frame(RTE_ARP_OP_REQUEST, &peer_mac, PEER, OURS, &bcast));
	drain_sent();
	input(echo_request(OURS, 0));
	m = sent();
	CHECK(m != NULL);
	if (m != NULL) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (void *)(eth + 1);
		struct rte_icmp_hdr *icmp = (void *)(ip + 1);

		CHECK(rte_is_same_ether_addr(&eth->dst_addr, &peer_mac));
		CHECK_EQ(rte_be_to_cpu_32(ip->src_addr), OURS);
		CHECK_EQ(rte_be_to_cpu_32(ip->dst_addr), PEER);
		CHECK_EQ(rte_raw_cksum(ip, 20), 0xffff);
		CHECK_EQ(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
		CHECK_EQ(icmp->icmp_seq_nb, RTE_BE16(7));
		CHECK_EQ(rte_raw_cksum(icmp, 40), 0xffff);
		CHECK_EQ(((uint8_t *)(icmp + 1))[31], 31);
		rte_pktmbuf_free(m);
	}
	CHECK_EQ(lc->stats[0].icmp_echo_replies, 1);

	/* Not ours, a fragment, a bad ICMP checksum, a non-echo type. */
	input(echo_request(0xc6120063, 0));
	CHECK_EQ(lc->stats[0].drops[SL_DROP_IP_NOT_FOR_US], 1);
	input(echo_request(OURS, RTE_IPV4_HDR_MF_FLAG));
	CHECK_EQ(lc->stats[0].drops[SL_DROP_IP_FRAGMENT], 1);
	m = echo_request(OURS, 0);
	rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 20 + 8)[0] ^= 0xff;
	input(m);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ICMP_BAD_CKSUM], 1);
	m = echo_request(OURS, 0);
	{
		struct rte_icmp_hdr *icmp = rte_pktmbuf_mtod_offset(m,
				struct rte_icmp_hdr *, 14 + 20);
		icmp->icmp_type = 13;   /* timestamp */
		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 40);
	}
	input(m);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ICMP_TYPE], 1);
	/* A frame for another MAC and an IPv6 frame. */
	m = echo_request(OURS, 0);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr.addr_bytes[5] = 0x77;
	input(m);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ETH_NOT_FOR_US], 1);
	m = echo_request(OURS, 0);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(0x86dd);
	input(m);
	CHECK_EQ(lc->stats[0].drops[SL_DROP_ETH_UNKNOWN_TYPE], 1);
	CHECK_EQ(n_sent(), 0);
	CHECK_EQ(lc->stats[0].rx_packets, 8);  /* 7 above plus the ARP request */
	teardown();
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "-m", "64", "--no-pci",
		"--no-shconf", "-l", "0", "--log-level", "error",
		"--no-telemetry", NULL };
	int before;

	(void)argc;
	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	mp = sl_test_poison_pool_create("t_mbuf", 1023);
	CHECK(mp != NULL);
	before = (int)rte_mempool_avail_count(mp);
	test_answer_and_learn();
	test_resolve_queue_release();
	test_retry_and_give_up();
	test_lifetime_revalidation();
	test_cache_after_delete();
	test_table_full_and_announce();
	test_icmp_echo();
	/* Every mbuf the stack took or made went back: no leak on any path. */
	CHECK_EQ((int)rte_mempool_avail_count(mp), before);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return sl_test_result("test_arp");
}
