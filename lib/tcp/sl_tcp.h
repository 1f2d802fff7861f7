#ifndef SL_TCP_H
#define SL_TCP_H

/*
 * The per-lcore userspace TCP. One struct sl_tcp_stack per worker; every
 * function here runs on that worker only (no locks, no malloc after
 * sl_tcp_stack_create()).
 */

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "sl_lcore_types.h"
#include "sl_tcp_types.h"

/*
 * TCP's slot on each lcore (struct sl_lcore_module): sl_tcp_stack_create()
 * attaches the stack to its lcore and registers it as lib/net's IPPROTO_TCP
 * input; sl_tcp_stack_free() takes both back.
 */
extern struct sl_lcore_module sl_tcp_module;

/* The lcore's TCP stack, NULL if none. */
static inline struct sl_tcp_stack *
sl_tcp_of(const struct sl_lcore *lc)
{
	return lc->mod[sl_tcp_module.id];
}

/* Register the mbuf dynamic field the queues use. Once, after EAL init. */
int
sl_tcp_global_init(void);

/*
 * The ephemeral split, one formula for both sides of it: the range
 * [lo, hi] is cut into `n_workers` contiguous blocks of `span` ports, block
 * w for worker w (ports past n_workers * span belong to nobody and are never
 * used). sl_tcp_stack_create() hands out the blocks; the steering step reads
 * the owner of a reply back from its destination port in O(1).
 */
static inline uint32_t
sl_tcp_eph_span(uint16_t lo, uint16_t hi, unsigned int n_workers)
{
	return ((uint32_t)hi - lo + 1) / n_workers;
}

/* The worker whose block holds `port`; -1 when it is in no block. */
static inline int
sl_tcp_eph_owner(uint16_t lo, uint32_t span, unsigned int n_workers,
		 uint16_t port)
{
	uint32_t off = (uint32_t)port - lo;

	if (port < lo || off >= span * n_workers)
		return -1;
	return (int)(off / span);
}

/*
 * Create a stack for `lc`: `conf->max_conns` connections preallocated on
 * `socket`, ephemeral ports [lo, hi] split into `n_workers` blocks of which
 * this lcore gets block `worker_idx`; lc's TCP from then on (sl_tcp_of, and
 * its IPv4 input), unless lc is NULL (a stack for a test, with no lcore).
 * NULL with rte_errno set on failure.
 */
struct sl_tcp_stack *
sl_tcp_stack_create(struct sl_lcore *lc, const struct sl_conf_tcp *conf,
		    int socket, unsigned int worker_idx, unsigned int n_workers);

/* Free every connection (no callbacks, no packets) and the stack. */
void
sl_tcp_stack_free(struct sl_tcp_stack *s);

int
sl_tcp_listen(struct sl_tcp_stack *s, uint32_t addr, uint16_t port,
	      int (*accept)(struct sl_tcp_conn *c, void *arg), void *arg);

/* A segment for us (IPv4 header validated, padding trimmed). Consumes m. */
void
sl_tcp_input(struct sl_tcp_stack *s, unsigned int port, struct rte_mbuf *m,
	     struct rte_ipv4_hdr *ip, uint16_t ip_hlen);

/*
 * Run the application callbacks for everything input and timers marked
 * since the last call (tcp_event.c). The worker calls it once per loop
 * turn, after the RX burst and the timers; nothing is told before.
 * Returns the connections told.
 */
uint32_t
sl_tcp_dispatch(struct sl_tcp_stack *s);

/* Run due timers; call once per loop turn (then sl_tcp_dispatch()). */
void
sl_tcp_timers(struct sl_tcp_stack *s, uint64_t now_tsc);

/*
 * Open a connection to raddr:rport from the address of the port that
 * reaches it, with an lcore-owned ephemeral port. Fails (NULL, rte_errno)
 * when no route, port or connection slot is free. Success or failure of the
 * handshake is reported later through ops (established / closed).
 */
struct sl_tcp_conn *
sl_tcp_connect(struct sl_tcp_stack *s, uint32_t raddr, uint16_t rport,
	       uint32_t timeout_ms, const struct sl_tcp_app_ops *ops, void *app);

/*
 * Queue payload for sending (ownership of the single-segment mbuf passes to
 * the stack; its data must be payload only). Returns 0, or -1 when the
 * connection can no longer send (the mbuf is then freed).
 */
int
sl_tcp_send(struct sl_tcp_stack *s, struct sl_tcp_conn *c, struct rte_mbuf *m);

/* Push queued data out (segments as the windows allow). */
void
sl_tcp_output(struct sl_tcp_stack *s, struct sl_tcp_conn *c);

/*
 * Take whole mbufs from the receive queue, up to `max_bytes` (at least one
 * mbuf if any is queued), as a list linked with sl_mq. The window reopens.
 */
void
sl_tcp_recv(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint32_t max_bytes,
	    struct sl_mq *out);

/* Drop the first n received bytes (whole mbufs freed, the next trimmed). */
void
sl_tcp_consume(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint32_t n);

/* Half-close: FIN once everything queued has been sent. */
void
sl_tcp_shutdown(struct sl_tcp_stack *s, struct sl_tcp_conn *c);

