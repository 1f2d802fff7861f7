/*
 * Software steering between worker lcores: per-(from, to) rings, the
 * owner of each received packet, and the owner's drain. See sl_steer.h.
 *
 * Every ring has exactly one producer (the `from` worker) and one consumer
 * (the `to` worker), so they are created RING_F_SP_ENQ | RING_F_SC_DEQ and
 * nobody takes a lock. Counters are per lcore and per port, written only
 * by that lcore (steered_out/steer_no_owner/drop_steer_ring_full by the
 * receiver, steered_in by the owner).
 */
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "sl_lcore.h"
#include "sl_log.h"
#include "sl_net.h"
#include "sl_steer.h"
#include "sl_tcp.h"

/* Largest RX burst the worker asks for (runtime.burst <= 256). */
#define STEER_RX_MAX 256
/* "Every other worker": an ARP frame. */
#define STEER_ALL (-1)

const uint8_t sl_steer_rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* A TX hand-off ring we drain, and the port its frames go out on. */
struct steer_txin {
	struct rte_ring *ring;
	unsigned int port;
};

/* One worker's view. Only that worker touches it once launched. */
struct sl_steer_lcore {
	unsigned int me;
	unsigned int n;                        /* workers */
	uint16_t eph_lo, eph_hi;
	uint32_t eph_span;                     /* sl_tcp_eph_span() */
	uint8_t port_of_ethdev[RTE_MAX_ETHPORTS];
	uint8_t mode[SL_MAX_PORTS];            /* enum sl_steer_mode */
	struct rte_ring **to;                  /* [n]; NULL at [me] */
	struct rte_ring **from;                /* [n]; NULL at [me] */
	uint16_t *n_out;                       /* [n] packets gathered per owner */
	struct rte_mbuf **out;                 /* [n][STEER_RX_MAX] */
	/* Frames that workers without a queue on a port want sent on ours. */
	unsigned int n_txin;
	struct steer_txin *txin;               /* [n_ports * n] at most */
};

const char *
sl_steer_mode_name(enum sl_steer_mode mode)
{
	switch (mode) {
	case SL_STEER_SOFTWARE: return "software";
	case SL_STEER_RSS: return "rss";
	default: return "single";
	}
}

/*
 * The queue a client flow lands on is its owner only where start-up
 * programmed the port's Toeplitz key and RETA (p->steer, set by
 * lib/port/port_rss.c). Everything else, af_xdp and tap included, is
 * steered in software.
 */
enum sl_steer_mode
sl_steer_port_mode(const struct sl_dp *dp, unsigned int port)
{
	if (dp->n_workers < 2)
		return SL_STEER_SINGLE;
	return dp->ports[port].steer == SL_STEER_RSS ? SL_STEER_RSS :
	       SL_STEER_SOFTWARE;
}

/* Its counters are the ports' (lc->stats), which lib/core resets. */
struct sl_lcore_module sl_steer_module = { .name = "steer" };

static void
steer_free(struct sl_steer_lcore *st)
{
	if (st == NULL)
		return;
	rte_free(st->to);
	rte_free(st->from);
	rte_free(st->n_out);
	rte_free(st->out);
	rte_free(st->txin);
	rte_free(st);
}

