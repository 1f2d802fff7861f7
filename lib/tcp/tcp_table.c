/*
 * The per-lcore connection table: preallocated connections on a free list,
 * an rte_hash from 4-tuple to slot, listeners, ephemeral ports, ISNs.
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_random.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"
#include "tcp_private.h"

int sl_tcp_mbuf_dynoff = -1;

const char *const sl_tcp_stat_names[] = {
#define SL_TCP_STAT(name, desc) #name,
#include "tcp_stats.def"
#undef SL_TCP_STAT
};
const unsigned int sl_tcp_n_stats = RTE_DIM(sl_tcp_stat_names);

struct tcp_key {
	uint32_t raddr;
	uint32_t laddr;
	uint16_t rport;
	uint16_t lport;
};

/*
 * The table's hash, keyed with a per-stack secret: CRC32C is linear in its
 * input whatever its seed, so with it colliding 4-tuples could be crafted
 * and every lookup made to walk one long bucket chain. Only this lcore's
 * table uses it; ownership between lcores is decided by the steering
 * hash (lib/steer), which must stay the same on every lcore.
 */
static uint32_t
tcp_key_hash(const void *key, uint32_t len, uint32_t seed)
{
	const struct tcp_key *k = key;

	(void)len;
	return rte_jhash_3words(k->raddr, k->laddr,
				((uint32_t)k->rport << 16) | k->lport, seed);
}

int
sl_tcp_global_init(void)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = "sl_tcp_meta",
		.size = sizeof(struct sl_tcp_mbuf_meta),
		.align = __alignof__(struct sl_tcp_mbuf_meta),
	};

	if (sl_tcp_mbuf_dynoff >= 0)
		return 0;
	sl_tcp_mbuf_dynoff = rte_mbuf_dynfield_register(&desc);
	return sl_tcp_mbuf_dynoff < 0 ? -rte_errno : 0;
}

/* An operator's counter reset: the gauges (states, active, half-open) stay. */
static void
tcp_reset_counters(void *ctx)
{
	struct sl_tcp_stack *s = ctx;
	struct sl_tcp_stats *ts = &s->stats;
	struct sl_tcp_stats keep = *ts;

	memset(ts, 0, sizeof(*ts));
	memcpy(ts->state, keep.state, sizeof(ts->state));
	ts->active = keep.active;
	ts->half_open = keep.half_open;
}

struct sl_lcore_module sl_tcp_module = {
	.name = "tcp",
	.reset_counters = tcp_reset_counters,
};

struct sl_tcp_stack *
sl_tcp_stack_create(struct sl_lcore *lc, const struct sl_conf_tcp *conf,
		    int socket, unsigned int worker_idx, unsigned int n_workers)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = conf->max_conns,
		.key_len = sizeof(struct tcp_key),
		.hash_func = tcp_key_hash,
		.hash_func_init_val = (uint32_t)tcp_secret(),
		.socket_id = socket,
		/* Cuckoo buckets alone may refuse an insert before the table
		 * is full (DPDK's hash guide); extendable buckets make
		 * max_conns a promise. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct sl_tcp_stack *s;
	uint32_t span;

	if (sl_tcp_global_init() != 0)
		return NULL;
	s = rte_zmalloc_socket("sl_tcp", sizeof(*s), RTE_CACHE_LINE_SIZE, socket);
	if (s == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	s->lc = lc;
	s->conf_copy = *conf;
	s->conf = &s->conf_copy;
	s->max_conns = conf->max_conns;
	s->tsc_per_ms = rte_get_tsc_hz() / 1000;
	s->tsc_per_us = rte_get_tsc_hz() / 1000000;
	if (s->tsc_per_us == 0)
		s->tsc_per_us = 1;
	s->cc = sl_tcp_cc_find(conf->cc);
	if (s->cc == NULL)
		s->cc = &sl_tcp_newreno;
	s->isn_secret = (uint32_t)tcp_secret();
	s->ip_id = (uint16_t)rte_rand();
	sl_syncookie_init(&s->cookies, tcp_secret(), rte_rdtsc() / rte_get_tsc_hz());
	sl_timer_wheel_init(&s->wheel, s->tsc_per_ms, rte_rdtsc(), s);
	TAILQ_INIT(&s->events);

	/* Contiguous blocks: the owner of a reply is (dport - lo) / span. */
	span = sl_tcp_eph_span(conf->ephemeral_lo, conf->ephemeral_hi, n_workers);
	s->eph_lo = (uint16_t)(conf->ephemeral_lo + worker_idx * span);
	s->eph_hi = (uint16_t)(s->eph_lo + span - 1);
	s->eph_next = (uint16_t)(s->eph_lo + rte_rand() % span);

	snprintf(name, sizeof(name), "sl_tcp_%u", lc ? lc->lcore_id : worker_idx);
	s->table = rte_hash_create(&hp);
	s->conns = rte_zmalloc_socket("sl_tcp_conns",
				      (size_t)s->max_conns * sizeof(*s->conns),
				      RTE_CACHE_LINE_SIZE, socket);
	if (s->table == NULL || s->conns == NULL || tcp_mem_create(s, socket) != 0) {
		sl_tcp_stack_free(s);
		rte_errno = ENOMEM;
		return NULL;
	}
	s->free_head = UINT32_MAX;
	for (uint32_t i = s->max_conns; i-- > 0; ) {
		s->conns[i].idx = i;
		s->conns[i].flags = SL_TCPF_DEAD;
		s->conns[i].free_next = s->free_head;
		s->free_head = i;
	}
	if (lc != NULL) {
		int rc = sl_lcore_module_attach(lc, &sl_tcp_module, s);

		if (rc == 0)
			rc = sl_ipv4_proto_register(lc, IPPROTO_TCP, tcp_ipv4_input, s);
		if (rc != 0) {
			sl_tcp_stack_free(s);
			rte_errno = -rc;
			return NULL;
		}
	}
	return s;
}

