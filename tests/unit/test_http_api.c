/*
 * The HTTP parser's API around the state machine: method and error tables,
 * list helpers, and the calling contract (where slices point, events that
 * consume nothing, sticky errors, end of stream, re-arming a response
 * parser, the Host verdict).
 */
#include <stdbool.h>

#include "sl_http.h"
#include "sl_test.h"

static void
test_methods(void)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT",
		"DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum sl_http_method m = sl_http_method_parse(names[i],
							     strlen(names[i]));

		CHECK(m != SL_HTTP_M_OTHER);
		CHECK_STR(sl_http_method_name(m), names[i]);
	}
	CHECK_EQ(sl_http_method_parse("get", 3), SL_HTTP_M_OTHER);
	CHECK_EQ(sl_http_method_parse("GETS", 4), SL_HTTP_M_OTHER);
	CHECK_EQ(sl_http_method_parse("GE", 2), SL_HTTP_M_OTHER);
	CHECK_STR(sl_http_method_name(SL_HTTP_M_OTHER), "OTHER");
	CHECK(sl_http_method_name(SL_HTTP_M_MAX) == NULL);

	CHECK(sl_http_method_idempotent(SL_HTTP_M_GET));
	CHECK(sl_http_method_idempotent(SL_HTTP_M_HEAD));
	CHECK(sl_http_method_idempotent(SL_HTTP_M_PUT));
	CHECK(sl_http_method_idempotent(SL_HTTP_M_DELETE));
	CHECK(sl_http_method_idempotent(SL_HTTP_M_OPTIONS));
	CHECK(sl_http_method_idempotent(SL_HTTP_M_TRACE));
	CHECK(!sl_http_method_idempotent(SL_HTTP_M_POST));
	CHECK(!sl_http_method_idempotent(SL_HTTP_M_PATCH));
	CHECK(!sl_http_method_idempotent(SL_HTTP_M_CONNECT));
	CHECK(!sl_http_method_idempotent(SL_HTTP_M_OTHER));
	CHECK(sl_http_method_safe(SL_HTTP_M_GET));
	CHECK(!sl_http_method_safe(SL_HTTP_M_PUT));
	CHECK(!sl_http_method_safe(SL_HTTP_M_DELETE));
}

static void
test_errors(void)
{
	for (int e = 0; e < SL_HTTP_E_MAX; e++) {
		unsigned int st = sl_http_error_status((enum sl_http_error)e);

		CHECK(sl_http_error_name((enum sl_http_error)e) != NULL);
		CHECK(sl_http_error_desc((enum sl_http_error)e) != NULL);
		CHECK(e == SL_HTTP_E_NONE ? st == 0 :
		      st == 400 || st == 413 || st == 414 || st == 431 ||
		      st == 501 || st == 505 || st == 500);
		for (int f = 0; f < e; f++)
			CHECK(strcmp(sl_http_error_name((enum sl_http_error)e),
				     sl_http_error_name((enum sl_http_error)f)) != 0);
	}
	CHECK(sl_http_error_name(SL_HTTP_E_MAX) == NULL);
	CHECK_EQ(sl_http_error_status(SL_HTTP_E_TE_UNSUPPORTED), 501);
	CHECK_EQ(sl_http_error_status(SL_HTTP_E_VERSION), 505);
	CHECK_EQ(sl_http_error_status(SL_HTTP_E_LINE_TOO_LONG), 414);
	CHECK_EQ(sl_http_error_status(SL_HTTP_E_FIELDS_TOO_LARGE), 431);
	CHECK_EQ(sl_http_error_status(SL_HTTP_E_BODY_TOO_LARGE), 413);
}

