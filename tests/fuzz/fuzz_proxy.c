/*
 * The HTTP proxy end to end, between a fake client and a fake backend
 * (fuzz_stack.h plays both hosts at L2-L4 around a real lcore stack with
 * sl_h1_create's proxy on it), in two modes:
 *
 * Hostile client: the input is what the client sends. The backend parses
 * what reaches it with an independent parser (fuzz_proxy_ref.h) and answers
 * every request with a fixed 200. Oracle: every request the gateway sends
 * the backend is well formed and carries X-Forwarded-For (ending in the
 * client's address), X-Forwarded-Proto, Via: 1.1 sluice and X-Request-Id;
 * the backend's requests are, in order, the requests of the client's
 * stream (same method and body bytes, the target in origin-form with its
 * dot-segments removed: ref_target_norm), never one more; the client
 * gets one 200 per request the backend saw, then at most one error from
 * the gateway (never a 502 or 504: this backend answers every request at
 * once), then nothing; and a client whose requests were all valid
 * gets them all answered, or an error. A backend connection never ends
 * inside a request unless the gateway resets it.
 *
 * Lying backend: the client sends 1 to 4 pipelined GET/HEAD requests and
 * the input is what the backend answers, written whenever a request waits
 * on a backend connection. Oracle: the client gets well-formed responses,
 * at most one per request, each equal (status, body bytes) to the valid
 * response the backend sent for that request on its last attempt, or a
 * gateway error (502/503/504, connection closed after); a response cut
 * short is seen so by the client (RST). Bytes the backend sent outside a
 * valid response it was asked for (after a response's end, a 101, a broken
 * frame) never reach the client.
 *
 * After every input everything is closed (both sides, with the timers run
 * out on the virtual clock), and the mbuf pool, the TCP table, the proxy's
 * client and exchange tables and the upstream gauges are back at zero.
 *
 * Input: 4 control bytes, then the stream.
 *   byte 0: bit 0 mode (0 hostile client, 1 lying backend); bit 1 the
 *           client ends with RST rather than FIN; bit 2 the backend closes
 *           after each response (client mode) or ends with RST (backend
 *           mode); bits 3-4 virtual time between segments (0, 1, 30,
 *           300 ms); bits 5-6 pipelined requests less one (backend mode).
 *   byte 1: bits 0-3: segments of 1 to 2^k bytes.
 *   byte 2: seed of the segment sizes.
 *   byte 3: backend mode: bit i makes request i a HEAD.
 */
#include <stdio.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "sl_conf.h"
#include "sl_event.h"
#include "sl_proxy_http.h"
#include "sl_route.h"
#include "sl_upstream.h"
#include "sl_test_stack.h"
#include "sl_test_poison_pool.h"
#include "fuzz.h"
#include "fuzz_proxy_ref.h"
#include "fuzz_stack.h"

#define GW_IP      0xc6120001u   /* 198.18.0.1 */
#define CLIENT_IP  0xc6120002u   /* 198.18.0.2 */
#define BACKEND_IP 0xc612000au   /* 198.18.0.10 */
#define MAX_BK     512           /* requests the backend records per input */
#define MAX_MARKS  4096

static const char conf_json[] =
	"{\"version\": 1,"
	" \"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"} ],"
	" \"tcp\": {\"max_conns\": 64, \"rcv_buf\": 16384, \"snd_buf\": 16384,"
	"   \"time_wait_s\": 0, \"rto_init_ms\": 100, \"retries\": 3,"
	"   \"syn_retries\": 1},"
	" \"http\": {\"header_timeout_ms\": 1000, \"client_idle_s\": 1,"
	"   \"response_timeout_ms\": 500, \"upstream_idle_s\": 1,"
	"   \"max_inflight\": 16},"
	" \"pools\": [ {\"name\": \"a\", \"connect_timeout_ms\": 200,"
	"   \"backends\": [ {\"name\": \"b0\", \"address\": \"198.18.0.10\","
	"     \"port\": 80} ]} ],"
	" \"listeners\": [ {\"name\": \"web\", \"address\": \"198.18.0.1\","
	"   \"port\": 80, \"mode\": \"http\", \"pool\": \"a\"} ]}";

