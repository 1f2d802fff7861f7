/*
 * Buffer accounting: what connections hold is counted in mbufs, not only
 * in payload bytes. Each segment keeps its whole mbuf, so a peer sending
 * 1-byte segments would otherwise pin one mbuf per byte of window, and a
 * handful of connections could hold the whole pool (Linux counts skb
 * truesize for the same reason).
 *
 *  - Queues that hold far more buffer than payload are packed: small
 *    segments are copied together into the tailroom of the mbufs already
 *    queued (as Linux's tcp_collapse), so such a peer holds about one mbuf
 *    per 2 KB. Packing starts only when a queue's overhead grows past
 *    twice its payload plus some slack; ordinary traffic never copies.
 *  - The receive window and every admission are bounded by buffer memory
 *    (twice rcv_buf), by tcp.max_conn_mbufs per connection and by
 *    tcp.max_addr_mbufs per remote address; a segment past a bound is
 *    dropped and counted (the peer resends it once it has room again).
 *  - Per-address tallies live in a fixed table per lcore, allocated at
 *    start: two buckets per address chosen by a keyed hash, so addresses
 *    an attacker picks cannot be steered into one bucket.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "tcp_private.h"

uint64_t
tcp_secret(void)
{
	uint64_t v;

	/* A secret the peer cannot predict; rte_rand is seeded from the TSC. */
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = rte_rand() ^ rte_rdtsc();
	return v;
}