void
sl_tcp_stack_free(struct sl_tcp_stack *s)
{
	if (s == NULL)
		return;
	if (s->lc != NULL && sl_tcp_of(s->lc) == s) {
		sl_lcore_module_detach(s->lc, &sl_tcp_module, s);
		sl_ipv4_proto_register(s->lc, IPPROTO_TCP, NULL, NULL);
	}
	if (s->conns != NULL)
		for (uint32_t i = 0; i < s->max_conns; i++) {
			struct sl_tcp_conn *c = &s->conns[i];

			if (c->flags & SL_TCPF_DEAD)
				continue;
			sl_mq_free(&c->sndq);
			sl_mq_free(&c->rcvq);
			sl_mq_free(&c->ooo);
		}
	rte_hash_free(s->table);
	rte_free(s->conns);
	tcp_mem_free(s);
	rte_free(s);
}

int
sl_tcp_listen(struct sl_tcp_stack *s, uint32_t addr, uint16_t port,
	      int (*accept)(struct sl_tcp_conn *c, void *arg), void *arg)
{
	if (s->n_listeners == SL_TCP_MAX_LISTENERS)
		return -ENOSPC;
	s->listeners[s->n_listeners++] = (struct sl_tcp_listener){
		.addr = addr, .port = port, .accept = accept, .arg = arg };
	return 0;
}

const struct sl_tcp_listener *
tcp_listener_find(const struct sl_tcp_stack *s, uint32_t addr, uint16_t port)
{
	for (unsigned int i = 0; i < s->n_listeners; i++)
		if (s->listeners[i].port == port && s->listeners[i].addr == addr)
			return &s->listeners[i];
	return NULL;
}

void
tcp_set_state(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
	      enum sl_tcp_state st)
{
	s->stats.state[c->state]--;
	if (c->state == SL_TCP_SYN_RECV)
		s->stats.half_open--;
	if (c->state == SL_TCP_TIME_WAIT)
		s->time_wait--;
	c->state = (uint8_t)st;
	s->stats.state[st]++;
	if (st == SL_TCP_SYN_RECV)
		s->stats.half_open++;
	if (st == SL_TCP_TIME_WAIT)
		s->time_wait++;
	if (st == SL_TCP_ESTABLISHED)
		s->stats.established++;
}

struct sl_tcp_conn *
tcp_conn_alloc(struct sl_tcp_stack *s)
{
	struct sl_tcp_conn *c;
	uint32_t idx = s->free_head, gen;

	if (idx == UINT32_MAX)
		return NULL;
	c = &s->conns[idx];
	s->free_head = c->free_next;
	gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->idx = idx;
	c->gen = gen + 1;
	c->stack = s;
	c->state = SL_TCP_CLOSED;
	c->addr_slot = SL_TCP_NO_ADDR;
	s->stats.state[SL_TCP_CLOSED]++;
	s->stats.active++;
	sl_mq_init(&c->sndq);
	sl_mq_init(&c->rcvq);
	sl_mq_init(&c->ooo);
	tcp_timers_init(c);
	return c;
}

static void
key_of(const struct sl_tcp_conn *c, struct tcp_key *k)
{
	memset(k, 0, sizeof(*k));
	k->raddr = c->raddr;
	k->laddr = c->laddr;
	k->rport = c->rport;
	k->lport = c->lport;
}

int
tcp_conn_hash(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	struct tcp_key k;

	key_of(c, &k);
	return rte_hash_add_key_data(s->table, &k, (void *)(uintptr_t)c->idx);
}

struct sl_tcp_conn *
tcp_lookup(struct sl_tcp_stack *s, uint32_t laddr, uint16_t lport,
	   uint32_t raddr, uint16_t rport)
{
	struct tcp_key k = { .raddr = raddr, .laddr = laddr, .rport = rport,
			     .lport = lport };
	void *data;

	if (rte_hash_lookup_data(s->table, &k, &data) < 0)
		return NULL;
	return &s->conns[(uintptr_t)data];
}

