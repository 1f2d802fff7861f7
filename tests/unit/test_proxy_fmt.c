/* The proxy's snprintf-free number formatting writes what printf would. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxy_fmt.h"
#include "sl_test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
	return sl_test_rand(&rng);
}

static void
check_u32(uint32_t v)
{
	char a[32], b[32], *e = sl_fmt_u32(a, v);

	*e = '\0';
	snprintf(b, sizeof(b), "%u", v);
	CHECK_STR(a, b);
}

static void
check_hex(uint64_t v, unsigned int min)
{
	char a[40], b[40], *e = sl_fmt_hex(a, v, min);

	*e = '\0';
	snprintf(b, sizeof(b), "%0*" PRIx64, (int)min, v);
	CHECK_STR(a, b);
}

static void
check_ipv4(uint32_t ip)
{
	char a[32], b[32], *e = sl_fmt_ipv4(a, ip);

	*e = '\0';
	snprintf(b, sizeof(b), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
	CHECK_STR(a, b);
}

int
main(void)
{
	static const uint32_t edges[] = { 0, 1, 9, 10, 99, 100, 200, 404, 599,
		999, 1000, 65535, 65536, 99999999, 100000000, 999999999,
		1000000000, 4294967294u, 4294967295u };
	char buf[64], *e;

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		check_u32(edges[i]);
		check_hex(edges[i], 1);
		check_hex(edges[i], 8);
		check_ipv4(edges[i]);
	}
	for (unsigned int s = 0; s < 64; s++) {
		check_hex(1ull << s, 1);
		check_hex((1ull << s) - 1, 1);
		check_hex(~0ull >> s, 8);
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t v = next();

		check_u32((uint32_t)v);
		check_u32((uint32_t)v >> (v % 32));
		check_hex(v >> (v % 64), 1);
		check_hex((uint32_t)(v >> 7), 8);
		check_ipv4((uint32_t)(v >> 3));
	}
	e = SL_FMT_LIT(buf, "HTTP/1.1 ");
	e = sl_fmt_u32(e, 200);
	*e++ = ' ';
	*e = '\0';
	CHECK_STR(buf, "HTTP/1.1 200 ");
	return sl_test_result("proxy_fmt");
}
