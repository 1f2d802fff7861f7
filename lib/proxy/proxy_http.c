/*
 * The HTTP/1.1 reverse proxy (see sl_proxy_http.h for the model): the
 * exchange state machine, client side. A client's request head is
 * scanned until it is whole, then parsed into an exchange, rewritten
 * (proxy_http_head.c), routed, and sent with its body to a backend
 * (proxy_http_upstream.c, which relays the response and drives the next
 * pipelined request when it is done). The other files of the proxy are
 * listed in proxy_http_private.h.
 */
#include <string.h>

#include <rte_cycles.h>

#include "sl_alog.h"
#include "sl_conf.h"
#include "sl_core.h"
#include "sl_http.h"
#include "sl_lcore_types.h"
#include "sl_proxy_http.h"
#include "sl_route.h"
#include "sl_session.h"
#include "sl_timer.h"
#include "sl_upstream.h"
#include "proxy_http_head.h"
#include "proxy_http_private.h"

static const struct sl_session_ops client_ops;

/* ---- exchanges ---------------------------------------------------------- */

static void
xchg_log(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, uint8_t term)
{
	const struct sl_dp *dp = hp->tcp->lc->dp;
	uint64_t now = rte_rdtsc(), per_us = dp->tsc_hz / 1000000;
	struct sl_alog_rec r = {
		.start_us = dp->start_wall_us + (x->start_tsc - dp->start_tsc) / per_us,
		.bytes_in = x->bytes_in,
		.bytes_out = x->bytes_out,
		.client_ip = x->cl->client_ip,
		.client_port = x->cl->client_port,
		.total_us = (uint32_t)((now - x->start_tsc) / per_us),
		.upstream_us = x->up_start_tsc ?
			(uint32_t)((now - x->up_start_tsc) / per_us) : 0,
		.listener = x->cl->listener,
		.route = x->route >= 0 ? (uint16_t)x->route : UINT16_MAX,
		.status = x->status,
		.term = term,
		.method = x->method,
	};

	if (sl_alog_lcore_of(hp->tcp->lc) == NULL)
		return;
	if (x->pool >= 0 && x->backend != UINT16_MAX) {
		const struct sl_conf_backend *b =
			&hp->conf->pools[x->pool].backends[x->backend];

		r.backend_ip = b->addr;
		r.backend_port = b->port;
	}
	memcpy(r.path, x->path, sizeof(r.path));
	sl_alog_submit(sl_alog_lcore_of(hp->tcp->lc), &r);
}

static void
xchg_timer_fire(struct sl_timer *t, void *ctx)
{
	struct sl_h1_xchg *x = container_of(t, struct sl_h1_xchg, timer);

	(void)ctx;
	if (x->flags & XF_RESP_STARTED)
		return;
	/* The backend said nothing in time: 504, and drop that connection. */
	h1_upstream_drop(x->cl->hp, x);
	x->status = 504;
	h1_lb_finish(x->cl->hp, x, SL_UP_TIMEOUT);
	h1_client_error(x->cl, 504);
}

static struct sl_h1_xchg *
xchg_new(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;
	struct sl_h1_xchg *x;

	if (hp->free_xchgs == UINT32_MAX)
		return NULL;
	x = &hp->xchgs[hp->free_xchgs];
	hp->free_xchgs = x->free_next;
	x->cl = cl;
	x->up = NULL;
	sl_mq_init(&x->to_up);
	/* The slot's timer was cancelled when it was freed: safe to init. */
	sl_timer_init(&x->timer, xchg_timer_fire);
	x->start_tsc = rte_rdtsc();
	x->up_start_tsc = 0;
	x->bytes_in = x->bytes_out = 0;
	x->route = -1;
	x->pool = -1;
	x->backend = UINT16_MAX;
	x->status = 0;
	x->flags = 0;
	x->tries = 0;
	x->lb_flags = 0;
	memset(x->khash, 0, sizeof(x->khash));
	x->state = X_REQ_HEAD;
	x->method = 0;
	x->host_len = x->conn_len = 0;
	x->target_off = x->target_len = 0;
	x->head_len = 0;
	x->path[0] = '\0';
	sl_http_parser_init_request(&x->req, &hp->limits);
	hp->stats.inflight++;
	return x;
}

