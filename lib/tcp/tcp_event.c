/*
 * Application events, told after the burst.
 *
 * Input and timers never call an application: they mark the connection
 * (tcp_event) and go on. The worker calls sl_tcp_dispatch() once per loop
 * turn, after the RX burst and the timers, and only then do the accept,
 * established, readable, writable and closed callbacks run (VPP's session
 * layer does the same). So a callback never runs while TCP is halfway
 * through a segment, of its own connection or another: it may send on,
 * abort or open any connection of the lcore without the stack beneath it
 * having to re-check that the connection it was processing still exists.
 *
 * A connection that closes while its app has not been told stays allocated
 * (SL_TCPF_ZOMBIE: out of the table, timers off, its last received bytes
 * kept) until the closed callback has run.
 */
#include "tcp_private.h"

/* The slot still holds the connection the event was for. */
static inline bool
still_there(const struct sl_tcp_conn *c, uint32_t gen)
{
	return !(c->flags & SL_TCPF_DEAD) && c->gen == gen;
}

/* Ask the listener to take c. false: refused, c is reset and gone. */
static bool
tell_accept(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	const struct sl_tcp_listener *l = c->app;

	c->app = NULL;
	if (l == NULL || l->accept(c, l->arg) != 0) {
		tcp_send_rst(s, c);
		tcp_conn_release(s, c);
		return false;
	}
	return true;
}

static void
tell_closed(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint32_t gen)
{
	const struct sl_tcp_app_ops *ops = c->ops;

	/* No app calls made from the callback reach it any more. */
	c->ops = NULL;
	if (ops != NULL && ops->closed != NULL)
		ops->closed(c, (enum sl_tcp_close_reason)c->close_why);
	if (!still_there(c, gen))
		return;
	if (c->flags & SL_TCPF_ZOMBIE)
		tcp_conn_release(s, c);
	else
		tcp_time_wait_told(s, c);
}

/* Tell one connection what happened to it, in order; stop once it is gone. */
static void
tell(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint8_t ev)
{
	uint32_t gen = c->gen;

	if ((ev & SL_TCP_EV_ACCEPT) && !tell_accept(s, c))
		return;
	if ((ev & SL_TCP_EV_ESTABLISHED) && c->ops != NULL &&
	    c->ops->established != NULL) {
		c->ops->established(c);
		if (!still_there(c, gen))
			return;
	}
	if ((ev & SL_TCP_EV_READABLE) && c->ops != NULL && c->ops->readable != NULL) {
		c->ops->readable(c);
		if (!still_there(c, gen))
			return;
	}
	if ((ev & SL_TCP_EV_WRITABLE) && c->ops != NULL && c->ops->writable != NULL) {
		c->ops->writable(c);
		if (!still_there(c, gen))
			return;
	}
	if (ev & SL_TCP_EV_CLOSED)
		tell_closed(s, c, gen);
}

uint32_t
sl_tcp_dispatch(struct sl_tcp_stack *s)
{
	struct sl_tcp_conn *c;
	uint32_t n = 0;

	/* Callbacks do not make events (only input and timers do), so this
	 * ends; a callback that frees a connection also takes it off. */
	while ((c = TAILQ_FIRST(&s->events)) != NULL) {
		uint8_t ev = c->events;

		tcp_event_cancel(s, c);
		tell(s, c, ev);
		n++;
	}
	return n;
}
