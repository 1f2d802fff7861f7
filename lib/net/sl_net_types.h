#ifndef SL_NET_TYPES_H
#define SL_NET_TYPES_H

#include <stdint.h>

#include <rte_ether.h>

struct rte_hash;
struct rte_mbuf;

enum sl_arp_state {
	SL_ARP_FREE = 0,
	SL_ARP_INCOMPLETE,   /* request sent, no answer yet; packets queue */
	SL_ARP_REACHABLE,    /* confirmed within the lifetime */
	SL_ARP_STALE,        /* lifetime over: still used while re-validated */
};

/* One neighbour. The owner lcore writes it; telemetry only reads. */
struct sl_arp_entry {
	uint32_t ip;                 /* host order; 0 when free */
	uint8_t state;
	uint8_t port;
	uint8_t probes;              /* requests sent in this resolution round */
	struct rte_ether_addr mac;
	uint64_t confirmed_tsc;      /* last time the neighbour proved itself */
	uint64_t expire_tsc;         /* REACHABLE until */
	uint64_t next_probe_tsc;     /* next request while INCOMPLETE/STALE */
};

/* A packet parked until its next hop resolves. */
struct sl_arp_pending {
	struct rte_mbuf *m;
	uint32_t next_hop;
	uint8_t port;
};

/* Slots of the ARP table's lookup cache (a power of 2). */
#define SL_ARP_CACHE_SLOTS 16

/* Per-lcore neighbour table: rte_hash maps IP -> slot in `entries`. */
struct sl_arp_table {
	struct rte_hash *index;
	uint32_t size;
	uint32_t n_used;
	uint64_t lifetime_tsc;
	uint64_t retry_tsc;
	uint32_t retries;
	uint32_t pending_max;
	uint32_t n_pending;
	struct sl_arp_pending *pending;
	struct sl_arp_entry *entries;
	/*
	 * Entries found recently, by a hash of their IP: every frame we send
	 * looks its next hop up, and most go to a few (the peers of the
	 * connected subnets, a router), so most skip rte_hash. A cached entry
	 * is used only while it still holds that IP and is not free.
	 */
	struct sl_arp_entry *cache[SL_ARP_CACHE_SLOTS];
};

/* What telemetry shows for one neighbour. */
struct sl_arp_info {
	uint32_t ip;
	uint8_t port;
	uint8_t state;
	struct rte_ether_addr mac;
	uint64_t age_ms;             /* since last confirmation */
};

#endif
