#ifndef SL_SESSION_H
#define SL_SESSION_H

/*
 * The session layer: what an application (the HTTP and L4 proxies, health
 * checks, sluice-loadgen) sees of a connection. A session is a byte stream
 * with callbacks; the application never sees struct sl_tcp_conn, its
 * queues, flags or windows, only this API.
 *
 * Why a layer of its own rather than more of sl_tcp.h: a transform (TLS
 * next, then HTTP/2 framing) has to sit between TCP and the application
 * without either knowing. Here it is a struct sl_session_layer pushed on a
 * session: it sees TCP's bytes and events first and gives the application
 * its own (sl_session_push_layer). With no layer, every call is a direct,
 * inlinable step to TCP.
 *
 * Callbacks run at the end of the burst (sl_tcp_dispatch), never inside
 * TCP's segment processing, with the application's own context:
 * (session, app). The same rules as TCP's: they may send on, abort or open
 * any session of the lcore; after closed() the session is gone.
 *
 * A session handle is the connection slot itself (no allocation): the
 * layer's state lives in fields of the slot reserved for it.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "sl_session_types.h"
#include "sl_tcp.h"
#include "sl_tcp_conn.h"

/* Set-up ------------------------------------------------------------------ */

/* Listen on addr:port for `l`, which must outlive the stack. */
int
sl_session_listen(struct sl_tcp_stack *s, uint32_t addr, uint16_t port,
		  struct sl_session_listener *l);

/* Open a session to raddr:rport; NULL with rte_errno set when none can be.
 * The outcome comes later: established(), or closed() with a reason. */
struct sl_session *
sl_session_connect(struct sl_tcp_stack *s, uint32_t raddr, uint16_t rport,
		   uint32_t timeout_ms, const struct sl_session_ops *ops, void *app);

/* Who hears of the session from now on (NULL ops: nobody). */
void
sl_session_bind(struct sl_session *ss, const struct sl_session_ops *ops,
		void *app);

/*
 * Put `layer` between TCP and the application: TCP's events go to the
 * layer from now on, the application's calls through it. Once, before
 * any bytes flow (at accept or connect).
 */
void
sl_session_push_layer(struct sl_session *ss, const struct sl_session_layer *layer,
		      void *ctx);

/* For a layer: tell the application. */
void
sl_session_app_established(struct sl_session *ss);
void
sl_session_app_readable(struct sl_session *ss);
void
sl_session_app_writable(struct sl_session *ss);
void
sl_session_app_closed(struct sl_session *ss, enum sl_session_close why);

/* For a layer: TCP's own bytes, below any layer. */
void
sl_session_lower_recv(struct sl_session *ss, uint32_t max_bytes,
		      struct sl_mq *out);
static inline int
sl_session_lower_send(struct sl_session *ss, struct rte_mbuf *m);

/* Writing ----------------------------------------------------------------- */

/*
 * Queue an mbuf for sending, by reference (no copy): ownership passes.
 * A chain is sent segment by segment. 0, or -1 when the session can no
 * longer send (the mbufs are freed).
 */
static inline int
sl_session_send(struct sl_session *ss, struct rte_mbuf *m);

/*
 * Copy `len` bytes into mbufs from `pool` and queue them, all or nothing:
 * returns len, or 0 when the pool ran dry or the session can no longer
 * send (nothing of it is queued then, unless the session failed midway,
 * when it is past saving anyway).
 */
uint32_t
sl_session_write(struct sl_session *ss, struct rte_mempool *pool,
		 const void *data, uint32_t len);

/* Send what is queued, as the windows allow. Sends and writes only queue,
 * so that what an app writes in one callback leaves in full segments. */
static inline void
sl_session_flush(struct sl_session *ss);

/* Bytes the app may still queue: a splice moves no more than this. */
uint32_t
sl_session_room(const struct sl_session *ss);

/* Bytes queued and not yet acknowledged by the peer. */
uint32_t
sl_session_unsent(const struct sl_session *ss);

/* Call writable() once the send queue has room again. */
static inline void
sl_session_want_writable(struct sl_session *ss);

/* Half-close: FIN once everything queued is sent. */
void
sl_session_shutdown(struct sl_session *ss);

/* RST and free now; no callback follows. */
void
sl_session_abort(struct sl_session *ss);

