#ifndef SL_FUZZ_STACK_H
#define SL_FUZZ_STACK_H

/*
 * A fake network around one lcore's stack, for harnesses that drive the
 * gateway end to end: the harness plays every other host at L2-L4.
 *
 * The lcore's TX queue hands its frames to a ring (the steering handoff
 * path of sl_tx_flush), which fz_net_pump() drains: ARP requests for a host
 * we play are answered, TCP segments go to the fake peer they are for, and
 * what the peers send back is fed in through sl_net_input(), as a worker
 * does with a burst, until nothing moves. Time is virtual: the TCP timer
 * wheel only advances when fz_net_advance() says so, one due timer at a
 * time, so timeouts cost no wall time and come in a repeatable order.
 *
 * A peer is a minimal TCP endpoint with no options beyond MSS (no window
 * scaling, timestamps or SACK): in-order data only (nothing is lost here,
 * so nothing arrives out of order but retransmissions), an unscaled 65535
 * window, an ACK for every segment that carries data or FIN, and a
 * go-back-N retransmission from snd_una when told to (fz_peer_rewind).
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "sl_lcore.h"
#include "sl_net.h"
#include "sl_tcp.h"
#include "sl_tcp_conn.h"
#include "sl_timer.h"
#include "fuzz.h"

#define FZ_MSS 1460
#define FZ_MAX_PEERS 64
#define FZ_RXQ 256

enum { FZ_ACTIVE, FZ_PASSIVE };   /* who opened: the peer, or the gateway */

struct fz_peer {
	bool used;
	uint8_t open;                 /* FZ_ACTIVE or FZ_PASSIVE */
	bool est, fin_queued, fin_sent, fin_acked, fin_rcvd, rst_rcvd, rst_sent;
	uint32_t ip, gw_ip;           /* host order */
	uint16_t port, gw_port;
	struct rte_ether_addr mac;
	uint32_t iss, snd_una, snd_nxt, rcv_nxt, snd_wnd;
	struct fuzz_buf out;          /* every byte written; byte k is seq iss+1+k */
	struct fuzz_buf in;           /* every byte received, in order */
	void *app;
};

struct fz_net;
typedef void (*fz_peer_fn)(struct fz_net *n, struct fz_peer *p);
/* A SYN from the gateway to ip:port: true to accept it. */
typedef bool (*fz_listen_fn)(struct fz_net *n, uint32_t ip, uint16_t port);

struct fz_net {
	struct sl_lcore *lc;
	struct rte_mempool *mp;
	struct rte_ring *tx;          /* the gateway's frames */
	struct rte_ether_addr gw_mac;
	uint32_t gw_ip;
	uint64_t vnow;                /* virtual ms, in wheel ticks */
	struct rte_mbuf *rxq[FZ_RXQ];
	unsigned int rxn;
	struct fz_peer peers[FZ_MAX_PEERS];
	fz_peer_fn on_data;           /* new bytes in p->in, or FIN, or RST */
	fz_listen_fn on_syn;
	uint32_t iss_seed;
	uint64_t frames_in, frames_out, stray;
};

static inline bool fz_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool fz_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

static inline void
fz_rx_push(struct fz_net *n, struct rte_mbuf *m)
{
	if (n->rxn == FZ_RXQ) {
		sl_net_input(n->lc, 0, n->rxq, (uint16_t)n->rxn);
		sl_tcp_dispatch(sl_tcp_of(n->lc));
		n->rxn = 0;
	}
	n->rxq[n->rxn++] = m;
}

/* A frame from host ip/mac to the gateway: the headers, room for `plen`. */
static inline struct rte_mbuf *
fz_frame(struct fz_net *n, const struct rte_ether_addr *mac, uint16_t ether_type,
	 uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->mp);
	struct rte_ether_hdr *eth;

	FUZZ_CHECK(m != NULL);   /* the pool is sized for the worst input */
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(14 + len));
	FUZZ_CHECK(eth != NULL);
	eth->dst_addr = n->gw_mac;
	eth->src_addr = *mac;
	eth->ether_type = rte_cpu_to_be_16(ether_type);
	return m;
}

/* An ARP request or reply from a host we play. */
static inline void
fz_arp(struct fz_net *n, const struct rte_ether_addr *mac, uint32_t ip,
       uint16_t op)
{
	struct rte_mbuf *m = fz_frame(n, mac, RTE_ETHER_TYPE_ARP, 28);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	if (op == RTE_ARP_OP_REQUEST)
		memset(&eth->dst_addr, 0xff, 6);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = *mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(ip);
	arp->arp_data.arp_tha = op == RTE_ARP_OP_REQUEST ?
		(struct rte_ether_addr){{ 0 }} : n->gw_mac;
	arp->arp_data.arp_tip = rte_cpu_to_be_32(n->gw_ip);
	fz_rx_push(n, m);
}

