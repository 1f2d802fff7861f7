/* What applications (the L4 proxy, later HTTP) call on a connection. */
#include <errno.h>
#include <stdbool.h>

#include <rte_errno.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_tcp_thash.h"
#include "tcp_private.h"

/*
 * Whether laddr:lport -> raddr:rport may be used for a new connection.
 * RFC 6191: with timestamps, a new incarnation is told apart from the old
 * one, so a TIME_WAIT tuple is reused (and the old entry freed here).
 */
static bool
tuple_free(struct sl_tcp_stack *s, uint32_t laddr, uint16_t lport,
	   uint32_t raddr, uint16_t rport)
{
	struct sl_tcp_conn *old = tcp_lookup(s, laddr, lport, raddr, rport);

	if (old == NULL)
		return true;
	if (old->state == SL_TCP_TIME_WAIT && (old->flags & SL_TCPF_TS)) {
		s->stats.time_wait_recycled++;
		tcp_conn_free(s, old);
		return true;
	}
	return false;
}

static inline uint16_t
eph_after(const struct sl_tcp_stack *s, uint16_t p)
{
	return p == s->eph_hi ? s->eph_lo : (uint16_t)(p + 1);
}

/*
 * A port with our Toeplitz key and RETA: the next free port of this
 * lcore's block whose reply the NIC hashes to this lcore's queue. About one
 * port in n_queues qualifies; 0 when none of those is free.
 */
static uint16_t
pick_port_rss(struct sl_tcp_stack *s, const struct sl_port *pt, uint32_t raddr,
	      uint16_t rport)
{
	uint16_t hint = s->eph_next, first = 0, p;

	while (sl_tcp_thash_pick(pt->rss, raddr, pt->addr, rport, s->lc->queue,
				 hint, s->eph_lo, s->eph_hi, &p) == 0 &&
	       p != first) {
		if (first == 0)
			first = p;
		if (tuple_free(s, pt->addr, p, raddr, rport)) {
			s->eph_next = eph_after(s, p);
			return p;
		}
		hint = eph_after(s, p);
	}
	return 0;
}

/*
 * Next free port of this lcore's block for the 4-tuple; 0 when none. The
 * block tells any lcore who owns a reply, so the port always comes from it.
 */
static uint16_t
pick_port(struct sl_tcp_stack *s, const struct sl_port *pt, uint32_t raddr,
	  uint16_t rport)
{
	uint32_t span = (uint32_t)s->eph_hi - s->eph_lo + 1;

	if (pt->steer == SL_STEER_RSS && pt->rss != NULL) {
		uint16_t p = pick_port_rss(s, pt, raddr, rport);

		/* Else any free port: its reply reaches another queue and is
		 * handed over in software, slower but not lost. */
		if (p != 0)
			return p;
	}
	for (uint32_t i = 0; i < span; i++) {
		uint16_t p = s->eph_next;

		s->eph_next = eph_after(s, p);
		if (tuple_free(s, pt->addr, p, raddr, rport))
			return p;
	}
	return 0;
}

struct sl_tcp_conn *
sl_tcp_connect(struct sl_tcp_stack *s, uint32_t raddr, uint16_t rport,
	       uint32_t timeout_ms, const struct sl_tcp_app_ops *ops, void *app)
{
	struct sl_tcp_conn *c;
	uint32_t next_hop;
	int port = sl_conf_port_reaching(s->lc->dp->conf, raddr, &next_hop);
	uint16_t lport;

	if (port < 0) {
		rte_errno = EHOSTUNREACH;
		return NULL;
	}
	lport = pick_port(s, &s->lc->dp->ports[port], raddr, rport);
	if (lport == 0) {
		rte_errno = EADDRNOTAVAIL;
		return NULL;
	}
	c = tcp_conn_alloc(s);
	if (c == NULL) {
		rte_errno = ENOBUFS;
		return NULL;
	}
	c->laddr = s->lc->dp->ports[port].addr;
	c->raddr = raddr;
	c->lport = lport;
	c->rport = rport;
	c->port = (uint8_t)port;
	c->next_hop = next_hop;
	if (tcp_conn_hash(s, c) < 0) {
		tcp_conn_free(s, c);
		rte_errno = ENOBUFS;
		return NULL;
	}
	tcp_conn_setup(s, c);
	c->mss = RTE_MIN(s->conf->mss,
			 (uint16_t)(s->lc->dp->ports[port].mtu - 40));
	c->iss = tcp_isn(s, c->laddr, c->lport, c->raddr, c->rport);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->ops = ops;
	c->app = app;
	c->connect_timeout_ms = timeout_ms;
	c->rto_ms = RTE_MIN(s->conf->rto_init_ms, timeout_ms);
	tcp_set_state(s, c, SL_TCP_SYN_SENT);
	s->stats.active_opens++;
	c->flags |= SL_TCPF_RTT_TIMING;
	c->rtt_seq = c->snd_nxt;
	c->rtt_start_tsc = rte_rdtsc();
	tcp_send_syn(s, c, false);
	tcp_rtx_arm(s, c);
	return c;
}

