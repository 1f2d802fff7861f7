/*
 * Segment arrival (RFC 9293 3.10.7), with RFC 5961 challenge ACKs, RFC 7323
 * PAWS, SYN cookies (RFC 4987), NewReno (RFC 6582) and SACK recovery.
 * Payload is never copied: the mbuf, stripped of its headers, is queued.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "tcp_private.h"

struct seg {
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint8_t flags;
	uint32_t seq, ack, wnd;
	uint32_t plen;
	struct sl_tcp_opts o;
};

static inline uint64_t
now_us(const struct sl_tcp_stack *s)
{
	return rte_rdtsc() / s->tsc_per_us;
}

static inline void
drop(struct sl_tcp_stack *s, unsigned int port, enum sl_drop_reason why,
     struct rte_mbuf *m)
{
	sl_drop(s->lc, port, why, m);
}

/* Negotiated options from a SYN or SYN-ACK. */
static void
take_syn_opts(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
	      const struct sl_tcp_opts *o, bool we_offered_all)
{
	uint16_t our_mss = RTE_MIN(s->conf->mss,
				   (uint16_t)(s->lc->dp->ports[c->port].mtu - 40));

	c->mss = RTE_MIN(our_mss, o->mss_ok ? o->mss : 536);
	if (c->mss < 64)
		c->mss = 64;
	(void)we_offered_all;
	if (o->ts_ok) {
		c->flags |= SL_TCPF_TS;
		c->ts_recent = o->tsval;
		c->ts_recent_ms = tcp_now_ms(s);
		/* Timestamps take 12 bytes of every segment. */
		c->mss -= 12;
	}
	if (o->sack_perm)
		c->flags |= SL_TCPF_SACK;
	if (o->ws_ok) {
		c->flags |= SL_TCPF_WS;
		c->snd_wscale = o->wscale;
	} else {
		c->rcv_wscale = 0;
	}
}

static bool
conn_route(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	int port = sl_conf_port_reaching(s->lc->dp->conf, c->raddr, &c->next_hop);

	if (port < 0)
		return false;
	c->port = (uint8_t)port;
	return true;
}

/* Hand an established passive connection to its listener's application. */
static bool
passive_accept(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	/* c->app is still the listener: sl_tcp_dispatch() asks it. */
	if (c->app == NULL) {
		tcp_send_rst(s, c);
		tcp_conn_free(s, c);
		return false;
	}
	tcp_event(s, c, SL_TCP_EV_ACCEPT);
	return true;
}

static struct sl_tcp_conn *
new_passive(struct sl_tcp_stack *s, unsigned int port, struct rte_ipv4_hdr *ip,
	    const struct seg *g, const struct sl_tcp_listener *l)
{
	struct sl_tcp_conn *c = tcp_conn_alloc(s);

	if (c == NULL)
		return NULL;
	c->laddr = rte_be_to_cpu_32(ip->dst_addr);
	c->raddr = rte_be_to_cpu_32(ip->src_addr);
	c->lport = rte_be_to_cpu_16(g->th->dst_port);
	c->rport = rte_be_to_cpu_16(g->th->src_port);
	c->port = (uint8_t)port;
	if (!conn_route(s, c) || tcp_conn_hash(s, c) < 0) {
		tcp_conn_free(s, c);
		return NULL;
	}
	tcp_conn_setup(s, c);
	tcp_addr_attach(s, c);   /* a client: its buffers count per address */
	c->flags |= SL_TCPF_PASSIVE;
	c->app = (void *)(uintptr_t)l;
	return c;
}

/* A SYN for a listener: a half-open connection, or a stateless cookie. */
static void
listen_syn(struct sl_tcp_stack *s, unsigned int port, struct rte_mbuf *m,
	   struct rte_ipv4_hdr *ip, struct seg *g, const struct sl_tcp_listener *l)
{
	enum sl_syncookie_mode mode = s->conf->syncookies;
	struct sl_tcp_conn *c;

