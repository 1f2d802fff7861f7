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
#include "sl_session.h"
#include "lg.h"

static const struct sl_session_ops server_ops;

static void
slot_put(struct lg_server *sv, struct lg_sconn *sc)
{
	sc->ss = NULL;
	sc->free_next = sv->free_head;
	sv->free_head = (uint32_t)(sc - sv->conns);
	sv->st.active--;
}

/* Queue response bytes while the send buffer has room. */
static void
pump(struct lg_server *sv, struct lg_sconn *sc)
{
	struct sl_session *ss = sc->ss;
	uint32_t room;

	while (sc->tx_left > 0 && (room = sl_session_room(ss)) > 0) {
		uint32_t n = RTE_MIN(RTE_MIN(sc->tx_left, sv->resp_len - sc->tx_off), room);
		uint32_t w = sl_session_write(ss, sv->lc->pool, sv->resp + sc->tx_off, n);

		sc->tx_off = sc->tx_off + w == sv->resp_len ? 0 : sc->tx_off + w;
		sc->tx_left -= w;
		sv->st.bytes_out += w;
		if (unlikely(w < n)) {
			if (!sl_session_can_send(ss))
				return;
			sv->st.no_mbuf++;
			break;   /* retried when an ACK makes the queue writable */
		}
	}
	if (sc->tx_left == 0 && sc->close_after && !sc->closing) {
		sc->closing = true;
		sl_session_shutdown(ss);   /* after the queued bytes */
		return;
	}
	if (sc->tx_left > 0)
		sl_session_want_writable(ss);
	sl_session_flush(ss);
}

static void
s_readable(struct sl_session *ss, void *app)
{
	struct lg_sconn *sc = app;
	struct lg_server *sv = sc->sv;
	struct sl_mq q;
	struct rte_mbuf *m;
	bool bad = false;

	sl_session_recv(ss, UINT32_MAX, &q);
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
		sl_session_abort(ss);   /* no callback */
		slot_put(sv, sc);
		return;
	}
	if (sl_session_eof(ss))
		sc->close_after = true;
	pump(sv, sc);
}

static void
s_writable(struct sl_session *ss, void *app)
{
	struct lg_sconn *sc = app;

	(void)ss;
	pump(sc->sv, sc);
}

static void
s_closed(struct sl_session *ss, void *app, enum sl_session_close why)
{
	struct lg_sconn *sc = app;

	(void)ss;
	(void)why;
	slot_put(sc->sv, sc);
}

static const struct sl_session_ops server_ops = {
	.readable = s_readable,
	.writable = s_writable,
	.closed = s_closed,
};

static int
s_accept(struct sl_session *ss, void *arg)
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
	sc->ss = ss;
	sc->tx_left = 0;
	sc->tx_off = 0;
	sc->close_after = false;
	sc->req_close = false;
	sc->closing = false;
	sl_http_parser_init_request(&sc->parser, &sv->lim);
	sl_session_bind(ss, &server_ops, sc);
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
	sv->listener.accept = s_accept;
	sv->listener.arg = sv;
	for (unsigned int i = 0; i < o->n_listen; i++)
		if (sl_session_listen(sl_tcp_of(lc), addr, o->listen[i], &sv->listener) != 0) {
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

		if (sc->ss == NULL)
			continue;
		if (abort) {
			sl_session_abort(sc->ss);
			slot_put(sv, sc);
		} else if (!sc->closing) {
			sc->closing = true;
			sc->close_after = true;
			sl_session_shutdown(sc->ss);
		}
	}
}
