#ifndef PROXY_HTTP_HEAD_H
#define PROXY_HTTP_HEAD_H

/*
 * Head rewriting: the request and response heads as the proxy passes them
 * on, built in x->head. Hop-by-hop fields and the ones the Connection
 * field names are stripped; X-Forwarded-For, X-Forwarded-Proto, Via and
 * (when absent) X-Request-Id are added; every other field is passed on
 * byte for byte.
 *
 * Inline: these run for every field of every request and response, from
 * one place each (requests in proxy_http.c, responses in
 * proxy_http_upstream.c), and a call per field would cost more than the
 * work. What only some requests need is in proxy_http_head.c.
 */
#include <string.h>

#include "sl_core.h"
#include "sl_http.h"
#include "sl_lcore_types.h"
#include "sl_session_types.h"
#include "proxy_fmt.h"
#include "proxy_http_private.h"

/* Does the Connection field name a field the proxy cannot drop? */
bool
h1_head_conn_forbidden(const struct sl_h1_xchg *x);

/* Remove field lines whose names the Connection field listed. */
void
h1_head_strip_conn(struct sl_h1_xchg *x, uint32_t fields_from);

static inline void
head_field(struct sl_h1_xchg *x, struct sl_http_slice raw)
{
	h1_head_add(x, raw.ptr, raw.len);
	h1_head_add(x, "\r\n", 2);
}

static inline bool
header_is(struct sl_http_slice name, const char *lit)
{
	return sl_http_token_eq(name, lit);
}

/* Hop-by-hop fields (RFC 9110 7.6.1) never cross the proxy. */
static inline bool
hop_by_hop(struct sl_http_slice name)
{
	return sl_http_hop_by_hop(name);
}

/* ---- the request ------------------------------------------------------- */

/*
 * Write the target the backend will get, which is also the one routed:
 * origin-form with dot-segments removed. An absolute-form target gives up
 * its authority as the Host. false: a target that names no http origin.
 */
static inline bool
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
			h1_head_add(x, "/", 1);   /* "http://h" and "http://h?q" */
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
		h1_head_add(x, t.ptr, t.len);
	}
	x->target_len = x->head_len - x->target_off;
	{
		size_t len = RTE_MIN((size_t)x->target_len, sizeof(x->path) - 1);

		memcpy(x->path, x->head + x->target_off, len);
		x->path[len] = '\0';
	}
	return true;
}

static inline bool
h1_head_request_line(struct sl_h1_xchg *x, const struct sl_http_request_line *rl)
{
	h1_head_add(x, rl->method_str.ptr, rl->method_str.len);
	h1_head_add(x, " ", 1);
	if (!request_target(x, rl))
		return false;
	h1_head_str(x, " HTTP/1.1\r\n");
	if (x->flags & XF_ABS_FORM) {
		/* RFC 9112 3.2.2: the target's authority is the Host. */
		h1_head_str(x, "Host: ");
		h1_head_add(x, x->host, x->host_len);
		h1_head_str(x, "\r\n");
	}
	return true;
}

/* Several Connection fields make one list (RFC 9110 5.3). */
static inline unsigned int
request_connection(struct sl_h1_xchg *x, struct sl_http_slice value)
{
	/* One too long to keep whole is refused, since a clipped name could
	 * be the wrong one. */
	size_t sep = x->conn_len > 0, n = value.len;

	if (x->conn_len + sep + n > sizeof(x->conn_fields))
		return 400;
	if (sep)
		x->conn_fields[x->conn_len] = ',';
	memcpy(x->conn_fields + x->conn_len + sep, value.ptr, n);
	x->conn_len = (uint16_t)(x->conn_len + sep + n);
	return 0;
}

static inline unsigned int
h1_head_request_field(struct sl_h1_client *cl, struct sl_h1_xchg *x,
		      const struct sl_http_field *f)
{
	struct sl_h1_proxy *hp = cl->hp;

	if (header_is(f->name, "connection"))
		return request_connection(x, f->value);
	if (hop_by_hop(f->name))
		return 0;
	if (header_is(f->name, "host")) {
		/* An absolute-form target's authority replaced it. */
		if (x->flags & XF_ABS_FORM)
			return 0;
		if (f->value.len > sizeof(x->host))
			return 400;
		x->host_len = (uint16_t)f->value.len;
		memcpy(x->host, f->value.ptr, x->host_len);
	} else if (header_is(f->name, "x-forwarded-for")) {
		char ip[24], *e;

		x->flags |= XF_HAS_XFF;
		head_field(x, f->raw);
		/* Append ourselves to the chain: replace the CRLF
		 * (", %u.%u.%u.%u\r\n"). */
		x->head_len -= 2;
		e = SL_FMT_LIT(ip, ", ");
		e = sl_fmt_ipv4(e, cl->client_ip);
		e = SL_FMT_LIT(e, "\r\n");
		h1_head_add(x, ip, (size_t)(e - ip));
		return 0;
	} else if (header_is(f->name, "x-request-id")) {
		x->flags |= XF_HAS_XRID;
	}
	if (hp->n_keys > 0)
		h1_lb_field(hp, x, f->name, f->value);
	head_field(x, f->raw);
	return 0;
}

