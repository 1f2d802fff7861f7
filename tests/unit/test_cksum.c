/* sl_cksum.h computes what DPDK's rte_ip.h checksums compute. */
#include <stdint.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "sl_cksum.h"
#include "sl_test.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
next(void)
{
	return sl_test_rand(&rng);
}

/* Bytes: random, all 0x00, or all 0xff (the sums' edge cases). */
static void
fill(uint8_t *b, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++)
		b[i] = kind == 0 ? (uint8_t)next() : kind == 1 ? 0 : 0xff;
}

int
main(void)
{
	static uint8_t buf[4096 + 16];
	unsigned int mism = 0;

	/* every length to 2 KB at every alignment to 8, three fills */
	for (int kind = 0; kind < 3; kind++)
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len <= 2048; len++) {
				fill(buf + off, len, kind);
				if (sl_raw_cksum(buf + off, len) != rte_raw_cksum(buf + off, len))
					mism++;
			}
	CHECK_EQ(mism, 0);
	fill(buf, 4096, 2);
	CHECK_EQ(sl_raw_cksum(buf, 4096), rte_raw_cksum(buf, 4096));

	/* IPv4 headers (IHL 5..15) and TCP/UDP segments behind them */
	mism = 0;
	for (int i = 0; i < 200000; i++) {
		uint8_t *p = buf + (next() & 7);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
		unsigned int ihl = 5 + (unsigned int)(next() % 11);
		unsigned int l4 = (unsigned int)(next() % 1600);
		int kind = (int)(next() % 8) == 0 ? 1 + (int)(next() & 1) : 0;
		uint16_t total;

		fill(p, ihl * 4 + l4, kind);
		ip->version_ihl = (uint8_t)(0x40 | ihl);
		ip->next_proto_id = (next() & 1) ? IPPROTO_TCP : IPPROTO_UDP;
		total = (uint16_t)(ihl * 4 + l4);
		if (next() % 64 == 0)
			total = (uint16_t)(next() % (ihl * 4));   /* shorter than the header */
		ip->total_length = rte_cpu_to_be_16(total);
		if (sl_ipv4_cksum(ip) != rte_ipv4_cksum(ip))
			mism++;
		if (total >= ihl * 4) {
			void *l4h = p + ihl * 4;
			uint16_t want, got;
			uint32_t s;

			if (sl_ipv4_udptcp_cksum(ip, l4h) != rte_ipv4_udptcp_cksum(ip, l4h))
				mism++;
			/* the receive-side check, as tcp_cksum_ok did it */
			s = rte_raw_cksum(l4h, total - ihl * 4);
			s += rte_ipv4_phdr_cksum(ip, 0);
			s = (s & 0xffff) + (s >> 16);
			s = (s & 0xffff) + (s >> 16);
			want = (uint16_t)s;
			got = sl_ipv4_l4_sum(ip, l4h, total - ihl * 4);
			if (want != got)
				mism++;
		}
	}
	CHECK_EQ(mism, 0);

	/* a segment checksummed by one verifies with the other */
	{
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(buf + 20);

		fill(buf, 20 + 20 + 123, 0);
		ip->version_ihl = 0x45;
		ip->next_proto_id = IPPROTO_TCP;
		ip->total_length = rte_cpu_to_be_16(20 + 20 + 123);
		th->cksum = 0;
		th->cksum = sl_ipv4_udptcp_cksum(ip, th);
		CHECK_EQ(sl_ipv4_l4_sum(ip, th, 20 + 123), 0xffff);
		th->cksum ^= 1;
		CHECK(sl_ipv4_l4_sum(ip, th, 20 + 123) != 0xffff);
	}
	return sl_test_result("cksum");
}
