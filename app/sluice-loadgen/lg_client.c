/*
 * The client population: preallocated connection slots that issue HTTP
 * requests on a closed loop (each slot sends its next request when the
 * last is answered) or an open loop (a fixed schedule; a request's latency
 * counts from its intended send time, so a slow answer cannot hide the
 * requests it delayed: no coordinated omission).
 */
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "sl_hist.h"
#include "sl_http.h"
#include "sl_lcore.h"
#include "sl_session.h"
#include "sl_timer.h"
#include "lg.h"

static const char *const error_names[] = {
#define X(sym, name, desc) name,
	LG_ERRORS(X)
#undef X
};

const char *
lg_error_name(unsigned int e)
{
	return e < LG_E_MAX ? error_names[e] : "?";
}

static const struct sl_session_ops client_ops;

static inline struct sl_tcp_stack *
stack(const struct lg_client *cl)
{
	return sl_tcp_of(cl->lc);
}

static inline void
ready_push(struct lg_client *cl, struct lg_cconn *cc)
{
	if (cc->in_ready)
		return;
	cc->in_ready = true;
	cl->ready[cl->n_ready++] = cc->idx;
}

/* A slot that can take a request now: READY, or FREE (it connects first). */
static struct lg_cconn *
ready_pop(struct lg_client *cl)
{
	while (cl->n_ready > 0) {
		struct lg_cconn *cc = &cl->conns[cl->ready[--cl->n_ready]];

		cc->in_ready = false;
		if (cc->state == LG_C_READY || cc->state == LG_C_FREE)
			return cc;
		/* Closing or reconnecting: it comes back when done. */
	}
	return NULL;
}

/* The request on this slot is over, one way or another. */
static void
req_end(struct lg_client *cl, struct lg_cconn *cc)
{
	if (!cc->has_req)
		return;
	cc->has_req = false;
	cl->inflight--;
	sl_timer_cancel(&stack(cl)->wheel, &cc->timer);
}

static void
req_fail(struct lg_client *cl, struct lg_cconn *cc, enum lg_error e)
{
	if (!cc->has_req)
		return;
	cl->st.errors[e]++;
	req_end(cl, cc);
}

/* Forget the session (already freed or being freed by the stack). */
static void
slot_free(struct lg_client *cl, struct lg_cconn *cc)
{
	cc->ss = NULL;
	cc->state = LG_C_FREE;
	if (cl->issuing)
		ready_push(cl, cc);
}

static void
slot_abort(struct lg_client *cl, struct lg_cconn *cc)
{
	if (cc->ss != NULL && !cc->gone)
		sl_session_abort(cc->ss);   /* no callback */
	slot_free(cl, cc);
}

/* Our FIN; the slot comes back through closed(). */
static void
slot_shutdown(struct lg_cconn *cc)
{
	cc->state = LG_C_CLOSING;
	if (!cc->gone)
		sl_session_shutdown(cc->ss);
}

/* Queue as much of the request as the send buffer takes; the rest goes
 * from writable(). -1 when the pool ran dry or the session cannot send. */
static int
send_more(struct lg_client *cl, struct lg_cconn *cc)
{
	struct sl_session *ss = cc->ss;
	uint32_t n = RTE_MIN(cl->req_len - cc->tx_off, sl_session_room(ss));

	if (n > 0) {
		if (unlikely(sl_session_write(ss, cl->lc->pool, cl->req + cc->tx_off,
					      n) != n))
			return -1;
		cc->tx_off += n;
	}
	if (cc->tx_off < cl->req_len)
		sl_session_want_writable(ss);
	sl_session_flush(ss);
	return 0;
}

static void
send_request(struct lg_client *cl, struct lg_cconn *cc)
{
	cc->state = LG_C_BUSY;
	cc->tx_off = 0;
	cc->status = 0;
	cc->keep_alive = false;
	sl_http_parser_init_response(&cc->parser, &cl->lim, false);
	if (unlikely(send_more(cl, cc) != 0)) {
		req_fail(cl, cc, LG_E_NO_MBUF);
		slot_abort(cl, cc);
	}
}

static bool
start_connect(struct lg_client *cl, struct lg_cconn *cc)
{
	const struct lg_opts *o = cl->o;

	cc->ss = sl_session_connect(stack(cl), o->target_addr, o->target_port,
				    o->connect_timeout_ms, &client_ops, cc);
	if (cc->ss == NULL)
		return false;
	/* As a browser's stack does in effect: the ACK of a complete
	 * response rides on the next request (c_readable acks the rest). */
	sl_session_app_ack(cc->ss);
	cl->st.connects++;
	cc->state = LG_C_CONNECTING;
	cc->conn_start_tsc = rte_rdtsc();
	cc->nreq = 0;
	return true;
}

