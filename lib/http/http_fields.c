/*
 * The meaning of the fields that decide framing and connection handling,
 * plus the small tables: character classes, methods, errors.
 */
#include <string.h>

#include "sl_http.h"
#include "http_private.h"

/* Generated from the class definitions in http_private.h; see the bits. */
const uint8_t http_cls[256] = {
	/* 00 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 10 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 20 */ 0x22, 0x2f, 0x06, 0x27, 0x2f, 0x2f, 0x2f, 0x2f, 0x2e, 0x2e, 0x2f, 0x2f, 0x2e, 0x2f, 0x2f, 0x26,
	/* 30 */ 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2e, 0x2e, 0x26, 0x2e, 0x26, 0x26,
	/* 40 */ 0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
	/* 50 */ 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2e, 0x06, 0x2e, 0x27, 0x2f,
	/* 60 */ 0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
	/* 70 */ 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x26, 0x27, 0x26, 0x2f, 0x00,
	/* 80 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* 90 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* a0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* b0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* c0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* d0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* e0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* f0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
};

static const struct {
	const char *name;
	unsigned int status;
	const char *desc;
} http_errors[SL_HTTP_E_MAX] = {
#define SL_HTTP_ERROR(sym, status, name, desc) \
	[SL_HTTP_E_##sym] = { name, status, desc },
#include "sl_http_error.def"
#undef SL_HTTP_ERROR
};

const char *
sl_http_error_name(enum sl_http_error e)
{
	return (unsigned int)e < SL_HTTP_E_MAX ? http_errors[e].name : NULL;
}

const char *
sl_http_error_desc(enum sl_http_error e)
{
	return (unsigned int)e < SL_HTTP_E_MAX ? http_errors[e].desc : NULL;
}

unsigned int
sl_http_error_status(enum sl_http_error e)
{
	return (unsigned int)e < SL_HTTP_E_MAX ? http_errors[e].status : 500;
}

static const char *const http_methods[SL_HTTP_M_MAX] = {
	[SL_HTTP_M_OTHER] = "OTHER",
	[SL_HTTP_M_GET] = "GET",
	[SL_HTTP_M_HEAD] = "HEAD",
	[SL_HTTP_M_POST] = "POST",
	[SL_HTTP_M_PUT] = "PUT",
	[SL_HTTP_M_DELETE] = "DELETE",
	[SL_HTTP_M_OPTIONS] = "OPTIONS",
	[SL_HTTP_M_PATCH] = "PATCH",
	[SL_HTTP_M_CONNECT] = "CONNECT",
	[SL_HTTP_M_TRACE] = "TRACE",
};

const char *
sl_http_method_name(enum sl_http_method m)
{
	return (unsigned int)m < SL_HTTP_M_MAX ? http_methods[m] : NULL;
}

enum sl_http_method
sl_http_method_parse(const char *s, size_t n)
{
	/* Methods are case-sensitive (RFC 9110 9.1). */
#define M(lit, m) \
	if (n == sizeof(lit) - 1 && memcmp(s, lit, n) == 0) return m
	switch (n) {
	case 3:
		M("GET", SL_HTTP_M_GET);
		M("PUT", SL_HTTP_M_PUT);
		break;
	case 4:
		M("HEAD", SL_HTTP_M_HEAD);
		M("POST", SL_HTTP_M_POST);
		break;
	case 5:
		M("PATCH", SL_HTTP_M_PATCH);
		M("TRACE", SL_HTTP_M_TRACE);
		break;
	case 6:
		M("DELETE", SL_HTTP_M_DELETE);
		break;
	case 7:
		M("OPTIONS", SL_HTTP_M_OPTIONS);
		M("CONNECT", SL_HTTP_M_CONNECT);
		break;
	}
#undef M
	return SL_HTTP_M_OTHER;
}