/* Reading ----------------------------------------------------------------- */

/* The first received mbuf not yet consumed (walk on with sl_mq_next);
 * NULL when none. */
static inline struct rte_mbuf *
sl_session_peek(struct sl_session *ss);

/* Bytes and mbufs received and not yet consumed. */
static inline uint32_t
sl_session_rx_bytes(const struct sl_session *ss);
static inline uint32_t
sl_session_rx_mbufs(const struct sl_session *ss);

/* Drop the first `n` received bytes (the window reopens). */
static inline void
sl_session_consume(struct sl_session *ss, uint32_t n);

/* Take whole received mbufs, up to max_bytes (at least one if any). */
static inline void
sl_session_recv(struct sl_session *ss, uint32_t max_bytes, struct sl_mq *out);

/* The peer finished writing and everything before that has been taken. */
static inline bool
sl_session_eof(const struct sl_session *ss);

/* State ------------------------------------------------------------------- */

/* The peer sent FIN (bytes before it may still wait to be read). */
static inline bool
sl_session_peer_finished(const struct sl_session *ss);

/* Mbufs the stack holds for what ss received (in order and out of order),
 * not yet taken: what a slow sender costs the pool. */
uint32_t
sl_session_rx_held_mbufs(const struct sl_session *ss);

/* The send buffer, bytes: what an app may queue ahead of an open. */
uint32_t
sl_session_send_buffer(const struct sl_session *ss);

/*
 * Liveness across the app's own actions: a callback that may free a
 * session (its own request done, a pooled connection closed) takes a
 * token first and asks afterwards whether the same session still exists.
 * The slot may have been reused: the token tells the two apart.
 */
static inline uint32_t
sl_session_token(const struct sl_session *ss);
static inline bool
sl_session_alive(const struct sl_session *ss, uint32_t token);

/* The callbacks ss is bound to (NULL: none). */
static inline const struct sl_session_ops *
sl_session_bound_ops(const struct sl_session *ss);

static inline bool
sl_session_established(const struct sl_session *ss);

/* Established (or the peer half-closed) and we have not shut down. */
static inline bool
sl_session_can_send(const struct sl_session *ss);

static inline uint32_t
sl_session_remote_addr(const struct sl_session *ss);
static inline uint16_t
sl_session_remote_port(const struct sl_session *ss);

/* TCP's stack the session lives on. */
struct sl_tcp_stack *
sl_session_stack(const struct sl_session *ss);

/* Buffer accounting and ACK policy (see sl_tcp.h) ------------------------- */

/* Bill ss's buffers to payer's remote address (NULL: to nobody). */
void
sl_session_bill_to(struct sl_session *ss, const struct sl_session *payer);

/* The app holds n more (or fewer) mbufs on ss's behalf. */
void
sl_session_hold(struct sl_session *ss, int32_t n);

/* The app acknowledges what it still awaits (sl_tcp_app_ack). */
void
sl_session_app_ack(struct sl_session *ss);
void
sl_session_ack_now(struct sl_session *ss);


/* The fast paths, inline -------------------------------------------------
 * A session is its TCP slot: these read it directly so that the proxies'
 * per-segment calls cost what the direct TCP calls did. They are lib/session's
 * code; applications see only the functions above (check_layers.sh). */

static inline struct sl_tcp_conn *
sl_ss_conn(struct sl_session *ss)
{
	return (struct sl_tcp_conn *)(void *)ss;
}

static inline const struct sl_tcp_conn *
sl_ss_cconn(const struct sl_session *ss)
{
	return (const struct sl_tcp_conn *)(const void *)ss;
}

static inline const struct sl_session_layer *
sl_ss_layer(const struct sl_tcp_conn *c)
{
	return c->sess_layer;
}

/* What the application reads: the layer's queue, else TCP's. */
static inline struct sl_mq *
sl_ss_rxq(const struct sl_session *ss)
{
	struct sl_tcp_conn *c = (struct sl_tcp_conn *)(uintptr_t)sl_ss_cconn(ss);
	const struct sl_session_layer *l = sl_ss_layer(c);

	return l != NULL ? l->rxq((struct sl_session *)(uintptr_t)ss, c->sess_layer_ctx) :
	       &c->rcvq;
}

int
sl_session_send_chain(struct sl_session *ss, struct rte_mbuf *m);

