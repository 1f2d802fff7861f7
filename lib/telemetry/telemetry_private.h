#ifndef TELEMETRY_PRIVATE_H
#define TELEMETRY_PRIVATE_H

/* Internal to lib/telemetry. */

#include <rte_telemetry.h>

#include "sl_lcore_types.h"

/* Balancing and protection commands (telemetry_lb.c). */
int
tel_lb_register(struct sl_dp *dp);

/* Add the live state of backend b of pool to a /sluice/backends entry. */
void
tel_lb_backend_state(struct rte_tel_data *e, unsigned int pool, unsigned int b);

#endif