	if (mode == SL_SYNCOOKIES_ALWAYS ||
	    (mode == SL_SYNCOOKIES_AUTO && s->stats.half_open >= s->conf->syn_backlog)) {
		tcp_send_syncookie(s, port, m, ip, g->th, &g->o);
		return;
	}
	if (s->stats.half_open >= s->conf->syn_backlog) {
		drop(s, port, SL_DROP_TCP_BACKLOG_FULL, m);
		return;
	}
	c = new_passive(s, port, ip, g, l);
	if (c == NULL) {
		if (mode == SL_SYNCOOKIES_AUTO)
			tcp_send_syncookie(s, port, m, ip, g->th, &g->o);
		else
			drop(s, port, SL_DROP_TCP_TABLE_FULL, m);
		return;
	}
	take_syn_opts(s, c, &g->o, true);
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->iss = tcp_isn(s, c->laddr, c->lport, c->raddr, c->rport);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->snd_wnd = g->wnd;       /* never scaled in a SYN */
	c->snd_wl1 = g->seq;
	c->cc.ops->init(&c->cc, c->mss);
	tcp_set_state(s, c, SL_TCP_SYN_RECV);
	s->stats.passive_opens++;
	tcp_send_syn(s, c, true);
	tcp_rtx_arm(s, c);
	rte_pktmbuf_free(m);
}

/*
 * The ACK completing a cookie handshake: build the connection from it.
 * Returns 1 with *out set, 0 for a bad cookie, -1 when the connection
 * could not be made or the application refused it (RST already sent).
 */
static int
listen_cookie_ack(struct sl_tcp_stack *s, unsigned int port,
		  struct rte_ipv4_hdr *ip, struct seg *g,
		  const struct sl_tcp_listener *l, struct sl_tcp_conn **out)
{
	uint64_t now_s = rte_rdtsc() / (s->tsc_per_ms * 1000);
	struct sl_tcp_opts o = { .mss_ok = true };
	struct sl_tcp_conn *c;
	uint16_t mss;

	if (sl_syncookie_check(&s->cookies, rte_be_to_cpu_32(ip->src_addr),
			       rte_be_to_cpu_32(ip->dst_addr),
			       rte_be_to_cpu_16(g->th->src_port),
			       rte_be_to_cpu_16(g->th->dst_port), g->seq - 1,
			       g->ack - 1, now_s, &mss) != 0) {
		s->stats.syncookies_failed++;
		return 0;
	}
	c = new_passive(s, port, ip, g, l);
	if (c == NULL)
		return -1;
	o.mss = mss;
	if (g->o.ts_ok) {
		/* The peer's options rode in the low bits of our TSval. */
		sl_syncookie_ts_decode(g->o.tsecr, &o.ws_ok, &o.wscale, &o.sack_perm);
		o.ts_ok = true;
		o.tsval = g->o.tsval;
	}
	take_syn_opts(s, c, &o, true);
	c->irs = g->seq - 1;
	c->rcv_nxt = g->seq;
	c->iss = g->ack - 1;
	c->snd_una = g->ack;
	c->snd_nxt = c->snd_max = g->ack;
	c->snd_wnd = g->wnd << c->snd_wscale;   /* not a SYN: scaled */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	c->rcv_adv = c->rcv_nxt + RTE_MIN(c->rcv_buf, 65535u);
	c->cc.ops->init(&c->cc, c->mss);
	tcp_set_state(s, c, SL_TCP_ESTABLISHED);
	s->stats.syncookies_ok++;
	if (!passive_accept(s, c))
		return -1;
	*out = c;
	return 1;
}

/* Drop acknowledged bytes from the front of the send queue. */
static void
sndq_ack(struct sl_tcp_conn *c, uint32_t bytes)
{
	while (bytes > 0 && c->sndq.head != NULL) {
		struct rte_mbuf *m = c->sndq.head;
		uint32_t len = rte_pktmbuf_data_len(m);

		if (len <= bytes) {
			rte_pktmbuf_free(sl_mq_pop(&c->sndq));
			bytes -= len;
			if (c->sndq.n == 0)
				c->qflags &= (uint8_t)~SL_TCPQ_TX_PACK;
		} else {
			rte_pktmbuf_adj(m, (uint16_t)bytes);
			c->sndq.bytes -= bytes;
			bytes = 0;
		}
	}
}

/*
 * Resend the next hole the peer is missing (SACK, from rtx_next on, so each
 * hole goes once per recovery), or snd_una's segment without SACK.
 * Returns false when there was nothing left to resend.
 */
