#ifndef SL_FUZZ_HTTP_H
#define SL_FUZZ_HTTP_H

/*
 * The HTTP parser, fed the same stream twice: whole, then split at chunk
 * boundaries drawn from the input. The parser promises a verdict that
 * never depends on segmentation, so both runs must give the same event
 * trace: types, every field and slice byte for byte, body bytes (BODY
 * events merged, since their cut follows the chunks), error codes, and the
 * stream offset after every event but an error (an over-long line is
 * noticed after fewer bytes when whole). Along the way it checks the
 * contract of sl_http.h: each slice lies in the call's buffer or in the
 * parser's scratch area (a body in the buffer only, never empty), NEED_MORE
 * consumes everything, errors are sticky, MESSAGE_DONE counts the body
 * bytes delivered, Content-Length bodies have exactly that length.
 *
 * Every buffer handed to the parser is an allocation of exactly its
 * length, so ASan catches a read of one byte past it.
 *
 * Input: 3 control bytes, then the stream.
 *   byte 0: bits 0-1 limits profile, bit 2 end the stream with
 *           sl_http_parse_eof(), bit 3 zero-length (NULL) calls between
 *           chunks, bits 4-6 the largest chunk (1 to 4096 bytes),
 *           bit 7 the first response answers a HEAD.
 *   byte 1: whether each later response (bit i for the i-th, modulo 8)
 *           answers a HEAD.
 *   byte 2: seed of the split points.
 */
#include <stdbool.h>

#include "sl_http.h"
#include "fuzz.h"

struct http_cfg {
	bool response;
	bool eof;
	bool zero_calls;
	bool first_head;
	uint8_t heads;
	size_t max_chunk;
	uint64_t seed;
	const struct sl_http_limits *lim;
};

struct http_run {
	const struct http_cfg *cfg;
	struct sl_http_parser p;
	struct fuzz_buf trace;
	size_t body_at;           /* where the open BODY record's length is */
	bool in_body;             /* the last record is a BODY */
	bool stopped;             /* an error was reported: feed no more */
	uint64_t off;             /* stream bytes consumed */
	uint64_t msg_body;        /* body bytes of the current message */
	uint64_t want_body;       /* Content-Length of the current message */
	bool length_body;
	uint16_t status;          /* of the current response */
	unsigned int n_final;     /* final responses completed */
};

static const struct sl_http_limits http_lims[4] = {
	SL_HTTP_LIMITS_DEFAULT,
	{ .max_request_line = 64, .max_header_bytes = 128, .max_headers = 4,
	  .max_body = 100 },
	{ 0 },                                  /* no limits but the scratch */
	{ .max_request_line = 16, .max_header_bytes = 40, .max_headers = 2,
	  .max_body = 1 },
};

static void
http_cfg_parse(struct http_cfg *c, struct fuzz_in *in, bool response)
{
	uint8_t f = fuzz_u8(in);

	c->response = response;
	c->lim = &http_lims[f & 3];
	c->eof = f & 4;
	c->zero_calls = f & 8;
	c->max_chunk = (size_t)1 << (((f >> 4) & 7) * 2);    /* 1 .. 4096 */
	c->first_head = f & 0x80;
	c->heads = fuzz_u8(in);
	c->seed = 0x9e3779b97f4a7c15ull ^ fuzz_u8(in);
}

static void
http_run_init(struct http_run *r, const struct http_cfg *c)
{
	memset(r, 0, sizeof(*r));
	r->cfg = c;
	if (c->response)
		sl_http_parser_init_response(&r->p, c->lim, c->first_head);
	else
		sl_http_parser_init_request(&r->p, c->lim);
}

/* A non-empty slice must lie within buf[0..len) or the scratch area. */
static void
http_check_slice(const struct http_run *r, struct sl_http_slice s,
		 const char *buf, size_t len, bool buf_only)
{
	const char *sc = r->p.scratch;

	if (s.len == 0)
		return;
	FUZZ_CHECK(s.ptr != NULL);
	if (buf != NULL && s.ptr >= buf && s.ptr + s.len <= buf + len)
		return;
	FUZZ_CHECK(!buf_only);
	FUZZ_CHECK(s.ptr >= sc && s.ptr + s.len <= sc + SL_HTTP_SCRATCH_SIZE);
}

/* `in` is a part of the line `line`. */
static void
http_check_within(struct sl_http_slice in, struct sl_http_slice line)
{
	if (in.len == 0)
		return;
	FUZZ_CHECK(in.ptr >= line.ptr && in.ptr + in.len <= line.ptr + line.len);
}

static void
http_put_slice(struct fuzz_buf *t, struct sl_http_slice s)
{
	fuzz_buf_put(t, &s.len, sizeof(s.len));
	fuzz_buf_put(t, s.ptr, s.len);
}

static void
http_put_u64(struct fuzz_buf *t, uint64_t v)
{
	fuzz_buf_put(t, &v, sizeof(v));
}

