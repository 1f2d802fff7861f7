/*
 * The receive path of one lcore: Ethernet, ARP, IPv4, ICMP and TCP, on the
 * unit tests' fake stack (one port, 198.18.0.1, a listener on 9000, peers
 * 198.18.0.2-5; frames go in through sl_net_input, what the stack sends is
 * read back from the lcore's TX queue and its handoff ring).
 *
 * The input is a byte of settings (SYN cookies, congestion control,
 * delayed ACKs, MSS: see setup()), then a script of operations: raw frames, and frames the harness
 * builds with valid checksums (TCP segments whose sequence and ack numbers
 * may follow both sides' state, so handshakes, data, FINs and resets reach
 * every state; ARP; ICMP; other IPv4), the passing of time, and the
 * application's moves (accept or refuse, read, echo, send, shutdown,
 * abort, connect).
 *
 * Oracles:
 * - Nothing reads before or past a received frame: it ends at the very
 *   end of its mbuf's buffer (but for one byte when its length is odd),
 *   followed by poisoned memory, and its
 *   headroom is ASan-poisoned while the stack has it.
 * - Every frame sent is well formed: a sane mbuf, our MAC and address,
 *   IPv4 header checksum and length equal to the frame's, TCP or ICMP
 *   checksum valid, TCP header length and options parse, payload within
 *   the MSS; ARP of the right shape. No ACK covers a byte the peer never
 *   sent (checked on flows whose segments all followed the peer's state).
 * - No mbuf leaks: once the application aborted its connections and ten
 *   virtual minutes passed (every timer, TIME_WAIT and ARP retry over),
 *   the pool is back to its baseline, and again after the stack is freed.
 */
#define ALLOW_EXPERIMENTAL_API   /* rte_ipv4_udptcp_cksum_verify */
#include <stdbool.h>
#include <stdint.h>

#include <sanitizer/asan_interface.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "sl_tcp.h"
#include "sl_tcp_conn.h"
#include "sl_tcp_proto.h"
#include "sl_test_stack.h"
#include "sl_timer.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OURS     0xc6120001u     /* 198.18.0.1 */
#define PEER0    0xc6120002u     /* peers: 198.18.0.2 .. 5 */
#define N_PEERS  4
#define LPORT    9000
#define PPORT    40000
#define MAX_CONNS 64
#define N_FLOWS  32
#define MSS      1460
#define FRAME_MAX 2048

static const struct rte_ether_addr our_mac = {{ 0x02, 0, 0, 0, 0, 0x01 }};

static struct rte_mempool *mp;
static struct rte_ring *tx_ring;
static struct sl_dp dp;
static struct sl_conf conf;
static struct sl_lcore *lc;
static struct sl_tcp_stack *S;
static uint64_t clock_ms;
static bool refuse, echo;
static uint32_t last_ip;         /* the last connection we opened */
static uint16_t last_rport, last_lport;

/* Connections the application holds. */
static struct sl_tcp_conn *conns[MAX_CONNS];
static unsigned int n_conns;

/* Both sides' next sequence numbers per flow, for well-aimed segments. */
struct flow {
	uint32_t peer_ip;
	uint16_t peer_port, our_port;
	uint32_t peer_nxt;           /* the peer's next sequence number */
	uint32_t gw_nxt;             /* ours, as seen in what we sent */
	bool gw_known;
	uint32_t peer_hi;            /* end of the highest segment sent */
	bool hi_known;
	bool wild;                   /* a segment with a sequence number of
				      * the input's: peer_hi means nothing */
};
static struct flow flows[N_FLOWS];
static unsigned int n_flows;
static bool raw_seen;            /* frames of the input's making went in */

