#ifndef SL_TEST_TCP_H
#define SL_TEST_TCP_H

/*
 * The scripted peer of the TCP unit tests (test_tcp, test_tcp_truesize):
 * a one-port stack on 198.18.0.1 with a listener, segments from 198.18.0.2
 * fed in through sl_net_input, and what the stack sends read back from
 * the lcore's TX buffer. Time moves by advancing the timer wheel.
 */
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "sl_tcp.h"
#include "sl_test.h"
#include "sl_test_stack.h"
#include "sl_timer.h"
#include "../../lib/tcp/tcp_private.h"

#define OURS   0xc6120001u   /* 198.18.0.1 */
#define PEER   0xc6120002u   /* 198.18.0.2 */
#define LPORT  9000
#define PPORT  40000

static const struct rte_ether_addr our_mac = {{ 0x02, 0, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr peer_mac = {{ 0x02, 0, 0, 0, 0, 0x02 }};

static struct sl_dp dp;
static struct sl_conf conf;
static struct sl_lcore *lc;
static struct rte_mempool *mp;
static struct sl_tcp_stack *S;
static uint64_t clock_ms;      /* virtual time fed to the wheel */

/* What the stack sent, decoded. */
struct out {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint32_t plen;
	uint8_t payload[64];
	struct sl_tcp_opts o;
};

/* Application side. */
static struct sl_tcp_conn *accepted;
static int n_accepts, n_readable, n_closed, n_established;
static enum sl_tcp_close_reason last_reason;
static bool refuse;
/* Callbacks run only at dispatch, never inside sl_tcp_input (tcp_event.c):
 * every callback of these tests counts a breach of that here. */
static bool in_tcp_input;
static int n_midsegment;
/* Set: the hook leaves the dispatch to the test (a burst of several). */
static bool hold_dispatch;

static void app_readable(struct sl_tcp_conn *c)
{
	(void)c;
	n_midsegment += in_tcp_input;
	n_readable++;
}
static void app_established(struct sl_tcp_conn *c)
{
	(void)c;
	n_midsegment += in_tcp_input;
	n_established++;
}
static void app_closed(struct sl_tcp_conn *c, enum sl_tcp_close_reason why)
{
	n_midsegment += in_tcp_input;
	n_closed++;
	last_reason = why;
	if (c == accepted)
		accepted = NULL;
}

static const struct sl_tcp_app_ops app_ops = {
	.established = app_established,
	.readable = app_readable,
	.closed = app_closed,
};

static inline int
app_accept(struct sl_tcp_conn *c, void *arg)
{
	(void)arg;
	n_midsegment += in_tcp_input;
	if (refuse)
		return -1;
	n_accepts++;
	accepted = c;
	c->ops = &app_ops;
	return 0;
}

static inline void
tcp_hook(void *ctx, unsigned int port, struct rte_mbuf *m,
	 struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	in_tcp_input = true;
	sl_tcp_input(ctx, port, m, ip, hlen);
	in_tcp_input = false;
	if (!hold_dispatch)
		sl_tcp_dispatch(ctx);   /* one segment is this test's burst */
}

static inline void
advance(uint64_t ms)
{
	clock_ms += ms;
	sl_tcp_timers(S, S->wheel.base_tsc + clock_ms * S->wheel.tick_tsc + 1);
	sl_tcp_dispatch(S);
}

/* A neighbour announces itself (ARP request for us): replies to it leave at once. */
static inline void
teach_arp(uint32_t ip, const struct rte_ether_addr *mac)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth = (void *)rte_pktmbuf_append(m, 14 + 28);
	struct rte_arp_hdr *arp = (void *)(eth + 1);

	memset(&eth->dst_addr, 0xff, 6);
	eth->src_addr = *mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = *mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(ip);
	memset(&arp->arp_data.arp_tha, 0, 6);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(OURS);
	sl_net_input(lc, 0, &m, 1);
	for (uint16_t i = 0; i < lc->txq[0].n; i++)
		rte_pktmbuf_free(lc->txq[0].pkts[i]);
	lc->txq[0].n = 0;
}

/* Optional: adjust the TCP settings before setup() makes the stack. */
static void (*setup_tweak)(struct sl_conf_tcp *t);

static inline void
setup(void)
{
	struct sl_conf_arp ac = { .lifetime_s = 300, .retry_ms = 100, .retries = 3,
		.pending_max = 16, .table_size = 64 };
	static unsigned int gen;
	char name[32];

	memset(&dp, 0, sizeof(dp));
	memset(&conf, 0, sizeof(conf));
	sl_test_conf_stack(&conf, OURS, 64, 10000, 20000);
	if (setup_tweak != NULL)
		setup_tweak(&conf.tcp);
	dp.conf = &conf;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.n_ports = 1;
	dp.ports[0].addr = OURS;
	dp.ports[0].prefix_len = 24;
	dp.ports[0].mask = 0xffffff00u;
	dp.ports[0].mac = our_mac;
	dp.ports[0].mtu = 1500;
	lc = rte_zmalloc("lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	lc->dp = &dp;
	lc->pool = mp;
	lc->now = rte_rdtsc();
	snprintf(name, sizeof(name), "t_tcp_arp_%u", gen++);
	lc->arp = sl_arp_create(name, SOCKET_ID_ANY, &ac, dp.tsc_hz);
	S = sl_tcp_stack_create(lc, &conf.tcp, SOCKET_ID_ANY, 0, 1);
	CHECK(S != NULL);
	/* The stack attached itself to lc; its input is our hook instead. */
	CHECK(sl_tcp_of(lc) == S);
	CHECK_EQ(sl_ipv4_proto_register(lc, IPPROTO_TCP, tcp_hook, S), 0);
	sl_tcp_listen(S, OURS, LPORT, app_accept, NULL);
	clock_ms = 0;
	accepted = NULL;
	n_accepts = n_readable = n_closed = n_established = 0;
	refuse = false;
	hold_dispatch = false;

	teach_arp(PEER, &peer_mac);
}

static inline void
teardown(void)
{
	for (uint16_t i = 0; i < lc->txq[0].n; i++)
		rte_pktmbuf_free(lc->txq[0].pkts[i]);
	lc->txq[0].n = 0;
	sl_tcp_stack_free(S);
	sl_arp_free(lc->arp);
	rte_free(lc);
}

/* Peer -> stack. Options: ts (tsval/tsecr) and, on SYN, mss/ws/sack. */
struct in {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	const char *data;
	uint32_t len;
	bool syn_opts;
	bool ts;
	uint32_t tsval, tsecr;
	uint8_t n_sack;
	struct sl_tcp_sack_block sack[3];
	uint16_t sport;
	uint16_t dport;
	bool win0;                   /* advertise a zero window */
	uint32_t saddr;              /* 0: PEER */
};

static inline void
send_in(const struct in *x)
{
	uint8_t opts[40];
	unsigned int olen = 0;
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint16_t thl, total;

	if (x->flags & RTE_TCP_SYN_FLAG) {
		struct sl_tcp_opts o = { .mss_ok = true, .mss = 1460 };

		if (x->syn_opts) {
			o.ws_ok = true;
			o.wscale = 7;
			o.sack_perm = true;
			o.ts_ok = x->ts;
			o.tsval = x->tsval;
			o.tsecr = x->tsecr;
		}
		olen = sl_tcp_opts_build_syn(opts, &o);
	} else if (x->ts || x->n_sack) {
		olen = sl_tcp_opts_build(opts, x->ts, x->tsval, x->tsecr, x->sack,
					 x->n_sack);
	}
	thl = (uint16_t)(20 + olen);
	total = (uint16_t)(20 + thl + x->len);
	eth = (void *)rte_pktmbuf_append(m, (uint16_t)(14 + total));
	eth->dst_addr = our_mac;
	eth->src_addr = peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, 20);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(total);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(x->saddr ? x->saddr : PEER);
	ip->dst_addr = rte_cpu_to_be_32(OURS);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th = (struct rte_tcp_hdr *)(ip + 1);
	memset(th, 0, 20);
	th->src_port = rte_cpu_to_be_16(x->sport ? x->sport : PPORT);
	th->dst_port = rte_cpu_to_be_16(x->dport ? x->dport : LPORT);
	th->sent_seq = rte_cpu_to_be_32(x->seq);
	th->recv_ack = rte_cpu_to_be_32(x->ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = x->flags;
	th->rx_win = rte_cpu_to_be_16(x->win0 ? 0 : (x->win ? x->win : 65535));
	memcpy(th + 1, opts, olen);
	if (x->len)
		memcpy((uint8_t *)th + thl, x->data, x->len);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	sl_net_input(lc, 0, &m, 1);
}

static inline unsigned int
n_out(void)
{
	return lc->txq[0].n;
}

/* Pop the oldest emitted segment; false when none. */
static inline bool
get_out(struct out *o)
{
	struct sl_txq *q = &lc->txq[0];
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint16_t thl;

	memset(o, 0, sizeof(*o));
	if (q->n == 0)
		return false;
	m = q->pkts[0];
	memmove(q->pkts, q->pkts + 1, (q->n - 1) * sizeof(q->pkts[0]));
	q->n--;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	th = (struct rte_tcp_hdr *)(ip + 1);
	CHECK_EQ(rte_raw_cksum(ip, 20), 0xffff);
	CHECK(tcp_cksum_ok(ip, th, rte_be_to_cpu_16(ip->total_length) - 20));
	thl = (uint16_t)((th->data_off >> 4) * 4);
	o->flags = th->tcp_flags;
	o->seq = rte_be_to_cpu_32(th->sent_seq);
	o->ack = rte_be_to_cpu_32(th->recv_ack);
	o->win = rte_be_to_cpu_16(th->rx_win);
	o->plen = rte_be_to_cpu_16(ip->total_length) - 20 - thl;
	memcpy(o->payload, (uint8_t *)th + thl, RTE_MIN(o->plen, sizeof(o->payload)));
	CHECK_EQ(sl_tcp_opts_parse((uint8_t *)(th + 1), thl - 20,
				   th->tcp_flags & RTE_TCP_SYN_FLAG, &o->o), 0);
	rte_pktmbuf_free(m);
	return true;
}

static inline void
drain_out(void)
{
	struct out o;

	while (get_out(&o))
		;
}

#define SYN RTE_TCP_SYN_FLAG
#define ACK RTE_TCP_ACK_FLAG
#define FIN RTE_TCP_FIN_FLAG
#define RST RTE_TCP_RST_FLAG
#define PSH RTE_TCP_PSH_FLAG

/* A SYN from sport to dport, answered with SYN-ACK; returns our ISN. */
static inline uint32_t
syn_to(uint16_t sport, uint16_t dport, uint32_t isn)
{
	struct out o;

	drain_out();
	send_in(&(struct in){ .flags = SYN, .seq = isn, .sport = sport,
			      .dport = dport });
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	return o.seq;
}

/* Passive handshake from peer ISN `isn`; returns our ISN. */
static inline uint32_t
handshake(uint32_t isn, bool ts)
{
	struct out o;

	send_in(&(struct in){ .flags = SYN, .seq = isn, .syn_opts = true,
			      .ts = ts, .tsval = 1000 });
	CHECK(get_out(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ack, isn + 1);
	send_in(&(struct in){ .flags = ACK, .seq = isn + 1, .ack = o.seq + 1,
			      .ts = ts, .tsval = 1001, .tsecr = o.o.tsval });
	CHECK_EQ(n_accepts, 1);
	CHECK(accepted != NULL && accepted->state == SL_TCP_ESTABLISHED);
	return o.seq;
}

#endif
