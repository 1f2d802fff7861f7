/*
 * Connection timers on the lcore's wheel (1 ms ticks): retransmission
 * (also SYN, zero-window persist and TIME_WAIT, which never overlap) and
 * delayed ACK. RTO per RFC 6298 with exponential backoff.
 */
#include <rte_common.h>

#include "sl_conf.h"
#include "tcp_private.h"

static void rtx_fire(struct sl_timer *t, void *ctx);
static void delack_fire(struct sl_timer *t, void *ctx);

void
tcp_timers_init(struct sl_tcp_conn *c)
{
	sl_timer_init(&c->rtx_timer, rtx_fire);
	sl_timer_init(&c->delack_timer, delack_fire);
}

void
tcp_rtx_arm(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	c->flags &= (uint16_t)~SL_TCPF_PERSIST;
	sl_timer_arm(&s->wheel, &c->rtx_timer, tcp_ms_to_ticks(c->rto_ms));
}

void
tcp_rtx_stop(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	c->flags &= (uint16_t)~SL_TCPF_PERSIST;
	sl_timer_cancel(&s->wheel, &c->rtx_timer);
}

void
tcp_persist_arm(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	uint64_t ms = (uint64_t)c->rto_ms << RTE_MIN(c->backoff, 10);

	c->flags |= SL_TCPF_PERSIST;
	sl_timer_arm(&s->wheel, &c->rtx_timer,
		     tcp_ms_to_ticks((uint32_t)RTE_MIN(ms, s->conf->rto_max_ms)));
}

void
tcp_rtt_sample(struct sl_tcp_conn *c, uint32_t r, const struct sl_conf_tcp *conf)
{
	uint32_t rto_us;

	if (c->srtt_us == 0) {
		c->srtt_us = r ? r : 1;
		c->rttvar_us = r / 2;
	} else {
		uint32_t err = r > c->srtt_us ? r - c->srtt_us : c->srtt_us - r;

		c->rttvar_us = (3 * c->rttvar_us + err) / 4;
		c->srtt_us = (7 * c->srtt_us + r) / 8;
		if (c->srtt_us == 0)
			c->srtt_us = 1;
	}
	/* G, the clock granularity, is our 1 ms timer tick. */
	rto_us = c->srtt_us + RTE_MAX(1000u, 4 * c->rttvar_us);
	c->rto_ms = RTE_MIN(RTE_MAX(rto_us / 1000, conf->rto_min_ms), conf->rto_max_ms);
	c->backoff = 0;
}

void
tcp_delack_schedule(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (!sl_timer_armed(&c->delack_timer))
		sl_timer_arm(&s->wheel, &c->delack_timer,
			     tcp_ms_to_ticks(s->conf->delack_ms));
}

static void
backoff(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	c->backoff++;
	c->rto_ms = RTE_MIN(c->rto_ms * 2, s->conf->rto_max_ms);
}

static void
handshake_timeout(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (c->state == SL_TCP_SYN_SENT) {
		s->stats.connect_timeout++;
		tcp_conn_close(s, c, SL_TCP_CLOSE_TIMEOUT);
	} else {
		/* A half-open passive connection nobody completed: just forget it. */
		tcp_conn_free(s, c);
	}
}

static void
window_probe(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	uint32_t data_end = c->snd_una + c->sndq.bytes;

	if (c->snd_wnd > 0 || data_end == c->snd_una) {
		c->flags &= (uint16_t)~SL_TCPF_PERSIST;
		c->backoff = 0;
		sl_tcp_output(s, c);
		return;
	}
	/*
	 * One byte beyond the closed window: the answer carries the window.
	 * The byte is really sent: a peer whose window has reopened (its
	 * update lost) keeps it and acknowledges snd_una + 1, so snd_max must
	 * cover it or that ACK, and everything carrying it, would be refused
	 * as acknowledging data never sent. snd_nxt stays put: when the
	 * window opens, output resends from snd_una without waiting an RTO.
	 */
	s->stats.window_probes++;
	tcp_send_data(s, c, c->snd_una, 1, false, true);
	if (sl_seq_lt(c->snd_max, c->snd_una + 1))
		c->snd_max = c->snd_una + 1;
	c->backoff++;
	tcp_persist_arm(s, c);
}

static void
rtx_fire(struct sl_timer *t, void *ctx)
{
	struct sl_tcp_stack *s = ctx;
	struct sl_tcp_conn *c = container_of(t, struct sl_tcp_conn, rtx_timer);
	uint32_t outstanding, len;
	bool fin;

	switch (c->state) {
	case SL_TCP_TIME_WAIT:
		tcp_conn_free(s, c);
		return;
	case SL_TCP_SYN_SENT:
	case SL_TCP_SYN_RECV: {
		uint64_t waited = (uint64_t)s->conf->rto_init_ms;

		/* Total time spent so far: rto_init * (2^(n+1) - 1). */
		for (unsigned int i = 0; i < c->retries; i++)
			waited += (uint64_t)s->conf->rto_init_ms << (i + 1);
		if (++c->retries > s->conf->syn_retries ||
		    (c->state == SL_TCP_SYN_SENT && waited >= c->connect_timeout_ms)) {
			handshake_timeout(s, c);
			return;
		}
		backoff(s, c);
		if (c->state == SL_TCP_SYN_SENT && c->connect_timeout_ms > waited)
			c->rto_ms = (uint32_t)RTE_MIN((uint64_t)c->rto_ms,
						      c->connect_timeout_ms - waited);
		tcp_send_syn(s, c, c->state == SL_TCP_SYN_RECV);
		tcp_rtx_arm(s, c);
		return;
	}
	default:
		break;
	}
	if (c->flags & SL_TCPF_PERSIST) {
		window_probe(s, c);
		return;
	}
	outstanding = c->snd_max - c->snd_una;
	if (outstanding == 0)
		return;
	if (++c->retries > s->conf->retries) {
		s->stats.aborted_timeout++;
		tcp_send_rst(s, c);
		tcp_conn_close(s, c, SL_TCP_CLOSE_TIMEOUT);
		return;
	}
	s->stats.rto_expiries++;
	s->stats.retransmits_timeout++;
	c->cc.ops->on_rto(&c->cc, outstanding, rte_rdtsc() / s->tsc_per_us);
	c->flags &= (uint16_t)~(SL_TCPF_IN_RECOVERY | SL_TCPF_RTT_TIMING);
	c->recover = c->snd_max;
	c->dupacks = 0;
	sl_tcp_sb_clear(&c->sb);
	backoff(s, c);
	/* Go back to snd_una: resend its segment, the rest follows the ACKs. */
	len = RTE_MIN((uint32_t)c->mss, c->sndq.bytes);
	fin = (c->flags & SL_TCPF_FIN_SENT) && len == c->sndq.bytes;
	tcp_send_data(s, c, c->snd_una, len, fin, true);
	c->snd_nxt = c->snd_una + len + (fin ? 1 : 0);
	tcp_rtx_arm(s, c);
}

static void
delack_fire(struct sl_timer *t, void *ctx)
{
	struct sl_tcp_stack *s = ctx;
	struct sl_tcp_conn *c = container_of(t, struct sl_tcp_conn, delack_timer);

	if (c->state == SL_TCP_TIME_WAIT || c->state == SL_TCP_CLOSED)
		return;
	s->stats.delayed_acks++;
	c->delack_segs = 0;
	tcp_send_ack(s, c);
}

void
sl_tcp_timers(struct sl_tcp_stack *s, uint64_t now_tsc)
{
	sl_timer_wheel_advance(&s->wheel, now_tsc);
}