static inline unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* s[0..n) equals the lower-case literal `lit` of length n, ignoring case. */
static bool
ci_eq(const char *s, size_t n, const char *lit, size_t litlen)
{
	if (n != litlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

#define CI_EQ(s, n, lit) ci_eq(s, n, lit, sizeof(lit) - 1)

bool
sl_http_list_next(struct sl_http_slice list, size_t *pos,
		  struct sl_http_slice *elem)
{
	size_t i = *pos;

	while (i < list.len) {
		size_t start, end;

		while (i < list.len && (http_ows(list.ptr[i]) || list.ptr[i] == ','))
			i++;
		start = i;
		while (i < list.len && list.ptr[i] != ',')
			i++;
		end = i;
		while (end > start && http_ows(list.ptr[end - 1]))
			end--;
		if (end > start) {
			elem->ptr = list.ptr + start;
			elem->len = end - start;
			*pos = i;
			return true;
		}
	}
	*pos = i;
	return false;
}

static enum sl_http_error
content_length(struct sl_http_parser *p, const char *v, size_t n)
{
	uint64_t cl = 0;

	if (p->flags & SL_HTTP_F_CONTENT_LENGTH)
		return SL_HTTP_E_DUP_CONTENT_LENGTH;
	if (p->flags & SL_HTTP_F_TRANSFER_ENCODING)
		return SL_HTTP_E_CL_AND_TE;
	if (n == 0)
		return SL_HTTP_E_BAD_CONTENT_LENGTH;
	for (size_t i = 0; i < n; i++) {
		unsigned int d = (unsigned char)v[i] - '0';

		if (d > 9 || cl > ((uint64_t)INT64_MAX - d) / 10)
			return SL_HTTP_E_BAD_CONTENT_LENGTH;
		cl = cl * 10 + d;
	}
	p->flags |= SL_HTTP_F_CONTENT_LENGTH;
	p->content_length = cl;
	return SL_HTTP_E_NONE;
}

/*
 * Record each coding of one Transfer-Encoding line. Unlike the general list
 * rule, an empty element is an error here: this field decides framing, and
 * a recipient that skipped it differently could be smuggled past.
 */
static enum sl_http_error
transfer_encoding(struct sl_http_parser *p, const char *v, size_t n)
{
	size_t i = 0;

	if (p->flags & SL_HTTP_F_CONTENT_LENGTH)
		return SL_HTTP_E_CL_AND_TE;
	p->flags |= SL_HTTP_F_TRANSFER_ENCODING;
	for (;;) {
		size_t start, end;
		bool token = true;

		while (i < n && http_ows(v[i]))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && http_ows(v[end - 1]))
			end--;
		for (size_t k = start; k < end; k++)
			if (!http_is(v[k], HTTP_C_TCHAR))
				token = false;
		if (end == start || !token) {
			p->te |= HTTP_TE_BAD;
		} else if (CI_EQ(v + start, end - start, "chunked")) {
			if (p->te & HTTP_TE_CHUNKED)
				p->te |= HTTP_TE_BAD;
			p->te |= HTTP_TE_CHUNKED | HTTP_TE_LAST_CHUNKED;
		} else {
			p->te |= HTTP_TE_OTHER;
			p->te &= ~HTTP_TE_LAST_CHUNKED;
		}
		if (i == n)
			break;
		i++;    /* the comma */
	}
	return SL_HTTP_E_NONE;
}

static void
connection(struct sl_http_parser *p, const char *v, size_t n)
{
	struct sl_http_slice list = { v, n }, e;
	size_t pos = 0;

	while (sl_http_list_next(list, &pos, &e)) {
		if (CI_EQ(e.ptr, e.len, "close"))
			p->flags |= SL_HTTP_F_CONN_CLOSE;
		else if (CI_EQ(e.ptr, e.len, "keep-alive"))
			p->flags |= SL_HTTP_F_CONN_KEEP_ALIVE;
		else if (CI_EQ(e.ptr, e.len, "upgrade"))
			p->flags |= SL_HTTP_F_CONN_UPGRADE;
		else
			p->flags |= SL_HTTP_F_CONN_OTHER;
	}
}

static enum sl_http_error
host(struct sl_http_parser *p, const char *v, size_t n)
{
	if (p->flags & SL_HTTP_F_HOST)
		return SL_HTTP_E_DUP_HOST;
	for (size_t i = 0; i < n; i++)
		if (!http_is(v[i], HTTP_C_HOST))
			return SL_HTTP_E_BAD_HOST;
	p->flags |= SL_HTTP_F_HOST;
	return SL_HTTP_E_NONE;
}

enum sl_http_error
http_field_semantics(struct sl_http_parser *p, const char *name, size_t nlen,
		     const char *v, size_t vlen)
{
	/* Dispatch on length first: most fields match none of these. */
	switch (nlen) {
	case 4:
		if (!p->response && CI_EQ(name, nlen, "host"))
			return host(p, v, vlen);
		break;
	case 6:
		/* RFC 9110 10.1.1: ignore 100-continue from HTTP/1.0. */
		if (!p->response && p->version_minor >= 1 &&
		    CI_EQ(name, nlen, "expect"))
			p->flags |= CI_EQ(v, vlen, "100-continue") ?
				SL_HTTP_F_EXPECT_CONTINUE : SL_HTTP_F_EXPECT_OTHER;
		break;
	case 7:
		if (CI_EQ(name, nlen, "upgrade"))
			p->flags |= HTTP_F_UPGRADE_FIELD;
		break;
	case 10:
		if (CI_EQ(name, nlen, "connection"))
			connection(p, v, vlen);
		break;
	case 14:
		if (CI_EQ(name, nlen, "content-length"))
			return content_length(p, v, vlen);
		break;
	case 17:
		if (CI_EQ(name, nlen, "transfer-encoding"))
			return transfer_encoding(p, v, vlen);
		break;
	}
	return SL_HTTP_E_NONE;
}

enum sl_http_error
http_framing_check(struct sl_http_parser *p)
{
	if (!(p->flags & SL_HTTP_F_TRANSFER_ENCODING))
		return SL_HTTP_E_NONE;
	if (p->te & HTTP_TE_BAD)
		return SL_HTTP_E_BAD_TRANSFER_ENCODING;
	/* RFC 9112 6.1: the framing of a 1.0 message with TE is faulty. */
	if (p->version_minor == 0)
		return SL_HTTP_E_TE_HTTP10;
	/* RFC 9112 6.3: chunked not final leaves the length undetermined. */
	if (!(p->te & HTTP_TE_LAST_CHUNKED))
		return SL_HTTP_E_TE_NOT_CHUNKED;
	/* RFC 9112 6.1: a coding we do not understand gets 501. */
	if (p->te & HTTP_TE_OTHER)
		return SL_HTTP_E_TE_UNSUPPORTED;
	return SL_HTTP_E_NONE;
}