static void
test_lists(void)
{
	static const char v[] = " a , ,b,,\tc d\t,";
	struct sl_http_slice list = { v, sizeof(v) - 1 }, e;
	size_t pos = 0;

	CHECK(sl_http_list_next(list, &pos, &e));
	CHECK(e.len == 1 && e.ptr[0] == 'a');
	CHECK(sl_http_list_next(list, &pos, &e));
	CHECK(e.len == 1 && e.ptr[0] == 'b');
	CHECK(sl_http_list_next(list, &pos, &e));
	CHECK(e.len == 3 && memcmp(e.ptr, "c d", 3) == 0);
	CHECK(!sl_http_list_next(list, &pos, &e));
	CHECK(!sl_http_list_next(list, &pos, &e));

	CHECK(sl_http_token_eq((struct sl_http_slice){ "Keep-ALIVE", 10 },
			       "keep-alive"));
	CHECK(!sl_http_token_eq((struct sl_http_slice){ "Keep-ALIV", 9 },
				"keep-alive"));
	CHECK(!sl_http_token_eq((struct sl_http_slice){ "keep-alivE ", 11 },
				"keep-alive"));
	CHECK(!sl_http_token_eq((struct sl_http_slice){ "keep_alive", 10 },
				"keep-alive"));
	CHECK(sl_http_token_eq((struct sl_http_slice){ "", 0 }, ""));
	/* Not a case fold beyond ASCII letters: '@' is not '`' */
	CHECK(!sl_http_token_eq((struct sl_http_slice){ "@", 1 }, "`"));
}

/* sl_http_hop_by_hop: the seven names in any case, nothing else. */
static void
test_hop_by_hop(void)
{
	static const char *const hop[] = { "connection", "keep-alive",
		"proxy-connection", "te", "trailer", "transfer-encoding",
		"upgrade" };
	static const char *const not_hop[] = { "", "t", "tf", "tee", "host",
		"trailers", "trailex", "upgradE-", "connectio", "keep-alivf",
		"proxy-connectioN2", "transfer-encodings", "content-length",
		"x-forwarded-for", "via", "connection ", " te" };
	char name[32];

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
		size_t n = strlen(hop[i]);

		/* every mix of cases of the first few letters */
		for (unsigned int mask = 0; mask < 64; mask++) {
			for (size_t k = 0; k < n; k++) {
				char c = hop[i][k];

				name[k] = (k < 6 && (mask >> k) & 1 && c >= 'a' && c <= 'z') ?
					  (char)(c - 32) : c;
			}
			CHECK(sl_http_hop_by_hop((struct sl_http_slice){ name, n }));
		}
		/* one letter off, anywhere */
		for (size_t k = 0; k < n; k++) {
			memcpy(name, hop[i], n);
			name[k] = name[k] == 'x' ? 'y' : 'x';
			CHECK(!sl_http_hop_by_hop((struct sl_http_slice){ name, n }));
		}
	}
	for (size_t i = 0; i < sizeof(not_hop) / sizeof(not_hop[0]); i++) {
		CHECK(!sl_http_hop_by_hop((struct sl_http_slice){ not_hop[i],
							  strlen(not_hop[i]) }));
	}
}

/* Feed `s` whole and return the event of the call after `skip` events. */
static size_t
nth_event(struct sl_http_parser *p, const char *s, size_t len, int skip,
	  struct sl_http_event *ev)
{
	size_t off = 0;

	for (int i = 0; i <= skip; i++)
		off += sl_http_parse(p, s + off, len - off, ev);
	return off;
}

