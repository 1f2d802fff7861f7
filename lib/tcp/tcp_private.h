#ifndef SL_TCP_PRIVATE_H
#define SL_TCP_PRIVATE_H

/* Internal to lib/tcp: shared by tcp_input/output/timer/table. */

#include <rte_cycles.h>
#include <rte_tcp.h>

#include "sl_cksum.h"
#include "sl_tcp.h"
#include "sl_tcp_conn.h"
#include "sl_timer.h"

#define TCP_HDR_MIN 20
#define TCP_FLAGS_MASK 0x3f

/* Header room a TX frame needs: Ethernet + IPv4 + TCP + 40 bytes options. */
#define TCP_FRAME_HDR (14 + 20 + 20 + SL_TCP_OPT_MAX_LEN)

static inline uint32_t
tcp_now_ms(const struct sl_tcp_stack *s)
{
	return (uint32_t)(rte_rdtsc() / s->tsc_per_ms);
}

static inline uint64_t
tcp_ms_to_ticks(uint32_t ms)
{
	return ms;   /* the wheel ticks once per millisecond */
}

/* Mbufs a connection holds: its three queues and what its app holds. */
static inline uint32_t
tcp_held(const struct sl_tcp_conn *c)
{
	return c->rcvq.n + c->ooo.n + c->sndq.n + c->app_held;
}

/* Payload bytes `mbufs` more mbufs are taken to carry when sizing a window:
 * half a buffer (an MSS segment fills about two thirds of one). */
static inline uint64_t
tcp_mbufs_to_bytes(const struct sl_tcp_stack *s, uint64_t mbufs)
{
	return mbufs * s->mbuf_unit / 2;
}

/*
 * Free space in the receive buffer: what we may advertise. Bytes alone
 * would let a peer sending 1-byte segments pin one mbuf per byte, so the
 * space is also bounded by buffer memory (as Linux's truesize): twice
 * rcv_buf of mbufs for the receive and out-of-order queues, and what the
 * connection's and its address's caps leave.
 */
static inline uint32_t
tcp_rcv_space(const struct sl_tcp_stack *s, const struct sl_tcp_conn *c)
{
	uint32_t used = c->rcvq.bytes + c->ooo.bytes, held = tcp_held(c);
	uint64_t mem = (uint64_t)(c->rcvq.n + c->ooo.n) * s->mbuf_unit;
	uint64_t mem_max = 2ull * c->rcv_buf;
	uint64_t space = used >= c->rcv_buf ? 0 : c->rcv_buf - used;

	space = RTE_MIN(space, mem >= mem_max ? 0 : (mem_max - mem) / 2);
	space = RTE_MIN(space, held >= s->max_conn_mbufs ? 0 :
			tcp_mbufs_to_bytes(s, s->max_conn_mbufs - held));
	if (c->addr_slot != SL_TCP_NO_ADDR) {
		uint32_t a = s->addrs[c->addr_slot].mbufs - c->mbufs_billed + held;

		space = RTE_MIN(space, a >= s->max_addr_mbufs ? 0 :
				tcp_mbufs_to_bytes(s, s->max_addr_mbufs - a));
	}
	return (uint32_t)space;
}

/*
 * Bring the lcore's and the address's tallies up to what c holds now.
 * Cheap; called once at the end of each input segment and API call that
 * changes c's queues (in between, checks use tcp_held() directly).
 */
static inline void
tcp_mem_sync(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	uint32_t held = tcp_held(c), d = held - c->mbufs_billed;

	if (d == 0)
		return;
	s->mbufs_held += (uint64_t)(int64_t)(int32_t)d;
	s->stats.mbufs_held = s->mbufs_held;   /* survives a counter reset */
	if (c->addr_slot != SL_TCP_NO_ADDR)
		s->addrs[c->addr_slot].mbufs += d;
	c->mbufs_billed = held;
}

/* Verify a TCP checksum (pseudo-header included) in software. */
static inline bool
tcp_cksum_ok(const struct rte_ipv4_hdr *ip, const void *th, uint32_t l4len)
{
	return sl_ipv4_l4_sum(ip, th, l4len) == 0xffff;
}