static struct fz_net N;
static struct sl_dp dp;
static struct sl_gen gen;
static struct sl_route_table *routes[2];
static unsigned int mbuf_base;
static uint32_t n_inputs;

/* What the backend saw: one per request, in arrival order. */
struct bk_req {
	unsigned int peer;            /* index in N.peers */
	unsigned int on_conn;         /* position on its connection */
	bool head;
	struct fuzz_buf method, target, body;
	/* Lying-backend mode: the valid response it was sent, if any. */
	bool resp_ok;
	int resp_status;
	struct fuzz_buf resp_body;
};

/* Lying-backend mode: a write of the script, and how many requests its
 * connection had received by then. */
struct mark {
	unsigned int peer;
	size_t off;
	unsigned int nreq;
};

struct conn_st {
	size_t parsed;                /* request bytes parsed */
	unsigned int nreq;            /* requests received */
	unsigned int nresp;           /* complete responses written */
};

static struct {
	bool backend_mode, client_rst, backend_flag;
	unsigned int step_ms;
	bool closing;                 /* refuse new backend connections */
	struct fz_peer *client;
	struct conn_st cs[FZ_MAX_PEERS];
	struct bk_req bk[MAX_BK];
	unsigned int nbk;
	struct mark marks[MAX_MARKS];
	unsigned int nmarks;
	uint64_t seed;
	size_t max_seg;
} S;

static struct ref_msg M;          /* big: one, reused */
static bool verbose;              /* FZ_VERBOSE=1: what the backend saw */

static void
dump(const char *what, const uint8_t *b, size_t n)
{
	fprintf(stderr, "---- %s (%zu bytes)\n", what, n);
	fwrite(b, 1, RTE_MIN(n, (size_t)4096), stderr);
	fprintf(stderr, "\n----\n");
}

#define ORACLE(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n"); \
		if (S.client != NULL) { \
			dump("client sent", S.client->out.b, S.client->out.n); \
			dump("client received", S.client->in.b, S.client->in.n); \
		} \
		FUZZ_CHECK(cond); \
	} \
} while (0)

static bool
slice_is(struct ref_slice s, const void *p, size_t n)
{
	return s.n == n && (n == 0 || memcmp(s.p, p, n) == 0);
}

/* The last element of a comma list, trimmed. */
static struct ref_slice
last_elem(struct ref_slice v)
{
	size_t s = v.n;

	while (s > 0 && v.p[s - 1] != ',')
		s--;
	while (s < v.n && (v.p[s] == ' ' || v.p[s] == '\t'))
		s++;
	return (struct ref_slice){ v.p + s, v.n - s };
}

/* The fields the gateway adds, on a request the backend received. */
static void
check_added(const struct ref_msg *m)
{
	int k, last = -1;

	for (k = ref_find(m, "x-forwarded-for", 0); k >= 0;
	     k = ref_find(m, "x-forwarded-for", (unsigned int)k + 1))
		last = k;
	ORACLE(last >= 0, "no X-Forwarded-For at the backend");
	ORACLE(slice_is(last_elem(m->f[last].value), "198.18.0.2", 10),
	       "X-Forwarded-For does not end in the client's address: %.*s",
	       (int)m->f[last].value.n, m->f[last].value.p);
	last = -1;
	for (k = ref_find(m, "via", 0); k >= 0; k = ref_find(m, "via", (unsigned int)k + 1))
		last = k;
	ORACLE(last >= 0 && slice_is(m->f[last].value, "1.1 sluice", 10),
	       "no Via: 1.1 sluice last at the backend");
	ORACLE(ref_find(m, "x-request-id", 0) >= 0, "no X-Request-Id at the backend");
	ORACLE(ref_find(m, "x-forwarded-proto", 0) >= 0,
	       "no X-Forwarded-Proto at the backend");
	ORACLE(ref_find(m, "transfer-encoding", 0) < 0 || ref_find(m, "content-length", 0) < 0,
	       "Transfer-Encoding and Content-Length at the backend");
}