/* Acknowledge now what waits on the delayed-ACK timer, if anything. */
void
sl_tcp_ack_now(struct sl_tcp_stack *s, struct sl_tcp_conn *c);

/*
 * The gateway drains: from now on every listener answers a SYN with RST,
 * counted as drop tcp_draining. Connections that exist, half-open ones
 * and SYN cookies' ACKs (their SYN came before) go on as usual.
 */
static inline void
sl_tcp_drain(struct sl_tcp_stack *s)
{
	s->draining = true;
}

/* The drain was called off (sl_drain_cancel): listeners accept again. */
static inline void
sl_tcp_undrain(struct sl_tcp_stack *s)
{
	s->draining = false;
}

/*
 * The drain is over: send RST on every synchronized connection (not
 * TIME_WAIT) and count it in drain_reset. The connections stay allocated
 * and no callback is made: the caller stops the lcore next, and
 * sl_tcp_stack_free() frees them. Returns the number reset.
 */
uint32_t
sl_tcp_reset_all(struct sl_tcp_stack *s);

/* Send RST and free now. No callback is made. */
void
sl_tcp_abort(struct sl_tcp_stack *s, struct sl_tcp_conn *c);

/*
 * Bytes the app may still queue on c with sl_tcp_send(): snd_buf less what
 * is queued, bounded also by the mbufs the send queue holds (a queue of
 * 1-byte mbufs is full long before snd_buf bytes) and by
 * tcp.max_conn_mbufs. A splice should move no more than this; at 0, set
 * SL_TCPF_NOTIFY_W and wait for writable().
 */
uint32_t
sl_tcp_sndq_room(const struct sl_tcp_stack *s, const struct sl_tcp_conn *c);

/*
 * Bill c's buffers to payer's remote address (tcp.max_addr_mbufs), from
 * now on and for what c already holds: a connection opened on behalf of a
 * client (its backend side) then counts against that client's share.
 * payer NULL, or a payer with no address entry, bills c to nobody.
 */
void
sl_tcp_bill_to(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
	       const struct sl_tcp_conn *payer);

/*
 * The app holds `n` more mbufs (negative: fewer) on behalf of c, outside
 * c's queues (e.g. received bytes it has taken but not yet consumed).
 * They count in c's receive window, its cap and its address's, as queued
 * ones do. The count is forgotten when c is freed; the app frees its
 * mbufs itself.
 */
void
sl_tcp_hold(struct sl_tcp_stack *s, struct sl_tcp_conn *c, int32_t n);

/* Mbufs held for remote address `addr` on this lcore (0 if none). */
uint32_t
sl_tcp_addr_mbufs(const struct sl_tcp_stack *s, uint32_t addr);

const char *
sl_tcp_state_name(unsigned int state);

/* Stats names for telemetry, in tcp_stats.def order. */
extern const char *const sl_tcp_stat_names[];
extern const unsigned int sl_tcp_n_stats;

/* mbuf queues ------------------------------------------------------------ */

extern int sl_tcp_mbuf_dynoff;

struct sl_tcp_mbuf_meta {
	struct rte_mbuf *qnext;
	uint32_t seq;                    /* first payload byte (ooo queue) */
	uint32_t fin;                    /* segment carried FIN (ooo queue) */
};

static inline struct sl_tcp_mbuf_meta *
sl_mq_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, sl_tcp_mbuf_dynoff, struct sl_tcp_mbuf_meta *);
}

static inline void
sl_mq_init(struct sl_mq *q)
{
	q->head = q->tail = NULL;
	q->bytes = 0;
	q->n = 0;
}

static inline void
sl_mq_push(struct sl_mq *q, struct rte_mbuf *m)
{
	sl_mq_meta(m)->qnext = NULL;
	if (q->tail != NULL)
		sl_mq_meta(q->tail)->qnext = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += rte_pktmbuf_data_len(m);
	q->n++;
}

static inline struct rte_mbuf *
sl_mq_pop(struct sl_mq *q)
{
	struct rte_mbuf *m = q->head;

	if (m == NULL)
		return NULL;
	q->head = sl_mq_meta(m)->qnext;
	if (q->head == NULL)
		q->tail = NULL;
	sl_mq_meta(m)->qnext = NULL;
	q->bytes -= rte_pktmbuf_data_len(m);
	q->n--;
	return m;
}

static inline struct rte_mbuf *
sl_mq_next(struct rte_mbuf *m)
{
	return sl_mq_meta(m)->qnext;
}

/* Append all of `from` to `to`. */
static inline void
sl_mq_splice(struct sl_mq *to, struct sl_mq *from)
{
	if (from->head == NULL)
		return;
	if (to->tail != NULL)
		sl_mq_meta(to->tail)->qnext = from->head;
	else
		to->head = from->head;
	to->tail = from->tail;
	to->bytes += from->bytes;
	to->n += from->n;
	sl_mq_init(from);
}

static inline void
sl_mq_free(struct sl_mq *q)
{
	struct rte_mbuf *m;

	while ((m = sl_mq_pop(q)) != NULL)
		rte_pktmbuf_free(m);
}

#endif
