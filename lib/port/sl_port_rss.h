#ifndef SL_PORT_RSS_H
#define SL_PORT_RSS_H

/*
 * Per-port choice of how upstream replies reach their owner (enum sl_steer_mode):
 * with two or more workers, a port whose NIC hashes IPv4 TCP with Toeplitz
 * and lets us set the key and the RETA gets our key (from lib/tcp's
 * sl_tcp_thash) and a round-robin RETA, and sources ports are then chosen so
 * that replies come back to the opener's queue. Any other port is steered in
 * software. Control path only.
 */

#include <stdint.h>

#include <rte_ethdev.h>

#include "sl_lcore_types.h"

/*
 * In place of rte_eth_dev_configure(): fill `ec` for RSS when the port
 * hashes IPv4 TCP (with our key when key and RETA look settable), configure,
 * and configure again without RSS if the PMD refuses it. Sets p->steer to
 * SL_STEER_SINGLE (one queue: nothing to program, whatever the number of
 * workers; lib/steer decides what that port needs) or SL_STEER_SOFTWARE
 * until sl_port_rss_start() has programmed and read back the RETA. Returns
 * rte_eth_dev_configure()'s result. `info` is the port's info before
 * configure.
 */
int
sl_port_rss_configure(struct sl_port *p, const struct rte_eth_dev_info *info,
		      uint16_t nq, struct rte_eth_conf *ec);

/*
 * After rte_eth_dev_start(): program the RETA round-robin over the queues,
 * read key and RETA back, and only when both match set SL_STEER_RSS with
 * p->rss holding their copy. Otherwise the port stays SL_STEER_SOFTWARE
 * (any RSS the NIC does still spreads inbound flows). Logs the outcome.
 */
void
sl_port_rss_start(struct sl_port *p);

/* Release p->rss (after the workers stopped). */
void
sl_port_rss_free(struct sl_port *p);

#endif
