#ifndef BOX_PRIVATE_H
#define BOX_PRIVATE_H

/*
 * Internal to lib/box: its command files' registrations (the helpers every
 * library shares are sl_telemetry.h).
 */

#include "sl_lcore_types.h"

/* box_memory.c: /sluice/memory */
int
sl_box_memory_register(struct sl_dp *dp);

/* box_schema.c: /sluice/schema, the counters' meanings */
int
sl_box_schema_register(struct sl_dp *dp);

#endif
