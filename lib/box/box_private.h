#ifndef BOX_PRIVATE_H
#define BOX_PRIVATE_H

/*
 * Internal to lib/box: what its command files share while they still live
 * here (the helpers every library shares are sl_telemetry.h).
 */

#include <stdbool.h>
#include <stdint.h>

#include "sl_telemetry.h"

struct sl_conf;

/*
 * "<pool>[,<page>]" (pool "*" = every pool, only when any_ok, and then a
 * bare "<page>" too): the pool index (-1 = every pool) and page. The whole
 * string is tried as a pool name first, so a pool named "3" or "a,1" still
 * works. 0, or -1 after tel_error.
 */
int
tel_parse_pool_page(const struct sl_conf *c, const char *params, bool required,
		    bool any_ok, int *pool, unsigned int *page, struct rte_tel_data *d);

/* Pools a listing shows: not removed by a reload. */
bool
tel_pool_listed(const struct sl_conf *c, unsigned int pool);

/*
 * Backends of a pool a listing shows, in index order, into idx (room for
 * the pool's n_backends): all but those a reload removed and that have
 * drained. Returns how many.
 */
unsigned int
tel_pool_backends(const struct sl_conf *c, unsigned int pool, uint16_t *idx);

/* Which pools a backend listing walks: one pool, or every listed pool the
 * filter (NULL: all) keeps. */
typedef bool (*tel_pool_filter)(const struct sl_conf *c, unsigned int pool);

/* One row of a backend listing: backend b of pool, numbered `row`. */
typedef void (*tel_backend_row)(const struct sl_conf *c, unsigned int pool,
				unsigned int b, unsigned int row, void *arg);

/*
 * The backends of pool `only` (>= 0), or of every listed pool `keep`
 * accepts, numbered on from `n` in listing order. With emit, called for the
 * numbers inside [first, last). Returns the number after the last backend
 * (n plus their count). idx: room for SL_CONF_MAX_BACKENDS + 1.
 */
unsigned int
tel_walk_backends(const struct sl_conf *c, int only, tel_pool_filter keep,
		  unsigned int n, unsigned int first, unsigned int last,
		  uint16_t *idx, tel_backend_row emit, void *arg);

/* Balancing and protection commands (telemetry_lb.c). */
int
tel_lb_register(struct sl_dp *dp);

/* The incident recorder's list and timelines (telemetry_incident.c). */
int
tel_incident_register(struct sl_dp *dp);

/* HTTP, routes and backends (telemetry_http.c). */
int
tel_http_register(struct sl_dp *dp);

/* telemetry_memory.c: /sluice/memory */
int
tel_memory_register(struct sl_dp *dp);

/* telemetry_schema.c: /sluice/schema, the counters' meanings */
int
tel_schema_register(struct sl_dp *dp);

/* telemetry_drain.c: /sluice/ready, /sluice/drain_all */
int
tel_drain_register(struct sl_dp *dp);

/* Add the live state of backend b of pool to a /sluice/backends entry. */
void
tel_lb_backend_state(struct rte_tel_data *e, const struct sl_conf *c,
		     unsigned int pool, unsigned int b);

#endif
