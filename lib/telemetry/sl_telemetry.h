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

/*
 * Shutdown: refuse every /sluice/ command from now on (they answer
 * {"error": "the gateway is shutting down"}) and return once none is
 * running, so that the caller may free what handlers read. Call before
 * freeing workers, ports, pools or configs. Safe before registration.
 */
void
sl_telemetry_quiesce(void);

/*
 * Wait until every config-reading /sluice/ command that began before the
 * call has returned (the caller's own command excepted: commands that call
 * here are not readers). lib/ctl calls it before freeing a replaced config.
 */
void
sl_telemetry_synchronize(void);

/*
 * Join the config's read side from a thread that is not a telemetry
 * handler (the incident recorder's snapshots on the main thread): a reload
 * then waits for it before freeing the config it replaces. Hold it briefly
 * and never while taking ctl's lock. Returns the token for read_end.
 */
unsigned int
sl_telemetry_read_begin(void);

void
sl_telemetry_read_end(unsigned int token);

#endif
