/* The HTTP/1.1 reverse proxy: see sl_proxy_http.h for the model. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "sl_alog.h"
#include "sl_conf.h"
#include "sl_core.h"
#include "sl_http.h"
#include "sl_lcore_types.h"
#include "sl_proxy_http.h"
#include "sl_route.h"
#include "sl_tcp.h"
#include "sl_timer.h"
#include "sl_upstream.h"
#include "proxy_fmt.h"
#include "proxy_http_private.h"

const char *const sl_h1_stat_names[] = {
#define SL_H1_STAT_NAME(name, desc) #name,
	SL_H1_STATS(SL_H1_STAT_NAME)
#undef SL_H1_STAT_NAME
};
const unsigned int sl_h1_n_stats = RTE_DIM(sl_h1_stat_names);

static const struct sl_tcp_app_ops client_ops;
static const struct sl_tcp_app_ops up_ops;
static const struct sl_tcp_app_ops idle_ops;
static struct sl_h1_proxy *idle_owner[RTE_MAX_LCORE];

static void client_drive(struct sl_h1_client *cl);
static void xchg_timer_fire(struct sl_timer *t, void *ctx);
static void upstream_drive(struct sl_h1_xchg *x);
static bool xchg_retry(struct sl_h1_xchg *x, enum sl_up_kind kind);

static inline uint64_t
ms_ticks(uint64_t ms)
{
	return ms;   /* the TCP wheel ticks every millisecond */
}

/* ---- small output helpers ------------------------------------------- */

/* Copy bytes into fresh mbufs queued on `q`. -1 when the pool is empty. */
static int
to_mq(struct sl_h1_proxy *hp, struct sl_mq *q, const char *data, size_t len)
{
	while (len > 0) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(hp->tcp->lc->pool);
		uint16_t room, n;

		if (m == NULL)
			return -1;
		room = rte_pktmbuf_tailroom(m);
		n = (uint16_t)RTE_MIN((size_t)room, len);
		memcpy(rte_pktmbuf_append(m, n), data, n);
		sl_mq_push(q, m);
		data += n;
		len -= n;
	}
	return 0;
}

static void
queue_mq(struct sl_h1_proxy *hp, struct sl_tcp_conn *c, struct sl_mq *q)
{
	struct rte_mbuf *m;

	while ((m = sl_mq_pop(q)) != NULL)
		sl_tcp_send(hp->tcp, c, m);
}

static void
send_mq(struct sl_h1_proxy *hp, struct sl_tcp_conn *c, struct sl_mq *q)
{
	queue_mq(hp, c, q);
	sl_tcp_output(hp->tcp, c);
}

/* Onto c's send queue; out with the next sl_tcp_output (coalesced). */
static void
queue_bytes(struct sl_h1_proxy *hp, struct sl_tcp_conn *c, const char *data,
	    size_t len)
{
	struct sl_mq q;

	sl_mq_init(&q);
	if (to_mq(hp, &q, data, len) != 0) {
		sl_mq_free(&q);
		return;
	}
	queue_mq(hp, c, &q);
}

static void
send_bytes(struct sl_h1_proxy *hp, struct sl_tcp_conn *c, const char *data,
	   size_t len)
{
	queue_bytes(hp, c, data, len);
	sl_tcp_output(hp->tcp, c);
}

void
h1_send_bytes(struct sl_h1_proxy *hp, struct sl_tcp_conn *c, const char *data,
	      size_t len)
{
	send_bytes(hp, c, data, len);
}

/*
 * Append to the rewritten head. What the proxy adds can push a head that
 * was within the limits past the buffer: then the head is marked and never
 * sent (431 or 502), because a clipped head would let the bytes after it
 * (a chunked body, say) be read as a request of their own.
 */
static void
head_add(struct sl_h1_xchg *x, const char *data, size_t len)
{
	if (unlikely(x->head_len + len > sizeof(x->head))) {
		x->flags |= XF_HEAD_OVER;
		return;
	}
	memcpy(x->head + x->head_len, data, len);
	x->head_len += (uint32_t)len;
}

static void
head_str(struct sl_h1_xchg *x, const char *s)
{
	head_add(x, s, strlen(s));
}

static void
head_field(struct sl_h1_xchg *x, struct sl_http_slice raw)
{
	head_add(x, raw.ptr, raw.len);
	head_add(x, "\r\n", 2);
}

/* Send body bytes, in chunked framing when the message is chunked. */
static void
send_body(struct sl_h1_proxy *hp, struct sl_tcp_conn *c, struct sl_mq *pending,
	  bool chunked, struct sl_http_slice b)
{
	struct sl_mq q;
	char sz[24];

	sl_mq_init(&q);
	if (chunked) {
		char *e = sl_fmt_hex(sz, b.len, 1);

		e = SL_FMT_LIT(e, "\r\n");
		to_mq(hp, &q, sz, (size_t)(e - sz));
	}
	to_mq(hp, &q, b.ptr, b.len);
	if (chunked)
		to_mq(hp, &q, "\r\n", 2);
	if (c != NULL)
		send_mq(hp, c, &q);
	else
		sl_mq_splice(pending, &q);
}

/*
 * x->to_up waits for the backend connection to open: its mbufs are held
 * on that connection (billed to the client's address), so they count in
 * the caps as its send queue will. `before`: to_up.n before the change.
 */
static void
to_up_held(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, uint32_t before)
{
	if (x->up != NULL && x->to_up.n != before)
		sl_tcp_hold(hp->tcp, x->up, (int32_t)x->to_up.n - (int32_t)before);
}

/* ---- exchanges and clients ------------------------------------------ */

static const char *
reason(unsigned int status)
{
	switch (status) {
#define SL_H1_STATUS(st, phrase, counter) case st: return phrase;
#define SL_H1_STATUS_UNCOUNTED(st, phrase) case st: return phrase;
#include "sl_http_status.def"
#undef SL_H1_STATUS
#undef SL_H1_STATUS_UNCOUNTED
	default: return "Error";
	}
}

/* Count a response; err_* only for the ones the gateway itself made. */
static void
count_status(struct sl_h1_proxy *hp, unsigned int status, bool ours)
{
	hp->stats.responses++;
	if (status >= 500)
		hp->stats.status_5xx++;
	else if (status >= 400)
		hp->stats.status_4xx++;
	else if (status >= 300)
		hp->stats.status_3xx++;
	else if (status >= 200)
		hp->stats.status_2xx++;
	if (!ours)
		return;
	switch (status) {
#define SL_H1_STATUS(st, phrase, counter) case st: hp->stats.counter++; break;
#define SL_H1_STATUS_UNCOUNTED(st, phrase)
#include "sl_http_status.def"
#undef SL_H1_STATUS
#undef SL_H1_STATUS_UNCOUNTED
	default: break;
	}
}

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

	if (hp->tcp->lc->alog == NULL)
		return;
	if (x->pool >= 0 && x->backend != UINT16_MAX) {
		const struct sl_conf_backend *b =
			&hp->conf->pools[x->pool].backends[x->backend];

		r.backend_ip = b->addr;
		r.backend_port = b->port;
	}
	memcpy(r.path, x->path, sizeof(r.path));
	sl_alog_submit(hp->tcp->lc->alog, &r);
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

/* Hand a backend connection back to the pool, or close it. */
static void
upstream_release(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, bool reusable)
{
	struct sl_tcp_conn *up = x->up;
	uint32_t g;
	struct sl_h1_idle *idle;

	x->up = NULL;
	if (up == NULL)
		return;
	g = hp->pool_base[x->pool] + x->backend;
	idle = &hp->idle[g];
	/* A draining or removed backend gets no new requests: do not pool. */
	if (reusable && idle->n < hp->conf->http.upstream_pool_max &&
	    SL_UP_LOAD(hp->up->pools[x->pool].b[x->backend].admin) == SL_UP_ADMIN_ENABLED &&
	    sl_tcp_can_send(up) && up->rcvq.n == 0) {
		up->ops = &idle_ops;
		up->app = (void *)(uintptr_t)(g + 1);
		sl_tcp_bill_to(hp->tcp, up, NULL);
		idle->since_tsc[idle->n] = rte_rdtsc();
		idle->conns[idle->n++] = up;
		return;
	}
	up->ops = NULL;
	h1_lb_conn_g(hp, g, -1);
	/* Bytes after a complete response break the protocol, and nobody
	 * will read them: a FIN would leave them queued, and a backend that
	 * keeps sending holds the connection in FIN_WAIT_2 with a full
	 * window (its own FIN cannot get in) for good. Reset it. */
	if (reusable && up->rcvq.n == 0)
		sl_tcp_shutdown(hp->tcp, up);
	else
		sl_tcp_abort(hp->tcp, up);
}

