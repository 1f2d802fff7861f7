/*
 * The head scanner the HTTP proxy runs before it commits anything to a
 * request, and the target rewriting it routes on:
 * - the scanner never disagrees with the parser: over the whole corpus of
 *   tests/http/, a request the scanner refuses has the status the parser
 *   gives it, and the verdict and its offset do not depend on how the
 *   bytes were split;
 * - it refuses garbage at its first byte (a TLS ClientHello waits for no
 *   CRLF), finds the end of a head, and bounds lines and fields;
 * - dot-segments are removed as RFC 3986 5.2.4 says, percent-encoded
 *   octets are left alone, and absolute-form targets are split.
 */
#include <dirent.h>
#include <stdlib.h>

#include "sl_http.h"
#include "sl_test.h"

#define CORPUS_DIR SL_SRCDIR "/tests/http"

struct verdict {
	enum sl_http_scan v;
	uint32_t at;      /* bytes scanned when it came */
};

static struct verdict
scan_split(const char *buf, size_t len, size_t step,
	   const struct sl_http_limits *lim)
{
	struct sl_http_head_scan s;
	struct verdict r = { SL_HTTP_SCAN_MORE, 0 };

	sl_http_head_scan_init(&s);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		r.v = sl_http_head_scan(&s, buf + off, n, lim);
		if (r.v != SL_HTTP_SCAN_MORE)
			break;
	}
	r.at = s.bytes;
	return r;
}

static struct verdict
scan_all(const char *buf, size_t len, const struct sl_http_limits *lim)
{
	return scan_split(buf, len, len ? len : 1, lim);
}

#define SCAN(lit) scan_all(lit, sizeof(lit) - 1, &lim)

