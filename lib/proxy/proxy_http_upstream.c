/*
 * The exchange state machine, backend side: reaching x's backend (a
 * pooled connection or a new one), retrying on another backend when that
 * is safe, and relaying the response to the client as it arrives. The
 * client side is proxy_http.c.
 */
#include <rte_cycles.h>

#include "sl_alog.h"
#include "sl_conf.h"
#include "sl_core.h"
#include "sl_http.h"
#include "sl_lcore_types.h"
#include "sl_session.h"
#include "sl_timer.h"
#include "sl_upstream.h"
#include "proxy_http_head.h"
#include "proxy_http_private.h"

static const struct sl_session_ops up_ops;

/* ---- choosing and reaching a backend ---------------------------------- */

struct sl_session *
h1_upstream_get(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	const struct sl_conf_pool *pool = &hp->conf->pools[x->pool];
	uint32_t g = hp->pool_base[x->pool] + x->backend;
	struct sl_session *c = h1_idle_take(hp, g);

	if (c != NULL) {
		sl_session_bind(c, &up_ops, x);
		/* Its buffers now count against this client's share. */
		sl_session_bill_to(c, x->cl->conn);
		hp->stats.upstream_reused++;
		x->flags |= XF_UP_REUSED | XF_UP_CONNECTED;
		return c;
	}
	hp->stats.upstream_connects++;
	x->flags &= ~(XF_UP_REUSED | XF_UP_CONNECTED);
	c = sl_session_connect(hp->tcp, pool->backends[x->backend].addr,
			       pool->backends[x->backend].port,
			       pool->connect_timeout_ms, &up_ops, x);
	if (c != NULL) {
		/* We know when a response is complete: its ACK can wait for
		 * the next request on this connection (up_readable). */
		sl_session_app_ack(c);
		sl_session_bill_to(c, x->cl->conn);
		h1_lb_conn_g(hp, g, 1);
		x->flags |= XF_PENDING;
		sl_up_pending(hp->up, (unsigned int)x->pool, x->backend, 1);
	}
	return c;
}

void
h1_upstream_send_head(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	x->up_start_tsc = rte_rdtsc();
	if (sl_session_established(x->up)) {
		h1_send_bytes(hp, x->up, x->head, x->head_len);
	} else {
		uint32_t before = x->to_up.n;

		h1_to_mq(hp, &x->to_up, x->head, x->head_len);
		h1_to_up_held(x, before);
	}
}

void
h1_upstream_drop(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	if (x->up != NULL) {
		sl_session_abort(x->up);
		h1_lb_conn_g(hp, hp->pool_base[x->pool] + x->backend, -1);
		x->up = NULL;
	}
}

/*
 * Try x again on another backend after `kind` went wrong at this one.
 * Only a request with no body can be replayed: its head is still in
 * x->head until a response head is built there, its body is not kept. A
 * connect failure is retried whatever the method, since nothing reached
 * the backend; after a reset or a retriable status the backend may have
 * acted on the request, so then only an idempotent method is (RFC 9110
 * 9.2.2). Each refusal is counted by its reason. Returns true when the
 * retry is under way.
 */
static int
retry_bar(const struct sl_h1_xchg *x, const struct sl_conf_pool *cp,
	  enum sl_up_kind kind)
{
	if ((x->flags & (XF_RESP_STARTED | XF_RESP_1XX | XF_RESP_LINE |
			 XF_HEAD_HELD)) || x->state == X_RESP)
		return SL_UP_RETRY_REFUSE_response_begun;
	if (!(x->flags & XF_NO_BODY))
		return SL_UP_RETRY_REFUSE_has_body;
	if (kind != SL_UP_CONNECT_FAIL && !(x->flags & XF_IDEMPOTENT))
		return SL_UP_RETRY_REFUSE_not_idempotent;
	if (x->tries > cp->retry.attempts)
		return SL_UP_RETRY_REFUSE_attempts;
	return -1;
}

