/*
 * The idle upstream pool: keep-alive backend connections between
 * exchanges, per backend (global slot index), newest last. A connection
 * is pooled when its response ended cleanly and its backend still takes
 * requests, taken again by the next exchange to that backend, and closed
 * when it talks while idle, when it has been idle past upstream_idle_s,
 * or when its backend is removed by a reload.
 */
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "sl_conf.h"
#include "sl_core.h"
#include "sl_lcore_types.h"
#include "sl_session.h"
#include "sl_timer.h"
#include "sl_upstream.h"
#include "proxy_http_private.h"

static const struct sl_session_ops idle_ops;

int
h1_idle_init(struct sl_h1_proxy *hp, int socket)
{
	const struct sl_conf *conf = hp->conf;
	uint32_t n_backends = conf->slot_cap;

	hp->idle = rte_zmalloc_socket("sl_h1_idle", (n_backends + 1) * sizeof(*hp->idle),
				      0, socket);
	if (hp->idle == NULL)
		return -1;
	for (uint32_t b = 0; b < n_backends; b++) {
		hp->idle[b].hp = hp;
		hp->idle[b].g = b;
		hp->idle[b].conns = rte_zmalloc_socket("sl_h1_idle",
			(conf->http.upstream_pool_max + 1) * sizeof(void *), 0, socket);
		hp->idle[b].since_tsc = rte_zmalloc_socket("sl_h1_idle",
			(conf->http.upstream_pool_max + 1) * sizeof(uint64_t), 0, socket);
		if (hp->idle[b].conns == NULL || hp->idle[b].since_tsc == NULL)
			return -1;
	}
	return 0;
}

void
h1_idle_free(struct sl_h1_proxy *hp)
{
	if (hp->tcp != NULL)
		sl_timer_cancel(&hp->tcp->wheel, &hp->idle_sweep);
	if (hp->idle != NULL)
		for (uint32_t b = 0; b < hp->n_backend_hists; b++) {
			rte_free(hp->idle[b].conns);
			rte_free(hp->idle[b].since_tsc);
		}
	rte_free(hp->idle);
	hp->idle = NULL;
}

struct sl_session *
h1_idle_take(struct sl_h1_proxy *hp, uint32_t g)
{
	struct sl_h1_idle *idle = &hp->idle[g];
	uint64_t max_idle = (uint64_t)hp->conf->http.upstream_idle_s *
			    hp->tcp->lc->dp->tsc_hz;
	struct sl_session *c;

	while (idle->n > 0) {
		c = idle->conns[--idle->n];
		if (rte_rdtsc() - idle->since_tsc[idle->n] < max_idle &&
		    sl_session_can_send(c))
			return c;
		sl_session_bind(c, NULL, NULL);
		sl_session_shutdown(c);
		h1_lb_conn_g(hp, g, -1);
	}
	return NULL;
}

void
h1_idle_release(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, bool reusable)
{
	struct sl_session *up = x->up;
	uint32_t g;
	struct sl_h1_idle *idle;

	x->up = NULL;
	if (up == NULL)
		return;
	g = hp->pool_base[x->pool] + x->backend;
	idle = &hp->idle[g];
	/* A draining or removed backend gets no new requests: do not pool. */
	if (reusable && idle->n < hp->conf->http.upstream_pool_max &&
	    SL_UP_LOAD(hp->up->pools[x->pool].b[x->backend].admin) == SL_UP_ADMIN_ENABLED &&
	    sl_session_can_send(up) && sl_session_rx_mbufs(up) == 0) {
		sl_session_bind(up, &idle_ops, idle);
		sl_session_bill_to(up, NULL);
		idle->since_tsc[idle->n] = rte_rdtsc();
		idle->conns[idle->n++] = up;
		return;
	}
	sl_session_bind(up, NULL, NULL);
	h1_lb_conn_g(hp, g, -1);
	/* Bytes after a complete response break the protocol, and nobody
	 * will read them: a FIN would leave them queued, and a backend that
	 * keeps sending holds the connection in FIN_WAIT_2 with a full
	 * window (its own FIN cannot get in) for good. Reset it. */
	if (reusable && sl_session_rx_mbufs(up) == 0)
		sl_session_shutdown(up);
	else
		sl_session_abort(up);
}

void
h1_idle_close_slot(struct sl_h1_proxy *hp, uint32_t g)
{
	struct sl_h1_idle *idle = &hp->idle[g];

	while (idle->n > 0) {
		struct sl_session *c = idle->conns[--idle->n];

		sl_session_bind(c, NULL, NULL);
		sl_session_shutdown(c);
		h1_lb_conn_g(hp, g, -1);
		hp->stats.upstream_idle_closed++;
	}
}

/* ---- session callbacks of pooled connections -------------------------- */

static void
idle_remove(struct sl_h1_idle *idle, struct sl_session *c)
{
	for (uint32_t i = 0; i < idle->n; i++)
		if (idle->conns[i] == c) {
			idle->conns[i] = idle->conns[idle->n - 1];
			idle->since_tsc[i] = idle->since_tsc[idle->n - 1];
			idle->n--;
			return;
		}
}

/* A backend that talks while idle is out of step: retire it. */
static void
idle_readable(struct sl_session *c, void *app)
{
	struct sl_h1_idle *idle = app;

	h1_lb_conn_g(idle->hp, idle->g, -1);
	idle_remove(idle, c);
	sl_session_bind(c, NULL, NULL);
	sl_session_abort(c);
}

static void
idle_closed(struct sl_session *c, void *app, enum sl_session_close why __rte_unused)
{
	struct sl_h1_idle *idle = app;

	h1_lb_conn_g(idle->hp, idle->g, -1);
	idle_remove(idle, c);
}

static const struct sl_session_ops idle_ops = {
	.readable = idle_readable,
	.closed = idle_closed,
};

/* Once a second: close pooled connections idle past upstream_idle_s. */
static void
idle_sweep_fire(struct sl_timer *t, void *ctx)
{
	struct sl_h1_proxy *hp = container_of(t, struct sl_h1_proxy, idle_sweep);
	uint64_t max_idle = (uint64_t)hp->conf->http.upstream_idle_s *
			    hp->tcp->lc->dp->tsc_hz;
	uint64_t now = rte_rdtsc();

	(void)ctx;
	for (uint32_t g = 0; g < hp->n_backend_hists; g++) {
		struct sl_h1_idle *idle = &hp->idle[g];

		for (uint32_t i = 0; i < idle->n; ) {
			struct sl_session *c = idle->conns[i];

			if (now - idle->since_tsc[i] < max_idle) {
				i++;
				continue;
			}
			idle->conns[i] = idle->conns[idle->n - 1];
			idle->since_tsc[i] = idle->since_tsc[idle->n - 1];
			idle->n--;
			sl_session_bind(c, NULL, NULL);
			sl_session_shutdown(c);
			h1_lb_conn_g(hp, g, -1);
			hp->stats.upstream_idle_closed++;
		}
	}
	sl_timer_arm(&hp->tcp->wheel, &hp->idle_sweep, h1_ms_ticks(1000));
}

void
h1_idle_start(struct sl_h1_proxy *hp)
{
	struct sl_tcp_stack *tcp = hp->tcp;

	sl_timer_init(&hp->idle_sweep, idle_sweep_fire);
	sl_timer_arm(&tcp->wheel, &hp->idle_sweep, h1_ms_ticks(1000));
}
