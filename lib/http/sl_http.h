#ifndef SL_HTTP_H
#define SL_HTTP_H

/*
 * Incremental HTTP/1.1 message parser, for requests and for responses.
 *
 * It allocates nothing, needs no EAL, and never copies body bytes. Feed it
 * the payload of consecutive TCP segments, each a contiguous buffer; it is a
 * resumable state machine, so a message may be split at any byte.
 *
 * Pull model. Each sl_http_parse() call reports at most one event and
 * returns how many bytes of `buf` it consumed; the caller advances and calls
 * again until NEED_MORE (or ERROR):
 *
 *	size_t off = 0;
 *	for (;;) {
 *		off += sl_http_parse(p, buf + off, len - off, &ev);
 *		if (ev.type == SL_HTTP_EV_NEED_MORE) break;  // off == len
 *		if (ev.type == SL_HTTP_EV_ERROR) { reply ev.error.status; close }
 *		... handle ev ...
 *	}
 *
 * Events of one message, in order:
 *	REQUEST_LINE or STATUS_LINE
 *	HEADER *            one per field line, in wire order
 *	HEADERS_DONE        framing decided (.head)
 *	BODY *              payload only; never empty; chunked framing removed
 *	TRAILER *           chunked only: fields of the trailer section
 *	MESSAGE_DONE
 * and then the next message (pipelining; after a 1xx response, the final
 * response). An event may consume 0 bytes (MESSAGE_DONE after a body, for
 * one), so keep calling while the event is not NEED_MORE, even with len 0.
 * A call with len 0 is *not* end of stream: use sl_http_parse_eof().
 *
 * Slices. Every slice in an event points either into `buf` of the call that
 * returned it, or into the parser's scratch area when the line it belongs to
 * arrived split over several calls (the whole line is gathered then, so name
 * and value of a field are always slices of one line). A slice is valid
 * until the next sl_http_parse(), sl_http_parse_eof() or init call on this
 * parser, and only while the caller keeps `buf` alive: copy what must
 * outlive that. The parser keeps no pointer into `buf` between calls.
 * Each line's `raw` slice (CRLF excluded) lets a proxy forward it
 * byte-exact.
 *
 * Strictness (RFC 9112 / RFC 9110; no request can be smuggled past it):
 * - Lines end in CRLF. A bare LF (even in a request, which RFC 9112 2.2
 *   would let us accept) and a CR not followed by LF are rejected anywhere.
 * - Up to SL_HTTP_EMPTY_LINES_MAX empty lines before a request line are
 *   ignored; more, or any before a status line, are rejected.
 * - Request line: method token, one SP, request-target of visible ASCII
 *   only (no SP, CTL or byte >= 0x80) in a form valid for the method
 *   (origin "/...", absolute "scheme:...", authority for CONNECT, "*" for
 *   OPTIONS), one SP, and exactly "HTTP/1.0" or "HTTP/1.1". Another
 *   well-formed HTTP/DIGIT.DIGIT gets 505; anything else 400. With an
 *   absolute-form target, its authority overrides Host (RFC 9112 3.2.2):
 *   route on it. CONNECT parses, but the response parser knows nothing of
 *   tunnels (a 2xx to CONNECT would read as a close-delimited body), so a
 *   proxy should refuse CONNECT.
 * - Status line: HTTP-version SP 3DIGIT (100-599) [ SP reason ]; the SP
 *   after the code may be missing (common in practice, harmless).
 * - Field lines: a token name directly followed by ':' (whitespace before
 *   the colon is rejected); values of VCHAR, obs-text, SP and HTAB only.
 *   A line starting with SP/HTAB (obs-fold) is rejected.
 * - Content-Length: 1*DIGIT, at most 2^63-1. A second Content-Length is
 *   rejected even when equal to the first (RFC 9110 8.6 would let a
 *   recipient merge equal values; strict rejection leaves nothing to
 *   disagree about). Comma lists, signs and inner spaces are rejected.
 * - Transfer-Encoding: a comma list of bare tokens (no parameters, no empty
 *   elements), possibly over several fields. The final coding must be
 *   "chunked" (case-insensitive) and chunked may appear once: otherwise 400.
 *   Only chunked is implemented, so any coding before it gets 501. Present
 *   with Content-Length: 400. In an HTTP/1.0 message: 400. The same rules
 *   apply to responses (where RFC 9112 would fall back to reading until
 *   close); a proxy answers 502 for any response error.
 * - Host: more than one, or characters outside uri-host[:port], is an
 *   error. A missing Host in an HTTP/1.1 request is *not* a parse error: it
 *   is flagged (no SL_HTTP_F_HOST) and sl_http_request_verdict() says 400.
 * - Chunked: chunk-size is 1*HEXDIG (<= 2^63-1, leading zeros fine), then
 *   chunk extensions (BWS ";" BWS token [BWS "=" BWS token/quoted-string]),
 *   checked and ignored; no whitespace otherwise. Chunk data must be
 *   followed by CRLF. Trailer fields are checked like header fields (limits
 *   counted afresh) and reported as TRAILER events, not interpreted.
 *
 * Limits (struct sl_http_limits, errors 414, 431, 413): checked as bytes
 * arrive, so a peer cannot make the parser wait on an over-long line.
 * A Content-Length over max_body fails at the end of the header section
 * (before any body byte, so a client sending Expect: 100-continue is told
 * 413 at once); chunked bodies fail at the chunk-size line that would go
 * over; close-delimited bodies after delivering exactly max_body bytes.
 *
 * Responses. sl_http_parser_init_response() takes whether the request was
 * HEAD. Then: 1xx, 204, 304 and responses to HEAD have no body (whatever
 * their Content-Length / Transfer-Encoding say, which are still checked);
 * a 1xx is a complete message, followed by more responses to the same
 * request. After a 101 the stream belongs to another protocol: the parser
 * reports MESSAGE_DONE, and the bytes after it (from buf + consumed on) are
 * the new protocol's; fed more (len > 0), it reports ERROR CLOSED. Without
 * Content-Length or Transfer-Encoding the body runs until end of stream:
 * sl_http_parse_eof() then reports MESSAGE_DONE.
 */
