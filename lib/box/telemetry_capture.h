#ifndef TELEMETRY_CAPTURE_H
#define TELEMETRY_CAPTURE_H

/* Internal to lib/telemetry: the packet capture commands. */

#include "sl_lcore_types.h"

/* /sluice/capture_start, /sluice/capture, /sluice/capture_stop. */
int
tel_capture_register(struct sl_dp *dp);

#endif
