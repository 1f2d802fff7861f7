#ifndef SL_LCORE_TYPES_H
#define SL_LCORE_TYPES_H

#include <stdint.h>
#include <stdbool.h>

#include <rte_common.h>
#include <rte_ether.h>

#include "sl_core.h"
#include "sl_drop.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct sl_conf;
struct sl_arp_table;
struct sl_alog;
struct sl_upstream;
struct sl_event_log;
struct rte_ipv4_hdr;
struct rte_rcu_qsbr;
struct sl_route_table;
struct sl_tcp_thash;

/*
 * What one config generation gives the workers, published through dp->gen
 * and adopted by each worker at the top of its loop (RCU: the old one is
 * freed only after every worker has reported a quiescent state since).
 */
struct sl_gen {
	const struct sl_conf *conf;
	struct sl_route_table **routes;  /* by listener index; NULL for tcp mode */
};

#define SL_TXQ_MAX 64   /* packets buffered per port before a forced flush */

/*
 * How replies to an upstream connection reach the worker that opened it
 * (docs/architecture.md, "Upstream return traffic and lcore ownership").
 */
enum sl_steer_mode {
	SL_STEER_SINGLE,    /* one worker: every reply is already its own */
	SL_STEER_RSS,       /* our Toeplitz key and RETA; source port from rte_thash */
	SL_STEER_SOFTWARE,  /* owner read from the reply's port, handed over */
};

/* A configured port as the dataplane sees it: read-only after start. */
struct sl_port {
	char name[SL_NAME_MAX];
	uint16_t port_id;          /* DPDK ethdev id */
	uint16_t n_queues;         /* one RX and one TX queue per worker */
	struct rte_ether_addr mac;
	uint32_t addr;             /* host order */
	uint32_t mask;
	uint8_t prefix_len;
	uint16_t mtu;
	bool rx_ip_cksum_offload;  /* RX flags tell good/bad for us */
	bool tx_ip_cksum_offload;
	int socket;
	uint8_t steer;             /* enum sl_steer_mode, set at port start */
	struct sl_tcp_thash *rss;  /* key and RETA copy; NULL unless SL_STEER_RSS */
	/* net_af_xdp: the kernel sends what the TX ring holds only when the
	 * PMD's send() kick succeeds; the workers kick every millisecond so
	 * that frames left by a failed kick do not wait for the next burst. */
	bool tx_kick;
};

/* Counters one lcore keeps for one port. Only that lcore writes them. */
struct sl_port_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t icmp_echo_replies;
	uint64_t arp_requests_sent;
	uint64_t arp_replies_sent;
	uint64_t arp_replies_received;
	/* Several workers (lib/steer): packets this lcore received for another
	 * owner and handed over, packets it took from others as the owner,
	 * and TCP segments addressed to no worker's ephemeral block. */
	uint64_t steered_out;
	uint64_t steered_in;
	uint64_t steer_no_owner;
	uint64_t tx_handed_off;    /* frames given to the queue's worker to send */
	uint64_t drops[SL_DROP_MAX];
} __rte_cache_aligned;

struct sl_txq {
	uint16_t n;
	/* Set when this lcore has no queue on the port (fewer queues than
	 * workers): flushed frames go over this ring to the worker that
	 * owns queue (our index % queues), which sends them (lib/steer). */
	struct rte_ring *handoff;
	struct rte_mbuf *pkts[SL_TXQ_MAX];
};

/* Cycle accounting: the basis of busy %, as in VPP's "show runtime". */
struct sl_lcore_cycles {
	uint64_t busy;             /* TSC cycles in polls that found packets */
	uint64_t idle;             /* empty polls plus adaptive sleeps */
	uint64_t polls;
	uint64_t busy_polls;
	uint64_t packets;          /* packets received and processed */
	uint64_t sleeps;
};

/*
 * The gateway's lifecycle (dp->run_state), written by the control thread
 * only (lib/drain). Workers load it once per loop turn and act on a change
 * (worker.c): no lock, and nothing on the fast path but that one load.
 */
