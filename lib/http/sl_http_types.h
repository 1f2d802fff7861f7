#ifndef SL_HTTP_TYPES_H
#define SL_HTTP_TYPES_H

/*
 * Types of the incremental HTTP/1.1 parser (RFC 9110, RFC 9112). The
 * functions and the contract are in sl_http.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Per-stream gather area. A line (request/status line, field line,
 * chunk-size line) that arrives split over several chunks is copied here
 * until its LF arrives. It also bounds every line: a line longer than this,
 * CRLF included, is rejected whether or not it was split, so a verdict never
 * depends on how the bytes were segmented.
 */
#ifndef SL_HTTP_SCRATCH_SIZE
#define SL_HTTP_SCRATCH_SIZE 8192
#endif

/* Longest chunk-size line, extensions and CRLF included (RFC 9112 7.1.1). */
#ifndef SL_HTTP_CHUNK_LINE_MAX
#define SL_HTTP_CHUNK_LINE_MAX 1024
#endif

/* Empty lines ignored before a request line (RFC 9112 2.2: "at least one"). */
#define SL_HTTP_EMPTY_LINES_MAX 4

#if SL_HTTP_SCRATCH_SIZE < 256 || SL_HTTP_CHUNK_LINE_MAX > SL_HTTP_SCRATCH_SIZE
#error "SL_HTTP_SCRATCH_SIZE must be >= 256 and >= SL_HTTP_CHUNK_LINE_MAX"
#endif

enum sl_http_method {
	SL_HTTP_M_OTHER,        /* any other token; the text is in the event */
	SL_HTTP_M_GET,
	SL_HTTP_M_HEAD,
	SL_HTTP_M_POST,
	SL_HTTP_M_PUT,
	SL_HTTP_M_DELETE,
	SL_HTTP_M_OPTIONS,
	SL_HTTP_M_PATCH,
	SL_HTTP_M_CONNECT,
	SL_HTTP_M_TRACE,
	SL_HTTP_M_MAX
};

/* RFC 9112 3.2. */
enum sl_http_target_form {
	SL_HTTP_T_ORIGIN,       /* "/path?query" */
	SL_HTTP_T_ABSOLUTE,     /* "scheme:..."; its authority overrides Host */
	SL_HTTP_T_AUTHORITY,    /* "host:port", CONNECT only */
	SL_HTTP_T_ASTERISK,     /* "*", OPTIONS only */
};

enum sl_http_error {
#define SL_HTTP_ERROR(sym, status, name, desc) SL_HTTP_E_##sym,
#include "sl_http_error.def"
#undef SL_HTTP_ERROR
	SL_HTTP_E_MAX
};

/* How the body of a message is delimited, decided at HEADERS_DONE. */
enum sl_http_body {
	SL_HTTP_BODY_NONE,      /* no body (no framing field in a request;
				 * HEAD response, 1xx, 204, 304) */
	SL_HTTP_BODY_LENGTH,    /* Content-Length bytes (possibly 0) */
	SL_HTTP_BODY_CHUNKED,   /* Transfer-Encoding: chunked */
	SL_HTTP_BODY_CLOSE,     /* responses only: until end of stream */
};

/*
 * Limits, copied into the parser at init. Sizes count bytes as on the wire,
 * CRLFs included. 0 means "no limit" except where a compile-time bound
 * applies anyway.
 */
struct sl_http_limits {
	uint32_t max_request_line;   /* request or status line with its CRLF;
				      * 0, or above SL_HTTP_SCRATCH_SIZE, means
				      * SL_HTTP_SCRATCH_SIZE. 414 */
	uint32_t max_header_bytes;   /* all field lines with their CRLFs, not
				      * the start line nor the final CRLF; each
				      * line also <= SL_HTTP_SCRATCH_SIZE. 431 */
	uint32_t max_headers;        /* field lines. 431 */
	uint64_t max_body;           /* body bytes (chunked: data only). 413 */
};

