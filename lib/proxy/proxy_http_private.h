#ifndef PROXY_HTTP_PRIVATE_H
#define PROXY_HTTP_PRIVATE_H

/*
 * Internal to the HTTP proxy, shared by its files, one concern each:
 *   proxy_http.c          the exchange state machine, client side: a
 *                         request from the first byte to its backend
 *   proxy_http_upstream.c the exchange state machine, backend side:
 *                         connecting, retrying, relaying the response
 *   proxy_http_head.h/.c  head rewriting (X-Forwarded-For, X-Request-Id,
 *                         Via, hop-by-hop and Connection-named fields)
 *   proxy_http_slow.c     unfinished request heads (the slowloris bounds)
 *   proxy_http_out.c      output helpers and the gateway's own responses
 *   proxy_http_idle.c     the idle upstream pool
 *   proxy_http_setup.c    create, adopt a reload, free
 *   proxy_http_lb.c       balancing, limits and retries' budget
 *   proxy_http_drain.c    the graceful drain
 */

#include <string.h>

#include <rte_branch_prediction.h>

#include "sl_proxy_http.h"
#include "sl_upstream_types.h"

/* client flags */
#define CL_CLOSING   0x01   /* no more requests: closing after the response */
#define CL_SLOW      0x02   /* on the slow-head list */
#define CL_ADDR      0x04   /* counted in slow_addrs */
#define CL_IDLE      0x08   /* keep-alive: waiting for the next request */
/* slow-head list: no neighbour */
#define SLOW_NONE UINT32_MAX
/* exchange states */
enum { X_REQ_HEAD, X_REQ_BODY, X_WAIT_RESP, X_RESP };
/* exchange flags */
#define XF_REQ_CHUNKED  0x0001
#define XF_RESP_CHUNKED 0x0002
#define XF_RESP_STARTED 0x0004
#define XF_HAS_XFF      0x0008
#define XF_HAS_XRID     0x0010
#define XF_CLOSE_AFTER  0x0020
#define XF_UP_REUSED    0x0040
#define XF_UP_KEEPALIVE 0x0080   /* the backend keeps the connection */
#define XF_CLIENT_10    0x0100   /* HTTP/1.0 client: keep-alive must be said */
#define XF_LB_ACTIVE    0x0200   /* a backend is assigned, outcome not yet told */
#define XF_PENDING      0x0400   /* counted in the backend's pending gauge */
#define XF_NO_BODY      0x0800   /* the request has no body: replayable */
#define XF_IDEMPOTENT   0x1000   /* RFC 9110 9.2.2 */
#define XF_RETRY        0x2000   /* counted as a retry in progress */
#define XF_UP_CONNECTED 0x4000   /* the backend connection was established */
#define XF_ABS_FORM     0x8000   /* absolute-form target: Host came from it */
#define XF_HEAD_OVER    0x10000  /* x->head overflowed: never send it */
#define XF_HEAD_HELD    0x20000  /* response head built, not yet queued */
#define XF_RESP_1XX     0x40000  /* an interim response went to the client */
#define XF_RESP_LINE    0x80000  /* x->head holds a response head now, not the request */

int
h1_lb_init(struct sl_h1_proxy *hp, int socket);

void
h1_lb_free(struct sl_h1_proxy *hp);

/* Per-pool hash keys, from hp->conf: at start and when a reload is adopted. */
void
h1_lb_keys(struct sl_h1_proxy *hp);

/* (Re)start the route rate-limit buckets of listener l. */
void
h1_lb_route_buckets(struct sl_h1_proxy *hp, unsigned int l);

/* A request field: remember it when a pool hashes on it. */
void
h1_lb_field(struct sl_h1_proxy *hp, struct sl_h1_xchg *x,
	    struct sl_http_slice name, struct sl_http_slice value);

/* Rate limits and overload shedding: 0 to go on, else the status to send. */
unsigned int
h1_lb_admit(struct sl_h1_proxy *hp, struct sl_h1_xchg *x);

/* Is this lcore shedding new connections? */
bool
h1_lb_shedding(struct sl_h1_proxy *hp);

/* Assign a backend of x->pool (not `exclude`). -1 and *why when refused. */
int
h1_lb_choose(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, int exclude,
	     enum sl_up_refusal *why);

/* Tell the control thread what became of x at its backend; once. */
void
h1_lb_finish(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, enum sl_up_kind kind);

/*
 * A retry in two steps, so that nothing is torn down when none is allowed:
 * pick another backend within the retry budget (-1: no retry), then, after
 * the caller has reported the failed attempt, commit to it.
 */
int
h1_lb_retry_pick(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, bool *probe);

void
h1_lb_retry_commit(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, int b, bool probe);

/* A retry the proxy itself ruled out (why: body, method, attempts...). */
void
h1_lb_retry_refuse(struct sl_h1_proxy *hp, struct sl_h1_xchg *x,
		   enum sl_up_retry_refusal why);

/* x's backend connection is established: it no longer waits. */
void
h1_lb_connected(struct sl_h1_proxy *hp, struct sl_h1_xchg *x);

bool
h1_lb_failure_status(const struct sl_h1_proxy *hp, int pool, unsigned int status);

/* Open backend connections, for limits.max_connections. g: global index. */
void
h1_lb_conn_g(struct sl_h1_proxy *hp, uint32_t g, int delta);

/* Active health checks (proxy_health.c): run by worker 0 only. */
int
h1_health_init(struct sl_h1_proxy *hp, int socket);

void
h1_health_free(struct sl_h1_proxy *hp);

/* A reload was adopted (hp->conf is new): stop checks of what is gone,
 * start checks of what is new, keep the rest running. */
