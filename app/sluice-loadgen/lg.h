#ifndef LG_H
#define LG_H

/*
 * sluice-loadgen: an HTTP/1.1 client population and backend servers on
 * Sluice's own lib/net, lib/tcp (seen through lib/session, as every
 * application sees it) and lib/http, driven by one lcore on lib/worker's
 * loop. Every
 * connection and buffer is allocated before the run; the loop allocates
 * nothing but mbufs and prints nothing.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "sl_hist.h"
#include "sl_http_types.h"
#include "sl_lcore_types.h"
#include "sl_session.h"
#include "sl_timer_types.h"

#define LG_MAX_LISTEN    16
#define LG_MAX_BODY      (16u << 20)   /* request or response body, bytes */
#define LG_MAX_CONNS     1000000       /* client connections */
#define LG_MAX_IDLE      4000000       /* idle connections */

/* Errors counted by kind: symbol, name in reports, meaning. */
#define LG_ERRORS(X) \
	X(CONNECT_REFUSED, "connect_refused", "RST in answer to our SYN") \
	X(CONNECT_TIMEOUT, "connect_timeout", "no SYN-ACK within --connect-timeout") \
	X(CONNECT_FAILED,  "connect_failed",  "no local port, route or connection slot") \
	X(RESET,           "reset",           "connection reset during a request") \
	X(CLOSED,          "closed",          "peer closed before the response was complete") \
	X(TIMEOUT,         "timeout",         "no complete response within --timeout") \
	X(PARSE,           "parse",           "response that lib/http rejects") \
	X(STATUS,          "status",          "response status other than 2xx") \
	X(BODY_SIZE,       "body_size",       "response body of an unexpected size") \
	X(NO_MBUF,         "no_mbuf",         "mbuf pool empty when sending") \
	X(UNFINISHED,      "unfinished",      "request still in flight when the drain ended")

enum lg_error {
#define X(sym, name, desc) LG_E_##sym,
	LG_ERRORS(X)
#undef X
	LG_E_MAX
};

struct lg_opts {
	/* client side: absent when client_port is "" */
	char client_port[SL_NAME_MAX];
	char client_addr[32];            /* CIDR */
	char client_gw[16];              /* "" = none */
	uint32_t target_addr;            /* host order */
	uint16_t target_port;
	/* server side: absent when server_port is "" */
	char server_port[SL_NAME_MAX];
	char server_addr[32];
	uint16_t listen[LG_MAX_LISTEN];
	unsigned int n_listen;
	uint32_t server_conns;           /* accepted connections held at once */
	uint32_t resp_body;              /* bytes of every response body */

	/* load shape */
	uint32_t conns;                  /* client connections (closed loop) or
	                                    most requests in flight (open loop) */
	bool new_conn;                   /* one request per connection */
	double rate;                     /* requests/s; 0 = closed loop */
	double duration_s;
	uint64_t requests;               /* 0 = until duration_s */
	uint32_t req_body;               /* 0 = GET, else POST with this body */
	int64_t expect_body;             /* -1 = do not check */
	char path[256];
	char host[256];
	uint32_t timeout_ms;             /* per request */
	uint32_t connect_timeout_ms;
	double warmup_s;                 /* wait after links and ARP are up */
	double link_wait_s;
	double hold_s;                   /* keep the links up after the report */

	/* idle connections, opened before the load and held through it */
	uint32_t idle_conns;
	uint32_t idle_ports;             /* spread over target_port + [0, K) */
	uint32_t idle_window;            /* most of them connecting at once */

	/* runtime */
	bool adaptive;                   /* sleep when idle (shared cores) */
	uint32_t mbufs;
	bool json;
};

/* Connection states of the client side. */
enum lg_cstate {
	LG_C_FREE = 0,      /* no TCP connection */
	LG_C_CONNECTING,
	LG_C_READY,         /* established, no request */
	LG_C_BUSY,          /* request sent (or being sent), response pending */
	LG_C_CLOSING,       /* we shut down; waiting for the close */
};

struct lg_client;

struct lg_cconn {
	struct lg_client *cl;
	struct sl_session *ss;
	uint32_t idx;
	uint8_t state;
	bool has_req;                    /* a request is issued on this slot */
	bool in_ready;                   /* on the client's ready stack */
	bool gone;                       /* inside closed(): the stack frees ss */
	uint16_t status;                 /* of the response being read */
	bool keep_alive;                 /* ...and whether it keeps the conn */
	uint32_t tx_off;                 /* bytes of the request queued */
	uint64_t intended_tsc;           /* when this request was due */
	uint64_t conn_start_tsc;
	uint32_t nreq;                   /* requests on this connection */
	struct sl_timer timer;           /* request timeout */
	struct sl_http_parser parser;
};

/* Counters of the client side (one writer: the loop). */
struct lg_client_stats {
	uint64_t issued;
	uint64_t completed;              /* 2xx, body as expected */
	uint64_t responses;              /* every complete response */
	uint64_t conns_opened;           /* established */
	uint64_t connects;               /* SYNs sent */
	uint64_t bytes_in;               /* response bytes, heads included */
	uint64_t backlog_max;            /* open loop: most requests overdue */
	uint64_t errors[LG_E_MAX];
	uint64_t status[6];              /* by class: [1]..[5] */
};