/*
 * At the end: what a backend connection got is whole requests, unless the
 * gateway reset it (a request cut short when its client went away).
 */
static void
check_backend_streams(void)
{
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++) {
		const struct fz_peer *p = &N.peers[i];

		if (!p->used || p->ip != BACKEND_IP || p->rst_rcvd)
			continue;
		if (S.cs[i].parsed != p->in.n)
			dump("backend received", p->in.b, p->in.n);
		ORACLE(S.cs[i].parsed == p->in.n, "backend connection %u ended with %zu "
		       "bytes that are no whole request, and no reset", i,
		       p->in.n - S.cs[i].parsed);
	}
}

static bool
on_syn(struct fz_net *n, uint32_t ip, uint16_t port)
{
	(void)n;
	return ip == BACKEND_IP && port == 80 && !S.closing;
}

/* New bytes at a backend connection: record and answer whole requests. */
static void
on_data(struct fz_net *n, struct fz_peer *p)
{
	unsigned int idx = (unsigned int)(p - n->peers);
	struct conn_st *cs = &S.cs[idx];

	if (p->ip != BACKEND_IP)
		return;   /* the client's bytes are judged at the end */
	for (;;) {
		enum ref_rc rc = ref_parse(p->in.b, p->in.n, cs->parsed, true, false,
					   p->fin_rcvd, &M);
		struct bk_req *r;

		if (rc == REF_MORE)
			return;
		if (rc == REF_BAD)
			dump("backend received", p->in.b, p->in.n);
		ORACLE(rc == REF_OK, "the gateway sent the backend a malformed request "
		       "(%s) at offset %zu", M.why, cs->parsed);
		check_added(&M);
		/* The response parser knows no tunnels (sl_http.h): CONNECT is
		 * refused, never forwarded. */
		ORACLE(!ref_eq(M.method, "CONNECT"), "the gateway forwarded a CONNECT");
		if (S.nbk == MAX_BK)
			return;
		r = &S.bk[S.nbk++];
		r->peer = idx;
		r->on_conn = cs->nreq++;
		r->head = ref_method_is(M.method, "HEAD");
		fuzz_buf_put(&r->method, M.method.p, M.method.n);
		fuzz_buf_put(&r->target, M.target.p, M.target.n);
		fuzz_buf_put(&r->body, M.body.b, M.body.n);
		cs->parsed = M.end;
		if (verbose)
			fprintf(stderr, "backend %u got: %.*s %.*s (%zu body bytes)\n",
				idx, (int)M.method.n, M.method.p, (int)M.target.n,
				M.target.p, M.body.n);
		if (!S.backend_mode) {
			static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
			static const char okc[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
						  "Connection: close\r\n\r\nok";
			const char *a = S.backend_flag ? okc : ok;
			size_t len = strlen(a) - (r->head ? 2 : 0);

			fz_peer_write(n, p, a, len, 0);
			cs->nresp++;
			if (S.backend_flag)
				fz_peer_close(n, p);
		}
	}
}

static size_t
next_seg(size_t left)
{
	size_t len = 1 + (size_t)(fuzz_rand(&S.seed) % S.max_seg);

	return RTE_MIN(len, left);
}

static struct sl_h1_proxy *
hp(void)
{
	return sl_h1_proxy_of(N.lc);
}

static bool
all_closed(void)
{
	return sl_tcp_of(N.lc)->stats.active == 0 && hp()->stats.clients == 0;
}

/* Resend whatever is unacknowledged, let `ms` pass; `rounds` times. */
static void
settle(unsigned int rounds, unsigned int ms)
{
	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < FZ_MAX_PEERS; i++)
			if (N.peers[i].used)
				fz_peer_rewind(&N, &N.peers[i]);
		fz_net_advance(&N, ms);
	}
}