/* Check the event against the contract, and append it to the trace. */
static void
http_record(struct http_run *r, const struct sl_http_event *ev,
	    const char *buf, size_t len)
{
	struct fuzz_buf *t = &r->trace;
	uint8_t type = (uint8_t)ev->type;

	if (ev->type == SL_HTTP_EV_NEED_MORE)
		return;
	if (ev->type == SL_HTTP_EV_BODY) {
		FUZZ_CHECK(ev->body.len > 0);
		http_check_slice(r, ev->body, buf, len, true);
		r->msg_body += ev->body.len;
		if (!r->in_body) {
			fuzz_buf_put(t, &type, 1);
			r->body_at = t->n;
			http_put_u64(t, 0);
			r->in_body = true;
		}
		fuzz_buf_put(t, ev->body.ptr, ev->body.len);
		uint64_t n;
		memcpy(&n, t->b + r->body_at, sizeof(n));
		n += ev->body.len;
		memcpy(t->b + r->body_at, &n, sizeof(n));
		return;
	}
	r->in_body = false;
	fuzz_buf_put(t, &type, 1);
	switch (ev->type) {
	case SL_HTTP_EV_REQUEST_LINE:
		FUZZ_CHECK(!r->cfg->response);
		http_check_slice(r, ev->req.raw, buf, len, false);
		http_check_within(ev->req.method_str, ev->req.raw);
		http_check_within(ev->req.target, ev->req.raw);
		FUZZ_CHECK(ev->req.method_str.len > 0 && ev->req.target.len > 0);
		FUZZ_CHECK(ev->req.version_minor <= 1);
		FUZZ_CHECK(ev->req.method ==
			   sl_http_method_parse(ev->req.method_str.ptr,
						ev->req.method_str.len));
		http_put_u64(t, ev->req.method);
		http_put_u64(t, ev->req.form);
		http_put_u64(t, ev->req.version_minor);
		http_put_slice(t, ev->req.method_str);
		http_put_slice(t, ev->req.target);
		http_put_slice(t, ev->req.raw);
		r->msg_body = 0;
		break;
	case SL_HTTP_EV_STATUS_LINE:
		FUZZ_CHECK(r->cfg->response);
		http_check_slice(r, ev->resp.raw, buf, len, false);
		http_check_within(ev->resp.reason, ev->resp.raw);
		FUZZ_CHECK(ev->resp.status >= 100 && ev->resp.status <= 599);
		http_put_u64(t, ev->resp.status);
		http_put_u64(t, ev->resp.version_minor);
		http_put_slice(t, ev->resp.reason);
		http_put_slice(t, ev->resp.raw);
		r->status = ev->resp.status;
		r->msg_body = 0;
		break;
	case SL_HTTP_EV_HEADER:
	case SL_HTTP_EV_TRAILER:
		http_check_slice(r, ev->field.raw, buf, len, false);
		http_check_within(ev->field.name, ev->field.raw);
		http_check_within(ev->field.value, ev->field.raw);
		FUZZ_CHECK(ev->field.name.len > 0);
		http_put_slice(t, ev->field.name);
		http_put_slice(t, ev->field.value);
		http_put_slice(t, ev->field.raw);
		break;
	case SL_HTTP_EV_HEADERS_DONE:
		FUZZ_CHECK(ev->head.body != SL_HTTP_BODY_CLOSE ||
			   r->cfg->response);
		r->length_body = ev->head.body == SL_HTTP_BODY_LENGTH;
		r->want_body = ev->head.content_length;
		http_put_u64(t, ev->head.body);
		http_put_u64(t, ev->head.content_length);
		http_put_u64(t, ev->head.flags);
		http_put_u64(t, ev->head.n_fields);
		http_put_u64(t, ev->head.field_bytes);
		http_put_u64(t, ev->head.method);
		http_put_u64(t, ev->head.status);
		http_put_u64(t, ev->head.version_minor);
		break;
	case SL_HTTP_EV_MESSAGE_DONE:
		FUZZ_CHECK(ev->done.body_bytes == r->msg_body);
		FUZZ_CHECK(!r->length_body || r->msg_body == r->want_body);
		http_put_u64(t, ev->done.body_bytes);
		r->msg_body = 0;
		r->length_body = false;
		break;
	case SL_HTTP_EV_ERROR:
		FUZZ_CHECK(ev->error.code > SL_HTTP_E_NONE &&
			   ev->error.code < SL_HTTP_E_MAX);
		FUZZ_CHECK(ev->error.status == sl_http_error_status(ev->error.code));
		http_put_u64(t, ev->error.code);
		http_put_u64(t, ev->error.status);
		return;                    /* offset not compared, see above */
	case SL_HTTP_EV_EOF:
		break;
	default:
		FUZZ_CHECK(!"unknown event type");
	}
	http_put_u64(t, r->off);
}

