#ifndef PROXY_HTTP_PRIVATE_H
#define PROXY_HTTP_PRIVATE_H

/* Internal to the HTTP proxy: shared by proxy_http.c and proxy_http_lb.c. */

#include "sl_proxy_http.h"
#include "sl_upstream_types.h"

/* client flags */
#define CL_CLOSING   0x01   /* no more requests: closing after the response */
#define CL_SLOW      0x02   /* on the slow-head list */
#define CL_ADDR      0x04   /* counted in slow_addrs */
#define CL_IDLE      0x08   /* keep-alive: waiting for the next request */
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

void
h1_send_bytes(struct sl_h1_proxy *hp, struct sl_tcp_conn *c, const char *data,
	      size_t len);

/* Active health checks (proxy_health.c): run by worker 0 only. */
int
h1_health_init(struct sl_h1_proxy *hp, int socket);

void
h1_health_free(struct sl_h1_proxy *hp);

/* A reload was adopted (hp->conf is new): stop checks of what is gone,
 * start checks of what is new, keep the rest running. */
void
h1_health_adopt(struct sl_h1_proxy *hp, const struct sl_conf *old);

#endif