/*
 * One response of what the client received. The gateway's own error
 * responses to a HEAD carry no body (RFC 9110 9.3.2); one that did was a
 * finding of this harness. FZ_LAX_HEAD=1 reads such a body instead of
 * reporting it, for replaying old inputs.
 */
static uint64_t head_error_bodies;
static bool strict_head_errors;

static enum ref_rc
client_resp(const struct fz_peer *c, size_t off, bool head)
{
	enum ref_rc rc = ref_parse(c->in.b, c->in.n, off, false, head, c->fin_rcvd, &M);
	int k = ref_find(&M, "connection", 0);

	if (!strict_head_errors && rc == REF_OK && head && M.status >= 400 && M.end < c->in.n && k >= 0 &&
	    ref_list_has(M.f[k].value, "close") &&
	    ref_find(&M, "content-type", 0) >= 0) {
		head_error_bodies++;
		rc = ref_parse(c->in.b, c->in.n, off, false, false, c->fin_rcvd, &M);
	}
	return rc;
}

/* ---- hostile client --------------------------------------------------- */

struct creq {
	struct ref_slice method, target;
	struct fuzz_buf norm;         /* the target as the gateway should pass it */
	struct fuzz_buf body;
	bool head;
};

static struct creq creqs[MAX_BK + 1];
static bool rejected_head;

static void
run_client(const uint8_t *data, size_t len)
{
	unsigned int n_ref = 0, n200 = 0, n_err = 0, nbk_quiet;
	struct fz_peer *c = S.client;
	size_t off = 0;

	while (off < len) {
		size_t l = next_seg(len - off);

		fz_peer_write(&N, c, data + off, l, l);
		off += l;
		fz_net_pump(&N);
		if (S.step_ms)
			fz_net_advance(&N, S.step_ms);
	}
	/* Quiet, under the keep-alive idle time: all it will forward is out. */
	settle(10, 50);
	nbk_quiet = S.nbk;
	if (S.client_rst)
		fz_peer_reset(&N, c);
	else
		fz_peer_close(&N, c);
	fz_net_pump(&N);
	settle(10, 100);
	S.closing = true;
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++)
		if (N.peers[i].used && N.peers[i].ip == BACKEND_IP)
			fz_peer_close(&N, &N.peers[i]);
	for (unsigned int r = 0; r < 600 && !all_closed(); r++)
		settle(1, 100);

	check_backend_streams();
	/* The requests of the client's stream, as the reference reads them:
	 * up to the first it rejects, and none after one that closes. */
	off = 0;
	while (n_ref < MAX_BK + 1) {
		struct creq *q = &creqs[n_ref];

		if (ref_parse(c->out.b, c->out.n, off, true, false, false, &M) != REF_OK)
			break;
		q->method = M.method;
		q->target = M.target;
		q->head = ref_method_is(M.method, "HEAD");
		ref_target_norm(M.target, &q->norm);
		q->body.n = 0;
		fuzz_buf_put(&q->body, M.body.b, M.body.n);
		off = M.end;
		n_ref++;
		if (M.close)
			break;
	}
	/* The request the reference stopped at: the gateway's error to it has
	 * no body if the gateway read its method as HEAD (its line may still
	 * be refused later, by either parser). */
	{
		size_t p = off;

		while (p + 1 < c->out.n && c->out.b[p] == '\r' && c->out.b[p + 1] == '\n')
			p += 2;
		rejected_head = c->out.n - p >= 5 && memcmp(c->out.b + p, "HEAD ", 5) == 0;
	}
	/* What the client got: 200s for forwarded requests, then perhaps one
	 * error of the gateway's, then the end. */
	off = 0;
	while (off < c->in.n) {
		bool head = n200 < n_ref && creqs[n200].head;
		enum ref_rc rc = client_resp(c, off, head);

		/* An error to a HEAD the reference refused: read it bodiless. */
		if (rc == REF_MORE && n200 >= n_ref && rejected_head)
			rc = client_resp(c, off, true);
		if (rc == REF_MORE) {
			ORACLE(c->rst_rcvd, "the client's last response is incomplete "
			       "and the connection was not reset");
			break;
		}
		ORACLE(rc == REF_OK, "the client got a malformed response (%s) at %zu",
		       M.why, off);
		ORACLE(n_err == 0, "the client got bytes after the gateway's error");
		if (M.status == 200) {
			ORACLE(slice_is((struct ref_slice){ M.body.b, M.body.n }, "ok",
					head ? 0 : 2), "a 200 with another body");
			n200++;
		} else {
			/* The backend answers every whole request at once: a 502 or
			 * 504 means it got something that was none. */
			ORACLE(M.status >= 400 && M.status != 502 && M.status != 504,
			       "the client got status %d", M.status);
			n_err++;
		}
		off = M.end;
	}
	ORACLE(S.nbk == n200, "the backend got %u requests, the client %u 200s",
	       S.nbk, n200);
	for (unsigned int i = 0; i < S.nbk; i++) {
		const struct bk_req *r = &S.bk[i];
		const struct creq *q = &creqs[i];

		ORACLE(i < n_ref, "request %u reached the backend, but the reference "
		       "parser accepts only %u of the client's stream", i, n_ref);
		ORACLE(slice_is(q->method, r->method.b, r->method.n) &&
		       slice_is((struct ref_slice){ q->norm.b, q->norm.n }, r->target.b,
				r->target.n),
		       "request %u: the backend got %.*s %.*s for %.*s %.*s", i,
		       (int)r->method.n, r->method.b, (int)r->target.n, r->target.b,
		       (int)q->method.n, q->method.p, (int)q->target.n, q->target.p);
		ORACLE(q->body.n == r->body.n &&
		       (q->body.n == 0 || memcmp(q->body.b, r->body.b, q->body.n) == 0),
		       "request %u: the backend got another body (%zu bytes, sent %zu)",
		       i, r->body.n, q->body.n);
	}
	/* Every valid request answered, unless the gateway said no. */
	ORACLE(n_err > 0 || nbk_quiet >= n_ref,
	       "%u valid requests, %u forwarded and no error", n_ref, nbk_quiet);
}

