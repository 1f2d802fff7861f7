/*
 * The fast-path half of packet capture: the filter and the ethdev RX/TX
 * callbacks. They run on the worker that owns the queue, only while a
 * capture is installed; they never block, never allocate outside the
 * capture pool, and count every packet they cannot keep.
 */
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>

#include "sl_capture.h"
#include "capture_private.h"

static inline uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Reads only the first segment, which always holds the headers we look at
 * (our own frames and the PMDs' both put them there). Like tcpdump's
 * "host", an ARP packet matches by its sender or target address.
 */
int
sl_capture_match(const struct sl_capture_filter *f, const void *frame,
		 uint32_t len)
{
	const uint8_t *p = frame;
	uint16_t type, sport, dport;
	uint32_t ihl;

	if (f->host == 0 && f->port == 0)
		return 1;
	if (len < RTE_ETHER_HDR_LEN)
		return 0;
	type = get16(p + 12);
	p += RTE_ETHER_HDR_LEN;
	len -= RTE_ETHER_HDR_LEN;
	if (type == RTE_ETHER_TYPE_VLAN) {
		if (len < 4)
			return 0;
		type = get16(p + 2);
		p += 4;
		len -= 4;
	}
	if (type == RTE_ETHER_TYPE_ARP) {
		/* Ethernet/IPv4 ARP: sender address at 14, target at 24. */
		if (f->port != 0 || len < 28)
			return 0;
		return get32(p + 14) == f->host || get32(p + 24) == f->host;
	}
	if (type != RTE_ETHER_TYPE_IPV4 || len < sizeof(struct rte_ipv4_hdr))
		return 0;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	if (ihl < sizeof(struct rte_ipv4_hdr) || len < ihl)
		return 0;
	if (f->host != 0 && get32(p + 12) != f->host && get32(p + 16) != f->host)
		return 0;
	if (f->port == 0)
		return 1;
	if (p[9] != IPPROTO_TCP && p[9] != IPPROTO_UDP)
		return 0;
	/* Only a first fragment carries the ports. */
	if ((get16(p + 6) & RTE_IPV4_HDR_OFFSET_MASK) != 0 || len < ihl + 4)
		return 0;
	sport = get16(p + ihl);
	dport = get16(p + ihl + 2);
	return sport == f->port || dport == f->port;
}

static inline void
tap_enqueue(struct capture_tap *t, struct rte_mbuf **copies, unsigned int k,
	    uint64_t *queued, uint64_t *full)
{
	unsigned int sent;

	sent = rte_ring_sp_enqueue_burst(t->ring, (void **)copies, k, NULL);
	/* Cannot happen (we copied only what the free count allowed, and we
	 * are the only producer), but never leak a copy if it does. */
	if (unlikely(sent < k)) {
		rte_pktmbuf_free_bulk(copies + sent, k - sent);
		*full += k - sent;
	}
	*queued += sent;
}

/*
 * Copy the matching packets of one burst. Room in the ring is read once:
 * the writer only ever makes more, so copying no more than that never
 * fails to enqueue, and a full ring costs no copy at all.
 */
static inline void
tap_burst(struct capture_tap *t, struct rte_mbuf **pkts, uint16_t n,
	  enum rte_pcapng_direction dir)
{
	struct rte_mbuf *copies[CAPTURE_BURST];
	unsigned int room, k = 0;
	uint64_t queued = 0, full = 0, nombuf = 0, tsc;

	if (n == 0)
		return;
	room = rte_ring_free_count(t->ring);
	tsc = rte_rdtsc();
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *mc;
		struct capture_epb_head *epb;

		if (!sl_capture_match(&t->filter, rte_pktmbuf_mtod(m, const void *),
				      rte_pktmbuf_data_len(m)))
			continue;
		if (room == 0) {
			full++;
			continue;
		}
		/* Every copy passes the same copy_tsc: rte_pcapng (22.11)
		 * converts it through a global time base that it rewrites
		 * when the TSC moves past it, unsafely from several lcores;
		 * with one value primed by the control side, it only reads.
		 * The real time goes in below, converted by the writer. */
		mc = rte_pcapng_copy(t->port_id, t->queue, m, t->pool, UINT32_MAX,
				     t->copy_tsc, dir);
		if (unlikely(mc == NULL)) {
			nombuf++;
			continue;
		}
		epb = rte_pktmbuf_mtod(mc, struct capture_epb_head *);
		epb->timestamp_hi = (uint32_t)(tsc >> 32);
		epb->timestamp_lo = (uint32_t)tsc;
		copies[k++] = mc;
		room--;
		if (k == CAPTURE_BURST) {
			tap_enqueue(t, copies, k, &queued, &full);
			k = 0;
		}
	}
	if (k > 0)
		tap_enqueue(t, copies, k, &queued, &full);
	/* One writer (this lcore): plain stores, relaxed loads elsewhere. */
	t->st.seen += n;
	t->st.copied += queued;
	t->st.dropped_full += full;
	t->st.dropped_nombuf += nombuf;
}

uint16_t
capture_rx_cb(uint16_t port_id __rte_unused, uint16_t queue __rte_unused,
	      struct rte_mbuf *pkts[], uint16_t n, uint16_t max __rte_unused,
	      void *arg)
{
	tap_burst(arg, pkts, n, RTE_PCAPNG_DIRECTION_IN);
	return n;
}

uint16_t
capture_tx_cb(uint16_t port_id __rte_unused, uint16_t queue __rte_unused,
	      struct rte_mbuf *pkts[], uint16_t n, void *arg)
{
	tap_burst(arg, pkts, n, RTE_PCAPNG_DIRECTION_OUT);
	return n;
}