static inline unsigned int
h1_head_request_end(struct sl_h1_client *cl, struct sl_h1_xchg *x,
		    const struct sl_http_head *h, uint32_t fields_from)
{
	struct sl_h1_proxy *hp = cl->hp;
	char line[128], *e;

	if (h->flags & SL_HTTP_F_CONN_OTHER) {
		if (h1_head_conn_forbidden(x)) {
			hp->stats.conn_forbidden++;
			return 400;
		}
		h1_head_strip_conn(x, fields_from);
	}
	if (!(x->flags & XF_HAS_XFF)) {
		/* "X-Forwarded-For: %u.%u.%u.%u\r\n" */
		e = SL_FMT_LIT(line, "X-Forwarded-For: ");
		e = sl_fmt_ipv4(e, cl->client_ip);
		e = SL_FMT_LIT(e, "\r\n");
		h1_head_add(x, line, (size_t)(e - line));
	}
	h1_head_str(x, "X-Forwarded-Proto: http\r\nVia: 1.1 sluice\r\n");
	if (!(x->flags & XF_HAS_XRID)) {
		/* "X-Request-Id: %08x-%u-%08x\r\n" */
		e = SL_FMT_LIT(line, "X-Request-Id: ");
		e = sl_fmt_hex(e, (uint32_t)(x->start_tsc >> 16), 8);
		*e++ = '-';
		e = sl_fmt_u32(e, hp->tcp->lc->lcore_id);
		*e++ = '-';
		e = sl_fmt_hex(e, ++hp->request_seq, 8);
		e = SL_FMT_LIT(e, "\r\n");
		h1_head_add(x, line, (size_t)(e - line));
	}
	if (h->body == SL_HTTP_BODY_CHUNKED) {
		x->flags |= XF_REQ_CHUNKED;
		h1_head_str(x, "Transfer-Encoding: chunked\r\n");
	}
	h1_head_str(x, "\r\n");
	if (x->flags & XF_HEAD_OVER) {
		/* Within the limits as sent, over the buffer as rewritten. */
		hp->stats.head_overflow++;
		return 431;
	}
	return 0;
}

/* ---- the response ------------------------------------------------------ */

static inline void
h1_head_response_line(struct sl_h1_xchg *x, const struct sl_http_status_line *sl)
{
	char line[32], *e;

	x->head_len = 0;
	x->target_off = x->target_len = 0;
	x->flags |= XF_RESP_LINE;
	x->status = sl->status;
	/* "HTTP/1.1 %u " */
	e = SL_FMT_LIT(line, "HTTP/1.1 ");
	e = sl_fmt_u32(e, sl->status);
	*e++ = ' ';
	h1_head_add(x, line, (size_t)(e - line));
	h1_head_add(x, sl->reason.ptr, sl->reason.len);
	h1_head_str(x, "\r\n");
}

static inline void
h1_head_response_field(struct sl_h1_xchg *x, const struct sl_http_field *f)
{
	if (!hop_by_hop(f->name))
		head_field(x, f->raw);
}

static inline void
h1_head_response_end(struct sl_h1_proxy *hp, struct sl_h1_xchg *x,
		     const struct sl_http_head *h)
{
	h1_head_str(x, "Via: 1.1 sluice\r\n");
	if (h->body == SL_HTTP_BODY_CHUNKED && !(x->flags & XF_CLIENT_10)) {
		x->flags |= XF_RESP_CHUNKED;
		h1_head_str(x, "Transfer-Encoding: chunked\r\n");
	}
	/* HTTP/1.0 has no chunked coding: such a body ends at close. */
	if (h->body == SL_HTTP_BODY_CLOSE ||
	    (h->body == SL_HTTP_BODY_CHUNKED && (x->flags & XF_CLIENT_10)))
		x->flags |= XF_CLOSE_AFTER;
	/* Draining: the client learns it from this response, and the
	 * connection closes after it (response_done). */
	if (unlikely(hp->draining) && !(x->flags & XF_CLOSE_AFTER)) {
		x->flags |= XF_CLOSE_AFTER;
		hp->stats.drain_keepalive_closed++;
	}
	if (x->flags & XF_CLOSE_AFTER)
		h1_head_str(x, "Connection: close\r\n");
	else if (x->flags & XF_CLIENT_10)
		h1_head_str(x, "Connection: keep-alive\r\n");
	h1_head_str(x, "\r\n");
}

#endif