static bool
xchg_retry(struct sl_h1_xchg *x, enum sl_up_kind kind)
{
	struct sl_h1_proxy *hp = x->cl->hp;
	const struct sl_conf_pool *cp = &hp->conf->pools[x->pool];
	bool probe;
	int b, why;

	if (cp->retry.attempts == 0 || x->cl->conn == NULL)
		return false;   /* retries off by choice, or nobody to answer */
	why = retry_bar(x, cp, kind);
	if (why >= 0) {
		h1_lb_retry_refuse(hp, x, (enum sl_up_retry_refusal)why);
		return false;
	}
	b = h1_lb_retry_pick(hp, x, &probe);
	if (b < 0)
		return false;
	h1_upstream_drop(hp, x);
	h1_lb_finish(hp, x, kind);
	h1_lb_retry_commit(hp, x, b, probe);
	sl_mq_free(&x->to_up);
	x->status = 0;
	x->up = h1_upstream_get(hp, x);
	if (x->up == NULL) {
		/* No connection to try (none free here): the new backend did
		 * nothing wrong, and must not get the caller's verdict. */
		h1_lb_finish(hp, x, SL_UP_ABANDONED);
		return false;
	}
	sl_http_parser_init_response(&x->resp, &hp->limits,
				     x->method == SL_HTTP_M_HEAD);
	h1_upstream_send_head(hp, x);
	if (x->state >= X_WAIT_RESP)
		sl_timer_arm(&hp->tcp->wheel, &x->timer,
			     h1_ms_ticks(hp->conf->http.response_timeout_ms));
	return true;
}

/* ---- responses ---------------------------------------------------------- */

/* Latency of a completed exchange, by route and by backend. */
static void
record_latency(struct sl_h1_proxy *hp, const struct sl_h1_xchg *x)
{
	uint64_t now = rte_rdtsc(), per_us = hp->tcp->lc->dp->tsc_hz / 1000000;
	uint64_t total = (now - x->start_tsc) / per_us;
	uint64_t up = x->up_start_tsc ? (now - x->up_start_tsc) / per_us : 0;
	const struct sl_conf_listener *l = &hp->conf->listeners[x->cl->listener];
	uint32_t r = hp->route_base[x->cl->listener] +
		     (x->route >= 0 ? (uint32_t)x->route : l->n_routes);
	uint32_t b = hp->pool_base[x->pool] + x->backend;

	sl_hist_record(&hp->route_total[r], total);
	sl_hist_record(&hp->route_upstream[r], up);
	sl_hist_record(&hp->backend_total[b], total);
	sl_hist_record(&hp->backend_upstream[b], up);
}

static void
response_done(struct sl_h1_xchg *x, bool up_reusable)
{
	struct sl_h1_client *cl = x->cl;
	struct sl_h1_proxy *hp = cl->hp;
	bool close_after = x->flags & XF_CLOSE_AFTER;

	h1_count_status(hp, x->status, false);
	record_latency(hp, x);
	h1_lb_finish(hp, x, h1_lb_failure_status(hp, x->pool, x->status) ?
		     SL_UP_FAIL_STATUS : SL_UP_OK);
	h1_xchg_free(hp, x, SL_ALOG_TERM_DONE, up_reusable);
	if (cl->conn == NULL)
		return;
	if (close_after) {
		cl->flags |= CL_CLOSING;
		sl_session_shutdown(cl->conn);
		return;
	}
	cl->flags |= CL_IDLE;
	/* Draining, a head sent before the drain said keep-alive: the
	 * client's next request, if it comes at once, gets Connection: close. */
	sl_timer_arm(&hp->tcp->wheel, &cl->timer,
		     h1_ms_ticks(unlikely(hp->draining) ? SL_H1_DRAIN_IDLE_MS :
				 (uint64_t)hp->conf->http.client_idle_s * 1000));
	h1_client_drive(cl);
}

