/*
 * The per-lcore HTTP proxy's life: create it over the lcore's TCP stack
 * (every table sized from the config layout's capacities, so that a
 * reload never reallocates), adopt a reloaded config between bursts, and
 * free it. Nothing here is on the per-packet path.
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "sl_conf.h"
#include "sl_core.h"
#include "sl_lcore.h"
#include "sl_proxy_http.h"
#include "sl_session.h"
#include "sl_timer.h"
#include "sl_upstream.h"
#include "proxy_http_private.h"

const char *const sl_h1_stat_names[] = {
#define SL_H1_STAT_NAME(name, desc) #name,
	SL_H1_STATS(SL_H1_STAT_NAME)
#undef SL_H1_STAT_NAME
};
const unsigned int sl_h1_n_stats = RTE_DIM(sl_h1_stat_names);

/* The parser's limits, from hp->conf. */
static void
h1_limits(struct sl_h1_proxy *hp)
{
	const struct sl_conf *conf = hp->conf;

	hp->limits = (struct sl_http_limits){
		.max_request_line = conf->http.max_request_line,
		.max_header_bytes = conf->http.max_header_bytes,
		.max_headers = conf->http.max_headers,
		.max_body = conf->http.max_body,
	};
}

/* Slot bases of pools and listeners, from the layout of hp->conf. */
static void
h1_layout(struct sl_h1_proxy *hp)
{
	const struct sl_conf *conf = hp->conf;

	for (unsigned int p = 0; p < conf->n_pools && p < conf->pool_cap; p++)
		hp->pool_base[p] = conf->pools[p].slot_base;
	for (unsigned int i = 0; i < conf->n_listeners; i++)
		hp->route_base[i] = conf->listeners[i].route_base;
}

/* Clients and exchanges, on their free lists; the slow-head tables. */
static int
h1_alloc_slots(struct sl_h1_proxy *hp, int socket)
{
	const struct sl_conf *conf = hp->conf;

	hp->max_clients = conf->tcp.max_conns / 2;
	hp->max_xchgs = RTE_MIN(conf->http.max_inflight, hp->max_clients);
	hp->clients = rte_zmalloc_socket("sl_h1_clients",
		(size_t)hp->max_clients * sizeof(*hp->clients), RTE_CACHE_LINE_SIZE,
		socket);
	hp->xchgs = rte_zmalloc_socket("sl_h1_xchgs",
		(size_t)hp->max_xchgs * sizeof(*hp->xchgs), RTE_CACHE_LINE_SIZE,
		socket);
	/* Twice the clients, so that a probe window is rarely full. */
	hp->slow_addr_mask = (uint32_t)rte_align32pow2(2 * hp->max_clients) - 1;
	hp->slow_addrs = rte_zmalloc_socket("sl_h1_slow",
		((size_t)hp->slow_addr_mask + 1) * sizeof(*hp->slow_addrs), 0, socket);
	hp->slow_addr_seed = (uint32_t)rte_rand();
	hp->slow_first = hp->slow_last = SLOW_NONE;
	if (hp->clients == NULL || hp->xchgs == NULL || hp->slow_addrs == NULL)
		return -1;
	hp->free_clients = hp->free_xchgs = UINT32_MAX;
	for (uint32_t i = hp->max_clients; i-- > 0; ) {
		hp->clients[i].free_next = hp->free_clients;
		hp->free_clients = i;
	}
	for (uint32_t i = hp->max_xchgs; i-- > 0; ) {
		hp->xchgs[i].free_next = hp->free_xchgs;
		hp->free_xchgs = i;
	}
	return 0;
}

/* Slot bases and the latency histograms, by route and by backend. */
static int
h1_alloc_hists(struct sl_h1_proxy *hp, int socket)
{
	const struct sl_conf *conf = hp->conf;
	uint32_t n_backends = hp->n_backend_hists;

	/* Sized to the layout's capacities so that a reload never reallocates. */
	hp->pool_base = rte_zmalloc_socket("sl_h1", (conf->pool_cap + 1) * sizeof(uint32_t),
					   0, socket);
	hp->route_base = rte_zmalloc_socket("sl_h1", (conf->n_listeners + 1) *
					    sizeof(uint32_t), 0, socket);
	if (hp->pool_base == NULL || hp->route_base == NULL)
		return -1;
	h1_layout(hp);
	hp->n_route_hists = conf->route_slot_cap;
	hp->route_total = rte_zmalloc_socket("sl_h1_hist", (hp->n_route_hists + 1) *
					     sizeof(struct sl_hist), 0, socket);
	hp->route_upstream = rte_zmalloc_socket("sl_h1_hist", (hp->n_route_hists + 1) *
						sizeof(struct sl_hist), 0, socket);
	hp->backend_total = rte_zmalloc_socket("sl_h1_hist", (n_backends + 1) *
					       sizeof(struct sl_hist), 0, socket);
	hp->backend_upstream = rte_zmalloc_socket("sl_h1_hist", (n_backends + 1) *
						  sizeof(struct sl_hist), 0, socket);
	if (hp->route_total == NULL || hp->route_upstream == NULL ||
	    hp->backend_total == NULL || hp->backend_upstream == NULL)
		return -1;
	return 0;
}