static void
timer_fire(struct sl_timer *t, void *ctx)
{
	struct lg_cconn *cc = container_of(t, struct lg_cconn, timer);
	struct lg_client *cl = cc->cl;

	(void)ctx;
	req_fail(cl, cc, LG_E_TIMEOUT);
	slot_abort(cl, cc);
}

/* Issue one request on a slot popped from the ready stack. */
static void
issue(struct lg_client *cl, struct lg_cconn *cc, uint64_t intended, uint64_t now)
{
	uint64_t age_ms = (now - intended) * 1000 / cl->tsc_hz;

	cl->st.issued++;
	if (age_ms >= cl->o->timeout_ms) {
		/* Overdue past its timeout before a slot was free: it failed. */
		cl->st.errors[LG_E_TIMEOUT]++;
		ready_push(cl, cc);
		return;
	}
	cc->has_req = true;
	cl->inflight++;
	cc->intended_tsc = intended;
	sl_timer_arm(&stack(cl)->wheel, &cc->timer, cl->o->timeout_ms - age_ms);
	if (cc->state == LG_C_READY) {
		send_request(cl, cc);
		return;
	}
	if (!start_connect(cl, cc)) {
		req_fail(cl, cc, LG_E_CONNECT_FAILED);
		ready_push(cl, cc);
	}
}

static void
response_done(struct lg_client *cl, struct lg_cconn *cc, uint64_t body_bytes)
{
	uint64_t now = rte_rdtsc();
	bool ok = true;

	cl->st.responses++;
	cl->st.status[cc->status / 100 < 6 ? cc->status / 100 : 0]++;
	sl_hist_record(&cl->lat, (uint64_t)((double)(now - cc->intended_tsc) *
					    cl->ns_per_tsc));
	if (cc->status < 200 || cc->status > 299) {
		cl->st.errors[LG_E_STATUS]++;
		ok = false;
	} else if (cl->o->expect_body >= 0 &&
		   body_bytes != (uint64_t)cl->o->expect_body) {
		cl->st.errors[LG_E_BODY_SIZE]++;
		ok = false;
	}
	if (ok)
		cl->st.completed++;
	cl->last_done_tsc = now;
	cc->nreq++;
	req_end(cl, cc);
	if (cl->o->new_conn || !cc->keep_alive || !cl->issuing || cc->gone) {
		slot_shutdown(cc);
		return;
	}
	cc->state = LG_C_READY;
	ready_push(cl, cc);
}

/*
 * Feed response bytes to the parser. Returns false when the slot's
 * connection was aborted (cc->ss is gone).
 */
static bool
parse_bytes(struct lg_client *cl, struct lg_cconn *cc, const char *p, size_t len)
{
	size_t off = 0;

	while (cc->state == LG_C_BUSY) {
		struct sl_http_event ev;

		off += sl_http_parse(&cc->parser, p + off, len - off, &ev);
		switch (ev.type) {
		case SL_HTTP_EV_NEED_MORE:
			return true;
		case SL_HTTP_EV_STATUS_LINE:
			cc->status = ev.resp.status;
			break;
		case SL_HTTP_EV_HEADERS_DONE:
			cc->keep_alive = (ev.head.flags & SL_HTTP_F_KEEP_ALIVE) != 0;
			break;
		case SL_HTTP_EV_MESSAGE_DONE:
			if (cc->status >= 100 && cc->status < 200)
				break;   /* interim: the final response follows */
			response_done(cl, cc, ev.done.body_bytes);
			return true;
		case SL_HTTP_EV_ERROR:
		case SL_HTTP_EV_EOF:
			req_fail(cl, cc, LG_E_PARSE);
			slot_abort(cl, cc);
			return false;
		default:
			break;
		}
	}
	return true;
}

/* Take everything queued; returns false when the connection was aborted. */
static bool
drain_rx(struct lg_client *cl, struct lg_cconn *cc)
{
	struct sl_mq q;
	struct rte_mbuf *m;
	bool alive = true;

	sl_session_recv(cc->ss, UINT32_MAX, &q);
	while ((m = sl_mq_pop(&q)) != NULL) {
		cl->st.bytes_in += rte_pktmbuf_data_len(m);
		if (alive && cc->state == LG_C_BUSY)
			alive = parse_bytes(cl, cc, rte_pktmbuf_mtod(m, const char *),
					    rte_pktmbuf_data_len(m));
		rte_pktmbuf_free(m);
	}
	return alive;
}

static void
c_established(struct sl_session *ss, void *app)
{
	struct lg_cconn *cc = app;
	struct lg_client *cl = cc->cl;

	(void)ss;
	cl->st.conns_opened++;
	sl_hist_record(&cl->conn_lat, (uint64_t)((double)(rte_rdtsc() -
				cc->conn_start_tsc) * cl->ns_per_tsc));
	if (cc->has_req) {
		send_request(cl, cc);
		return;
	}
	cc->state = LG_C_READY;
	ready_push(cl, cc);
}

