/*
 * The state machine. Everything before the body is line-oriented, so the
 * only state kept across calls inside a line is the partial line itself,
 * gathered in p->scratch; a complete line is then checked in one pass with
 * no further resumption. Body bytes are handed out in place.
 */
#include <string.h>

#include "sl_http.h"
#include "http_private.h"

enum line_rc {
	LINE_OK,        /* *line holds a whole line, LF included */
	LINE_PARTIAL,   /* every byte gathered, no LF yet */
	LINE_TOO_LONG,  /* no LF within `limit` bytes */
};

/*
 * Find the end of the line that began at buf, or earlier when part of it
 * is already in the scratch area. A line, LF included, may be at most
 * `limit` (<= SL_HTTP_SCRATCH_SIZE) bytes long; the limit of a state never
 * changes while a partial line is pending, so scratch_len < limit.
 */
static enum line_rc
line_read(struct sl_http_parser *p, const char *buf, size_t len, size_t limit,
	  struct sl_http_slice *line, size_t *used)
{
	size_t have = p->scratch_len;
	size_t room = limit - have;
	const char *lf = NULL;
	size_t n;

	*used = 0;
	if (len > 0)
		lf = memchr(buf, '\n', len < room ? len : room);
	if (lf == NULL) {
		if (len >= room)
			return LINE_TOO_LONG;
		if (len > 0)
			memcpy(p->scratch + have, buf, len);
		p->scratch_len = (uint32_t)(have + len);
		*used = len;
		return LINE_PARTIAL;
	}
	n = (size_t)(lf - buf) + 1;
	*used = n;
	if (have == 0) {
		line->ptr = buf;
		line->len = n;
	} else {
		memcpy(p->scratch + have, buf, n);
		line->ptr = p->scratch;
		line->len = have + n;
		p->scratch_len = 0;
	}
	return LINE_OK;
}

/* Drop the CRLF a line must end in. */
static enum sl_http_error
line_strip_crlf(struct sl_http_slice *line)
{
	if (line->len < 2 || line->ptr[line->len - 2] != '\r')
		return SL_HTTP_E_BARE_LF;
	line->len -= 2;
	return SL_HTTP_E_NONE;
}

/* ... and the line, CRLF dropped, must hold no other CR. */
static enum sl_http_error
line_strip(struct sl_http_slice *line)
{
	enum sl_http_error e = line_strip_crlf(line);

	if (e == SL_HTTP_E_NONE && line->len > 0 &&
	    memchr(line->ptr, '\r', line->len) != NULL)
		return SL_HTTP_E_BARE_CR;
	return e;
}

static inline int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* HTTP-version (RFC 9112 2.3): exactly "HTTP/1.0" or "HTTP/1.1". */
static enum sl_http_error
version(const char *s, size_t n, uint8_t *minor)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) ||
	    s[6] != '.' || !is_digit(s[7]))
		return SL_HTTP_E_BAD_VERSION;
	if (s[5] != '1' || s[7] > '1')
		return SL_HTTP_E_VERSION;
	*minor = (uint8_t)(s[7] - '0');
	return SL_HTTP_E_NONE;
}

/* RFC 9112 3.2: which form the target has, and whether the method allows it. */
static enum sl_http_error
target_form(enum sl_http_method m, const char *t, size_t n,
	    enum sl_http_target_form *form)
{
	size_t i;

