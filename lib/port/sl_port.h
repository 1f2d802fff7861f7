#ifndef SL_PORT_H
#define SL_PORT_H

#include <stddef.h>

#include "sl_lcore_types.h"

struct sl_conf;

/*
 * Create the mbuf pools (one per NUMA socket that has a worker), then bind,
 * configure and start every port named in the config with one RX and one TX
 * queue per worker. Workers must already be in dp->workers.
 * Returns 0, or -1 with a message for the operator in `err`.
 */
int
sl_port_setup(struct sl_dp *dp, const struct sl_conf *conf, char *err,
	      size_t errlen);

/* Stop and close every port, then free the pools. Safe on partial setup. */
void
sl_port_teardown(struct sl_dp *dp);

/* Mbufs of all pools: total and currently out of the pools. */
void
sl_port_mbuf_usage(const struct sl_dp *dp, uint64_t *total, uint64_t *in_use);

/* "up"/"down", speed in Mbps and duplex, without waiting. */
const char *
sl_port_link(uint16_t port_id, uint32_t *speed_mbps, int *full_duplex);

#endif
