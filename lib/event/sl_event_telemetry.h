#ifndef SL_EVENT_TELEMETRY_H
#define SL_EVENT_TELEMETRY_H

/* lib/event's own telemetry (event_telemetry.c). */

#include "sl_lcore_types.h"

/* /sluice/events. Call once at start-up (lib/box); 0 or a negative errno. */
int
sl_event_telemetry_register(struct sl_dp *dp);

#endif
