/*
 * Sessions over TCP connections: the one place above lib/tcp that knows
 * struct sl_tcp_conn. TCP calls the shim below; the shim hands the event
 * to a layer if one is pushed, else to the application's callbacks with
 * the application's context.
 */
#include <rte_errno.h>

#include "sl_session.h"
#include "sl_tcp_conn.h"

static inline struct sl_session *
session_of(struct sl_tcp_conn *c)
{
	return (struct sl_session *)(void *)c;
}

static inline const struct sl_session_ops *
app_ops(const struct sl_tcp_conn *c)
{
	return c->sess_ops;
}

/* TCP's events ------------------------------------------------------------ */

void
sl_session_app_established(struct sl_session *ss)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	const struct sl_session_ops *o = app_ops(c);

	if (o != NULL && o->established != NULL)
		o->established(ss, c->app);
}

void
sl_session_app_readable(struct sl_session *ss)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	const struct sl_session_ops *o = app_ops(c);

	if (o != NULL && o->readable != NULL)
		o->readable(ss, c->app);
}

void
sl_session_app_writable(struct sl_session *ss)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	const struct sl_session_ops *o = app_ops(c);

	if (o != NULL && o->writable != NULL)
		o->writable(ss, c->app);
}

void
sl_session_app_closed(struct sl_session *ss, enum sl_session_close why)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	const struct sl_session_ops *o = app_ops(c);

	c->sess_ops = NULL;
	if (o != NULL && o->closed != NULL)
		o->closed(ss, c->app, why);
}

static void
shim_established(struct sl_tcp_conn *c)
{
	const struct sl_session_layer *l = sl_ss_layer(c);

	if (l != NULL)
		l->established(session_of(c), c->sess_layer_ctx);
	else
		sl_session_app_established(session_of(c));
}

static void
shim_readable(struct sl_tcp_conn *c)
{
	const struct sl_session_layer *l = sl_ss_layer(c);

	if (l != NULL)
		l->readable(session_of(c), c->sess_layer_ctx);
	else
		sl_session_app_readable(session_of(c));
}

static void
shim_writable(struct sl_tcp_conn *c)
{
	const struct sl_session_layer *l = sl_ss_layer(c);

	if (l != NULL)
		l->writable(session_of(c), c->sess_layer_ctx);
	else
		sl_session_app_writable(session_of(c));
}

static void
shim_closed(struct sl_tcp_conn *c, enum sl_tcp_close_reason why)
{
	const struct sl_session_layer *l = sl_ss_layer(c);

	if (l != NULL)
		l->closed(session_of(c), c->sess_layer_ctx, (enum sl_session_close)why);
	else
		sl_session_app_closed(session_of(c), (enum sl_session_close)why);
}

static const struct sl_tcp_app_ops shim_ops = {
	.established = shim_established,
	.readable = shim_readable,
	.writable = shim_writable,
	.closed = shim_closed,
};

/* Set-up ------------------------------------------------------------------ */

static int
shim_accept(struct sl_tcp_conn *c, void *arg)
{
	struct sl_session_listener *l = arg;

	c->ops = &shim_ops;
	c->sess_ops = NULL;
	c->sess_layer = NULL;
	c->app = NULL;
	if (l->accept(session_of(c), l->arg) != 0) {
		c->ops = NULL;
		return -1;
	}
	return 0;
}

int
sl_session_listen(struct sl_tcp_stack *s, uint32_t addr, uint16_t port,
		  struct sl_session_listener *l)
{
	return sl_tcp_listen(s, addr, port, shim_accept, l);
}

struct sl_session *
sl_session_connect(struct sl_tcp_stack *s, uint32_t raddr, uint16_t rport,
		   uint32_t timeout_ms, const struct sl_session_ops *ops, void *app)
{
	struct sl_tcp_conn *c = sl_tcp_connect(s, raddr, rport, timeout_ms,
					       &shim_ops, app);

	if (c == NULL)
		return NULL;
	c->sess_ops = ops;
	c->sess_layer = NULL;
	return session_of(c);
}

void
sl_session_bind(struct sl_session *ss, const struct sl_session_ops *ops,
		void *app)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	c->ops = ops != NULL ? &shim_ops : NULL;
	c->sess_ops = ops;
	c->app = app;
}

void
sl_session_push_layer(struct sl_session *ss, const struct sl_session_layer *layer,
		      void *ctx)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	c->ops = &shim_ops;
	c->sess_layer = layer;
	c->sess_layer_ctx = ctx;
}

/* Below any layer --------------------------------------------------------- */

void
sl_session_lower_recv(struct sl_session *ss, uint32_t max_bytes,
		      struct sl_mq *out)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	sl_tcp_recv(c->stack, c, max_bytes, out);
}

