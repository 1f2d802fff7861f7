/*
 * ARP (RFC 826) with a per-lcore neighbour cache.
 *
 * Lifecycle of an entry: INCOMPLETE while we ask, REACHABLE for `lifetime`
 * after the neighbour last proved itself, then STALE: still used, but each
 * tick re-asks by unicast until it answers (back to REACHABLE) or `retries`
 * requests go unanswered (entry removed). Packets for an INCOMPLETE entry wait
 * in a bounded per-lcore queue; when resolution fails they are dropped with
 * the arp_unresolved counter.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"

#define ARP_TICK_MS 10

struct sl_arp_table *
sl_arp_create(const char *name, int socket, const struct sl_conf_arp *conf,
	      uint64_t tsc_hz)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = conf->table_size,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
	};
	struct sl_arp_table *t;

	t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		goto nomem;
	t->size = conf->table_size;
	t->lifetime_tsc = (uint64_t)conf->lifetime_s * tsc_hz;
	t->retry_tsc = (uint64_t)conf->retry_ms * tsc_hz / 1000;
	t->retries = conf->retries;
	t->pending_max = conf->pending_max;
	t->index = rte_hash_create(&hp);
	if (t->index == NULL)
		goto fail;
	/* rte_hash may hand out positions up to its rounded-up capacity. */
	t->size = rte_hash_max_key_id(t->index) + 1;
	t->entries = rte_zmalloc_socket(name, t->size * sizeof(*t->entries),
					RTE_CACHE_LINE_SIZE, socket);
	t->pending = rte_zmalloc_socket(name,
					(conf->pending_max + 1) * sizeof(*t->pending),
					RTE_CACHE_LINE_SIZE, socket);
	if (t->entries == NULL || t->pending == NULL)
		goto nomem;
	return t;
nomem:
	rte_errno = ENOMEM;
fail:
	sl_arp_free(t);
	return NULL;
}

void
sl_arp_flush_pending(struct sl_arp_table *t)
{
	for (uint32_t i = 0; i < t->n_pending; i++)
		rte_pktmbuf_free(t->pending[i].m);
	t->n_pending = 0;
}

void
sl_arp_free(struct sl_arp_table *t)
{
	if (t == NULL)
		return;
	if (t->pending != NULL)
		sl_arp_flush_pending(t);
	rte_hash_free(t->index);
	rte_free(t->entries);
	rte_free(t->pending);
	rte_free(t);
}

static struct sl_arp_entry *
arp_find(struct sl_arp_table *t, uint32_t ip)
{
	/* Fibonacci hashing: the top bits of ip * 2^32/phi. */
	struct sl_arp_entry **slot =
		&t->cache[(ip * 2654435761u) >> (32 - __builtin_ctz(SL_ARP_CACHE_SLOTS))];
	struct sl_arp_entry *e = *slot;
	int32_t pos;

	/* arp_del() frees an entry (ip 0, FREE); arp_add() may reuse it for
	 * another IP. Either way the check below fails, and rte_hash answers. */
	if (e != NULL && e->ip == ip && e->state != SL_ARP_FREE)
		return e;
	pos = rte_hash_lookup(t->index, &ip);
	if (pos < 0)
		return NULL;
	*slot = &t->entries[pos];
	return *slot;
}

static struct sl_arp_entry *
arp_add(struct sl_arp_table *t, uint32_t ip, uint8_t port)
{
	int32_t pos = rte_hash_add_key(t->index, &ip);
	struct sl_arp_entry *e;

	if (pos < 0 || (uint32_t)pos >= t->size)
		return NULL;
	e = &t->entries[pos];
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->port = port;
	t->n_used++;
	return e;
}

static void
arp_del(struct sl_arp_table *t, struct sl_arp_entry *e)
{
	uint32_t ip = e->ip;

	if (rte_hash_del_key(t->index, &ip) >= 0)
		t->n_used--;
	e->state = SL_ARP_FREE;
	e->ip = 0;
}

