/* The L4 splice between a client and a backend connection. */
#include <errno.h>

#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "sl_alog.h"
#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_proxy.h"
#include "sl_lb.h"
#include "sl_session.h"
#include "sl_upstream.h"
#include "sl_timer.h"

const char *const sl_proxy_stat_names[] = {
#define SL_PROXY_STAT_NAME(name, desc) #name,
	SL_PROXY_STATS(SL_PROXY_STAT_NAME)
#undef SL_PROXY_STAT_NAME
};
const unsigned int sl_proxy_n_stats = RTE_DIM(sl_proxy_stat_names);

static const struct sl_session_ops client_ops;
static const struct sl_session_ops server_ops;

static inline uint64_t
now_ms(void)
{
	return rte_rdtsc() / (rte_get_tsc_hz() / 1000);
}

/* One access-log record per session, when it ends. */
static void
session_log(struct sl_proxy *px, const struct sl_l4_session *ss)
{
	const struct sl_dp *dp = px->tcp->lc->dp;
	const struct sl_conf_pool *pool = &px->conf->pools[ss->pool];
	uint64_t now = rte_rdtsc(), per_us = dp->tsc_hz / 1000000;
	struct sl_alog_rec r = {
		.start_us = dp->start_wall_us + (ss->start_tsc - dp->start_tsc) / per_us,
		.bytes_in = ss->bytes_c2s,
		.bytes_out = ss->bytes_s2c,
		.client_ip = ss->client_ip,
		.client_port = ss->client_port,
		.total_us = (uint32_t)((now - ss->start_tsc) / per_us),
		.upstream_us = ss->connected_tsc ?
			(uint32_t)((now - ss->connected_tsc) / per_us) : 0,
		.listener = ss->listener,
		.route = UINT16_MAX,
		.term = ss->term,
	};

	if (sl_alog_lcore_of(px->tcp->lc) == NULL)
		return;
	if (ss->backend != UINT16_MAX) {
		r.backend_ip = pool->backends[ss->backend].addr;
		r.backend_port = pool->backends[ss->backend].port;
	}
	sl_alog_submit(sl_alog_lcore_of(px->tcp->lc), &r);
}

static unsigned int
session_pool(const struct sl_proxy *px __rte_unused, const struct sl_l4_session *ss)
{
	return ss->pool;
}

/* Tell the control thread how the connect went: once per session. */
static void
session_judge(struct sl_proxy *px, struct sl_l4_session *ss, enum sl_up_kind k)
{
	struct sl_upstream *up = px->tcp->lc->dp->up;

	if (!(ss->flags & SL_L4F_LB) || (ss->flags & SL_L4F_JUDGED))
		return;
	ss->flags |= SL_L4F_JUDGED;
	if (!(ss->flags & SL_L4F_CONNECTED))
		sl_up_pending(up, session_pool(px, ss), ss->backend, -1);
	sl_up_report(up, px->tcp->lc->worker_idx, session_pool(px, ss), ss->backend,
		     k, 0, 0, (ss->flags & SL_L4F_PROBE) ? SL_UP_OUT_PROBE : 0);
}

static void
session_free(struct sl_proxy *px, struct sl_l4_session *ss)
{
	if (ss->flags & SL_L4F_LB) {
		struct sl_upstream *up = px->tcp->lc->dp->up;

		session_judge(px, ss, SL_UP_ABANDONED);
		sl_up_inflight(up, session_pool(px, ss), ss->backend, -1);
		sl_up_conns(up, session_pool(px, ss), ss->backend, -1);
		ss->flags &= (uint8_t)~SL_L4F_LB;
	}
	session_log(px, ss);
	sl_timer_cancel(&px->tcp->wheel, &ss->idle_timer);
	ss->client = NULL;
	ss->server = NULL;
	ss->free_next = px->free_head;
	px->free_head = (uint32_t)(ss - px->sessions);
	px->stats.l4_active--;
}

/* Both halves gone: the session ends. */
static void
session_maybe_free(struct sl_proxy *px, struct sl_l4_session *ss)
{
	if (ss->client == NULL && ss->server == NULL)
		session_free(px, ss);
}

