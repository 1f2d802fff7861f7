#ifndef SL_NET_H
#define SL_NET_H

/*
 * Ethernet, ARP, IPv4 and ICMP for one lcore. Every function takes the lcore
 * that owns the packet and either sends it, hands it on, or counts a drop.
 * Packets always start at their Ethernet header.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>

#include "sl_lcore_types.h"
#include "sl_net_types.h"

struct sl_conf_arp;

/* Handle a burst received on `port`. Consumes every packet. */
void
sl_net_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf **pkts,
	     uint16_t n);

/*
 * The same, for packets whose rx was already counted where they were
 * received (several workers: the receiver counts, the owner processes).
 */
void
sl_net_deliver(struct sl_lcore *lc, unsigned int port, struct rte_mbuf **pkts,
	       uint16_t n);

/*
 * Validate an IPv4 header in `len` bytes. Returns the header length, or -1
 * with *why set. `cksum_ok` skips the software checksum when the NIC vouched.
 * Pure: no EAL needed, usable by tests on raw buffers.
 */
int
sl_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t len, bool cksum_ok,
	      enum sl_drop_reason *why);

/*
 * The module above lib/net that takes IP protocol `proto` on lc registers
 * its input here (input NULL: none, its packets are dropped). lib/net calls
 * input(ctx, port, m, ip, hlen) for each packet of it addressed to us, the
 * Ethernet padding trimmed, hlen the IP header's length; input consumes m.
 * Only IPPROTO_TCP so far: -EPROTONOSUPPORT for others, else 0.
 */
int
sl_ipv4_proto_register(struct sl_lcore *lc, uint8_t proto,
		       void (*input)(void *ctx, unsigned int port,
				     struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
				     uint16_t hlen),
		       void *ctx);

/*
 * Route and send an IPv4 packet whose IP header is final but for its
 * checksum (filled here, for the port the route picks). Data starts at the
 * Ethernet header, which is filled in once the next hop resolves.
 */
void
sl_ipv4_output(struct sl_lcore *lc, struct rte_mbuf *m);

/* Send a finished IPv4 packet on `port` towards `next_hop` (known route). */
void
sl_ipv4_send(struct sl_lcore *lc, unsigned int port, uint32_t next_hop,
	     struct rte_mbuf *m);

/* Fill and, unless the port offloads it, compute the IPv4 header checksum. */
void
sl_ipv4_finish(const struct sl_port *port, struct rte_mbuf *m,
	       struct rte_ipv4_hdr *ip);

/* ARP: per-lcore table lifecycle. NULL with rte_errno set on failure. */
struct sl_arp_table *
sl_arp_create(const char *name, int socket, const struct sl_conf_arp *conf,
	      uint64_t tsc_hz);

void
sl_arp_free(struct sl_arp_table *t);

/* A received ARP frame: merge the sender, answer a request for us. */
void
sl_arp_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m);

/*
 * A copy of an ARP frame another worker received (several workers): merge
 * the sender into our table as sl_arp_input() would, answer nothing and
 * count nothing (the receiver answered and counted). Consumes m.
 */
void
sl_arp_learn(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m);

/* Put the L2 header on `m` for `next_hop` and send it, or park it. */
void
sl_arp_output(struct sl_lcore *lc, unsigned int port, uint32_t next_hop,
	      struct rte_mbuf *m);

/* Retries, expiry and re-validation; call often, it rate-limits itself. */
void
sl_arp_tick(struct sl_lcore *lc);

/* Gratuitous ARP announcing our address on a port. */
void
sl_arp_announce(struct sl_lcore *lc, unsigned int port);

/* Copy up to `max` live entries for telemetry; returns the count. */
unsigned int
sl_arp_snapshot(const struct sl_arp_table *t, uint64_t now, uint64_t tsc_hz,
		struct sl_arp_info *out, unsigned int max);

const char *
sl_arp_state_name(unsigned int state);

/* Free every parked packet (shutdown). */
void
sl_arp_flush_pending(struct sl_arp_table *t);

#endif