/*
 * Out of the table, timers stopped, nothing more to send: a connection the
 * network no longer reaches. Its received bytes stay, for the app to take
 * when it is told. Idempotent.
 */
static void
conn_unlink(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	struct tcp_key k;

	if (c->flags & SL_TCPF_ZOMBIE)
		return;
	key_of(c, &k);
	rte_hash_del_key(s->table, &k);
	sl_timer_cancel(&s->wheel, &c->rtx_timer);
	sl_timer_cancel(&s->wheel, &c->delack_timer);
	sl_mq_free(&c->sndq);
	sl_mq_free(&c->ooo);
	tcp_set_state(s, c, SL_TCP_CLOSED);
	c->flags |= SL_TCPF_ZOMBIE;
	tcp_mem_sync(s, c);
}

void
tcp_conn_release(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (c->flags & SL_TCPF_DEAD)
		return;
	tcp_event_cancel(s, c);
	conn_unlink(s, c);
	tcp_addr_detach(s, c);
	sl_mq_free(&c->rcvq);
	s->stats.state[SL_TCP_CLOSED]--;
	s->stats.active--;
	c->flags = SL_TCPF_DEAD;
	c->ops = NULL;
	c->app = NULL;
	c->free_next = s->free_head;
	s->free_head = c->idx;
}

void
tcp_conn_free(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	if (c->flags & SL_TCPF_DEAD)
		return;
	/* Its app has a close coming (TIME_WAIT, told at dispatch): keep
	 * the slot for that, out of the network's reach. */
	if (c->events & SL_TCP_EV_CLOSED) {
		conn_unlink(s, c);
		return;
	}
	tcp_conn_release(s, c);
}

void
tcp_conn_close(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
	       enum sl_tcp_close_reason why)
{
	if (c->flags & SL_TCPF_DEAD)
		return;
	if (c->ops == NULL || c->ops->closed == NULL) {
		tcp_conn_free(s, c);
		return;
	}
	/* The app is told at dispatch; the slot lives until then. */
	if (!(c->events & SL_TCP_EV_CLOSED))
		c->close_why = (uint8_t)why;
	tcp_event(s, c, SL_TCP_EV_CLOSED);
	conn_unlink(s, c);
}

/* RFC 6528: a per-tuple offset plus a clock that moves 250k times a second. */
uint32_t
tcp_isn(struct sl_tcp_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
	uint16_t rport)
{
	uint32_t h = rte_jhash_3words(laddr, raddr,
				      ((uint32_t)lport << 16) | rport, s->isn_secret);

	return h + (uint32_t)(rte_rdtsc() / (s->tsc_per_us * 4));
}

void
tcp_conn_setup(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	c->rcv_buf = s->conf->rcv_buf;
	c->snd_buf = s->conf->snd_buf;
	c->rto_ms = s->conf->rto_init_ms;
	c->cc.ops = s->cc;
	/* Enough scale to advertise the whole buffer (RFC 7323 2.2). */
	c->rcv_wscale = 0;
	while (c->rcv_wscale < SL_TCP_MAX_WSCALE &&
	       (65535u << c->rcv_wscale) < c->rcv_buf)
		c->rcv_wscale++;
}

void
tcp_enter_time_wait(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	sl_timer_cancel(&s->wheel, &c->delack_timer);
	if (s->conf->time_wait_s == 0 || s->time_wait >= s->conf->time_wait_max) {
		/* Bounded: beyond the cap a TIME_WAIT entry is not kept. */
		s->stats.time_wait_recycled++;
		tcp_conn_close(s, c, SL_TCP_CLOSE_NORMAL);
		return;
	}
	tcp_set_state(s, c, SL_TCP_TIME_WAIT);
	c->flags &= (uint16_t)~SL_TCPF_PERSIST;
	c->flags |= SL_TCPF_TW;
	sl_timer_arm(&s->wheel, &c->rtx_timer,
		     tcp_ms_to_ticks(s->conf->time_wait_s * 1000));
	/* The application is done with it; it only guards the 4-tuple now.
	 * An app is told at dispatch (it may take the last received bytes
	 * then) and the queues go after that (tcp_time_wait_told). */
	if (c->ops != NULL && c->ops->closed != NULL) {
		c->close_why = SL_TCP_CLOSE_NORMAL;
		tcp_event(s, c, SL_TCP_EV_CLOSED);
		return;
	}
	tcp_time_wait_told(s, c);
}

void
tcp_time_wait_told(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	c->ops = NULL;
	c->app = NULL;
	sl_mq_free(&c->sndq);
	sl_mq_free(&c->rcvq);
	sl_mq_free(&c->ooo);
	c->app_held = 0;
	tcp_mem_sync(s, c);
}

const char *
sl_tcp_state_name(unsigned int st)
{
	static const char *const names[SL_TCP_STATE_MAX] = {
		"closed", "syn_sent", "syn_recv", "established", "fin_wait_1",
		"fin_wait_2", "closing", "time_wait", "close_wait", "last_ack",
	};

	return st < SL_TCP_STATE_MAX ? names[st] : "unknown";
}