static void
test_verdicts(void)
{
	const struct sl_http_limits lim = SL_HTTP_LIMITS_DEFAULT;
	static const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	struct verdict r;

	r = SCAN("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ(r.v, SL_HTTP_SCAN_COMPLETE);
	CHECK_EQ(r.at, 27);
	/* Bytes after the head are not scanned: they are the body. */
	r = SCAN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
	CHECK_EQ(r.v, SL_HTTP_SCAN_COMPLETE);
	CHECK_EQ(r.at, 47);
	/* Unfinished heads wait. */
	CHECK_EQ(SCAN("GET / HTTP/1.1\r\nHost: a\r\n").v, SL_HTTP_SCAN_MORE);
	CHECK_EQ(SCAN("GE").v, SL_HTTP_SCAN_MORE);
	CHECK_EQ(SCAN("\r\n\r\nGET / HTTP/1.1\r").v, SL_HTTP_SCAN_MORE);
	/* Refused at the first byte that no request has there. */
	r = scan_all(tls_hello, sizeof(tls_hello) - 1, &lim);
	CHECK_EQ(r.v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(r.at, 0);
	r = SCAN("GET /a b");
	CHECK_EQ(r.v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(r.at, 7);
	CHECK_EQ(SCAN(" GET").v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(SCAN("GET  /").v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(SCAN("GET / HTTP/1.1\n").v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(SCAN("GET / HTTQ").v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(SCAN("GET /\x01").v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(SCAN("G(T").v, SL_HTTP_SCAN_INVALID);
	CHECK_EQ(SCAN("\r\n\r\n\r\n\r\n\r\n").v, SL_HTTP_SCAN_INVALID);
	/* Any version digits: the parser answers 505 to the ones it lacks. */
	CHECK_EQ(SCAN("GET / HTTP/2.0\r\n\r\n").v, SL_HTTP_SCAN_COMPLETE);
	/* A bare LF in the fields: the parser has what it needs to refuse. */
	CHECK_EQ(SCAN("GET / HTTP/1.1\r\nHost: a\n").v, SL_HTTP_SCAN_COMPLETE);
	CHECK_EQ(SCAN("GET / HTTP/1.1\r\nHost: a\r\n\n").v, SL_HTTP_SCAN_COMPLETE);
}

static void
test_limits(void)
{
	struct sl_http_limits lim = SL_HTTP_LIMITS_DEFAULT;
	static char buf[40000];
	size_t n;
	struct verdict r;

	lim.max_request_line = 256;
	lim.max_header_bytes = 1024;
	lim.max_headers = 10;
	/* A request line of 300 bytes, never ended. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'a', 300);
	r = scan_all(buf, n + 300, &lim);
	CHECK_EQ(r.v, SL_HTTP_SCAN_LINE_TOO_LONG);
	CHECK_EQ(r.at, 256);
	/* 11 small fields. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 11; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "F%d: v\r\n", i);
	CHECK_EQ(scan_all(buf, n, &lim).v, SL_HTTP_SCAN_TOO_LARGE);
	/* One field of 2000 bytes, never ended: bounded before its LF. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nBig: ");
	memset(buf + n, 'b', 2000);
	r = scan_split(buf, n + 2000, 1, &lim);
	CHECK_EQ(r.v, SL_HTTP_SCAN_TOO_LARGE);
	CHECK(r.at <= 16 + 1024 + 3);
	/* 10 fields and the end: fine. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 10; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "F%d: v\r\n", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	CHECK_EQ(scan_all(buf, n, &lim).v, SL_HTTP_SCAN_COMPLETE);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;

	if (f == NULL)
		return NULL;
	b = malloc(1 << 20);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

/* Every request of the corpus: the scan agrees with the expected status. */
static void
test_corpus(void)
{
	const struct sl_http_limits lim = SL_HTTP_LIMITS_DEFAULT;
	DIR *d = opendir(CORPUS_DIR);
	struct dirent *e;
	unsigned int files = 0;

	CHECK(d != NULL);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[1024], *req, *st;
		size_t len = 0, slen = 0, nl = strlen(e->d_name);
		unsigned int status;
		struct verdict whole;

		if (nl < 5 || strcmp(e->d_name + nl - 4, ".req") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, e->d_name);
		req = read_file(path, &len);
		snprintf(path + strlen(path) - 4, 8, ".status");
		st = read_file(path, &slen);
		CHECK(req != NULL && st != NULL);
		if (req == NULL || st == NULL) {
			free(req);
			free(st);
			continue;
		}
		st[slen < 16 ? slen : 15] = '\0';
		status = (unsigned int)atoi(st);
		files++;
		whole = scan_all(req, len, &lim);
		for (size_t step = 1; step <= 7; step++) {
			struct verdict r = scan_split(req, len, step, &lim);

			if (r.v != whole.v || r.at != whole.at) {
				fprintf(stderr, "%s: split by %zu: %d at %u, whole: %d at %u\n",
					e->d_name, step, r.v, r.at, whole.v, whole.at);
				CHECK(false);
			}
		}
		switch (whole.v) {
		case SL_HTTP_SCAN_INVALID:
			if (status != 400)
				fprintf(stderr, "%s: scan refuses, status %u\n",
					e->d_name, status);
			CHECK_EQ(status, 400);
			break;
		case SL_HTTP_SCAN_LINE_TOO_LONG:
			CHECK_EQ(status, 414);
			break;
		case SL_HTTP_SCAN_TOO_LARGE:
			CHECK_EQ(status, 431);
			break;
		default:
			/* COMPLETE: the parser decides. MORE: a head that never
			 * ends waits for its timeout, as the parser would. */
			break;
		}
		free(req);
		free(st);
	}
	closedir(d);
	CHECK(files >= 90);
}

static void
check_norm(const char *in, const char *want)
{
	char out[256];
	long n = sl_http_path_normalize(in, strlen(in), out, sizeof(out));

	CHECK(n >= 0);
	if (n < 0)
		return;
	out[n] = '\0';
	CHECK_STR(out, want);
}

static void
test_path_normalize(void)
{
	char small[4];

	check_norm("/", "/");
	check_norm("/a/b/c", "/a/b/c");
	check_norm("/x/../api/x", "/api/x");
	check_norm("/a/b/../c", "/a/c");
	check_norm("/../x", "/x");
	check_norm("/../../..", "/");
	check_norm("/x/..", "/");
	check_norm("/x/.", "/x/");
	check_norm("/.", "/");
	check_norm("/x/./y", "/x/y");
	check_norm("/a/b/..?q=/../x", "/a/?q=/../x");
	check_norm("//x/../y", "//y");
	check_norm("/a/.../b", "/a/.../b");
	check_norm("/a/..b/c", "/a/..b/c");
	/* Percent-encoded dots and slashes are not separators. */
	check_norm("/%2e%2e/admin", "/%2e%2e/admin");
	check_norm("/api%2f..%2fadmin", "/api%2f..%2fadmin");
	check_norm("/a%2F/../b", "/b");
	CHECK_EQ(sl_http_path_normalize("x/y", 3, small, sizeof(small)), -1);
	CHECK_EQ(sl_http_path_normalize("/abcdef", 7, small, sizeof(small)), -1);
}

static void
check_split(const char *t, int rc, const char *auth, const char *rest)
{
	struct sl_http_slice in = { t, strlen(t) }, a, r;

	CHECK_EQ(sl_http_target_split(in, &a, &r), rc);
	if (rc != 0)
		return;
	CHECK(a.len == strlen(auth) && memcmp(a.ptr, auth, a.len) == 0);
	CHECK(r.len == strlen(rest) && memcmp(r.ptr, rest, r.len) == 0);
}

static void
test_target_split(void)
{
	check_split("http://a.example/x", 0, "a.example", "/x");
	check_split("HTTP://a.example:8080/x?q", 0, "a.example:8080", "/x?q");
	check_split("https://b.example", 0, "b.example", "");
	check_split("http://b.example?q=1", 0, "b.example", "?q=1");
	check_split("http://[2001:db8::1]:80/", 0, "[2001:db8::1]:80", "/");
	check_split("http://user@a.example/", -1, NULL, NULL);
	check_split("http:///x", -1, NULL, NULL);
	check_split("ftp://a.example/x", -1, NULL, NULL);
	check_split("http:a.example", -1, NULL, NULL);
}

/*
 * A whole request line is taken in one pass when it is well formed; the
 * byte-by-byte machine decides everything else. The two must never
 * differ: every one-byte change, insertion and deletion in the request
 * line of a few heads gets the same verdict at the same offset whole, in
 * 3-byte pieces and byte by byte (a 1-byte piece never holds a whole
 * line), with the default limits and with request lines bounded near
 * their length.
 */
static void
test_request_line_whole(void)
{
	static const char *const heads[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /a/b?c=d%20e HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://x.example/y HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\nGET /z HTTP/1.1\r\n\r\n",
	};
	static const char bytes[] = { 0x00, '\t', ' ', '\r', '\n', 'x', '1', '9',
				      '/', '.', ':', 'H', 0x7f, (char)0x80, '"' };
	const unsigned int line_limits[] = { 0, 12, 15, 16, 17, 24 };
	unsigned int differ = 0, tried = 0;
	char buf[128];

	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		size_t hl = strlen(heads[h]);
		size_t line = (size_t)(strstr(heads[h] + 2, "\r\n") - heads[h]) + 2;

		for (size_t at = 0; at < line; at++) {
			for (size_t k = 0; k < sizeof(bytes) + 2; k++) {
				size_t n = hl;

				memcpy(buf, heads[h], hl);
				if (k < sizeof(bytes)) {
					buf[at] = bytes[k];
				} else if (k == sizeof(bytes)) {
					memmove(buf + at, buf + at + 1, hl - at - 1);
					n--;
				} else {
					memmove(buf + at + 1, buf + at, hl - at);
					buf[at] = 'A';
					n++;
				}
				for (size_t l = 0; l < sizeof(line_limits) / sizeof(line_limits[0]); l++) {
					struct sl_http_limits lim = SL_HTTP_LIMITS_DEFAULT;
					struct verdict w, b1, b3;

					if (line_limits[l] != 0)
						lim.max_request_line = line_limits[l];
					w = scan_all(buf, n, &lim);
					b1 = scan_split(buf, n, 1, &lim);
					b3 = scan_split(buf, n, 3, &lim);
					tried++;
					if (w.v != b1.v || w.at != b1.at ||
					    b3.v != b1.v || b3.at != b1.at) {
						if (differ++ < 5)
							fprintf(stderr, "differ: \"%.*s\" limit %u: "
								"whole %d@%u, bytewise %d@%u\n",
								(int)n, buf, line_limits[l],
								w.v, w.at, b1.v, b1.at);
					}
				}
			}
		}
	}
	CHECK(tried > 10000);
	CHECK_EQ(differ, 0);
}

int
main(void)
{
	test_verdicts();
	test_limits();
	test_request_line_whole();
	test_corpus();
	test_path_normalize();
	test_target_split();
	return sl_test_result("test_http_scan");
}
