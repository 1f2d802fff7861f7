#ifndef SL_TCP_TELEMETRY_H
#define SL_TCP_TELEMETRY_H

/*
 * TCP's own telemetry (tcp_telemetry.c): the only code outside the stack's
 * input and output paths that reads a struct sl_tcp_conn's fields.
 */

#include <stddef.h>

#include <rte_telemetry.h>

#include "sl_lcore_types.h"

/* /sluice/conns. Call once at start-up (lib/box); 0 or a negative errno. */
int
sl_tcp_telemetry_register(struct sl_dp *dp);

/*
 * TCP's part of a /sluice/tcp row: connections by state and the stack's
 * counters, of worker `only` or (only < 0) summed over every worker. d is
 * a dict already started.
 */
void
sl_tcp_telemetry_stats(struct rte_tel_data *d, int only);

/*
 * Bytes of one connection slot, the per-connection cost /sluice/tcp and
 * /sluice/memory report (so that they need not know the struct).
 */
size_t
sl_tcp_telemetry_conn_bytes(void);

#endif
