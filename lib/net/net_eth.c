/* Ethernet demultiplexing: the first step of every received packet. */
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "sl_lcore.h"
#include "sl_net.h"

void sl_ipv4_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m);

static inline void
net_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf **pkts,
	  uint16_t n, bool count_rx)
{
	const struct rte_ether_addr *ours = &lc->dp->ports[port].mac;
	struct sl_port_stats *st = &lc->stats[port];
	uint64_t bytes = 0;

	if (n > 0)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[0], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += rte_pktmbuf_pkt_len(m);
		if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth))) {
			sl_drop(lc, port, SL_DROP_ETH_RUNT, m);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (unlikely(!rte_is_same_ether_addr(&eth->dst_addr, ours) &&
			     !rte_is_broadcast_ether_addr(&eth->dst_addr))) {
			sl_drop(lc, port, SL_DROP_ETH_NOT_FOR_US, m);
			continue;
		}
		switch (eth->ether_type) {
		case RTE_BE16(RTE_ETHER_TYPE_IPV4):
			sl_ipv4_input(lc, port, m);
			break;
		case RTE_BE16(RTE_ETHER_TYPE_ARP):
			sl_arp_input(lc, port, m);
			break;
		default:
			sl_drop(lc, port, SL_DROP_ETH_UNKNOWN_TYPE, m);
			break;
		}
	}
	/* Counters gathered per burst, written once. */
	if (count_rx) {
		st->rx_packets += n;
		st->rx_bytes += bytes;
	}
}

void
sl_net_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf **pkts,
	     uint16_t n)
{
	net_input(lc, port, pkts, n, true);
}

void
sl_net_deliver(struct sl_lcore *lc, unsigned int port, struct rte_mbuf **pkts,
	       uint16_t n)
{
	net_input(lc, port, pkts, n, false);
}
