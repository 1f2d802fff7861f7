#ifndef SL_CTL_TELEMETRY_H
#define SL_CTL_TELEMETRY_H

/* lib/ctl's own telemetry (ctl_telemetry.c). */

#include "sl_lcore_types.h"

/*
 * The config and the write commands: /sluice/config, reload,
 * reload_status, rollback, drain, maintenance, enable, breaker_open,
 * breaker_reset, add_backend, remove_backend, reset_counters, log_reopen.
 * Each runs under ctl's lock (tel_reg_ctl). Call once at start-up
 * (lib/box); 0 or a negative errno.
 */
int
sl_ctl_telemetry_register(struct sl_dp *dp);

#endif
