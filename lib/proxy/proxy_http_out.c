/*
 * What the HTTP proxy writes: bytes copied into mbufs and queued on a
 * connection, bodies in their framing, and the small error responses the
 * gateway answers with itself (their statuses in sl_http_status.def).
 */
#include <stdio.h>
#include <string.h>

#include "sl_alog.h"
#include "sl_conf.h"
#include "sl_core.h"
#include "sl_http.h"
#include "sl_lcore_types.h"
#include "sl_session.h"
#include "sl_upstream.h"
#include "proxy_fmt.h"
#include "proxy_http_private.h"

/* ---- small output helpers ------------------------------------------- */

/* Inline where it runs for every write; h1_to_mq for the other files. */
static inline int
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
queue_mq(struct sl_session *c, struct sl_mq *q)
{
	struct rte_mbuf *m;

	while ((m = sl_mq_pop(q)) != NULL)
		sl_session_send(c, m);
}

void
h1_send_mq(struct sl_session *c, struct sl_mq *q)
{
	queue_mq(c, q);
	sl_session_flush(c);
}

int
h1_to_mq(struct sl_h1_proxy *hp, struct sl_mq *q, const char *data, size_t len)
{
	return to_mq(hp, q, data, len);
}

static inline void
queue_bytes(struct sl_h1_proxy *hp, struct sl_session *c, const char *data,
	    size_t len)
{
	struct sl_mq q;

	sl_mq_init(&q);
	if (to_mq(hp, &q, data, len) != 0) {
		sl_mq_free(&q);
		return;
	}
	queue_mq(c, &q);
}

void
h1_queue_bytes(struct sl_h1_proxy *hp, struct sl_session *c, const char *data,
	       size_t len)
{
	queue_bytes(hp, c, data, len);
}

void
h1_send_bytes(struct sl_h1_proxy *hp, struct sl_session *c, const char *data,
	      size_t len)
{
	queue_bytes(hp, c, data, len);
	sl_session_flush(c);
}

void
h1_send_body(struct sl_h1_proxy *hp, struct sl_session *c, struct sl_mq *pending,
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
		h1_send_mq(c, &q);
	else
		sl_mq_splice(pending, &q);
}

/*
 * x->to_up waits for the backend connection to open: its mbufs are held
 * on that connection (billed to the client's address), so they count in
 * the caps as its send queue will. `before`: to_up.n before the change.
 */
void
h1_to_up_held(struct sl_h1_xchg *x, uint32_t before)
{
	if (x->up != NULL && x->to_up.n != before)
		sl_session_hold(x->up, (int32_t)x->to_up.n - (int32_t)before);
}

/* ---- statuses ---------------------------------------------------------- */

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

/* ---- the gateway's own responses -------------------------------------- */

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
			m = sl_session_peek(cl->conn);
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

bool
h1_client_input_is_head(const struct sl_h1_client *cl)
{
	return client_input_head_kind(cl) == INPUT_HEAD;
}

void
h1_client_error_ex(struct sl_h1_client *cl, unsigned int status, const char *extra)
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

	h1_count_status(hp, status, true);
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
		h1_xchg_free(hp, x, status == 408 ? SL_ALOG_TERM_CLIENT_CLOSED :
			     SL_ALOG_TERM_REJECTED, false);
	}
	cl->flags |= CL_CLOSING;
	h1_slow_leave(cl);
	if (cl->conn != NULL) {
		h1_client_discard_input(cl);
		h1_send_bytes(hp, cl->conn, buf, (size_t)n);
		sl_session_shutdown(cl->conn);
	}
}

void
h1_refuse(struct sl_h1_client *cl, enum sl_up_refusal why)
{
	char hdr[96];

	if (why == SL_UP_REFUSE_none_available) {
		h1_client_error(cl, 503);
		return;
	}
	cl->hp->stats.overloaded++;
	snprintf(hdr, sizeof(hdr), "x-sluice-overloaded: %s\r\n",
		 sl_up_refusal_names[why]);
	h1_client_error_ex(cl, 503, hdr);
}