static bool
retransmit_loss(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	uint32_t start = c->snd_una, end, len;
	uint32_t data_end = c->snd_una + c->sndq.bytes;

	if (sl_seq_lt(c->rtx_next, c->snd_una))
		c->rtx_next = c->snd_una;
	if ((c->flags & SL_TCPF_SACK) && c->sb.n > 0) {
		if (!sl_tcp_sb_next_hole(&c->sb, c->snd_una, c->rtx_next, &start, &end))
			return false;
		len = RTE_MIN(end - start, (uint32_t)c->mss);
	} else {
		/* No SACK information: snd_una's segment, once per recovery step. */
		if (sl_seq_gt(c->rtx_next, c->snd_una))
			return false;
		len = RTE_MIN(c->mss, c->sndq.bytes);
	}
	if (sl_seq_gt(start + len, data_end))
		len = data_end - start;
	if (len == 0 && !(c->flags & SL_TCPF_FIN_SENT))
		return false;
	s->stats.retransmits_fast++;
	tcp_send_data(s, c, start, len,
		      (c->flags & SL_TCPF_FIN_SENT) && start + len == data_end, true);
	c->rtx_next = start + len;
	c->flags &= (uint16_t)~SL_TCPF_RTT_TIMING;
	return true;
}

/* Process the ACK field. Returns false when the segment must go no further. */
static bool
process_ack(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port,
	    struct seg *g, bool *writable)
{
	uint32_t flight = c->snd_max - c->snd_una;
	bool advanced = sl_seq_gt(g->ack, c->snd_una);
	bool persisting = c->flags & SL_TCPF_PERSIST;

	if (sl_seq_gt(g->ack, c->snd_max)) {
		/* RFC 5961 5.2: ACK for data never sent. */
		c->flags |= SL_TCPF_ACK_NOW;
		s->lc->stats[port].drops[SL_DROP_TCP_BAD_ACK]++;
		return false;
	}
	if (sl_seq_lt(g->ack, c->snd_una - c->max_snd_wnd)) {
		s->stats.challenge_acks++;
		c->flags |= SL_TCPF_ACK_NOW;
		s->lc->stats[port].drops[SL_DROP_TCP_BAD_ACK]++;
		return false;
	}
	if ((c->flags & SL_TCPF_SACK) && g->o.n_sack > 0)
		sl_tcp_sb_update(&c->sb, c->snd_una, c->snd_max, g->o.sack, g->o.n_sack);

