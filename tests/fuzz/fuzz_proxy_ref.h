#ifndef SL_FUZZ_PROXY_REF_H
#define SL_FUZZ_PROXY_REF_H

/*
 * An HTTP/1.1 message parser for fuzz_proxy's oracles, written from RFC
 * 9112 and the strictness rules sl_http.h promises, sharing no code with
 * lib/http: what the gateway sends (to a backend, to a client) and what the
 * fake peers send it are judged by a second opinion, not by the parser
 * under test. It works on a whole buffer (every byte seen so far) and is
 * deliberately simple: a message is OK (complete, its framing known),
 * MORE (the buffer ends inside it) or BAD (with a reason).
 *
 * Rules: CRLF line ends only (a bare LF or CR anywhere is BAD); up to 4
 * empty lines before a request line; request line "token SP target SP
 * HTTP/1.0|1.1" with a target of visible ASCII; status line
 * "HTTP/1.0|1.1 SP 3DIGIT [SP reason]", 100-599, and 101 is BAD (the
 * gateway strips Upgrade, so nobody asked to switch; ref_strict_101); field names are
 * tokens right before ':', values VCHAR / obs-text / SP / HTAB, no
 * obs-fold; one Content-Length of 1*DIGIT; Transfer-Encoding exactly
 * "chunked" (one token, once), never with Content-Length or in HTTP/1.0;
 * chunk sizes 1*HEXDIG with checked extensions; trailers checked like
 * fields. Responses to HEAD, 1xx, 204 and 304 have no body; a response
 * without framing runs to the end of the stream.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"

#define REF_MAX_FIELDS 512

/*
 * A 101 nobody asked for is BAD when set; when not, it is read as one more
 * interim response (so that a gateway known to relay it, see fuzz_proxy.c,
 * is still checked on everything after it).
 */
static bool ref_strict_101 = true;

enum ref_rc { REF_OK, REF_MORE, REF_BAD };
enum ref_body { RB_NONE, RB_LENGTH, RB_CHUNKED, RB_CLOSE };

struct ref_slice {
	const uint8_t *p;
	size_t n;
};

struct ref_field {
	struct ref_slice name, value;
};

struct ref_msg {
	struct ref_slice method, target, reason;
	int minor;
	int status;                   /* responses */
	unsigned int nf;
	struct ref_field f[REF_MAX_FIELDS];
	enum ref_body framing;
	bool close;                   /* the connection ends after this message */
	size_t start, end;            /* offsets in the stream */
	struct fuzz_buf body;         /* decoded */
	const char *why;              /* for REF_BAD */
};

