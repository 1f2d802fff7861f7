/*
 * Malformed and smuggling requests, each with the status a server must
 * answer. The table below is the source of truth; it is also kept as files
 * under tests/http/ (NN_description.req: the raw request as sent on the
 * wire; NN_description.status: the status), which the integration suite
 * replays against the running gateway. This test checks that the files say
 * exactly what the table says, then that the parser gives every request its
 * status, whole, split at every offset and one byte at a time.
 *
 *	test_http_corpus --write [DIR]   rewrites the files from the table
 *
 * Cases near a limit assume the gateway's limits are at most the parser's
 * defaults (SL_HTTP_LIMITS_DEFAULT).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "sl_http.h"
#include "sl_test.h"

#define CORPUS_DIR SL_SRCDIR "/tests/http"

struct ccase {
	const char *name;                /* file name without NN_ and suffix */
	unsigned int status;
	enum sl_http_error code;         /* NONE: parses, but the verdict fails */
	const char *pre;                 /* request: pre + fill * nfill + post */
	size_t pre_len;
	const char *fill;
	unsigned int nfill;
	const char *post;
};

#define IN(lit) .pre = lit, .pre_len = sizeof(lit) - 1
#define E(sym) SL_HTTP_E_##sym
#define X10(s) s s s s s s s s s s

/* A POST with the given field lines and body, otherwise well-formed. */
#define POST(fields, body) \
	IN("POST /p HTTP/1.1\r\nHost: a\r\n" fields "\r\n" body)
#define GET(fields) IN("GET /g HTTP/1.1\r\nHost: a\r\n" fields "\r\n")
#define CHUNKED(body) POST("Transfer-Encoding: chunked\r\n", body)