/* The MAC of a host we play: 02:00:<ip>. */
static inline struct rte_ether_addr
fz_mac_of(uint32_t ip)
{
	return (struct rte_ether_addr){{ 0x02, 0, (uint8_t)(ip >> 24),
		(uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip }};
}

/* A segment from p to the gateway. */
static inline void
fz_seg(struct fz_net *n, struct fz_peer *p, uint8_t flags, uint32_t seq,
       const uint8_t *data, uint16_t len)
{
	uint16_t thl = (uint16_t)((flags & RTE_TCP_SYN_FLAG) ? 24 : 20);
	uint16_t total = (uint16_t)(20 + thl + len);
	struct rte_mbuf *m = fz_frame(n, &p->mac, RTE_ETHER_TYPE_IPV4, total);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	memset(ip, 0, 20);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(total);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(p->ip);
	ip->dst_addr = rte_cpu_to_be_32(p->gw_ip);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memset(th, 0, thl);
	th->src_port = rte_cpu_to_be_16(p->port);
	th->dst_port = rte_cpu_to_be_16(p->gw_port);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? p->rcv_nxt : 0);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = RTE_BE16(65535);
	if (flags & RTE_TCP_SYN_FLAG) {
		uint8_t *o = (uint8_t *)(th + 1);

		o[0] = 2;
		o[1] = 4;
		o[2] = FZ_MSS >> 8;
		o[3] = FZ_MSS & 0xff;
	}
	if (len != 0)
		memcpy((uint8_t *)th + thl, data, len);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	n->frames_in++;
	fz_rx_push(n, m);
}

static inline struct fz_peer *
fz_peer_new(struct fz_net *n, uint32_t ip, uint16_t port, uint32_t gw_ip,
	    uint16_t gw_port)
{
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++) {
		struct fz_peer *p = &n->peers[i];

		if (p->used)
			continue;
		memset(p, 0, sizeof(*p));
		p->used = true;
		p->ip = ip;
		p->port = port;
		p->gw_ip = gw_ip;
		p->gw_port = gw_port;
		p->mac = fz_mac_of(ip);
		n->iss_seed = n->iss_seed * 1103515245u + 12345u;
		p->iss = n->iss_seed;
		p->snd_una = p->snd_nxt = p->iss;
		return p;
	}
	return NULL;
}

/* Send what the window allows, then FIN when queued and all data is out. */
static inline void
fz_peer_output(struct fz_net *n, struct fz_peer *p, size_t max_seg)
{
	if (!p->est || p->rst_rcvd || p->rst_sent)
		return;
	while (!p->fin_sent) {
		uint32_t sent = p->snd_nxt - (p->iss + 1);
		uint32_t inflight = p->snd_nxt - p->snd_una;
		size_t left = p->out.n - sent, len;

		if (left == 0 || inflight >= p->snd_wnd)
			break;
		len = RTE_MIN(left, (size_t)FZ_MSS);
		len = RTE_MIN(len, (size_t)(p->snd_wnd - inflight));
		len = RTE_MIN(len, max_seg);
		fz_seg(n, p, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, p->snd_nxt,
		       p->out.b + sent, (uint16_t)len);
		p->snd_nxt += (uint32_t)len;
	}
	if (p->fin_queued && !p->fin_sent &&
	    p->snd_nxt - (p->iss + 1) == p->out.n) {
		fz_seg(n, p, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, p->snd_nxt, NULL, 0);
		p->snd_nxt++;
		p->fin_sent = true;
	}
}

/* Write bytes; they leave in segments of at most max_seg bytes. */
static inline void
fz_peer_write(struct fz_net *n, struct fz_peer *p, const void *data, size_t len,
	      size_t max_seg)
{
	if (p->fin_queued || p->rst_sent || p->rst_rcvd)
		return;
	fuzz_buf_put(&p->out, data, len);
	fz_peer_output(n, p, max_seg ? max_seg : FZ_MSS);
}

static inline void
fz_peer_close(struct fz_net *n, struct fz_peer *p)
{
	p->fin_queued = true;
	fz_peer_output(n, p, FZ_MSS);
}

static inline void
fz_peer_reset(struct fz_net *n, struct fz_peer *p)
{
	if (p->rst_sent || p->rst_rcvd || !p->est)
		return;
	fz_seg(n, p, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, p->snd_nxt, NULL, 0);
	p->rst_sent = true;
}

/* Done with: reset, or both FINs sent and acknowledged. */
static inline bool
fz_peer_gone(const struct fz_peer *p)
{
	return p->rst_sent || p->rst_rcvd ||
	       (p->fin_rcvd && p->fin_sent && p->fin_acked);
}

