#ifndef SL_DRAIN_TELEMETRY_H
#define SL_DRAIN_TELEMETRY_H

/* lib/drain's own telemetry (drain_telemetry.c). */

#include "sl_lcore_types.h"

/*
 * /sluice/ready, /sluice/drain_all. Call once at
 * start-up (lib/box); 0 or a negative errno.
 */
int
sl_drain_telemetry_register(struct sl_dp *dp);

#endif
