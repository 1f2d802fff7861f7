/* ICMP: echo reply, built in place on the request's mbuf. */
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "sl_lcore.h"
#include "sl_net.h"

void sl_icmp_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m,
		   struct rte_ipv4_hdr *ip, uint16_t hlen);

void
sl_icmp_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m,
	      struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	uint32_t off = sizeof(struct rte_ether_hdr) + hlen;
	uint32_t len = rte_be_to_cpu_16(ip->total_length) - hlen;
	struct rte_icmp_hdr *icmp;
	uint16_t sum;
	uint32_t tmp;

	if (unlikely(len < sizeof(*icmp) ||
		     rte_pktmbuf_data_len(m) < off + sizeof(*icmp))) {
		sl_drop(lc, port, SL_DROP_ICMP_RUNT, m);
		return;
	}
	icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, off);
	if (unlikely(rte_raw_cksum_mbuf(m, off, len, &sum) != 0 || sum != 0xffff)) {
		sl_drop(lc, port, SL_DROP_ICMP_BAD_CKSUM, m);
		return;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		sl_drop(lc, port, SL_DROP_ICMP_TYPE, m);
		return;
	}
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	rte_raw_cksum_mbuf(m, off, len, &sum);
	icmp->icmp_cksum = (uint16_t)~sum;

	tmp = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = tmp;
	ip->time_to_live = 64;
	ip->fragment_offset = 0;
	m->ol_flags = 0;
	lc->stats[port].icmp_echo_replies++;
	sl_ipv4_output(lc, m);
}
