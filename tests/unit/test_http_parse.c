/*
 * The HTTP parser against a table of messages (valid ones, and ones that
 * hit a limit), each parsed whole, split in two at every byte offset, fed
 * one byte at a time and cut at random places. Every run is rendered as a
 * trace (tokens reassembled, consecutive BODY events merged) and all traces
 * of a case must equal the expected one. Every chunk is placed so that it
 * ends at a PROT_NONE page, and the chunk is overwritten by the next one,
 * so an over-read or a slice kept past its lifetime shows.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>

#include "sl_http.h"
#include "sl_test.h"

/* ---- placing chunks ------------------------------------------------- */

/* Like sl_test_guarded(), for chunks longer than a page. */
static const char *
place(const char *data, size_t len)
{
	static char *region;
	static size_t region_len;
	long pg = sysconf(_SC_PAGESIZE);
	size_t need;

	if (len <= (size_t)pg)
		return sl_test_guarded(data, len);
	need = (len + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
	if (need > region_len) {
		if (region != NULL)
			munmap(region, region_len + (size_t)pg);
		region = mmap(NULL, need + (size_t)pg, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED)
			abort();
		mprotect(region + need, (size_t)pg, PROT_NONE);
		region_len = need;
	}
	memcpy(region + region_len - len, data, len);
	return region + region_len - len;
}

/* ---- traces --------------------------------------------------------- */

#define TRACE_MAX (64 * 1024)

struct trace {
	char s[TRACE_MAX];
	size_t n;
	bool in_body;
	bool stopped;         /* ERROR seen: feed no more */
	unsigned int bad_slices;
};

static void
tr_reset(struct trace *t)
{
	t->s[0] = '\0';
	t->n = 0;
	t->in_body = false;
	t->stopped = false;
	t->bad_slices = 0;
}

static void
tr_put(struct trace *t, const char *p, size_t n)
{
	if (t->n + n >= TRACE_MAX)
		n = TRACE_MAX - 1 - t->n;
	memcpy(t->s + t->n, p, n);
	t->n += n;
	t->s[t->n] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
tr_printf(struct trace *t, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	tr_put(t, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void
tr_slice(struct trace *t, struct sl_http_slice s)
{
	tr_put(t, s.ptr, s.len);
}

static const char *const body_names[] = { "none", "length", "chunked", "close" };
static const char *const form_names[] = { "origin", "absolute", "authority", "asterisk" };

static void
tr_flags(struct trace *t, uint32_t f)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ SL_HTTP_F_KEEP_ALIVE, "ka" },
		{ SL_HTTP_F_CONN_CLOSE, "close" },
		{ SL_HTTP_F_CONN_KEEP_ALIVE, "conn-ka" },
		{ SL_HTTP_F_CONN_UPGRADE, "conn-up" },
		{ SL_HTTP_F_CONN_OTHER, "conn-other" },
		{ SL_HTTP_F_UPGRADE, "upgrade" },
		{ SL_HTTP_F_EXPECT_CONTINUE, "100" },
		{ SL_HTTP_F_EXPECT_OTHER, "expect" },
		{ SL_HTTP_F_HOST, "host" },
		{ SL_HTTP_F_CONTENT_LENGTH, "cl" },
		{ SL_HTTP_F_TRANSFER_ENCODING, "te" },
	};
	const char *sep = "";

	tr_put(t, " [", 2);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit) {
			tr_printf(t, "%s%s", sep, names[i].name);
			sep = ",";
			f &= ~names[i].bit;
		}
	if (f)
		tr_printf(t, "%sUNKNOWN:%x", sep, f);
	tr_put(t, "]", 1);
}

/* A slice must lie in what this call consumed, or in the scratch area. */
static bool
slice_ok(struct sl_http_slice s, const char *lo, const char *hi,
	 const struct sl_http_parser *p, bool body)
{
	if (s.ptr >= lo && s.ptr + s.len <= hi)
		return true;
	return !body && s.ptr >= p->scratch &&
	       s.ptr + s.len <= p->scratch + sizeof(p->scratch);
}