/* ---- lying backend ----------------------------------------------------- */

/* Complete responses (and where each starts) the backend wrote on peer i. */
static unsigned int
conn_responses(unsigned int i, bool eof, size_t *starts, unsigned int max,
	       bool record)
{
	struct fz_peer *p = &N.peers[i];
	unsigned int j = 0, r = 0;
	size_t off = 0;

	while (j < max) {
		bool head = false;
		size_t start = off;
		enum ref_rc rc;

		for (r = 0; r < S.nbk; r++)
			if (S.bk[r].peer == i && S.bk[r].on_conn == j)
				break;
		if (r < S.nbk)
			head = S.bk[r].head;
		do {
			rc = ref_parse(p->out.b, p->out.n, off, false, head, eof, &M);
			if (rc == REF_OK)
				off = M.end;
		} while (rc == REF_OK && M.status < 200);
		if (rc != REF_OK)
			break;
		if (starts != NULL)
			starts[j] = start;
		if (record && r < S.nbk) {
			struct bk_req *q = &S.bk[r];
			unsigned int nreq = 0;

			/* Asked for: written after its request had come. */
			for (unsigned int k = 0; k < S.nmarks; k++)
				if (S.marks[k].peer == i && S.marks[k].off <= start)
					nreq = S.marks[k].nreq;
			if (nreq < j + 1)
				break;
			q->resp_ok = true;
			q->resp_status = M.status;
			fuzz_buf_put(&q->resp_body, M.body.b, M.body.n);
		}
		j++;
	}
	return j;
}

