#ifndef SL_BOX_H
#define SL_BOX_H

/*
 * The gateway as a whole: the telemetry commands about the box itself,
 * which read many libraries (/sluice/info, /sluice/ports, /sluice/lcores,
 * /sluice/memory, /sluice/schema), and the one place at start-up that
 * registers every library's own commands.
 */

#include "sl_lcore_types.h"

/*
 * Register every /sluice/... command with DPDK telemetry: the box's own and
 * each library's (sl_<module>_telemetry_register). Call once, after the
 * data plane is built and before the first client can connect. Returns 0
 * or a negative errno (some command could not be registered; the others
 * are).
 */
int
sl_box_telemetry_register(struct sl_dp *dp);

#endif