	if (sl_seq_gt(g->ack, c->snd_una)) {
		uint32_t acked = g->ack - c->snd_una;
		bool fin_acked = (c->flags & SL_TCPF_FIN_SENT) && g->ack == c->snd_max;

		sndq_ack(c, acked - (fin_acked ? 1 : 0));
		if ((c->flags & SL_TCPF_RTT_TIMING) && sl_seq_ge(g->ack, c->rtt_seq)) {
			tcp_rtt_sample(c, (uint32_t)((rte_rdtsc() - c->rtt_start_tsc) /
						     s->tsc_per_us), s->conf);
			c->flags &= (uint16_t)~SL_TCPF_RTT_TIMING;
		}
		c->retries = 0;
		if (c->flags & SL_TCPF_IN_RECOVERY) {
			if (sl_seq_ge(g->ack, c->recover)) {
				c->flags &= (uint16_t)~SL_TCPF_IN_RECOVERY;
				c->cc.ops->on_recovered(&c->cc, now_us(s));
			} else {
				/* Partial ACK (RFC 6582 3.2 step 5): next loss now. */
				c->snd_una = g->ack;
				if (!(c->flags & SL_TCPF_SACK))
					c->rtx_next = c->snd_una;
				retransmit_loss(s, c);
			}
		} else {
			c->cc.ops->on_ack(&c->cc, acked, flight, c->srtt_us, now_us(s));
		}
		c->dupacks = 0;
		c->snd_una = g->ack;
		if (sl_seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		if (c->sb.n > 0)
			sl_tcp_sb_update(&c->sb, c->snd_una, c->snd_max, NULL, 0);
		if (c->snd_una == c->snd_max)
			tcp_rtx_stop(s, c);
		else
			tcp_rtx_arm(s, c);
		if ((c->flags & SL_TCPF_NOTIFY_W) && c->sndq.bytes <= c->snd_buf / 2) {
			c->flags &= (uint16_t)~SL_TCPF_NOTIFY_W;
			*writable = true;
		}
		if (fin_acked) {
			if (c->state == SL_TCP_FIN_WAIT_1)
				tcp_set_state(s, c, SL_TCP_FIN_WAIT_2);
			else if (c->state == SL_TCP_CLOSING)
				tcp_set_state(s, c, SL_TCP_TIME_WAIT);
			else if (c->state == SL_TCP_LAST_ACK)
				tcp_set_state(s, c, SL_TCP_CLOSED);
		}
	} else if (g->ack == c->snd_una && g->plen == 0 &&
		   !(g->flags & (RTE_TCP_FIN_FLAG | RTE_TCP_SYN_FLAG)) &&
		   g->wnd != 0 &&
		   (g->wnd << c->snd_wscale) == c->snd_wnd && flight > 0) {
		/* A zero window is flow control, not loss: no dupack then. */
		/* A duplicate ACK (RFC 5681 2). */
		c->dupacks++;
		/* Loss: 3 dupacks, or (RFC 6675 IsLost) more than
		 * (DupThresh - 1) * SMSS SACKed above snd_una. */
		if (!(c->flags & SL_TCPF_IN_RECOVERY) &&
		    (c->dupacks == 3 ||
		     ((c->flags & SL_TCPF_SACK) &&
		      c->sb.sacked_bytes > 2u * c->mss))) {
			c->flags |= SL_TCPF_IN_RECOVERY;
			c->recover = c->snd_max;
			c->rtx_next = c->snd_una;
			c->cc.ops->on_loss(&c->cc, flight, now_us(s));
			retransmit_loss(s, c);
		} else if ((c->flags & SL_TCPF_IN_RECOVERY) && (c->flags & SL_TCPF_SACK)) {
			retransmit_loss(s, c);
		}
	}
	/*
	 * Window update (RFC 9293 3.10.7.4), and also whenever the ACK moves
	 * snd_una (as Linux's tcp_may_update_window): an ACK heard on an old
	 * retransmitted segment is the peer's latest word on its window too.
	 */
	if (advanced || sl_seq_lt(c->snd_wl1, g->seq) ||
	    (c->snd_wl1 == g->seq && sl_seq_le(c->snd_wl2, g->ack))) {
		c->snd_wnd = g->wnd << c->snd_wscale;
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
		if (c->snd_wnd > 0 && persisting) {
			/* The window reopened: probing ends, but anything still
			 * in flight keeps its retransmission timer. (An ACK of
			 * the probe byte has already swapped the timers above.) */
			c->backoff = 0;
			if (c->snd_una != c->snd_max)
				tcp_rtx_arm(s, c);
			else
				tcp_rtx_stop(s, c);
		}
	}
	return true;
}

/* Deliver in-order payload, queue the rest; returns true if FIN was reached. */
static bool
process_data(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port,
	     struct rte_mbuf *m, struct seg *g, bool *readable)
{
	uint32_t seq = g->seq;
	bool fin = g->flags & RTE_TCP_FIN_FLAG;