void
h1_xchg_free(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, uint8_t term,
	     bool up_reusable)
{
	xchg_log(hp, x, term);
	sl_timer_cancel(&hp->tcp->wheel, &x->timer);
	h1_lb_finish(hp, x, SL_UP_ABANDONED);
	h1_idle_release(hp, x, up_reusable);
	sl_mq_free(&x->to_up);
	if (x->cl != NULL && x->cl->x == x)
		x->cl->x = NULL;
	x->free_next = hp->free_xchgs;
	hp->free_xchgs = (uint32_t)(x - hp->xchgs);
	hp->stats.inflight--;
}

/* ---- clients ------------------------------------------------------------ */

void
h1_client_discard_input(struct sl_h1_client *cl)
{
	struct sl_mq q;

	if (cl->conn != NULL && cl->pending.n > 0)
		sl_session_hold(cl->conn, -(int32_t)cl->pending.n);
	sl_mq_free(&cl->pending);
	cl->pending_off = 0;
	if (cl->conn != NULL && sl_session_rx_mbufs(cl->conn) > 0) {
		sl_session_recv(cl->conn, UINT32_MAX, &q);
		sl_mq_free(&q);
	}
}

void
h1_client_free(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;

	sl_timer_cancel(&hp->tcp->wheel, &cl->timer);
	h1_slow_leave(cl);
	sl_mq_free(&cl->pending);
	cl->conn = NULL;
	cl->free_next = hp->free_clients;
	hp->free_clients = (uint32_t)(cl - hp->clients);
	hp->stats.clients--;
}

static void
client_timer_fire(struct sl_timer *t, void *ctx)
{
	struct sl_h1_client *cl = container_of(t, struct sl_h1_client, timer);

	(void)ctx;
	if ((cl->x != NULL && cl->x->state == X_REQ_HEAD) ||
	    (cl->x == NULL && cl->conn != NULL && !(cl->flags & CL_CLOSING) &&
	     (cl->scan.bytes > 0 || cl->pending.n > 0 || sl_session_rx_mbufs(cl->conn) > 0))) {
		h1_client_error(cl, 408);   /* slowloris: the head never completed */
		return;
	}
	if (cl->x == NULL && cl->conn != NULL) {
		if (unlikely(cl->hp->draining))
			cl->hp->stats.drain_idle_closed++;
		cl->flags |= CL_CLOSING;   /* keep-alive idle */
		sl_session_shutdown(cl->conn);
	}
}

/* ---- the request -------------------------------------------------------- */

/* x's route and pool, from its Host, target and method. */
static void
request_route(struct sl_h1_proxy *hp, struct sl_h1_client *cl, struct sl_h1_xchg *x)
{
	const struct sl_conf_listener *l = &hp->conf->listeners[cl->listener];
	int r;

	for (unsigned int i = 0; i < hp->n_listeners; i++)
		if (hp->listeners[i].listener == cl->listener) {
			r = sl_route_lookup(hp->listeners[i].routes, x->host,
					    x->host_len, x->head + x->target_off,
					    x->target_len, x->method ? x->method - 1u :
					    SL_METHOD_MAX);
			x->route = r >= 0 ? r : -1;
			x->pool = r >= 0 ? l->routes[r].pool :
				  r == SL_ROUTE_DEFAULT ? l->pool : -1;
			break;
		}
}

/* The request head is complete: route it and send it to a backend. */
static void
request_headers_done(struct sl_h1_client *cl, struct sl_h1_xchg *x,
		     const struct sl_http_head *h, uint32_t fields_from)
{
	struct sl_h1_proxy *hp = cl->hp;
	unsigned int verdict = sl_http_request_verdict(h), st;
	enum sl_up_refusal why;

	sl_timer_cancel(&hp->tcp->wheel, &cl->timer);
	if (verdict != 0 || (h->flags & SL_HTTP_F_EXPECT_OTHER)) {
		h1_client_error(cl, verdict ? verdict : 417);
		return;
	}
	/* A reverse proxy opens no tunnels: the response parser would read a
	 * 2xx to CONNECT as a close-delimited body (RFC 9110 9.3.6). */
	if (h->method == SL_HTTP_M_CONNECT) {
		h1_client_error(cl, 501);
		return;
	}
	if (!(h->flags & SL_HTTP_F_KEEP_ALIVE))
		x->flags |= XF_CLOSE_AFTER;
	if (h->body == SL_HTTP_BODY_NONE ||
	    (h->body == SL_HTTP_BODY_LENGTH && h->content_length == 0))
		x->flags |= XF_NO_BODY;
	if (sl_http_method_idempotent(h->method))
		x->flags |= XF_IDEMPOTENT;
	if (h->version_minor == 0)
		x->flags |= XF_CLIENT_10;
	st = h1_head_request_end(cl, x, h, fields_from);
	if (st != 0) {
		h1_client_error(cl, st);
		return;
	}
	request_route(hp, cl, x);
	if (x->pool < 0) {
		h1_client_error(cl, 404);
		return;
	}
	st = h1_lb_admit(hp, x);
	if (st != 0) {
		h1_client_error(cl, st);
		return;
	}
	if (h1_lb_choose(hp, x, -1, &why) < 0) {
		h1_refuse(cl, why);
		return;
	}
	x->up = h1_upstream_get(hp, x);
	if (x->up == NULL) {
		h1_client_error(cl, 503);
		return;
	}
	sl_http_parser_init_response(&x->resp, &hp->limits,
				     h->method == SL_HTTP_M_HEAD);
	x->state = X_REQ_BODY;
	h1_upstream_send_head(hp, x);
}