static void
xchg_free(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, uint8_t term,
	  bool up_reusable)
{
	xchg_log(hp, x, term);
	sl_timer_cancel(&hp->tcp->wheel, &x->timer);
	h1_lb_finish(hp, x, SL_UP_ABANDONED);
	upstream_release(hp, x, up_reusable);
	sl_mq_free(&x->to_up);
	if (x->cl != NULL && x->cl->x == x)
		x->cl->x = NULL;
	x->free_next = hp->free_xchgs;
	hp->free_xchgs = (uint32_t)(x - hp->xchgs);
	hp->stats.inflight--;
}

static void
client_timer_fire(struct sl_timer *t, void *ctx);

/* ---- unfinished request heads ----------------------------------------- */

#define SLOW_NONE UINT32_MAX
#define SLOW_ADDR_PROBES 16

static inline uint32_t
cl_index(const struct sl_h1_client *cl)
{
	return (uint32_t)(cl - cl->hp->clients);
}

/* The slot counting ip's unfinished heads; claim a free one if `claim`. */
static struct sl_h1_addr_count *
slow_addr_slot(struct sl_h1_proxy *hp, uint32_t ip, bool claim)
{
	uint32_t h = rte_hash_crc_4byte(ip, hp->slow_addr_seed);
	struct sl_h1_addr_count *free_slot = NULL;

	for (uint32_t i = 0; i < SLOW_ADDR_PROBES; i++) {
		struct sl_h1_addr_count *a = &hp->slow_addrs[(h + i) & hp->slow_addr_mask];

		if (a->n > 0 && a->ip == ip)
			return a;
		if (a->n == 0 && free_slot == NULL)
			free_slot = a;
	}
	if (claim && free_slot != NULL)
		free_slot->ip = ip;
	return claim ? free_slot : NULL;
}

static void
slow_leave(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;

	if (!(cl->flags & CL_SLOW))
		return;
	if (cl->slow_prev != SLOW_NONE)
		hp->clients[cl->slow_prev].slow_next = cl->slow_next;
	else
		hp->slow_first = cl->slow_next;
	if (cl->slow_next != SLOW_NONE)
		hp->clients[cl->slow_next].slow_prev = cl->slow_prev;
	else
		hp->slow_last = cl->slow_prev;
	hp->n_slow--;
	hp->slow_mbufs -= cl->slow_mbufs;
	cl->slow_mbufs = 0;
	if (cl->flags & CL_ADDR) {
		struct sl_h1_addr_count *a = slow_addr_slot(hp, cl->client_ip, false);

		if (a != NULL)
			a->n--;
	}
	cl->flags &= (uint8_t)~(CL_SLOW | CL_ADDR);
}

/* Drop what the client sent and we will never read: it holds buffers. */
static void
client_discard_input(struct sl_h1_client *cl)
{
	struct sl_mq q;

	if (cl->conn != NULL && cl->pending.n > 0)
		sl_tcp_hold(cl->hp->tcp, cl->conn, -(int32_t)cl->pending.n);
	sl_mq_free(&cl->pending);
	cl->pending_off = 0;
	if (cl->conn != NULL && cl->conn->rcvq.n > 0) {
		sl_tcp_recv(cl->hp->tcp, cl->conn, UINT32_MAX, &q);
		sl_mq_free(&q);
	}
}

static void
client_free(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;

	sl_timer_cancel(&hp->tcp->wheel, &cl->timer);
	slow_leave(cl);
	sl_mq_free(&cl->pending);
	cl->conn = NULL;
	cl->free_next = hp->free_clients;
	hp->free_clients = (uint32_t)(cl - hp->clients);
	hp->stats.clients--;
}

/*
 * Does the unread input start with a HEAD request line (after the empty
 * lines a client may send first, CRLF pairs as the head scan takes them)?
 * An error given before an exchange exists (the scan's 400, 414, 431)
 * still owes a HEAD no body: the client would read the body as the start
 * of the next response. INPUT_MAYBE_HEAD: the input ends before it can
 * tell ("HEA" when the head timeout fires); the error then has neither a
 * body nor a length that promises one, which reads right for any method.
 */
enum client_input_head { INPUT_NOT_HEAD, INPUT_HEAD, INPUT_MAYBE_HEAD };

static enum client_input_head
client_input_head_kind(const struct sl_h1_client *cl)
{
	static const char method[] = "HEAD ";
	const struct rte_mbuf *m = cl->pending.head;
	uint32_t off = cl->pending_off;
	bool in_pending = true, lead = true, want_lf = false;
	unsigned int got = 0;

	for (;;) {
		const char *p;

		if (m == NULL) {
			if (!in_pending || cl->conn == NULL)
				return INPUT_MAYBE_HEAD;
			in_pending = false;
			m = cl->conn->rcvq.head;
			off = 0;
			continue;
		}
		p = rte_pktmbuf_mtod(m, const char *);
		for (uint32_t i = off; i < rte_pktmbuf_data_len(m); i++) {
			if (want_lf) {
				if (p[i] != '\n')
					return INPUT_NOT_HEAD;
				want_lf = false;
			} else if (lead && p[i] == '\r') {
				want_lf = true;
			} else {
				lead = false;
				if (p[i] != method[got])
					return INPUT_NOT_HEAD;
				if (++got == sizeof(method) - 1)
					return INPUT_HEAD;
			}
		}
		m = sl_mq_meta((struct rte_mbuf *)(uintptr_t)m)->qnext;
		off = 0;
	}
}

static bool
client_input_is_head(const struct sl_h1_client *cl)
{
	return client_input_head_kind(cl) == INPUT_HEAD;
}

/*
 * A small, complete error response; the connection closes after it.
 * `extra`: more header lines ("Name: value\r\n"), or NULL.
 */
static void
client_error_ex(struct sl_h1_client *cl, unsigned int status, const char *extra)
{
	struct sl_h1_proxy *hp = cl->hp;
	struct sl_h1_xchg *x = cl->x;
	enum client_input_head kind = x != NULL ?
		(x->method == SL_HTTP_M_HEAD ? INPUT_HEAD : INPUT_NOT_HEAD) :
		client_input_head_kind(cl);
	bool head = kind != INPUT_NOT_HEAD;
	size_t body_len = kind == INPUT_MAYBE_HEAD ? 0 : strlen(reason(status)) + 1;
	char buf[512], retry[40] = "";
	int n;

	count_status(hp, status, true);
	if ((status == 503 || status == 429) && hp->conf->overload.retry_after_s > 0)
		snprintf(retry, sizeof(retry), "Retry-After: %u\r\n",
			 hp->conf->overload.retry_after_s);
	/* A response to HEAD has no body (RFC 9110 9.3.2): the client would
	 * read it as the start of the next response. */
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n"
		     "%s%s\r\n%s%s", status, reason(status), body_len,
		     retry, extra ? extra : "",
		     head ? "" : reason(status), head ? "" : "\n");
	if (x != NULL) {
		x->status = (uint16_t)status;
		x->bytes_out += (uint64_t)n;
		xchg_free(hp, x, status == 408 ? SL_ALOG_TERM_CLIENT_CLOSED :
			  SL_ALOG_TERM_REJECTED, false);
	}
	cl->flags |= CL_CLOSING;
	slow_leave(cl);
	if (cl->conn != NULL) {
		client_discard_input(cl);
		send_bytes(hp, cl->conn, buf, (size_t)n);
		sl_tcp_shutdown(hp->tcp, cl->conn);
	}
}

static void
client_error(struct sl_h1_client *cl, unsigned int status)
{
	client_error_ex(cl, status, NULL);
}

static void
client_timer_fire(struct sl_timer *t, void *ctx)
{
	struct sl_h1_client *cl = container_of(t, struct sl_h1_client, timer);

	(void)ctx;
	if ((cl->x != NULL && cl->x->state == X_REQ_HEAD) ||
	    (cl->x == NULL && cl->conn != NULL && !(cl->flags & CL_CLOSING) &&
	     (cl->scan.bytes > 0 || cl->pending.n > 0 || cl->conn->rcvq.n > 0))) {
		client_error(cl, 408);   /* slowloris: the head never completed */
		return;
	}
	if (cl->x == NULL && cl->conn != NULL) {
		if (unlikely(cl->hp->draining))
			cl->hp->stats.drain_idle_closed++;
		cl->flags |= CL_CLOSING;   /* keep-alive idle */
		sl_tcp_shutdown(cl->hp->tcp, cl->conn);
	}
}