/* The gateway's own 502-504; `head`: it answers a HEAD, so no body. */
static bool
gateway_error(const struct ref_msg *m, bool head)
{
	static const char *const r[] = { "Bad Gateway\n", "Service Unavailable\n",
					  "Gateway Timeout\n" };
	int k = ref_find(m, "connection", 0);

	if (m->status < 502 || m->status > 504 || k < 0 ||
	    !ref_list_has(m->f[k].value, "close"))
		return false;
	if (head)
		return m->body.n == 0;
	return slice_is((struct ref_slice){ m->body.b, m->body.n }, r[m->status - 502],
			strlen(r[m->status - 502]));
}

static void
run_backend(const uint8_t *data, size_t len, unsigned int n_req, uint8_t heads)
{
	struct fz_peer *c = S.client;
	unsigned int stalled = 0, n_final = 0;
	bool ended = false;
	size_t off = 0;
	char req[64];

	for (unsigned int i = 0; i < n_req; i++) {
		int k = snprintf(req, sizeof(req), "%s /r%u HTTP/1.1\r\nHost: fz\r\n\r\n",
				 (heads >> i) & 1 ? "HEAD" : "GET", i);

		fz_peer_write(&N, c, req, (size_t)k, 0);
	}
	fz_net_pump(&N);
	while (off < len && stalled < 30) {
		int pick = -1;

		for (unsigned int i = 0; i < FZ_MAX_PEERS; i++) {
			struct fz_peer *p = &N.peers[i];

			if (p->used && p->ip == BACKEND_IP && !fz_peer_gone(p) &&
			    !p->fin_rcvd && S.cs[i].nreq > S.cs[i].nresp)
				pick = (int)i;
		}
		if (pick < 0) {
			stalled++;
			settle(1, 50);
			continue;
		}
		stalled = 0;
		{
			struct fz_peer *p = &N.peers[pick];
			size_t l = next_seg(len - off);

			if (S.nmarks < MAX_MARKS)
				S.marks[S.nmarks++] = (struct mark){ (unsigned int)pick,
					p->out.n, S.cs[pick].nreq };
			fz_peer_write(&N, p, data + off, l, l);
			off += l;
			fz_net_pump(&N);
			S.cs[pick].nresp = conn_responses((unsigned int)pick, false, NULL,
							  UINT32_MAX, false);
		}
		if (S.step_ms)
			fz_net_advance(&N, S.step_ms);
	}
	settle(10, 50);
	/* The backend ends its connections, then the client its own. */
	S.closing = true;
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++)
		if (N.peers[i].used && N.peers[i].ip == BACKEND_IP) {
			if (S.backend_flag)
				fz_peer_reset(&N, &N.peers[i]);
			else
				fz_peer_close(&N, &N.peers[i]);
		}
	fz_net_pump(&N);
	settle(10, 50);
	if (S.client_rst)
		fz_peer_reset(&N, c);
	else
		fz_peer_close(&N, c);
	for (unsigned int r = 0; r < 600 && !all_closed(); r++)
		settle(1, 100);

	check_backend_streams();
	/* The valid, asked-for response of every request the backend saw. */
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++)
		if (N.peers[i].used && N.peers[i].ip == BACKEND_IP)
			conn_responses(i, N.peers[i].fin_sent && !N.peers[i].rst_sent,
				       NULL, S.cs[i].nreq, true);
	/* The client's stream: each final response is the backend's (its
	 * last attempt) or the gateway's error, and nothing else. */
	off = 0;
	while (off < c->in.n) {
		bool head = n_final < n_req && ((heads >> n_final) & 1);
		enum ref_rc rc = client_resp(c, off, head);
		const struct bk_req *r = NULL;

		if (rc == REF_MORE) {
			ORACLE(c->rst_rcvd, "the client's response %u is cut short and "
			       "the connection was not reset", n_final);
			break;
		}
		ORACLE(rc == REF_OK, "the client got a malformed response (%s) at %zu",
		       M.why, off);
		ORACLE(!ended, "the client got bytes after the gateway's error");
		off = M.end;
		if (M.status < 200)
			continue;
		ORACLE(n_final < n_req, "the client got more responses than requests");
		snprintf(req, sizeof(req), "/r%u", n_final);
		for (unsigned int k = 0; k < S.nbk; k++)
			if (slice_is((struct ref_slice){ S.bk[k].target.b, S.bk[k].target.n },
				     req, strlen(req)))
				r = &S.bk[k];
		if (r != NULL && r->resp_ok && r->resp_status == M.status &&
		    r->resp_body.n == M.body.n &&
		    (M.body.n == 0 || memcmp(r->resp_body.b, M.body.b, M.body.n) == 0)) {
			n_final++;
			continue;
		}
		ORACLE(gateway_error(&M, head),
		       "response %u (status %d, %zu body bytes) is "
		       "neither the backend's valid response nor a gateway error",
		       n_final, M.status, M.body.n);
		ended = true;
		n_final++;
	}
}