/* Feed one parser event of the request. Returns false to stop reading. */
static bool
request_event(struct sl_h1_client *cl, struct sl_h1_xchg *x,
	      struct sl_http_event *ev, uint32_t *fields_from)
{
	struct sl_h1_proxy *hp = cl->hp;
	struct sl_session *dst;
	uint32_t before;
	unsigned int st;

	switch (ev->type) {
	case SL_HTTP_EV_REQUEST_LINE:
		hp->stats.requests++;
		x->method = (uint8_t)ev->req.method;
		if (!h1_head_request_line(x, &ev->req)) {
			h1_client_error(cl, 400);
			return false;
		}
		*fields_from = x->head_len;
		return true;
	case SL_HTTP_EV_HEADER:
		st = h1_head_request_field(cl, x, &ev->field);
		if (st != 0) {
			h1_client_error(cl, st);
			return false;
		}
		return true;
	case SL_HTTP_EV_HEADERS_DONE:
		request_headers_done(cl, x, &ev->head, *fields_from);
		return cl->x == x;
	case SL_HTTP_EV_BODY:
		x->bytes_in += ev->body.len;
		dst = x->up != NULL && sl_session_established(x->up) ? x->up : NULL;
		before = x->to_up.n;
		h1_send_body(hp, dst, &x->to_up, x->flags & XF_REQ_CHUNKED, ev->body);
		h1_to_up_held(x, before);
		return true;
	case SL_HTTP_EV_MESSAGE_DONE:
		if (x->flags & XF_REQ_CHUNKED) {
			struct sl_http_slice end = { "0\r\n\r\n", 5 };

			if (x->up != NULL && sl_session_established(x->up)) {
				h1_send_bytes(hp, x->up, end.ptr, end.len);
			} else {
				before = x->to_up.n;
				h1_to_mq(hp, &x->to_up, end.ptr, end.len);
				h1_to_up_held(x, before);
			}
		}
		x->state = X_WAIT_RESP;
		sl_timer_arm(&hp->tcp->wheel, &x->timer,
			     h1_ms_ticks(hp->conf->http.response_timeout_ms));
		return false;   /* pipelined requests wait for this response */
	case SL_HTTP_EV_ERROR:
		h1_client_error(cl, ev->error.status ? ev->error.status : 400);
		return false;
	default:
		return true;
	}
}

/* ---- the request head before the exchange ------------------------------ */

/* Scan what arrived of cl's head since the last scan: pending, then TCP's queue. */
static enum sl_http_scan
client_scan(struct sl_h1_client *cl)
{
	const struct sl_http_limits *lim = &cl->hp->limits;
	uint32_t skip = cl->scan.bytes;
	struct rte_mbuf *m = cl->pending.head;
	uint32_t off = cl->pending_off;
	bool in_pending = true;

	for (;;) {
		enum sl_http_scan v;
		uint32_t len;

		if (m == NULL) {
			if (!in_pending)
				return SL_HTTP_SCAN_MORE;
			in_pending = false;
			m = sl_session_peek(cl->conn);
			off = 0;
			continue;
		}
		len = rte_pktmbuf_data_len(m) - off;
		if (skip >= len) {
			skip -= len;
		} else {
			v = sl_http_head_scan(&cl->scan, rte_pktmbuf_mtod_offset(m,
					const char *, off + skip), len - skip, lim);
			skip = 0;
			if (v != SL_HTTP_SCAN_MORE)
				return v;
		}
		m = sl_mq_meta(m)->qnext;
		off = 0;
	}
}