/* Free every mbuf still in a ring; returns how many. */
static unsigned int
ring_empty(struct rte_ring *r)
{
	struct rte_mbuf *m;
	unsigned int n = 0;

	while (rte_ring_sc_dequeue(r, (void **)&m) == 0) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

void
sl_steer_teardown(struct sl_dp *dp)
{
	unsigned int left = 0;

	for (unsigned int w = 0; w < dp->n_workers; w++) {
		struct sl_lcore *lc = dp->workers[w];
		struct sl_steer_lcore *st = lc ? sl_steer_of(lc) : NULL;

		if (st == NULL)
			continue;
		/* Each ring is freed once, by its consumer. */
		for (unsigned int s = 0; s < st->n && st->from != NULL; s++)
			if (st->from[s] != NULL) {
				left += ring_empty(st->from[s]);
				rte_ring_free(st->from[s]);
			}
		for (unsigned int i = 0; i < st->n_txin; i++) {
			left += ring_empty(st->txin[i].ring);
			rte_ring_free(st->txin[i].ring);
		}
		for (unsigned int p = 0; p < SL_MAX_PORTS; p++)
			lc->txq[p].handoff = NULL;
		steer_free(st);
		sl_lcore_module_detach(lc, &sl_steer_module, st);
	}
	if (left > 0)
		SL_LOG(INFO, "steering: %u packet(s) were still in the rings at stop",
		       left);
}

int
sl_steer_setup(struct sl_dp *dp, char *err, size_t errlen)
{
	unsigned int n = dp->n_workers;
	char name[RTE_RING_NAMESIZE];

	if (n < 2)
		return 0;
	for (unsigned int w = 0; w < n; w++) {
		struct sl_lcore *lc = dp->workers[w];
		int socket = (int)rte_lcore_to_socket_id(lc->lcore_id);
		const struct sl_conf_tcp *tc = sl_tcp_of(lc)->conf;
		struct sl_steer_lcore *st;

		st = rte_zmalloc_socket("sl_steer", sizeof(*st), RTE_CACHE_LINE_SIZE,
					socket);
		if (st == NULL)
			goto nomem;
		if (sl_lcore_module_attach(lc, &sl_steer_module, st) != 0) {
			steer_free(st);
			goto nomem;
		}
		st->me = w;
		st->n = n;
		st->eph_lo = tc->ephemeral_lo;
		st->eph_hi = tc->ephemeral_hi;
		st->eph_span = sl_tcp_eph_span(tc->ephemeral_lo, tc->ephemeral_hi, n);
		st->to = rte_zmalloc_socket("sl_steer", n * sizeof(*st->to), 0, socket);
		st->from = rte_zmalloc_socket("sl_steer", n * sizeof(*st->from), 0,
					      socket);
		st->n_out = rte_zmalloc_socket("sl_steer", n * sizeof(*st->n_out), 0,
					       socket);
		st->out = rte_zmalloc_socket("sl_steer",
					     (size_t)n * STEER_RX_MAX * sizeof(*st->out),
					     RTE_CACHE_LINE_SIZE, socket);
		st->txin = rte_zmalloc_socket("sl_steer", (size_t)dp->n_ports * n *
					      sizeof(*st->txin), 0, socket);
		if (st->to == NULL || st->from == NULL || st->n_out == NULL ||
		    st->out == NULL || st->txin == NULL)
			goto nomem;
		for (unsigned int p = 0; p < dp->n_ports; p++) {
			st->port_of_ethdev[dp->ports[p].port_id] = (uint8_t)p;
			st->mode[p] = (uint8_t)sl_steer_port_mode(dp, p);
		}
	}
	/* Ring (from s, to d) lives on the consumer's socket: it reads more. */
	for (unsigned int d = 0; d < n; d++) {
		struct sl_lcore *to = dp->workers[d];

		for (unsigned int s = 0; s < n; s++) {
			struct rte_ring *r;

			if (s == d)
				continue;
			snprintf(name, sizeof(name), "sl_steer_%u_%u", s, d);
			r = rte_ring_create(name, SL_STEER_RING_SIZE,
					    (int)rte_lcore_to_socket_id(to->lcore_id),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r == NULL) {
				snprintf(err, errlen, "cannot create steering ring %s: %s",
					 name, rte_strerror(rte_errno));
				sl_steer_teardown(dp);
				return -1;
			}
			sl_steer_of(to)->from[s] = r;
			sl_steer_of(dp->workers[s])->to[d] = r;
		}
	}
	/*
	 * A port with fewer queues than workers: worker s >= queues sends
	 * through worker s % queues, over a ring of its own per port.
	 */
	for (unsigned int p = 0; p < dp->n_ports; p++) {
		unsigned int nq = dp->ports[p].n_queues;

		for (unsigned int s = nq; s < n; s++) {
			struct sl_lcore *to = dp->workers[s % nq];
			struct sl_steer_lcore *tst = sl_steer_of(to);
			struct rte_ring *r;

			snprintf(name, sizeof(name), "sl_txh_%u_%u", s, p);
			r = rte_ring_create(name, SL_STEER_RING_SIZE,
					    (int)rte_lcore_to_socket_id(to->lcore_id),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r == NULL) {
				snprintf(err, errlen, "cannot create TX hand-off ring "
					 "%s: %s", name, rte_strerror(rte_errno));
				sl_steer_teardown(dp);
				return -1;
			}
			tst->txin[tst->n_txin++] = (struct steer_txin){ .ring = r, .port = p };
			dp->workers[s]->txq[p].handoff = r;
		}
	}
	for (unsigned int p = 0; p < dp->n_ports; p++)
		SL_LOG(INFO, "port %s: %u workers, connection ownership by %s steering",
		       dp->ports[p].name, n,
		       sl_steer_mode_name(sl_steer_port_mode(dp, p)));
	return 0;
nomem:
	snprintf(err, errlen, "cannot allocate steering state for %u workers", n);
	sl_steer_teardown(dp);
	return -1;
}

/*
 * The owner of a received frame: a worker index, STEER_ALL, or `me`.
 * Headers are read, not validated: a frame that looks odd stays here and
 * the normal input path counts why it is dropped. The owner validates
 * everything it is handed, as it would had the NIC given it the packet.
 */
static inline int
steer_owner(struct sl_lcore *lc, const struct sl_steer_lcore *st, unsigned int port,
	    const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip;
	const rte_be16_t *ports;
	uint32_t len = rte_pktmbuf_data_len(m), hlen;
	uint16_t sport, dport;
	int owner;

	if (unlikely(len < sizeof(*eth)))
		return (int)st->me;
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return STEER_ALL;
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    len < sizeof(*eth) + sizeof(*ip))
		return (int)st->me;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	hlen = (ip->version_ihl & 0xf) * 4u;
	if (ip->next_proto_id != IPPROTO_TCP || hlen < sizeof(*ip) ||
	    len < sizeof(*eth) + hlen + 4 ||
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return (int)st->me;
	ports = (const rte_be16_t *)((const uint8_t *)ip + hlen);
	sport = rte_be_to_cpu_16(ports[0]);
	dport = rte_be_to_cpu_16(ports[1]);
	/* A reply to one of our connections: its port names the owner. */
	owner = sl_tcp_eph_owner(st->eph_lo, st->eph_span, st->n, dport);
	if (owner >= 0)
		return owner;
	if (unlikely(dport >= st->eph_lo && dport <= st->eph_hi)) {
		/* In the range but in nobody's block: no port we ever used. */
		lc->stats[port].steer_no_owner++;
		return (int)st->me;
	}
	if (st->mode[port] == SL_STEER_RSS)
		return (int)st->me;
	return (int)sl_steer_flow_owner(rte_be_to_cpu_32(ip->src_addr),
					rte_be_to_cpu_32(ip->dst_addr),
					sport, dport, st->n);
}

/* Hand what was gathered for each owner over, in one enqueue per ring. */
static inline void
steer_flush(struct sl_lcore *lc, struct sl_steer_lcore *st, unsigned int port)
{
	struct sl_port_stats *ps = &lc->stats[port];

	for (unsigned int d = 0; d < st->n; d++) {
		struct rte_mbuf **out = st->out + (size_t)d * STEER_RX_MAX;
		uint16_t k = st->n_out[d];
		unsigned int sent;

		if (k == 0)
			continue;
		st->n_out[d] = 0;
		sent = rte_ring_sp_enqueue_burst(st->to[d], (void **)out, k, NULL);
		ps->steered_out += sent;
		/* The owner is not keeping up; its packets cannot wait here. */
		for (unsigned int i = sent; i < k; i++)
			sl_drop(lc, port, SL_DROP_STEER_RING_FULL, out[i]);
	}
}

/* A copy of an ARP frame for every other worker's neighbour table. */
static inline void
steer_arp_copies(struct sl_lcore *lc, struct sl_steer_lcore *st, unsigned int port,
		 struct rte_mbuf *m)
{
	for (unsigned int d = 0; d < st->n; d++) {
		struct rte_mbuf *c;

		if (d == st->me)
			continue;
		c = rte_pktmbuf_copy(m, lc->pool, 0, UINT32_MAX);
		if (unlikely(c == NULL)) {
			lc->stats[port].drops[SL_DROP_NO_MBUF]++;
			continue;
		}
		c->port = m->port;
		st->out[(size_t)d * STEER_RX_MAX + st->n_out[d]++] = c;
	}
}

uint16_t
sl_steer_rx(struct sl_lcore *lc, unsigned int port, struct rte_mbuf **pkts,
	    uint16_t n)
{
	struct sl_steer_lcore *st = sl_steer_of(lc);
	struct sl_port_stats *ps = &lc->stats[port];
	uint16_t ethdev = lc->dp->ports[port].port_id;
	uint64_t bytes = 0;
	uint16_t kept = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		int owner;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += rte_pktmbuf_pkt_len(m);
		owner = steer_owner(lc, st, port, m);
		if (likely(owner == (int)st->me)) {
			pkts[kept++] = m;
			continue;
		}
		/* The owner maps it back to our port index by ethdev id. */
		m->port = ethdev;
		if (owner == STEER_ALL) {
			/* Copies first: answering a request rewrites m in place. */
			steer_arp_copies(lc, st, port, m);
			pkts[kept++] = m;
			continue;
		}
		st->out[(size_t)owner * STEER_RX_MAX + st->n_out[owner]++] = m;
	}
	steer_flush(lc, st, port);
	/* What the NIC gave this lcore, whoever ends up processing it. */
	ps->rx_packets += n;
	ps->rx_bytes += bytes;
	return kept;
}