enum sl_run_state {
	SL_RUN_STARTING = 0,       /* workers not launched yet: not ready */
	SL_RUN_RUNNING,            /* accepting traffic: ready */
	SL_RUN_DRAINING,           /* refusing new connections, finishing the rest */
	SL_RUN_CLOSING,            /* grace over: reset what remains, then stop */
};

/*
 * A module with state of its own on every lcore (TCP, the proxies,
 * steering, the access log). lib/core names none of them: each declares one
 * of these, and its state for an lcore sits in lc->mod[] at the slot the
 * module's first sl_lcore_module_attach() gave it (as DPDK's mbuf dynamic
 * fields get their offset at registration). The module's own header reads
 * it back with one indexed load, lc->mod[m.id] (sl_tcp_of() and the like);
 * slot 0 is never given out and stays NULL, so a module that was never
 * attached reads NULL.
 */
#define SL_LCORE_MODULES 8

struct sl_lcore_module {
	const char *name;
	/* An operator reset the counters (sl_lcore_reset_counters, run by the
	 * lcore itself): zero this module's counters in ctx, keep its gauges.
	 * NULL when it has none. */
	void (*reset_counters)(void *ctx);
	uint8_t id;                /* slot in lc->mod[]; 0 until registered */
};

/*
 * The input of an IP protocol above lib/net, registered by the module that
 * owns it (sl_ipv4_proto_register); lib/net calls input(ctx, ...) for each
 * packet of that protocol that is for us.
 */
struct sl_ipv4_proto {
	void (*input)(void *ctx, unsigned int port, struct rte_mbuf *m,
		      struct rte_ipv4_hdr *ip, uint16_t hlen);
	void *ctx;
};

/* Everything one worker lcore owns. Never touched by another worker. */
struct sl_lcore {
	unsigned int lcore_id;
	uint16_t queue;            /* RX/TX queue index on every port */
	unsigned int worker_idx;
	struct rte_mempool *pool;  /* mbufs of this lcore's NUMA socket */
	struct sl_dp *dp;
	struct sl_arp_table *arp;
	/* TCP is layered above lib/net: IPv4 input reaches it through this
	 * (registered by lib/tcp; no handler: dropped as no listener). */
	struct sl_ipv4_proto ipv4_tcp;
	/* The modules' per-lcore state, by the id each registered (above). */
	void *mod[SL_LCORE_MODULES];
	uint64_t now;              /* TSC at the start of this loop turn */
	uint64_t tx_kick_last;     /* last AF_XDP TX kick (sl_port_tx_kick) */
	const struct sl_gen *gen;  /* the config generation this worker runs */
	uint32_t reset_req;        /* set by control: zero our counters */
	uint64_t next_tick;        /* next run of slow timers */
	/* drain (worker.c): what this worker has acted on, and for the
	 * control thread, its connections with work left (while draining) */
	uint32_t run_seen;         /* enum sl_run_state; release-stored */
	uint32_t drain_left;
	uint64_t drain_scan_tsc;   /* next count of drain_left */

	struct sl_lcore_cycles cycles;
	struct sl_port_stats stats[SL_MAX_PORTS];
	struct sl_txq txq[SL_MAX_PORTS];
} __rte_cache_aligned;

/* The dataplane: shared, read-mostly after start. */
struct sl_dp {
	const struct sl_conf *conf;      /* the running config (updated at reload) */
	const struct sl_gen *gen;        /* what workers adopt; RCU-published */
	struct rte_rcu_qsbr *qsbr;       /* one thread id per worker index */
	uint64_t tsc_hz;
	uint64_t tx_kick_tsc;            /* AF_XDP TX kick period (lib/port) */
	uint64_t start_tsc;
	uint64_t start_wall_us;          /* wall clock at start_tsc */
	struct sl_alog *alog;
	struct sl_upstream *up;          /* shared pool and backend state */
	struct sl_event_log *events;
	volatile bool stop;
	uint32_t run_state;              /* enum sl_run_state (lib/drain) */

	unsigned int n_ports;
	struct sl_port ports[SL_MAX_PORTS];

	unsigned int n_workers;
	struct sl_lcore *workers[RTE_MAX_LCORE];

	unsigned int n_pools;
	struct rte_mempool *pools[RTE_MAX_NUMA_NODES];
};

#endif