/* Reset both sides now (errors, idle timeout), recording why. */
static void
session_abort(struct sl_proxy *px, struct sl_l4_session *ss, uint8_t term)
{
	ss->term = term;
	if (ss->client != NULL)
		sl_session_abort(ss->client);
	if (ss->server != NULL)
		sl_session_abort(ss->server);
	ss->client = ss->server = NULL;
	session_free(px, ss);
}

/*
 * Move what `src` received to `dst`'s send queue, no further than dst's
 * room (sl_session_room: bytes, and the mbufs they take): the rest waits
 * in src's receive queue, which closes src's window. Passes the FIN on
 * once src's data is all through.
 */
static void
pump(struct sl_l4_session *ss, struct sl_session *src, struct sl_session *dst,
     uint8_t eof_flag, uint64_t *counter, bool force)
{
	struct sl_mq q;
	struct rte_mbuf *m;

	if (dst == NULL) {
		/* The other side is gone: whatever arrives is discarded. */
		sl_session_recv(src, UINT32_MAX, &q);
		sl_mq_free(&q);
		sl_session_flush(src);
		return;
	}
	if (!sl_session_can_send(dst))
		return;
	while (sl_session_rx_mbufs(src) > 0) {
		uint32_t room = force ? UINT32_MAX : sl_session_room(dst);

		if (room == 0)
			break;
		sl_session_recv(src, room, &q);
		*counter += q.bytes;
		if (src == ss->client)
			ss->bytes_c2s += q.bytes;
		else
			ss->bytes_s2c += q.bytes;
		while ((m = sl_mq_pop(&q)) != NULL)
			sl_session_send(dst, m);
	}
	if (sl_session_rx_mbufs(src) > 0)
		sl_session_want_writable(dst);
	ss->last_active_ms = now_ms();
	if (sl_session_eof(src) && !(ss->flags & eof_flag)) {
		ss->flags |= eof_flag;
		sl_session_shutdown(dst);
	} else {
		sl_session_flush(dst);
	}
	sl_session_flush(src);   /* window update, if the window reopened */
}

static void
pump_c2s(struct sl_l4_session *ss, bool force)
{
	if (ss->client != NULL)
		pump(ss, ss->client, ss->server, SL_L4F_CLIENT_EOF,
		     &ss->px->stats.l4_bytes_c2s, force);
}

static void
pump_s2c(struct sl_l4_session *ss, bool force)
{
	if (ss->server != NULL)
		pump(ss, ss->server, ss->client, SL_L4F_SERVER_EOF,
		     &ss->px->stats.l4_bytes_s2c, force);
}

static void
client_readable(struct sl_session *c __rte_unused, void *app)
{
	struct sl_l4_session *ss = app;

	if (ss->server == NULL || (ss->flags & SL_L4F_CONNECTED))
		pump_c2s(ss, false);
}

static void
client_writable(struct sl_session *c __rte_unused, void *app)
{
	pump_s2c(app, false);
}

static void
client_closed(struct sl_session *c __rte_unused, void *app,
	      enum sl_session_close why)
{
	struct sl_l4_session *ss = app;
	struct sl_proxy *px = ss->px;

	/*
	 * A normal close can come while the client's last bytes still wait
	 * for room on the server side: hand them over now (bounded by the
	 * receive buffer), with the FIN, before the connection goes.
	 */
	if (why == SL_SESSION_CLOSE_NORMAL)
		pump_c2s(ss, true);
	ss->client = NULL;
	if (why != SL_SESSION_CLOSE_NORMAL) {
		px->stats.l4_client_reset++;
		session_abort(px, ss, SL_ALOG_TERM_CLIENT_RESET);
		return;
	}
	session_maybe_free(px, ss);
}

static void
server_established(struct sl_session *c __rte_unused, void *app)
{
	struct sl_l4_session *ss = app;

	session_judge(ss->px, ss, SL_UP_OK);
	ss->flags |= SL_L4F_CONNECTED;
	ss->connected_tsc = rte_rdtsc();
	pump_c2s(ss, false);
}

static void
server_readable(struct sl_session *c __rte_unused, void *app)
{
	pump_s2c(app, false);
}

static void
server_writable(struct sl_session *c __rte_unused, void *app)
{
	pump_c2s(app, false);
}

static void
server_closed(struct sl_session *c __rte_unused, void *app,
	      enum sl_session_close why)
{
	struct sl_l4_session *ss = app;
	struct sl_proxy *px = ss->px;

