/*
 * Building and sending segments. Every frame is built whole in one mbuf:
 * AF_XDP and most virtual NICs take single-segment frames only, so payload
 * is copied from the send queue into the frame here (counted as
 * tx_copied_bytes). Payload moves between connections without copying; this
 * is the one copy, made at the wire as AF_XDP's copy mode would anyway.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "tcp_private.h"

struct frame {
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint8_t *payload;
};

/* Allocate a frame with Ethernet, IPv4 and TCP headers (checksums later). */
static int
frame_alloc(struct sl_tcp_stack *s, unsigned int port, struct frame *f,
	    uint32_t laddr, uint32_t raddr, uint16_t lport, uint16_t rport,
	    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
	    const uint8_t *opts, unsigned int olen, uint32_t plen)
{
	uint16_t thl = (uint16_t)(sizeof(struct rte_tcp_hdr) + olen);
	uint16_t total = (uint16_t)(sizeof(struct rte_ipv4_hdr) + thl + plen);
	char *p;

	f->m = rte_pktmbuf_alloc(s->lc->pool);
	if (unlikely(f->m == NULL)) {
		s->lc->stats[port].drops[SL_DROP_NO_MBUF]++;
		return -1;
	}
	p = rte_pktmbuf_append(f->m, (uint16_t)(sizeof(struct rte_ether_hdr) + total));
	if (unlikely(p == NULL)) {
		rte_pktmbuf_free(f->m);
		s->lc->stats[port].drops[SL_DROP_NO_MBUF]++;
		return -1;
	}
	f->ip = (struct rte_ipv4_hdr *)(p + sizeof(struct rte_ether_hdr));
	f->th = (struct rte_tcp_hdr *)(f->ip + 1);
	f->payload = (uint8_t *)f->th + thl;
	f->ip->version_ihl = 0x45;
	f->ip->type_of_service = 0;
	f->ip->total_length = rte_cpu_to_be_16(total);
	f->ip->packet_id = rte_cpu_to_be_16(s->ip_id++);
	f->ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	f->ip->time_to_live = 64;
	f->ip->next_proto_id = IPPROTO_TCP;
	f->ip->hdr_checksum = 0;
	f->ip->src_addr = rte_cpu_to_be_32(laddr);
	f->ip->dst_addr = rte_cpu_to_be_32(raddr);
	f->th->src_port = rte_cpu_to_be_16(lport);
	f->th->dst_port = rte_cpu_to_be_16(rport);
	f->th->sent_seq = rte_cpu_to_be_32(seq);
	f->th->recv_ack = rte_cpu_to_be_32(ack);
	f->th->data_off = (uint8_t)((thl / 4) << 4);
	f->th->tcp_flags = flags;
	f->th->rx_win = rte_cpu_to_be_16(win);
	f->th->cksum = 0;
	f->th->tcp_urp = 0;
	if (olen)
		memcpy(f->th + 1, opts, olen);
	return 0;
}

/* Checksum the TCP segment and hand the frame to IPv4 output. */
static void
frame_send(struct sl_tcp_stack *s, struct frame *f, int port, uint32_t next_hop)
{
	f->th->cksum = sl_ipv4_udptcp_cksum(f->ip, f->th);
	s->stats.segments_out++;
	if (port >= 0)
		sl_ipv4_send(s->lc, (unsigned int)port, next_hop, f->m);
	else
		sl_ipv4_output(s->lc, f->m);
}