static void
tr_event(struct trace *t, const struct sl_http_event *ev,
	 const struct sl_http_parser *p, const char *lo, const char *hi)
{
	bool ok = true;

	if (ev->type == SL_HTTP_EV_BODY) {
		ok = ev->body.len > 0 && slice_ok(ev->body, lo, hi, p, true);
		if (!t->in_body)
			tr_put(t, "B ", 2);
		t->in_body = true;
		tr_slice(t, ev->body);
		if (!ok)
			t->bad_slices++;
		return;
	}
	if (ev->type == SL_HTTP_EV_NEED_MORE)
		return;
	if (t->in_body)
		tr_put(t, "\n", 1);
	t->in_body = false;
	switch (ev->type) {
	case SL_HTTP_EV_REQUEST_LINE:
		tr_printf(t, "RQ %s ", sl_http_method_name(ev->req.method));
		tr_slice(t, ev->req.method_str);
		tr_put(t, " ", 1);
		tr_slice(t, ev->req.target);
		tr_printf(t, " %s 1.%u\n", form_names[ev->req.form],
			  ev->req.version_minor);
		ok = slice_ok(ev->req.raw, lo, hi, p, false) &&
		     ev->req.method_str.ptr == ev->req.raw.ptr &&
		     ev->req.target.ptr > ev->req.raw.ptr &&
		     ev->req.target.ptr + ev->req.target.len <
		     ev->req.raw.ptr + ev->req.raw.len;
		break;
	case SL_HTTP_EV_STATUS_LINE:
		tr_printf(t, "ST %u 1.%u ", ev->resp.status,
			  ev->resp.version_minor);
		tr_slice(t, ev->resp.reason);
		tr_put(t, "\n", 1);
		ok = slice_ok(ev->resp.raw, lo, hi, p, false);
		break;
	case SL_HTTP_EV_HEADER:
	case SL_HTTP_EV_TRAILER:
		tr_put(t, ev->type == SL_HTTP_EV_HEADER ? "H " : "T ", 2);
		tr_slice(t, ev->field.name);
		tr_put(t, ": ", 2);
		tr_slice(t, ev->field.value);
		tr_put(t, "\n", 1);
		ok = slice_ok(ev->field.raw, lo, hi, p, false) &&
		     ev->field.name.ptr == ev->field.raw.ptr &&
		     ev->field.value.ptr >= ev->field.raw.ptr &&
		     ev->field.value.ptr + ev->field.value.len <=
		     ev->field.raw.ptr + ev->field.raw.len;
		break;
	case SL_HTTP_EV_HEADERS_DONE:
		tr_printf(t, "HD %s cl=%llu n=%u bytes=%u",
			  body_names[ev->head.body],
			  (unsigned long long)ev->head.content_length,
			  ev->head.n_fields, ev->head.field_bytes);
		tr_flags(t, ev->head.flags);
		tr_put(t, "\n", 1);
		break;
	case SL_HTTP_EV_MESSAGE_DONE:
		tr_printf(t, "MD %llu\n", (unsigned long long)ev->done.body_bytes);
		break;
	case SL_HTTP_EV_EOF:
		tr_put(t, "EOF\n", 4);
		break;
	case SL_HTTP_EV_ERROR:
		tr_printf(t, "ERR %u %s\n", ev->error.status,
			  sl_http_error_name(ev->error.code));
		t->stopped = true;
		break;
	default:
		tr_printf(t, "?? %d\n", (int)ev->type);
		break;
	}
	if (!ok)
		t->bad_slices++;
}

/* ---- feeding -------------------------------------------------------- */

static void
feed(struct sl_http_parser *p, struct trace *t, const char *data, size_t len)
{
	const char *buf;
	size_t off = 0;

	if (t->stopped)
		return;
	buf = place(data, len);
	for (unsigned int guard = 0; guard < 100000; guard++) {
		struct sl_http_event ev;
		size_t n;

		memset(&ev, 0xa5, sizeof(ev));
		n = sl_http_parse(p, buf + off, len - off, &ev);
		if (n > len - off) {
			tr_put(t, "OVERRUN\n", 8);
			t->stopped = true;
			return;
		}
		tr_event(t, &ev, p, buf + off, buf + off + n);
		off += n;
		if (ev.type == SL_HTTP_EV_NEED_MORE) {
			if (off != len)
				tr_put(t, "NEED_MORE-EARLY\n", 16);
			return;
		}
		if (ev.type == SL_HTTP_EV_ERROR)
			return;
	}
	tr_put(t, "LOOP\n", 5);
	t->stopped = true;
}

static void
feed_eof(struct sl_http_parser *p, struct trace *t)
{
	for (int i = 0; i < 4 && !t->stopped; i++) {
		struct sl_http_event ev;

		sl_http_parse_eof(p, &ev);
		tr_event(t, &ev, p, NULL, NULL);
		if (ev.type != SL_HTTP_EV_MESSAGE_DONE)
			return;
	}
}