#include "sl_http_types.h"

/*
 * Start parsing requests (one parser per client connection). `lim` is
 * copied; NULL means SL_HTTP_LIMITS_DEFAULT. Cheap: the scratch area is not
 * cleared.
 */
void
sl_http_parser_init_request(struct sl_http_parser *p,
			    const struct sl_http_limits *lim);

/*
 * Start parsing the response(s) to one request. Responses that follow on
 * the same stream are parsed with the same `request_was_head`: to parse the
 * response to another request, call this again after its predecessor's
 * MESSAGE_DONE (the parser then holds no bytes, nothing is lost).
 */
void
sl_http_parser_init_response(struct sl_http_parser *p,
			     const struct sl_http_limits *lim,
			     bool request_was_head);

/*
 * Consume bytes of `buf` (len may be 0; buf may then be NULL) and report
 * the next event in *ev. Returns the bytes consumed: all of them for
 * NEED_MORE; for ERROR, those examined up to and including the offending
 * line. After an ERROR the parser is stuck: every later call reports the
 * same error and consumes 0. Never reads outside buf[0..len).
 */
size_t
sl_http_parse(struct sl_http_parser *p, const char *buf, size_t len,
	      struct sl_http_event *ev);

/*
 * The peer closed its side. Reports, in *ev: MESSAGE_DONE if that ends a
 * close-delimited body, or if a MESSAGE_DONE was still due; EOF if the
 * stream ended cleanly between messages; ERROR TRUNCATED if it ended inside
 * a message. Call again after MESSAGE_DONE to get EOF. Afterwards, feeding
 * more input (len > 0) is an ERROR CLOSED; len 0 gives NEED_MORE.
 */
void
sl_http_parse_eof(struct sl_http_parser *p, struct sl_http_event *ev);

/* Where the parser stands, for timeouts (408 only while in HEAD). */
enum sl_http_phase {
	SL_HTTP_PHASE_IDLE,     /* between messages, no byte of the next yet */
	SL_HTTP_PHASE_HEAD,     /* start line or field section under way */
	SL_HTTP_PHASE_BODY,     /* after HEADERS_DONE, before MESSAGE_DONE */
	SL_HTTP_PHASE_END,      /* closed or failed */
};

static inline enum sl_http_phase
sl_http_parser_phase(const struct sl_http_parser *p)
{
	switch (p->state) {
	case SL_HTTP_S_START:
		return p->scratch_len == 0 && p->empty_lines == 0 ?
			SL_HTTP_PHASE_IDLE : SL_HTTP_PHASE_HEAD;
	case SL_HTTP_S_FIELDS:
		return SL_HTTP_PHASE_HEAD;
	case SL_HTTP_S_CLOSED:
	case SL_HTTP_S_ERROR:
		return SL_HTTP_PHASE_END;
	default:
		return SL_HTTP_PHASE_BODY;
	}
}

/*
 * For a request's HEADERS_DONE: the status the server must still answer
 * although parsing succeeded, or 0. Today: 400 for an HTTP/1.1 request
 * without Host (RFC 9112 3.2).
 */
static inline unsigned int
sl_http_request_verdict(const struct sl_http_head *h)
{
	if (h->version_minor >= 1 && !(h->flags & SL_HTTP_F_HOST))
		return 400;
	return 0;
}