	if (why == SL_SESSION_CLOSE_NORMAL)
		pump_s2c(ss, true);   /* see client_closed */
	ss->server = NULL;
	switch (why) {
	case SL_SESSION_CLOSE_NORMAL:
		session_maybe_free(px, ss);
		return;
	case SL_SESSION_CLOSE_REFUSED:
		px->stats.l4_connect_refused++;
		ss->term = SL_ALOG_TERM_CONNECT_REFUSED;
		session_judge(px, ss, SL_UP_CONNECT_FAIL);
		break;
	case SL_SESSION_CLOSE_TIMEOUT:
		if (!(ss->flags & SL_L4F_CONNECTED)) {
			px->stats.l4_connect_timeout++;
			ss->term = SL_ALOG_TERM_CONNECT_TIMEOUT;
			session_judge(px, ss, SL_UP_CONNECT_FAIL);
		} else {
			px->stats.l4_backend_reset++;
			ss->term = SL_ALOG_TERM_BACKEND_RESET;
		}
		break;
	case SL_SESSION_CLOSE_RESET:
		px->stats.l4_backend_reset++;
		ss->term = SL_ALOG_TERM_BACKEND_RESET;
		break;
	}
	/* The client is closed promptly, never left hanging. */
	session_abort(px, ss, ss->term);
}

static const struct sl_session_ops client_ops = {
	.readable = client_readable,
	.writable = client_writable,
	.closed = client_closed,
};

static const struct sl_session_ops server_ops = {
	.established = server_established,
	.readable = server_readable,
	.writable = server_writable,
	.closed = server_closed,
};

static void
idle_fire(struct sl_timer *t, void *ctx)
{
	struct sl_l4_session *ss = container_of(t, struct sl_l4_session, idle_timer);
	struct sl_proxy *px = ss->px;
	uint64_t idle_ms = (uint64_t)px->conf->listeners[ss->listener].idle_timeout_s * 1000;
	uint64_t quiet = now_ms() - ss->last_active_ms;

	(void)ctx;
	if (quiet < idle_ms) {
		sl_timer_arm(&px->tcp->wheel, &ss->idle_timer, idle_ms - quiet);
		return;
	}
	px->stats.l4_idle_timeouts++;
	session_abort(px, ss, SL_ALOG_TERM_IDLE_TIMEOUT);
}

static int
l4_accept(struct sl_session *c, void *arg)
{
	struct sl_l4_listener *ll = arg;
	struct sl_proxy *px = ll->px;
	const struct sl_conf_listener *l = &px->conf->listeners[ll->listener];
	const struct sl_conf_pool *pool = &px->conf->pools[l->pool];
	struct sl_upstream *up = px->tcp->lc->dp->up;
	const struct sl_conf_backend *b;
	struct sl_l4_session *ss;
	enum sl_up_refusal why;
	uint32_t client_ip = sl_session_remote_addr(c);
	bool probe = false;
	int k;

	if (px->free_head == UINT32_MAX) {
		px->stats.l4_no_session++;
		return -1;
	}
	/* The pool's policy, limits, breakers and health, as in HTTP mode. */
	k = sl_up_pick(up, px->conf, (unsigned int)l->pool, &px->cursors[l->pool],
		       sl_lb_hash(&client_ip, 4, 0x17u), &px->rng, -1, &why, &probe);
	if (k < 0) {
		px->stats.l4_refused_limits++;
		return -1;
	}
	b = &pool->backends[k];
	ss = &px->sessions[px->free_head];
	px->free_head = ss->free_next;
	px->stats.l4_active++;
	px->stats.l4_sessions++;
	ss->px = px;
	ss->client = c;
	ss->flags = 0;
	ss->listener = ll->listener;
	ss->pool = (uint16_t)l->pool;
	ss->backend = (uint16_t)k;
	ss->last_active_ms = now_ms();
	ss->start_tsc = rte_rdtsc();
	ss->connected_tsc = 0;
	ss->bytes_c2s = ss->bytes_s2c = 0;
	ss->client_ip = client_ip;
	ss->client_port = sl_session_remote_port(c);
	ss->term = SL_ALOG_TERM_DONE;
	sl_session_bind(c, &client_ops, ss);
	ss->flags = SL_L4F_LB | (probe ? SL_L4F_PROBE : 0);
	sl_up_inflight(up, (unsigned int)l->pool, (unsigned int)k, 1);
	sl_up_conns(up, (unsigned int)l->pool, (unsigned int)k, 1);
	sl_up_pending(up, (unsigned int)l->pool, (unsigned int)k, 1);
	ss->server = sl_session_connect(px->tcp, b->addr, b->port,
					pool->connect_timeout_ms, &server_ops, ss);
	if (ss->server == NULL) {
		session_judge(px, ss, SL_UP_CONNECT_FAIL);
		px->stats.l4_connect_failed++;
		sl_session_bind(c, NULL, NULL);
		ss->client = NULL;
		ss->term = SL_ALOG_TERM_CONNECT_FAILED;
		session_free(px, ss);
		return -1;
	}
	/* What waits for the backend is held for this client: it counts
	 * against the client's address (tcp.max_addr_mbufs). */
	sl_session_bill_to(ss->server, c);
	sl_timer_init(&ss->idle_timer, idle_fire);
	sl_timer_arm(&px->tcp->wheel, &ss->idle_timer,
		     (uint64_t)l->idle_timeout_s * 1000);
	return 0;
}