/* Build and queue an ARP request for `target` (broadcast unless dst given). */
static void
arp_send_request(struct sl_lcore *lc, unsigned int port, uint32_t target,
		 const struct rte_ether_addr *dst, uint32_t sender)
{
	const struct sl_port *p = &lc->dp->ports[port];
	struct rte_mbuf *m = rte_pktmbuf_alloc(lc->pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (unlikely(m == NULL)) {
		lc->stats[port].drops[SL_DROP_NO_MBUF]++;
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m,
			sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	eth->src_addr = p->mac;
	if (dst != NULL)
		eth->dst_addr = *dst;
	else
		memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = p->mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(sender);
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(target);
	lc->stats[port].arp_requests_sent++;
	sl_tx(lc, port, m);
}

void
sl_arp_announce(struct sl_lcore *lc, unsigned int port)
{
	uint32_t ours = lc->dp->ports[port].addr;

	arp_send_request(lc, port, ours, NULL, ours);
}

static inline void
fill_eth(const struct sl_port *p, const struct rte_ether_addr *dst,
	 struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	eth->dst_addr = *dst;
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
}

/* Send every packet parked on `e` now that its MAC is known. */
static void
arp_release_pending(struct sl_lcore *lc, struct sl_arp_entry *e)
{
	struct sl_arp_table *t = lc->arp;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < t->n_pending; i++) {
		struct sl_arp_pending *pk = &t->pending[i];

		if (pk->next_hop == e->ip) {
			fill_eth(&lc->dp->ports[pk->port], &e->mac, pk->m);
			sl_tx(lc, pk->port, pk->m);
		} else {
			t->pending[keep++] = *pk;
		}
	}
	t->n_pending = keep;
}

static void
arp_drop_pending(struct sl_lcore *lc, uint32_t next_hop)
{
	struct sl_arp_table *t = lc->arp;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < t->n_pending; i++) {
		struct sl_arp_pending *pk = &t->pending[i];

		if (pk->next_hop == next_hop)
			sl_drop(lc, pk->port, SL_DROP_ARP_UNRESOLVED, pk->m);
		else
			t->pending[keep++] = *pk;
	}
	t->n_pending = keep;
}

/* The neighbour proved itself: record its MAC and release waiting packets. */
static void
arp_confirm(struct sl_lcore *lc, struct sl_arp_entry *e,
	    const struct rte_ether_addr *mac)
{
	e->mac = *mac;
	e->state = SL_ARP_REACHABLE;
	e->probes = 0;
	e->confirmed_tsc = lc->now;
	e->expire_tsc = lc->now + lc->arp->lifetime_tsc;
	arp_release_pending(lc, e);
}

void
sl_arp_output(struct sl_lcore *lc, unsigned int port, uint32_t next_hop,
	      struct rte_mbuf *m)
{
	struct sl_arp_table *t = lc->arp;
	struct sl_arp_entry *e = arp_find(t, next_hop);

	if (likely(e != NULL && e->state >= SL_ARP_REACHABLE)) {
		if (unlikely(e->state == SL_ARP_REACHABLE && lc->now > e->expire_tsc)) {
			/* Keep sending while we re-validate by unicast. */
			e->state = SL_ARP_STALE;
			e->probes = 0;
			e->next_probe_tsc = lc->now;
		}
		fill_eth(&lc->dp->ports[port], &e->mac, m);
		sl_tx(lc, port, m);
		return;
	}
	if (e == NULL) {
		e = arp_add(t, next_hop, (uint8_t)port);
		if (e == NULL) {
			sl_drop(lc, port, SL_DROP_ARP_TABLE_FULL, m);
			return;
		}
		e->state = SL_ARP_INCOMPLETE;
		e->probes = 1;
		e->next_probe_tsc = lc->now + t->retry_tsc;
		arp_send_request(lc, port, next_hop, NULL, lc->dp->ports[port].addr);
	}
	if (t->n_pending >= t->pending_max) {
		sl_drop(lc, port, SL_DROP_ARP_PENDING_FULL, m);
		return;
	}
	t->pending[t->n_pending++] = (struct sl_arp_pending){
		.m = m, .next_hop = next_hop, .port = (uint8_t)port };
}

/* A well-formed Ethernet/IPv4 request or reply, or NULL with *why set. */
static struct rte_arp_hdr *
arp_check(struct rte_mbuf *m, enum sl_drop_reason *why)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp;
	uint16_t op;

	if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp))) {
		*why = SL_DROP_ARP_MALFORMED;
		return NULL;
	}
	arp = (struct rte_arp_hdr *)(eth + 1);
	if (unlikely(arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
		     arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
		     arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)) {
		*why = SL_DROP_ARP_MALFORMED;
		return NULL;
	}
	op = rte_be_to_cpu_16(arp->arp_opcode);
	if (unlikely(op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)) {
		*why = SL_DROP_ARP_BAD_OP;
		return NULL;
	}
	return arp;
}

/*
 * RFC 826 merge: refresh a sender we already know, whoever the packet was
 * for. A sender of 0.0.0.0 is an address probe (RFC 5227) and teaches
 * nothing. Senders outside the port's subnet are ignored so a stray frame
 * cannot plant entries.
 */
