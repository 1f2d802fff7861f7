#ifndef SL_PROXY_TELEMETRY_H
#define SL_PROXY_TELEMETRY_H

/* lib/proxy's own telemetry (proxy_telemetry.c). */

#include "sl_lcore_types.h"

/*
 * /sluice/http, /sluice/routes, /sluice/backends, /sluice/latency and
 * /sluice/tcp. Call once at start-up (lib/box), after
 * sl_upstream_telemetry_register (its listing helpers); 0 or a negative
 * errno.
 */
int
sl_proxy_telemetry_register(struct sl_dp *dp);

#endif
