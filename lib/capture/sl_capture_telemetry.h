#ifndef SL_CAPTURE_TELEMETRY_H
#define SL_CAPTURE_TELEMETRY_H

/* The capture's own telemetry (capture_telemetry.c). */

#include "sl_lcore_types.h"

/*
 * /sluice/capture_start, /sluice/capture, /sluice/capture_stop. Call once
 * at start-up (lib/box); 0 or a negative errno.
 */
int
sl_capture_telemetry_register(struct sl_dp *dp);

#endif
