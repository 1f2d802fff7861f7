#ifndef SL_TCP_CONN_H
#define SL_TCP_CONN_H

/*
 * A TCP connection's fields. Only lib/tcp and lib/session include this:
 * applications see a connection as a struct sl_session (lib/session), so
 * none of them can reach into queues, flags or windows. scripts/test.sh
 * checks that no other library or app includes it.
 */
#include "sl_tcp_types.h"

/*
 * One connection, preallocated in the lcore's table. Sequence variables
 * follow RFC 9293 names. Payload bytes live in mbufs in sndq/rcvq/ooo.
 */
struct sl_tcp_conn {
	/* lookup and demux */
	uint32_t laddr, raddr;           /* host order */
	uint16_t lport, rport;
	uint32_t next_hop;               /* cached route */
	uint8_t port;                    /* dataplane port index */
	uint8_t state;
	uint16_t flags;
	uint8_t snd_wscale, rcv_wscale;
	uint8_t dupacks;
	uint8_t delack_segs;             /* segments received since our last ACK */
	uint8_t backoff;                 /* RTO doublings so far */
	uint8_t retries;                 /* retransmissions of snd_una */
	uint8_t qflags;                  /* SL_TCPQ_*: queue packing */
	uint16_t mss;                    /* send MSS: payload bytes per segment */
	uint32_t idx;                    /* slot in the table */
	uint32_t gen;                    /* bumped on every reuse of the slot */

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t recover;                /* RFC 6582 */
	uint32_t rtx_next;               /* SACK recovery: holes below are resent */
	uint32_t ooo_last;               /* seq of the latest out-of-order arrival */
	uint32_t snd_buf;                /* high watermark of sndq */
	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv;  /* rcv_adv: right edge advertised */
	uint32_t rcv_buf;
	uint32_t ts_recent;
	uint32_t ts_recent_ms;           /* our clock when ts_recent was taken */
	/* RTT and RTO (RFC 6298), microseconds */
	uint32_t srtt_us, rttvar_us, rto_ms;
	uint32_t rtt_seq;
	uint64_t rtt_start_tsc;

	struct sl_tcp_cc cc;
	struct sl_tcp_scoreboard sb;
	struct sl_mq sndq;               /* first byte is snd_una */
	struct sl_mq rcvq;               /* in order, not yet taken by the app */
	struct sl_mq ooo;                /* above rcv_nxt, sorted, disjoint */

	struct sl_timer rtx_timer;       /* SYN, RTO, persist, TIME_WAIT */
	struct sl_timer delack_timer;

	const struct sl_tcp_app_ops *ops;
	void *app;
	struct sl_tcp_stack *stack;      /* ours: the owner lcore's */
	/* lib/session's, opaque to TCP: the app's callbacks, a layer's. */
	const void *sess_ops;
	const void *sess_layer;
	void *sess_layer_ctx;
	TAILQ_ENTRY(sl_tcp_conn) ev_link; /* on s->events while events != 0 */
	uint8_t events;                  /* SL_TCP_EV_* not yet told */
	uint8_t close_why;               /* enum sl_tcp_close_reason */
	uint32_t connect_timeout_ms;
	uint32_t free_next;              /* free-list link */
	/* buffer accounting (tcp_mem.c): mbufs, not bytes */
	uint32_t addr_slot;              /* entry in s->addrs, or SL_TCP_NO_ADDR */
	uint32_t mbufs_billed;           /* what this connection added to its
	                                    entry and to s->mbufs_held */
	uint32_t app_held;               /* mbufs the app holds for it (sl_tcp_hold) */
};

/*
 * On a connection we opened, a segment that ends the peer's write (PSH) is
 * acknowledged at once, because a peer writing with Nagle on may wait for
 * that ACK. An app that knows when it awaits more (an HTTP client: until
 * the response is complete) can take that decision instead: the ACK of a
 * complete answer then rides on the next request, one segment fewer each
 * way per exchange. With sl_tcp_app_ack() set, the app must call
 * sl_tcp_ack_now() from readable() whenever it awaits more bytes.
 */
static inline void
sl_tcp_app_ack(struct sl_tcp_conn *c)
{
	c->flags |= SL_TCPF_APP_ACK;
}

static inline uint32_t
sl_tcp_sndq_bytes(const struct sl_tcp_conn *c)
{
	return c->sndq.bytes;
}

/* The peer sent FIN and every byte before it has been taken. */
static inline bool
sl_tcp_eof(const struct sl_tcp_conn *c)
{
	return (c->flags & SL_TCPF_FIN_RCVD) && c->rcvq.n == 0;
}

static inline bool
sl_tcp_can_send(const struct sl_tcp_conn *c)
{
	return (c->state == SL_TCP_ESTABLISHED || c->state == SL_TCP_CLOSE_WAIT) &&
	       !(c->flags & SL_TCPF_FIN_QUEUED);
}

#endif