/*
 * Is a whole request head in hand? Until it is, nothing is committed to
 * it: no exchange, no parser, no backend. Answers what the scan already
 * decides (400 at the first byte no request can start with, 414, 431).
 */
static bool
client_head_ready(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;
	struct sl_session *c = cl->conn;
	enum sl_http_scan v;

	if (cl->pending.n == 0 && sl_session_rx_mbufs(c) == 0) {
		if (sl_session_eof(c)) {
			/* The client finished sending: a partial head is dropped. */
			h1_slow_leave(cl);
			cl->flags |= CL_CLOSING;
			sl_session_shutdown(c);
		}
		return false;
	}
	if (cl->flags & CL_IDLE) {
		/* The next request's first bytes: its head timeout starts
		 * (re-arming cancels the keep-alive idle timer). */
		cl->flags &= (uint8_t)~CL_IDLE;
		sl_timer_arm(&hp->tcp->wheel, &cl->timer,
			     h1_ms_ticks(hp->conf->http.header_timeout_ms));
	}
	v = client_scan(cl);
	switch (v) {
	case SL_HTTP_SCAN_COMPLETE:
		h1_slow_leave(cl);
		sl_http_head_scan_init(&cl->scan);
		return true;
	case SL_HTTP_SCAN_MORE:
		/* The client's FIN is in: this head can never end. (sl_session_eof
		 * waits for the queue to drain, and nothing reads it.) */
		if (sl_session_peer_finished(c)) {
			h1_slow_leave(cl);
			cl->flags |= CL_CLOSING;
			h1_client_discard_input(cl);
			sl_session_shutdown(c);
			return false;
		}
		h1_slow_track(cl);
		return false;
	case SL_HTTP_SCAN_INVALID:
		h1_client_error(cl, 400);
		return false;
	case SL_HTTP_SCAN_LINE_TOO_LONG:
		h1_client_error(cl, 414);
		return false;
	default:
		h1_client_error(cl, 431);
		return false;
	}
}

/* ---- driving a client --------------------------------------------------- */

/*
 * Nothing taken to parse: events may still be due with no new byte
 * (MESSAGE_DONE), or the client stopped inside its request body. true:
 * drive on.
 */
static bool
client_input_dry(struct sl_h1_client *cl, struct sl_h1_xchg *x,
		 uint32_t *fields_from)
{
	struct sl_h1_proxy *hp = cl->hp;
	struct sl_http_event ev;

	if (x->state <= X_REQ_BODY &&
	    sl_http_parse(&x->req, NULL, 0, &ev) == 0 &&
	    ev.type != SL_HTTP_EV_NEED_MORE)
		return request_event(cl, x, &ev, fields_from);
	if (sl_session_eof(cl->conn) && x->state <= X_REQ_BODY) {
		/* The client stopped inside its request body. */
		h1_xchg_free(hp, x, SL_ALOG_TERM_CLIENT_CLOSED, false);
		cl->flags |= CL_CLOSING;
		sl_session_shutdown(cl->conn);
	}
	return false;
}

/*
 * Backpressure: the backend's send queue is full, or the request waits
 * for the connection to open (then up_established drives us again).
 */
static bool
client_backpressured(const struct sl_h1_xchg *x)
{
	if (x->up != NULL && (sl_session_established(x->up) ?
			      sl_session_room(x->up) == 0 :
			      x->to_up.bytes >= sl_session_send_buffer(x->up))) {
		sl_session_want_writable(x->up);
		return true;
	}
	return false;
}

/* Parse the next bytes of cl->pending. Returns false to stop reading. */
static bool
client_parse(struct sl_h1_client *cl, struct sl_h1_xchg *x, uint32_t *fields_from)
{
	struct rte_mbuf *m = cl->pending.head, *done_m = NULL;
	size_t avail = rte_pktmbuf_data_len(m) - cl->pending_off, n;
	struct sl_http_event ev;
	bool go_on;

	n = sl_http_parse(&x->req, rte_pktmbuf_mtod_offset(m, const char *,
					cl->pending_off), avail, &ev);
	cl->pending_off += (uint32_t)n;
	if (cl->pending_off == rte_pktmbuf_data_len(m)) {
		/* Freed only after the event: its slices point into m. */
		done_m = sl_mq_pop(&cl->pending);
		cl->pending_off = 0;
		sl_session_hold(cl->conn, -1);
	}
	go_on = ev.type == SL_HTTP_EV_NEED_MORE ||
		request_event(cl, x, &ev, fields_from);
	rte_pktmbuf_free(done_m);
	return go_on;
}