static struct flow *
flow_get(uint32_t ip, uint16_t pport, uint16_t oport)
{
	for (unsigned int i = 0; i < n_flows; i++)
		if (flows[i].peer_ip == ip && flows[i].peer_port == pport &&
		    flows[i].our_port == oport)
			return &flows[i];
	if (n_flows == N_FLOWS)
		return NULL;
	flows[n_flows] = (struct flow){ .peer_ip = ip, .peer_port = pport,
		.our_port = oport, .peer_nxt = 1000u * (n_flows + 1) };
	return &flows[n_flows++];
}

static void
conn_forget(struct sl_tcp_conn *c)
{
	for (unsigned int i = 0; i < n_conns; i++)
		if (conns[i] == c) {
			conns[i] = conns[--n_conns];
			return;
		}
}

static void
app_readable(struct sl_tcp_conn *c)
{
	struct sl_mq q;

	sl_tcp_recv(S, c, UINT32_MAX, &q);
	if (!echo) {
		sl_mq_free(&q);
		return;
	}
	/* Echo: the received mbufs go back out as they are. */
	for (struct rte_mbuf *m; (m = sl_mq_pop(&q)) != NULL; ) {
		if (m->data_len == 0)
			rte_pktmbuf_free(m);
		else
			sl_tcp_send(S, c, m);  /* frees m when it cannot send */
	}
	sl_tcp_output(S, c);
}

static void
app_established(struct sl_tcp_conn *c)
{
	(void)c;
}

static void
app_closed(struct sl_tcp_conn *c, enum sl_tcp_close_reason why)
{
	(void)why;
	conn_forget(c);
}

static const struct sl_tcp_app_ops app_ops = {
	.established = app_established,
	.readable = app_readable,
	.closed = app_closed,
};

static int
app_accept(struct sl_tcp_conn *c, void *arg)
{
	(void)arg;
	if (refuse || n_conns == MAX_CONNS)
		return -1;
	c->ops = &app_ops;
	conns[n_conns++] = c;
	return 0;
}

static void
tcp_hook(void *ctx, unsigned int port, struct rte_mbuf *m,
	 struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	sl_tcp_input(ctx, port, m, ip, hlen);
	sl_tcp_dispatch(ctx);   /* one segment is the fuzzer's burst */
}

static void *pool_objs[2048];
static unsigned int n_pool_objs;

static void
pool_obj_note(struct rte_mempool *pool, void *arg, void *obj, unsigned int i)
{
	(void)pool;
	(void)arg;
	(void)i;
	if (n_pool_objs < RTE_DIM(pool_objs))
		pool_objs[n_pool_objs++] = obj;
}

static int
ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/*
 * Poison, for good, what lies between one mbuf's buffer and the next mbuf
 * (padding, and the next object's mempool header, which only the
 * mempool's slow paths read). A received frame is placed at the very end of its buffer, so a
 * read past the frame lands there.
 */