static const struct ccase corpus[] = {
	/* Content-Length and Transfer-Encoding together, or ambiguous. */
	{ "cl_and_te", 400, E(CL_AND_TE),
	  POST("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n") },
	{ "te_and_cl", 400, E(CL_AND_TE),
	  POST("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n") },
	{ "cl_duplicate_equal", 400, E(DUP_CONTENT_LENGTH),
	  POST("Content-Length: 5\r\nContent-Length: 5\r\n", "hello") },
	{ "cl_duplicate_differ", 400, E(DUP_CONTENT_LENGTH),
	  POST("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!") },
	{ "cl_comma_list", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: 5, 5\r\n", "hello") },
	{ "cl_plus_sign", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: +5\r\n", "hello") },
	{ "cl_negative", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: -1\r\n", "") },
	{ "cl_inner_space", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: 1 0\r\n", "0123456789") },
	{ "cl_hex", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: 0x5\r\n", "hello") },
	{ "cl_empty", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: \r\n", "") },
	{ "cl_overflow", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: 99999999999999999999\r\n", "hello") },
	{ "cl_above_int64", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: 9223372036854775808\r\n", "hello") },
	{ "cl_trailing_garbage", 400, E(BAD_CONTENT_LENGTH),
	  POST("Content-Length: 5abc\r\n", "hello") },

	/* Transfer-Encoding must be exactly chunked, last, once. */
	{ "te_gzip_only", 400, E(TE_NOT_CHUNKED),
	  POST("Transfer-Encoding: gzip\r\n", "") },
	{ "te_chunked_then_gzip", 400, E(TE_NOT_CHUNKED),
	  POST("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n") },
	{ "te_gzip_then_chunked", 501, E(TE_UNSUPPORTED),
	  POST("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n") },
	{ "te_chunked_twice", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n") },
	{ "te_two_fields_chunked_gzip", 400, E(TE_NOT_CHUNKED),
	  POST("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
	       "0\r\n\r\n") },
	{ "te_two_fields_chunked", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
	       "0\r\n\r\n") },
	{ "te_with_parameter", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n") },
	{ "te_quoted", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding: \"chunked\"\r\n", "0\r\n\r\n") },
	{ "te_prefixed", 400, E(TE_NOT_CHUNKED),
	  POST("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n") },
	{ "te_truncated_name", 400, E(TE_NOT_CHUNKED),
	  POST("Transfer-Encoding: chunk\r\n", "0\r\n\r\n") },
	{ "te_inner_space", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding: chun ked\r\n", "0\r\n\r\n") },
	{ "te_leading_comma", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding: , chunked\r\n", "0\r\n\r\n") },
	{ "te_trailing_comma", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding: chunked,\r\n", "0\r\n\r\n") },
	{ "te_empty", 400, E(BAD_TRANSFER_ENCODING),
	  POST("Transfer-Encoding:\r\n", "") },
	{ "te_vertical_tab", 400, E(BAD_FIELD_VALUE),
	  POST("Transfer-Encoding: chunked\x0b\r\n", "0\r\n\r\n") },
	{ "te_identity", 400, E(TE_NOT_CHUNKED),
	  POST("Transfer-Encoding: identity\r\n", "") },
	{ "te_in_http10", 400, E(TE_HTTP10),
	  IN("POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") },

	/* Line structure. */
	{ "obs_fold", 400, E(OBS_FOLD),
	  GET("X-Folded: one\r\n two\r\n") },
	{ "obs_fold_te", 400, E(OBS_FOLD),
	  POST("Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n") },
	{ "space_before_first_field", 400, E(OBS_FOLD),
	  IN("GET /g HTTP/1.1\r\n Host: a\r\n\r\n") },
	{ "bare_cr_in_value", 400, E(BARE_CR),
	  GET("X-A: a\rb\r\n") },
	{ "bare_cr_before_crlf", 400, E(BARE_CR),
	  GET("X-A: a\r\r\n") },
	{ "bare_cr_in_request_line", 400, E(BARE_CR),
	  IN("GET /g\r HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "bare_lf_request_line", 400, E(BARE_LF),
	  IN("GET /g HTTP/1.1\nHost: a\r\n\r\n") },
	{ "bare_lf_field", 400, E(BARE_LF),
	  IN("GET /g HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n") },
	{ "bare_lf_end_of_fields", 400, E(BARE_LF),
	  IN("GET /g HTTP/1.1\r\nHost: a\r\n\n") },
	{ "too_many_empty_lines", 400, E(EMPTY_LINES),
	  IN("\r\n\r\n\r\n\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n") },

	/* Field names and values. */
	{ "nul_in_value", 400, E(BAD_FIELD_VALUE),
	  GET("X-A: a\0b\r\n") },
	{ "del_in_value", 400, E(BAD_FIELD_VALUE),
	  GET("X-A: a\x7f\r\n") },
	{ "space_before_colon", 400, E(WS_BEFORE_COLON),
	  IN("GET /g HTTP/1.1\r\nHost : a\r\n\r\n") },
	{ "tab_before_colon", 400, E(WS_BEFORE_COLON),
	  GET("Content-Length\t: 0\r\n") },
	{ "name_with_parenthesis", 400, E(BAD_FIELD_NAME),
	  GET("X(A): 1\r\n") },
	{ "name_with_quote", 400, E(BAD_FIELD_NAME),
	  GET("X\"A: 1\r\n") },
	{ "name_non_ascii", 400, E(BAD_FIELD_NAME),
	  GET("X-\xc3\xa9: 1\r\n") },
	{ "name_empty", 400, E(BAD_FIELD_NAME),
	  GET(": a\r\n") },
	{ "field_without_colon", 400, E(BAD_FIELD_NAME),
	  GET("NoColonHere\r\n") },

	/* Request line. */
	{ "method_bad_char", 400, E(BAD_METHOD),
	  IN("G(ET /g HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "method_nul", 400, E(BAD_METHOD),
	  IN("G\0T /g HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "space_before_method", 400, E(BAD_METHOD),
	  IN(" GET /g HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "tab_separator", 400, E(BAD_METHOD),
	  IN("GET\t/g HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "double_space", 400, E(BAD_TARGET),
	  IN("GET  /g HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "target_with_space", 400, E(BAD_VERSION),
	  IN("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "target_nul", 400, E(BAD_TARGET),
	  IN("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "target_del", 400, E(BAD_TARGET),
	  IN("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "target_non_ascii", 400, E(BAD_TARGET),
	  IN("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "target_relative", 400, E(BAD_TARGET),
	  IN("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "asterisk_not_options", 400, E(BAD_TARGET),
	  IN("GET * HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "connect_origin_form", 400, E(BAD_TARGET),
	  IN("CONNECT /g HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "missing_target", 400, E(BAD_VERSION),
	  IN("GET HTTP/1.1\r\nHost: a\r\n\r\n") },
	{ "http09_request", 400, E(BAD_VERSION),
	  IN("GET /g\r\n\r\n") },
	{ "version_lowercase", 400, E(BAD_VERSION),
	  IN("GET /g http/1.1\r\nHost: a\r\n\r\n") },
	{ "version_trailing_space", 400, E(BAD_VERSION),
	  IN("GET /g HTTP/1.1 \r\nHost: a\r\n\r\n") },
	{ "version_two_digit_minor", 400, E(BAD_VERSION),
	  IN("GET /g HTTP/1.10\r\nHost: a\r\n\r\n") },
	{ "version_2_0", 505, E(VERSION),
	  IN("GET /g HTTP/2.0\r\nHost: a\r\n\r\n") },
	{ "version_1_2", 505, E(VERSION),
	  IN("GET /g HTTP/1.2\r\nHost: a\r\n\r\n") },
	{ "version_0_9", 505, E(VERSION),
	  IN("GET /g HTTP/0.9\r\nHost: a\r\n\r\n") },

	/* Chunked framing. */
	{ "chunk_size_not_hex", 400, E(BAD_CHUNK),
	  CHUNKED("zz\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_0x_prefix", 400, E(BAD_CHUNK),
	  CHUNKED("0x5\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_above_int64", 400, E(BAD_CHUNK),
	  CHUNKED("8000000000000000\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_overflow", 400, E(BAD_CHUNK),
	  CHUNKED("1000000000000000000005\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_empty", 400, E(BAD_CHUNK),
	  CHUNKED("\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_negative", 400, E(BAD_CHUNK),
	  CHUNKED("-5\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_trailing_space", 400, E(BAD_CHUNK),
	  CHUNKED("5 \r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_leading_space", 400, E(BAD_CHUNK),
	  CHUNKED(" 5\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_size_bare_lf", 400, E(BARE_LF),
	  CHUNKED("5\nhello\r\n0\r\n\r\n") },
	{ "chunk_data_missing_crlf", 400, E(BAD_CHUNK),
	  CHUNKED("5\r\nhelloXX\r\n0\r\n\r\n") },
	{ "chunk_data_bare_lf", 400, E(BAD_CHUNK),
	  CHUNKED("5\r\nhello\n0\r\n\r\n") },
	{ "chunk_data_longer_than_size", 400, E(BAD_CHUNK),
	  CHUNKED("3\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_ext_empty_name", 400, E(BAD_CHUNK),
	  CHUNKED("5;\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_ext_unterminated_quote", 400, E(BAD_CHUNK),
	  CHUNKED("5;a=\"x\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_ext_control_char", 400, E(BAD_CHUNK),
	  CHUNKED("5;a=b\x01\r\nhello\r\n0\r\n\r\n") },
	{ "chunk_ext_too_long", 400, E(CHUNK_LINE_TOO_LONG),
	  CHUNKED("5;e="), .fill = X10("xxxxxxxxxx"), .nfill = 11,
	  .post = "\r\nhello\r\n0\r\n\r\n" },
	{ "trailer_obs_fold", 400, E(OBS_FOLD),
	  CHUNKED("5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n") },

	/* Host. */
	{ "host_missing_http11", 400, E(NONE),
	  IN("GET /g HTTP/1.1\r\nAccept: */*\r\n\r\n") },
	{ "host_duplicate", 400, E(DUP_HOST),
	  GET("Host: b\r\n") },
	{ "host_with_space", 400, E(BAD_HOST),
	  IN("GET /g HTTP/1.1\r\nHost: a b\r\n\r\n") },
	{ "host_with_path", 400, E(BAD_HOST),
	  IN("GET /g HTTP/1.1\r\nHost: a/b\r\n\r\n") },
	{ "host_with_userinfo", 400, E(BAD_HOST),
	  IN("GET /g HTTP/1.1\r\nHost: user@a\r\n\r\n") },

	/* Limits (the defaults, or any lower setting). */
	{ "body_too_large_cl", 413, E(BODY_TOO_LARGE),
	  POST("Content-Length: 1000000000000\r\n", "") },
	{ "body_too_large_chunked", 413, E(BODY_TOO_LARGE),
	  CHUNKED("40000001\r\n") },
	{ "request_line_too_long", 414, E(LINE_TOO_LONG),
	  IN("GET /"), .fill = X10("aaaaaaaaaa"), .nfill = 83,
	  .post = " HTTP/1.1\r\nHost: a\r\n\r\n" },
	{ "field_line_too_long", 431, E(FIELDS_TOO_LARGE),
	  IN("GET /g HTTP/1.1\r\nHost: a\r\nX-Big: "), .fill = X10("bbbbbbbbbb"), .nfill = 83,
	  .post = "\r\n\r\n" },
	{ "fields_too_large", 431, E(FIELDS_TOO_LARGE),
	  IN("GET /g HTTP/1.1\r\nHost: a\r\n"), .fill = "X-Fill: " X10(X10("0123456789")) "\r\n", .nfill = 17,
	  .post = "\r\n" },
	{ "too_many_fields", 431, E(TOO_MANY_FIELDS),
	  IN("GET /g HTTP/1.1\r\nHost: a\r\n"), .fill = "X-N: v\r\n", .nfill = 101, .post = "\r\n" },
};

#define NCORPUS (sizeof(corpus) / sizeof(corpus[0]))

static char *
case_input(const struct ccase *c, size_t *len)
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
case_path(char *buf, size_t size, const char *dir, size_t i, const char *ext)
{
	snprintf(buf, size, "%s/%02zu_%s.%s", dir, i + 1, corpus[i].name, ext);
}

/* ---- the parser's answer -------------------------------------------- */

struct outcome {
	unsigned int status;      /* 0: accepted */
	enum sl_http_error code;
	char sig[256];            /* event types in order, for comparison */
	size_t n;
};

static void
sig_add(struct outcome *o, char c)
{
	/* Runs of BODY events depend on the cuts: keep one. */
	if (c == 'B' && o->n > 0 && o->sig[o->n - 1] == 'B')
		return;
	if (o->n + 1 < sizeof(o->sig))
		o->sig[o->n++] = c;
	o->sig[o->n] = '\0';
}

/* Like sl_test_guarded(), for chunks longer than a page too. */
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

/* Feed one chunk, guarded; false once the outcome is decided. */
static bool
feed(struct sl_http_parser *p, struct outcome *o, const char *data, size_t len)
{
	const char *buf = place(data, len);
	size_t off = 0;

	for (;;) {
		struct sl_http_event ev;

		off += sl_http_parse(p, buf + off, len - off, &ev);
		switch (ev.type) {
		case SL_HTTP_EV_NEED_MORE:
			return true;
		case SL_HTTP_EV_ERROR:
			sig_add(o, 'E');
			o->code = ev.error.code;
			o->status = ev.error.status;
			return false;
		case SL_HTTP_EV_HEADERS_DONE:
			sig_add(o, 'D');
			/* What the proxy does with a request that parsed. */
			o->status = sl_http_request_verdict(&ev.head);
			if (o->status != 0)
				return false;
			break;
		default:
			sig_add(o, "NRSHDBTMFE"[ev.type]);
			break;
		}
	}
}

static void
run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    bool bytewise, struct outcome *o)
{
	static struct sl_http_parser p;
	size_t from = 0;
	bool more = true;

	memset(o, 0, sizeof(*o));
	sl_http_parser_init_request(&p, NULL);
	if (bytewise) {
		for (size_t k = 0; k < len && more; k++)
			more = feed(&p, o, in + k, 1);
	} else {
		for (size_t i = 0; i <= ncuts && more; i++) {
			size_t to = i < ncuts ? cuts[i] : len;

			more = feed(&p, o, in + from, to - from);
			from = to;
		}
	}
	if (more) {
		struct sl_http_event ev;

		sl_http_parse_eof(&p, &ev);
		sig_add(o, 'F');
	}
}

static void
check_case(size_t i)
{
	const struct ccase *c = &corpus[i];
	struct outcome whole, part;
	size_t len;
	char *in = case_input(c, &len);
	unsigned int bad = 0;

	run(in, len, NULL, 0, false, &whole);
	if (whole.status != c->status || whole.code != c->code)
		fprintf(stderr, "%02zu_%s: got %u %s, expected %u %s\n", i + 1,
			c->name, whole.status, sl_http_error_name(whole.code),
			c->status, sl_http_error_name(c->code));
	CHECK_EQ(whole.status, c->status);
	CHECK_EQ(whole.code, c->code);

	for (size_t k = 0; k <= len; k++) {
		run(in, len, &k, 1, false, &part);
		if (part.status != whole.status || part.code != whole.code ||
		    strcmp(part.sig, whole.sig) != 0) {
			if (bad++ == 0)
				fprintf(stderr, "%02zu_%s split at %zu: got %u %s "
					"(%s), whole %u %s (%s)\n", i + 1, c->name,
					k, part.status,
					sl_http_error_name(part.code), part.sig,
					whole.status,
					sl_http_error_name(whole.code), whole.sig);
		}
	}
	run(in, len, NULL, 0, true, &part);
	if (part.status != whole.status || part.code != whole.code ||
	    strcmp(part.sig, whole.sig) != 0) {
		bad++;
		fprintf(stderr, "%02zu_%s bytewise: got %u (%s), whole (%s)\n",
			i + 1, c->name, part.status, part.sig, whole.sig);
	}
	CHECK_EQ(bad, 0);
	free(in);
}

/* ---- the files ------------------------------------------------------ */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		s = malloc((size_t)n + 1);
		if (fread(s, 1, (size_t)n, f) != (size_t)n) {
			free(s);
			s = NULL;
		} else {
			s[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return s;
}

static void
check_files(const char *dir)
{
	char path[512];
	DIR *d;
	struct dirent *de;
	unsigned int files = 0;

	for (size_t i = 0; i < NCORPUS; i++) {
		size_t len, flen = 0;
		char *in = case_input(&corpus[i], &len), *f;

		case_path(path, sizeof(path), dir, i, "req");
		f = slurp(path, &flen);
		if (f == NULL || flen != len || memcmp(f, in, len) != 0)
			fprintf(stderr, "%s: missing or differs from the table "
				"(run test_http_corpus --write)\n", path);
		CHECK(f != NULL && flen == len && memcmp(f, in, len) == 0);
		free(f);
		free(in);

		case_path(path, sizeof(path), dir, i, "status");
		f = slurp(path, &flen);
		CHECK(f != NULL && (unsigned int)atoi(f) == corpus[i].status);
		if (f == NULL || (unsigned int)atoi(f) != corpus[i].status)
			fprintf(stderr, "%s: missing or not %u\n", path,
				corpus[i].status);
		free(f);
	}

	/* Nothing in the directory that the table does not know. */
	d = opendir(dir);
	CHECK(d != NULL);
	while (d != NULL && (de = readdir(d)) != NULL) {
		const char *dot = strrchr(de->d_name, '.');
		bool known = false;

		if (dot == NULL || (strcmp(dot, ".req") != 0 &&
				    strcmp(dot, ".status") != 0))
			continue;
		files++;
		for (size_t i = 0; i < NCORPUS && !known; i++) {
			char name[256];

			snprintf(name, sizeof(name), "%02zu_%s%s", i + 1,
				 corpus[i].name, dot);
			known = strcmp(name, de->d_name) == 0;
		}
		if (!known)
			fprintf(stderr, "%s/%s: not in the table\n", dir,
				de->d_name);
		CHECK(known);
	}
	if (d != NULL)
		closedir(d);
	CHECK_EQ(files, 2 * NCORPUS);
}

static int
write_files(const char *dir)
{
	char path[512];

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	for (size_t i = 0; i < NCORPUS; i++) {
		size_t len;
		char *in = case_input(&corpus[i], &len);
		FILE *f;

		case_path(path, sizeof(path), dir, i, "req");
		f = fopen(path, "wb");
		if (f == NULL || fwrite(in, 1, len, f) != len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		free(in);
		case_path(path, sizeof(path), dir, i, "status");
		f = fopen(path, "w");
		if (f == NULL || fprintf(f, "%u\n", corpus[i].status) < 0 ||
		    fclose(f) != 0) {
			perror(path);
			return 1;
		}
	}
	printf("wrote %zu cases to %s\n", NCORPUS, dir);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--write") == 0)
		return write_files(argc >= 3 ? argv[2] : CORPUS_DIR);

	CHECK(NCORPUS >= 40);
	CHECK(NCORPUS <= 99);      /* two-digit file numbers */
	for (size_t i = 0; i < NCORPUS; i++)
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(corpus[i].name, corpus[j].name) != 0);
	check_files(CORPUS_DIR);
	for (size_t i = 0; i < NCORPUS; i++)
		check_case(i);
	printf("%zu corpus cases, each whole, split at every offset and "
	       "bytewise\n", NCORPUS);
	return sl_test_result("test_http_corpus");
}