static void
arp_merge(struct sl_lcore *lc, unsigned int port, const struct rte_arp_hdr *arp)
{
	const struct sl_port *p = &lc->dp->ports[port];
	uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
	uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
	struct sl_arp_entry *e;

	if (sip == 0 || (sip & p->mask) != (p->addr & p->mask) || sip == p->addr ||
	    rte_is_multicast_ether_addr(&arp->arp_data.arp_sha))
		return;
	e = arp_find(lc->arp, sip);
	if (e == NULL && tip == p->addr)
		e = arp_add(lc->arp, sip, (uint8_t)port);
	if (e == NULL && tip == p->addr)
		lc->stats[port].drops[SL_DROP_ARP_TABLE_FULL]++;
	if (e != NULL)
		arp_confirm(lc, e, &arp->arp_data.arp_sha);
}

void
sl_arp_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m)
{
	const struct sl_port *p = &lc->dp->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	enum sl_drop_reason why;
	struct rte_arp_hdr *arp = arp_check(m, &why);
	uint32_t sip, tip;

	if (unlikely(arp == NULL)) {
		sl_drop(lc, port, why, m);
		return;
	}
	sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
	tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
	arp_merge(lc, port, arp);
	if (tip != p->addr || sip == tip) {
		/* Someone else's, or a gratuitous announcement (already merged). */
		sl_drop(lc, port, SL_DROP_ARP_NOT_FOR_US, m);
		return;
	}
	if (arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY)) {
		lc->stats[port].arp_replies_received++;
		rte_pktmbuf_free(m);
		return;
	}
	/* Answer in place: the request becomes our reply. */
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = p->mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(p->addr);
	eth->dst_addr = arp->arp_data.arp_tha;
	eth->src_addr = p->mac;
	m->ol_flags = 0;
	lc->stats[port].arp_replies_sent++;
	sl_tx(lc, port, m);
}

void
sl_arp_learn(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m)
{
	enum sl_drop_reason why;
	const struct rte_arp_hdr *arp = arp_check(m, &why);

	if (arp != NULL)
		arp_merge(lc, port, arp);
	rte_pktmbuf_free(m);
}

void
sl_arp_tick(struct sl_lcore *lc)
{
	struct sl_arp_table *t = lc->arp;

	if (lc->now < lc->next_tick)
		return;
	lc->next_tick = lc->now + sl_ms_to_tsc(lc, ARP_TICK_MS);
	if (t->n_used == 0)
		return;
	for (uint32_t i = 0; i < t->size; i++) {
		struct sl_arp_entry *e = &t->entries[i];

		if (e->state == SL_ARP_FREE)
			continue;
		if (e->state == SL_ARP_REACHABLE) {
			if (lc->now > e->expire_tsc) {
				e->state = SL_ARP_STALE;
				e->probes = 0;
				e->next_probe_tsc = lc->now;
			} else {
				continue;
			}
		}
		if (lc->now < e->next_probe_tsc)
			continue;
		if (e->probes >= t->retries) {
			arp_drop_pending(lc, e->ip);
			arp_del(t, e);
			continue;
		}
		e->probes++;
		e->next_probe_tsc = lc->now + t->retry_tsc;
		/* Re-validate a stale entry by unicast, as RFC 1122 2.3.2.1 suggests. */
		arp_send_request(lc, e->port, e->ip,
				 e->state == SL_ARP_STALE ? &e->mac : NULL,
				 lc->dp->ports[e->port].addr);
	}
}

unsigned int
sl_arp_snapshot(const struct sl_arp_table *t, uint64_t now, uint64_t tsc_hz,
		struct sl_arp_info *out, unsigned int max)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < t->size && n < max; i++) {
		const volatile struct sl_arp_entry *e = &t->entries[i];
		uint8_t state = e->state;

		if (state == SL_ARP_FREE || e->ip == 0)
			continue;
		out[n].ip = e->ip;
		out[n].port = e->port;
		out[n].state = state;
		memcpy(&out[n].mac, (const void *)&e->mac, sizeof(out[n].mac));
		out[n].age_ms = e->confirmed_tsc && now > e->confirmed_tsc ?
			(now - e->confirmed_tsc) * 1000 / tsc_hz : 0;
		n++;
	}
	return n;
}

const char *
sl_arp_state_name(unsigned int state)
{
	switch (state) {
	case SL_ARP_INCOMPLETE: return "incomplete";
	case SL_ARP_REACHABLE: return "reachable";
	case SL_ARP_STALE: return "stale";
	default: return "free";
	}
}