static void
pool_poison_gaps(void)
{
	size_t total = mp->header_size + mp->elt_size + mp->trailer_size;

	rte_mempool_obj_iter(mp, pool_obj_note, NULL);
	qsort(pool_objs, n_pool_objs, sizeof(pool_objs[0]), ptr_cmp);
	for (unsigned int i = 0; i + 1 < n_pool_objs; i++) {
		char *end = (char *)pool_objs[i] + mp->elt_size;
		char *next = pool_objs[i + 1];

		/* Without hugepages an object does not cross a page: the
		 * rest of the page is the pool's padding, poisoned too. */
		if (next >= end + mp->header_size && next - end <= 4096)
			ASAN_POISON_MEMORY_REGION(end, (size_t)(next - end));
	}
	/* The byte after the first buffer must now trap. */
	FUZZ_CHECK(n_pool_objs > 1 && total > mp->elt_size &&
		   __asan_address_is_poisoned((char *)pool_objs[0] + mp->elt_size));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	if (sl_test_eal_init((*argv)[0], "128") != 0)
		abort();
	/* No per-lcore cache: freed mbufs are not handed out again at once,
	 * so a frame's poisoned room is not reused while the stack runs. */
	mp = rte_pktmbuf_pool_create("fz_rx_mbuf", 2047, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	tx_ring = rte_ring_create("fz_rx_tx", 1024, SOCKET_ID_ANY,
				  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (mp == NULL || tx_ring == NULL)
		abort();
	pool_poison_gaps();
	return 0;
}

/* ---- what the stack sends ---- */

static void
check_tcp_out(const uint8_t *f, const struct rte_ipv4_hdr *ip, uint32_t l4len)
{
	const struct rte_tcp_hdr *th = (const void *)(f + 14 + 20);
	struct sl_tcp_opts o;
	uint32_t thl, plen, seq;
	struct flow *fl;
	bool syn;

	FUZZ_CHECK(l4len >= 20);
	thl = (uint32_t)(th->data_off >> 4) * 4;
	FUZZ_CHECK(thl >= 20 && thl <= l4len);
	FUZZ_CHECK(rte_ipv4_udptcp_cksum_verify(ip, th) == 0);
	syn = th->tcp_flags & RTE_TCP_SYN_FLAG;
	FUZZ_CHECK(sl_tcp_opts_parse((const uint8_t *)(th + 1), thl - 20, syn,
				     &o) == 0);
	plen = l4len - thl;
	FUZZ_CHECK(plen <= MSS);
	/* Follow our sequence numbers, for the segments built later. */
	fl = flow_get(rte_be_to_cpu_32(ip->dst_addr), rte_be_to_cpu_16(th->dst_port),
		      rte_be_to_cpu_16(th->src_port));
	if (fl == NULL)
		return;
	/* We never acknowledge a byte the peer did not send. */
	if ((th->tcp_flags & RTE_TCP_ACK_FLAG) && fl->hi_known && !fl->wild &&
	    !raw_seen &&
	    (int32_t)(rte_be_to_cpu_32(th->recv_ack) - fl->peer_hi) > 0) {
		fprintf(stderr, "ack %u, the peer sent up to %u\n",
			rte_be_to_cpu_32(th->recv_ack), fl->peer_hi);
		FUZZ_CHECK(!"acknowledged bytes never sent");
	}
	if (th->tcp_flags & RTE_TCP_RST_FLAG)
		return;
	seq = rte_be_to_cpu_32(th->sent_seq) + plen + syn +
	      !!(th->tcp_flags & RTE_TCP_FIN_FLAG);
	if (!fl->gw_known || syn || (int32_t)(seq - fl->gw_nxt) > 0)
		fl->gw_nxt = seq;
	fl->gw_known = true;
}

static void
check_out(struct rte_mbuf *m)
{
	static uint8_t f[16384];
	const struct rte_ether_hdr *eth = (const void *)f;
	const char *why = NULL;
	uint32_t len;

	FUZZ_CHECK(rte_mbuf_check(m, 1, &why) == 0);
	len = rte_pktmbuf_pkt_len(m);
	FUZZ_CHECK(len >= 14 && len <= sizeof(f));
	{
		const void *p = rte_pktmbuf_read(m, 0, len, f);

		FUZZ_CHECK(p != NULL);
		if (p != f)
			memcpy(f, p, len);
	}
	FUZZ_CHECK(rte_is_same_ether_addr(&eth->src_addr, &our_mac));
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
		const struct rte_arp_hdr *a = (const void *)(eth + 1);

		FUZZ_CHECK(len >= 14 + sizeof(*a));
		FUZZ_CHECK(a->arp_hardware == RTE_BE16(RTE_ARP_HRD_ETHER) &&
			   a->arp_protocol == RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
			   a->arp_hlen == 6 && a->arp_plen == 4);
		FUZZ_CHECK(a->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST) ||
			   a->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY));
		FUZZ_CHECK(a->arp_data.arp_sip == rte_cpu_to_be_32(OURS));
		FUZZ_CHECK(rte_is_same_ether_addr(&a->arp_data.arp_sha, &our_mac));
		return;
	}
	FUZZ_CHECK(eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4));
	const struct rte_ipv4_hdr *ip = (const void *)(eth + 1);
	uint32_t tot, hl;

	FUZZ_CHECK(len >= 14 + 20);
	/* Our TCP segments have no IP options; an echo reply may keep some. */
	FUZZ_CHECK((ip->version_ihl >> 4) == 4);
	hl = (ip->version_ihl & 0x0f) * 4u;
	tot = rte_be_to_cpu_16(ip->total_length);
	FUZZ_CHECK(tot == len - 14);
	FUZZ_CHECK(hl >= 20 && hl <= tot);
	FUZZ_CHECK(rte_raw_cksum(ip, hl) == 0xffff);
	FUZZ_CHECK(ip->src_addr == rte_cpu_to_be_32(OURS));
	FUZZ_CHECK(ip->time_to_live > 0);
	FUZZ_CHECK((rte_be_to_cpu_16(ip->fragment_offset) &
		    (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) == 0);
	switch (ip->next_proto_id) {
	case IPPROTO_TCP:
		FUZZ_CHECK(hl == 20);
		check_tcp_out(f, ip, tot - 20);
		break;
	case IPPROTO_ICMP:
		FUZZ_CHECK(tot >= hl + 8);
		FUZZ_CHECK(rte_raw_cksum(f + 14 + hl, tot - hl) == 0xffff);
		break;
	default:
		FUZZ_CHECK(!"sent an IPv4 protocol other than TCP or ICMP");
	}
}