uint32_t
sl_steer_drain(struct sl_lcore *lc, uint32_t *tx_taken)
{
	struct sl_steer_lcore *st = sl_steer_of(lc);
	struct rte_mbuf *pkts[SL_STEER_DRAIN_BURST];
	uint32_t total = 0;

	for (unsigned int s = 0; s < st->n; s++) {
		unsigned int k;

		if (s == st->me)
			continue;
		k = rte_ring_sc_dequeue_burst(st->from[s], (void **)pkts,
					      SL_STEER_DRAIN_BURST, NULL);
		for (unsigned int i = 0; i < k; i++) {
			struct rte_mbuf *m = pkts[i];
			unsigned int port = st->port_of_ethdev[m->port];
			const struct rte_ether_hdr *eth =
				rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

			if (i + 1 < k)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
			lc->stats[port].steered_in++;
			/*
			 * An ARP frame here is always a copy: the receiver
			 * answers the original; we only learn from it.
			 */
			if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
				sl_arp_learn(lc, port, m);
			else
				sl_net_deliver(lc, port, &m, 1);
		}
		total += k;
	}
	/* Frames to send on a queue of ours for workers that have none. */
	*tx_taken = 0;
	for (unsigned int i = 0; i < st->n_txin; i++) {
		unsigned int k = rte_ring_sc_dequeue_burst(st->txin[i].ring,
				(void **)pkts, SL_STEER_DRAIN_BURST, NULL);

		for (unsigned int j = 0; j < k; j++)
			sl_tx(lc, st->txin[i].port, pkts[j]);
		*tx_taken += k;
	}
	return total;
}