static void
c_readable(struct sl_session *ss, void *app)
{
	struct lg_cconn *cc = app;
	struct lg_client *cl = cc->cl;

	if (!drain_rx(cl, cc))
		return;
	if (cc->ss == NULL)
		return;
	if (cc->state == LG_C_BUSY)
		sl_session_ack_now(ss);   /* more of the response to come */
	sl_session_flush(ss);
	if (sl_session_eof(ss) && cc->state != LG_C_CLOSING) {
		if (cc->state == LG_C_BUSY) {
			struct sl_http_event ev;

			sl_http_parse_eof(&cc->parser, &ev);
			if (ev.type == SL_HTTP_EV_MESSAGE_DONE && cc->status >= 200)
				response_done(cl, cc, ev.done.body_bytes);
			else
				req_fail(cl, cc, LG_E_CLOSED);
		}
		if (cc->state != LG_C_CLOSING)
			slot_shutdown(cc);
	}
}

static void
c_writable(struct sl_session *ss, void *app)
{
	struct lg_cconn *cc = app;
	struct lg_client *cl = cc->cl;

	(void)ss;
	if (cc->state == LG_C_BUSY && cc->tx_off < cl->req_len &&
	    send_more(cl, cc) != 0) {
		req_fail(cl, cc, LG_E_NO_MBUF);
		slot_abort(cl, cc);
	}
}

static void
c_closed(struct sl_session *ss, void *app, enum sl_session_close why)
{
	struct lg_cconn *cc = app;
	struct lg_client *cl = cc->cl;

	/* From here on only the stack may free ss: no abort, no shutdown. */
	cc->gone = true;
	/* The last bytes may arrive with the FIN that closes it. */
	if (cc->state == LG_C_BUSY && sl_session_rx_mbufs(ss) > 0)
		drain_rx(cl, cc);
	if (cc->state == LG_C_BUSY && why == SL_SESSION_CLOSE_NORMAL) {
		struct sl_http_event ev;

		sl_http_parse_eof(&cc->parser, &ev);
		if (ev.type == SL_HTTP_EV_MESSAGE_DONE && cc->status >= 200)
			response_done(cl, cc, ev.done.body_bytes);
	}
	if (cc->has_req) {
		enum lg_error e;

		switch (why) {
		case SL_SESSION_CLOSE_REFUSED:
			e = LG_E_CONNECT_REFUSED;
			break;
		case SL_SESSION_CLOSE_TIMEOUT:
			e = cc->state == LG_C_CONNECTING ? LG_E_CONNECT_TIMEOUT : LG_E_TIMEOUT;
			break;
		case SL_SESSION_CLOSE_RESET:
			e = LG_E_RESET;
			break;
		default:
			e = LG_E_CLOSED;
			break;
		}
		req_fail(cl, cc, e);
	} else if (cc->state == LG_C_CONNECTING) {
		/* A pre-connect that failed. */
		cl->st.errors[why == SL_SESSION_CLOSE_REFUSED ? LG_E_CONNECT_REFUSED :
			      LG_E_CONNECT_TIMEOUT]++;
	}
	cc->gone = false;
	slot_free(cl, cc);
}

static const struct sl_session_ops client_ops = {
	.established = c_established,
	.readable = c_readable,
	.writable = c_writable,
	.closed = c_closed,
};

/* ---- control ----------------------------------------------------------- */

/* The request bytes: head, then a body of 'a's. Built once. */
static char *
build_request(const struct lg_opts *o, uint32_t *len)
{
	char head[1024];
	int n;
	char *buf;

	if (o->req_body > 0)
		n = snprintf(head, sizeof(head),
			     "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice-loadgen\r\n"
			     "Content-Type: application/octet-stream\r\n"
			     "Content-Length: %u\r\n%s\r\n", o->path, o->host,
			     o->req_body, o->new_conn ? "Connection: close\r\n" : "");
	else
		n = snprintf(head, sizeof(head),
			     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice-loadgen\r\n%s\r\n",
			     o->path, o->host, o->new_conn ? "Connection: close\r\n" : "");
	buf = malloc((size_t)n + o->req_body);
	if (buf == NULL)
		return NULL;
	memcpy(buf, head, (size_t)n);
	memset(buf + n, 'a', o->req_body);
	*len = (uint32_t)n + o->req_body;
	return buf;
}

