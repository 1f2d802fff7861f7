#ifndef SL_TELEMETRY_H
#define SL_TELEMETRY_H

#include "sl_lcore_types.h"

/*
 * Register every /sluice/... command with DPDK telemetry. The handlers run
 * on telemetry's control thread and only read per-lcore state (relaxed
 * loads of counters each owned by one writer): they never take a lock the
 * fast path takes. Returns 0 or a negative errno.
 */
int
sl_telemetry_register(struct sl_dp *dp);

#endif