uint16_t
tcp_adv_window(const struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	uint32_t edge = sl_seq_max(c->rcv_adv, c->rcv_nxt);
	uint32_t right = c->rcv_nxt + tcp_rcv_space(s, c);
	uint8_t shift = (c->flags & SL_TCPF_WS) ? c->rcv_wscale : 0;
	uint32_t wnd, units;

	/*
	 * Never move the right edge left: what was offered stays offered
	 * (RFC 9293 3.8.6.2.2). And only move it right by a useful amount,
	 * at least min(MSS, half the buffer): no silly windows.
	 */
	if (sl_seq_le(right, edge) ||
	    right - edge < RTE_MIN(c->rcv_buf / 2, (uint32_t)c->mss))
		right = edge;
	wnd = right - c->rcv_nxt;
	/* Round up to the scale so the window we state is never less than
	 * the one we offered (rounding down would shrink it). */
	units = (wnd + (1u << shift) - 1) >> shift;
	if (units > 65535)
		units = 65535;
	c->rcv_adv = sl_seq_max(edge, c->rcv_nxt + (units << shift));
	return (uint16_t)units;
}

/*
 * Options of a non-SYN segment: timestamps and SACK blocks from the
 * out-of-order queue. RFC 2018: the first block holds the most recently
 * received segment; the others follow in sequence order.
 */
static unsigned int
data_opts(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint8_t *buf)
{
	struct sl_tcp_sack_block all[16], blocks[SL_TCP_MAX_SACK_BLOCKS];
	unsigned int n_all = 0, n = 0, first = 0;

	if ((c->flags & SL_TCPF_SACK) && c->ooo.n > 0) {
		for (struct rte_mbuf *m = c->ooo.head; m != NULL; m = sl_mq_next(m)) {
			uint32_t start = sl_mq_meta(m)->seq;
			uint32_t end = start + rte_pktmbuf_data_len(m);

			if (n_all > 0 && all[n_all - 1].end == start)
				all[n_all - 1].end = end;
			else if (n_all < RTE_DIM(all))
				all[n_all++] = (struct sl_tcp_sack_block){ start, end };
			else
				break;
		}
		for (unsigned int i = 0; i < n_all; i++)
			if (sl_seq_in(c->ooo_last, all[i].start, all[i].end))
				first = i;
		if (n_all > 0)
			blocks[n++] = all[first];
		for (unsigned int i = 0; i < n_all && n < SL_TCP_MAX_SACK_BLOCKS; i++)
			if (i != first)
				blocks[n++] = all[i];
	}
	if (!(c->flags & SL_TCPF_TS) && n == 0)
		return 0;
	return sl_tcp_opts_build(buf, c->flags & SL_TCPF_TS, tcp_now_ms(s),
				 c->ts_recent, blocks, n);
}

static inline void
ack_sent(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	c->flags &= (uint16_t)~SL_TCPF_ACK_NOW;
	/* "Every second segment" counts from the last ACK, whatever sent it:
	 * else a request answered with the ACK riding on the response leaves
	 * a count of one, and the next request gets a bare ACK of its own. */
	c->delack_segs = 0;
	sl_timer_cancel(&s->wheel, &c->delack_timer);
}

void
tcp_send_syn(struct sl_tcp_stack *s, struct sl_tcp_conn *c, bool ack)
{
	/* Advertise what we can take, not what the peer allows us to send. */
	struct sl_tcp_opts o = { .mss_ok = true,
		.mss = RTE_MIN(s->conf->mss,
			       (uint16_t)(s->lc->dp->ports[c->port].mtu - 40)) };
	uint8_t opts[SL_TCP_OPT_MAX_LEN];
	unsigned int olen;
	struct frame f;

	/* On SYN-ACK only echo what the peer offered (RFC 7323, 2018). */
	o.sack_perm = !ack || (c->flags & SL_TCPF_SACK);
	o.ts_ok = !ack || (c->flags & SL_TCPF_TS);
	o.ws_ok = !ack || (c->flags & SL_TCPF_WS);
	o.wscale = c->rcv_wscale;
	o.tsval = tcp_now_ms(s);
	o.tsecr = ack ? c->ts_recent : 0;
	olen = sl_tcp_opts_build_syn(opts, &o);
	if (frame_alloc(s, c->port, &f, c->laddr, c->raddr, c->lport, c->rport,
			c->iss, ack ? c->rcv_nxt : 0,
			(uint8_t)(RTE_TCP_SYN_FLAG | (ack ? RTE_TCP_ACK_FLAG : 0)),
			(uint16_t)RTE_MIN(c->rcv_buf, 65535u), opts, olen, 0) != 0)
		return;
	c->rcv_adv = c->rcv_nxt + RTE_MIN(c->rcv_buf, 65535u);
	frame_send(s, &f, c->port, c->next_hop);
}