#define SL_HTTP_DEFAULT_MAX_REQUEST_LINE 8192
#define SL_HTTP_DEFAULT_MAX_HEADER_BYTES 16384
#define SL_HTTP_DEFAULT_MAX_HEADERS      100
#define SL_HTTP_DEFAULT_MAX_BODY         (1ull << 30)

#define SL_HTTP_LIMITS_DEFAULT { \
	.max_request_line = SL_HTTP_DEFAULT_MAX_REQUEST_LINE, \
	.max_header_bytes = SL_HTTP_DEFAULT_MAX_HEADER_BYTES, \
	.max_headers = SL_HTTP_DEFAULT_MAX_HEADERS, \
	.max_body = SL_HTTP_DEFAULT_MAX_BODY, \
}

/*
 * A run of bytes, either in the buffer passed to the sl_http_parse() call
 * that returned it or in the parser's scratch area. Not NUL-terminated.
 */
struct sl_http_slice {
	const char *ptr;
	size_t len;
};

enum sl_http_event_type {
	SL_HTTP_EV_NEED_MORE,       /* all input consumed, nothing to report */
	SL_HTTP_EV_REQUEST_LINE,    /* .req */
	SL_HTTP_EV_STATUS_LINE,     /* .resp */
	SL_HTTP_EV_HEADER,          /* .field */
	SL_HTTP_EV_HEADERS_DONE,    /* .head */
	SL_HTTP_EV_BODY,            /* .body: payload bytes, never framing */
	SL_HTTP_EV_TRAILER,         /* .field: a field of the chunked trailer */
	SL_HTTP_EV_MESSAGE_DONE,    /* .done */
	SL_HTTP_EV_EOF,             /* end of stream between messages */
	SL_HTTP_EV_ERROR,           /* .error; the stream cannot go on */
};

struct sl_http_request_line {
	enum sl_http_method method;
	enum sl_http_target_form form;
	struct sl_http_slice method_str;   /* the token as sent */
	struct sl_http_slice target;
	struct sl_http_slice raw;          /* the whole line without CRLF */
	uint8_t version_minor;             /* 0 or 1 */
};

struct sl_http_status_line {
	uint16_t status;                   /* 100-599 */
	uint8_t version_minor;
	struct sl_http_slice reason;       /* may be empty */
	struct sl_http_slice raw;
};

struct sl_http_field {
	struct sl_http_slice name;         /* as sent; compare case-insensitively */
	struct sl_http_slice value;        /* leading and trailing OWS removed */
	struct sl_http_slice raw;          /* the whole line without CRLF */
};

/* HEADERS_DONE flags. */
#define SL_HTTP_F_KEEP_ALIVE      0x0001u /* connection persists after this
					   * message (RFC 9112 9.3) */
#define SL_HTTP_F_CONN_CLOSE      0x0002u /* Connection lists "close" */
#define SL_HTTP_F_CONN_KEEP_ALIVE 0x0004u /* Connection lists "keep-alive" */
#define SL_HTTP_F_CONN_UPGRADE    0x0008u /* Connection lists "upgrade" */
#define SL_HTTP_F_CONN_OTHER      0x0010u /* Connection names other fields,
					   * which a proxy must strip */
#define SL_HTTP_F_UPGRADE         0x0020u /* Upgrade field and Connection:
					   * upgrade both present */
#define SL_HTTP_F_EXPECT_CONTINUE 0x0040u /* Expect: 100-continue (HTTP/1.1
					   * requests; ignored in 1.0) */
#define SL_HTTP_F_EXPECT_OTHER    0x0080u /* another expectation (417) */
#define SL_HTTP_F_HOST            0x0100u /* request had one valid Host */
#define SL_HTTP_F_CONTENT_LENGTH  0x0200u /* Content-Length present */
#define SL_HTTP_F_TRANSFER_ENCODING 0x0400u /* Transfer-Encoding present */

