#ifndef SL_UPSTREAM_TELEMETRY_H
#define SL_UPSTREAM_TELEMETRY_H

/*
 * lib/upstream's own telemetry (upstream_telemetry.c): balancing and
 * protection, and the pool and backend listing helpers other libraries'
 * commands share (the HTTP proxy's /sluice/backends).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_telemetry.h>

#include "sl_lcore_types.h"

struct sl_conf;

/*
 * /sluice/pools, /sluice/breakers, /sluice/health, /sluice/set_weight.
 * Call once at start-up (lib/box), before any other library's command that
 * uses the helpers below; 0 or a negative errno.
 */
int
sl_upstream_telemetry_register(struct sl_dp *dp);

/*
 * "<pool>[,<page>]" (pool "*" = every pool, only when any_ok, and then a
 * bare "<page>" too): the pool index (-1 = every pool) and page. The whole
 * string is tried as a pool name first, so a pool named "3" or "a,1" still
 * works. 0, or -1 after tel_error.
 */
int
sl_upstream_tel_parse_pool_page(const struct sl_conf *c, const char *params, bool required,
		    bool any_ok, int *pool, unsigned int *page, struct rte_tel_data *d);

/* Pools a listing shows: not removed by a reload. */
bool
sl_upstream_tel_pool_listed(const struct sl_conf *c, unsigned int pool);

/*
 * Backends of a pool a listing shows, in index order, into idx (room for
 * the pool's n_backends): all but those a reload removed and that have
 * drained. Returns how many.
 */
unsigned int
sl_upstream_tel_pool_backends(const struct sl_conf *c, unsigned int pool, uint16_t *idx);

/* Which pools a backend listing walks: one pool, or every listed pool the
 * filter (NULL: all) keeps. */
typedef bool (*sl_upstream_tel_pool_filter)(const struct sl_conf *c, unsigned int pool);

/* One row of a backend listing: backend b of pool, numbered `row`. */
typedef void (*sl_upstream_tel_backend_row)(const struct sl_conf *c, unsigned int pool,
				unsigned int b, unsigned int row, void *arg);

/*
 * The backends of pool `only` (>= 0), or of every listed pool `keep`
 * accepts, numbered on from `n` in listing order. With emit, called for the
 * numbers inside [first, last). Returns the number after the last backend
 * (n plus their count). idx: room for SL_CONF_MAX_BACKENDS + 1.
 */
unsigned int
sl_upstream_tel_walk_backends(const struct sl_conf *c, int only, sl_upstream_tel_pool_filter keep,
		  unsigned int n, unsigned int first, unsigned int last,
		  uint16_t *idx, sl_upstream_tel_backend_row emit, void *arg);

/* Add the live state of backend b of pool to a /sluice/backends entry. */
void
sl_upstream_tel_backend_state(struct rte_tel_data *e, const struct sl_conf *c,
		     unsigned int pool, unsigned int b);

#endif