	if (g->plen > 0 && sl_seq_lt(seq, c->rcv_nxt)) {
		uint32_t dup = c->rcv_nxt - seq;

		rte_pktmbuf_adj(m, (uint16_t)dup);
		seq = c->rcv_nxt;
		g->plen -= dup;
	}
	/* Beyond what we offered: keep only the part inside the window. */
	if (g->plen > 0 && sl_seq_gt(seq + g->plen, c->rcv_adv)) {
		uint32_t keep = sl_seq_gt(c->rcv_adv, seq) ? c->rcv_adv - seq : 0;

		rte_pktmbuf_trim(m, (uint16_t)(g->plen - keep));
		g->plen = keep;
		fin = false;
		/* Data beyond the window (a probe): tell the peer where we are. */
		c->flags |= SL_TCPF_ACK_NOW;
	}
	if (g->plen == 0) {
		rte_pktmbuf_free(m);
		return fin && seq == c->rcv_nxt;
	}
	if (seq != c->rcv_nxt) {
		tcp_ooo_insert(s, c, port, m, seq, fin);
		c->flags |= SL_TCPF_ACK_NOW;   /* dup ACK with SACK blocks */
		return false;
	}
	if (!tcp_rcv_admit(s, c, port, m, false)) {
		/* Out of buffer: the peer learns rcv_nxt and resends later. */
		c->flags |= SL_TCPF_ACK_NOW;
		return false;
	}
	tcp_rcvq_add(s, c, m);
	c->rcv_nxt += g->plen;
	s->stats.bytes_in += g->plen;
	*readable = true;
	if (c->ooo.n > 0) {
		/* A hole filled: acknowledge at once (RFC 5681 4.2). What
		 * is queued beyond a FIN in this segment is never the stream. */
		c->flags |= SL_TCPF_ACK_NOW;
		if (fin)
			tcp_ooo_purge(s, c, port);
		else
			fin = tcp_ooo_drain(s, c, port);
	} else if (++c->delack_segs >= 2 || s->conf->delack_ms == 0 ||
		   ((g->flags & RTE_TCP_PSH_FLAG) &&
		    !(c->flags & (SL_TCPF_PASSIVE | SL_TCPF_APP_ACK)))) {
		/*
		 * On a connection we opened (to a backend) we asked and it
		 * answers: we send nothing back that a delayed ACK could ride
		 * on, while a backend that writes its head and body apart with
		 * Nagle on waits for this ACK (a delack, 40 ms, per response).
		 * PSH ends a write: acknowledge it at once, unless the app
		 * says when it awaits more (sl_tcp_app_ack).
		 */
		c->flags |= SL_TCPF_ACK_NOW;
	} else {
		tcp_delack_schedule(s, c);
	}
	return fin;
}

static void
process_fin(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port)
{
	tcp_ooo_purge(s, c, port);   /* a bare FIN with data queued beyond it */
	c->rcv_nxt++;
	c->flags |= SL_TCPF_FIN_RCVD | SL_TCPF_ACK_NOW;
	switch (c->state) {
	case SL_TCP_ESTABLISHED:
		tcp_set_state(s, c, SL_TCP_CLOSE_WAIT);
		break;
	case SL_TCP_FIN_WAIT_1:
		/* Our FIN not yet acknowledged: simultaneous close. */
		tcp_set_state(s, c, SL_TCP_CLOSING);
		break;
	case SL_TCP_FIN_WAIT_2:
		tcp_set_state(s, c, SL_TCP_TIME_WAIT);
		break;
	default:
		break;
	}
}

static void
syn_sent_input(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port,
	       struct rte_mbuf *m, struct seg *g)
{
	bool ack_ok = (g->flags & RTE_TCP_ACK_FLAG) &&
		      sl_seq_gt(g->ack, c->iss) && sl_seq_le(g->ack, c->snd_max);

