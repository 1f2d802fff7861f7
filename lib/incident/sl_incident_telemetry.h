#ifndef SL_INCIDENT_TELEMETRY_H
#define SL_INCIDENT_TELEMETRY_H

/* lib/incident's own telemetry (incident_telemetry.c). */

#include "sl_lcore_types.h"

/*
 * /sluice/incidents, /sluice/incident. Call once at
 * start-up (lib/box); 0 or a negative errno.
 */
int
sl_incident_telemetry_register(struct sl_dp *dp);

#endif