static inline bool
ref_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static inline bool
ref_vchar_obs(uint8_t c)
{
	return (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

static inline bool
ref_eq(struct ref_slice s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp((const char *)s.p, lit, s.n) == 0;
}

/* Methods are case-sensitive (RFC 9110 9.1): "HEAd" is not HEAD. */
static inline bool
ref_method_is(struct ref_slice s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* The line at b[*pos..): CRLF-terminated, no other CR or LF. */
static inline enum ref_rc
ref_line(const uint8_t *b, size_t n, size_t *pos, struct ref_slice *line,
	 const char **why)
{
	size_t i = *pos;

	for (; i < n; i++) {
		if (b[i] == '\n') {
			*why = "bare LF";
			return REF_BAD;
		}
		if (b[i] == '\r') {
			if (i + 1 == n)
				return REF_MORE;
			if (b[i + 1] != '\n') {
				*why = "bare CR";
				return REF_BAD;
			}
			line->p = b + *pos;
			line->n = i - *pos;
			*pos = i + 2;
			return REF_OK;
		}
	}
	return REF_MORE;
}

static inline bool
ref_version(const uint8_t *p, size_t n, int *minor)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1'))
		return false;
	*minor = p[7] - '0';
	return true;
}

static inline bool
ref_request_line(struct ref_slice l, struct ref_msg *m)
{
	size_t i = 0, t;

	while (i < l.n && ref_tchar(l.p[i]))
		i++;
	if (i == 0 || i >= l.n || l.p[i] != ' ')
		return false;
	m->method = (struct ref_slice){ l.p, i };
	t = ++i;
	while (i < l.n && l.p[i] >= 0x21 && l.p[i] <= 0x7e)
		i++;
	if (i == t || i >= l.n || l.p[i] != ' ')
		return false;
	m->target = (struct ref_slice){ l.p + t, i - t };
	return ref_version(l.p + i + 1, l.n - i - 1, &m->minor);
}

static inline bool
ref_status_line(struct ref_slice l, struct ref_msg *m)
{
	if (l.n < 12 || !ref_version(l.p, 8, &m->minor) || l.p[8] != ' ')
		return false;
	for (int i = 9; i < 12; i++)
		if (l.p[i] < '0' || l.p[i] > '9')
			return false;
	m->status = (l.p[9] - '0') * 100 + (l.p[10] - '0') * 10 + (l.p[11] - '0');
	if (m->status < 100 || m->status > 599)
		return false;
	if (l.n > 12 && l.p[12] != ' ')
		return false;
	for (size_t i = 13; i < l.n; i++)
		if (!ref_vchar_obs(l.p[i]) && l.p[i] != ' ' && l.p[i] != '\t')
			return false;
	m->reason = l.n > 13 ? (struct ref_slice){ l.p + 13, l.n - 13 } :
			       (struct ref_slice){ l.p + l.n, 0 };
	return true;
}

static inline bool
ref_field_line(struct ref_slice l, struct ref_field *f)
{
	size_t i = 0, s, e;

	while (i < l.n && ref_tchar(l.p[i]))
		i++;
	if (i == 0 || i >= l.n || l.p[i] != ':')
		return false;
	f->name = (struct ref_slice){ l.p, i };
	for (size_t k = i + 1; k < l.n; k++)
		if (!ref_vchar_obs(l.p[k]) && l.p[k] != ' ' && l.p[k] != '\t')
			return false;
	s = i + 1;
	while (s < l.n && (l.p[s] == ' ' || l.p[s] == '\t'))
		s++;
	e = l.n;
	while (e > s && (l.p[e - 1] == ' ' || l.p[e - 1] == '\t'))
		e--;
	f->value = (struct ref_slice){ l.p + s, e - s };
	return true;
}

/* Field lines up to the empty line. Header section or trailers. */
static inline enum ref_rc
ref_fields(const uint8_t *b, size_t n, size_t *pos, struct ref_msg *m, bool keep)
{
	for (;;) {
		struct ref_slice l;
		struct ref_field f;
		enum ref_rc rc = ref_line(b, n, pos, &l, &m->why);

		if (rc != REF_OK)
			return rc;
		if (l.n == 0)
			return REF_OK;
		if (l.p[0] == ' ' || l.p[0] == '\t') {
			m->why = "obs-fold";
			return REF_BAD;
		}
		if (!ref_field_line(l, &f)) {
			m->why = "bad field line";
			return REF_BAD;
		}
		if (!keep)
			continue;
		if (m->nf == REF_MAX_FIELDS) {
			m->why = "too many fields for the reference";
			return REF_BAD;
		}
		m->f[m->nf++] = f;
	}
}

/* Does the comma list v hold the token `tok` (case-blind)? */
static inline bool
ref_list_has(struct ref_slice v, const char *tok)
{
	size_t i = 0;

	while (i <= v.n) {
		size_t s = i, e;

		while (i < v.n && v.p[i] != ',')
			i++;
		e = i;
		while (s < e && (v.p[s] == ' ' || v.p[s] == '\t'))
			s++;
		while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		if (ref_eq((struct ref_slice){ v.p + s, e - s }, tok))
			return true;
		i++;
	}
	return false;
}

static inline bool
ref_digits(struct ref_slice v, uint64_t *out)
{
	uint64_t x = 0;

	if (v.n == 0)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		if (x > (UINT64_C(1) << 63) / 10)
			return false;
		x = x * 10 + (uint64_t)(v.p[i] - '0');
	}
	if (x >= (UINT64_C(1) << 63))
		return false;
	*out = x;
	return true;
}

static inline bool
ref_bws(const uint8_t *p, size_t n, size_t *i)
{
	while (*i < n && (p[*i] == ' ' || p[*i] == '\t'))
		(*i)++;
	return true;
}

/* chunk-size [ chunk-ext ], the whole line. */
static inline bool
ref_chunk_line(struct ref_slice l, uint64_t *size)
{
	size_t i = 0;
	uint64_t x = 0;

	while (i < l.n && isxdigit(l.p[i])) {
		unsigned int d = l.p[i] <= '9' ? l.p[i] - '0' : (l.p[i] | 0x20) - 'a' + 10;

		if (x >> 59)
			return false;
		x = x << 4 | d;
		i++;
	}
	if (i == 0)
		return false;
	while (i < l.n) {
		ref_bws(l.p, l.n, &i);
		if (i >= l.n || l.p[i] != ';')
			return false;
		i++;
		ref_bws(l.p, l.n, &i);
		if (i >= l.n || !ref_tchar(l.p[i]))
			return false;
		while (i < l.n && ref_tchar(l.p[i]))
			i++;
		{
			size_t k = i;

			ref_bws(l.p, l.n, &k);
			if (k < l.n && l.p[k] == '=') {
				i = k + 1;
				ref_bws(l.p, l.n, &i);
				if (i < l.n && l.p[i] == '"') {
					i++;
					while (i < l.n && l.p[i] != '"') {
						if (l.p[i] == '\\')
							i++;
						if (i >= l.n || (!ref_vchar_obs(l.p[i]) &&
								 l.p[i] != ' ' && l.p[i] != '\t'))
							return false;
						i++;
					}
					if (i >= l.n)
						return false;
					i++;
				} else {
					if (i >= l.n || !ref_tchar(l.p[i]))
						return false;
					while (i < l.n && ref_tchar(l.p[i]))
						i++;
				}
			}
		}
	}
	*size = x;
	return true;
}

static inline void
ref_msg_init(struct ref_msg *m)
{
	struct fuzz_buf body = m->body;

	memset(m, 0, offsetof(struct ref_msg, body));
	body.n = 0;
	m->body = body;
	m->why = NULL;
}

/* The field named `name`, from the k-th on; -1 when none. */
static inline int
ref_find(const struct ref_msg *m, const char *name, unsigned int from)
{
	for (unsigned int k = from; k < m->nf; k++)
		if (ref_eq(m->f[k].name, name))
			return (int)k;
	return -1;
}

/*
 * Parse one message at b[off..n). For a response, `head_req` says whether
 * it answers HEAD; `eof` that the stream ended at n (a close-delimited body
 * is then complete). m->body must have been zeroed once before first use.
 */
static inline enum ref_rc
ref_parse(const uint8_t *b, size_t n, size_t off, bool request, bool head_req,
	  bool eof, struct ref_msg *m)
{
	size_t pos = off;
	struct ref_slice l;
	enum ref_rc rc;
	int cl_i = -1, te_n = 0;
	uint64_t len = 0;

	ref_msg_init(m);
	m->start = off;
	for (int empty = 0;; empty++) {
		rc = ref_line(b, n, &pos, &l, &m->why);
		if (rc != REF_OK)
			return rc;
		if (l.n != 0)
			break;
		if (!request || empty == 4) {
			m->why = "empty line before the start line";
			return REF_BAD;
		}
	}
	if (request ? !ref_request_line(l, m) : !ref_status_line(l, m)) {
		m->why = request ? "bad request line" : "bad status line";
		return REF_BAD;
	}
	if (!request && m->status == 101 && ref_strict_101) {
		m->why = "101 Switching Protocols that nobody asked for";
		return REF_BAD;
	}
	rc = ref_fields(b, n, &pos, m, true);
	if (rc != REF_OK)
		return rc;
	m->close = m->minor == 0;
	for (unsigned int k = 0; k < m->nf; k++) {
		struct ref_field *f = &m->f[k];

		if (ref_eq(f->name, "content-length")) {
			if (cl_i >= 0) {
				m->why = "two Content-Length fields";
				return REF_BAD;
			}
			cl_i = (int)k;
			if (!ref_digits(f->value, &len)) {
				m->why = "bad Content-Length";
				return REF_BAD;
			}
		} else if (ref_eq(f->name, "transfer-encoding")) {
			if (++te_n > 1 || !ref_eq(f->value, "chunked")) {
				m->why = "Transfer-Encoding other than one chunked";
				return REF_BAD;
			}
		} else if (ref_eq(f->name, "connection")) {
			if (ref_list_has(f->value, "close"))
				m->close = true;
			else if (m->minor == 0 && ref_list_has(f->value, "keep-alive"))
				m->close = false;
		}
	}
	if (te_n > 0 && (cl_i >= 0 || m->minor == 0)) {
		m->why = "Transfer-Encoding with Content-Length or in HTTP/1.0";
		return REF_BAD;
	}
	if (!request && (head_req || m->status < 200 || m->status == 204 ||
			 m->status == 304))
		m->framing = RB_NONE;
	else if (te_n > 0)
		m->framing = RB_CHUNKED;
	else if (cl_i >= 0)
		m->framing = RB_LENGTH;
	else
		m->framing = request ? RB_NONE : RB_CLOSE;
	switch (m->framing) {
	case RB_NONE:
		break;
	case RB_LENGTH:
		if (n - pos < len)
			return REF_MORE;
		fuzz_buf_put(&m->body, b + pos, (size_t)len);
		pos += (size_t)len;
		break;
	case RB_CLOSE:
		fuzz_buf_put(&m->body, b + pos, n - pos);
		pos = n;
		m->close = true;
		if (!eof)
			return REF_MORE;
		break;
	case RB_CHUNKED:
		for (;;) {
			uint64_t sz;

			rc = ref_line(b, n, &pos, &l, &m->why);
			if (rc != REF_OK)
				return rc;
			if (!ref_chunk_line(l, &sz)) {
				m->why = "bad chunk-size line";
				return REF_BAD;
			}
			if (sz == 0)
				break;
			if (n - pos < sz)
				return REF_MORE;
			fuzz_buf_put(&m->body, b + pos, (size_t)sz);
			pos += (size_t)sz;
			if (n - pos < 2)
				return REF_MORE;
			if (b[pos] != '\r' || b[pos + 1] != '\n') {
				m->why = "chunk data not followed by CRLF";
				return REF_BAD;
			}
			pos += 2;
		}
		rc = ref_fields(b, n, &pos, m, false);
		if (rc != REF_OK)
			return rc;
		break;
	}
	m->end = pos;
	return REF_OK;
}

/*
 * The target a gateway forwards for `t` (RFC 9112 3.2, RFC 3986 5.2.4):
 * origin-form with dot-segments removed from the path (the query as it
 * was; percent-encoding left alone), an http(s) absolute-form reduced to
 * its path ("/" when it has none), anything else ('*', authority-form,
 * other schemes) unchanged.
 */
static inline void
ref_target_norm(struct ref_slice t, struct fuzz_buf *out)
{
	size_t i = 0, q, olen;
	char *o;

	out->n = 0;
	if ((t.n >= 7 && strncasecmp((const char *)t.p, "http://", 7) == 0) ||
	    (t.n >= 8 && strncasecmp((const char *)t.p, "https://", 8) == 0)) {
		i = t.p[4] == ':' ? 7 : 8;
		while (i < t.n && t.p[i] != '/' && t.p[i] != '?')
			i++;
		if (i == t.n || t.p[i] == '?')
			fuzz_buf_put(out, "/", 1);
		t = (struct ref_slice){ t.p + i, t.n - i };
	}
	if (t.n == 0 || t.p[0] != '/') {
		fuzz_buf_put(out, t.p, t.n);
		return;
	}
	for (q = 0; q < t.n && t.p[q] != '?'; q++)
		;
	/* remove_dot_segments, on a copy we can shrink from the front */
	{
		size_t start = out->n;
		const uint8_t *in = t.p, *end = t.p + q;

		fuzz_buf_put(out, t.p, q);   /* room: the output is never longer */
		o = (char *)out->b + start;
		olen = 0;
		while (in < end) {
			size_t left = (size_t)(end - in);

			if (left >= 3 && memcmp(in, "../", 3) == 0)
				in += 3;
			else if (left >= 2 && memcmp(in, "./", 2) == 0)
				in += 2;
			else if (left >= 3 && memcmp(in, "/./", 3) == 0)
				in += 2;
			else if (left == 2 && memcmp(in, "/.", 2) == 0) {
				o[olen++] = '/';
				in += 2;
			} else if ((left >= 4 && memcmp(in, "/../", 4) == 0) ||
				   (left == 3 && memcmp(in, "/..", 3) == 0)) {
				while (olen > 0 && o[olen - 1] != '/')
					olen--;
				if (olen > 0)
					olen--;
				if (left == 3) {
					o[olen++] = '/';
					in += 3;
				} else {
					in += 3;
				}
			} else if ((left == 1 && in[0] == '.') ||
				   (left == 2 && memcmp(in, "..", 2) == 0)) {
				in = end;
			} else {
				do
					o[olen++] = (char)*in++;
				while (in < end && *in != '/');
			}
		}
		out->n = start + olen;
	}
	fuzz_buf_put(out, t.p + q, t.n - q);
}

#endif