static void
test_contract(void)
{
	static const char req[] = "GET /path HTTP/1.1\r\nHost: h\r\n\r\n";
	static struct sl_http_parser parser;
	struct sl_http_parser *p = &parser;
	struct sl_http_event ev;
	struct sl_http_head h = { 0 };
	const char *buf;
	size_t n;

	/* Whole line in one chunk: slices point into the caller's buffer. */
	sl_http_parser_init_request(p, NULL);
	CHECK_EQ(sl_http_parser_phase(p), SL_HTTP_PHASE_IDLE);
	buf = sl_test_guarded(req, sizeof(req) - 1);
	n = sl_http_parse(p, buf, sizeof(req) - 1, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_REQUEST_LINE);
	CHECK_EQ(n, 20);
	CHECK(ev.req.target.ptr == buf + 4);
	CHECK_EQ(sl_http_parser_phase(p), SL_HTTP_PHASE_HEAD);

	/* Split line: gathered into the scratch area. */
	sl_http_parser_init_request(p, NULL);
	buf = sl_test_guarded(req, 7);
	CHECK_EQ(sl_http_parse(p, buf, 7, &ev), 7);
	CHECK_EQ(ev.type, SL_HTTP_EV_NEED_MORE);
	CHECK_EQ(sl_http_parser_phase(p), SL_HTTP_PHASE_HEAD);
	buf = sl_test_guarded(req + 7, sizeof(req) - 8);
	n = sl_http_parse(p, buf, sizeof(req) - 8, &ev);
	CHECK_EQ(n, 13);
	CHECK_EQ(ev.type, SL_HTTP_EV_REQUEST_LINE);
	CHECK(ev.req.target.ptr == p->scratch + 4);
	CHECK_EQ(ev.req.target.len, 5);

	/* MESSAGE_DONE is due even with no input left. */
	n += nth_event(p, buf + n, sizeof(req) - 8 - n, 1, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_HEADERS_DONE);
	CHECK_EQ(n, sizeof(req) - 8);
	CHECK_EQ(sl_http_parser_phase(p), SL_HTTP_PHASE_BODY);
	CHECK_EQ(sl_http_parse(p, NULL, 0, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_MESSAGE_DONE);
	CHECK_EQ(sl_http_parser_phase(p), SL_HTTP_PHASE_IDLE);
	CHECK_EQ(sl_http_parse(p, NULL, 0, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_NEED_MORE);

	/* Errors stick. */
	buf = sl_test_guarded("GET / HTTP/1.1\r\nBad Name: x\r\n", 29);
	n = nth_event(p, buf, 29, 1, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_ERROR);
	CHECK_EQ(ev.error.code, SL_HTTP_E_WS_BEFORE_COLON);
	CHECK_EQ(ev.error.status, 400);
	CHECK_EQ(sl_http_parse(p, buf + n, 29 - n, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_ERROR);
	CHECK_EQ(ev.error.code, SL_HTTP_E_WS_BEFORE_COLON);
	CHECK_EQ(sl_http_parser_phase(p), SL_HTTP_PHASE_END);
	sl_http_parse_eof(p, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_ERROR);

	/* After EOF: empty feeds are harmless, bytes are an error. */
	sl_http_parser_init_request(p, NULL);
	sl_http_parse_eof(p, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_EOF);
	sl_http_parse_eof(p, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_EOF);
	CHECK_EQ(sl_http_parse(p, NULL, 0, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_NEED_MORE);
	buf = sl_test_guarded("G", 1);
	CHECK_EQ(sl_http_parse(p, buf, 1, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_ERROR);
	CHECK_EQ(ev.error.code, SL_HTTP_E_CLOSED);

	/* A response parser re-armed for the next request's response. */
	sl_http_parser_init_response(p, NULL, true);
	buf = sl_test_guarded("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", 38);
	n = nth_event(p, buf, 38, 3, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_MESSAGE_DONE);
	CHECK_EQ(n, 38);
	sl_http_parser_init_response(p, NULL, false);
	buf = sl_test_guarded("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 41);
	n = nth_event(p, buf, 41, 3, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_BODY);
	CHECK(ev.body.ptr == buf + 38 && ev.body.len == 3);

	/* After a 101 the rest of the buffer is the new protocol's. */
	sl_http_parser_init_response(p, NULL, false);
	buf = sl_test_guarded("HTTP/1.1 101 Switching Protocols\r\n"
			      "Upgrade: h2c\r\nConnection: Upgrade\r\n\r\nPRI", 74);
	n = nth_event(p, buf, 74, 3, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_HEADERS_DONE);
	CHECK(ev.head.flags & SL_HTTP_F_UPGRADE);
	n += sl_http_parse(p, buf + n, 74 - n, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_MESSAGE_DONE);
	CHECK_EQ(n, 71);
	CHECK_EQ(sl_http_parser_phase(p), SL_HTTP_PHASE_END);
	CHECK_EQ(sl_http_parse(p, buf + n, 0, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_NEED_MORE);
	CHECK_EQ(sl_http_parse(p, buf + n, 3, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_ERROR);
	CHECK_EQ(ev.error.code, SL_HTTP_E_CLOSED);

	/* The verdict on a header section that parsed. */
	h.version_minor = 1;
	CHECK_EQ(sl_http_request_verdict(&h), 400);
	h.flags = SL_HTTP_F_HOST;
	CHECK_EQ(sl_http_request_verdict(&h), 0);
	h.flags = 0;
	h.version_minor = 0;
	CHECK_EQ(sl_http_request_verdict(&h), 0);
}

/*
 * sl_http_parse(p, NULL, 0) in every state that reads input: nothing is
 * consumed, and no state computes NULL + 0 (undefined behaviour, which
 * the ASan+UBSan build of this test turns into a failure).
 */
static void
test_null_empty(void)
{
	static const char *const pre[] = {
		"",                                                /* START */
		"GET / HTTP/1.1\r\n",                               /* FIELDS */
		"GET / HTTP/1.1\r\nH",                              /* partial */
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\na",                                            /* CHUNK_DATA */
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		"1\r\na",                                            /* CHUNK_END */
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		"0\r\n",                                             /* TRAILER */
		"GET / HTTP/1.1\r\nBad Name: x\r\n",                  /* ERROR */
	};
	static struct sl_http_parser parser;
	struct sl_http_parser *p = &parser;
	struct sl_http_event ev;

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t len = strlen(pre[i]);
		const char *buf = sl_test_guarded(pre[i], len);
		bool failed = false;
		size_t off = 0;

		sl_http_parser_init_request(p, NULL);
		while (off < len && !failed) {
			off += sl_http_parse(p, buf + off, len - off, &ev);
			failed = ev.type == SL_HTTP_EV_ERROR;
		}
		CHECK_EQ(sl_http_parse(p, NULL, 0, &ev), 0);
		CHECK_EQ(ev.type, failed ? SL_HTTP_EV_ERROR : SL_HTTP_EV_NEED_MORE);
	}
	/* A close-delimited response body, and the closed state after EOF. */
	sl_http_parser_init_response(p, NULL, false);
	CHECK_EQ(sl_http_parse(p, NULL, 0, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_NEED_MORE);
	CHECK_EQ(nth_event(p, "HTTP/1.1 200 OK\r\n\r\n", 19, 1, &ev), 19);
	CHECK_EQ(ev.type, SL_HTTP_EV_HEADERS_DONE);
	CHECK_EQ(ev.head.body, SL_HTTP_BODY_CLOSE);
	CHECK_EQ(sl_http_parse(p, NULL, 0, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_NEED_MORE);
	sl_http_parse_eof(p, &ev);
	CHECK_EQ(ev.type, SL_HTTP_EV_MESSAGE_DONE);
	CHECK_EQ(sl_http_parse(p, NULL, 0, &ev), 0);
	CHECK_EQ(ev.type, SL_HTTP_EV_NEED_MORE);
}

/*
 * Field values and reason phrases are checked eight bytes at a time
 * (http_field_run): every byte value at every offset of a value longer
 * than two words must get the verdict the grammar gives it alone. Allowed
 * (RFC 9110 5.5): HTAB, SP, VCHAR, obs-text; CR anywhere is BARE_CR.
 * LF ends the line, so it is not tried.
 */
static bool
field_byte_ok(unsigned int b)
{
	return b == 0x09 || (b >= 0x20 && b != 0x7f);
}

static void
test_field_value_bytes(void)
{
	unsigned int bad = 0;

	for (unsigned int b = 0; b < 256; b++) {
		if (b == '\n')
			continue;
		for (size_t at = 0; at < 21; at++) {
			struct sl_http_parser p;
			struct sl_http_event ev;
			char req[96], val[22];
			int n;

			memset(val, 'v', sizeof(val) - 1);
			val[sizeof(val) - 1] = '\0';
			n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-A: %s\r\n\r\n", val);
			/* the value starts after "X-A: "; byte `at` of it */
			req[n - 4 - 21 + (int)at] = (char)b;
			sl_http_parser_init_request(&p, NULL);
			nth_event(&p, req, (size_t)n, 1, &ev);
			/* A leading or trailing SP/HTAB is OWS: still fine. */
			if (field_byte_ok(b) ? ev.type != SL_HTTP_EV_HEADER :
			    ev.type != SL_HTTP_EV_ERROR ||
			    ev.error.code != (b == '\r' ? SL_HTTP_E_BARE_CR :
					      SL_HTTP_E_BAD_FIELD_VALUE))
				bad++;

			n = snprintf(req, sizeof(req), "HTTP/1.1 200 %s\r\n\r\n", val);
			req[n - 4 - 21 + (int)at] = (char)b;
			sl_http_parser_init_response(&p, NULL, false);
			nth_event(&p, req, (size_t)n, 0, &ev);
			if (field_byte_ok(b) ? ev.type != SL_HTTP_EV_STATUS_LINE :
			    ev.type != SL_HTTP_EV_ERROR ||
			    ev.error.code != (b == '\r' ? SL_HTTP_E_BARE_CR :
					      SL_HTTP_E_BAD_STATUS))
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
}

int
main(void)
{
	test_methods();
	test_errors();
	test_lists();
	test_hop_by_hop();
	test_contract();
	test_null_empty();
	test_field_value_bytes();
	return sl_test_result("test_http_api");
}