static void
drain_tx(void)
{
	struct sl_txq *q = &lc->txq[0];
	void *objs[64];
	unsigned int n;

	for (uint16_t i = 0; i < q->n; i++) {
		check_out(q->pkts[i]);
		rte_pktmbuf_free(q->pkts[i]);
	}
	q->n = 0;
	while ((n = rte_ring_dequeue_burst(tx_ring, objs, 64, NULL)) > 0)
		for (unsigned int i = 0; i < n; i++) {
			check_out(objs[i]);
			rte_pktmbuf_free(objs[i]);
		}
}

/* ---- what the peers send ---- */

static void
peer_mac(unsigned int i, struct rte_ether_addr *a)
{
	*a = (struct rte_ether_addr){{ 0x02, 0, 0, 0, 1, (uint8_t)(2 + i) }};
}

/*
 * An mbuf holding `len` bytes at the very end of its buffer: there is no
 * tailroom (one byte for an odd length), and what follows is poisoned
 * (pool_poison_gaps). Tailroom
 * cannot be poisoned instead: the stack may legitimately append to a
 * received mbuf it keeps (tcp_mq_pack packs small segments that way).
 */
static struct rte_mbuf *
frame_alloc(uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	FUZZ_CHECK(m != NULL);
	FUZZ_CHECK(len >= 1 && len <= FRAME_MAX);
	/* Even: struct rte_ether_hdr is 2-byte aligned, as NICs deliver it. */
	m->data_off = (uint16_t)((m->buf_len - len) & ~1u);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	return m;
}

/* Hand a finished frame to the stack, its headroom poisoned. */
static void
deliver(struct rte_mbuf *m)
{
	char *buf = m->buf_addr;

	ASAN_POISON_MEMORY_REGION(buf, m->data_off);
	sl_net_input(lc, 0, &m, 1);
	/* m is the stack's now, or back in the pool: unpoison either way. */
	ASAN_UNPOISON_MEMORY_REGION(buf, m->buf_len);
	drain_tx();
}

static uint8_t *
frame_start(struct rte_mbuf **mp_out, uint32_t len, unsigned int peer)
{
	struct rte_mbuf *m;
	struct rte_ether_hdr *eth;

	FUZZ_CHECK(len >= 14);
	m = frame_alloc(len);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	memset(eth, 0, len);
	eth->dst_addr = our_mac;
	peer_mac(peer, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	*mp_out = m;
	return (uint8_t *)eth;
}

static void
ip_fill(struct rte_ipv4_hdr *ip, unsigned int peer, uint8_t proto,
	uint32_t total)
{
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)total);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(PEER0 + peer);
	ip->dst_addr = rte_cpu_to_be_32(OURS);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void
