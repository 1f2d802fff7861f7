/*
 * Head rewriting, the part off the per-request path: a request whose
 * Connection field names other fields. The rest of head rewriting is
 * inlined into the two sides of the exchange (proxy_http_head.h).
 */
#include <string.h>
#include <strings.h>

#include "sl_http.h"
#include "proxy_http_head.h"

/*
 * Does the Connection field name a field the proxy cannot drop? Removing
 * Content-Length or Transfer-Encoding while relaying the body turns the
 * body into requests no route saw; Host decides the route; the fields the
 * proxy adds would lose the proxy's own values. RFC 9110 7.6.1 lets a
 * proxy refuse such a message.
 */
bool
h1_head_conn_forbidden(const struct sl_h1_xchg *x)
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
void
h1_head_strip_conn(struct sl_h1_xchg *x, uint32_t fields_from)
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

