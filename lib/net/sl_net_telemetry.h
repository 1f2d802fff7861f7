#ifndef SL_NET_TELEMETRY_H
#define SL_NET_TELEMETRY_H

/* lib/net's own telemetry (net_telemetry.c). */

#include "sl_lcore_types.h"

/* /sluice/arp. Call once at start-up (lib/box); 0 or a negative errno. */
int
sl_net_telemetry_register(struct sl_dp *dp);

#endif
