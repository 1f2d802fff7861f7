/*
 * The merge of a newly validated config onto the running one, over the
 * layout conf_layout.c gives a config at start-up (why indices never move:
 * see there). Settings the lcores were built from are refused; pools and
 * backends the new file keeps take their running index, those it drops
 * stay as tombstones, new ones take free room within the capacities.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_conf.h"
#include "conf_private.h"

/* Settings the lcores were built from: changing them needs a restart. */
static void
check_fixed(const struct sl_conf *run, const struct sl_conf *next,
	    struct sl_conf_diag *d)
{
	char p[PTR_MAX];

#define FIXED(field, ptr) \
	if (memcmp(&run->field, &next->field, sizeof(run->field)) != 0) \
		conf_err(d, ptr, "cannot change while running: restart Sluice to apply it")
	FIXED(runtime, "/runtime");
	FIXED(memory, "/memory");
	FIXED(arp, "/arp");
	FIXED(tcp, "/tcp");
	FIXED(access_log, "/access_log");
	FIXED(http.max_inflight, "/http/max_inflight");
	FIXED(http.upstream_pool_max, "/http/upstream_pool_max");
	FIXED(events_max, "/overload/events_max");
	FIXED(incidents, "/incidents");
#undef FIXED
	if (run->n_ports != next->n_ports)
		conf_err(d, "/ports", "the number of ports cannot change while running: "
			 "restart Sluice to apply it");
	for (unsigned int i = 0; i < run->n_ports && i < next->n_ports; i++) {
		const struct sl_conf_port *a = &run->ports[i], *b = &next->ports[i];

		conf_ptr_idx(p, "/ports", i);
		if (strcmp(a->name, b->name) != 0 || a->addr != b->addr ||
		    a->prefix_len != b->prefix_len || a->gateway != b->gateway ||
		    a->rx_desc != b->rx_desc || a->tx_desc != b->tx_desc ||
		    a->mtu != b->mtu)
			conf_err(d, p, "ports cannot change while running: restart "
				 "Sluice to apply it");
	}
	if (run->n_routes != next->n_routes)
		conf_err(d, "/routes", "IP routes cannot change while running: restart "
			 "Sluice to apply them");
	for (unsigned int i = 0; i < run->n_routes && i < next->n_routes; i++) {
		const struct sl_conf_route *a = &run->routes[i], *b = &next->routes[i];

		conf_ptr_idx(p, "/routes", i);
		if (a->prefix != b->prefix || a->prefix_len != b->prefix_len ||
		    a->via != b->via)
			conf_err(d, p, "IP routes cannot change while running: restart "
				 "Sluice to apply them");
	}
	if (run->n_listeners != next->n_listeners)
		conf_err(d, "/listeners", "listeners cannot be added or removed while "
			 "running (%u now, %u in the file): restart Sluice",
			 run->n_listeners, next->n_listeners);
	for (unsigned int i = 0; i < run->n_listeners && i < next->n_listeners; i++) {
		const struct sl_conf_listener *a = &run->listeners[i];
		const struct sl_conf_listener *b = &next->listeners[i];

		conf_ptr_idx(p, "/listeners", i);
		if (strcmp(a->name, b->name) != 0 || a->addr != b->addr ||
		    a->port != b->port || a->mode != b->mode)
			conf_err(d, p, "a listener's name, address, port and mode cannot "
				 "change while running: restart Sluice");
	}
}