/* Writing ----------------------------------------------------------------- */

uint32_t
sl_session_write(struct sl_session *ss, struct rte_mempool *pool,
		 const void *data, uint32_t len)
{
	const uint8_t *p = data;
	struct rte_mbuf *m;
	struct sl_mq q;
	uint32_t done = 0;

	/* All or nothing: half a head on the wire is worse than none. */
	sl_mq_init(&q);
	while (done < len) {
		uint32_t n;

		m = rte_pktmbuf_alloc(pool);
		if (m == NULL) {
			sl_mq_free(&q);
			return 0;
		}
		n = RTE_MIN(len - done, (uint32_t)rte_pktmbuf_tailroom(m));
		rte_memcpy(rte_pktmbuf_append(m, (uint16_t)n), p + done, n);
		sl_mq_push(&q, m);
		done += n;
	}
	while ((m = sl_mq_pop(&q)) != NULL)
		if (sl_session_send(ss, m) != 0) {
			sl_mq_free(&q);
			return 0;
		}
	return len;
}

uint32_t
sl_session_room(const struct sl_session *ss)
{
	const struct sl_tcp_conn *c = sl_ss_cconn(ss);

	return sl_tcp_sndq_room(c->stack, c);
}

uint32_t
sl_session_unsent(const struct sl_session *ss)
{
	return sl_tcp_sndq_bytes(sl_ss_cconn(ss));
}

void
sl_session_shutdown(struct sl_session *ss)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	sl_tcp_shutdown(c->stack, c);
}

void
sl_session_abort(struct sl_session *ss)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	sl_tcp_abort(c->stack, c);
}

/* Reading ----------------------------------------------------------------- */


/* State ------------------------------------------------------------------- */

struct sl_tcp_stack *
sl_session_stack(const struct sl_session *ss)
{
	return sl_ss_cconn(ss)->stack;
}

uint32_t
sl_session_rx_held_mbufs(const struct sl_session *ss)
{
	const struct sl_tcp_conn *c = sl_ss_cconn(ss);

	return c->rcvq.n + c->ooo.n;
}

uint32_t
sl_session_send_buffer(const struct sl_session *ss)
{
	return sl_ss_cconn(ss)->snd_buf;
}

/* TCP queues single-segment mbufs: a chain goes link by link. */
int
sl_session_send_chain(struct sl_session *ss, struct rte_mbuf *m)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	struct rte_mbuf *next;

	for (; m != NULL; m = next) {
		next = m->next;
		if (next != NULL) {
			m->next = NULL;
			next->nb_segs = (uint16_t)(m->nb_segs - 1);
			next->pkt_len = m->pkt_len - m->data_len;
			m->nb_segs = 1;
			m->pkt_len = m->data_len;
		}
		if (sl_tcp_send(c->stack, c, m) != 0) {
			rte_pktmbuf_free(next);
			return -1;
		}
	}
	return 0;
}

void
sl_session_consume_slow(struct sl_session *ss, uint32_t n)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);
	struct sl_mq *q;
	struct rte_mbuf *m;

	if (sl_ss_layer(c) == NULL) {
		sl_tcp_consume(c->stack, c, n);
		return;
	}
	q = sl_ss_rxq(ss);
	while ((m = q->head) != NULL && rte_pktmbuf_data_len(m) <= n) {
		n -= rte_pktmbuf_data_len(m);
		rte_pktmbuf_free(sl_mq_pop(q));
	}
	if (m != NULL && n > 0) {
		rte_pktmbuf_adj(m, (uint16_t)n);
		q->bytes -= n;
	}
}

void
sl_session_recv_layer(struct sl_session *ss, uint32_t max_bytes,
		      struct sl_mq *out)
{
	struct sl_mq *q = sl_ss_rxq(ss);

	sl_mq_init(out);
	while (q->head != NULL &&
	       (out->n == 0 || out->bytes + rte_pktmbuf_data_len(q->head) <= max_bytes))
		sl_mq_push(out, sl_mq_pop(q));
}

/* Buffer accounting and ACK policy ---------------------------------------- */

void
sl_session_bill_to(struct sl_session *ss, const struct sl_session *payer)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	sl_tcp_bill_to(c->stack, c, payer != NULL ? sl_ss_cconn(payer) : NULL);
}

void
sl_session_hold(struct sl_session *ss, int32_t n)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	sl_tcp_hold(c->stack, c, n);
}

void
sl_session_app_ack(struct sl_session *ss)
{
	sl_tcp_app_ack(sl_ss_conn(ss));
}

void
sl_session_ack_now(struct sl_session *ss)
{
	struct sl_tcp_conn *c = sl_ss_conn(ss);

	sl_tcp_ack_now(c->stack, c);
}