	if (m == SL_HTTP_M_CONNECT) {
		/* authority-form: uri-host ":" port, port 1*DIGIT. */
		size_t colon = n;

		for (i = 0; i < n; i++) {
			if (!http_is(t[i], HTTP_C_HOST))
				return SL_HTTP_E_BAD_TARGET;
			if (t[i] == ':')
				colon = i;
		}
		if (colon == 0 || colon >= n - 1)
			return SL_HTTP_E_BAD_TARGET;
		for (i = colon + 1; i < n; i++)
			if (!is_digit(t[i]))
				return SL_HTTP_E_BAD_TARGET;
		*form = SL_HTTP_T_AUTHORITY;
		return SL_HTTP_E_NONE;
	}
	if (t[0] == '/') {
		*form = SL_HTTP_T_ORIGIN;
		return SL_HTTP_E_NONE;
	}
	if (n == 1 && t[0] == '*') {
		if (m != SL_HTTP_M_OPTIONS)
			return SL_HTTP_E_BAD_TARGET;
		*form = SL_HTTP_T_ASTERISK;
		return SL_HTTP_E_NONE;
	}
	/* absolute-form: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!is_alpha(t[0]))
		return SL_HTTP_E_BAD_TARGET;
	for (i = 1; i < n && t[i] != ':'; i++)
		if (!is_alpha(t[i]) && !is_digit(t[i]) && t[i] != '+' &&
		    t[i] != '-' && t[i] != '.')
			return SL_HTTP_E_BAD_TARGET;
	if (i == n)
		return SL_HTTP_E_BAD_TARGET;
	*form = SL_HTTP_T_ABSOLUTE;
	return SL_HTTP_E_NONE;
}

/* method SP request-target SP HTTP-version, exactly one SP each. */
static enum sl_http_error
request_line(struct sl_http_parser *p, struct sl_http_slice line,
	     struct sl_http_request_line *rl)
{
	const char *s = line.ptr;
	size_t n = line.len, i = 0, mlen, t0, tlen;
	enum sl_http_error e;

	while (i < n && http_is(s[i], HTTP_C_TCHAR))
		i++;
	if (i == 0 || i == n || s[i] != ' ')
		return SL_HTTP_E_BAD_METHOD;
	mlen = i++;
	t0 = i;
	while (i < n && http_is(s[i], HTTP_C_TARGET))
		i++;
	tlen = i - t0;
	if (tlen == 0 || (i < n && s[i] != ' '))
		return SL_HTTP_E_BAD_TARGET;
	if (i == n)
		return SL_HTTP_E_BAD_VERSION;      /* HTTP/0.9-style line */
	e = version(s + i + 1, n - i - 1, &p->version_minor);
	if (e != SL_HTTP_E_NONE)
		return e;
	rl->method = sl_http_method_parse(s, mlen);
	e = target_form(rl->method, s + t0, tlen, &rl->form);
	if (e != SL_HTTP_E_NONE)
		return e;
	p->method = (uint8_t)rl->method;
	rl->method_str.ptr = s;
	rl->method_str.len = mlen;
	rl->target.ptr = s + t0;
	rl->target.len = tlen;
	rl->raw = line;
	rl->version_minor = p->version_minor;
	return SL_HTTP_E_NONE;
}

/* HTTP-version SP 3DIGIT [ SP reason-phrase ] */
static enum sl_http_error
status_line(struct sl_http_parser *p, struct sl_http_slice line,
	    struct sl_http_status_line *sl)
{
	const char *s = line.ptr;
	size_t n = line.len, i = 0;
	unsigned int status = 0;
	enum sl_http_error e;