void
h1_client_drive(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;
	uint32_t fields_from = 0;

	while (cl->conn != NULL && !(cl->flags & CL_CLOSING)) {
		struct sl_h1_xchg *x = cl->x;

		if (x == NULL) {
			if (!client_head_ready(cl))
				break;
			x = cl->x = xchg_new(cl);
			if (x == NULL) {
				hp->stats.no_exchange++;
				h1_client_error(cl, 503);
				return;
			}
			/* Known from the bytes before the parser has the line:
			 * a line it refuses ("HEAD x HTTP/1.1") still gets its
			 * 400 without a body. The request line sets it again. */
			if (h1_client_input_is_head(cl))
				x->method = SL_HTTP_M_HEAD;
		}
		if (x->state >= X_WAIT_RESP)
			return;
		if (cl->pending.n == 0) {
			struct sl_mq q;

			sl_session_recv(cl->conn, UINT32_MAX, &q);
			/* Taken, not consumed: still the connection's buffers. */
			sl_session_hold(cl->conn, (int32_t)q.n);
			sl_mq_splice(&cl->pending, &q);
			sl_session_flush(cl->conn);
		}
		if (cl->pending.n == 0) {
			if (!client_input_dry(cl, x, &fields_from))
				return;
			continue;
		}
		if (client_backpressured(x) || !client_parse(cl, x, &fields_from))
			return;
	}
	/* Closing: what the client still sends is never read. */
	if (cl->conn != NULL && (cl->flags & CL_CLOSING) && cl->x == NULL)
		h1_client_discard_input(cl);
}

/* ---- session callbacks ------------------------------------------------ */

static void
client_readable(struct sl_session *c __rte_unused, void *app)
{
	h1_client_drive(app);
}

static void
client_writable(struct sl_session *c __rte_unused, void *app)
{
	struct sl_h1_client *cl = app;

	if (cl->x != NULL && cl->x->state == X_RESP)
		h1_upstream_drive(cl->x);
}

static void
client_closed(struct sl_session *c __rte_unused, void *app,
	      enum sl_session_close why)
{
	struct sl_h1_client *cl = app;
	struct sl_h1_proxy *hp = cl->hp;

	cl->conn = NULL;
	if (cl->x != NULL) {
		if (cl->x->flags & XF_RESP_STARTED)
			hp->stats.aborted_midway++;
		h1_xchg_free(hp, cl->x, why == SL_SESSION_CLOSE_NORMAL ?
			     SL_ALOG_TERM_CLIENT_CLOSED : SL_ALOG_TERM_CLIENT_RESET, false);
	}
	h1_client_free(cl);
}

static const struct sl_session_ops client_ops = {
	.readable = client_readable,
	.writable = client_writable,
	.closed = client_closed,
};

int
h1_accept(struct sl_session *c, void *arg)
{
	struct sl_h1_listener *hl = arg;
	struct sl_h1_proxy *hp = hl->hp;
	uint16_t listener = hl->listener;
	struct sl_h1_client *cl;

	if (hp->free_clients == UINT32_MAX)
		return -1;
	/* Shed early and cheaply: a refused SYN costs less than a 503. */
	if (h1_lb_shedding(hp)) {
		hp->stats.shed++;
		return -1;
	}
	cl = &hp->clients[hp->free_clients];
	hp->free_clients = cl->free_next;
	cl->hp = hp;
	cl->conn = c;
	cl->x = NULL;
	sl_mq_init(&cl->pending);
	cl->pending_off = 0;
	cl->client_ip = sl_session_remote_addr(c);
	cl->client_port = sl_session_remote_port(c);
	cl->listener = listener;
	cl->flags = 0;
	cl->slow_mbufs = 0;
	cl->slow_prev = cl->slow_next = SLOW_NONE;
	sl_http_head_scan_init(&cl->scan);
	sl_timer_init(&cl->timer, client_timer_fire);
	/* Draining (a handshake that began before): the request must come
	 * soon, as on a keep-alive connection. */
	sl_timer_arm(&hp->tcp->wheel, &cl->timer,
		     h1_ms_ticks(unlikely(hp->draining) ?
				 RTE_MIN(hp->conf->http.header_timeout_ms,
					 (uint32_t)SL_H1_DRAIN_IDLE_MS) :
				 hp->conf->http.header_timeout_ms));
	sl_session_bind(c, &client_ops, cl);
	hp->stats.client_conns++;
	hp->stats.clients++;
	return 0;
}