static void
xchg_timer_fire(struct sl_timer *t, void *ctx)
{
	struct sl_h1_xchg *x = container_of(t, struct sl_h1_xchg, timer);

	(void)ctx;
	if (x->flags & XF_RESP_STARTED)
		return;
	/* The backend said nothing in time: 504, and drop that connection. */
	if (x->up != NULL) {
		x->up->ops = NULL;
		sl_tcp_abort(x->cl->hp->tcp, x->up);
		h1_lb_conn_g(x->cl->hp, x->cl->hp->pool_base[x->pool] + x->backend, -1);
		x->up = NULL;
	}
	x->status = 504;
	h1_lb_finish(x->cl->hp, x, SL_UP_TIMEOUT);
	client_error(x->cl, 504);
}

/* ---- choosing and reaching a backend ---------------------------------- */

static bool
header_is(struct sl_http_slice name, const char *lit)
{
	return sl_http_token_eq(name, lit);
}

/* Hop-by-hop fields (RFC 9110 7.6.1) never cross the proxy. */
static bool
hop_by_hop(struct sl_http_slice name)
{
	return sl_http_hop_by_hop(name);
}

/*
 * Does the Connection field name a field the proxy cannot drop? Removing
 * Content-Length or Transfer-Encoding while relaying the body turns the
 * body into requests no route saw; Host decides the route; the fields the
 * proxy adds would lose the proxy's own values. RFC 9110 7.6.1 lets a
 * proxy refuse such a message.
 */
static bool
connection_names_forbidden(const struct sl_h1_xchg *x)
{
	struct sl_http_slice list = { x->conn_fields, x->conn_len }, e;
	size_t pos = 0;

	while (sl_http_list_next(list, &pos, &e))
		if (sl_http_token_eq(e, "content-length") ||
		    sl_http_token_eq(e, "transfer-encoding") ||
		    sl_http_token_eq(e, "host") ||
		    sl_http_token_eq(e, "x-forwarded-for") ||
		    sl_http_token_eq(e, "x-forwarded-proto") ||
		    sl_http_token_eq(e, "via") ||
		    sl_http_token_eq(e, "x-request-id"))
			return true;
	return false;
}

/* Remove field lines whose names the Connection field listed. */
static void
strip_connection_named(struct sl_h1_xchg *x, uint32_t fields_from)
{
	struct sl_http_slice list = { x->conn_fields, x->conn_len }, e;
	size_t pos = 0;

	while (sl_http_list_next(list, &pos, &e)) {
		uint32_t i = fields_from;

		while (i < x->head_len) {
			char *eol = memchr(x->head + i, '\n', x->head_len - i);
			uint32_t end = eol ? (uint32_t)(eol - x->head) + 1 : x->head_len;
			char *colon = memchr(x->head + i, ':', end - i);
			struct sl_http_slice name = { x->head + i,
				colon ? (size_t)(colon - (x->head + i)) : 0 };

			if (colon != NULL && name.len == e.len &&
			    strncasecmp(name.ptr, e.ptr, e.len) == 0) {
				memmove(x->head + i, x->head + end, x->head_len - end);
				x->head_len -= end - i;
				continue;
			}
			i = end;
		}
	}
}

/* A connection to x's backend: a pooled one, else a new one. */
static struct sl_tcp_conn *
upstream_get(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	const struct sl_conf_pool *pool = &hp->conf->pools[x->pool];
	uint32_t g = hp->pool_base[x->pool] + x->backend;
	struct sl_h1_idle *idle = &hp->idle[g];
	uint64_t max_idle = (uint64_t)hp->conf->http.upstream_idle_s *
			    hp->tcp->lc->dp->tsc_hz;
	struct sl_tcp_conn *c;

	while (idle->n > 0) {
		c = idle->conns[--idle->n];
		if (rte_rdtsc() - idle->since_tsc[idle->n] < max_idle &&
		    sl_tcp_can_send(c)) {
			c->ops = &up_ops;
			c->app = x;
			/* Its buffers now count against this client's share. */
			sl_tcp_bill_to(hp->tcp, c, x->cl->conn);
			hp->stats.upstream_reused++;
			x->flags |= XF_UP_REUSED | XF_UP_CONNECTED;
			return c;
		}
		c->ops = NULL;
		sl_tcp_shutdown(hp->tcp, c);
		h1_lb_conn_g(hp, g, -1);
	}
	hp->stats.upstream_connects++;
	x->flags &= ~(XF_UP_REUSED | XF_UP_CONNECTED);
	c = sl_tcp_connect(hp->tcp, pool->backends[x->backend].addr,
			   pool->backends[x->backend].port,
			   pool->connect_timeout_ms, &up_ops, x);
	if (c != NULL) {
		/* We know when a response is complete: its ACK can wait for
		 * the next request on this connection (up_readable). */
		sl_tcp_app_ack(c);
		sl_tcp_bill_to(hp->tcp, c, x->cl->conn);
		h1_lb_conn_g(hp, g, 1);
		x->flags |= XF_PENDING;
		sl_up_pending(hp->up, (unsigned int)x->pool, x->backend, 1);
	}
	return c;
}

/* Send x's request head to its (new) backend connection. */
static void
upstream_send_head(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	x->up_start_tsc = rte_rdtsc();
	if (x->up->state == SL_TCP_ESTABLISHED) {
		send_bytes(hp, x->up, x->head, x->head_len);
	} else {
		uint32_t before = x->to_up.n;

		to_mq(hp, &x->to_up, x->head, x->head_len);
		to_up_held(hp, x, before);
	}
}

/* No backend for x: 503, saying which limit when one refused it. */
static void
refuse(struct sl_h1_client *cl, enum sl_up_refusal why)
{
	char hdr[96];

	if (why == SL_UP_REFUSE_none_available) {
		client_error(cl, 503);
		return;
	}
	cl->hp->stats.overloaded++;
	snprintf(hdr, sizeof(hdr), "x-sluice-overloaded: %s\r\n",
		 sl_up_refusal_names[why]);
	client_error_ex(cl, 503, hdr);
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
	if (x->up != NULL) {
		x->up->ops = NULL;
		sl_tcp_abort(hp->tcp, x->up);
		h1_lb_conn_g(hp, hp->pool_base[x->pool] + x->backend, -1);
		x->up = NULL;
	}
	h1_lb_finish(hp, x, kind);
	h1_lb_retry_commit(hp, x, b, probe);
	sl_mq_free(&x->to_up);
	x->status = 0;
	x->up = upstream_get(hp, x);
	if (x->up == NULL) {
		/* No connection to try (none free here): the new backend did
		 * nothing wrong, and must not get the caller's verdict. */
		h1_lb_finish(hp, x, SL_UP_ABANDONED);
		return false;
	}
	sl_http_parser_init_response(&x->resp, &hp->limits,
				     x->method == SL_HTTP_M_HEAD);
	upstream_send_head(hp, x);
	if (x->state >= X_WAIT_RESP)
		sl_timer_arm(&hp->tcp->wheel, &x->timer,
			     ms_ticks(hp->conf->http.response_timeout_ms));
	return true;
}

/*
 * Write the target the backend will get, which is also the one routed:
 * origin-form with dot-segments removed. An absolute-form target gives up
 * its authority as the Host. false: a target that names no http origin.
 */
static bool
request_target(struct sl_h1_xchg *x, const struct sl_http_request_line *rl)
{
	struct sl_http_slice t = rl->target, auth;
	long n;

	x->target_off = x->head_len;
	if (rl->form == SL_HTTP_T_ABSOLUTE) {
		if (sl_http_target_split(t, &auth, &t) != 0 ||
		    auth.len > sizeof(x->host))
			return false;
		memcpy(x->host, auth.ptr, auth.len);
		x->host_len = (uint16_t)auth.len;
		x->flags |= XF_ABS_FORM;
		if (t.len == 0 || t.ptr[0] == '?')
			head_add(x, "/", 1);   /* "http://h" and "http://h?q" */
	}
	if ((rl->form == SL_HTTP_T_ORIGIN || rl->form == SL_HTTP_T_ABSOLUTE) &&
	    t.len > 0 && t.ptr[0] == '/') {
		n = sl_http_path_normalize(t.ptr, t.len, x->head + x->head_len,
					   sizeof(x->head) - x->head_len);
		if (n < 0)
			x->flags |= XF_HEAD_OVER;
		else
			x->head_len += (uint32_t)n;
	} else {
		head_add(x, t.ptr, t.len);
	}
	x->target_len = x->head_len - x->target_off;
	{
		size_t len = RTE_MIN((size_t)x->target_len, sizeof(x->path) - 1);

		memcpy(x->path, x->head + x->target_off, len);
		x->path[len] = '\0';
	}
	return true;
}