	while (i < n && s[i] != ' ')
		i++;
	e = version(s, i, &p->version_minor);
	if (e != SL_HTTP_E_NONE)
		return e;
	if (n - i < 4)
		return SL_HTTP_E_BAD_STATUS;
	for (size_t k = i + 1; k < i + 4; k++) {
		if (!is_digit(s[k]))
			return SL_HTTP_E_BAD_STATUS;
		status = status * 10 + (unsigned int)(s[k] - '0');
	}
	if (status < 100 || status > 599)
		return SL_HTTP_E_BAD_STATUS;
	i += 4;
	sl->reason.ptr = s + n;
	sl->reason.len = 0;
	if (i < n) {
		if (s[i] != ' ')
			return SL_HTTP_E_BAD_STATUS;
		if (http_field_run(s, i + 1, n) != n)
			return SL_HTTP_E_BAD_STATUS;
		sl->reason.ptr = s + i + 1;
		sl->reason.len = n - i - 1;
	}
	p->status = (uint16_t)status;
	sl->status = (uint16_t)status;
	sl->version_minor = p->version_minor;
	sl->raw = line;
	return SL_HTTP_E_NONE;
}

/* field-name ":" OWS field-value OWS (RFC 9112 5). */
static enum sl_http_error
field_line(struct sl_http_slice line, struct sl_http_field *f)
{
	const char *s = line.ptr;
	size_t n = line.len, i = 0, v0, v1;

	if (http_ows(s[0]))
		return SL_HTTP_E_OBS_FOLD;
	while (i < n && http_is(s[i], HTTP_C_TCHAR))
		i++;
	if (i == n || s[i] != ':')
		return i > 0 && i < n && http_ows(s[i]) ?
			SL_HTTP_E_WS_BEFORE_COLON : SL_HTTP_E_BAD_FIELD_NAME;
	if (i == 0)
		return SL_HTTP_E_BAD_FIELD_NAME;
	f->name.ptr = s;
	f->name.len = i++;
	while (i < n && http_ows(s[i]))
		i++;
	v0 = i;
	if (http_field_run(s, i, n) != n)
		return SL_HTTP_E_BAD_FIELD_VALUE;
	v1 = n;
	while (v1 > v0 && http_ows(s[v1 - 1]))
		v1--;
	f->value.ptr = s + v0;
	f->value.len = v1 - v0;
	f->raw = line;
	return SL_HTTP_E_NONE;
}

static inline unsigned int
hex_val(char c)
{
	if (c <= '9')
		return (unsigned int)(c - '0');
	return (unsigned int)((c | 0x20) - 'a' + 10);
}

/*
 * chunk-size [ chunk-ext ] (RFC 9112 7.1.1), CRLF stripped:
 * chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 * ext-val = token / quoted-string. Extensions are checked, then ignored.
 */
static enum sl_http_error
chunk_size(struct sl_http_slice line, uint64_t *size)
{
	const char *s = line.ptr;
	size_t n = line.len, i = 0, k;
	uint64_t v = 0;

	for (; i < n && http_is(s[i], HTTP_C_HEX); i++) {
		if (v > (uint64_t)(INT64_MAX >> 4))
			return SL_HTTP_E_BAD_CHUNK;
		v = v << 4 | hex_val(s[i]);
	}
	if (i == 0)
		return SL_HTTP_E_BAD_CHUNK;
	while (i < n) {
		while (i < n && http_ows(s[i]))
			i++;
		if (i == n || s[i] != ';')
			return SL_HTTP_E_BAD_CHUNK;
		i++;
		while (i < n && http_ows(s[i]))
			i++;
		for (k = i; i < n && http_is(s[i], HTTP_C_TCHAR); i++)
			;
		if (i == k)
			return SL_HTTP_E_BAD_CHUNK;
		for (k = i; k < n && http_ows(s[k]); k++)
			;
		if (k == n || s[k] != '=')
			continue;
		for (i = k + 1; i < n && http_ows(s[i]); i++)
			;
		if (i < n && s[i] == '"') {
			for (i++;; i++) {
				if (i == n)
					return SL_HTTP_E_BAD_CHUNK;
				if (s[i] == '"')
					break;
				if (s[i] == '\\') {
					if (++i == n || !http_is(s[i], HTTP_C_FIELD))
						return SL_HTTP_E_BAD_CHUNK;
				} else if (!http_is(s[i], HTTP_C_QDTEXT)) {
					return SL_HTTP_E_BAD_CHUNK;
				}
			}
			i++;
		} else {
			for (k = i; i < n && http_is(s[i], HTTP_C_TCHAR); i++)
				;
			if (i == k)
				return SL_HTTP_E_BAD_CHUNK;
		}
	}
	*size = v;
	return SL_HTTP_E_NONE;
}

static void
msg_reset(struct sl_http_parser *p)
{
	p->version_minor = 0;
	p->te = 0;
	p->empty_lines = 0;
	p->method = SL_HTTP_M_OTHER;
	p->body = SL_HTTP_BODY_NONE;
	p->status = 0;
	p->flags = 0;
	p->n_fields = 0;
	p->field_bytes = 0;
	p->content_length = 0;
	p->remaining = 0;
	p->body_bytes = 0;
}

static void
parser_init(struct sl_http_parser *p, const struct sl_http_limits *lim,
	    bool response, bool request_was_head)
{
	static const struct sl_http_limits def = SL_HTTP_LIMITS_DEFAULT;

	p->lim = lim != NULL ? *lim : def;
	if (p->lim.max_request_line == 0 ||
	    p->lim.max_request_line > SL_HTTP_SCRATCH_SIZE)
		p->lim.max_request_line = SL_HTTP_SCRATCH_SIZE;
	p->state = SL_HTTP_S_START;
	p->response = response;
	p->request_was_head = request_was_head;
	p->error = SL_HTTP_E_NONE;
	p->scratch_len = 0;
	msg_reset(p);
}

void
sl_http_parser_init_request(struct sl_http_parser *p,
			    const struct sl_http_limits *lim)
{
	parser_init(p, lim, false, false);
}

void
sl_http_parser_init_response(struct sl_http_parser *p,
			     const struct sl_http_limits *lim,
			     bool request_was_head)
{
	parser_init(p, lim, true, request_was_head);
}

/* Longest field line acceptable now: the scratch, and what the budget left. */
static size_t
field_limit(const struct sl_http_parser *p)
{
	size_t limit = SL_HTTP_SCRATCH_SIZE;

	if (p->lim.max_header_bytes != 0) {
		/* field_bytes never exceeds the budget; the final CRLF is free. */
		size_t left = p->lim.max_header_bytes - p->field_bytes;

		if (left < 2)
			left = 2;
		if (left < limit)
			limit = left;
	}
	return limit;
}

/* The empty line ended the header section: decide the framing. */
static enum sl_http_error
headers_done(struct sl_http_parser *p, struct sl_http_head *h)
{
	enum sl_http_error e = http_framing_check(p);
	uint32_t f = p->flags;
	enum sl_http_body body;

	if (e != SL_HTTP_E_NONE)
		return e;
	if (p->response && (p->request_was_head || p->status < 200 ||
			    p->status == 204 || p->status == 304))
		body = SL_HTTP_BODY_NONE;           /* RFC 9112 6.3 rule 1 */
	else if (f & SL_HTTP_F_TRANSFER_ENCODING)
		body = SL_HTTP_BODY_CHUNKED;
	else if (f & SL_HTTP_F_CONTENT_LENGTH)
		body = SL_HTTP_BODY_LENGTH;
	else
		body = p->response ? SL_HTTP_BODY_CLOSE : SL_HTTP_BODY_NONE;
	if (body == SL_HTTP_BODY_LENGTH && p->lim.max_body != 0 &&
	    p->content_length > p->lim.max_body)
		return SL_HTTP_E_BODY_TOO_LARGE;

	/* RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only if asked. */
	if (!(f & SL_HTTP_F_CONN_CLOSE) && body != SL_HTTP_BODY_CLOSE &&
	    (p->version_minor >= 1 || (f & SL_HTTP_F_CONN_KEEP_ALIVE)))
		f |= SL_HTTP_F_KEEP_ALIVE;
	if ((f & HTTP_F_UPGRADE_FIELD) && (f & SL_HTTP_F_CONN_UPGRADE))
		f |= SL_HTTP_F_UPGRADE;
	f &= ~HTTP_F_UPGRADE_FIELD;
	p->flags = f;
	p->body = (uint8_t)body;

	h->body = body;
	h->content_length = p->content_length;
	h->flags = f;
	h->n_fields = p->n_fields;
	h->field_bytes = p->field_bytes;
	h->method = (enum sl_http_method)p->method;
	h->status = p->status;
	h->version_minor = p->version_minor;

	switch (body) {
	case SL_HTTP_BODY_LENGTH:
		p->remaining = p->content_length;
		p->body_bytes = p->content_length;
		p->state = p->remaining != 0 ? SL_HTTP_S_BODY_LENGTH : SL_HTTP_S_DONE;
		break;
	case SL_HTTP_BODY_CHUNKED:
		p->state = SL_HTTP_S_CHUNK_SIZE;
		break;
	case SL_HTTP_BODY_CLOSE:
		p->state = SL_HTTP_S_BODY_CLOSE;
		break;
	default:
		p->state = SL_HTTP_S_DONE;
		break;
	}
	return SL_HTTP_E_NONE;
}

static void
message_done(struct sl_http_parser *p, struct sl_http_event *ev)
{
	bool last = p->response &&
		(p->status == 101 || p->body == SL_HTTP_BODY_CLOSE);

	ev->type = SL_HTTP_EV_MESSAGE_DONE;
	ev->done.body_bytes = p->body_bytes;
	msg_reset(p);
	p->state = last ? SL_HTTP_S_CLOSED : SL_HTTP_S_START;
}

static void
report_error(enum sl_http_error e, struct sl_http_event *ev)
{
	ev->type = SL_HTTP_EV_ERROR;
	ev->error.code = e;
	ev->error.status = (uint16_t)sl_http_error_status(e);
}

static void
fail(struct sl_http_parser *p, enum sl_http_error e, struct sl_http_event *ev)
{
	p->state = SL_HTTP_S_ERROR;
	p->error = (uint16_t)e;
	p->scratch_len = 0;
	report_error(e, ev);
}

/* Hand out min(len, max) body bytes, in place. */
static size_t
body_slice(const char *buf, size_t len, uint64_t max, struct sl_http_event *ev)
{
	size_t n = len < max ? len : (size_t)max;

	ev->type = SL_HTTP_EV_BODY;
	ev->body.ptr = buf;
	ev->body.len = n;
	return n;
}

size_t
sl_http_parse(struct sl_http_parser *p, const char *buf, size_t len,
	      struct sl_http_event *ev)
{
	struct sl_http_slice line = { NULL, 0 };
	enum sl_http_error e = SL_HTTP_E_NONE;
	enum line_rc rc;
	size_t off = 0, used, n;
	uint64_t size;

