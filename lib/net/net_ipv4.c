/* IPv4 input validation, local delivery and output routing. */
#include <errno.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "sl_cksum.h"
#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_net.h"

void sl_icmp_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m,
		   struct rte_ipv4_hdr *ip, uint16_t hlen);
void sl_ipv4_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m);

int
sl_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t len, bool cksum_ok,
	      enum sl_drop_reason *why)
{
	uint16_t hlen, total;

	if (len < sizeof(*ip)) {
		*why = SL_DROP_IP_RUNT;
		return -1;
	}
	if ((ip->version_ihl >> 4) != 4) {
		*why = SL_DROP_IP_BAD_VERSION;
		return -1;
	}
	hlen = (uint16_t)((ip->version_ihl & 0xf) * 4);
	if (hlen < sizeof(*ip) || hlen > len) {
		*why = SL_DROP_IP_BAD_HLEN;
		return -1;
	}
	total = rte_be_to_cpu_16(ip->total_length);
	if (total < hlen) {
		*why = SL_DROP_IP_BAD_LEN;
		return -1;
	}
	if (total > len) {
		*why = SL_DROP_IP_RUNT;
		return -1;
	}
	/* A correct header sums to 0xffff, i.e. its one's complement is 0. */
	if (!cksum_ok && sl_raw_cksum(ip, hlen) != 0xffff) {
		*why = SL_DROP_IP_BAD_CKSUM;
		return -1;
	}
	if (ip->time_to_live == 0) {
		*why = SL_DROP_IP_TTL_ZERO;
		return -1;
	}
	if ((ip->fragment_offset &
	     rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
		*why = SL_DROP_IP_FRAGMENT;
		return -1;
	}
	return hlen;
}

static inline bool
bad_source(uint32_t src, const struct sl_port *p)
{
	return src == 0 || (src >> 24) == 127 || (src >> 28) >= 0xe ||
	       src == p->addr || src == (p->addr | ~p->mask);
}

int
sl_ipv4_proto_register(struct sl_lcore *lc, uint8_t proto,
		       void (*input)(void *ctx, unsigned int port,
				     struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
				     uint16_t hlen),
		       void *ctx)
{
	if (proto != IPPROTO_TCP)
		return -EPROTONOSUPPORT;
	lc->ipv4_tcp.input = input;
	lc->ipv4_tcp.ctx = input != NULL ? ctx : NULL;
	return 0;
}

void
sl_ipv4_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m)
{
	const struct sl_port *p = &lc->dp->ports[port];
	struct rte_ipv4_hdr *ip;
	enum sl_drop_reason why;
	uint32_t len = rte_pktmbuf_data_len(m) - sizeof(struct rte_ether_hdr);
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	int hlen;

	if (unlikely(ck == RTE_MBUF_F_RX_IP_CKSUM_BAD)) {
		sl_drop(lc, port, SL_DROP_IP_BAD_CKSUM, m);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
				     sizeof(struct rte_ether_hdr));
	hlen = sl_ipv4_check(ip, len, ck == RTE_MBUF_F_RX_IP_CKSUM_GOOD, &why);
	if (unlikely(hlen < 0)) {
		sl_drop(lc, port, why, m);
		return;
	}
	if (unlikely(rte_be_to_cpu_32(ip->dst_addr) != p->addr)) {
		sl_drop(lc, port, SL_DROP_IP_NOT_FOR_US, m);
		return;
	}
	if (unlikely(bad_source(rte_be_to_cpu_32(ip->src_addr), p))) {
		sl_drop(lc, port, SL_DROP_IP_BAD_SRC, m);
		return;
	}
	/* Drop Ethernet padding so upper layers see exactly the IP payload. */
	rte_pktmbuf_trim(m, (uint16_t)(len - rte_be_to_cpu_16(ip->total_length)));

	switch (ip->next_proto_id) {
	case IPPROTO_ICMP:
		sl_icmp_input(lc, port, m, ip, (uint16_t)hlen);
		break;
	case IPPROTO_TCP:
		if (likely(lc->ipv4_tcp.input != NULL))
			lc->ipv4_tcp.input(lc->ipv4_tcp.ctx, port, m, ip,
					   (uint16_t)hlen);
		else
			sl_drop(lc, port, SL_DROP_TCP_NO_LISTENER, m);
		break;
	case IPPROTO_UDP:
		sl_drop(lc, port, SL_DROP_UDP_NO_HANDLER, m);
		break;
	default:
		sl_drop(lc, port, SL_DROP_IP_PROTO, m);
		break;
	}
}

void
sl_ipv4_finish(const struct sl_port *port, struct rte_mbuf *m,
	       struct rte_ipv4_hdr *ip)
{
	ip->hdr_checksum = 0;
	if (port->tx_ip_cksum_offload) {
		m->l2_len = sizeof(struct rte_ether_hdr);
		m->l3_len = (ip->version_ihl & 0xf) * 4;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	} else {
		ip->hdr_checksum = sl_ipv4_cksum(ip);
	}
}

void
sl_ipv4_output(struct sl_lcore *lc, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
					sizeof(struct rte_ether_hdr));
	uint32_t next_hop;
	int port = sl_conf_port_reaching(lc->dp->conf,
					 rte_be_to_cpu_32(ip->dst_addr), &next_hop);

	if (unlikely(port < 0)) {
		/* Count against port 0: there is no better owner for it. */
		sl_drop(lc, 0, SL_DROP_IP_NO_ROUTE, m);
		return;
	}
	sl_ipv4_finish(&lc->dp->ports[port], m, ip);
	sl_arp_output(lc, (unsigned int)port, next_hop, m);
}

void
sl_ipv4_send(struct sl_lcore *lc, unsigned int port, uint32_t next_hop,
	     struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
					sizeof(struct rte_ether_hdr));

	sl_ipv4_finish(&lc->dp->ports[port], m, ip);
	sl_arp_output(lc, port, next_hop, m);
}
