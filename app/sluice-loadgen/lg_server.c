/*
 * The backend side: HTTP/1.1 servers on our own TCP that answer every
 * request with the same response (a fixed-size body), keep-alive unless
 * the request asks to close. Pipelined requests are answered in order.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "sl_http.h"
#include "sl_lcore.h"
#include "sl_tcp.h"
#include "lg.h"

static const struct sl_tcp_app_ops server_ops;

static inline struct sl_tcp_stack *
stack(const struct lg_server *sv)
{
	return sv->lc->tcp;
}

static void
slot_put(struct lg_server *sv, struct lg_sconn *sc)
{
	sc->tc = NULL;
	sc->free_next = sv->free_head;
	sv->free_head = (uint32_t)(sc - sv->conns);
	sv->st.active--;
}

/* Queue response bytes while the send buffer has room. */
static void
pump(struct lg_server *sv, struct lg_sconn *sc)
{
	struct sl_tcp_conn *tc = sc->tc;

	while (sc->tx_left > 0 && sl_tcp_sndq_bytes(tc) < tc->snd_buf) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(sv->lc->pool);
		uint32_t n;

		if (unlikely(m == NULL)) {
			sv->st.no_mbuf++;
			break;   /* retried when an ACK makes the queue writable */
		}
		n = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(m), sc->tx_left);
		n = RTE_MIN(n, sv->resp_len - sc->tx_off);
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), sv->resp + sc->tx_off, n);
		sc->tx_off = sc->tx_off + n == sv->resp_len ? 0 : sc->tx_off + n;
		sc->tx_left -= n;
		sv->st.bytes_out += n;
		if (sl_tcp_send(stack(sv), tc, m) != 0)
			return;
	}
	if (sc->tx_left == 0 && sc->close_after && !sc->closing) {
		sc->closing = true;
		sl_tcp_shutdown(stack(sv), tc);   /* after the queued bytes */
		return;
	}
	if (sc->tx_left > 0)
		tc->flags |= SL_TCPF_NOTIFY_W;
	sl_tcp_output(stack(sv), tc);
}

static void
s_readable(struct sl_tcp_conn *tc)
{
	struct lg_sconn *sc = tc->app;
	struct lg_server *sv = sc->sv;
	struct sl_mq q;
	struct rte_mbuf *m;
	bool bad = false;

	sl_tcp_recv(stack(sv), tc, UINT32_MAX, &q);
	while ((m = sl_mq_pop(&q)) != NULL) {
		const char *p = rte_pktmbuf_mtod(m, const char *);
		size_t len = rte_pktmbuf_data_len(m), off = 0;

		while (!bad && !sc->close_after) {
			struct sl_http_event ev;

			off += sl_http_parse(&sc->parser, p + off, len - off, &ev);
			if (ev.type == SL_HTTP_EV_NEED_MORE)
				break;
			if (ev.type == SL_HTTP_EV_HEADERS_DONE) {
				sc->req_close = !(ev.head.flags & SL_HTTP_F_KEEP_ALIVE);
			} else if (ev.type == SL_HTTP_EV_MESSAGE_DONE) {
				sv->st.requests++;
				sc->tx_left += sv->resp_len;
				/* Anything after a request that closes is ignored. */
				sc->close_after = sc->req_close;
			} else if (ev.type == SL_HTTP_EV_ERROR) {
				bad = true;
			}
		}
		rte_pktmbuf_free(m);
	}
	if (bad) {
		sv->st.bad_requests++;
		sl_tcp_abort(stack(sv), tc);   /* no callback */
		slot_put(sv, sc);
		return;
	}
	if (sl_tcp_eof(tc))
		sc->close_after = true;
	pump(sv, sc);
}

static void
s_writable(struct sl_tcp_conn *tc)
{
	struct lg_sconn *sc = tc->app;

	pump(sc->sv, sc);
}

static void
s_closed(struct sl_tcp_conn *tc, enum sl_tcp_close_reason why)
{
	struct lg_sconn *sc = tc->app;

	(void)why;
	slot_put(sc->sv, sc);
}

static const struct sl_tcp_app_ops server_ops = {
	.readable = s_readable,
	.writable = s_writable,
	.closed = s_closed,
};

static int
s_accept(struct sl_tcp_conn *tc, void *arg)
{
	struct lg_server *sv = arg;
	struct lg_sconn *sc;

	if (sv->free_head == UINT32_MAX) {
		sv->st.refused++;
		return -1;
	}
	sc = &sv->conns[sv->free_head];
	sv->free_head = sc->free_next;
	sc->sv = sv;
	sc->tc = tc;
	sc->tx_left = 0;
	sc->tx_off = 0;
	sc->close_after = false;
	sc->req_close = false;
	sc->closing = false;
	sl_http_parser_init_request(&sc->parser, &sv->lim);
	tc->ops = &server_ops;
	tc->app = sc;
	sv->st.accepted++;
	sv->st.active++;
	return 0;
}

int
lg_server_init(struct lg_server *sv, struct sl_lcore *lc, const struct lg_opts *o,
	       uint32_t addr)
{
	static const struct sl_http_limits lim = SL_HTTP_LIMITS_DEFAULT;
	char head[256];
	char *resp;
	int n;

	memset(sv, 0, sizeof(*sv));
	sv->lc = lc;
	sv->o = o;
	sv->n = o->server_conns;
	sv->lim = lim;
	sv->lim.max_body = 0;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 200 OK\r\nServer: sluice-loadgen\r\n"
		     "Content-Type: application/octet-stream\r\n"
		     "Content-Length: %u\r\n\r\n", o->resp_body);
	resp = malloc((size_t)n + o->resp_body);
	sv->conns = calloc(sv->n, sizeof(*sv->conns));
	if (resp == NULL || sv->conns == NULL) {
		free(resp);
		lg_server_free(sv);
		return -1;
	}
	memcpy(resp, head, (size_t)n);
	memset(resp + n, 'b', o->resp_body);
	sv->resp = resp;
	sv->resp_len = (uint32_t)n + o->resp_body;
	sv->free_head = UINT32_MAX;
	for (uint32_t i = sv->n; i-- > 0; ) {
		sv->conns[i].free_next = sv->free_head;
		sv->free_head = i;
	}
	for (unsigned int i = 0; i < o->n_listen; i++)
		if (sl_tcp_listen(lc->tcp, addr, o->listen[i], s_accept, sv) != 0) {
			lg_server_free(sv);
			return -1;
		}
	return 0;
}

void
lg_server_free(struct lg_server *sv)
{
	free((void *)sv->resp);
	free(sv->conns);
	sv->resp = NULL;
	sv->conns = NULL;
}

void
lg_server_close_all(struct lg_server *sv, bool abort)
{
	for (uint32_t i = 0; i < sv->n; i++) {
		struct lg_sconn *sc = &sv->conns[i];

		if (sc->tc == NULL)
			continue;
		if (abort) {
			sl_tcp_abort(stack(sv), sc->tc);
			slot_put(sv, sc);
		} else if (!sc->closing) {
			sc->closing = true;
			sc->close_after = true;
			sl_tcp_shutdown(stack(sv), sc->tc);
		}
	}
}