void
tcp_send_ack(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	uint8_t opts[SL_TCP_OPT_MAX_LEN];
	unsigned int olen = data_opts(s, c, opts);
	struct frame f;
	uint32_t wnd_end = c->snd_una + c->snd_wnd;
	/*
	 * SEG.SEQ of a bare ACK is snd_max, not snd_nxt (as BSD does): after
	 * an RTO rewinds snd_nxt to snd_una, the peer may already hold more
	 * (its ACKs lost), and Linux discards a segment ending before the
	 * RCV.NXT it last advertised (tcp_sequence: old sequence), our ACK
	 * of its data and our window update with it, until our resends catch
	 * up. Linux never rewinds snd_nxt, so its ACKs are always at the top.
	 * And never further than the peer's window's right edge (as Linux's
	 * tcp_acceptable_seq): a peer whose window is shut accepts only
	 * SEG.SEQ == RCV.NXT and discards the rest, window update included;
	 * that also keeps an unaccepted zero-window probe byte out.
	 */
	uint32_t seq = sl_seq_gt(c->snd_max, wnd_end) ? wnd_end : c->snd_max;

	if (frame_alloc(s, c->port, &f, c->laddr, c->raddr, c->lport, c->rport,
			seq, c->rcv_nxt, RTE_TCP_ACK_FLAG, tcp_adv_window(s, c),
			opts, olen, 0) != 0)
		return;
	ack_sent(s, c);
	frame_send(s, &f, c->port, c->next_hop);
}

void
tcp_send_rst(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	struct frame f;

	if (frame_alloc(s, c->port, &f, c->laddr, c->raddr, c->lport, c->rport,
			c->snd_nxt, c->rcv_nxt,
			RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, NULL, 0, 0) != 0)
		return;
	s->stats.rst_sent++;
	frame_send(s, &f, c->port, c->next_hop);
}

/* Copy `len` bytes starting `off` bytes into the send queue. */
static void
copy_from_sndq(const struct sl_tcp_conn *c, uint32_t off, uint32_t len,
	       uint8_t *dst)
{
	struct rte_mbuf *m = c->sndq.head;

	while (m != NULL && off >= rte_pktmbuf_data_len(m)) {
		off -= rte_pktmbuf_data_len(m);
		m = sl_mq_next(m);
	}
	while (m != NULL && len > 0) {
		uint32_t n = RTE_MIN(len, (uint32_t)rte_pktmbuf_data_len(m) - off);

		memcpy(dst, rte_pktmbuf_mtod_offset(m, uint8_t *, off), n);
		dst += n;
		len -= n;
		off = 0;
		m = sl_mq_next(m);
	}
}

void
tcp_send_data(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint32_t seq,
	      uint32_t len, bool fin, bool rtx)
{
	uint8_t opts[SL_TCP_OPT_MAX_LEN];
	unsigned int olen = data_opts(s, c, opts);
	uint8_t flags = RTE_TCP_ACK_FLAG;
	struct frame f;

	if (len > 0 && seq + len == c->snd_una + c->sndq.bytes)
		flags |= RTE_TCP_PSH_FLAG;
	if (fin)
		flags |= RTE_TCP_FIN_FLAG;
	if (frame_alloc(s, c->port, &f, c->laddr, c->raddr, c->lport, c->rport,
			seq, c->rcv_nxt, flags, tcp_adv_window(s, c), opts, olen,
			len) != 0)
		return;
	if (len > 0)
		copy_from_sndq(c, seq - c->snd_una, len, f.payload);
	s->stats.bytes_out += len;
	s->stats.tx_copied_bytes += len;
	if (!rtx && !(c->flags & SL_TCPF_RTT_TIMING) && len > 0) {
		/* Karn: time only segments sent once. */
		c->flags |= SL_TCPF_RTT_TIMING;
		c->rtt_seq = seq + len;
		c->rtt_start_tsc = rte_rdtsc();
	}
	ack_sent(s, c);
	frame_send(s, &f, c->port, c->next_hop);
}

