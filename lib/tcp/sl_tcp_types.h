#ifndef SL_TCP_TYPES_H
#define SL_TCP_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_common.h>

#include "sl_conf_types.h"
#include "sl_tcp_proto.h"
#include "sl_timer_types.h"

struct rte_mbuf;
struct rte_hash;
struct sl_lcore;
struct sl_conf_tcp;

enum sl_tcp_state {
	SL_TCP_CLOSED = 0,
	SL_TCP_SYN_SENT,
	SL_TCP_SYN_RECV,
	SL_TCP_ESTABLISHED,
	SL_TCP_FIN_WAIT_1,
	SL_TCP_FIN_WAIT_2,
	SL_TCP_CLOSING,
	SL_TCP_TIME_WAIT,
	SL_TCP_CLOSE_WAIT,
	SL_TCP_LAST_ACK,
	SL_TCP_STATE_MAX
};

/* Why a connection ended, as told to its application. */
enum sl_tcp_close_reason {
	SL_TCP_CLOSE_NORMAL = 0,  /* both FINs exchanged */
	SL_TCP_CLOSE_RESET,       /* the peer sent RST */
	SL_TCP_CLOSE_REFUSED,     /* RST in answer to our SYN */
	SL_TCP_CLOSE_TIMEOUT,     /* connect timeout or retransmissions exhausted */
};

/* A FIFO of payload-only mbufs, linked through the sl_tcp mbuf dynfield. */
struct sl_mq {
	struct rte_mbuf *head;
	struct rte_mbuf *tail;
	uint32_t bytes;
	uint32_t n;
};

struct sl_tcp_conn;

/*
 * What the stack tells the application owning a connection. Callbacks run
 * on the owner lcore, never inside packet processing: input and timers only
 * mark a connection's events, and sl_tcp_dispatch() (once per loop turn,
 * after the RX burst and the timers) calls the callbacks, so that no
 * callback ever re-enters TCP while it is in the middle of a segment. They
 * may send, receive, shut down or abort any connection of that lcore, and
 * open new ones. After `closed` the connection is gone: the application
 * must drop its pointer.
 */
struct sl_tcp_app_ops {
	void (*established)(struct sl_tcp_conn *c);
	void (*readable)(struct sl_tcp_conn *c);   /* data queued, or FIN */
	void (*writable)(struct sl_tcp_conn *c);   /* send queue fell below half */
	void (*closed)(struct sl_tcp_conn *c, enum sl_tcp_close_reason why);
};

/* A listener: accept() binds ops/app to a new connection, or refuses (-1). */
struct sl_tcp_listener {
	uint32_t addr;
	uint16_t port;
	int (*accept)(struct sl_tcp_conn *c, void *arg);
	void *arg;
};

#define SL_TCPF_TS          0x0001   /* timestamps negotiated */
#define SL_TCPF_SACK        0x0002   /* SACK negotiated */
#define SL_TCPF_WS          0x0004   /* window scaling negotiated */
#define SL_TCPF_ACK_NOW     0x0008   /* send an ACK at the end of input */
#define SL_TCPF_FIN_QUEUED  0x0010   /* app shut down: FIN after the data */
#define SL_TCPF_FIN_SENT    0x0020
#define SL_TCPF_FIN_RCVD    0x0040
#define SL_TCPF_PASSIVE     0x0080
#define SL_TCPF_RTT_TIMING  0x0100   /* rtt_seq is being timed */
#define SL_TCPF_IN_RECOVERY 0x0200   /* NewReno/SACK fast recovery */
#define SL_TCPF_PERSIST     0x0400   /* rtx timer is the zero-window probe */
#define SL_TCPF_NOTIFY_W    0x0800   /* tell the app when the queue drains */
#define SL_TCPF_DEAD        0x1000   /* freed; guards re-entrant callers */
#define SL_TCPF_TW          0x2000   /* TIME_WAIT timer running */
#define SL_TCPF_APP_ACK     0x4000   /* the app acks what it still awaits */
#define SL_TCPF_ZOMBIE      0x8000   /* closed, out of the table; the slot
                                        waits for its app to be told */