/* The request head is complete: route it and send it to a backend. */
static void
request_headers_done(struct sl_h1_client *cl, struct sl_h1_xchg *x,
		     const struct sl_http_head *h, uint32_t fields_from)
{
	struct sl_h1_proxy *hp = cl->hp;
	const struct sl_conf_listener *l = &hp->conf->listeners[cl->listener];
	unsigned int verdict = sl_http_request_verdict(h);
	char line[128], *e;
	int r;

	sl_timer_cancel(&hp->tcp->wheel, &cl->timer);
	if (verdict != 0 || (h->flags & SL_HTTP_F_EXPECT_OTHER)) {
		client_error(cl, verdict ? verdict : 417);
		return;
	}
	/* A reverse proxy opens no tunnels: the response parser would read a
	 * 2xx to CONNECT as a close-delimited body (RFC 9110 9.3.6). */
	if (h->method == SL_HTTP_M_CONNECT) {
		client_error(cl, 501);
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
	if (h->flags & SL_HTTP_F_CONN_OTHER) {
		if (connection_names_forbidden(x)) {
			hp->stats.conn_forbidden++;
			client_error(cl, 400);
			return;
		}
		strip_connection_named(x, fields_from);
	}
	if (!(x->flags & XF_HAS_XFF)) {
		/* "X-Forwarded-For: %u.%u.%u.%u\r\n" */
		e = SL_FMT_LIT(line, "X-Forwarded-For: ");
		e = sl_fmt_ipv4(e, cl->client_ip);
		e = SL_FMT_LIT(e, "\r\n");
		head_add(x, line, (size_t)(e - line));
	}
	head_str(x, "X-Forwarded-Proto: http\r\nVia: 1.1 sluice\r\n");
	if (!(x->flags & XF_HAS_XRID)) {
		/* "X-Request-Id: %08x-%u-%08x\r\n" */
		e = SL_FMT_LIT(line, "X-Request-Id: ");
		e = sl_fmt_hex(e, (uint32_t)(x->start_tsc >> 16), 8);
		*e++ = '-';
		e = sl_fmt_u32(e, hp->tcp->lc->lcore_id);
		*e++ = '-';
		e = sl_fmt_hex(e, ++hp->request_seq, 8);
		e = SL_FMT_LIT(e, "\r\n");
		head_add(x, line, (size_t)(e - line));
	}
	if (h->body == SL_HTTP_BODY_CHUNKED) {
		x->flags |= XF_REQ_CHUNKED;
		head_str(x, "Transfer-Encoding: chunked\r\n");
	}
	head_str(x, "\r\n");
	if (x->flags & XF_HEAD_OVER) {
		/* Within the limits as sent, over the buffer as rewritten. */
		hp->stats.head_overflow++;
		client_error(cl, 431);
		return;
	}

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
	if (x->pool < 0) {
		client_error(cl, 404);
		return;
	}
	{
		unsigned int st = h1_lb_admit(hp, x);
		enum sl_up_refusal why;

		if (st != 0) {
			client_error(cl, st);
			return;
		}
		if (h1_lb_choose(hp, x, -1, &why) < 0) {
			refuse(cl, why);
			return;
		}
	}
	x->up = upstream_get(hp, x);
	if (x->up == NULL) {
		client_error(cl, 503);
		return;
	}
	sl_http_parser_init_response(&x->resp, &hp->limits,
				     h->method == SL_HTTP_M_HEAD);
	x->state = X_REQ_BODY;
	upstream_send_head(hp, x);
}

/* Feed one parser event of the request. Returns false to stop reading. */
static bool
request_event(struct sl_h1_client *cl, struct sl_h1_xchg *x,
	      struct sl_http_event *ev, uint32_t *fields_from)
{
	struct sl_h1_proxy *hp = cl->hp;
	struct sl_tcp_conn *dst;
	uint32_t before;

	switch (ev->type) {
	case SL_HTTP_EV_REQUEST_LINE:
		hp->stats.requests++;
		x->method = (uint8_t)ev->req.method;
		head_add(x, ev->req.method_str.ptr, ev->req.method_str.len);
		head_add(x, " ", 1);
		if (!request_target(x, &ev->req)) {
			client_error(cl, 400);
			return false;
		}
		head_str(x, " HTTP/1.1\r\n");
		if (x->flags & XF_ABS_FORM) {
			/* RFC 9112 3.2.2: the target's authority is the Host. */
			head_str(x, "Host: ");
			head_add(x, x->host, x->host_len);
			head_str(x, "\r\n");
		}
		*fields_from = x->head_len;
		return true;
	case SL_HTTP_EV_HEADER:
		if (header_is(ev->field.name, "connection")) {
			/* Several Connection fields make one list (RFC 9110
			 * 5.3); one too long to keep whole is refused, since a
			 * clipped name could be the wrong one. */
			size_t sep = x->conn_len > 0, n = ev->field.value.len;

			if (x->conn_len + sep + n > sizeof(x->conn_fields)) {
				client_error(cl, 400);
				return false;
			}
			if (sep)
				x->conn_fields[x->conn_len] = ',';
			memcpy(x->conn_fields + x->conn_len + sep,
			       ev->field.value.ptr, n);
			x->conn_len = (uint16_t)(x->conn_len + sep + n);
			return true;
		}
		if (hop_by_hop(ev->field.name))
			return true;
		if (header_is(ev->field.name, "host")) {
			/* An absolute-form target's authority replaced it. */
			if (x->flags & XF_ABS_FORM)
				return true;
			if (ev->field.value.len > sizeof(x->host)) {
				client_error(cl, 400);
				return false;
			}
			x->host_len = (uint16_t)ev->field.value.len;
			memcpy(x->host, ev->field.value.ptr, x->host_len);
		} else if (header_is(ev->field.name, "x-forwarded-for")) {
			char ip[24], *e;

			x->flags |= XF_HAS_XFF;
			head_field(x, ev->field.raw);
			/* Append ourselves to the chain: replace the CRLF
			 * (", %u.%u.%u.%u\r\n"). */
			x->head_len -= 2;
			e = SL_FMT_LIT(ip, ", ");
			e = sl_fmt_ipv4(e, cl->client_ip);
			e = SL_FMT_LIT(e, "\r\n");
			head_add(x, ip, (size_t)(e - ip));
			return true;
		} else if (header_is(ev->field.name, "x-request-id")) {
			x->flags |= XF_HAS_XRID;
		}
		if (hp->n_keys > 0)
			h1_lb_field(hp, x, ev->field.name, ev->field.value);
		head_field(x, ev->field.raw);
		return true;
	case SL_HTTP_EV_HEADERS_DONE:
		request_headers_done(cl, x, &ev->head, *fields_from);
		return cl->x == x;
	case SL_HTTP_EV_BODY:
		x->bytes_in += ev->body.len;
		dst = x->up != NULL && x->up->state == SL_TCP_ESTABLISHED ? x->up : NULL;
		before = x->to_up.n;
		send_body(hp, dst, &x->to_up, x->flags & XF_REQ_CHUNKED, ev->body);
		to_up_held(hp, x, before);
		return true;
	case SL_HTTP_EV_MESSAGE_DONE:
		if (x->flags & XF_REQ_CHUNKED) {
			struct sl_http_slice end = { "0\r\n\r\n", 5 };

			if (x->up != NULL && x->up->state == SL_TCP_ESTABLISHED) {
				send_bytes(hp, x->up, end.ptr, end.len);
			} else {
				before = x->to_up.n;
				to_mq(hp, &x->to_up, end.ptr, end.len);
				to_up_held(hp, x, before);
			}
		}
		x->state = X_WAIT_RESP;
		sl_timer_arm(&hp->tcp->wheel, &x->timer,
			     ms_ticks(hp->conf->http.response_timeout_ms));
		return false;   /* pipelined requests wait for this response */
	case SL_HTTP_EV_ERROR:
		client_error(cl, ev->error.status ? ev->error.status : 400);
		return false;
	default:
		return true;
	}
}

/* ---- the request head before the exchange ------------------------------ */

static uint32_t
slow_head_budget(const struct sl_h1_proxy *hp)
{
	return hp->conf->http.slow_head_mbufs ? hp->conf->http.slow_head_mbufs :
	       hp->conf->memory.mbufs / 4;
}

/*
 * cl's head is still unfinished after a scan: put it on the slow list (or
 * update what it holds), then enforce the bounds. Returns false when cl
 * itself was closed.
 */
static bool
slow_track(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;
	const struct sl_tcp_conn *c = cl->conn;
	uint32_t held = cl->pending.n + c->rcvq.n + c->ooo.n;
	uint32_t cap = hp->conf->http.max_slow_heads_per_client;

	if (!(cl->flags & CL_SLOW)) {
		uint32_t i = cl_index(cl);

		cl->flags |= CL_SLOW;
		cl->slow_next = SLOW_NONE;
		cl->slow_prev = hp->slow_last;
		if (hp->slow_last != SLOW_NONE)
			hp->clients[hp->slow_last].slow_next = i;
		else
			hp->slow_first = i;
		hp->slow_last = i;
		hp->n_slow++;
		if (cap > 0) {
			struct sl_h1_addr_count *a =
				slow_addr_slot(hp, cl->client_ip, true);

			if (a == NULL) {
				hp->stats.slow_addr_untracked++;
			} else if (a->n >= cap) {
				/* This address already has its share of
				 * unfinished heads: the newest one goes. */
				hp->stats.slow_heads_per_client++;
				client_error(cl, 408);
				return false;
			} else {
				a->n++;
				cl->flags |= CL_ADDR;
			}
		}
	}
	held = RTE_MIN(held, (uint32_t)UINT16_MAX);
	hp->slow_mbufs += held - cl->slow_mbufs;
	cl->slow_mbufs = (uint16_t)held;
	/* Short of header buffers: the oldest unfinished heads go first. */
	while (hp->slow_mbufs > slow_head_budget(hp) && hp->slow_first != SLOW_NONE) {
		struct sl_h1_client *old = &hp->clients[hp->slow_first];

		hp->stats.slow_heads_evicted++;
		client_error(old, 408);
		if (old == cl)
			return false;
	}
	return true;
}

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
			m = cl->conn->rcvq.head;
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
	struct sl_tcp_conn *c = cl->conn;
	enum sl_http_scan v;

	if (cl->pending.n == 0 && c->rcvq.n == 0) {
		if (sl_tcp_eof(c)) {
			/* The client finished sending: a partial head is dropped. */
			slow_leave(cl);
			cl->flags |= CL_CLOSING;
			sl_tcp_shutdown(hp->tcp, c);
		}
		return false;
	}
	if (cl->flags & CL_IDLE) {
		/* The next request's first bytes: its head timeout starts
		 * (re-arming cancels the keep-alive idle timer). */
		cl->flags &= (uint8_t)~CL_IDLE;
		sl_timer_arm(&hp->tcp->wheel, &cl->timer,
			     ms_ticks(hp->conf->http.header_timeout_ms));
	}
	v = client_scan(cl);
	switch (v) {
	case SL_HTTP_SCAN_COMPLETE:
		slow_leave(cl);
		sl_http_head_scan_init(&cl->scan);
		return true;
	case SL_HTTP_SCAN_MORE:
		/* The client's FIN is in: this head can never end. (sl_tcp_eof
		 * waits for the queue to drain, and nothing reads it.) */
		if (c->flags & SL_TCPF_FIN_RCVD) {
			slow_leave(cl);
			cl->flags |= CL_CLOSING;
			client_discard_input(cl);
			sl_tcp_shutdown(hp->tcp, c);
			return false;
		}
		slow_track(cl);
		return false;
	case SL_HTTP_SCAN_INVALID:
		client_error(cl, 400);
		return false;
	case SL_HTTP_SCAN_LINE_TOO_LONG:
		client_error(cl, 414);
		return false;
	default:
		client_error(cl, 431);
		return false;
	}
}