/*
 * The response head goes to the client with its first body bytes, at its
 * end, or when nothing more came with it: until then the backend can
 * still fail it, and the client gets a clean 502 instead of a reset.
 */
static void
response_head_flush(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	if (!(x->flags & XF_HEAD_HELD))
		return;
	x->flags = (x->flags & ~XF_HEAD_HELD) | XF_RESP_STARTED;
	x->bytes_out += x->head_len;
	h1_queue_bytes(hp, x->cl->conn, x->head, x->head_len);
}

/* The backend's response is unusable: 502 if the client got nothing yet. */
static void
response_fail(struct sl_h1_xchg *x)
{
	struct sl_h1_client *cl = x->cl;
	struct sl_h1_proxy *hp = cl->hp;

	if (x->flags & (XF_RESP_STARTED | XF_RESP_1XX)) {
		hp->stats.aborted_midway++;
		x->status = 502;
		sl_session_abort(cl->conn);
		cl->conn = NULL;
		h1_xchg_free(hp, x, SL_ALOG_TERM_BACKEND_RESET, false);
		h1_client_free(cl);
		return;
	}
	x->flags &= ~XF_HEAD_HELD;
	h1_upstream_drop(hp, x);
	x->status = 502;
	h1_lb_finish(hp, x, SL_UP_RESET);
	h1_client_error(cl, 502);
}

/*
 * A final status the pool retries on: true when a retry is under way
 * (xchg_retry says whether this request may be retried).
 */
static bool
response_status_retry(struct sl_h1_proxy *hp, struct sl_h1_xchg *x,
		      unsigned int status)
{
	uint16_t st = x->status;

	if (status < 200 ||
	    !sl_status_set_has(&hp->conf->pools[x->pool].retry.on_statuses, status))
		return false;
	x->status = (uint16_t)status;
	if (xchg_retry(x, h1_lb_failure_status(hp, x->pool, status) ?
		       SL_UP_FAIL_STATUS : SL_UP_OK))
		return true;
	x->status = st;   /* no retry: relay this answer */
	return false;
}

/* The response head is complete. Returns false to stop reading. */
static bool
response_headers_done(struct sl_h1_xchg *x, const struct sl_http_head *h)
{
	struct sl_h1_client *cl = x->cl;
	struct sl_h1_proxy *hp = cl->hp;

	/* No Upgrade was forwarded (it is hop-by-hop): a 101 is a
	 * backend switching to a protocol nobody asked for. */
	if (h->status == 101) {
		response_fail(x);
		return false;
	}
	if (h->status < 200) {
		/* 100 Continue and friends pass straight through. */
		h1_head_str(x, "\r\n");
		if (x->flags & XF_HEAD_OVER) {
			hp->stats.head_overflow++;
			response_fail(x);
			return false;
		}
		x->flags |= XF_RESP_1XX;
		h1_send_bytes(hp, cl->conn, x->head, x->head_len);
		return true;
	}
	sl_timer_cancel(&hp->tcp->wheel, &x->timer);
	if (h->flags & SL_HTTP_F_KEEP_ALIVE)
		x->flags |= XF_UP_KEEPALIVE;
	h1_head_response_end(hp, x, h);
	if (x->flags & XF_HEAD_OVER) {
		hp->stats.head_overflow++;
		response_fail(x);
		return false;
	}
	x->flags |= XF_HEAD_HELD;
	x->state = X_RESP;
	return true;
}