take(struct fuzz_in *in, uint8_t *out, size_t n)
{
	size_t k = n < in->n ? n : in->n;

	memcpy(out, in->p, k);
	memset(out + k, 'x', n - k);
	in->p += k;
	in->n -= k;
}

/* The last byte of a frame may be flipped after its checksums. */
static void
maybe_corrupt(uint8_t *f, uint32_t len, uint8_t op, struct fuzz_in *in)
{
	if (op & 0x80) {
		uint16_t at = fuzz_u16(in);

		f[14 + at % (len - 14)] ^= (uint8_t)(1u << (at >> 13));
	}
}

static void
op_raw(struct fuzz_in *in, uint8_t op)
{
	uint32_t len = fuzz_u8(in) + (op & 0x08 ? 256u : 0u) + 1;
	struct rte_mbuf *m = frame_alloc(len);
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);

	take(in, f, len);
	raw_seen = true;
	if ((op & 0x10) && len >= 14)
		memcpy(f, &our_mac, 6);
	deliver(m);
}

static void
op_tcp(struct fuzz_in *in, uint8_t op)
{
	uint8_t sel = fuzz_u8(in), flags = fuzz_u8(in), ob = fuzz_u8(in);
	unsigned int peer = sel & 3;
	uint16_t sport = (uint16_t)(PPORT + ((sel >> 2) & 3));
	uint16_t dport = (sel & 0x10) ? fuzz_u16(in) : LPORT;
	struct flow *fl;
	uint32_t seq, ack, olen = 0, plen, ihl = op & 0x10 ? 24 : 20, pad;
	uint8_t opts[40];
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint16_t win = fuzz_u16(in);
	uint8_t *f;

	if ((sel & 0x80) && last_lport != 0) {
		/* To the connection we opened last. */
		peer = last_ip - PEER0;
		sport = last_rport;
		dport = last_lport;
	}
	fl = flow_get(PEER0 + peer, sport, dport);
	if (fl == NULL)
		return;
	if (sel & 0x20) {
		seq = (uint32_t)fuzz_u16(in) << 16 | fuzz_u16(in);
		fl->wild = true;
	} else {
		if (flags & RTE_TCP_SYN_FLAG)
			fl->peer_nxt = 1000u * (unsigned int)(fl - flows + 1);
		seq = fl->peer_nxt;
	}
	if (sel & 0x40)
		ack = (uint32_t)fuzz_u16(in) << 16 | fuzz_u16(in);
	else
		ack = fl->gw_nxt;
	if (ob & 0x80) {
		olen = (ob & 0x3f) % 41;           /* raw options */
		take(in, opts, olen);
	} else if (flags & RTE_TCP_SYN_FLAG) {
		struct sl_tcp_opts o = { .mss_ok = true, .mss = (ob & 1) ? 536 : MSS,
			.ws_ok = ob & 2, .wscale = (uint8_t)((ob >> 2) & 15),
			.sack_perm = ob & 0x40, .ts_ok = ob & 0x20,
			.tsval = clock_ms };

		olen = sl_tcp_opts_build_syn(opts, &o);
	} else if (ob & 0x20) {
		struct sl_tcp_sack_block sb[2] = {
			{ fl->gw_nxt - 100, fl->gw_nxt - 50 },
			{ fl->gw_nxt - 40, fl->gw_nxt - 10 } };

		olen = sl_tcp_opts_build(opts, true, (uint32_t)clock_ms, 1, sb,
					 ((ob >> 2) & 3) > 2 ? 2 : (ob >> 2) & 3);
	}
	plen = fuzz_u8(in) * (op & 0x08 ? 8u : 1u);
	pad = op & 0x40 ? fuzz_u8(in) % 16 : 0;    /* Ethernet padding */
	if (14 + ihl + 20 + olen + plen + pad > FRAME_MAX)
		plen = FRAME_MAX - 14 - ihl - 20 - olen - pad;
	f = frame_start(&m, 14 + ihl + 20 + olen + plen + pad, peer);
	ip = (struct rte_ipv4_hdr *)(f + 14);
	th = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((20 + olen + 3) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(win);
	memcpy(th + 1, opts, olen);
	take(in, (uint8_t *)(th + 1) + olen, plen);
	if (ihl == 24)
		memset(ip + 1, RTE_IPV4_HDR_OPT_EOL, 4);
	ip_fill(ip, peer, IPPROTO_TCP, ihl + 20 + olen + plen);
	if (ihl == 24) {
		ip->version_ihl = 0x46;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = ~rte_raw_cksum(ip, 24);
	}
	/* rte_ipv4_udptcp_cksum assumes a 20-byte IP header. */
	{
		struct rte_ipv4_hdr ph = *ip;

		ph.version_ihl = 0x45;
		ph.total_length = rte_cpu_to_be_16((uint16_t)(20 + 20 + olen + plen));
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(&ph, th);
	}
	if (!(sel & 0x20)) {
		fl->peer_nxt = seq + plen + !!(flags & RTE_TCP_SYN_FLAG) +
			       !!(flags & RTE_TCP_FIN_FLAG);
		if (!fl->hi_known || (int32_t)(fl->peer_nxt - fl->peer_hi) > 0)
			fl->peer_hi = fl->peer_nxt;
		fl->hi_known = true;
	}
	maybe_corrupt(f, 14 + ihl + 20 + olen + plen, op, in);
	deliver(m);
}

static void
op_arp(struct fuzz_in *in, uint8_t op)
{
	uint8_t sel = fuzz_u8(in);
	unsigned int peer = sel & 3;
	struct rte_mbuf *m;
	uint8_t *f = frame_start(&m, 14 + sizeof(struct rte_arp_hdr), peer);
	struct rte_ether_hdr *eth = (void *)f;
	struct rte_arp_hdr *a = (void *)(eth + 1);

	(void)op;
	if (sel & 0x04)
		memset(&eth->dst_addr, 0xff, 6);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16((sel >> 3) & 3);   /* 0-3: 1 req, 2 reply */
	peer_mac(peer, &a->arp_data.arp_sha);
	a->arp_data.arp_sip = rte_cpu_to_be_32(sel & 0x20 ? OURS : PEER0 + peer);
	a->arp_data.arp_tip = rte_cpu_to_be_32(sel & 0x40 ? PEER0 : OURS);
	if (sel & 0x80)
		take(in, (uint8_t *)a, 8);                 /* the fixed fields */
	deliver(m);
}

static void
op_icmp(struct fuzz_in *in, uint8_t op)
{
	uint8_t sel = fuzz_u8(in);
	uint32_t plen = fuzz_u8(in) * (op & 0x08 ? 4u : 1u);
	unsigned int peer = sel & 3;
	struct rte_mbuf *m;
	uint8_t *f = frame_start(&m, 14 + 20 + 8 + plen, peer);
	struct rte_ipv4_hdr *ip = (void *)(f + 14);
	struct rte_icmp_hdr *ic = (void *)(ip + 1);

	ic->icmp_type = sel & 0x04 ? fuzz_u8(in) : RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_code = sel & 0x08 ? fuzz_u8(in) : 0;
	ic->icmp_ident = fuzz_u16(in);
	ic->icmp_seq_nb = fuzz_u16(in);
	take(in, (uint8_t *)(ic + 1), plen);
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, 8 + plen);
	ip_fill(ip, peer, IPPROTO_ICMP, 20 + 8 + plen);
	if (sel & 0x10) {                               /* a fragment */
		ip->fragment_offset = rte_cpu_to_be_16(fuzz_u16(in));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	maybe_corrupt(f, 14 + 20 + 8 + plen, op, in);
	deliver(m);
}

/* IPv4 with fuzzed header fields, checksum made valid. */
static void
op_ipv4(struct fuzz_in *in, uint8_t op)
{
	uint8_t hdr[60];
	uint32_t len = 14 + fuzz_u8(in) + (op & 0x08 ? 256u : 0u);
	struct rte_mbuf *m;
	uint8_t *f;
	struct rte_ipv4_hdr *ip;
	uint32_t hl;

	if (len < 14 + 20)
		len = 14 + 20;
	raw_seen = true;
	f = frame_start(&m, len, fuzz_u8(in) & 3);
	ip = (void *)(f + 14);
	take(in, hdr, 20);
	memcpy(ip, hdr, 20);
	take(in, (uint8_t *)(ip + 1), len - 14 - 20);
	if (op & 0x10)
		ip->version_ihl = (uint8_t)(0x40 | (ip->version_ihl & 0x0f));
	if (op & 0x20)
		ip->dst_addr = rte_cpu_to_be_32(OURS);
	hl = (ip->version_ihl & 0x0f) * 4u;
	if (hl >= 20 && hl <= len - 14) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, hl);
	}
	deliver(m);
}