static int
find_pool(const struct sl_conf *c, const char *name)
{
	for (unsigned int i = 0; i < c->n_pools; i++)
		if (!c->pools[i].removed && strcmp(c->pools[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A backend is the same one when its name, address and port all match. */
static int
find_backend(const struct sl_conf_pool *p, const struct sl_conf_backend *b,
	     const bool *taken)
{
	for (unsigned int i = 0; i < p->n_backends; i++)
		if (!taken[i] && strcmp(p->backends[i].name, b->name) == 0 &&
		    p->backends[i].addr == b->addr && p->backends[i].port == b->port)
			return (int)i;
	return -1;
}

/* Lay the new pool `np` over the running pool `rp` (same name) into `out`. */
static int
merge_pool(const struct sl_conf_pool *rp, const struct sl_conf_pool *np,
	   unsigned int np_idx, struct sl_conf_pool *out, struct sl_conf_diag *d)
{
	bool taken[SL_CONF_MAX_BACKENDS] = { false };
	unsigned int n = 0;
	char p[PTR_MAX];

	*out = *np;
	out->removed = false;
	out->backend_cap = rp->backend_cap;
	out->slot_base = rp->slot_base;
	out->backends = calloc(rp->backend_cap, sizeof(*out->backends));
	if (out->backends == NULL) {
		out->n_backends = 0;
		conf_err(d, "", "out of memory");
		return -1;
	}
	/* Running backends keep their index; those gone become tombstones. */
	for (unsigned int i = 0; i < rp->n_backends; i++) {
		int k = find_backend(np, &rp->backends[i], taken);

		if (k >= 0) {
			taken[k] = true;
			out->backends[i] = np->backends[k];
		} else {
			out->backends[i] = rp->backends[i];
			out->backends[i].removed = true;
		}
		n++;
	}
	for (unsigned int k = 0; k < np->n_backends; k++) {
		if (taken[k])
			continue;
		if (n == rp->backend_cap) {
			conf_ptr_idx(p, "/pools", np_idx);
			conf_err(d, p, "pool \"%s\" can hold %u backends without a "
				 "restart, removed ones included until then; this "
				 "reload needs more", np->name, rp->backend_cap);
			out->n_backends = n;
			return -1;
		}
		out->backends[n++] = np->backends[k];
	}
	out->n_backends = n;
	return 0;
}

/* A pool the new file no longer has: kept, all its backends removed. */
static int
tombstone_pool(const struct sl_conf_pool *rp, struct sl_conf_pool *out,
	       struct sl_conf_diag *d)
{
	*out = *rp;
	out->removed = true;
	out->backends = calloc(rp->backend_cap, sizeof(*out->backends));
	if (out->backends == NULL) {
		out->n_backends = 0;
		conf_err(d, "", "out of memory");
		return -1;
	}
	memcpy(out->backends, rp->backends, rp->n_backends * sizeof(*rp->backends));
	for (unsigned int i = 0; i < rp->n_backends; i++)
		out->backends[i].removed = true;
	return 0;
}

struct sl_conf *
sl_conf_merge(const struct sl_conf *run, struct sl_conf *next,
	      struct sl_conf_diag *d)
{
	unsigned int errors_before = d->n_errors, n = 0;
	int map[1024];
	struct sl_conf_pool *pools;
	char p[PTR_MAX];
	int rc = 0;

	check_fixed(run, next, d);
	if (next->n_pools > sizeof(map) / sizeof(map[0])) {
		conf_err(d, "/pools", "too many pools");
		sl_conf_free(next);
		return NULL;
	}
	pools = calloc(run->pool_cap, sizeof(*pools));
	if (pools == NULL) {
		conf_err(d, "", "out of memory");
		sl_conf_free(next);
		return NULL;
	}
	for (unsigned int j = 0; j < next->n_pools; j++)
		map[j] = -1;
	for (unsigned int i = 0; rc == 0 && i < run->n_pools; i++, n++) {
		int j = run->pools[i].removed ? -1 : find_pool(next, run->pools[i].name);

		if (j >= 0) {
			map[j] = (int)i;
			rc = merge_pool(&run->pools[i], &next->pools[j], (unsigned int)j,
					&pools[i], d);
		} else {
			rc = tombstone_pool(&run->pools[i], &pools[i], d);
		}
	}
	/* New pools take fresh indices and backend slots. */
	next->slots_used = run->slots_used;
	for (unsigned int j = 0; rc == 0 && j < next->n_pools; j++) {
		const struct sl_conf_pool *np = &next->pools[j];
		uint32_t cap = conf_layout_backend_cap(np->n_backends);

		if (map[j] >= 0)
			continue;
		conf_ptr_idx(p, "/pools", j);
		if (n == run->pool_cap || next->slots_used + cap > run->slot_cap) {
			conf_err(d, p, "no room for another pool without a restart "
				 "(%u pools and %u backend slots in use of %u and %u)",
				 n, next->slots_used, run->pool_cap, run->slot_cap);
			rc = -1;
			break;
		}
		pools[n] = *np;
		pools[n].backends = calloc(cap, sizeof(*np->backends));
		if (pools[n].backends == NULL) {
			conf_err(d, "", "out of memory");
			rc = -1;
			break;
		}
		memcpy(pools[n].backends, np->backends, np->n_backends * sizeof(*np->backends));
		pools[n].backend_cap = cap;
		pools[n].slot_base = next->slots_used;
		next->slots_used += cap;
		map[j] = (int)n++;
	}
	/* The file's pools are now laid out: swap them in, remap references. */
	for (unsigned int j = 0; j < next->n_pools; j++)
		free(next->pools[j].backends);
	free(next->pools);
	next->pools = pools;
	next->n_pools = n;
	for (unsigned int l = 0; rc == 0 && l < next->n_listeners && l < run->n_listeners; l++) {
		struct sl_conf_listener *nl = &next->listeners[l];

		if (nl->pool >= 0)
			nl->pool = map[nl->pool];
		for (unsigned int r = 0; r < nl->n_routes; r++)
			nl->routes[r].pool = map[nl->routes[r].pool];
		nl->route_cap = run->listeners[l].route_cap;
		nl->route_base = run->listeners[l].route_base;
		if (nl->n_routes + 1 > nl->route_cap) {
			conf_ptr_idx(p, "/listeners", l);
			conf_err(d, p, "listener \"%s\" can have %u routes without a "
				 "restart; the new config has %u", nl->name,
				 nl->route_cap - 1, nl->n_routes);
		}
	}
	next->pool_cap = run->pool_cap;
	next->slot_cap = run->slot_cap;
	next->route_slot_cap = run->route_slot_cap;
	next->route_slots_used = run->route_slots_used;
	next->generation = run->generation + 1;
	if (rc != 0 || d->n_errors > errors_before) {
		sl_conf_free(next);
		return NULL;
	}
	return next;
}