struct sl_proxy *
sl_proxy_create(struct sl_tcp_stack *tcp, const struct sl_conf *conf, int socket)
{
	struct sl_proxy *px = rte_zmalloc_socket("sl_proxy", sizeof(*px),
						 RTE_CACHE_LINE_SIZE, socket);

	if (px == NULL)
		goto nomem;
	px->tcp = tcp;
	px->conf = conf;
	/* Each session holds two connections. */
	px->max_sessions = conf->tcp.max_conns / 2;
	px->sessions = rte_zmalloc_socket("sl_l4_sessions",
					  (size_t)px->max_sessions * sizeof(*px->sessions),
					  RTE_CACHE_LINE_SIZE, socket);
	px->cursors = rte_zmalloc_socket("sl_l4_lb", (conf->pool_cap + 1) *
					 sizeof(struct sl_up_cursor), 0, socket);
	if (px->sessions == NULL || px->cursors == NULL)
		goto nomem;
	px->rng = 0x2545f4914f6cdd1dull ^ rte_rdtsc();
	px->free_head = UINT32_MAX;
	for (uint32_t i = px->max_sessions; i-- > 0; ) {
		px->sessions[i].free_next = px->free_head;
		px->free_head = i;
	}
	for (unsigned int i = 0; i < conf->n_listeners; i++) {
		struct sl_l4_listener *ll;

		if (conf->listeners[i].mode != SL_MODE_TCP)
			continue;
		if (px->n_listeners == SL_PROXY_MAX_LISTENERS) {
			rte_errno = ENOSPC;
			goto fail;
		}
		ll = &px->listeners[px->n_listeners++];
		ll->px = px;
		ll->listener = (uint16_t)i;
		ll->sl.accept = l4_accept;
		ll->sl.arg = ll;
		if (sl_session_listen(tcp, conf->listeners[i].addr,
				      conf->listeners[i].port, &ll->sl) != 0) {
			rte_errno = ENOSPC;
			goto fail;
		}
	}
	if (tcp->lc != NULL && sl_lcore_module_attach(tcp->lc, &sl_proxy_module, px) != 0) {
		rte_errno = ENOSPC;
		goto fail;
	}
	return px;
nomem:
	rte_errno = ENOMEM;
fail:
	sl_proxy_free(px);
	return NULL;
}

void
sl_proxy_adopt(struct sl_proxy *px, const struct sl_conf *conf)
{
	const struct sl_conf *old = px->conf;

	px->conf = conf;
	for (unsigned int p = 0; p < conf->n_pools; p++)
		if (p >= old->n_pools || old->pools[p].n_backends != conf->pools[p].n_backends ||
		    old->pools[p].policy != conf->pools[p].policy)
			memset(&px->cursors[p], 0, sizeof(px->cursors[p]));
}

void
sl_proxy_free(struct sl_proxy *px)
{
	if (px == NULL)
		return;
	if (px->tcp != NULL)
		sl_lcore_module_detach(px->tcp->lc, &sl_proxy_module, px);
	rte_free(px->sessions);
	rte_free(px->cursors);
	rte_free(px);
}