int
lg_client_init(struct lg_client *cl, struct sl_lcore *lc, const struct lg_opts *o)
{
	static const struct sl_http_limits lim = SL_HTTP_LIMITS_DEFAULT;

	memset(cl, 0, sizeof(*cl));
	cl->lc = lc;
	cl->o = o;
	cl->n = o->conns;
	cl->tsc_hz = rte_get_tsc_hz();
	cl->ns_per_tsc = 1e9 / (double)cl->tsc_hz;
	cl->lim = lim;
	cl->lim.max_body = 0;   /* no limit: the size is checked on our side */
	cl->conns = calloc(cl->n, sizeof(*cl->conns));
	cl->ready = calloc(cl->n, sizeof(*cl->ready));
	cl->req = build_request(o, &cl->req_len);
	if (cl->conns == NULL || cl->ready == NULL || cl->req == NULL) {
		lg_client_free(cl);
		return -1;
	}
	for (uint32_t i = 0; i < cl->n; i++) {
		struct lg_cconn *cc = &cl->conns[i];

		cc->cl = cl;
		cc->idx = i;
		cc->state = LG_C_FREE;
		sl_timer_init(&cc->timer, timer_fire);
	}
	return 0;
}

void
lg_client_free(struct lg_client *cl)
{
	free(cl->conns);
	free(cl->ready);
	free((void *)cl->req);
	cl->conns = NULL;
	cl->ready = NULL;
	cl->req = NULL;
}

void
lg_client_preconnect(struct lg_client *cl)
{
	for (uint32_t i = 0; i < cl->n; i++)
		if (cl->conns[i].state == LG_C_FREE && !start_connect(cl, &cl->conns[i]))
			cl->st.errors[LG_E_CONNECT_FAILED]++;
}

uint32_t
lg_client_established(const struct lg_client *cl)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < cl->n; i++)
		n += cl->conns[i].state == LG_C_READY;
	return n;
}

uint32_t
lg_client_open(const struct lg_client *cl)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < cl->n; i++)
		n += cl->conns[i].ss != NULL;
	return n;
}

void
lg_client_begin(struct lg_client *cl, uint64_t now)
{
	const struct lg_opts *o = cl->o;

	cl->start_tsc = now;
	cl->end_tsc = now + (uint64_t)(o->duration_s * (double)cl->tsc_hz);
	cl->last_done_tsc = now;
	cl->period_tsc = o->rate > 0 ? (double)cl->tsc_hz / o->rate : 0;
	cl->next_k = 0;
	cl->issuing = true;
	/* Every slot that can take a request, pre-connected or not. */
	cl->n_ready = 0;
	for (uint32_t i = cl->n; i-- > 0; ) {
		struct lg_cconn *cc = &cl->conns[i];

		cc->in_ready = false;
		if (cc->state == LG_C_READY || cc->state == LG_C_FREE)
			ready_push(cl, cc);
	}
}

void
lg_client_poll(struct lg_client *cl, uint64_t now)
{
	const struct lg_opts *o = cl->o;
	struct lg_cconn *cc;

	if (!cl->issuing)
		return;
	if (now >= cl->end_tsc || (o->requests && cl->st.issued >= o->requests)) {
		cl->issuing = false;
		return;
	}
	if (cl->period_tsc == 0) {
		/* Closed loop: every free slot sends at once (a slot whose
		 * connect failed is back on the stack: once per poll). */
		uint32_t budget = cl->n_ready;

		while (budget-- > 0 && (!o->requests || cl->st.issued < o->requests) &&
		       (cc = ready_pop(cl)) != NULL)
			issue(cl, cc, now, now);
		return;
	}
	/* Open loop: request k is due at start + k * period. */
	for (;;) {
		uint64_t due = cl->start_tsc + (uint64_t)((double)cl->next_k * cl->period_tsc);

		if (due > now || (o->requests && cl->st.issued >= o->requests))
			break;
		cc = ready_pop(cl);
		if (cc == NULL) {
			uint64_t overdue = (uint64_t)((double)(now - cl->start_tsc) /
						      cl->period_tsc) + 1 - cl->next_k;

			if (overdue > cl->st.backlog_max)
				cl->st.backlog_max = overdue;
			break;
		}
		cl->next_k++;
		issue(cl, cc, due, now);
	}
}

bool
lg_client_drained(const struct lg_client *cl)
{
	return cl->inflight == 0;
}

void
lg_client_fail_inflight(struct lg_client *cl)
{
	for (uint32_t i = 0; i < cl->n; i++) {
		struct lg_cconn *cc = &cl->conns[i];

		if (cc->has_req) {
			req_fail(cl, cc, LG_E_UNFINISHED);
			slot_abort(cl, cc);
		}
	}
}

void
lg_client_close_all(struct lg_client *cl, bool abort)
{
	cl->issuing = false;
	for (uint32_t i = 0; i < cl->n; i++) {
		struct lg_cconn *cc = &cl->conns[i];

		if (cc->ss == NULL)
			continue;
		if (abort || cc->state == LG_C_CONNECTING) {
			req_end(cl, cc);
			slot_abort(cl, cc);
		} else if (cc->state != LG_C_CLOSING) {
			slot_shutdown(cc);
		}
	}
}