/* Events waiting for sl_tcp_dispatch() (c->events), in the order told. */
#define SL_TCP_EV_ACCEPT      0x01   /* handshake done: ask the listener */
#define SL_TCP_EV_ESTABLISHED 0x02
#define SL_TCP_EV_READABLE    0x04
#define SL_TCP_EV_WRITABLE    0x08
#define SL_TCP_EV_CLOSED      0x10   /* reason in c->close_why */

/* Queue packing modes (c->qflags): set while a queue holds small
 * segments, so each new one is copied into the tail (tcp_mem.c). */
#define SL_TCPQ_RX_PACK     0x01
#define SL_TCPQ_TX_PACK     0x02

/* No address entry (connections we opened, unless billed to a client). */
#define SL_TCP_NO_ADDR      UINT32_MAX

/* One connection: its definition is TCP's and the session layer's alone
 * (sl_tcp_conn.h); everyone else holds a struct sl_session. */
struct sl_tcp_conn;

/*
 * Mbufs held on behalf of one remote address on one lcore: its client
 * connections and the connections billed to them. Free when conns is 0.
 */
struct sl_tcp_addr {
	uint32_t addr;
	uint32_t conns;
	uint32_t mbufs;
};

/* Entries per bucket of the address table; two buckets per address. */
#define SL_TCP_ADDR_BUCKET 8

struct sl_tcp_stats {
#define SL_TCP_STAT(name, desc) uint64_t name;
#include "tcp_stats.def"
#undef SL_TCP_STAT
	uint64_t state[SL_TCP_STATE_MAX]; /* gauges: connections per state */
	uint64_t active;                  /* gauge: allocated connections */
	uint64_t half_open;               /* gauge: SYN_RECV */
} __rte_cache_aligned;

#define SL_TCP_MAX_LISTENERS 64

/* One lcore's TCP: its connections, timers and counters. */
struct sl_tcp_stack {
	struct sl_lcore *lc;
	const struct sl_conf_tcp *conf;  /* -> conf_copy: tcp settings never
	                                    change at reload, the config does */
	struct sl_conf_tcp conf_copy;
	struct rte_hash *table;          /* 4-tuple -> connection index */
	struct sl_tcp_conn *conns;
	uint32_t max_conns;
	uint32_t free_head;              /* UINT32_MAX when empty */
	uint32_t time_wait;              /* connections in TIME_WAIT */
	uint16_t eph_lo, eph_hi, eph_next; /* this lcore's ephemeral ports */
	uint16_t ip_id;
	uint32_t isn_secret;
	uint64_t tsc_per_ms;
	uint64_t tsc_per_us;
	const struct sl_tcp_cc_ops *cc;
	/* buffer accounting (tcp_mem.c) */
	uint32_t mbuf_unit;              /* bytes charged per mbuf held: its buffer */
	uint32_t rcv_slack;              /* overhead allowed before packing */
	uint32_t snd_slack;
	uint32_t max_conn_mbufs;         /* UINT32_MAX: no cap */
	uint32_t max_addr_mbufs;
	uint64_t mbufs_held;             /* by every connection of this lcore */
	struct sl_tcp_addr *addrs;       /* buckets, then one overflow entry */
	uint32_t addr_bmask;             /* buckets - 1 */
	uint32_t addr_seed[2];           /* secret: keys the two buckets */
	struct sl_syncookie cookies;
	unsigned int n_listeners;
	bool draining;                   /* listeners refuse: sl_tcp_drain() */
	struct sl_tcp_listener listeners[SL_TCP_MAX_LISTENERS];
	struct sl_timer_wheel wheel;
	/* Connections with events for their apps, oldest first. */
	TAILQ_HEAD(sl_tcp_ev_list, sl_tcp_conn) events;
	struct sl_tcp_stats stats;
};

#endif