struct sl_http_head {
	enum sl_http_body body;
	uint64_t content_length;   /* the Content-Length value when
				    * SL_HTTP_F_CONTENT_LENGTH, else 0 */
	uint32_t flags;            /* SL_HTTP_F_* */
	uint32_t n_fields;
	uint32_t field_bytes;      /* as counted against max_header_bytes */
	enum sl_http_method method; /* requests */
	uint16_t status;           /* responses */
	uint8_t version_minor;
};

struct sl_http_done {
	uint64_t body_bytes;       /* payload bytes, framing excluded */
};

struct sl_http_fail {
	enum sl_http_error code;
	uint16_t status;           /* sl_http_error_status(code) */
};

struct sl_http_event {
	enum sl_http_event_type type;
	union {
		struct sl_http_request_line req;
		struct sl_http_status_line resp;
		struct sl_http_field field;
		struct sl_http_head head;
		struct sl_http_slice body;
		struct sl_http_done done;
		struct sl_http_fail error;
	};
};

/*
 * Where a request head ends, found before anything is committed to it
 * (sl_http_head_scan). Fields are private.
 */
struct sl_http_head_scan {
	uint32_t bytes;            /* scanned so far */
	uint32_t line_start;       /* offset of the current line */
	uint32_t fields_start;     /* offset of the first field line */
	uint32_t lines;            /* field lines ended so far */
	uint8_t state;
	uint8_t vpos;              /* position in "HTTP/d.d" */
	uint8_t empty_lines;
	char prev;                 /* the byte before bytes */
};

enum sl_http_scan {
	SL_HTTP_SCAN_MORE,          /* no verdict yet: wait for more bytes */
	SL_HTTP_SCAN_COMPLETE,      /* the head ends at .bytes: parse it */
	SL_HTTP_SCAN_INVALID,       /* cannot start a valid request: 400 */
	SL_HTTP_SCAN_LINE_TOO_LONG, /* request line over the limit: 414 */
	SL_HTTP_SCAN_TOO_LARGE,     /* field section over the limits: 431 */
};

/* Parser states; internal, exposed only so the parser can be embedded. */
enum sl_http_state {
	SL_HTTP_S_START,        /* expecting the request or status line */
	SL_HTTP_S_FIELDS,       /* expecting a field line or the empty line */
	SL_HTTP_S_BODY_LENGTH,
	SL_HTTP_S_CHUNK_SIZE,
	SL_HTTP_S_CHUNK_DATA,
	SL_HTTP_S_CHUNK_END,    /* CRLF after chunk data */
	SL_HTTP_S_TRAILER,
	SL_HTTP_S_BODY_CLOSE,
	SL_HTTP_S_DONE,         /* complete; MESSAGE_DONE not reported yet */
	SL_HTTP_S_CLOSED,       /* after end of stream or a 101 */
	SL_HTTP_S_ERROR,
};

/*
 * One per direction of a connection; embed it in the connection. About
 * SL_HTTP_SCRATCH_SIZE + 80 bytes. Fields are private.
 */
struct sl_http_parser {
	struct sl_http_limits lim;
	uint8_t state;             /* enum sl_http_state */
	uint8_t response;          /* parsing responses */
	uint8_t request_was_head;
	uint8_t version_minor;
	uint8_t te;                /* Transfer-Encoding findings, HTTP_TE_* */
	uint8_t empty_lines;
	uint8_t method;            /* enum sl_http_method */
	uint8_t body;              /* enum sl_http_body */
	uint16_t status;
	uint16_t error;            /* enum sl_http_error, in SL_HTTP_S_ERROR */
	uint32_t flags;
	uint32_t n_fields;
	uint32_t field_bytes;
	uint32_t scratch_len;      /* bytes of a partial line gathered */
	uint64_t content_length;
	uint64_t remaining;        /* of the Content-Length body or the chunk */
	uint64_t body_bytes;
	char scratch[SL_HTTP_SCRATCH_SIZE];
};

#endif
