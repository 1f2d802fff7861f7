#ifndef SL_CKSUM_H
#define SL_CKSUM_H

/*
 * Internet checksums (RFC 1071) in software, for ports that do not offload
 * them. Same results as DPDK's rte_raw_cksum(), rte_ipv4_cksum() and
 * rte_ipv4_udptcp_cksum(), fewer instructions: DPDK 22.11 adds 16 bits per
 * loop turn, we add 32 bits at a time into a 64-bit sum, 32 bytes a turn.
 * (A one's complement sum may be taken in any word size and folded: the
 * 16-bit result is the same, 0 only for all-zero input. The callgrind
 * profile in docs/performance.md had checksums at about an eighth of a
 * keep-alive request's instructions.)
 */
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

/* Add buf's 16-bit words (host order, as rte_raw_cksum) to sum. */
static inline uint64_t
sl_cksum_add(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint32_t w[8];

	while (len >= sizeof(w)) {
		memcpy(w, p, sizeof(w));
		sum += (uint64_t)w[0] + w[1] + w[2] + w[3] +
		       (uint64_t)w[4] + w[5] + w[6] + w[7];
		p += sizeof(w);
		len -= sizeof(w);
	}
	while (len >= 4) {
		memcpy(w, p, 4);
		sum += w[0];
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		sum += v;
		p += 2;
		len -= 2;
	}
	if (len != 0) {
		uint16_t left = 0;   /* byte-order independent, as DPDK */

		memcpy(&left, p, 1);
		sum += left;
	}
	return sum;
}

/* Fold a sum to 16 bits, not complemented (rte_raw_cksum's result). */
static inline uint16_t
sl_cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* = rte_raw_cksum(buf, len) */
static inline uint16_t
sl_raw_cksum(const void *buf, size_t len)
{
	return sl_cksum_fold(sl_cksum_add(buf, len, 0));
}

/* = rte_ipv4_cksum(ip): the header checksum to store */
static inline uint16_t
sl_ipv4_cksum(const struct rte_ipv4_hdr *ip)
{
	return (uint16_t)~sl_raw_cksum(ip, rte_ipv4_hdr_len(ip));
}

/* The IPv4 pseudo-header's words (as rte_ipv4_phdr_cksum(ip, 0)) plus sum. */
static inline uint64_t
sl_cksum_phdr(const struct rte_ipv4_hdr *ip, uint64_t sum)
{
	uint16_t l4len = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->total_length) -
						     rte_ipv4_hdr_len(ip)));
	uint8_t tail[4] = { 0, ip->next_proto_id };
	uint32_t t;

	memcpy(tail + 2, &l4len, 2);
	memcpy(&t, tail, 4);
	return sum + ip->src_addr + ip->dst_addr + t;
}

/*
 * Sum of the L4 segment and its pseudo-header, folded, not complemented:
 * 0xffff for a segment with a correct checksum (= the sum
 * rte_ipv4_udptcp_cksum_verify() checks). `l4len` bytes from l4.
 */
static inline uint16_t
sl_ipv4_l4_sum(const struct rte_ipv4_hdr *ip, const void *l4, uint32_t l4len)
{
	return sl_cksum_fold(sl_cksum_phdr(ip, sl_cksum_add(l4, l4len, 0)));
}

/* = rte_ipv4_udptcp_cksum(ip, l4): the checksum to store (l4's is 0) */
static inline uint16_t
sl_ipv4_udptcp_cksum(const struct rte_ipv4_hdr *ip, const void *l4)
{
	uint32_t l3len = rte_be_to_cpu_16(ip->total_length);
	uint16_t ck;

	if (l3len < rte_ipv4_hdr_len(ip))
		ck = 0;   /* as DPDK: a dummy value */
	else
		ck = sl_ipv4_l4_sum(ip, l4, l3len - rte_ipv4_hdr_len(ip));
	ck = (uint16_t)~ck;
	if (ck == 0 && ip->next_proto_id == IPPROTO_UDP)
		ck = 0xffff;
	return ck;
}

#endif
