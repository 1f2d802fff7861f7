/*
 * The layout that keeps indices stable across reloads.
 *
 * Every lcore keeps state indexed by pool, by backend within its pool, and
 * by route slot (balancer cursors, idle connections, histograms, rate
 * buckets), and requests in flight hold those indices. So a reload never
 * renumbers: a pool keeps its index for the life of the process, a backend
 * its index in its pool, and what the new file drops stays behind as a
 * tombstone (removed, weight 0) that the dataplane drains and never picks
 * (conf_merge.c). Capacities are fixed at start-up with headroom, so that
 * the lcores' arrays never grow; a reload that would exceed them is refused
 * with an error that says so.
 */
#include "sl_conf.h"
#include "conf_private.h"

#define NEW_POOLS_ROOM      16   /* pools a reload may add */
#define NEW_POOL_SLOTS      16   /* backend slots reserved per added pool */

/* How many backends a pool of n may grow to without a restart. */
uint32_t
conf_layout_backend_cap(uint32_t n)
{
	uint32_t cap = n * 2 > n + 8 ? n * 2 : n + 8;

	return cap > SL_CONF_MAX_BACKENDS ? SL_CONF_MAX_BACKENDS : cap;
}

/* Route slots of a listener with n routes: its default pool's slot included. */
static uint32_t
route_cap_for(uint32_t n)
{
	return n * 2 + 2 > n + 17 ? n * 2 + 2 : n + 17;
}

void
sl_conf_layout_init(struct sl_conf *c)
{
	c->pool_cap = c->n_pools + NEW_POOLS_ROOM;
	c->slots_used = 0;
	for (unsigned int p = 0; p < c->n_pools; p++) {
		c->pools[p].backend_cap = conf_layout_backend_cap(c->pools[p].n_backends);
		c->pools[p].slot_base = c->slots_used;
		c->slots_used += c->pools[p].backend_cap;
	}
	c->slot_cap = c->slots_used + NEW_POOLS_ROOM * NEW_POOL_SLOTS;
	c->route_slots_used = 0;
	for (unsigned int l = 0; l < c->n_listeners; l++) {
		c->listeners[l].route_cap = route_cap_for(c->listeners[l].n_routes);
		c->listeners[l].route_base = c->route_slots_used;
		c->route_slots_used += c->listeners[l].route_cap;
	}
	c->route_slot_cap = c->route_slots_used;
	c->generation = 1;
}
