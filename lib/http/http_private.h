#ifndef HTTP_PRIVATE_H
#define HTTP_PRIVATE_H

/* Shared by the parser's files; not part of the API. */
#include <string.h>

#include "sl_http_types.h"

/* Character classes (RFC 9110 5.6.2, 5.5; RFC 3986 3.2.2). */
#define HTTP_C_TCHAR  0x01   /* token character */
#define HTTP_C_FIELD  0x02   /* field-value byte: VCHAR, obs-text, SP, HTAB */
#define HTTP_C_TARGET 0x04   /* request-target byte: visible ASCII */
#define HTTP_C_HOST   0x08   /* uri-host [":" port], IP-literal included */
#define HTTP_C_HEX    0x10
#define HTTP_C_QDTEXT 0x20   /* inside a quoted-string */

extern const uint8_t http_cls[256];

static inline int
http_is(unsigned char c, uint8_t cls)
{
	return http_cls[c] & cls;
}

/* Is some byte of the 8 at s a CTL (below 0x20, or 0x7f)? */
static inline int
http_word_has_ctl(const char *s)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t w, del;

	memcpy(&w, s, 8);
	del = w ^ (0x7f * ones);
	/* each test exact: some byte below 0x20; some byte equal to 0x7f */
	return ((((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & high) != 0;
}

/*
 * The end of a run of field-value bytes (HTTP_C_FIELD) in s[i..n): the
 * index of the first byte outside the class, or n. Eight bytes at a time
 * while no byte of the word is a CTL (below 0x20, or 0x7f): values are
 * most of a head's bytes, and a table lookup per byte is most of their
 * cost. A word holding a CTL (HTAB, the one allowed) goes byte by byte.
 */
static inline size_t
http_field_run(const char *s, size_t i, size_t n)
{
	for (;;) {
		while (n - i >= 8 && !http_word_has_ctl(s + i))
			i += 8;
		if (i == n || !http_is((unsigned char)s[i], HTTP_C_FIELD))
			return i;
		i++;
	}
}

static inline int
http_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Transfer-Encoding findings, gathered over every TE field line. */
#define HTTP_TE_BAD          0x01   /* syntax, or chunked twice */
#define HTTP_TE_LAST_CHUNKED 0x02   /* the last coding so far is chunked */
#define HTTP_TE_CHUNKED      0x04   /* chunked seen */
#define HTTP_TE_OTHER        0x08   /* a coding other than chunked seen */

/* Internal flag: an Upgrade field was seen. Never reported. */
#define HTTP_F_UPGRADE_FIELD 0x80000000u

/*
 * Apply the meaning of one well-formed field line of the header section
 * (Content-Length, Transfer-Encoding, Connection, Host, Expect, Upgrade)
 * to the parser. Returns SL_HTTP_E_NONE or the error.
 */
enum sl_http_error
http_field_semantics(struct sl_http_parser *p, const char *name, size_t nlen,
		     const char *value, size_t vlen);

/* At the end of the header section: check the framing fields together. */
enum sl_http_error
http_framing_check(struct sl_http_parser *p);

#endif