/* Listen on every HTTP listener of the config; -1 when one cannot be. */
static int
h1_listen(struct sl_h1_proxy *hp, const struct sl_gen *gen)
{
	const struct sl_conf *conf = hp->conf;

	for (unsigned int i = 0; i < conf->n_listeners; i++) {
		struct sl_h1_listener *hl = &hp->listeners[hp->n_listeners];

		if (conf->listeners[i].mode != SL_MODE_HTTP)
			continue;
		if (hp->n_listeners == SL_PROXY_MAX_LISTENERS)
			return -1;
		hl->hp = hp;
		hl->listener = (uint16_t)i;
		/* Route tables are read-only and shared by every worker: they
		 * belong to the config generation, which frees them. */
		hl->routes = gen->routes[i];
		if (hl->routes == NULL)
			return -1;
		hl->sl.accept = h1_accept;
		hl->sl.arg = hl;
		if (sl_session_listen(hp->tcp, conf->listeners[i].addr,
				      conf->listeners[i].port, &hl->sl) != 0)
			return -1;
		hp->n_listeners++;
	}
	return 0;
}

struct sl_h1_proxy *
sl_h1_create(struct sl_tcp_stack *tcp, const struct sl_gen *gen, int socket)
{
	struct sl_h1_proxy *hp;

	hp = rte_zmalloc_socket("sl_h1", sizeof(*hp), RTE_CACHE_LINE_SIZE, socket);
	if (hp == NULL)
		goto nomem;
	hp->tcp = tcp;
	hp->conf = gen->conf;
	h1_limits(hp);
	hp->n_backend_hists = gen->conf->slot_cap;
	if (h1_alloc_slots(hp, socket) != 0 || h1_alloc_hists(hp, socket) != 0 ||
	    h1_idle_init(hp, socket) != 0)
		goto nomem;
	if (h1_listen(hp, gen) != 0)
		goto fail;
	if (h1_lb_init(hp, socket) != 0 || h1_health_init(hp, socket) != 0)
		goto nomem;
	if (tcp->lc != NULL && sl_lcore_module_attach(tcp->lc, &sl_h1_module, hp) != 0) {
		rte_errno = ENOSPC;
		goto fail;
	}
	h1_idle_start(hp);
	return hp;
nomem:
	rte_errno = ENOMEM;
fail:
	sl_h1_free(hp);
	return NULL;
}

void
sl_h1_free(struct sl_h1_proxy *hp)
{
	if (hp == NULL)
		return;
	if (hp->tcp != NULL)
		sl_lcore_module_detach(hp->tcp->lc, &sl_h1_module, hp);
	h1_idle_free(hp);
	/* Exchanges hold only mbufs the TCP stack frees with its queues,
	 * plus their own to_up queues. */
	if (hp->xchgs != NULL)
		for (uint32_t i = 0; i < hp->max_xchgs; i++)
			if (hp->xchgs[i].to_up.n > 0)
				sl_mq_free(&hp->xchgs[i].to_up);
	if (hp->clients != NULL)
		for (uint32_t i = 0; i < hp->max_clients; i++)
			if (hp->clients[i].conn != NULL)
				sl_mq_free(&hp->clients[i].pending);
	h1_health_free(hp);
	h1_lb_free(hp);
	rte_free(hp->route_base);
	rte_free(hp->route_total);
	rte_free(hp->route_upstream);
	rte_free(hp->backend_total);
	rte_free(hp->backend_upstream);
	rte_free(hp->pool_base);
	rte_free(hp->xchgs);
	rte_free(hp->slow_addrs);
	rte_free(hp->clients);
	rte_free(hp);
}

static bool
routes_equal(const struct sl_conf_listener *a, const struct sl_conf_listener *b)
{
	if (a->n_routes != b->n_routes || a->pool != b->pool)
		return false;
	for (unsigned int r = 0; r < a->n_routes; r++) {
		const struct sl_conf_http_route *x = &a->routes[r], *y = &b->routes[r];

		if (strcmp(x->host, y->host) != 0 ||
		    strcmp(x->path_prefix, y->path_prefix) != 0 ||
		    x->methods != y->methods || x->pool != y->pool ||
		    x->rate_limit.rps != y->rate_limit.rps ||
		    x->rate_limit.burst != y->rate_limit.burst)
			return false;
	}
	return true;
}

void
sl_h1_adopt(struct sl_h1_proxy *hp, const struct sl_gen *gen)
{
	const struct sl_conf *old = hp->conf, *conf = gen->conf;

	hp->conf = conf;
	h1_limits(hp);
	h1_layout(hp);
	h1_lb_keys(hp);
	for (unsigned int i = 0; i < hp->n_listeners; i++) {
		unsigned int l = hp->listeners[i].listener;
		uint32_t base = hp->route_base[l], cap = conf->listeners[l].route_cap;

		hp->listeners[i].routes = gen->routes[l];
		if (routes_equal(&old->listeners[l], &conf->listeners[l]))
			continue;
		/* Route slots are by position: a changed route list starts its
		 * latency histograms and rate buckets afresh. */
		memset(&hp->route_total[base], 0, cap * sizeof(struct sl_hist));
		memset(&hp->route_upstream[base], 0, cap * sizeof(struct sl_hist));
		memset(&hp->route_buckets[base], 0, cap * sizeof(hp->route_buckets[0]));
		h1_lb_route_buckets(hp, l);
	}
	for (unsigned int p = 0; p < conf->n_pools; p++) {
		const struct sl_conf_pool *cp = &conf->pools[p];

		/* A balancer's position means nothing over a new backend set. */
		if (p >= old->n_pools || old->pools[p].n_backends != cp->n_backends ||
		    old->pools[p].policy != cp->policy)
			memset(&hp->cursors[p], 0, sizeof(hp->cursors[p]));
		for (unsigned int b = 0; b < cp->n_backends; b++)
			if (cp->backends[b].removed)
				h1_idle_close_slot(hp, cp->slot_base + b);
	}
	h1_health_adopt(hp, old);
}