/* Returns false to stop reading the backend. */
static bool
response_event(struct sl_h1_xchg *x, struct sl_http_event *ev)
{
	struct sl_h1_client *cl = x->cl;
	struct sl_h1_proxy *hp = cl->hp;

	switch (ev->type) {
	case SL_HTTP_EV_STATUS_LINE:
		if (response_status_retry(hp, x, ev->resp.status))
			return false;
		h1_head_response_line(x, &ev->resp);
		return true;
	case SL_HTTP_EV_HEADER:
		h1_head_response_field(x, &ev->field);
		return true;
	case SL_HTTP_EV_HEADERS_DONE:
		return response_headers_done(x, &ev->head);
	case SL_HTTP_EV_BODY:
		response_head_flush(hp, x);
		x->bytes_out += ev->body.len;
		h1_send_body(hp, cl->conn, NULL, x->flags & XF_RESP_CHUNKED, ev->body);
		return true;
	case SL_HTTP_EV_MESSAGE_DONE:
		if (x->state != X_RESP)
			return true;   /* the end of a 1xx: the real one follows */
		response_head_flush(hp, x);
		if (x->flags & XF_RESP_CHUNKED)
			h1_send_bytes(hp, cl->conn, "0\r\n\r\n", 5);
		response_done(x, x->flags & XF_UP_KEEPALIVE);
		return false;
	case SL_HTTP_EV_EOF:
		/*
		 * The backend closed before a byte of a response: no answer,
		 * as good as a reset (a death, or an idle connection it shut
		 * as we reused it). Waiting on would only end in a 504.
		 */
		x->status = 502;
		if (xchg_retry(x, SL_UP_RESET))
			return false;
		response_fail(x);
		return false;
	case SL_HTTP_EV_ERROR:
		response_fail(x);
		return false;
	default:
		return true;
	}
}

static void
upstream_drive_events(struct sl_h1_xchg *x)
{
	struct sl_h1_proxy *hp = x->cl->hp;
	struct sl_session *up = x->up;

	while (up != NULL && x->up == up && x->state >= X_REQ_BODY) {
		struct sl_http_event ev;
		struct rte_mbuf *m = sl_session_peek(up);
		struct sl_mq done;
		bool go_on;
		size_t n;

		if (x->cl->conn == NULL)
			return;
		if (sl_session_room(x->cl->conn) == 0) {
			sl_session_want_writable(x->cl->conn);
			return;
		}
		if (m == NULL) {
			/* Events may still be due with no new byte (MESSAGE_DONE). */
			if (sl_http_parse(&x->resp, NULL, 0, &ev) == 0 &&
			    ev.type != SL_HTTP_EV_NEED_MORE) {
				if (!response_event(x, &ev))
					return;
				continue;
			}
			if (sl_session_eof(up)) {
				/* End of a close-delimited body, or a cut. */
				sl_http_parse_eof(&x->resp, &ev);
				response_event(x, &ev);
				return;
			}
			/* Nothing more for now: a held head goes out alone. */
			response_head_flush(hp, x);
			return;
		}
		n = sl_http_parse(&x->resp, rte_pktmbuf_mtod(m, const char *),
				  rte_pktmbuf_data_len(m), &ev);
		sl_mq_init(&done);
		if (n == rte_pktmbuf_data_len(m)) {
			/* Freed only after the event: its slices point into m. */
			sl_session_recv(up, rte_pktmbuf_data_len(m), &done);
			sl_session_flush(up);
		} else {
			sl_session_consume(up, (uint32_t)n);
		}
		go_on = ev.type == SL_HTTP_EV_NEED_MORE || response_event(x, &ev);
		sl_mq_free(&done);
		if (!go_on)
			return;
	}
}

void
h1_upstream_drive(struct sl_h1_xchg *x)
{
	struct sl_session *cc = x->cl->conn;
	uint32_t token = cc != NULL ? sl_session_token(cc) : 0;

	upstream_drive_events(x);
	/* x and its client may be gone (a response that closes the client
	 * ends both): ask after the session itself. */
	if (cc != NULL && sl_session_alive(cc, token))
		sl_session_flush(cc);
}

/* ---- session callbacks ------------------------------------------------ */