	rte_pktmbuf_free(m);
	if ((g->flags & RTE_TCP_ACK_FLAG) && !ack_ok) {
		if (!(g->flags & RTE_TCP_RST_FLAG))
			s->lc->stats[port].drops[SL_DROP_TCP_BAD_ACK]++;
		return;
	}
	if (g->flags & RTE_TCP_RST_FLAG) {
		if (ack_ok) {
			s->stats.rst_received++;
			s->stats.connect_refused++;
			tcp_conn_close(s, c, SL_TCP_CLOSE_REFUSED);
		}
		return;
	}
	if (!(g->flags & RTE_TCP_SYN_FLAG) || !ack_ok)
		return;   /* simultaneous open is not needed by a proxy */
	take_syn_opts(s, c, &g->o, true);
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->rcv_adv = c->rcv_nxt;   /* nothing offered yet in this space */
	c->snd_una = g->ack;
	c->snd_wnd = g->wnd;           /* not scaled in a SYN-ACK */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	if ((c->flags & SL_TCPF_RTT_TIMING) && c->retries == 0)
		tcp_rtt_sample(c, (uint32_t)((rte_rdtsc() - c->rtt_start_tsc) /
					     s->tsc_per_us), s->conf);
	else
		c->rto_ms = s->conf->rto_init_ms;
	c->flags &= (uint16_t)~SL_TCPF_RTT_TIMING;
	c->retries = 0;
	c->backoff = 0;
	tcp_rtx_stop(s, c);
	c->cc.ops->init(&c->cc, c->mss);
	tcp_set_state(s, c, SL_TCP_ESTABLISHED);
	tcp_send_ack(s, c);
	tcp_event(s, c, SL_TCP_EV_ESTABLISHED);
}

/* Is the segment inside our receive window (RFC 9293 3.10.7.4 table)? */
static bool
acceptable(const struct sl_tcp_conn *c, const struct seg *g)
{
	uint32_t wnd = c->rcv_adv - c->rcv_nxt;
	uint32_t len = g->plen + ((g->flags & RTE_TCP_SYN_FLAG) ? 1 : 0) +
		       ((g->flags & RTE_TCP_FIN_FLAG) ? 1 : 0);

	if (sl_seq_gt(c->rcv_nxt, c->rcv_adv))
		wnd = 0;
	/*
	 * With a zero window nothing is acceptable, but RFC 9293 asks that
	 * ACKs still be processed: take a segment at exactly rcv_nxt (its
	 * data is trimmed to the window later), so a peer probing our
	 * closed window still gets its ACKs heard.
	 */
	if (wnd == 0)
		return g->seq == c->rcv_nxt;
	/*
	 * A bare ACK exactly at the right edge is taken too (as Linux's
	 * tcp_sequence does): a peer that has filled our window sends its
	 * ACKs with SEG.SEQ = SND.NXT = our right edge, and refusing them
	 * would keep our own data unacknowledged.
	 */
	if (len == 0)
		return sl_seq_ge(g->seq, c->rcv_nxt) &&
		       sl_seq_le(g->seq, c->rcv_nxt + wnd);
	return sl_seq_in(g->seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
	       sl_seq_in(g->seq + len - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

static void
conn_input(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port,
	   struct rte_mbuf *m, struct seg *g)
{
	bool readable = false, writable = false, fin = false;

	s->stats.segments_in++;
	if (c->state == SL_TCP_SYN_SENT) {
		syn_sent_input(s, c, port, m, g);
		return;
	}
	/* PAWS (RFC 7323 5.3): an old timestamp marks an old duplicate. */
	if ((c->flags & SL_TCPF_TS) && g->o.ts_ok &&
	    !(g->flags & RTE_TCP_RST_FLAG) &&
	    (int32_t)(g->o.tsval - c->ts_recent) < 0 &&
	    tcp_now_ms(s) - c->ts_recent_ms < 24u * 86400 * 1000) {
		drop(s, port, SL_DROP_TCP_PAWS, m);
		c->flags |= SL_TCPF_ACK_NOW;
		goto out;
	}
	if (!acceptable(c, g)) {
		if (!(g->flags & RTE_TCP_RST_FLAG))
			c->flags |= SL_TCPF_ACK_NOW;
		/*
		 * RFC 9293 3.10.7.4: with our window shut nothing is acceptable,
		 * but valid ACKs must still be heard. A peer's zero-window probe
		 * (one byte before rcv_nxt), a segment just past our shut edge,
		 * or a retransmission of data we already have (the peer missed
		 * our ACK) all carry the ACK of our own data. Ignoring it left
		 * both sides retransmitting at each other for tens of seconds,
		 * each refusing the other's ACKs. Hear the ACK (process_ack
		 * checks it against snd_una and snd_max, RFC 5961), drop the data.
		 */
		if ((g->flags & RTE_TCP_ACK_FLAG) &&
		    !(g->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG)) &&
		    c->state != SL_TCP_SYN_RECV && c->state != SL_TCP_TIME_WAIT &&
		    ((c->rcv_adv == c->rcv_nxt &&
		      sl_seq_in(g->seq, c->rcv_nxt - 1, c->rcv_nxt + c->rcv_buf)) ||
		     (sl_seq_le(g->seq + g->plen, c->rcv_nxt) &&
		      sl_seq_ge(g->seq, c->rcv_nxt - (1u << 30))))) {
			bool heard = process_ack(s, c, port, g, &writable);

			drop(s, port, SL_DROP_TCP_OUT_OF_WINDOW, m);
			if (heard && c->state == SL_TCP_CLOSED) {
				tcp_conn_close(s, c, SL_TCP_CLOSE_NORMAL);
				return;
			}
			goto out;
		}
		drop(s, port, SL_DROP_TCP_OUT_OF_WINDOW, m);
		if (c->state == SL_TCP_TIME_WAIT && (g->flags & RTE_TCP_FIN_FLAG))
			sl_timer_arm(&s->wheel, &c->rtx_timer,
				     tcp_ms_to_ticks(s->conf->time_wait_s * 1000));
		goto out;
	}
	if (g->flags & RTE_TCP_RST_FLAG) {
		rte_pktmbuf_free(m);
		if (g->seq != c->rcv_nxt) {
			/* RFC 5961 3.2: in window but not exact: challenge. */
			s->stats.challenge_acks++;
			s->lc->stats[port].drops[SL_DROP_TCP_CHALLENGED]++;
			c->flags |= SL_TCPF_ACK_NOW;
			goto out;
		}
		s->stats.rst_received++;
		if (c->state == SL_TCP_SYN_RECV || c->state == SL_TCP_TIME_WAIT)
			tcp_conn_free(s, c);
		else
			tcp_conn_close(s, c, SL_TCP_CLOSE_RESET);
		return;
	}
	if (g->flags & RTE_TCP_SYN_FLAG) {
		/* RFC 5961 4.2: a SYN on a synchronized connection. */
		s->stats.challenge_acks++;
		drop(s, port, SL_DROP_TCP_CHALLENGED, m);
		c->flags |= SL_TCPF_ACK_NOW;
		goto out;
	}
	if (!(g->flags & RTE_TCP_ACK_FLAG)) {
		drop(s, port, SL_DROP_TCP_NO_ACK, m);
		return;
	}
	/* Record the timestamp to echo (RFC 7323 4.3). */
	if ((c->flags & SL_TCPF_TS) && g->o.ts_ok &&
	    sl_seq_le(g->seq, c->rcv_nxt) && sl_seq_ge(g->o.tsval, c->ts_recent)) {
		c->ts_recent = g->o.tsval;
		c->ts_recent_ms = tcp_now_ms(s);
	}
	if (c->state == SL_TCP_SYN_RECV) {
		if (!sl_seq_gt(g->ack, c->snd_una) || sl_seq_gt(g->ack, c->snd_max)) {
			s->lc->stats[port].drops[SL_DROP_TCP_BAD_ACK]++;
			tcp_reply_rst(s, port, m, g->ip, g->th, g->plen);
			return;
		}
		c->snd_una = g->ack;
		c->snd_wnd = g->wnd << c->snd_wscale;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		c->retries = 0;
		c->backoff = 0;
		c->rto_ms = s->conf->rto_init_ms;
		tcp_rtx_stop(s, c);
		tcp_set_state(s, c, SL_TCP_ESTABLISHED);
		if (!passive_accept(s, c)) {
			rte_pktmbuf_free(m);
			return;
		}
	} else if (!process_ack(s, c, port, g, &writable)) {
		rte_pktmbuf_free(m);
		goto out;
	}
	if (c->state == SL_TCP_CLOSED) {
		/* LAST_ACK completed. */
		rte_pktmbuf_free(m);
		tcp_conn_close(s, c, SL_TCP_CLOSE_NORMAL);
		return;
	}
	if (c->state == SL_TCP_ESTABLISHED || c->state == SL_TCP_FIN_WAIT_1 ||
	    c->state == SL_TCP_FIN_WAIT_2) {
		fin = process_data(s, c, port, m, g, &readable);
	} else {
		if (g->plen > 0)
			drop(s, port, SL_DROP_TCP_STATE, m);
		else
			rte_pktmbuf_free(m);
	}
	if (fin && !(c->flags & SL_TCPF_FIN_RCVD)) {
		process_fin(s, c, port);
		readable = true;
	}
out:
	tcp_mem_sync(s, c);
	sl_tcp_output(s, c);
	/* Told at dispatch, after the burst: no app code runs mid-segment. */
	if (readable)
		tcp_event(s, c, SL_TCP_EV_READABLE);
	if (writable)
		tcp_event(s, c, SL_TCP_EV_WRITABLE);
	if (c->state == SL_TCP_TIME_WAIT && !(c->flags & SL_TCPF_TW))
		tcp_enter_time_wait(s, c);
}

/* lib/net's IPPROTO_TCP input (sl_ipv4_proto_register): ctx is the stack. */
void
tcp_ipv4_input(void *ctx, unsigned int port, struct rte_mbuf *m,
	       struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	sl_tcp_input(ctx, port, m, ip, hlen);
}

void
sl_tcp_input(struct sl_tcp_stack *s, unsigned int port, struct rte_mbuf *m,
	     struct rte_ipv4_hdr *ip, uint16_t ip_hlen)
{
	uint32_t ip_len = rte_be_to_cpu_16(ip->total_length);
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	const struct sl_tcp_listener *l;
	struct sl_tcp_conn *c;
	struct seg g;
	uint16_t thl;

	if (unlikely(m->nb_segs > 1)) {
		drop(s, port, SL_DROP_TCP_MULTISEG, m);
		return;
	}
	if (unlikely(ip_len < (uint32_t)ip_hlen + TCP_HDR_MIN)) {
		drop(s, port, SL_DROP_TCP_RUNT, m);
		return;
	}
	g.ip = ip;
	g.th = (struct rte_tcp_hdr *)((uint8_t *)ip + ip_hlen);
	thl = (uint16_t)((g.th->data_off >> 4) * 4);
	if (unlikely(thl < TCP_HDR_MIN || thl > ip_len - (uint32_t)ip_hlen)) {
		drop(s, port, SL_DROP_TCP_RUNT, m);
		return;
	}
	if (unlikely(ck == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
		     (ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
		      !tcp_cksum_ok(ip, g.th, ip_len - ip_hlen)))) {
		drop(s, port, SL_DROP_TCP_BAD_CKSUM, m);
		return;
	}
	g.flags = g.th->tcp_flags & TCP_FLAGS_MASK;
	if (unlikely((g.flags & RTE_TCP_SYN_FLAG) &&
		     (g.flags & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG)))) {
		drop(s, port, SL_DROP_TCP_BAD_FLAGS, m);
		return;
	}
	if (unlikely(sl_tcp_opts_parse((const uint8_t *)(g.th + 1),
				       thl - TCP_HDR_MIN,
				       g.flags & RTE_TCP_SYN_FLAG, &g.o) != 0)) {
		drop(s, port, SL_DROP_TCP_BAD_OPTS, m);
		return;
	}
	g.seq = rte_be_to_cpu_32(g.th->sent_seq);
	g.ack = rte_be_to_cpu_32(g.th->recv_ack);
	g.wnd = rte_be_to_cpu_16(g.th->rx_win);
	g.plen = ip_len - ip_hlen - thl;

	c = tcp_lookup(s, rte_be_to_cpu_32(ip->dst_addr),
		       rte_be_to_cpu_16(g.th->dst_port),
		       rte_be_to_cpu_32(ip->src_addr),
		       rte_be_to_cpu_16(g.th->src_port));
	if (likely(c != NULL)) {
		/* Payload only from here on; the headers stay readable behind. */
		rte_pktmbuf_adj(m, (uint16_t)(sizeof(struct rte_ether_hdr) +
					      ip_hlen + thl));
		conn_input(s, c, port, m, &g);
		return;
	}
	if (g.flags & RTE_TCP_RST_FLAG) {
		drop(s, port, SL_DROP_TCP_NO_CONN, m);
		return;
	}
	l = tcp_listener_find(s, rte_be_to_cpu_32(ip->dst_addr),
			      rte_be_to_cpu_16(g.th->dst_port));
	if (l == NULL) {
		s->lc->stats[port].drops[SL_DROP_TCP_NO_LISTENER]++;
		tcp_reply_rst(s, port, m, ip, g.th, g.plen +
			      ((g.flags & RTE_TCP_SYN_FLAG) ? 1 : 0) +
			      ((g.flags & RTE_TCP_FIN_FLAG) ? 1 : 0));
		return;
	}
	if ((g.flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) {
		/* Draining: no new connection. The RST tells the client at once
		 * to go elsewhere (a drop would have it retry for seconds). A
		 * cookie's ACK below still completes: its SYN came before. */
		if (unlikely(s->draining)) {
			s->lc->stats[port].drops[SL_DROP_TCP_DRAINING]++;
			tcp_reply_rst(s, port, m, ip, g.th, g.plen + 1 +
				      ((g.flags & RTE_TCP_FIN_FLAG) ? 1 : 0));
			return;
		}
		listen_syn(s, port, m, ip, &g, l);
		return;
	}
	if ((g.flags & RTE_TCP_ACK_FLAG) && !(g.flags & RTE_TCP_SYN_FLAG) &&
	    s->conf->syncookies != SL_SYNCOOKIES_NEVER) {
		int rc = listen_cookie_ack(s, port, ip, &g, l, &c);

		if (rc > 0) {
			rte_pktmbuf_adj(m, (uint16_t)(sizeof(struct rte_ether_hdr) +
						      ip_hlen + thl));
			conn_input(s, c, port, m, &g);
			return;
		}
		if (rc < 0) {
			drop(s, port, SL_DROP_TCP_TABLE_FULL, m);
			return;
		}
		s->lc->stats[port].drops[SL_DROP_TCP_BAD_COOKIE]++;
		tcp_reply_rst(s, port, m, ip, g.th, g.plen);
		return;
	}
	s->lc->stats[port].drops[SL_DROP_TCP_NO_LISTENER]++;
	tcp_reply_rst(s, port, m, ip, g.th, g.plen +
		      ((g.flags & RTE_TCP_SYN_FLAG) ? 1 : 0) +
		      ((g.flags & RTE_TCP_FIN_FLAG) ? 1 : 0));
}