static void
advance(uint64_t ms)
{
	clock_ms += ms;
	lc->now = S->wheel.base_tsc + clock_ms * S->wheel.tick_tsc + 1;
	sl_tcp_timers(S, lc->now);
	sl_tcp_dispatch(S);
	sl_arp_tick(lc);
	drain_tx();
}

static void
op_app(struct fuzz_in *in, uint8_t op)
{
	uint8_t sel = fuzz_u8(in);
	struct sl_tcp_conn *c;
	struct rte_mbuf *m;
	uint32_t n;

	if ((op & 0x08) != 0) {
		refuse = sel & 1;
		echo = sel & 2;
		return;
	}
	if (n_conns == 0)
		return;
	c = conns[(sel >> 3) % n_conns];
	switch (sel & 7) {
	case 0:                                     /* send */
		n = (uint32_t)fuzz_u8(in) * 8 + 1;
		m = rte_pktmbuf_alloc(mp);
		FUZZ_CHECK(m != NULL);
		if (n > rte_pktmbuf_tailroom(m))
			n = rte_pktmbuf_tailroom(m);
		memset(rte_pktmbuf_append(m, (uint16_t)n), 'd', n);
		sl_tcp_send(S, c, m);
		sl_tcp_output(S, c);
		break;
	case 1:
		sl_tcp_shutdown(S, c);
		break;
	case 2:
		sl_tcp_abort(S, c);
		conn_forget(c);
		break;
	case 3:
		app_readable(c);
		break;
	case 4:
		sl_tcp_ack_now(S, c);
		break;
	default:
		sl_tcp_output(S, c);
		break;
	}
	drain_tx();
}

