#ifndef SL_PROXY_FMT_H
#define SL_PROXY_FMT_H

/*
 * The numbers the HTTP proxy writes into every request and response head
 * (X-Forwarded-For, X-Request-Id, the status line, chunk sizes), without
 * snprintf: at a few hundred instructions a call, snprintf was about a
 * seventh of a keep-alive request's cost. Each writes exactly what the
 * printf conversion named beside it would, and returns the end; no NUL.
 */
#include <stdint.h>
#include <string.h>

/* "%u" (at most 10 bytes) */
static inline char *
sl_fmt_u32(char *p, uint32_t v)
{
	char tmp[10];
	unsigned int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* "%x" of a 64-bit value, or "%0<min>x" when min > 1 (at most 16 bytes) */
static inline char *
sl_fmt_hex(char *p, uint64_t v, unsigned int min)
{
	static const char digits[] = "0123456789abcdef";
	unsigned int n = 1;

	while (n < 16 && (v >> (4 * n)) != 0)
		n++;
	if (n < min)
		n = min;
	for (unsigned int i = n; i > 0; i--) {
		p[i - 1] = digits[v & 0xf];
		v >>= 4;
	}
	return p + n;
}

/* "%u.%u.%u.%u" of a host-order IPv4 address (at most 15 bytes) */
static inline char *
sl_fmt_ipv4(char *p, uint32_t a)
{
	p = sl_fmt_u32(p, a >> 24);
	*p++ = '.';
	p = sl_fmt_u32(p, (a >> 16) & 0xff);
	*p++ = '.';
	p = sl_fmt_u32(p, (a >> 8) & 0xff);
	*p++ = '.';
	return sl_fmt_u32(p, a & 0xff);
}

/* Copy a string literal; returns the end. */
#define SL_FMT_LIT(p, lit) \
	((char *)memcpy((p), (lit), sizeof(lit) - 1) + sizeof(lit) - 1)

#endif