static void
client_drive(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;
	uint32_t fields_from = 0;

	while (cl->conn != NULL && !(cl->flags & CL_CLOSING)) {
		struct sl_h1_xchg *x = cl->x;
		struct sl_http_event ev;
		struct rte_mbuf *m, *done_m = NULL;
		size_t n, avail;
		bool go_on;

		if (x == NULL) {
			if (!client_head_ready(cl))
				break;
			x = cl->x = xchg_new(cl);
			if (x == NULL) {
				hp->stats.no_exchange++;
				client_error(cl, 503);
				return;
			}
			/* Known from the bytes before the parser has the line:
			 * a line it refuses ("HEAD x HTTP/1.1") still gets its
			 * 400 without a body. The request line sets it again. */
			if (client_input_is_head(cl))
				x->method = SL_HTTP_M_HEAD;
		}
		if (x->state >= X_WAIT_RESP)
			return;
		if (cl->pending.n == 0) {
			struct sl_mq q;

			sl_tcp_recv(hp->tcp, cl->conn, UINT32_MAX, &q);
			/* Taken, not consumed: still the connection's buffers. */
			sl_tcp_hold(hp->tcp, cl->conn, (int32_t)q.n);
			sl_mq_splice(&cl->pending, &q);
			sl_tcp_output(hp->tcp, cl->conn);
		}
		if (cl->pending.n == 0) {
			/* Events may still be due with no new byte (MESSAGE_DONE). */
			if (x->state <= X_REQ_BODY &&
			    sl_http_parse(&x->req, NULL, 0, &ev) == 0 &&
			    ev.type != SL_HTTP_EV_NEED_MORE) {
				if (!request_event(cl, x, &ev, &fields_from))
					return;
				continue;
			}
			if (sl_tcp_eof(cl->conn) && x->state <= X_REQ_BODY) {
				/* The client stopped inside its request body. */
				xchg_free(hp, x, SL_ALOG_TERM_CLIENT_CLOSED, false);
				cl->flags |= CL_CLOSING;
				sl_tcp_shutdown(hp->tcp, cl->conn);
			}
			return;
		}
		/* Backpressure: the backend's send queue is full, or the
		 * request waits for the connection to open (then up_established
		 * drives us again). */
		if (x->up != NULL && (x->up->state == SL_TCP_ESTABLISHED ?
				      sl_tcp_sndq_room(hp->tcp, x->up) == 0 :
				      x->to_up.bytes >= x->up->snd_buf)) {
			x->up->flags |= SL_TCPF_NOTIFY_W;
			return;
		}
		m = cl->pending.head;
		avail = rte_pktmbuf_data_len(m) - cl->pending_off;
		n = sl_http_parse(&x->req, rte_pktmbuf_mtod_offset(m, const char *,
						cl->pending_off), avail, &ev);
		cl->pending_off += (uint32_t)n;
		if (cl->pending_off == rte_pktmbuf_data_len(m)) {
			/* Freed only after the event: its slices point into m. */
			done_m = sl_mq_pop(&cl->pending);
			cl->pending_off = 0;
			sl_tcp_hold(hp->tcp, cl->conn, -1);
		}
		go_on = ev.type == SL_HTTP_EV_NEED_MORE ||
			request_event(cl, x, &ev, &fields_from);
		rte_pktmbuf_free(done_m);
		if (!go_on)
			return;
	}
	/* Closing: what the client still sends is never read. */
	if (cl->conn != NULL && (cl->flags & CL_CLOSING) && cl->x == NULL)
		client_discard_input(cl);
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

	count_status(hp, x->status, false);
	record_latency(hp, x);
	h1_lb_finish(hp, x, h1_lb_failure_status(hp, x->pool, x->status) ?
		     SL_UP_FAIL_STATUS : SL_UP_OK);
	xchg_free(hp, x, SL_ALOG_TERM_DONE, up_reusable);
	if (cl->conn == NULL)
		return;
	if (close_after) {
		cl->flags |= CL_CLOSING;
		sl_tcp_shutdown(hp->tcp, cl->conn);
		return;
	}
	cl->flags |= CL_IDLE;
	/* Draining, a head sent before the drain said keep-alive: the
	 * client's next request, if it comes at once, gets Connection: close. */
	sl_timer_arm(&hp->tcp->wheel, &cl->timer,
		     ms_ticks(unlikely(hp->draining) ? SL_H1_DRAIN_IDLE_MS :
			      (uint64_t)hp->conf->http.client_idle_s * 1000));
	client_drive(cl);
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
	queue_bytes(hp, x->cl->conn, x->head, x->head_len);
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
		sl_tcp_abort(hp->tcp, cl->conn);
		cl->conn = NULL;
		xchg_free(hp, x, SL_ALOG_TERM_BACKEND_RESET, false);
		client_free(cl);
		return;
	}
	x->flags &= ~XF_HEAD_HELD;
	if (x->up != NULL) {
		x->up->ops = NULL;
		sl_tcp_abort(hp->tcp, x->up);
		h1_lb_conn_g(hp, hp->pool_base[x->pool] + x->backend, -1);
		x->up = NULL;
	}
	x->status = 502;
	h1_lb_finish(hp, x, SL_UP_RESET);
	client_error(cl, 502);
}

