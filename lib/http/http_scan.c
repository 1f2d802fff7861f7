/*
 * Before the parser: find where a request head ends without committing
 * anything to it, and rewrite request targets for routing. See sl_http.h.
 */
#include <string.h>
#include <strings.h>

#include <rte_common.h>

#include "sl_http.h"
#include "http_private.h"

/* Request-line states of the scanner, in wire order. */
enum {
	SCAN_LEAD,       /* empty lines allowed before the method */
	SCAN_LEAD_LF,    /* CR of an empty line seen */
	SCAN_METHOD,
	SCAN_TARGET,
	SCAN_VERSION,    /* "HTTP/" DIGIT "." DIGIT, by scan->vpos */
	SCAN_LINE_LF,    /* CR after the version seen */
	SCAN_FIELDS,     /* in the field section: only line ends matter */
};

void
sl_http_head_scan_init(struct sl_http_head_scan *s)
{
	memset(s, 0, sizeof(*s));
}

static inline size_t
line_limit(const struct sl_http_limits *lim)
{
	size_t n = lim->max_request_line;

	return n == 0 || n > SL_HTTP_SCRATCH_SIZE ? SL_HTTP_SCRATCH_SIZE : n;
}

/* One byte of the request line; returns SL_HTTP_SCAN_MORE or a verdict. */
static enum sl_http_scan
scan_line_byte(struct sl_http_head_scan *s, unsigned char c)
{
	static const char version[] = "HTTP/d.d";

	switch (s->state) {
	case SCAN_LEAD:
		if (c == '\r') {
			s->state = SCAN_LEAD_LF;
			return SL_HTTP_SCAN_MORE;
		}
		if (!http_is(c, HTTP_C_TCHAR))
			return SL_HTTP_SCAN_INVALID;
		s->state = SCAN_METHOD;
		return SL_HTTP_SCAN_MORE;
	case SCAN_LEAD_LF:
		if (c != '\n' || ++s->empty_lines > SL_HTTP_EMPTY_LINES_MAX)
			return SL_HTTP_SCAN_INVALID;
		s->state = SCAN_LEAD;
		s->line_start = s->bytes + 1;
		return SL_HTTP_SCAN_MORE;
	case SCAN_METHOD:
		if (c == ' ')
			s->state = SCAN_TARGET;
		else if (!http_is(c, HTTP_C_TCHAR))
			return SL_HTTP_SCAN_INVALID;
		return SL_HTTP_SCAN_MORE;
	case SCAN_TARGET:
		if (c == ' ') {
			/* An empty target ("GET  HTTP/1.1") is caught here too. */
			if (s->prev == ' ')
				return SL_HTTP_SCAN_INVALID;
			s->state = SCAN_VERSION;
			s->vpos = 0;
		} else if (!http_is(c, HTTP_C_TARGET)) {
			return SL_HTTP_SCAN_INVALID;
		}
		return SL_HTTP_SCAN_MORE;
	case SCAN_VERSION:
		if (s->vpos == sizeof(version) - 1) {
			if (c != '\r')
				return SL_HTTP_SCAN_INVALID;
			s->state = SCAN_LINE_LF;
			return SL_HTTP_SCAN_MORE;
		}
		/* Any digits: the parser answers 505 to a version it lacks. */
		if (version[s->vpos] == 'd' ? !(c >= '0' && c <= '9') :
		    c != (unsigned char)version[s->vpos])
			return SL_HTTP_SCAN_INVALID;
		s->vpos++;
		return SL_HTTP_SCAN_MORE;
	case SCAN_LINE_LF:
		if (c != '\n')
			return SL_HTTP_SCAN_INVALID;
		s->state = SCAN_FIELDS;
		s->line_start = s->bytes + 1;
		s->fields_start = s->bytes + 1;
		return SL_HTTP_SCAN_MORE;
	default:
		return SL_HTTP_SCAN_INVALID;
	}
}

/*
 * A whole request line in buf, well formed: take it in one pass and go to
 * the field section, as the byte-by-byte machine would after its LF.
 * Anything else (a partial line, an empty line first, any fault) returns
 * 0 with nothing changed, and the machine takes the bytes one by one: it
 * alone decides the verdict and where it comes.
 */
static size_t
scan_request_line_whole(struct sl_http_head_scan *s, const char *buf,
			size_t len, size_t max_line)
{
	/* The machine refuses the line once max_line bytes precede its LF. */
	const char *lf = memchr(buf, '\n', RTE_MIN(len, max_line));
	size_t n, i = 0, t;

	if (lf == NULL)
		return 0;
	n = (size_t)(lf - buf);     /* bytes before the LF */
	while (i < n && http_is((unsigned char)buf[i], HTTP_C_TCHAR))
		i++;
	if (i == 0 || i == n || buf[i] != ' ')
		return 0;
	t = ++i;
	while (i < n && http_is((unsigned char)buf[i], HTTP_C_TARGET))
		i++;
	if (i == t || i == n || buf[i] != ' ')
		return 0;
	i++;
	/* "HTTP/" DIGIT "." DIGIT CR */
	if (n - i != 9 || memcmp(buf + i, "HTTP/", 5) != 0 ||
	    buf[i + 5] < '0' || buf[i + 5] > '9' || buf[i + 6] != '.' ||
	    buf[i + 7] < '0' || buf[i + 7] > '9' || buf[i + 8] != '\r')
		return 0;
	s->bytes += (uint32_t)(n + 1);
	s->prev = '\n';
	s->state = SCAN_FIELDS;
	s->line_start = s->bytes;
	s->fields_start = s->bytes;
	return n + 1;
}