/* tcp_table.c */
struct sl_tcp_conn *tcp_conn_alloc(struct sl_tcp_stack *s);
int tcp_conn_hash(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
struct sl_tcp_conn *tcp_lookup(struct sl_tcp_stack *s, uint32_t laddr,
			       uint16_t lport, uint32_t raddr, uint16_t rport);
/* Free a connection its app is not (or no longer) to be told about. */
void tcp_conn_free(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_ipv4_input(void *ctx, unsigned int port, struct rte_mbuf *m,
		    struct rte_ipv4_hdr *ip, uint16_t hlen);
/* Free the slot now, pending events and all. */
void tcp_conn_release(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_set_state(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		   enum sl_tcp_state st);
/* Tell the app (once, at dispatch) and free after that. */
void tcp_conn_close(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		    enum sl_tcp_close_reason why);
uint32_t tcp_isn(struct sl_tcp_stack *s, uint32_t laddr, uint16_t lport,
		 uint32_t raddr, uint16_t rport);
const struct sl_tcp_listener *tcp_listener_find(const struct sl_tcp_stack *s,
						uint32_t addr, uint16_t port);
/* Common set-up of a new connection's windows, timers, congestion state. */
void tcp_conn_setup(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_enter_time_wait(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
/* A TIME_WAIT entry whose app has been told: drop the app and the queues. */
void tcp_time_wait_told(struct sl_tcp_stack *s, struct sl_tcp_conn *c);

/* tcp_ooo.c: the out-of-order queue. */
void tcp_ooo_insert(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		    unsigned int port, struct rte_mbuf *m, uint32_t seq, bool fin);
void tcp_ooo_purge(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		   unsigned int port);
/* Move what became in order to rcvq. Returns true on FIN. */
bool tcp_ooo_drain(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		   unsigned int port);

/* tcp_event.c: app events, marked during input and told at dispatch. */
static inline void
tcp_event(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint8_t ev)
{
	if (c->events == 0)
		TAILQ_INSERT_TAIL(&s->events, c, ev_link);
	c->events |= ev;
}

static inline void
tcp_event_cancel(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (c->events != 0)
		TAILQ_REMOVE(&s->events, c, ev_link);
	c->events = 0;
}

/* tcp_output.c */
void tcp_send_syn(struct sl_tcp_stack *s, struct sl_tcp_conn *c, bool ack);
void tcp_send_ack(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_send_rst(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_send_data(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		   uint32_t seq, uint32_t len, bool fin, bool rtx);
void tcp_reply_rst(struct sl_tcp_stack *s, unsigned int port, struct rte_mbuf *m,
		   struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th,
		   uint32_t seg_len);
void tcp_send_syncookie(struct sl_tcp_stack *s, unsigned int port,
			struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
			struct rte_tcp_hdr *th, const struct sl_tcp_opts *o);
uint16_t tcp_adv_window(const struct sl_tcp_stack *s, struct sl_tcp_conn *c);

/* tcp_mem.c */
int tcp_mem_create(struct sl_tcp_stack *s, int socket);
void tcp_mem_free(struct sl_tcp_stack *s);
void tcp_addr_attach(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_addr_detach(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
bool tcp_rcv_admit(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		   unsigned int port, struct rte_mbuf *m, bool ooo);
void tcp_rcvq_add(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		  struct rte_mbuf *m);
void tcp_sndq_add(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
		  struct rte_mbuf *m);
uint32_t tcp_mq_pack(struct sl_mq *q);
uint64_t tcp_secret(void);

/* tcp_timer.c */
void tcp_timers_init(struct sl_tcp_conn *c);
void tcp_rtx_arm(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_rtx_stop(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_rtt_sample(struct sl_tcp_conn *c, uint32_t rtt_us,
		    const struct sl_conf_tcp *conf);
void tcp_delack_schedule(struct sl_tcp_stack *s, struct sl_tcp_conn *c);
void tcp_persist_arm(struct sl_tcp_stack *s, struct sl_tcp_conn *c);

#endif