/* ---- cases ---------------------------------------------------------- */

struct tcase {
	const char *name;
	bool response;
	bool head;                       /* response to a HEAD */
	const struct sl_http_limits *lim; /* NULL: defaults */
	const char *pre;                 /* input: pre + fill * nfill + post */
	size_t pre_len;
	const char *fill;
	unsigned int nfill;
	const char *post;
	const char *expect;              /* whole trace, or ... */
	const char *expect_tail;         /* ... only how it ends */
};

#define IN(lit) .pre = lit, .pre_len = sizeof(lit) - 1

static const struct sl_http_limits lim_line32 = { .max_request_line = 32 };
static const struct sl_http_limits lim_fields64 = { .max_header_bytes = 64 };
static const struct sl_http_limits lim_count3 = { .max_headers = 3 };
static const struct sl_http_limits lim_body10 = { .max_body = 10 };
static const struct sl_http_limits lim_none = { 0 };

#define X10(s) s s s s s s s s s s

static const struct tcase cases[] = {
	{ "get with headers",
	  IN("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
	     "User-Agent: t/1.0\r\nAccept: */*\r\nX-Empty:\r\n"
	     "X-Spaces: \t a  b \t\r\nx-obs-text: caf\xc3\xa9\r\n\r\n"),
	  .expect =
	  "RQ GET GET /index.html?q=1 origin 1.1\n"
	  "H Host: example.com\n"
	  "H User-Agent: t/1.0\n"
	  "H Accept: */*\n"
	  "H X-Empty: \n"
	  "H X-Spaces: a  b\n"
	  "H x-obs-text: caf\xc3\xa9\n"
	  "HD none cl=0 n=6 bytes=100 [ka,host]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "post with content-length",
	  IN("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n"
	     "Content-Type: text/plain\r\n\r\nhello world"),
	  .expect =
	  "RQ POST POST /upload origin 1.1\n"
	  "H Host: h\n"
	  "H Content-Length: 11\n"
	  "H Content-Type: text/plain\n"
	  "HD length cl=11 n=3 bytes=55 [ka,host,cl]\n"
	  "B hello world\n"
	  "MD 11\n"
	  "EOF\n" },
	{ "chunked with extensions and trailers",
	  IN("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
	     "5;name=val\r\nhello\r\n"
	     "6 ; a = \"q\\\"x;\" ;b\r\n world\r\n"
	     "000A\r\n0123456789\r\n"
	     "0;last\r\nX-Trailer: t1\r\nX-Sum:  abc \r\n\r\n"),
	  .expect =
	  "RQ POST POST /c origin 1.1\n"
	  "H Host: h\n"
	  "H Transfer-Encoding: Chunked\n"
	  "HD chunked cl=0 n=2 bytes=37 [ka,host,te]\n"
	  "B hello world0123456789\n"
	  "T X-Trailer: t1\n"
	  "T X-Sum: abc\n"
	  "MD 21\n"
	  "EOF\n" },
	{ "pipelined requests",
	  IN("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	     "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
	     "DELETE /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "1\r\nx\r\n0\r\n\r\n"
	     "GET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
	  .expect =
	  "RQ GET GET /a origin 1.1\n"
	  "H Host: h\n"
	  "HD none cl=0 n=1 bytes=9 [ka,host]\n"
	  "MD 0\n"
	  "RQ POST POST /b origin 1.1\n"
	  "H Host: h\n"
	  "H Content-Length: 3\n"
	  "HD length cl=3 n=2 bytes=28 [ka,host,cl]\n"
	  "B abc\n"
	  "MD 3\n"
	  "RQ DELETE DELETE /c origin 1.1\n"
	  "H Host: h\n"
	  "H Transfer-Encoding: chunked\n"
	  "HD chunked cl=0 n=2 bytes=37 [ka,host,te]\n"
	  "B x\n"
	  "MD 1\n"
	  "RQ GET GET /d origin 1.1\n"
	  "H Host: h\n"
	  "H Connection: close\n"
	  "HD none cl=0 n=2 bytes=28 [close,host]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "leading empty lines, zero length body",
	  IN("\r\n\r\nPOST /z HTTP/1.1\r\nHost: h\r\nContent-Length: 000\r\n\r\n"
	     "\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n"),
	  .expect =
	  "RQ POST POST /z origin 1.1\n"
	  "H Host: h\n"
	  "H Content-Length: 000\n"
	  "HD length cl=0 n=2 bytes=30 [ka,host,cl]\n"
	  "MD 0\n"
	  "RQ GET GET /y origin 1.1\n"
	  "H Host: h\n"
	  "HD none cl=0 n=1 bytes=9 [ka,host]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "http/1.0 keep-alive semantics",
	  IN("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
	     "GET /2 HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"
	     "GET /3 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n"),
	  .expect =
	  "RQ GET GET / origin 1.0\n"
	  "H Connection: Keep-Alive\n"
	  "HD none cl=0 n=1 bytes=24 [ka,conn-ka]\n"
	  "MD 0\n"
	  "RQ GET GET /2 origin 1.0\n"
	  "H Expect: 100-continue\n"
	  "HD none cl=0 n=1 bytes=22 []\n"
	  "MD 0\n"
	  "RQ GET GET /3 origin 1.1\n"
	  "H Host: h\n"
	  "H Connection: keep-alive, close\n"
	  "HD none cl=0 n=2 bytes=40 [close,conn-ka,host]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "expect 100-continue, upgrade, connection tokens",
	  IN("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
	     "Content-Length: 2\r\n\r\nok"
	     "GET /ws HTTP/1.1\r\nHost: h:8080\r\nConnection: keep-alive, Upgrade, X-Hop\r\n"
	     "Upgrade: websocket\r\nExpect: something\r\n\r\n"),
	  .expect =
	  "RQ PUT PUT /x origin 1.1\n"
	  "H Host: h\n"
	  "H Expect: 100-Continue\n"
	  "H Content-Length: 2\n"
	  "HD length cl=2 n=3 bytes=50 [ka,100,host,cl]\n"
	  "B ok\n"
	  "MD 2\n"
	  "RQ GET GET /ws origin 1.1\n"
	  "H Host: h:8080\n"
	  "H Connection: keep-alive, Upgrade, X-Hop\n"
	  "H Upgrade: websocket\n"
	  "H Expect: something\n"
	  "HD none cl=0 n=4 bytes=93 [ka,conn-ka,conn-up,conn-other,upgrade,expect,host]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "target forms and methods",
	  IN("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"
	     "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
	     "GET http://[::1]:80/x?y HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"
	     "PURGE /cache HTTP/1.1\r\nHost: h\r\n\r\n"
	     "get /lower HTTP/1.1\r\nHost:\r\n\r\n"
	     "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"
	     "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n"
	     "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n"),
	  .expect =
	  "RQ OPTIONS OPTIONS * asterisk 1.1\n"
	  "H Host: h\n"
	  "HD none cl=0 n=1 bytes=9 [ka,host]\n"
	  "MD 0\n"
	  "RQ CONNECT CONNECT example.com:443 authority 1.1\n"
	  "H Host: example.com:443\n"
	  "HD none cl=0 n=1 bytes=23 [ka,host]\n"
	  "MD 0\n"
	  "RQ GET GET http://[::1]:80/x?y absolute 1.1\n"
	  "H Host: [::1]:80\n"
	  "HD none cl=0 n=1 bytes=16 [ka,host]\n"
	  "MD 0\n"
	  "RQ OTHER PURGE /cache origin 1.1\n"
	  "H Host: h\n"
	  "HD none cl=0 n=1 bytes=9 [ka,host]\n"
	  "MD 0\n"
	  "RQ OTHER get /lower origin 1.1\n"
	  "H Host: \n"
	  "HD none cl=0 n=1 bytes=7 [ka,host]\n"
	  "MD 0\n"
	  "RQ HEAD HEAD / origin 1.1\n"
	  "H Host: h\n"
	  "HD none cl=0 n=1 bytes=9 [ka,host]\n"
	  "MD 0\n"
	  "RQ PATCH PATCH / origin 1.1\n"
	  "H Host: h\n"
	  "HD none cl=0 n=1 bytes=9 [ka,host]\n"
	  "MD 0\n"
	  "RQ TRACE TRACE / origin 1.1\n"
	  "H Host: h\n"
	  "HD none cl=0 n=1 bytes=9 [ka,host]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "missing host is flagged, not an error",
	  IN("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
	  .expect =
	  "RQ GET GET / origin 1.1\n"
	  "H Accept: */*\n"
	  "HD none cl=0 n=1 bytes=13 [ka]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "truncated in the header section",
	  IN("GET / HTTP/1.1\r\nHost: h\r\n"),
	  .expect =
	  "RQ GET GET / origin 1.1\n"
	  "H Host: h\n"
	  "ERR 400 truncated\n" },
	{ "truncated content-length body",
	  IN("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabc"),
	  .expect_tail = "B abc\nERR 400 truncated\n" },
	{ "truncated chunked body",
	  IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "3\r\nabc\r\n0\r\n"),
	  .expect_tail = "B abc\nERR 400 truncated\n" },
	{ "truncated request line",
	  IN("GET / HT"),
	  .expect = "ERR 400 truncated\n" },

	/* Responses. */
	{ "response with content-length", .response = true,
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello"),
	  .expect =
	  "ST 200 1.1 OK\n"
	  "H Content-Length: 5\n"
	  "H Server: x\n"
	  "HD length cl=5 n=2 bytes=30 [ka,cl]\n"
	  "B hello\n"
	  "MD 5\n"
	  "EOF\n" },
	{ "head response has no body", .response = true, .head = true,
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
	     "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  .expect =
	  "ST 200 1.1 OK\n"
	  "H Content-Length: 1234\n"
	  "HD none cl=1234 n=1 bytes=22 [ka,cl]\n"
	  "MD 0\n"
	  "ST 404 1.1 Not Found\n"
	  "H Transfer-Encoding: chunked\n"
	  "HD none cl=0 n=1 bytes=28 [ka,te]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "204 and 304 have no body", .response = true,
	  IN("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
	     "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n"
	     "HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n"),
	  .expect =
	  "ST 204 1.1 No Content\n"
	  "H Content-Length: 0\n"
	  "HD none cl=0 n=1 bytes=19 [ka,cl]\n"
	  "MD 0\n"
	  "ST 304 1.1 Not Modified\n"
	  "H Content-Length: 99\n"
	  "H ETag: \"x\"\n"
	  "HD none cl=99 n=2 bytes=31 [ka,cl]\n"
	  "MD 0\n"
	  "ST 200 1.1 \n"
	  "H Transfer-Encoding: chunked\n"
	  "HD chunked cl=0 n=1 bytes=28 [ka,te]\n"
	  "B hi\n"
	  "T X-T: 1\n"
	  "MD 2\n"
	  "EOF\n" },
	{ "100-continue then 200", .response = true,
	  IN("HTTP/1.1 100 Continue\r\n\r\n"
	     "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
	     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
	  .expect =
	  "ST 100 1.1 Continue\n"
	  "HD none cl=0 n=0 bytes=0 [ka]\n"
	  "MD 0\n"
	  "ST 103 1.1 Early Hints\n"
	  "H Link: </s.css>; rel=preload\n"
	  "HD none cl=0 n=1 bytes=29 [ka]\n"
	  "MD 0\n"
	  "ST 200 1.1 OK\n"
	  "H Content-Length: 3\n"
	  "HD length cl=3 n=1 bytes=19 [ka,cl]\n"
	  "B abc\n"
	  "MD 3\n"
	  "EOF\n" },
	{ "close-delimited response", .response = true,
	  IN("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
	     "body bytes\r\n until\n close\r"),
	  .expect =
	  "ST 200 1.1 OK\n"
	  "H Content-Type: text/plain\n"
	  "HD close cl=0 n=1 bytes=26 []\n"
	  "B body bytes\r\n until\n close\r\n"
	  "MD 26\n"
	  "EOF\n" },
	{ "http/1.0 responses", .response = true,
	  IN("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
	     "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
	  .expect =
	  "ST 200 1.0 OK\n"
	  "H Connection: keep-alive\n"
	  "H Content-Length: 2\n"
	  "HD length cl=2 n=2 bytes=43 [ka,conn-ka,cl]\n"
	  "B ok\n"
	  "MD 2\n"
	  "ST 200 1.0 OK\n"
	  "H Content-Length: 0\n"
	  "HD length cl=0 n=1 bytes=19 [cl]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "101 switching protocols ends http", .response = true,
	  IN("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	     "Connection: Upgrade\r\n\r\n\x81\x05hello"),
	  .expect =
	  "ST 101 1.1 Switching Protocols\n"
	  "H Upgrade: websocket\n"
	  "H Connection: Upgrade\n"
	  "HD none cl=0 n=2 bytes=41 [ka,conn-up,upgrade]\n"
	  "MD 0\n"
	  "ERR 500 closed\n" },
	{ "response truncated in body", .response = true,
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"),
	  .expect_tail = "B 12345\nERR 400 truncated\n" },

	/* Limits: each at the edge and one past it. */
	{ "request line at its limit", .lim = &lim_line32,
	  IN("GET /1234567890123456 HTTP/1.1\r\n\r\n"),
	  .expect =
	  "RQ GET GET /1234567890123456 origin 1.1\n"
	  "HD none cl=0 n=0 bytes=0 [ka]\n"
	  "MD 0\n"
	  "EOF\n" },
	{ "request line over its limit", .lim = &lim_line32,
	  IN("GET /12345678901234567 HTTP/1.1\r\n\r\n"),
	  .expect = "ERR 414 line_too_long\n" },
	{ "status line over its limit", .response = true, .lim = &lim_line32,
	  IN("HTTP/1.1 200 OK OK OK OK OK OK O\r\n\r\n"),
	  .expect = "ERR 414 line_too_long\n" },
	{ "field bytes at their limit", .lim = &lim_fields64,
	  IN("GET / HTTP/1.1\r\nHost: h\r\nX-A: 0123456789012345678901234\r\n"
	     "X-B: 0123456789012345\r\n\r\n"),
	  .expect_tail = "HD none cl=0 n=3 bytes=64 [ka,host]\nMD 0\nEOF\n" },
	{ "field bytes over their limit", .lim = &lim_fields64,
	  IN("GET / HTTP/1.1\r\nHost: h\r\nX-A: 0123456789012345678901234\r\n"
	     "X-B: 01234567890123456\r\n\r\n"),
	  .expect_tail = "H X-A: 0123456789012345678901234\nERR 431 fields_too_large\n" },
	{ "field count at its limit", .lim = &lim_count3,
	  IN("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n"),
	  .expect_tail = "HD none cl=0 n=3 bytes=21 [ka,host]\nMD 0\nEOF\n" },
	{ "field count over its limit", .lim = &lim_count3,
	  IN("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
	  .expect_tail = "H B: 2\nERR 431 too_many_fields\n" },
	{ "trailer count over its limit", .lim = &lim_count3,
	  IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
	  .expect_tail = "T C: 3\nERR 431 too_many_fields\n" },
	{ "no limits at all", .lim = &lim_none,
	  IN("GET / HTTP/1.1\r\nHost: h\r\n"), .fill = "X: y\r\n", .nfill = 600,
	  .post = "\r\n",
	  .expect_tail = "HD none cl=0 n=601 bytes=3609 [ka,host]\nMD 0\nEOF\n" },
	{ "content-length at the body limit", .lim = &lim_body10,
	  IN("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789"),
	  .expect_tail = "B 0123456789\nMD 10\nEOF\n" },
	{ "content-length over the body limit", .lim = &lim_body10,
	  IN("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n01234567890"),
	  .expect_tail = "H Content-Length: 11\nERR 413 body_too_large\n" },
	{ "chunked at the body limit", .lim = &lim_body10,
	  IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n"),
	  .expect_tail = "B 0123456789\nMD 10\nEOF\n" },
	{ "chunked over the body limit", .lim = &lim_body10,
	  IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "4\r\n0123\r\n7\r\n4567890\r\n0\r\n\r\n"),
	  .expect_tail = "B 0123\nERR 413 body_too_large\n" },
	{ "close-delimited at the body limit", .response = true, .lim = &lim_body10,
	  IN("HTTP/1.1 200 OK\r\n\r\n0123456789"),
	  .expect_tail = "B 0123456789\nMD 10\nEOF\n" },
	{ "close-delimited over the body limit", .response = true, .lim = &lim_body10,
	  IN("HTTP/1.1 200 OK\r\n\r\n0123456789X"),
	  .expect_tail = "B 0123456789\nERR 413 body_too_large\n" },
	{ "four empty lines are ignored",
	  IN("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	  .expect_tail = "MD 0\nEOF\n" },
	{ "five empty lines are not",
	  IN("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	  .expect = "ERR 400 empty_lines\n" },
	{ "field line filling the scratch area", .lim = &lim_none,
	  IN("GET / HTTP/1.1\r\nX: "), .fill = "a", .nfill = SL_HTTP_SCRATCH_SIZE - 5,
	  .post = "\r\nHost: h\r\n\r\n",
	  .expect_tail = "HD none cl=0 n=2 bytes=8201 [ka,host]\nMD 0\nEOF\n" },
	{ "field line over the scratch area", .lim = &lim_none,
	  IN("GET / HTTP/1.1\r\nX: "), .fill = "a", .nfill = SL_HTTP_SCRATCH_SIZE - 4,
	  .post = "\r\nHost: h\r\n\r\n",
	  .expect = "RQ GET GET / origin 1.1\nERR 431 fields_too_large\n" },
	{ "chunk line at its limit",
	  IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;e="),
	  .fill = "x", .nfill = SL_HTTP_CHUNK_LINE_MAX - 6,
	  .post = "\r\nA\r\n0\r\n\r\n",
	  .expect_tail = "B A\nMD 1\nEOF\n" },
	{ "chunk line over its limit",
	  IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;e="),
	  .fill = "x", .nfill = SL_HTTP_CHUNK_LINE_MAX - 5,
	  .post = "\r\nA\r\n0\r\n\r\n",
	  .expect_tail = "HD chunked cl=0 n=2 bytes=37 [ka,host,te]\n"
			 "ERR 400 chunk_line_too_long\n" },
	{ "request line at the default limit",
	  IN("GET /"), .fill = "p", .nfill = SL_HTTP_DEFAULT_MAX_REQUEST_LINE - 16,
	  .post = " HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_tail = "MD 0\nEOF\n" },
	{ "request line over the default limit",
	  IN("GET /"), .fill = "p", .nfill = SL_HTTP_DEFAULT_MAX_REQUEST_LINE - 15,
	  .post = " HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect = "ERR 414 line_too_long\n" },
	{ "large chunk sizes",
	  IN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "00000000000000000000000000000000000000003\r\nabc\r\n"
	     "7fffffffffffffff\r\n"),
	  .lim = &lim_none,
	  .expect_tail = "B abc\nERR 400 truncated\n" },
	{ "long body split across many feeds",
	  IN("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3000\r\n\r\n"),
	  .fill = X10("0123456789"), .nfill = 30,
	  .post = "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	  .expect_tail = "MD 3000\nRQ GET GET / origin 1.1\nH Host: h\n"
			 "HD none cl=0 n=1 bytes=9 [ka,host]\nMD 0\nEOF\n" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static char *
case_input(const struct tcase *c, size_t *len)
{
	size_t fl = c->fill != NULL ? strlen(c->fill) : 0;
	size_t pl = c->post != NULL ? strlen(c->post) : 0;
	size_t n = c->pre_len + fl * c->nfill + pl;
	char *s = malloc(n + 1), *w = s;

	memcpy(w, c->pre, c->pre_len);
	w += c->pre_len;
	for (unsigned int i = 0; i < c->nfill; i++, w += fl)
		memcpy(w, c->fill, fl);
	if (pl)
		memcpy(w, c->post, pl);
	*len = n;
	return s;
}

static void
parser_for(const struct tcase *c, struct sl_http_parser *p)
{
	if (c->response)
		sl_http_parser_init_response(p, c->lim, c->head);
	else
		sl_http_parser_init_request(p, c->lim);
}

static struct sl_http_parser parser;
static struct trace whole, part;

/* Run `in` cut at cuts[0] < cuts[1] < ... (offsets into in). */
static void
run_cuts(const struct tcase *c, const char *in, size_t len,
	 const size_t *cuts, size_t ncuts, struct trace *t)
{
	size_t from = 0;

	tr_reset(t);
	parser_for(c, &parser);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		feed(&parser, t, in + from, to - from);
		from = to;
	}
	feed_eof(&parser, t);
	if (t->in_body)
		tr_put(t, "\n", 1);
}

static unsigned int mismatches;

/* Print the first line where two traces differ. */
static void
show_diff(const char *name, const char *what, const char *exp, const char *got)
{
	size_t line = 1, i = 0, e, g;

	while (exp[i] != '\0' && exp[i] == got[i]) {
		if (exp[i] == '\n')
			line++;
		i++;
	}
	while (i > 0 && exp[i - 1] != '\n')
		i--;
	e = strcspn(exp + i, "\n");
	g = strcspn(got + i, "\n");
	fprintf(stderr, "case \"%s\" (%s), trace line %zu:\n"
		"  expected: %.*s\n  got:      %.*s\n",
		name, what, line, (int)e, exp + i, (int)g, got + i);
}

static void
same_trace(const struct tcase *c, const char *how, size_t at)
{
	CHECK_EQ(part.bad_slices, 0);
	if (part.n == whole.n && memcmp(part.s, whole.s, whole.n) == 0)
		return;
	CHECK(0);
	if (mismatches++ < 5) {
		char what[64];

		snprintf(what, sizeof(what), "%s %zu", how, at);
		show_diff(c->name, what, whole.s, part.s);
	}
}

static void
test_case(const struct tcase *c)
{
	size_t len, cuts[16];
	char *in = case_input(c, &len);

	run_cuts(c, in, len, NULL, 0, &whole);
	CHECK_EQ(whole.bad_slices, 0);
	if (c->expect != NULL) {
		if (strcmp(whole.s, c->expect) != 0)
			show_diff(c->name, "whole", c->expect, whole.s);
		CHECK(strcmp(whole.s, c->expect) == 0);
	} else {
		size_t tl = strlen(c->expect_tail);
		bool ok = whole.n >= tl &&
			  strcmp(whole.s + whole.n - tl, c->expect_tail) == 0;

		if (!ok)
			fprintf(stderr, "case \"%s\":\n--- expected to end with:\n%s"
				"--- got:\n%s", c->name, c->expect_tail, whole.s);
		CHECK(ok);
	}

	/* Two chunks, cut at every offset (0 and len: an empty chunk). */
	for (size_t k = 0; k <= len; k++) {
		run_cuts(c, in, len, &k, 1, &part);
		same_trace(c, "split at", k);
	}

	/* One byte at a time (also an empty feed between each). */
	{
		struct trace *t = &part;

		tr_reset(t);
		parser_for(c, &parser);
		for (size_t k = 0; k < len; k++) {
			feed(&parser, t, in + k, 1);
			feed(&parser, t, in + k, 0);
		}
		feed_eof(&parser, t);
		if (t->in_body)
			tr_put(t, "\n", 1);
		same_trace(c, "bytewise", 0);
	}

	/* Random cuts. */
	for (int r = 0; r < 200 && len > 2; r++) {
		size_t n = 1 + (size_t)rand() % 15, prev = 0;

		for (size_t i = 0; i < n; i++) {
			size_t room = len - prev;

			cuts[i] = prev + (room ? (size_t)rand() % (room + 1) : 0);
			prev = cuts[i];
		}
		run_cuts(c, in, len, cuts, n, &part);
		same_trace(c, "random cuts, first", cuts[0]);
	}
	free(in);
}

/*
 * Mutants of the table's inputs (bytes replaced by, or inserted from, the
 * characters the grammar cares about): whatever the verdict, it must not
 * depend on where the input is cut.
 */
static void
test_mutants(unsigned int rounds)
{
	static const char alphabet[] = "\r\n \t:;,\"\\=0aF\x00\x7f\x80/";
	char buf[2048];

	for (unsigned int r = 0; r < rounds; r++) {
		const struct tcase *c = &cases[(size_t)rand() % NCASES];
		size_t len, cut;
		char *in = case_input(c, &len);

		if (len + 8 > sizeof(buf)) {
			free(in);
			continue;
		}
		memcpy(buf, in, len);
		free(in);
		for (int m = 1 + rand() % 3; m > 0; m--) {
			size_t at = (size_t)rand() % len;
			char ch = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];

			if (rand() % 2) {
				buf[at] = ch;
			} else {
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = ch;
				len++;
			}
		}
		run_cuts(c, buf, len, NULL, 0, &whole);
		CHECK_EQ(whole.bad_slices, 0);
		for (int k = 0; k < 8; k++) {
			cut = (size_t)rand() % (len + 1);
			run_cuts(c, buf, len, &cut, 1, &part);
			same_trace(c, "mutant, split at", cut);
		}
		tr_reset(&part);
		parser_for(c, &parser);
		for (size_t k = 0; k < len; k++)
			feed(&parser, &part, buf + k, 1);
		feed_eof(&parser, &part);
		if (part.in_body)
			tr_put(&part, "\n", 1);
		same_trace(c, "mutant, bytewise", 0);
	}
}

int
main(void)
{
	srand(4242);
	for (size_t i = 0; i < NCASES; i++)
		test_case(&cases[i]);
	test_mutants(20000);
	printf("%zu message cases, each whole, split at every offset, "
	       "bytewise and at 200 random cuts; 20000 mutants\n", NCASES);
	return sl_test_result("test_http_parse");
}