enum sl_http_scan
sl_http_head_scan(struct sl_http_head_scan *s, const char *buf, size_t len,
		  const struct sl_http_limits *lim)
{
	const size_t max_line = line_limit(lim);
	size_t i = 0;

	if (s->state == SCAN_LEAD && len > 0 &&
	    http_is((unsigned char)buf[0], HTTP_C_TCHAR))
		i = scan_request_line_whole(s, buf, len, max_line);
	while (i < len) {
		if (s->state != SCAN_FIELDS) {
			enum sl_http_scan v = scan_line_byte(s, (unsigned char)buf[i]);

			if (v != SL_HTTP_SCAN_MORE)
				return v;
			s->prev = buf[i];
			s->bytes++;
			i++;
			/* The parser's LINE_TOO_LONG: no LF within the limit. */
			if (s->state != SCAN_FIELDS &&
			    s->bytes - s->line_start >= max_line)
				return SL_HTTP_SCAN_LINE_TOO_LONG;
			continue;
		}
		/*
		 * Field section: jump from line end to line end, but never past
		 * the byte where a bound is crossed, so that the verdict and
		 * where it comes never depend on how the bytes were split.
		 */
		uint32_t cap = s->line_start + SL_HTTP_SCRATCH_SIZE;
		size_t room;
		const char *lf;

		if (lim->max_header_bytes != 0)
			cap = RTE_MIN(cap, s->fields_start + lim->max_header_bytes + 3);
		if (s->bytes >= cap)
			return SL_HTTP_SCAN_TOO_LARGE;
		room = RTE_MIN(len - i, (size_t)(cap - s->bytes));
		lf = memchr(buf + i, '\n', room);
		if (lf == NULL) {
			s->prev = buf[i + room - 1];
			s->bytes += (uint32_t)room;
			i += room;
			if (s->bytes >= cap)
				return SL_HTTP_SCAN_TOO_LARGE;
			continue;
		}
		size_t upto = (size_t)(lf - buf) + 1;
		char before = upto - i >= 2 ? buf[upto - 2] : s->prev;
		uint32_t line_len = s->bytes + (uint32_t)(upto - i) - s->line_start;

		s->bytes += (uint32_t)(upto - i);
		i = upto;
		/* An empty line ends the head, and so does a bare LF (which the
		 * parser refuses): either way the parser has what it needs. */
		if (line_len == 1 || before != '\r' || line_len == 2)
			return SL_HTTP_SCAN_COMPLETE;
		s->line_start = s->bytes;
		s->prev = '\n';
		if (lim->max_headers != 0 && ++s->lines > lim->max_headers)
			return SL_HTTP_SCAN_TOO_LARGE;
	}
	return SL_HTTP_SCAN_MORE;
}

/* ---- request targets ------------------------------------------------- */

int
sl_http_target_split(struct sl_http_slice target, struct sl_http_slice *authority,
		     struct sl_http_slice *rest)
{
	const char *t = target.ptr;
	size_t n = target.len, i = 0, a;

	/* scheme "://": only http and https name an origin we proxy to. */
	if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
		i = 7;
	else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
		i = 8;
	else
		return -1;
	a = i;
	while (i < n && t[i] != '/' && t[i] != '?') {
		/* userinfo is forbidden in http(s) URIs (RFC 9110 4.2.4). */
		if (!http_is((unsigned char)t[i], HTTP_C_HOST) || t[i] == '@')
			return -1;
		i++;
	}
	if (i == a)
		return -1;
	authority->ptr = t + a;
	authority->len = i - a;
	rest->ptr = t + i;
	rest->len = n - i;
	return 0;
}

/*
 * RFC 3986 5.2.4 on the path (up to '?'), the query copied as it is. Only
 * literal "." and ".." segments are dot-segments: "%2e" and "%2f" stay
 * encoded, so the route sees exactly what the backend is sent.
 */
long
sl_http_path_normalize(const char *in, size_t n, char *out, size_t cap)
{
	size_t plen = 0, o = 0, i = 0;

	while (plen < n && in[plen] != '?')
		plen++;
	if (plen == 0 || in[0] != '/')
		return -1;
	while (i < plen) {
		/* in[i] == '/': the start of a segment. */
		size_t j = i + 1, seg;

		while (j < plen && in[j] != '/')
			j++;
		seg = j - i - 1;
		if (seg == 1 && in[i + 1] == '.') {
			if (j == plen) {          /* "/." at the end: "/" */
				if (o + 1 > cap)
					return -1;
				out[o++] = '/';
			}
		} else if (seg == 2 && in[i + 1] == '.' && in[i + 2] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;              /* the previous segment's "/" */
			if (j == plen) {
				if (o + 1 > cap)
					return -1;
				out[o++] = '/';
			}
		} else {
			if (o + seg + 1 > cap)
				return -1;
			memcpy(out + o, in + i, seg + 1);
			o += seg + 1;
		}
		i = j;
	}
	if (o == 0) {
		if (cap < 1)
			return -1;
		out[o++] = '/';
	}
	if (o + (n - plen) > cap)
		return -1;
	memcpy(out + o, in + plen, n - plen);
	return (long)(o + (n - plen));
}