/* After an ERROR: the parser is stuck on it and consumes nothing. */
static void
http_check_sticky(struct http_run *r, const struct sl_http_event *first,
		  const char *buf, size_t len)
{
	struct sl_http_event ev;
	size_t n;

	if (first->error.code == SL_HTTP_E_CLOSED)
		return;                    /* a state, not a failure */
	n = sl_http_parse(&r->p, buf, len, &ev);
	FUZZ_CHECK(n == 0);
	FUZZ_CHECK(ev.type == SL_HTTP_EV_ERROR);
	FUZZ_CHECK(ev.error.code == first->error.code);
	sl_http_parse_eof(&r->p, &ev);
	FUZZ_CHECK(ev.type == SL_HTTP_EV_ERROR);
	FUZZ_CHECK(ev.error.code == first->error.code);
}

/* Parse all of buf[0..len) (buf NULL when len is 0 is allowed). */
static void
http_feed(struct http_run *r, const char *buf, size_t len)
{
	struct sl_http_event ev;
	size_t off = 0;
	unsigned int idle = 0;

	while (!r->stopped) {
		const char *b = buf != NULL ? buf + off : NULL;
		size_t n = sl_http_parse(&r->p, b, len - off, &ev);

		FUZZ_CHECK(n <= len - off);
		off += n;
		r->off += n;
		http_record(r, &ev, b, len - (off - n));
		if (ev.type == SL_HTTP_EV_NEED_MORE) {
			FUZZ_CHECK(off == len);
			return;
		}
		if (ev.type == SL_HTTP_EV_ERROR) {
			http_check_sticky(r, &ev, buf != NULL ? buf + off : NULL,
					  len - off);
			r->stopped = true;
			return;
		}
		/* Events that consume nothing come at most two in a row. */
		idle = n == 0 ? idle + 1 : 0;
		FUZZ_CHECK(idle <= 2);
		/* The response to the next request: re-arm, as a proxy does. */
		if (ev.type == SL_HTTP_EV_MESSAGE_DONE && r->cfg->response &&
		    r->status >= 200 &&
		    sl_http_parser_phase(&r->p) == SL_HTTP_PHASE_IDLE) {
			bool head = (r->cfg->heads >> (r->n_final++ & 7)) & 1;

			sl_http_parser_init_response(&r->p, r->cfg->lim, head);
		}
	}
}

static void
http_finish(struct http_run *r)
{
	struct sl_http_event ev;

	if (r->stopped || !r->cfg->eof)
		return;
	for (int i = 0; i < 3; i++) {
		sl_http_parse_eof(&r->p, &ev);
		http_record(r, &ev, NULL, 0);
		if (ev.type == SL_HTTP_EV_EOF) {
			/* Closed: nothing more is accepted. */
			FUZZ_CHECK(sl_http_parse(&r->p, "x", 1, &ev) == 0);
			FUZZ_CHECK(ev.type == SL_HTTP_EV_ERROR &&
				   ev.error.code == SL_HTTP_E_CLOSED);
			return;
		}
		if (ev.type == SL_HTTP_EV_ERROR)
			return;
		FUZZ_CHECK(ev.type == SL_HTTP_EV_MESSAGE_DONE);
	}
	FUZZ_CHECK(!"no EOF after the last MESSAGE_DONE");
}

static struct http_run http_whole, http_split;

static int
fuzz_http_one(const uint8_t *data, size_t size, bool response)
{
	struct fuzz_in in = { data, size };
	struct http_cfg cfg;
	uint64_t seed;
	size_t off = 0;
	char *copy;

	http_cfg_parse(&cfg, &in, response);

	http_run_init(&http_whole, &cfg);
	http_feed(&http_whole, NULL, 0);
	copy = fuzz_dup(in.p, in.n);
	http_feed(&http_whole, copy, in.n);
	free(copy);
	http_feed(&http_whole, NULL, 0);
	http_finish(&http_whole);

	http_run_init(&http_split, &cfg);
	seed = cfg.seed;
	while (off < in.n && !http_split.stopped) {
		size_t n = (size_t)(fuzz_rand(&seed) % (cfg.max_chunk + 1));

		if (n == 0 && cfg.zero_calls) {
			http_feed(&http_split, NULL, 0);
			continue;
		}
		if (n == 0)
			n = 1;
		if (n > in.n - off)
			n = in.n - off;
		copy = fuzz_dup(in.p + off, n);
		http_feed(&http_split, copy, n);
		free(copy);
		off += n;
	}
	http_finish(&http_split);

	if (http_whole.trace.n != http_split.trace.n ||
	    (http_whole.trace.n != 0 && memcmp(http_whole.trace.b, http_split.trace.b,
		   http_whole.trace.n) != 0)) {
		fprintf(stderr, "trace differs: whole %zu bytes, split %zu\n",
			http_whole.trace.n, http_split.trace.n);
		FUZZ_CHECK(!"whole and split traces differ");
	}
	fuzz_buf_free(&http_whole.trace);
	fuzz_buf_free(&http_split.trace);
	return 0;
}

#endif