/* Go back to snd_una and send again (a probe when the window is shut). */
static inline void
fz_peer_rewind(struct fz_net *n, struct fz_peer *p)
{
	if (!p->est || fz_peer_gone(p) || p->snd_nxt == p->snd_una)
		return;
	if (p->fin_sent && !p->fin_acked)
		p->fin_sent = false;
	p->snd_nxt = p->snd_una;
	if (p->snd_wnd == 0) {
		uint32_t sent = p->snd_nxt - (p->iss + 1);

		if (sent < p->out.n)   /* a one-byte window probe */
			fz_seg(n, p, RTE_TCP_ACK_FLAG, p->snd_nxt, p->out.b + sent, 1);
		return;
	}
	fz_peer_output(n, p, FZ_MSS);
}

/* Open a connection to the gateway (the SYN goes with the next pump). */
static inline struct fz_peer *
fz_peer_connect(struct fz_net *n, uint32_t ip, uint16_t port, uint16_t gw_port)
{
	struct fz_peer *p = fz_peer_new(n, ip, port, n->gw_ip, gw_port);

	FUZZ_CHECK(p != NULL);
	p->open = FZ_ACTIVE;
	fz_seg(n, p, RTE_TCP_SYN_FLAG, p->iss, NULL, 0);
	p->snd_nxt = p->iss + 1;
	return p;
}

static inline struct fz_peer *
fz_peer_find(struct fz_net *n, uint32_t ip, uint16_t port, uint16_t gw_port)
{
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++) {
		struct fz_peer *p = &n->peers[i];

		if (p->used && p->ip == ip && p->port == port && p->gw_port == gw_port)
			return p;
	}
	return NULL;
}

/* A segment the gateway sent to one of our hosts. */
static inline void
fz_tcp_in(struct fz_net *n, const struct rte_ipv4_hdr *ip, const struct rte_tcp_hdr *th,
	  uint16_t seglen)
{
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint16_t dport = rte_be_to_cpu_16(th->dst_port);
	uint16_t sport = rte_be_to_cpu_16(th->src_port);
	uint16_t thl = (uint16_t)((th->data_off >> 4) * 4);
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);
	const uint8_t *data = (const uint8_t *)th + thl;
	uint32_t len = seglen - thl;
	uint8_t fl = th->tcp_flags;
	struct fz_peer *p = fz_peer_find(n, dst, dport, sport);
	bool notify = false, ack_it = false;

	FUZZ_CHECK(thl >= 20 && thl <= seglen);
	if (p == NULL || (p->rst_sent && !(fl & RTE_TCP_SYN_FLAG))) {
		if (fl & RTE_TCP_RST_FLAG)
			return;
		if ((fl & RTE_TCP_SYN_FLAG) && !(fl & RTE_TCP_ACK_FLAG) && p == NULL &&
		    n->on_syn(n, dst, dport) &&
		    (p = fz_peer_new(n, dst, dport, rte_be_to_cpu_32(ip->src_addr),
				     sport)) != NULL) {
			/* (A full peer table answers RST below, as a host whose
			 * backlog is full would: an input with more backend
			 * connections than FZ_MAX_PEERS is legitimate.) */
			p->open = FZ_PASSIVE;
			p->rcv_nxt = seq + 1;
			p->snd_wnd = rte_be_to_cpu_16(th->rx_win);
			fz_seg(n, p, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, p->iss, NULL, 0);
			p->snd_nxt = p->snd_una = p->iss + 1;
			p->est = true;
			return;
		}
		/* Nobody here (or we reset it): a host answers with RST. */
		n->stray++;
		{
			struct fz_peer tmp = { .ip = dst, .port = dport,
				.gw_ip = rte_be_to_cpu_32(ip->src_addr), .gw_port = sport,
				.mac = fz_mac_of(dst), .rcv_nxt = seq + len +
				((fl & RTE_TCP_SYN_FLAG) ? 1 : 0) + ((fl & RTE_TCP_FIN_FLAG) ? 1 : 0) };

			fz_seg(n, &tmp, (fl & RTE_TCP_ACK_FLAG) ? RTE_TCP_RST_FLAG :
			       RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
			       (fl & RTE_TCP_ACK_FLAG) ? ack : 0, NULL, 0);
		}
		return;
	}
	if (fl & RTE_TCP_RST_FLAG) {
		p->rst_rcvd = true;
		n->on_data(n, p);
		return;
	}
	if (fl & RTE_TCP_SYN_FLAG) {
		if (p->open == FZ_ACTIVE && !p->est && (fl & RTE_TCP_ACK_FLAG) &&
		    ack == p->iss + 1) {
			p->rcv_nxt = seq + 1;
			p->snd_una = ack;
			p->snd_wnd = rte_be_to_cpu_16(th->rx_win);
			p->est = true;
			fz_seg(n, p, RTE_TCP_ACK_FLAG, p->snd_nxt, NULL, 0);
			fz_peer_output(n, p, FZ_MSS);
			n->on_data(n, p);
		} else if (p->open == FZ_PASSIVE) {
			/* Our SYN-ACK was not taken yet: say it again. */
			fz_seg(n, p, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, p->iss, NULL, 0);
		}
		return;
	}
	if (!(fl & RTE_TCP_ACK_FLAG))
		return;
	if (fz_seq_lt(p->snd_una, ack) && fz_seq_le(ack, p->snd_nxt))
		p->snd_una = ack;
	if (p->fin_sent && p->snd_una == p->snd_nxt)
		p->fin_acked = true;
	p->snd_wnd = rte_be_to_cpu_16(th->rx_win);
	if (len > 0) {
		ack_it = true;
		if (fz_seq_le(seq, p->rcv_nxt) && fz_seq_lt(p->rcv_nxt, seq + len)) {
			uint32_t off = p->rcv_nxt - seq;

			fuzz_buf_put(&p->in, data + off, len - off);
			p->rcv_nxt += len - off;
			notify = true;
		}
	}
	if ((fl & RTE_TCP_FIN_FLAG) && seq + len == p->rcv_nxt && !p->fin_rcvd) {
		p->rcv_nxt++;
		p->fin_rcvd = true;
		notify = true;
	}
	if (fl & RTE_TCP_FIN_FLAG)
		ack_it = true;
	if (ack_it)
		fz_seg(n, p, RTE_TCP_ACK_FLAG, p->snd_nxt, NULL, 0);
	fz_peer_output(n, p, FZ_MSS);
	if (notify)
		n->on_data(n, p);
}