static void
op_connect(struct fuzz_in *in, uint8_t op)
{
	uint8_t sel = fuzz_u8(in);
	struct sl_tcp_conn *c;

	(void)op;
	if (n_conns == MAX_CONNS)
		return;
	c = sl_tcp_connect(S, PEER0 + (sel & 3), (uint16_t)(80 + (sel >> 2)),
			   1000 + (uint32_t)fuzz_u8(in) * 100, &app_ops, NULL);
	if (c != NULL) {
		conns[n_conns++] = c;
		last_ip = c->raddr;
		last_rport = c->rport;
		last_lport = c->lport;
	}
	drain_tx();
}

/*
 * The stack's settings, from the input's first byte: bits 0-1 SYN cookies
 * (auto, always, never, auto with a backlog of 2), bit 2 CUBIC rather
 * than NewReno, bit 3 no delayed ACKs, bit 4 an MSS of 536.
 */
static void
setup(uint8_t cfg)
{
	struct sl_conf_arp ac = { .lifetime_s = 300, .retry_ms = 100, .retries = 3,
		.pending_max = 16, .table_size = 64 };

	/* ISNs, ephemeral ports: the same for every run of an input. */
	rte_srand(1);
	memset(&dp, 0, sizeof(dp));
	memset(&conf, 0, sizeof(conf));
	sl_test_conf_stack(&conf, OURS, MAX_CONNS, 10000, 20000);
	conf.tcp.syncookies = (cfg & 3) == 1 ? SL_SYNCOOKIES_ALWAYS :
			      (cfg & 3) == 2 ? SL_SYNCOOKIES_NEVER : SL_SYNCOOKIES_AUTO;
	if ((cfg & 3) == 3)
		conf.tcp.syn_backlog = 2;
	if (cfg & 4)
		snprintf(conf.tcp.cc, sizeof(conf.tcp.cc), "cubic");
	if (cfg & 8)
		conf.tcp.delack_ms = 0;
	if (cfg & 16)
		conf.tcp.mss = 536;
	dp.conf = &conf;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.n_ports = 1;
	dp.ports[0].addr = OURS;
	dp.ports[0].prefix_len = 24;
	dp.ports[0].mask = 0xffffff00u;
	dp.ports[0].mac = our_mac;
	dp.ports[0].mtu = 1500;
	dp.n_workers = 1;
	lc = rte_zmalloc("fz_lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	FUZZ_CHECK(lc != NULL);
	lc->dp = &dp;
	lc->pool = mp;
	lc->now = rte_rdtsc();
	lc->txq[0].handoff = tx_ring;
	lc->arp = sl_arp_create("fz_rx_arp", SOCKET_ID_ANY, &ac, dp.tsc_hz);
	S = sl_tcp_stack_create(lc, &conf.tcp, SOCKET_ID_ANY, 0, 1);
	FUZZ_CHECK(lc->arp != NULL && S != NULL);
	/* S attached itself to lc; its input is our hook instead. */
	sl_ipv4_proto_register(lc, IPPROTO_TCP, tcp_hook, S);
	FUZZ_CHECK(sl_tcp_listen(S, OURS, LPORT, app_accept, NULL) == 0);
	clock_ms = 0;
	n_conns = 0;
	n_flows = 0;
	raw_seen = false;
	refuse = false;
	echo = false;
	last_ip = 0;
	last_rport = last_lport = 0;
}

/* Close what the application holds, let every timer run out, free. */
static void
teardown(void)
{
	while (n_conns > 0) {
		struct sl_tcp_conn *c = conns[--n_conns];

		sl_tcp_abort(S, c);
	}
	drain_tx();
	for (int i = 0; i < 120 && rte_mempool_in_use_count(mp) != 0; i++)
		advance(5000);
	if (rte_mempool_in_use_count(mp) != 0) {
		fprintf(stderr, "%u mbufs still in use ten minutes after the "
			"last connection was aborted\n",
			rte_mempool_in_use_count(mp));
		FUZZ_CHECK(!"mbufs held");
	}
	sl_tcp_stack_free(S);
	sl_arp_free(lc->arp);
	rte_free(lc);
	FUZZ_CHECK(rte_mempool_in_use_count(mp) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	int ops = 0;

	FUZZ_CHECK(rte_mempool_in_use_count(mp) == 0);
	setup(fuzz_u8(&in));
	while (in.n > 0 && ops++ < 64) {
		uint8_t op = fuzz_u8(&in);

		switch (op & 7) {
		case 0:
			op_raw(&in, op);
			break;
		case 1:
		case 2:
			op_tcp(&in, op);
			break;
		case 3:
			op_arp(&in, op);
			break;
		case 4:
			op_icmp(&in, op);
			break;
		case 5:
			if (op & 0x08)
				op_ipv4(&in, op);
			else
				advance(fuzz_u8(&in) * (op & 0x10 ? 100u : 1u));
			break;
		case 6:
			op_app(&in, op);
			break;
		default:
			op_connect(&in, op);
			break;
		}
	}
	teardown();
	return 0;
}