void
sl_tcp_ack_now(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	/* Received data not yet acknowledged is exactly a running delack. */
	if (sl_timer_armed(&c->delack_timer))
		tcp_send_ack(s, c);
}

int
sl_tcp_send(struct sl_tcp_stack *s, struct sl_tcp_conn *c, struct rte_mbuf *m)
{
	if (!sl_tcp_can_send(c) || m->nb_segs > 1) {
		rte_pktmbuf_free(m);
		return -1;
	}
	if (rte_pktmbuf_data_len(m) == 0) {
		rte_pktmbuf_free(m);
		return 0;
	}
	m->ol_flags = 0;
	tcp_sndq_add(s, c, m);
	tcp_mem_sync(s, c);
	if (c->sndq.bytes >= c->snd_buf)
		c->flags |= SL_TCPF_NOTIFY_W;
	return 0;
}

void
sl_tcp_recv(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint32_t max_bytes,
	    struct sl_mq *out)
{
	uint32_t before = c->rcv_adv - c->rcv_nxt;

	sl_mq_init(out);
	while (c->rcvq.head != NULL &&
	       (out->n == 0 || out->bytes + rte_pktmbuf_data_len(c->rcvq.head) <= max_bytes))
		sl_mq_push(out, sl_mq_pop(&c->rcvq));
	if (c->rcvq.n == 0)
		c->qflags &= (uint8_t)~SL_TCPQ_RX_PACK;
	tcp_mem_sync(s, c);
	/* Window update when the window grew by a useful amount (RFC 1122). */
	if (out->n > 0 && (c->state == SL_TCP_ESTABLISHED ||
			   c->state == SL_TCP_FIN_WAIT_1 ||
			   c->state == SL_TCP_FIN_WAIT_2) &&
	    tcp_rcv_space(s, c) >= before + RTE_MIN(c->rcv_buf / 2, 2u * c->mss))
		c->flags |= SL_TCPF_ACK_NOW;
}

void
sl_tcp_consume(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint32_t n)
{
	struct rte_mbuf *m = c->rcvq.head;
	uint32_t whole = 0;

	while (m != NULL && whole + rte_pktmbuf_data_len(m) <= n) {
		whole += rte_pktmbuf_data_len(m);
		m = sl_mq_next(m);
	}
	/* Whole mbufs go as sl_tcp_recv takes them (window, accounting)... */
	if (whole > 0) {
		struct sl_mq gone;

		sl_tcp_recv(s, c, whole, &gone);
		sl_mq_free(&gone);
	}
	/* ...and the front of the next one is trimmed in place. */
	n -= whole;
	if (m != NULL && n > 0) {
		rte_pktmbuf_adj(m, (uint16_t)n);
		c->rcvq.bytes -= n;
	}
}

void
sl_tcp_shutdown(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (c->state == SL_TCP_SYN_SENT || c->state == SL_TCP_SYN_RECV) {
		sl_tcp_abort(s, c);
		return;
	}
	if (c->state != SL_TCP_ESTABLISHED && c->state != SL_TCP_CLOSE_WAIT)
		return;
	c->flags |= SL_TCPF_FIN_QUEUED;
	sl_tcp_output(s, c);
}

void
sl_tcp_abort(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (c->flags & SL_TCPF_DEAD)
		return;
	if (c->state != SL_TCP_SYN_SENT && c->state != SL_TCP_TIME_WAIT &&
	    c->state != SL_TCP_CLOSED)
		tcp_send_rst(s, c);
	/* The app is done with it: nothing it has not been told yet stays. */
	tcp_conn_release(s, c);
}

uint32_t
sl_tcp_reset_all(struct sl_tcp_stack *s)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->max_conns; i++) {
		struct sl_tcp_conn *c = &s->conns[i];

		if ((c->flags & SL_TCPF_DEAD) || c->state == SL_TCP_CLOSED ||
		    c->state == SL_TCP_SYN_SENT || c->state == SL_TCP_TIME_WAIT)
			continue;
		tcp_send_rst(s, c);
		n++;
	}
	s->stats.drain_reset += n;
	return n;
}