int
tcp_mem_create(struct sl_tcp_stack *s, int socket)
{
	const struct sl_conf_tcp *t = s->conf;
	/* At most one address per connection: half full at worst. */
	uint32_t buckets = rte_align32pow2((2 * t->max_conns + SL_TCP_ADDR_BUCKET - 1) /
					   SL_TCP_ADDR_BUCKET);
	uint64_t seed = tcp_secret();

	s->mbuf_unit = s->lc != NULL && s->lc->pool != NULL ?
		rte_pktmbuf_data_room_size(s->lc->pool) : RTE_MBUF_DEFAULT_BUF_SIZE;
	s->rcv_slack = RTE_MAX(4 * s->mbuf_unit, t->rcv_buf / 8);
	s->snd_slack = RTE_MAX(4 * s->mbuf_unit, t->snd_buf / 8);
	s->max_conn_mbufs = t->max_conn_mbufs ? t->max_conn_mbufs : UINT32_MAX;
	s->max_addr_mbufs = t->max_addr_mbufs ? t->max_addr_mbufs : UINT32_MAX;
	s->addr_seed[0] = (uint32_t)seed;
	s->addr_seed[1] = (uint32_t)(seed >> 32);
	s->addr_bmask = buckets - 1;
	/* The last entry is the overflow, shared by addresses with no room. */
	s->addrs = rte_zmalloc_socket("sl_tcp_addrs",
				      ((size_t)buckets * SL_TCP_ADDR_BUCKET + 1) *
				      sizeof(*s->addrs), RTE_CACHE_LINE_SIZE, socket);
	if (s->addrs == NULL) {
		rte_errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
tcp_mem_free(struct sl_tcp_stack *s)
{
	rte_free(s->addrs);
	s->addrs = NULL;
}

/* ---- per-address tallies ---------------------------------------------- */

static inline uint32_t
addr_overflow(const struct sl_tcp_stack *s)
{
	return (s->addr_bmask + 1) * SL_TCP_ADDR_BUCKET;
}

/* Entry of `addr`: the one it has, else a free one in the emptier of its
 * two buckets, else the overflow entry. Once per connection, not per segment. */
static uint32_t
addr_find(struct sl_tcp_stack *s, uint32_t addr)
{
	uint32_t b[2] = {
		rte_jhash_1word(addr, s->addr_seed[0]) & s->addr_bmask,
		rte_jhash_1word(addr, s->addr_seed[1]) & s->addr_bmask,
	};
	uint32_t pick = UINT32_MAX, pick_used = UINT32_MAX;

	for (unsigned int k = 0; k < 2; k++) {
		uint32_t base = b[k] * SL_TCP_ADDR_BUCKET, used = 0, free_i = UINT32_MAX;

		for (uint32_t i = base; i < base + SL_TCP_ADDR_BUCKET; i++) {
			if (s->addrs[i].conns == 0) {
				if (free_i == UINT32_MAX)
					free_i = i;
				continue;
			}
			if (s->addrs[i].addr == addr)
				return i;
			used++;
		}
		if (free_i != UINT32_MAX && used < pick_used) {
			pick = free_i;
			pick_used = used;
		}
	}
	if (pick == UINT32_MAX) {
		s->stats.addr_table_overflow++;
		return addr_overflow(s);
	}
	s->addrs[pick].addr = addr;
	s->addrs[pick].mbufs = 0;
	return pick;
}

static void
addr_bill(struct sl_tcp_stack *s, struct sl_tcp_conn *c, uint32_t slot)
{
	c->addr_slot = slot;
	s->addrs[slot].conns++;
	s->addrs[slot].mbufs += c->mbufs_billed;
}

static void
addr_unbill(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	struct sl_tcp_addr *e;

	if (c->addr_slot == SL_TCP_NO_ADDR)
		return;
	e = &s->addrs[c->addr_slot];
	e->mbufs -= c->mbufs_billed;
	e->conns--;
	c->addr_slot = SL_TCP_NO_ADDR;
}

void
tcp_addr_attach(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	addr_bill(s, c, addr_find(s, c->raddr));
}

void
tcp_addr_detach(struct sl_tcp_stack *s, struct sl_tcp_conn *c)
{
	addr_unbill(s, c);
	s->mbufs_held -= c->mbufs_billed;
	s->stats.mbufs_held = s->mbufs_held;
	c->mbufs_billed = 0;
}

void
sl_tcp_bill_to(struct sl_tcp_stack *s, struct sl_tcp_conn *c,
	       const struct sl_tcp_conn *payer)
{
	tcp_mem_sync(s, c);
	addr_unbill(s, c);
	if (payer != NULL && payer->addr_slot != SL_TCP_NO_ADDR)
		addr_bill(s, c, payer->addr_slot);
}

uint32_t
sl_tcp_addr_mbufs(const struct sl_tcp_stack *s, uint32_t addr)
{
	uint32_t b[2] = {
		rte_jhash_1word(addr, s->addr_seed[0]) & s->addr_bmask,
		rte_jhash_1word(addr, s->addr_seed[1]) & s->addr_bmask,
	};

	for (unsigned int k = 0; k < 2; k++)
		for (uint32_t i = b[k] * SL_TCP_ADDR_BUCKET;
		     i < (b[k] + 1) * SL_TCP_ADDR_BUCKET; i++)
			if (s->addrs[i].conns != 0 && s->addrs[i].addr == addr)
				return s->addrs[i].mbufs;
	return 0;
}

void
sl_tcp_hold(struct sl_tcp_stack *s, struct sl_tcp_conn *c, int32_t n)
{
	c->app_held += (uint32_t)n;
	tcp_mem_sync(s, c);
}

/* ---- packing ------------------------------------------------------------ */

/* We may write into m's tailroom: nobody else sees its buffer. */
static inline bool
mbuf_writable(const struct rte_mbuf *m)
{
	return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

/* Far more buffer than payload: worth packing. */
static inline bool
mq_bloated(const struct sl_mq *q, uint32_t unit, uint32_t slack)
{
	return (uint64_t)q->n * unit > 2ull * q->bytes + slack;
}

/* Copy m into q's tail if it fits (then m is freed). */
static bool
mq_take_tail(struct sl_mq *q, struct rte_mbuf *m)
{
	struct rte_mbuf *t = q->tail;
	uint16_t len = rte_pktmbuf_data_len(m);

	if (t == NULL || len > rte_pktmbuf_tailroom(t) || !mbuf_writable(t))
		return false;
	memcpy(rte_pktmbuf_append(t, len), rte_pktmbuf_mtod(m, void *), len);
	q->bytes += len;
	rte_pktmbuf_free(m);
	return true;
}

/*
 * Copy each mbuf's bytes into the tailroom of the one before, in order,
 * freeing those emptied. The byte stream is unchanged; no mbuf is
 * allocated (none may be free). Returns the number of mbufs freed.
 * Not for the out-of-order queue, whose mbufs carry sequence numbers.
 */
uint32_t
tcp_mq_pack(struct sl_mq *q)
{
	struct rte_mbuf *prev = NULL, *dst = NULL, *m = q->head;
	uint32_t freed = 0;

	while (m != NULL) {
		struct rte_mbuf *next = sl_mq_next(m);
		uint16_t len = rte_pktmbuf_data_len(m);

		if (dst != NULL) {
			/* dst is prev: the last mbuf kept. */
			uint16_t n = RTE_MIN(rte_pktmbuf_tailroom(dst), len);

			if (n > 0) {
				memcpy(rte_pktmbuf_append(dst, n),
				       rte_pktmbuf_mtod(m, void *), n);
				if (n == len) {
					sl_mq_meta(prev)->qnext = next;
					if (q->tail == m)
						q->tail = prev;
					q->n--;
					rte_pktmbuf_free(m);
					freed++;
					m = next;
					continue;
				}
				rte_pktmbuf_adj(m, n);
			}
		}
		dst = mbuf_writable(m) ? m : NULL;
		prev = m;
		m = next;
	}
	return freed;
}

void
tcp_rcvq_add(struct sl_tcp_stack *s, struct sl_tcp_conn *c, struct rte_mbuf *m)
{
	struct sl_mq *q = &c->rcvq;

	if (unlikely(c->qflags & SL_TCPQ_RX_PACK) && mq_take_tail(q, m)) {
		s->stats.rcv_packed_mbufs++;
		return;
	}
	sl_mq_push(q, m);
	if (unlikely(mq_bloated(q, s->mbuf_unit, s->rcv_slack))) {
		/* Small segments: pack what is queued, and copy the next ones
		 * into the tail until the app has taken the queue. */
		c->qflags |= SL_TCPQ_RX_PACK;
		s->stats.rcv_packed_mbufs += tcp_mq_pack(q);
	}
}

void
tcp_sndq_add(struct sl_tcp_stack *s, struct sl_tcp_conn *c, struct rte_mbuf *m)
{
	struct sl_mq *q = &c->sndq;

	/* Every frame is copied out of the queue at TX, so the tail may be
	 * appended to even while its first bytes are in flight. */
	if (unlikely(c->qflags & SL_TCPQ_TX_PACK) && mq_take_tail(q, m)) {
		s->stats.snd_packed_mbufs++;
		return;
	}
	sl_mq_push(q, m);
	if (unlikely(mq_bloated(q, s->mbuf_unit, s->snd_slack)))
		c->qflags |= SL_TCPQ_TX_PACK;
}

/* ---- admission ------------------------------------------------------------ */

/* May c's receive side hold one more mbuf? If not, *why says which bound. */
static inline bool
rcv_room(const struct sl_tcp_stack *s, const struct sl_tcp_conn *c,
	 enum sl_drop_reason *why)
{
	uint32_t held = tcp_held(c) + 1;

	if (held > s->max_conn_mbufs) {
		*why = SL_DROP_TCP_CONN_MBUFS;
		return false;
	}
	if (c->addr_slot != SL_TCP_NO_ADDR &&
	    s->addrs[c->addr_slot].mbufs - c->mbufs_billed + held > s->max_addr_mbufs) {
		*why = SL_DROP_TCP_ADDR_MBUFS;
		return false;
	}
	if ((uint64_t)(c->rcvq.n + c->ooo.n + 1) * s->mbuf_unit > 2ull * c->rcv_buf) {
		*why = SL_DROP_TCP_RCV_MEM;
		return false;
	}
	return true;
}

/* Mbufs c must give up before its receive side may take one more. */
static uint32_t
rcv_excess(const struct sl_tcp_stack *s, const struct sl_tcp_conn *c)
{
	uint64_t held = tcp_held(c) + 1, need = 0;
	uint64_t mem_n = c->rcvq.n + c->ooo.n + 1, mem_max = 2ull * c->rcv_buf / s->mbuf_unit;

	if (held > s->max_conn_mbufs)
		need = held - s->max_conn_mbufs;
	if (c->addr_slot != SL_TCP_NO_ADDR) {
		uint64_t a = (uint64_t)s->addrs[c->addr_slot].mbufs - c->mbufs_billed + held;

		if (a > s->max_addr_mbufs)
			need = RTE_MAX(need, a - s->max_addr_mbufs);
	}
	if (mem_n > mem_max)
		need = RTE_MAX(need, mem_n - mem_max);
	return (uint32_t)RTE_MIN(need, (uint64_t)UINT32_MAX);
}

/*
 * Out-of-order data gives way to the in-order segment (as Linux's
 * tcp_prune_ofo_queue): drop from the top of the out-of-order queue,
 * highest sequence first, until the segment at rcv_nxt fits. Without
 * this, an out-of-order queue holding the whole budget (the connection's
 * or its address's cap, or the receive memory) refused the one segment
 * that would drain it, every time the peer resent it: a wedge for good.
 * The peer sees the SACKed data reneged and sends it again (RFC 2018 8).
 * Each mbuf dropped counts under the bound that forced it.
 */
static void
ooo_prune(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port,
	  enum sl_drop_reason why)
{
	uint32_t need = rcv_excess(s, c), keep;
	struct rte_mbuf *m, *last = NULL;

	if (need == 0 || c->ooo.n == 0)
		return;
	keep = need >= c->ooo.n ? 0 : c->ooo.n - need;
	m = c->ooo.head;
	for (uint32_t i = 0; i < keep; i++) {
		last = m;
		m = sl_mq_next(m);
	}
	if (last != NULL) {
		sl_mq_meta(last)->qnext = NULL;
		c->ooo.tail = last;
	} else {
		c->ooo.head = c->ooo.tail = NULL;
	}
	while (m != NULL) {
		struct rte_mbuf *next = sl_mq_next(m);

		c->ooo.bytes -= rte_pktmbuf_data_len(m);
		c->ooo.n--;
		s->stats.ooo_pruned++;
		sl_drop(s->lc, port, why, m);
		m = next;
	}
}

/*
 * Whether segment m (payload only, in the window) may be queued on c, in
 * order or not. Past a bound, the receive queue is packed first; an
 * in-order segment that fits in its tail needs no mbuf of its own, and
 * one that does not is made room for by pruning the out-of-order queue.
 * When refused, m is dropped and counted.
 */
bool
tcp_rcv_admit(struct sl_tcp_stack *s, struct sl_tcp_conn *c, unsigned int port,
	      struct rte_mbuf *m, bool ooo)
{
	struct rte_mbuf *t = c->rcvq.tail;
	enum sl_drop_reason why;

	if (likely(rcv_room(s, c, &why)))
		return true;
	if (!ooo && t != NULL && mbuf_writable(t) &&
	    rte_pktmbuf_data_len(m) <= rte_pktmbuf_tailroom(t)) {
		c->qflags |= SL_TCPQ_RX_PACK;
		return true;
	}
	/* Only a bloated queue is walked: a dense one would gain nothing,
	 * and a peer at its cap must not buy a walk with every segment. */
	if (mq_bloated(&c->rcvq, s->mbuf_unit, 0)) {
		s->stats.rcv_packed_mbufs += tcp_mq_pack(&c->rcvq);
		c->qflags |= SL_TCPQ_RX_PACK;
		if (rcv_room(s, c, &why))
			return true;
	}
	if (!ooo && c->ooo.n > 0) {
		ooo_prune(s, c, port, why);
		if (rcv_room(s, c, &why))
			return true;
	}
	if (why == SL_DROP_TCP_CONN_MBUFS)
		s->stats.conn_mbufs_capped++;
	else if (why == SL_DROP_TCP_ADDR_MBUFS)
		s->stats.addr_mbufs_capped++;
	else
		s->stats.rcv_mem_dropped++;
	sl_drop(s->lc, port, why, m);
	return false;
}

uint32_t
sl_tcp_sndq_room(const struct sl_tcp_stack *s, const struct sl_tcp_conn *c)
{
	uint64_t mem = (uint64_t)c->sndq.n * s->mbuf_unit, mem_max = 2ull * c->snd_buf;
	uint64_t room = c->sndq.bytes >= c->snd_buf ? 0 : c->snd_buf - c->sndq.bytes;
	uint32_t held = tcp_held(c);

	room = RTE_MIN(room, mem >= mem_max ? 0 : (mem_max - mem) / 2);
	room = RTE_MIN(room, held >= s->max_conn_mbufs ? 0 :
		       tcp_mbufs_to_bytes(s, s->max_conn_mbufs - held));
	return (uint32_t)room;
}