static inline int
sl_session_lower_send(struct sl_session *ss, struct rte_mbuf *m)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	if (likely(m->next == NULL))
		return sl_tcp_send(c->stack, c, m);
	return sl_session_send_chain(ss, m);
}

static inline int
sl_session_send(struct sl_session *ss, struct rte_mbuf *m)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	const struct sl_session_layer *l = sl_ss_layer(c);

	if (l != NULL)
		return l->send(ss, c->sess_layer_ctx, m);
	return sl_session_lower_send(ss, m);
}

static inline void
sl_session_flush(struct sl_session *ss)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	sl_tcp_output(c->stack, c);
}

static inline void
sl_session_want_writable(struct sl_session *ss)
{
	sl_ss_conn(ss)->flags |= SL_TCPF_NOTIFY_W;
}

static inline struct rte_mbuf *
sl_session_peek(struct sl_session *ss)
{
	return sl_ss_rxq(ss)->head;
}

static inline uint32_t
sl_session_rx_bytes(const struct sl_session *ss)
{
	return sl_ss_rxq(ss)->bytes;
}

static inline uint32_t
sl_session_rx_mbufs(const struct sl_session *ss)
{
	return sl_ss_rxq(ss)->n;
}

void
sl_session_consume_slow(struct sl_session *ss, uint32_t n);

static inline void
sl_session_consume(struct sl_session *ss, uint32_t n)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	struct rte_mbuf *m = c->rcvq.head;

	/* The common case, a parser taking the front of the first mbuf: trim
	 * in place (the window is unchanged: the mbuf is still held). */
	if (likely(sl_ss_layer(c) == NULL && m != NULL &&
		   n < rte_pktmbuf_data_len(m))) {
		rte_pktmbuf_adj(m, (uint16_t)n);
		c->rcvq.bytes -= n;
		return;
	}
	sl_session_consume_slow(ss, n);
}

void
sl_session_recv_layer(struct sl_session *ss, uint32_t max_bytes,
		      struct sl_mq *out);

static inline void
sl_session_recv(struct sl_session *ss, uint32_t max_bytes, struct sl_mq *out)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	if (likely(sl_ss_layer(c) == NULL))
		sl_tcp_recv(c->stack, c, max_bytes, out);
	else
		sl_session_recv_layer(ss, max_bytes, out);
}

static inline bool
sl_session_eof(const struct sl_session *ss)
{
	const struct sl_tcp_conn *c = sl_ss_cconn(ss);

	/* With a layer, its own queue must be empty too; without one that
	 * queue is TCP's (sl_ss_rxq), so one test covers both. */
	return (c->flags & SL_TCPF_FIN_RCVD) && c->rcvq.n == 0 &&
	       (sl_ss_layer(c) == NULL || sl_session_rx_mbufs(ss) == 0);
}

static inline bool
sl_session_peer_finished(const struct sl_session *ss)
{
	return (sl_ss_cconn(ss)->flags & SL_TCPF_FIN_RCVD) != 0;
}

static inline bool
sl_session_established(const struct sl_session *ss)
{
	return sl_ss_cconn(ss)->state == SL_TCP_ESTABLISHED;
}

static inline bool
sl_session_can_send(const struct sl_session *ss)
{
	return sl_tcp_can_send(sl_ss_cconn(ss));
}

static inline uint32_t
sl_session_remote_addr(const struct sl_session *ss)
{
	return sl_ss_cconn(ss)->raddr;
}

static inline uint16_t
sl_session_remote_port(const struct sl_session *ss)
{
	return sl_ss_cconn(ss)->rport;
}

static inline uint32_t
sl_session_token(const struct sl_session *ss)
{
	return sl_ss_cconn(ss)->gen;
}

static inline bool
sl_session_alive(const struct sl_session *ss, uint32_t token)
{
	const struct sl_tcp_conn *c = sl_ss_cconn(ss);

	return !(c->flags & SL_TCPF_DEAD) && c->gen == token;
}

static inline const struct sl_session_ops *
sl_session_bound_ops(const struct sl_session *ss)
{
	const struct sl_tcp_conn *c = sl_ss_cconn(ss);

	return c->ops != NULL ? (const struct sl_session_ops *)c->sess_ops : NULL;
}

#endif