/*
 * States in which we may still have to send, or send again, data or our
 * FIN. Once the FIN is out (FIN_WAIT_1, CLOSING, LAST_ACK) nothing new is
 * sent, but an RTO rewinds snd_nxt to snd_una: everything from there up to
 * the FIN goes again as the window allows, exactly as before the FIN.
 * Leaving these states out left each remaining hole to its own RTO, every
 * one twice as long as the last (no new data means no RTT sample to reset
 * the backoff), so a lossy tail after our FIN took minutes.
 */
static inline bool
may_send(const struct sl_tcp_conn *c)
{
	switch (c->state) {
	case SL_TCP_ESTABLISHED:
	case SL_TCP_CLOSE_WAIT:
	case SL_TCP_FIN_WAIT_1:
	case SL_TCP_CLOSING:
	case SL_TCP_LAST_ACK:
		return true;
	default:
		return false;
	}
}

void
sl_tcp_output(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (may_send(c)) {
		/* While our FIN is unacknowledged, it sits at data_end. */
		uint32_t data_end = c->snd_una + c->sndq.bytes;
		uint32_t wnd = RTE_MIN(c->snd_wnd, c->cc.cwnd);

		for (;;) {
			uint32_t nxt = sl_seq_min(c->snd_nxt, data_end);
			uint32_t inflight = nxt - c->snd_una;

			/* What the peer SACKed has left the network (RFC 6675 pipe). */
			if (c->sb.sacked_bytes < inflight)
				inflight -= c->sb.sacked_bytes;
			uint32_t unsent = data_end - nxt;
			uint32_t len;
			bool fin;

			if (unsent == 0 || inflight >= wnd)
				break;
			len = RTE_MIN(RTE_MIN((uint32_t)c->mss, unsent), wnd - inflight);
			/* Sender SWS avoidance; Nagle is off for proxied data. */
			if (len < c->mss && len < unsent && inflight > 0)
				break;
			fin = (c->flags & SL_TCPF_FIN_QUEUED) && len == unsent;
			tcp_send_data(s, c, nxt, len, fin, sl_seq_lt(nxt, c->snd_max));
			c->snd_nxt = nxt + len + (fin ? 1 : 0);
			if (fin) {
				c->flags |= SL_TCPF_FIN_SENT;
				break;
			}
		}
		/* A bare FIN: first sent, or sent again after an RTO rewound
		 * snd_nxt to it (snd_nxt == data_end: the FIN is not covered). */
		if ((c->flags & SL_TCPF_FIN_QUEUED) && c->snd_nxt == data_end) {
			tcp_send_data(s, c, data_end, 0, true, false);
			c->snd_nxt = data_end + 1;
			c->flags |= SL_TCPF_FIN_SENT;
		}
		if (c->flags & SL_TCPF_FIN_SENT) {
			if (c->state == SL_TCP_ESTABLISHED)
				tcp_set_state(s, c, SL_TCP_FIN_WAIT_1);
			else if (c->state == SL_TCP_CLOSE_WAIT)
				tcp_set_state(s, c, SL_TCP_LAST_ACK);
		}
		if (sl_seq_gt(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		/*
		 * Invariant: data in flight always has a retransmission timer,
		 * and queued data facing a shut window a persist timer. Losing
		 * either leaves a connection that nothing will ever wake.
		 */
		if (c->snd_max != c->snd_una && !sl_timer_armed(&c->rtx_timer))
			tcp_rtx_arm(s, c);
		else if (c->snd_wnd == 0 && data_end != c->snd_una &&
			 c->snd_max == c->snd_una && !sl_timer_armed(&c->rtx_timer))
			tcp_persist_arm(s, c);
	}
	if (c->flags & SL_TCPF_ACK_NOW)
		tcp_send_ack(s, c);
}

/* RST for a segment that matches no connection (RFC 9293 3.10.7.1). */
void
tcp_reply_rst(struct sl_tcp_stack *s, unsigned int port, struct rte_mbuf *m,
	      struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th, uint32_t seg_len)
{
	uint32_t seq = 0, ack = 0;
	uint8_t flags = RTE_TCP_RST_FLAG;
	struct frame f;

	if (th->tcp_flags & RTE_TCP_ACK_FLAG) {
		seq = rte_be_to_cpu_32(th->recv_ack);
	} else {
		ack = rte_be_to_cpu_32(th->sent_seq) + seg_len;
		flags |= RTE_TCP_ACK_FLAG;
	}
	if (frame_alloc(s, port, &f, rte_be_to_cpu_32(ip->dst_addr),
			rte_be_to_cpu_32(ip->src_addr),
			rte_be_to_cpu_16(th->dst_port),
			rte_be_to_cpu_16(th->src_port), seq, ack, flags, 0,
			NULL, 0, 0) == 0) {
		s->stats.rst_sent++;
		frame_send(s, &f, -1, 0);
	}
	rte_pktmbuf_free(m);
}

/* A SYN-ACK that keeps no state: everything needed is in the cookie. */
void
tcp_send_syncookie(struct sl_tcp_stack *s, unsigned int port, struct rte_mbuf *m,
		   struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th,
		   const struct sl_tcp_opts *peer)
{
	uint32_t saddr = rte_be_to_cpu_32(ip->src_addr);
	uint32_t daddr = rte_be_to_cpu_32(ip->dst_addr);
	uint16_t sport = rte_be_to_cpu_16(th->src_port);
	uint16_t dport = rte_be_to_cpu_16(th->dst_port);
	uint32_t isn = rte_be_to_cpu_32(th->sent_seq);
	uint16_t mss = peer->mss_ok ? peer->mss : 536;
	uint64_t now_s = rte_rdtsc() / (s->tsc_per_ms * 1000);
	struct sl_tcp_opts o = { .mss_ok = true };
	uint8_t opts[SL_TCP_OPT_MAX_LEN], wscale = 0;
	uint32_t cookie;
	struct frame f;

	while (wscale < SL_TCP_MAX_WSCALE && (65535u << wscale) < s->conf->rcv_buf)
		wscale++;
	mss = RTE_MIN(mss, s->conf->mss);
	cookie = sl_syncookie_make(&s->cookies, saddr, daddr, sport, dport, isn,
				   mss, now_s);
	o.mss = RTE_MIN(s->conf->mss,
			(uint16_t)(s->lc->dp->ports[port].mtu - 40));
	/* Without timestamps there is nowhere to keep WS and SACK. */
	if (peer->ts_ok) {
		o.ts_ok = true;
		o.sack_perm = peer->sack_perm;
		o.ws_ok = peer->ws_ok;
		o.wscale = wscale;
		/* Remember the peer's options, not ours: ours are derivable. */
		o.tsval = sl_syncookie_ts_encode(tcp_now_ms(s), peer->ws_ok,
						 peer->wscale, peer->sack_perm);
		o.tsecr = peer->tsval;
	}
	if (frame_alloc(s, port, &f, daddr, saddr, dport, sport, cookie, isn + 1,
			RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG,
			(uint16_t)RTE_MIN(s->conf->rcv_buf, 65535u), opts,
			sl_tcp_opts_build_syn(opts, &o), 0) == 0) {
		s->stats.syncookies_sent++;
		frame_send(s, &f, -1, 0);
	}
	rte_pktmbuf_free(m);
}