/* Returns false to stop reading the backend. */
static bool
response_event(struct sl_h1_xchg *x, struct sl_http_event *ev)
{
	struct sl_h1_client *cl = x->cl;
	struct sl_h1_proxy *hp = cl->hp;
	char line[32], *e;

	switch (ev->type) {
	case SL_HTTP_EV_STATUS_LINE:
		/* xchg_retry says whether this request may be retried. */
		if (ev->resp.status >= 200 &&
		    sl_status_set_has(&hp->conf->pools[x->pool].retry.on_statuses,
				      ev->resp.status)) {
			uint16_t st = x->status;

			x->status = ev->resp.status;
			if (xchg_retry(x, h1_lb_failure_status(hp, x->pool,
					ev->resp.status) ? SL_UP_FAIL_STATUS : SL_UP_OK))
				return false;
			x->status = st;   /* no retry: relay this answer */
		}
		x->head_len = 0;
		x->target_off = x->target_len = 0;
		x->flags |= XF_RESP_LINE;
		x->status = ev->resp.status;
		/* "HTTP/1.1 %u " */
		e = SL_FMT_LIT(line, "HTTP/1.1 ");
		e = sl_fmt_u32(e, ev->resp.status);
		*e++ = ' ';
		head_add(x, line, (size_t)(e - line));
		head_add(x, ev->resp.reason.ptr, ev->resp.reason.len);
		head_str(x, "\r\n");
		return true;
	case SL_HTTP_EV_HEADER:
		if (!hop_by_hop(ev->field.name))
			head_field(x, ev->field.raw);
		return true;
	case SL_HTTP_EV_HEADERS_DONE:
		/* No Upgrade was forwarded (it is hop-by-hop): a 101 is a
		 * backend switching to a protocol nobody asked for. */
		if (ev->head.status == 101) {
			response_fail(x);
			return false;
		}
		if (ev->head.status < 200) {
			/* 100 Continue and friends pass straight through. */
			head_str(x, "\r\n");
			if (x->flags & XF_HEAD_OVER) {
				hp->stats.head_overflow++;
				response_fail(x);
				return false;
			}
			x->flags |= XF_RESP_1XX;
			send_bytes(hp, cl->conn, x->head, x->head_len);
			return true;
		}
		sl_timer_cancel(&hp->tcp->wheel, &x->timer);
		if (ev->head.flags & SL_HTTP_F_KEEP_ALIVE)
			x->flags |= XF_UP_KEEPALIVE;
		head_str(x, "Via: 1.1 sluice\r\n");
		if (ev->head.body == SL_HTTP_BODY_CHUNKED && !(x->flags & XF_CLIENT_10)) {
			x->flags |= XF_RESP_CHUNKED;
			head_str(x, "Transfer-Encoding: chunked\r\n");
		}
		/* HTTP/1.0 has no chunked coding: such a body ends at close. */
		if (ev->head.body == SL_HTTP_BODY_CLOSE ||
		    (ev->head.body == SL_HTTP_BODY_CHUNKED && (x->flags & XF_CLIENT_10)))
			x->flags |= XF_CLOSE_AFTER;
		/* Draining: the client learns it from this response, and the
		 * connection closes after it (response_done). */
		if (unlikely(hp->draining) && !(x->flags & XF_CLOSE_AFTER)) {
			x->flags |= XF_CLOSE_AFTER;
			hp->stats.drain_keepalive_closed++;
		}
		if (x->flags & XF_CLOSE_AFTER)
			head_str(x, "Connection: close\r\n");
		else if (x->flags & XF_CLIENT_10)
			head_str(x, "Connection: keep-alive\r\n");
		head_str(x, "\r\n");
		if (x->flags & XF_HEAD_OVER) {
			hp->stats.head_overflow++;
			response_fail(x);
			return false;
		}
		x->flags |= XF_HEAD_HELD;
		x->state = X_RESP;
		return true;
	case SL_HTTP_EV_BODY:
		response_head_flush(hp, x);
		x->bytes_out += ev->body.len;
		send_body(hp, cl->conn, NULL, x->flags & XF_RESP_CHUNKED, ev->body);
		return true;
	case SL_HTTP_EV_MESSAGE_DONE:
		if (x->state != X_RESP)
			return true;   /* the end of a 1xx: the real one follows */
		response_head_flush(hp, x);
		if (x->flags & XF_RESP_CHUNKED)
			send_bytes(hp, cl->conn, "0\r\n\r\n", 5);
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
	struct sl_tcp_conn *up = x->up;

	while (up != NULL && x->up == up && x->state >= X_REQ_BODY) {
		struct sl_http_event ev;
		struct rte_mbuf *m = up->rcvq.head;
		struct sl_mq done;
		bool go_on;
		size_t n;

		if (x->cl->conn == NULL)
			return;
		if (sl_tcp_sndq_room(hp->tcp, x->cl->conn) == 0) {
			x->cl->conn->flags |= SL_TCPF_NOTIFY_W;
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
			if (sl_tcp_eof(up)) {
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
			sl_tcp_recv(hp->tcp, up, rte_pktmbuf_data_len(m), &done);
			sl_tcp_output(hp->tcp, up);
		} else {
			rte_pktmbuf_adj(m, (uint16_t)n);
			up->rcvq.bytes -= (uint32_t)n;
		}
		go_on = ev.type == SL_HTTP_EV_NEED_MORE || response_event(x, &ev);
		sl_mq_free(&done);
		if (!go_on)
			return;
	}
}

/* The response so far, to the client, in as few segments as it allows. */
static void
upstream_drive(struct sl_h1_xchg *x)
{
	struct sl_h1_proxy *hp = x->cl->hp;
	struct sl_tcp_conn *cc = x->cl->conn;
	uint32_t gen = cc != NULL ? cc->gen : 0;

	upstream_drive_events(x);
	/* x and its client may be gone: check the connection itself. */
	if (cc != NULL && !(cc->flags & SL_TCPF_DEAD) && cc->gen == gen)
		sl_tcp_output(hp->tcp, cc);
}

/* ---- TCP callbacks ---------------------------------------------------- */

static void
client_readable(struct sl_tcp_conn *c)
{
	client_drive(c->app);
}

static void
client_writable(struct sl_tcp_conn *c)
{
	struct sl_h1_client *cl = c->app;

	if (cl->x != NULL && cl->x->state == X_RESP)
		upstream_drive(cl->x);
}

static void
client_closed(struct sl_tcp_conn *c, enum sl_tcp_close_reason why)
{
	struct sl_h1_client *cl = c->app;
	struct sl_h1_proxy *hp = cl->hp;

	(void)why;
	cl->conn = NULL;
	if (cl->x != NULL) {
		if (cl->x->flags & XF_RESP_STARTED)
			hp->stats.aborted_midway++;
		xchg_free(hp, cl->x, why == SL_TCP_CLOSE_NORMAL ?
			  SL_ALOG_TERM_CLIENT_CLOSED : SL_ALOG_TERM_CLIENT_RESET, false);
	}
	client_free(cl);
}

static void
up_established(struct sl_tcp_conn *c)
{
	struct sl_h1_xchg *x = c->app;
	struct sl_h1_proxy *hp = x->cl->hp;

	h1_lb_connected(hp, x);
	sl_tcp_hold(hp->tcp, c, -(int32_t)x->to_up.n);   /* into its queue now */
	send_mq(hp, c, &x->to_up);
	client_drive(x->cl);
}

static void
up_readable(struct sl_tcp_conn *c)
{
	struct sl_h1_xchg *x = c->app;
	struct sl_h1_proxy *hp = x->cl->hp;
	uint32_t gen = c->gen;

	upstream_drive(x);
	/*
	 * Still this exchange's (not pooled, freed or reused): the response
	 * is not complete, and a backend writing with Nagle on may wait for
	 * our ACK before it sends the rest. A complete response's ACK rides
	 * on the next request, or on the delayed-ACK timer.
	 */
	if (!(c->flags & SL_TCPF_DEAD) && c->gen == gen && c->ops == &up_ops)
		sl_tcp_ack_now(hp->tcp, c);
}

static void
up_writable(struct sl_tcp_conn *c)
{
	struct sl_h1_xchg *x = c->app;
	struct sl_h1_proxy *hp = x->cl->hp;

	/*
	 * The response timeout counts from the request having been sent. The
	 * client may finish a large body while the backend is still taking
	 * the last of it from our send queue: its progress restarts the clock.
	 */
	if (x->state == X_WAIT_RESP)
		sl_timer_arm(&hp->tcp->wheel, &x->timer,
			     ms_ticks(hp->conf->http.response_timeout_ms));
	client_drive(x->cl);
}

static void
up_closed(struct sl_tcp_conn *c, enum sl_tcp_close_reason why)
{
	struct sl_h1_xchg *x = c->app;
	struct sl_h1_client *cl = x->cl;
	struct sl_h1_proxy *hp = cl->hp;
	enum sl_up_kind kind;
	unsigned int status;

	if (why == SL_TCP_CLOSE_NORMAL && x->state == X_RESP) {
		/* Last bytes of a close-delimited response: drain, then end. */
		upstream_drive(x);
		if (cl->x != x)
			return;
	}
	x->up = NULL;
	h1_lb_conn_g(hp, hp->pool_base[x->pool] + x->backend, -1);
	if (x->flags & (XF_RESP_STARTED | XF_RESP_1XX)) {
		hp->stats.aborted_midway++;
		/* The client has part of an answer: a retry would garble it. */
		if (hp->conf->pools[x->pool].retry.attempts > 0 && cl->conn != NULL)
			h1_lb_retry_refuse(hp, x, SL_UP_RETRY_REFUSE_response_begun);
		h1_lb_finish(hp, x, SL_UP_RESET);
		if (cl->conn != NULL) {
			sl_tcp_abort(hp->tcp, cl->conn);
			cl->conn = NULL;
		}
		xchg_free(hp, x, SL_ALOG_TERM_BACKEND_RESET, false);
		client_free(cl);
		return;
	}
	switch (why) {
	case SL_TCP_CLOSE_REFUSED:
		status = 503;
		kind = SL_UP_CONNECT_FAIL;
		break;
	case SL_TCP_CLOSE_TIMEOUT:
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
	client_error(cl, status);
}

static const struct sl_tcp_app_ops client_ops = {
	.readable = client_readable,
	.writable = client_writable,
	.closed = client_closed,
};

static const struct sl_tcp_app_ops up_ops = {
	.established = up_established,
	.readable = up_readable,
	.writable = up_writable,
	.closed = up_closed,
};

/*
 * Idle pooled connections. Their lcore's proxy is found through
 * idle_owner: callbacks carry only the connection.
 */
static struct sl_h1_proxy *
idle_proxy(void)
{
	unsigned int id = rte_lcore_id();

	return idle_owner[id < RTE_MAX_LCORE ? id : 0];
}

static void
idle_remove(struct sl_h1_proxy *hp, struct sl_tcp_conn *c)
{
	struct sl_h1_idle *idle = &hp->idle[(uintptr_t)c->app - 1];

	for (uint32_t i = 0; i < idle->n; i++)
		if (idle->conns[i] == c) {
			idle->conns[i] = idle->conns[idle->n - 1];
			idle->since_tsc[i] = idle->since_tsc[idle->n - 1];
			idle->n--;
			return;
		}
}

/* A backend that talks while idle is out of step: retire it. */
static void
idle_readable(struct sl_tcp_conn *c)
{
	struct sl_h1_proxy *hp = idle_proxy();

	if (hp == NULL)
		return;
	h1_lb_conn_g(hp, (uint32_t)((uintptr_t)c->app - 1), -1);
	idle_remove(hp, c);
	c->ops = NULL;
	sl_tcp_abort(hp->tcp, c);
}

static void
idle_closed(struct sl_tcp_conn *c, enum sl_tcp_close_reason why)
{
	struct sl_h1_proxy *hp = idle_proxy();

	(void)why;
	if (hp != NULL) {
		h1_lb_conn_g(hp, (uint32_t)((uintptr_t)c->app - 1), -1);
		idle_remove(hp, c);
	}
}

static const struct sl_tcp_app_ops idle_ops = {
	.readable = idle_readable,
	.closed = idle_closed,
};

/* Once a second: close pooled connections idle past upstream_idle_s. */
static void
idle_sweep_fire(struct sl_timer *t, void *ctx)
{
	struct sl_h1_proxy *hp = container_of(t, struct sl_h1_proxy, idle_sweep);
	uint64_t max_idle = (uint64_t)hp->conf->http.upstream_idle_s *
			    hp->tcp->lc->dp->tsc_hz;
	uint64_t now = rte_rdtsc();

	(void)ctx;
	for (uint32_t g = 0; g < hp->n_backend_hists; g++) {
		struct sl_h1_idle *idle = &hp->idle[g];

		for (uint32_t i = 0; i < idle->n; ) {
			struct sl_tcp_conn *c = idle->conns[i];

			if (now - idle->since_tsc[i] < max_idle) {
				i++;
				continue;
			}
			idle->conns[i] = idle->conns[idle->n - 1];
			idle->since_tsc[i] = idle->since_tsc[idle->n - 1];
			idle->n--;
			c->ops = NULL;
			sl_tcp_shutdown(hp->tcp, c);
			h1_lb_conn_g(hp, g, -1);
			hp->stats.upstream_idle_closed++;
		}
	}
	sl_timer_arm(&hp->tcp->wheel, &hp->idle_sweep, ms_ticks(1000));
}

static int
h1_accept(struct sl_tcp_conn *c, void *arg)
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
	cl->client_ip = c->raddr;
	cl->client_port = c->rport;
	cl->listener = listener;
	cl->flags = 0;
	cl->slow_mbufs = 0;
	cl->slow_prev = cl->slow_next = SLOW_NONE;
	sl_http_head_scan_init(&cl->scan);
	sl_timer_init(&cl->timer, client_timer_fire);
	/* Draining (a handshake that began before): the request must come
	 * soon, as on a keep-alive connection. */
	sl_timer_arm(&hp->tcp->wheel, &cl->timer,
		     ms_ticks(unlikely(hp->draining) ?
			      RTE_MIN(hp->conf->http.header_timeout_ms,
				      (uint32_t)SL_H1_DRAIN_IDLE_MS) :
			      hp->conf->http.header_timeout_ms));
	c->ops = &client_ops;
	c->app = cl;
	hp->stats.client_conns++;
	hp->stats.clients++;
	return 0;
}

/* Slot bases of pools and listeners, from the layout of hp->conf. */
static void
h1_layout(struct sl_h1_proxy *hp)
{
	const struct sl_conf *conf = hp->conf;

	for (unsigned int p = 0; p < conf->n_pools && p < conf->pool_cap; p++)
		hp->pool_base[p] = conf->pools[p].slot_base;
	for (unsigned int i = 0; i < conf->n_listeners; i++)
		hp->route_base[i] = conf->listeners[i].route_base;
}

struct sl_h1_proxy *
sl_h1_create(struct sl_tcp_stack *tcp, const struct sl_gen *gen, int socket)
{
	const struct sl_conf *conf = gen->conf;
	struct sl_h1_proxy *hp;
	uint32_t n_backends = 0;

	hp = rte_zmalloc_socket("sl_h1", sizeof(*hp), RTE_CACHE_LINE_SIZE, socket);
	if (hp == NULL)
		goto nomem;
	hp->tcp = tcp;
	hp->conf = conf;
	hp->limits = (struct sl_http_limits){
		.max_request_line = conf->http.max_request_line,
		.max_header_bytes = conf->http.max_header_bytes,
		.max_headers = conf->http.max_headers,
		.max_body = conf->http.max_body,
	};
	hp->max_clients = conf->tcp.max_conns / 2;
	hp->max_xchgs = RTE_MIN(conf->http.max_inflight, hp->max_clients);
	hp->clients = rte_zmalloc_socket("sl_h1_clients",
		(size_t)hp->max_clients * sizeof(*hp->clients), RTE_CACHE_LINE_SIZE,
		socket);
	hp->xchgs = rte_zmalloc_socket("sl_h1_xchgs",
		(size_t)hp->max_xchgs * sizeof(*hp->xchgs), RTE_CACHE_LINE_SIZE,
		socket);
	/* Sized to the layout's capacities so that a reload never reallocates. */
	hp->pool_base = rte_zmalloc_socket("sl_h1", (conf->pool_cap + 1) * sizeof(uint32_t),
					   0, socket);
	/* Twice the clients, so that a probe window is rarely full. */
	hp->slow_addr_mask = (uint32_t)rte_align32pow2(2 * hp->max_clients) - 1;
	hp->slow_addrs = rte_zmalloc_socket("sl_h1_slow",
		((size_t)hp->slow_addr_mask + 1) * sizeof(*hp->slow_addrs), 0, socket);
	hp->slow_addr_seed = (uint32_t)rte_rand();
	hp->slow_first = hp->slow_last = SLOW_NONE;
	if (hp->clients == NULL || hp->xchgs == NULL ||
	    hp->pool_base == NULL || hp->slow_addrs == NULL)
		goto nomem;
	n_backends = conf->slot_cap;
	hp->idle = rte_zmalloc_socket("sl_h1_idle", (n_backends + 1) * sizeof(*hp->idle),
				      0, socket);
	hp->route_base = rte_zmalloc_socket("sl_h1", (conf->n_listeners + 1) *
					    sizeof(uint32_t), 0, socket);
	if (hp->idle == NULL || hp->route_base == NULL)
		goto nomem;
	h1_layout(hp);
	hp->n_route_hists = conf->route_slot_cap;
	hp->n_backend_hists = n_backends;
	hp->route_total = rte_zmalloc_socket("sl_h1_hist", (hp->n_route_hists + 1) *
					     sizeof(struct sl_hist), 0, socket);
	hp->route_upstream = rte_zmalloc_socket("sl_h1_hist", (hp->n_route_hists + 1) *
						sizeof(struct sl_hist), 0, socket);
	hp->backend_total = rte_zmalloc_socket("sl_h1_hist", (n_backends + 1) *
					       sizeof(struct sl_hist), 0, socket);
	hp->backend_upstream = rte_zmalloc_socket("sl_h1_hist", (n_backends + 1) *
						  sizeof(struct sl_hist), 0, socket);
	if (hp->route_total == NULL || hp->route_upstream == NULL ||
	    hp->backend_total == NULL || hp->backend_upstream == NULL)
		goto nomem;
	for (uint32_t b = 0; b < n_backends; b++) {
		hp->idle[b].conns = rte_zmalloc_socket("sl_h1_idle",
			(conf->http.upstream_pool_max + 1) * sizeof(void *), 0, socket);
		hp->idle[b].since_tsc = rte_zmalloc_socket("sl_h1_idle",
			(conf->http.upstream_pool_max + 1) * sizeof(uint64_t), 0, socket);
		if (hp->idle[b].conns == NULL || hp->idle[b].since_tsc == NULL)
			goto nomem;
	}
	hp->free_clients = hp->free_xchgs = UINT32_MAX;
	for (uint32_t i = hp->max_clients; i-- > 0; ) {
		hp->clients[i].free_next = hp->free_clients;
		hp->free_clients = i;
	}
	for (uint32_t i = hp->max_xchgs; i-- > 0; ) {
		hp->xchgs[i].free_next = hp->free_xchgs;
		hp->free_xchgs = i;
	}
	for (unsigned int i = 0; i < conf->n_listeners; i++) {
		if (conf->listeners[i].mode != SL_MODE_HTTP)
			continue;
		if (hp->n_listeners == SL_PROXY_MAX_LISTENERS)
			goto fail;
		hp->listeners[hp->n_listeners].hp = hp;
		hp->listeners[hp->n_listeners].listener = (uint16_t)i;
		/* Route tables are read-only and shared by every worker: they
		 * belong to the config generation, which frees them. */
		hp->listeners[hp->n_listeners].routes = gen->routes[i];
		if (hp->listeners[hp->n_listeners].routes == NULL)
			goto fail;
		if (sl_tcp_listen(tcp, conf->listeners[i].addr, conf->listeners[i].port,
				  h1_accept, &hp->listeners[hp->n_listeners]) != 0)
			goto fail;
		hp->n_listeners++;
	}
	if (h1_lb_init(hp, socket) != 0 || h1_health_init(hp, socket) != 0)
		goto nomem;
	idle_owner[tcp->lc->lcore_id < RTE_MAX_LCORE ? tcp->lc->lcore_id : 0] = hp;
	sl_timer_init(&hp->idle_sweep, idle_sweep_fire);
	sl_timer_arm(&tcp->wheel, &hp->idle_sweep, ms_ticks(1000));
	return hp;
nomem:
	rte_errno = ENOMEM;
fail:
	sl_h1_free(hp);
	return NULL;
}

void
sl_h1_free(struct sl_h1_proxy *hp)
{
	if (hp == NULL)
		return;
	if (hp->tcp != NULL)
		sl_timer_cancel(&hp->tcp->wheel, &hp->idle_sweep);
	if (hp->idle != NULL)
		for (uint32_t b = 0; b < hp->n_backend_hists; b++) {
			rte_free(hp->idle[b].conns);
			rte_free(hp->idle[b].since_tsc);
		}
	/* Exchanges hold only mbufs the TCP stack frees with its queues,
	 * plus their own to_up queues. */
	if (hp->xchgs != NULL)
		for (uint32_t i = 0; i < hp->max_xchgs; i++)
			if (hp->xchgs[i].to_up.n > 0)
				sl_mq_free(&hp->xchgs[i].to_up);
	if (hp->clients != NULL)
		for (uint32_t i = 0; i < hp->max_clients; i++)
			if (hp->clients[i].conn != NULL)
				sl_mq_free(&hp->clients[i].pending);
	h1_health_free(hp);
	h1_lb_free(hp);
	rte_free(hp->idle);
	rte_free(hp->route_base);
	rte_free(hp->route_total);
	rte_free(hp->route_upstream);
	rte_free(hp->backend_total);
	rte_free(hp->backend_upstream);
	rte_free(hp->pool_base);
	rte_free(hp->xchgs);
	rte_free(hp->slow_addrs);
	rte_free(hp->clients);
	rte_free(hp);
}

/* Close every pooled connection of slot g (its backend is going away). */
static void
idle_close_slot(struct sl_h1_proxy *hp, uint32_t g)
{
	struct sl_h1_idle *idle = &hp->idle[g];

	while (idle->n > 0) {
		struct sl_tcp_conn *c = idle->conns[--idle->n];

		c->ops = NULL;
		sl_tcp_shutdown(hp->tcp, c);
		h1_lb_conn_g(hp, g, -1);
		hp->stats.upstream_idle_closed++;
	}
}

static bool
routes_equal(const struct sl_conf_listener *a, const struct sl_conf_listener *b)
{
	if (a->n_routes != b->n_routes || a->pool != b->pool)
		return false;
	for (unsigned int r = 0; r < a->n_routes; r++) {
		const struct sl_conf_http_route *x = &a->routes[r], *y = &b->routes[r];

		if (strcmp(x->host, y->host) != 0 ||
		    strcmp(x->path_prefix, y->path_prefix) != 0 ||
		    x->methods != y->methods || x->pool != y->pool ||
		    x->rate_limit.rps != y->rate_limit.rps ||
		    x->rate_limit.burst != y->rate_limit.burst)
			return false;
	}
	return true;
}

void
sl_h1_adopt(struct sl_h1_proxy *hp, const struct sl_gen *gen)
{
	const struct sl_conf *old = hp->conf, *conf = gen->conf;

	hp->conf = conf;
	hp->limits = (struct sl_http_limits){
		.max_request_line = conf->http.max_request_line,
		.max_header_bytes = conf->http.max_header_bytes,
		.max_headers = conf->http.max_headers,
		.max_body = conf->http.max_body,
	};
	h1_layout(hp);
	h1_lb_keys(hp);
	for (unsigned int i = 0; i < hp->n_listeners; i++) {
		unsigned int l = hp->listeners[i].listener;
		uint32_t base = hp->route_base[l], cap = conf->listeners[l].route_cap;

		hp->listeners[i].routes = gen->routes[l];
		if (routes_equal(&old->listeners[l], &conf->listeners[l]))
			continue;
		/* Route slots are by position: a changed route list starts its
		 * latency histograms and rate buckets afresh. */
		memset(&hp->route_total[base], 0, cap * sizeof(struct sl_hist));
		memset(&hp->route_upstream[base], 0, cap * sizeof(struct sl_hist));
		memset(&hp->route_buckets[base], 0, cap * sizeof(hp->route_buckets[0]));
		h1_lb_route_buckets(hp, l);
	}
	for (unsigned int p = 0; p < conf->n_pools; p++) {
		const struct sl_conf_pool *cp = &conf->pools[p];

		/* A balancer's position means nothing over a new backend set. */
		if (p >= old->n_pools || old->pools[p].n_backends != cp->n_backends ||
		    old->pools[p].policy != cp->policy)
			memset(&hp->cursors[p], 0, sizeof(hp->cursors[p]));
		for (unsigned int b = 0; b < cp->n_backends; b++)
			if (cp->backends[b].removed)
				idle_close_slot(hp, cp->slot_base + b);
	}
	h1_health_adopt(hp, old);
}