/* ---- set-up and the per-input frame ------------------------------------ */

static void
reset_input(void)
{
	for (unsigned int i = 0; i < FZ_MAX_PEERS; i++) {
		fuzz_buf_free(&N.peers[i].out);
		fuzz_buf_free(&N.peers[i].in);
		N.peers[i].used = false;
	}
	for (unsigned int i = 0; i < S.nbk; i++) {
		fuzz_buf_free(&S.bk[i].method);
		fuzz_buf_free(&S.bk[i].target);
		fuzz_buf_free(&S.bk[i].body);
		fuzz_buf_free(&S.bk[i].resp_body);
		S.bk[i].resp_ok = false;
	}
	S.nbk = 0;
	S.nmarks = 0;
	memset(S.cs, 0, sizeof(S.cs));
	S.closing = false;
	S.client = NULL;
	N.iss_seed = 0x5eed;
}

static void
check_baseline(void)
{
	struct sl_h1_proxy *h = hp();
	const struct sl_up_pool *p = &dp.up->pools[0];

	FUZZ_CHECK(sl_tcp_of(N.lc)->stats.active == 0);
	FUZZ_CHECK(h->stats.clients == 0);
	FUZZ_CHECK(h->stats.inflight == 0);
	FUZZ_CHECK(h->idle[0].n == 0);
	FUZZ_CHECK(p->conns == 0 && p->pending == 0 && p->inflight == 0);
	FUZZ_CHECK(N.lc->txq[0].n == 0 && N.rxn == 0 && rte_ring_count(N.tx) == 0);
	if (rte_mempool_avail_count(N.mp) != mbuf_base)
		fprintf(stderr, "mbufs: %u free, %u at the start\n",
			rte_mempool_avail_count(N.mp), mbuf_base);
	FUZZ_CHECK(rte_mempool_avail_count(N.mp) == mbuf_base);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct rte_ether_addr gw_mac = {{ 0x02, 0, 0, 0, 0, 0x01 }};
	struct sl_conf_diag d = { 0 };
	struct sl_conf *conf;
	struct sl_lcore *lc;
	struct rte_ether_addr mac;

	(void)argc;
	/* A backend's 101 to a client that asked for no upgrade must not be
	 * relayed (a finding of this harness, now a 502); FZ_LAX_101=1 and
	 * FZ_LAX_HEAD=1 tolerate the old behaviours, for replaying. */
	ref_strict_101 = getenv("FZ_LAX_101") == NULL;
	strict_head_errors = getenv("FZ_LAX_HEAD") == NULL;
	verbose = getenv("FZ_VERBOSE") != NULL;
	FUZZ_CHECK(sl_test_eal_init((*argv)[0], "256") == 0);
	FUZZ_CHECK(sl_tcp_global_init() == 0);
	conf = sl_conf_load_buf("fuzz_proxy", conf_json, strlen(conf_json), false, &d);
	sl_conf_diag_print(&d, "fuzz_proxy", stderr);
	FUZZ_CHECK(conf != NULL);
	sl_conf_diag_free(&d);
	routes[0] = sl_route_compile(&conf->listeners[0]);
	FUZZ_CHECK(routes[0] != NULL);
	gen.conf = conf;
	gen.routes = routes;
	/* Freed mbufs are poisoned, so the proxy reading bytes of an mbuf
	 * it has freed (defect 8 of issue 12) is an ASan report. */
	N.mp = sl_test_poison_pool_create("fz_mbufs", 8191);
	N.tx = rte_ring_create("fz_tx", 16384, SOCKET_ID_ANY,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	FUZZ_CHECK(N.mp != NULL && N.tx != NULL);
	dp.conf = conf;
	dp.gen = &gen;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.start_tsc = rte_rdtsc();
	dp.n_ports = 1;
	dp.ports[0].addr = GW_IP;
	dp.ports[0].prefix_len = 24;
	dp.ports[0].mask = 0xffffff00u;
	dp.ports[0].mac = gw_mac;
	dp.ports[0].mtu = 1500;
	dp.n_workers = 1;
	dp.events = sl_event_log_create(64);
	FUZZ_CHECK(dp.events != NULL);
	dp.up = sl_upstream_create(conf, 1, dp.events);
	FUZZ_CHECK(dp.up != NULL);
	lc = rte_zmalloc("fz_lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	FUZZ_CHECK(lc != NULL);
	lc->lcore_id = rte_lcore_id();
	lc->dp = &dp;
	lc->pool = N.mp;
	lc->gen = &gen;
	lc->now = rte_rdtsc();
	lc->arp = sl_arp_create("fz_arp", SOCKET_ID_ANY, &conf->arp, dp.tsc_hz);
	sl_tcp_stack_create(lc, &conf->tcp, SOCKET_ID_ANY, 0, 1);
	FUZZ_CHECK(lc->arp != NULL && sl_tcp_of(lc) != NULL);
	sl_h1_create(sl_tcp_of(lc), &gen, SOCKET_ID_ANY);
	FUZZ_CHECK(sl_h1_proxy_of(lc) != NULL);
	/* Every frame flushed goes to our ring, not to an ethdev. */
	lc->txq[0].handoff = N.tx;
	N.lc = lc;
	N.gw_ip = GW_IP;
	N.gw_mac = gw_mac;
	N.on_data = on_data;
	N.on_syn = on_syn;
	N.vnow = sl_tcp_of(lc)->wheel.now;
	/* Both hosts introduce themselves, so nothing waits on ARP. */
	mac = fz_mac_of(CLIENT_IP);
	fz_arp(&N, &mac, CLIENT_IP, RTE_ARP_OP_REQUEST);
	mac = fz_mac_of(BACKEND_IP);
	fz_arp(&N, &mac, BACKEND_IP, RTE_ARP_OP_REQUEST);
	fz_net_pump(&N);
	mbuf_base = rte_mempool_avail_count(N.mp);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int steps[4] = { 0, 1, 30, 300 };
	uint8_t b0, b1, heads;

	if (size < 4)
		return 0;
	reset_input();
	b0 = data[0];
	b1 = data[1];
	heads = data[3];
	S.backend_mode = b0 & 1;
	S.client_rst = b0 & 2;
	S.backend_flag = b0 & 4;
	S.step_ms = steps[(b0 >> 3) & 3];
	S.max_seg = (size_t)1 << (b1 & 15);
	S.seed = 0x9e3779b97f4a7c15ull ^ data[2];
	/* A fresh port each time: nothing of the last input's connection. */
	S.client = fz_peer_connect(&N, CLIENT_IP, (uint16_t)(20000 + n_inputs++ % 40000), 80);
	fz_net_pump(&N);
	FUZZ_CHECK(S.client->est);
	if (S.backend_mode)
		run_backend(data + 4, size - 4, 1 + ((b0 >> 5) & 3), heads);
	else
		run_client(data + 4, size - 4);
	if (verbose)
		dump("client received", S.client->in.b, S.client->in.n);
	check_baseline();
	reset_input();
	return 0;
}
