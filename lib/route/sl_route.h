#ifndef SL_ROUTE_H
#define SL_ROUTE_H

/*
 * HTTP routing for one listener, compiled at config load into hash tables
 * so that a lookup costs a few hash probes, never a scan of the route list.
 *
 * Precedence: an exact Host beats a wildcard (*.example.com, the longest
 * suffix first), which beats routes without a host. Within that, the
 * longest path_prefix wins; among routes with the same host and prefix,
 * the first in config order whose methods include the request's. If
 * nothing matches, the listener's own pool (when it has one) is the
 * default; otherwise there is no route (404).
 */

#include <stddef.h>
#include <stdint.h>

#include "sl_conf_types.h"

struct sl_route_table;

/* Build from a validated listener. NULL on allocation failure. */
struct sl_route_table *
sl_route_compile(const struct sl_conf_listener *l);

void
sl_route_free(struct sl_route_table *t);

/*
 * Route index (into the listener's routes), SL_ROUTE_DEFAULT for the
 * listener's pool, or SL_ROUTE_NONE. `host` may carry a port and any case;
 * `path` is the request target's path (query allowed: it is not matched).
 */
#define SL_ROUTE_DEFAULT (-2)
#define SL_ROUTE_NONE    (-1)

int
sl_route_lookup(const struct sl_route_table *t, const char *host, size_t host_len,
		const char *path, size_t path_len, unsigned int method);

#endif