struct lg_client {
	struct sl_lcore *lc;
	const struct lg_opts *o;
	struct lg_cconn *conns;
	uint32_t n;
	uint32_t *ready;                 /* stack of idle slots (READY or FREE) */
	uint32_t n_ready;
	uint32_t inflight;               /* slots with has_req */
	const char *req;                 /* the request, head and body */
	uint32_t req_len;
	bool issuing;
	uint64_t next_k;                 /* open loop: next request's index */
	uint64_t start_tsc;
	uint64_t end_tsc;                /* stop issuing at this TSC */
	uint64_t last_done_tsc;
	double period_tsc;               /* open loop */
	uint64_t tsc_hz;
	double ns_per_tsc;
	struct sl_http_limits lim;
	struct lg_client_stats st;
	struct sl_hist lat;              /* ns, from the intended start */
	struct sl_hist conn_lat;         /* ns, connect to established */
};

struct lg_sconn {
	struct lg_server *sv;
	struct sl_session *ss;
	uint32_t tx_left;                /* bytes of responses still to queue */
	uint32_t tx_off;                 /* into the response */
	bool req_close;                  /* the request being read asks to close */
	bool close_after;                /* FIN once the responses are queued */
	bool closing;
	uint32_t free_next;
	struct sl_http_parser parser;
};

struct lg_server_stats {
	uint64_t accepted;
	uint64_t refused;                /* no free slot */
	uint64_t requests;
	uint64_t bad_requests;
	uint64_t bytes_out;
	uint64_t no_mbuf;
	uint64_t active;                 /* gauge */
};

struct lg_server {
	struct sl_lcore *lc;
	const struct lg_opts *o;
	struct lg_sconn *conns;
	uint32_t n;
	uint32_t free_head;
	const char *resp;
	uint32_t resp_len;
	struct sl_http_limits lim;
	struct sl_session_listener listener;   /* every --listen port's */
	struct lg_server_stats st;
};

/*
 * Idle connections: established and silent (no request), the state a
 * keep-alive client leaves between requests. They exist to be counted: what
 * a gateway pays to hold them. Each spends 16 bytes here, no parser.
 */
struct lg_iconn {
	struct lg_idle *id;
	struct sl_session *ss;
	bool up;                         /* established once */
};

struct lg_idle_stats {
	uint64_t connects;               /* SYNs sent */
	uint64_t established;
	uint64_t failed;                 /* the three below */
	uint64_t refused;                /* RST in answer to the SYN */
	uint64_t timed_out;              /* no SYN-ACK within --connect-timeout */
	uint64_t no_slot;                /* no local port or connection slot */
	uint64_t closed;                 /* closed or reset by the peer while idle */
	uint64_t bytes_in;               /* anything the peer sent (e.g. a 408) */
};

struct lg_idle {
	struct sl_lcore *lc;
	const struct lg_opts *o;
	struct lg_iconn *conns;
	uint32_t n;
	uint32_t next;                   /* next slot to open */
	uint32_t connecting;
	uint32_t open;                   /* with a TCP connection */
	bool closing;
	uint32_t close_next;             /* next slot lg_idle_close_more closes */
	uint64_t start_tsc, done_tsc;    /* opening phase */
	struct lg_idle_stats st;
};

/* lg_args.c: 0, or -1 after printing a message to stderr. */
int lg_args_parse(int argc, char **argv, struct lg_opts *o);
void lg_usage(FILE *out);

/* lg_client.c */
int lg_client_init(struct lg_client *cl, struct sl_lcore *lc, const struct lg_opts *o);
void lg_client_free(struct lg_client *cl);
void lg_client_begin(struct lg_client *cl, uint64_t now);
void lg_client_poll(struct lg_client *cl, uint64_t now);
bool lg_client_drained(const struct lg_client *cl);
void lg_client_close_all(struct lg_client *cl, bool abort);
void lg_client_fail_inflight(struct lg_client *cl);
uint32_t lg_client_open(const struct lg_client *cl);
/* keep-alive: connect every slot before the clock starts */
void lg_client_preconnect(struct lg_client *cl);
uint32_t lg_client_established(const struct lg_client *cl);
const char *lg_error_name(unsigned int e);

/* lg_server.c */
int lg_server_init(struct lg_server *sv, struct sl_lcore *lc, const struct lg_opts *o,
		   uint32_t addr);
void lg_server_free(struct lg_server *sv);
void lg_server_close_all(struct lg_server *sv, bool abort);

/* lg_idle.c */
int lg_idle_init(struct lg_idle *id, struct sl_lcore *lc, const struct lg_opts *o);
void lg_idle_free(struct lg_idle *id);
/* Opens more, up to the window; true once every slot was tried and none
 * is still connecting. */
bool lg_idle_open_more(struct lg_idle *id, uint64_t now);
/* FIN to the next window of slots; true once every slot was closed. */
bool lg_idle_close_more(struct lg_idle *id);
/* Every slot at once: FIN, or with abort RST. */
void lg_idle_close_all(struct lg_idle *id, bool abort);

/* lg_report.c */
struct lg_result {
	double elapsed_s;                /* first request to last answer */
	double busy_pct;                 /* of our lcore over the run */
	const struct lg_client *cl;      /* NULL: no client side */
	const struct lg_server *sv;      /* NULL: no server side */
	const struct lg_idle *idle;      /* NULL: no idle connections */
	const struct lg_opts *o;
};
void lg_report_table(FILE *out, const struct lg_result *r);
void lg_report_json(FILE *out, const struct lg_result *r);

#endif