/* One frame the gateway sent. Consumes m. */
static inline void
fz_frame_out(struct fz_net *n, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint16_t type = rte_be_to_cpu_16(eth->ether_type);

	n->frames_out++;
	FUZZ_CHECK(m->nb_segs == 1);
	if (type == RTE_ETHER_TYPE_ARP) {
		const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);
		uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);

		if (arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST) && tip != n->gw_ip) {
			struct rte_ether_addr mac = fz_mac_of(tip);

			fz_arp(n, &mac, tip, RTE_ARP_OP_REPLY);
		}
	} else if (type == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
		uint16_t ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);
		uint16_t tot = rte_be_to_cpu_16(ip->total_length);

		FUZZ_CHECK(ihl >= 20 && tot >= ihl + 20u &&
			   14u + tot <= rte_pktmbuf_data_len(m));
		/* What the gateway sends is well formed. */
		{
			struct rte_ipv4_hdr h = *ip;

			h.hdr_checksum = 0;
			FUZZ_CHECK(ihl == 20 && rte_ipv4_cksum(&h) == ip->hdr_checksum);
		}
		if (ip->next_proto_id == IPPROTO_TCP) {
			struct rte_tcp_hdr *th =
				(struct rte_tcp_hdr *)((uintptr_t)ip + ihl);
			uint16_t sum = th->cksum;

			th->cksum = 0;
			FUZZ_CHECK(rte_ipv4_udptcp_cksum(ip, th) == sum);
			th->cksum = sum;
			fz_tcp_in(n, ip, th, (uint16_t)(tot - ihl));
		}
	}
	rte_pktmbuf_free(m);
}

/* Until nothing moves: the gateway's frames out, our answers in. */
static inline void
fz_net_pump(struct fz_net *n)
{
	for (unsigned int round = 0; round < 100000; round++) {
		void *objs[64];
		unsigned int got;

		sl_tx_flush_all(n->lc);
		while ((got = rte_ring_dequeue_burst(n->tx, objs, RTE_DIM(objs), NULL)) > 0)
			for (unsigned int i = 0; i < got; i++)
				fz_frame_out(n, objs[i]);
		if (n->rxn == 0)
			return;
		{
			unsigned int k = n->rxn;

			n->rxn = 0;
			n->lc->now = rte_rdtsc();
			sl_net_input(n->lc, 0, n->rxq, (uint16_t)k);
			sl_tcp_dispatch(sl_tcp_of(n->lc));   /* as the worker: after the burst */
		}
	}
	FUZZ_CHECK(!"the exchange of frames never settled");
}

/* Let `ms` of virtual time pass, firing timers in order and pumping. */
static inline void
fz_net_advance(struct fz_net *n, uint64_t ms)
{
	struct sl_timer_wheel *w = &sl_tcp_of(n->lc)->wheel;
	uint64_t target = n->vnow + ms;

	fz_net_pump(n);
	while (n->vnow < target) {
		uint64_t d = sl_timer_wheel_next(w, target - n->vnow);

		n->vnow += d ? d : 1;
		sl_timer_wheel_advance(w, w->base_tsc + n->vnow * w->tick_tsc);
		sl_tcp_dispatch(sl_tcp_of(n->lc));
		fz_net_pump(n);
	}
}

#endif
