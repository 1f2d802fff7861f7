#ifndef SL_STEER_H
#define SL_STEER_H

/*
 * Connection ownership across worker lcores (docs/architecture.md,
 * "Connection ownership and steering").
 *
 * A packet for a connection must be handled by the lcore that owns the
 * connection. With one worker that is always the case and nothing here
 * runs. With N > 1 the receiving lcore finds the owner of each packet:
 *  - a reply to an upstream connection: the worker whose ephemeral block
 *    holds its destination port (sl_tcp_eph_owner);
 *  - a client flow on a port whose RSS we programmed ("rss"): the receiving
 *    queue is the owner;
 *  - a client flow on any other port ("software"): a Toeplitz hash of the
 *    4-tuple with a fixed key, modulo the worker count, so every segment of
 *    a flow, its SYN included, meets the same lcore whatever queue it hit;
 *  - ARP: everyone (each worker keeps its own neighbour table);
 *  - anything else (ICMP, malformed frames): the receiving lcore.
 * A packet owned elsewhere goes to its owner over a single-producer,
 * single-consumer rte_ring for that (from, to) pair; the owner drains its
 * rings every loop turn and processes what it finds as if received.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_thash.h>

#include "sl_lcore_types.h"

struct rte_mbuf;
struct sl_steer_lcore;

/* Steering's slot on each lcore: set by sl_steer_setup() with several
 * workers, cleared by sl_steer_teardown(). */
extern struct sl_lcore_module sl_steer_module;

/* The lcore's steering state, NULL with one worker (no steering). */
static inline struct sl_steer_lcore *
sl_steer_of(const struct sl_lcore *lc)
{
	return lc->mod[sl_steer_module.id];
}

/* Entries of each per-pair ring; a full ring drops (steer_ring_full). */
#define SL_STEER_RING_SIZE 2048
/* Packets taken from one inbound ring per drain. */
#define SL_STEER_DRAIN_BURST 64

/*
 * Create the per-pair rings and each worker's steering state. Call after
 * sl_port_setup() (it reads each port's RSS mode and ethdev id) and before
 * the workers launch. A no-op with one worker.
 * Returns 0, or -1 with a message for the operator in `err`.
 */
int
sl_steer_setup(struct sl_dp *dp, char *err, size_t errlen);

/* Free what is still in the rings, the rings and the state. Workers stopped. */
void
sl_steer_teardown(struct sl_dp *dp);

/*
 * What the dataplane does on `port` (enum sl_steer_mode): SL_STEER_SINGLE with one
 * worker; with several, SL_STEER_RSS where port start-up programmed the
 * NIC's key and RETA (p->steer, lib/port/port_rss.c), SL_STEER_SOFTWARE
 * everywhere else.
 */
enum sl_steer_mode
sl_steer_port_mode(const struct sl_dp *dp, unsigned int port);

/* "single", "rss" or "software" (/sluice/ports "steering"). */
const char *
sl_steer_mode_name(enum sl_steer_mode mode);

/*
 * Receiving side, for a burst from `port`: counts rx, hands every packet
 * owned by another worker to it (ARP: a copy to every other worker), and
 * compacts `pkts` to the ones this lcore keeps. Returns how many it kept.
 */
uint16_t
sl_steer_rx(struct sl_lcore *lc, unsigned int port, struct rte_mbuf **pkts,
	    uint16_t n);

/*
 * Owner side: process what the other workers handed us, and queue for TX
 * the frames that workers with no queue on a port want sent on ours; at
 * most SL_STEER_DRAIN_BURST from each ring. Returns the number of packets
 * processed; *tx_taken is the number of frames queued for TX.
 */
uint32_t
sl_steer_drain(struct sl_lcore *lc, uint32_t *tx_taken);

/* The Toeplitz key the software owner uses (the common 40-byte default). */
extern const uint8_t sl_steer_rss_key[40];

/*
 * Software owner of a client flow, addresses and ports in host order
 * (src = the client). Pure: usable by tests without EAL.
 */
static inline unsigned int
sl_steer_flow_owner(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		    unsigned int n_workers)
{
	uint32_t tuple[RTE_THASH_V4_L4_LEN];

	tuple[0] = src;
	tuple[1] = dst;
	tuple[2] = (uint32_t)sport << 16 | dport;
	return rte_softrss(tuple, RTE_THASH_V4_L4_LEN, sl_steer_rss_key) %
	       n_workers;
}

#endif