void
h1_health_adopt(struct sl_h1_proxy *hp, const struct sl_conf *old);

/* ---- proxy_http.c: exchanges and the client side ---------------------- */

static inline uint64_t
h1_ms_ticks(uint64_t ms)
{
	return ms;   /* the TCP wheel ticks every millisecond */
}

/* A listener's accept callback: a new client connection. */
int
h1_accept(struct sl_session *c, void *arg);

void
h1_xchg_free(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, uint8_t term,
	     bool up_reusable);

void
h1_client_free(struct sl_h1_client *cl);

/* Drop what the client sent and we will never read: it holds buffers. */
void
h1_client_discard_input(struct sl_h1_client *cl);

/* Read and forward cl's requests as far as the exchange allows. */
void
h1_client_drive(struct sl_h1_client *cl);

/* ---- proxy_http_upstream.c: the backend side ---------------------------- */

/* A connection to x's backend: a pooled one, else a new one. */
struct sl_session *
h1_upstream_get(struct sl_h1_proxy *hp, struct sl_h1_xchg *x);

/* Send x's request head to its (new) backend connection. */
void
h1_upstream_send_head(struct sl_h1_proxy *hp, struct sl_h1_xchg *x);

/* Reset x's backend connection: it will not be reused. */
void
h1_upstream_drop(struct sl_h1_proxy *hp, struct sl_h1_xchg *x);

/* The response so far, to the client, in as few segments as it allows. */
void
h1_upstream_drive(struct sl_h1_xchg *x);

/* ---- head rewriting (the rest in proxy_http_head.h) ----------------------- */

/*
 * Append to the rewritten head. What the proxy adds can push a head that
 * was within the limits past the buffer: then the head is marked and never
 * sent (431 or 502), because a clipped head would let the bytes after it
 * (a chunked body, say) be read as a request of their own.
 */
static inline void
h1_head_add(struct sl_h1_xchg *x, const char *data, size_t len)
{
	if (unlikely(x->head_len + len > sizeof(x->head))) {
		x->flags |= XF_HEAD_OVER;
		return;
	}
	memcpy(x->head + x->head_len, data, len);
	x->head_len += (uint32_t)len;
}

static inline void
h1_head_str(struct sl_h1_xchg *x, const char *s)
{
	h1_head_add(x, s, strlen(s));
}

/* ---- proxy_http_slow.c: unfinished request heads ------------------------ */

void
h1_slow_unlink(struct sl_h1_client *cl);

/* cl's head is complete or given up: off the slow-head list. */
static inline void
h1_slow_leave(struct sl_h1_client *cl)
{
	if (cl->flags & CL_SLOW)
		h1_slow_unlink(cl);
}

/*
 * cl's head is still unfinished after a scan: put it on the slow list (or
 * update what it holds), then enforce the bounds. Returns false when cl
 * itself was closed.
 */
bool
h1_slow_track(struct sl_h1_client *cl);

/* ---- proxy_http_out.c: output and the gateway's own responses ---------- */

/* Copy bytes into fresh mbufs queued on `q`. -1 when the pool is empty. */
int
h1_to_mq(struct sl_h1_proxy *hp, struct sl_mq *q, const char *data, size_t len);

void
h1_send_mq(struct sl_session *c, struct sl_mq *q);

/* Onto c's send queue; out with the next sl_session_flush (coalesced). */
void
h1_queue_bytes(struct sl_h1_proxy *hp, struct sl_session *c, const char *data,
	       size_t len);

void
h1_send_bytes(struct sl_h1_proxy *hp, struct sl_session *c, const char *data,
	      size_t len);

/* Send body bytes, in chunked framing when the message is chunked. */
void
h1_send_body(struct sl_h1_proxy *hp, struct sl_session *c, struct sl_mq *pending,
	     bool chunked, struct sl_http_slice b);

/* x->to_up changed while the backend connection opens: bill the change. */
void
h1_to_up_held(struct sl_h1_xchg *x, uint32_t before);

/*
 * Count a response; err_* only for the ones the gateway itself made.
 * (Inline: once per response, from both sides of the exchange.)
 */
static inline void
h1_count_status(struct sl_h1_proxy *hp, unsigned int status, bool ours)
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

/* Does the unread input start with a HEAD request line? */
bool
h1_client_input_is_head(const struct sl_h1_client *cl);

/*
 * A small, complete error response; the connection closes after it.
 * `extra`: more header lines ("Name: value\r\n"), or NULL.
 */
void
h1_client_error_ex(struct sl_h1_client *cl, unsigned int status, const char *extra);

static inline void
h1_client_error(struct sl_h1_client *cl, unsigned int status)
{
	h1_client_error_ex(cl, status, NULL);
}

/* No backend for x: 503, saying which limit when one refused it. */
void
h1_refuse(struct sl_h1_client *cl, enum sl_up_refusal why);

/* ---- proxy_http_idle.c: the idle upstream pool -------------------------- */

int
h1_idle_init(struct sl_h1_proxy *hp, int socket);

/* Start the idle sweep; this lcore's idle connections find hp. */
void
h1_idle_start(struct sl_h1_proxy *hp);

void
h1_idle_free(struct sl_h1_proxy *hp);

/* A pooled connection to global backend g still fit to send on, or NULL. */
struct sl_session *
h1_idle_take(struct sl_h1_proxy *hp, uint32_t g);

/* Hand x's backend connection back to the pool, or close it. */
void
h1_idle_release(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, bool reusable);

/* Close every pooled connection of slot g (its backend is going away). */
void
h1_idle_close_slot(struct sl_h1_proxy *hp, uint32_t g);

#endif