	/* buf may be NULL when len is 0, and NULL + 0 is undefined in C. */
	if (buf == NULL)
		buf = "";
	for (;;) {
		switch ((enum sl_http_state)p->state) {
		case SL_HTTP_S_START:
			rc = line_read(p, buf + off, len - off,
				       p->lim.max_request_line, &line, &used);
			off += used;
			if (rc == LINE_PARTIAL)
				goto need_more;
			if (rc == LINE_TOO_LONG) {
				e = SL_HTTP_E_LINE_TOO_LONG;
				goto error;
			}
			if ((e = line_strip(&line)) != SL_HTTP_E_NONE)
				goto error;
			if (line.len == 0) {
				if (p->response ||
				    ++p->empty_lines > SL_HTTP_EMPTY_LINES_MAX) {
					e = SL_HTTP_E_EMPTY_LINES;
					goto error;
				}
				continue;
			}
			if (p->response) {
				e = status_line(p, line, &ev->resp);
				ev->type = SL_HTTP_EV_STATUS_LINE;
			} else {
				e = request_line(p, line, &ev->req);
				ev->type = SL_HTTP_EV_REQUEST_LINE;
			}
			if (e != SL_HTTP_E_NONE)
				goto error;
			p->state = SL_HTTP_S_FIELDS;
			return off;

		case SL_HTTP_S_FIELDS:
		case SL_HTTP_S_TRAILER:
			rc = line_read(p, buf + off, len - off, field_limit(p),
				       &line, &used);
			off += used;
			if (rc == LINE_PARTIAL)
				goto need_more;
			if (rc == LINE_TOO_LONG) {
				e = SL_HTTP_E_FIELDS_TOO_LARGE;
				goto error;
			}
			/* A well-formed field line has no CR (a name is a
			 * token; OWS and a value hold no CTL), so a stray CR
			 * is looked for only in a line field_line refuses. */
			if ((e = line_strip_crlf(&line)) != SL_HTTP_E_NONE)
				goto error;
			if (line.len == 0) {
				if (p->state == SL_HTTP_S_TRAILER) {
					message_done(p, ev);
					return off;
				}
				e = headers_done(p, &ev->head);
				if (e != SL_HTTP_E_NONE)
					goto error;
				ev->type = SL_HTTP_EV_HEADERS_DONE;
				return off;
			}
			if ((e = field_line(line, &ev->field)) != SL_HTTP_E_NONE) {
				if (memchr(line.ptr, '\r', line.len) != NULL)
					e = SL_HTTP_E_BARE_CR;
				goto error;
			}
			if (++p->n_fields > p->lim.max_headers &&
			    p->lim.max_headers != 0) {
				e = SL_HTTP_E_TOO_MANY_FIELDS;
				goto error;
			}
			p->field_bytes += (uint32_t)line.len + 2;
			if (p->state == SL_HTTP_S_TRAILER) {
				ev->type = SL_HTTP_EV_TRAILER;
				return off;
			}
			e = http_field_semantics(p, ev->field.name.ptr,
						 ev->field.name.len,
						 ev->field.value.ptr,
						 ev->field.value.len);
			if (e != SL_HTTP_E_NONE)
				goto error;
			ev->type = SL_HTTP_EV_HEADER;
			return off;

		case SL_HTTP_S_BODY_LENGTH:
		case SL_HTTP_S_CHUNK_DATA:
			if (off == len)
				goto need_more;
			n = body_slice(buf + off, len - off, p->remaining, ev);
			p->remaining -= n;
			if (p->remaining == 0)
				p->state = p->state == SL_HTTP_S_BODY_LENGTH ?
					SL_HTTP_S_DONE : SL_HTTP_S_CHUNK_END;
			return off + n;

		case SL_HTTP_S_CHUNK_SIZE:
			rc = line_read(p, buf + off, len - off,
				       SL_HTTP_CHUNK_LINE_MAX, &line, &used);
			off += used;
			if (rc == LINE_PARTIAL)
				goto need_more;
			if (rc == LINE_TOO_LONG) {
				e = SL_HTTP_E_CHUNK_LINE_TOO_LONG;
				goto error;
			}
			if ((e = line_strip(&line)) != SL_HTTP_E_NONE ||
			    (e = chunk_size(line, &size)) != SL_HTTP_E_NONE)
				goto error;
			if (size == 0) {
				/* last-chunk: the trailer has its own budget. */
				p->state = SL_HTTP_S_TRAILER;
				p->n_fields = 0;
				p->field_bytes = 0;
				continue;
			}
			if (p->lim.max_body != 0 &&
			    size > p->lim.max_body - p->body_bytes) {
				e = SL_HTTP_E_BODY_TOO_LARGE;
				goto error;
			}
			p->body_bytes += size;
			p->remaining = size;
			p->state = SL_HTTP_S_CHUNK_DATA;
			continue;

		case SL_HTTP_S_CHUNK_END:
			rc = line_read(p, buf + off, len - off, 2, &line, &used);
			off += used;
			if (rc == LINE_PARTIAL)
				goto need_more;
			if (rc == LINE_TOO_LONG || line.len != 2 ||
			    line.ptr[0] != '\r') {
				e = SL_HTTP_E_BAD_CHUNK;
				goto error;
			}
			p->state = SL_HTTP_S_CHUNK_SIZE;
			continue;

		case SL_HTTP_S_BODY_CLOSE:
			if (off == len)
				goto need_more;
			size = UINT64_MAX;
			if (p->lim.max_body != 0) {
				size = p->lim.max_body - p->body_bytes;
				if (size == 0) {
					e = SL_HTTP_E_BODY_TOO_LARGE;
					goto error;
				}
			}
			n = body_slice(buf + off, len - off, size, ev);
			p->body_bytes += n;
			return off + n;

		case SL_HTTP_S_DONE:
			message_done(p, ev);
			return off;

		case SL_HTTP_S_CLOSED:
			if (off == len)
				goto need_more;
			report_error(SL_HTTP_E_CLOSED, ev);
			return off;

		case SL_HTTP_S_ERROR:
		default:
			report_error((enum sl_http_error)p->error, ev);
			return off;
		}
	}
need_more:
	ev->type = SL_HTTP_EV_NEED_MORE;
	return off;
error:
	fail(p, e, ev);
	return off;
}

void
sl_http_parse_eof(struct sl_http_parser *p, struct sl_http_event *ev)
{
	switch ((enum sl_http_state)p->state) {
	case SL_HTTP_S_START:
		if (p->scratch_len != 0)
			break;
		/* Nothing of a next message arrived. */
		/* fall through */
	case SL_HTTP_S_CLOSED:
		p->state = SL_HTTP_S_CLOSED;
		ev->type = SL_HTTP_EV_EOF;
		return;
	case SL_HTTP_S_BODY_CLOSE:
	case SL_HTTP_S_DONE:
		message_done(p, ev);
		return;
	case SL_HTTP_S_ERROR:
		report_error((enum sl_http_error)p->error, ev);
		return;
	default:
		break;
	}
	fail(p, SL_HTTP_E_TRUNCATED, ev);
}