/*
 * A request head, scanned before a parser or any buffer is committed to
 * it: the bytes are fed as they arrive (buf may be NULL when len is 0), and
 * the scan stops at the first byte that decides. INVALID comes at the first
 * byte of the request line that no valid request line has there (a TLS
 * ClientHello's first byte, say); COMPLETE when the empty line ending the
 * head is seen, or a bare LF the parser will refuse, so that the parser
 * gives the exact verdict. LINE_TOO_LONG and TOO_LARGE apply `lim` as the
 * parser does (the field bound with 2 bytes of slack: the parser is exact).
 */
void
sl_http_head_scan_init(struct sl_http_head_scan *s);

enum sl_http_scan
sl_http_head_scan(struct sl_http_head_scan *s, const char *buf, size_t len,
		  const struct sl_http_limits *lim);

/*
 * An absolute-form target "http://authority/rest" (or https): its
 * authority (never with userinfo) and the rest ("/path?query", "?query" or
 * empty). 0, or -1 when the target names no http(s) origin.
 */
int
sl_http_target_split(struct sl_http_slice target, struct sl_http_slice *authority,
		     struct sl_http_slice *rest);

/*
 * Remove dot-segments (RFC 3986 5.2.4) from an origin-form target's path
 * into out[0..cap), the query copied unchanged. Percent-encoded octets are
 * not decoded: "%2e%2e" and "%2f" are not separators. The length written,
 * or -1 when `in` does not start with '/' or out is too small.
 */
long
sl_http_path_normalize(const char *in, size_t n, char *out, size_t cap);

/* "bare_cr", for counters; NULL when out of range. */
const char *
sl_http_error_name(enum sl_http_error e);

/* One line describing an error, for docs and logs. */
const char *
sl_http_error_desc(enum sl_http_error e);

/* The status a server answers to a request failing with `e` (400...505). */
unsigned int
sl_http_error_status(enum sl_http_error e);

/* "GET"; "OTHER" for SL_HTTP_M_OTHER. */
const char *
sl_http_method_name(enum sl_http_method m);

/* The method named by the token s[0..n), case-sensitive; OTHER if none. */
enum sl_http_method
sl_http_method_parse(const char *s, size_t n);

/* RFC 9110 9.2.2: a request that may be retried after a failure. */
static inline bool
sl_http_method_idempotent(enum sl_http_method m)
{
	switch (m) {
	case SL_HTTP_M_GET:
	case SL_HTTP_M_HEAD:
	case SL_HTTP_M_PUT:
	case SL_HTTP_M_DELETE:
	case SL_HTTP_M_OPTIONS:
	case SL_HTTP_M_TRACE:
		return true;
	default:
		return false;
	}
}

/* RFC 9110 9.2.1. */
static inline bool
sl_http_method_safe(enum sl_http_method m)
{
	return m == SL_HTTP_M_GET || m == SL_HTTP_M_HEAD ||
	       m == SL_HTTP_M_OPTIONS || m == SL_HTTP_M_TRACE;
}

/*
 * Walk a comma-separated list value (RFC 9110 5.6.1), e.g. Connection:
 * start with *pos = 0; each call stores the next non-empty element, OWS
 * trimmed, in *elem and returns true; false at the end.
 */
bool
sl_http_list_next(struct sl_http_slice list, size_t *pos,
		  struct sl_http_slice *elem);

/*
 * Case-insensitive (ASCII) equality of `s` with the lower-case `lit`.
 * Inline: with a literal, its length is known at compile time, and most
 * comparisons end at the length (the proxy asks this of every field).
 */
static inline bool
sl_http_token_eq(struct sl_http_slice s, const char *lit)
{
	size_t n = __builtin_strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.ptr[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (c != (unsigned char)lit[i])
			return false;
	}
	return true;
}

/*
 * A hop-by-hop field name (RFC 9110 7.6.1) that a proxy must not forward:
 * connection, keep-alive, proxy-connection, te, trailer,
 * transfer-encoding, upgrade (any case). Asked of every field a proxy
 * relays, so it dispatches on the length first.
 */
static inline bool
sl_http_hop_by_hop(struct sl_http_slice name)
{
	switch (name.len) {
	case 2:
		return sl_http_token_eq(name, "te");
	case 7:
		return sl_http_token_eq(name, "trailer") ||
		       sl_http_token_eq(name, "upgrade");
	case 10:
		return sl_http_token_eq(name, "connection") ||
		       sl_http_token_eq(name, "keep-alive");
	case 16:
		return sl_http_token_eq(name, "proxy-connection");
	case 17:
		return sl_http_token_eq(name, "transfer-encoding");
	default:
		return false;
	}
}

#endif