static void
up_established(struct sl_session *c, void *app)
{
	struct sl_h1_xchg *x = app;
	struct sl_h1_proxy *hp = x->cl->hp;

	h1_lb_connected(hp, x);
	sl_session_hold(c, -(int32_t)x->to_up.n);   /* into its queue now */
	h1_send_mq(c, &x->to_up);
	h1_client_drive(x->cl);
}

static void
up_readable(struct sl_session *c, void *app)
{
	struct sl_h1_xchg *x = app;
	uint32_t token = sl_session_token(c);

	h1_upstream_drive(x);
	/*
	 * Still this exchange's (not pooled, freed or reused): the response
	 * is not complete, and a backend writing with Nagle on may wait for
	 * our ACK before it sends the rest. A complete response's ACK rides
	 * on the next request, or on the delayed-ACK timer.
	 */
	if (sl_session_alive(c, token) && sl_session_bound_ops(c) == &up_ops)
		sl_session_ack_now(c);
}

static void
up_writable(struct sl_session *c __rte_unused, void *app)
{
	struct sl_h1_xchg *x = app;
	struct sl_h1_proxy *hp = x->cl->hp;

	/*
	 * The response timeout counts from the request having been sent. The
	 * client may finish a large body while the backend is still taking
	 * the last of it from our send queue: its progress restarts the clock.
	 */
	if (x->state == X_WAIT_RESP)
		sl_timer_arm(&hp->tcp->wheel, &x->timer,
			     h1_ms_ticks(hp->conf->http.response_timeout_ms));
	h1_client_drive(x->cl);
}

/* The backend connection of a response under way closed: cut the client. */
static void
up_closed_midway(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	struct sl_h1_client *cl = x->cl;

	hp->stats.aborted_midway++;
	/* The client has part of an answer: a retry would garble it. */
	if (hp->conf->pools[x->pool].retry.attempts > 0 && cl->conn != NULL)
		h1_lb_retry_refuse(hp, x, SL_UP_RETRY_REFUSE_response_begun);
	h1_lb_finish(hp, x, SL_UP_RESET);
	if (cl->conn != NULL) {
		sl_session_abort(cl->conn);
		cl->conn = NULL;
	}
	h1_xchg_free(hp, x, SL_ALOG_TERM_BACKEND_RESET, false);
	h1_client_free(cl);
}

static void
up_closed(struct sl_session *c __rte_unused, void *app,
	  enum sl_session_close why)
{
	struct sl_h1_xchg *x = app;
	struct sl_h1_client *cl = x->cl;
	struct sl_h1_proxy *hp = cl->hp;
	enum sl_up_kind kind;
	unsigned int status;

	if (why == SL_SESSION_CLOSE_NORMAL && x->state == X_RESP) {
		/* Last bytes of a close-delimited response: drain, then end. */
		h1_upstream_drive(x);
		if (cl->x != x)
			return;
	}
	x->up = NULL;
	h1_lb_conn_g(hp, hp->pool_base[x->pool] + x->backend, -1);
	if (x->flags & (XF_RESP_STARTED | XF_RESP_1XX)) {
		up_closed_midway(hp, x);
		return;
	}
	switch (why) {
	case SL_SESSION_CLOSE_REFUSED:
		status = 503;
		kind = SL_UP_CONNECT_FAIL;
		break;
	case SL_SESSION_CLOSE_TIMEOUT:
		status = 504;
		kind = x->flags & XF_UP_CONNECTED ? SL_UP_TIMEOUT : SL_UP_CONNECT_FAIL;
		break;
	default:
		status = 502;
		kind = SL_UP_RESET;
		break;
	}
	x->status = (uint16_t)status;
	if (xchg_retry(x, kind))
		return;
	/* The verdict before the error: xchg_free would report no verdict,
	 * and breakers and ejection would never hear of this failure. */
	h1_lb_finish(hp, x, kind);
	h1_client_error(cl, status);
}

static const struct sl_session_ops up_ops = {
	.established = up_established,
	.readable = up_readable,
	.writable = up_writable,
	.closed = up_closed,
};
