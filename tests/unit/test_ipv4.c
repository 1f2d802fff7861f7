/* IPv4 header validation on raw buffers that end at a PROT_NONE page. */
#include <rte_ip.h>

#include "sl_net.h"
#include "sl_test.h"

static void
make(struct rte_ipv4_hdr *ip, uint16_t total)
{
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(total);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = rte_cpu_to_be_32(0xc6120002);
	ip->dst_addr = rte_cpu_to_be_32(0xc6120001);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* Run the check on a guarded copy of `len` bytes. */
static int
check(const void *buf, uint32_t len, bool cksum_ok, enum sl_drop_reason *why)
{
	const struct rte_ipv4_hdr *g = sl_test_guarded(buf, len);

	return sl_ipv4_check(g, len, cksum_ok, why);
}

int
main(void)
{
	uint8_t buf[128];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	enum sl_drop_reason why = SL_DROP_MAX;

	memset(buf, 0, sizeof(buf));
	make(ip, 28);
	CHECK_EQ(check(buf, 28, false, &why), 20);
	/* Trailing Ethernet padding is fine: total length is what counts. */
	CHECK_EQ(check(buf, 46, false, &why), 20);

	/* Every prefix of a header is a runt, never an out-of-bounds read. */
	for (uint32_t l = 0; l < 20; l++) {
		why = SL_DROP_MAX;
		CHECK_EQ(check(buf, l, false, &why), -1);
		CHECK_EQ(why, SL_DROP_IP_RUNT);
	}
	make(ip, 28);
	CHECK_EQ(check(buf, 27, false, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_RUNT);

	make(ip, 28);
	ip->version_ihl = 0x65;
	CHECK_EQ(check(buf, 28, true, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_BAD_VERSION);

	make(ip, 28);
	ip->version_ihl = 0x44;
	CHECK_EQ(check(buf, 28, true, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_BAD_HLEN);

	make(ip, 60);
	ip->version_ihl = 0x4f;   /* 60-byte header, only 40 bytes present */
	CHECK_EQ(check(buf, 40, true, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_BAD_HLEN);

	make(ip, 24);
	ip->version_ihl = 0x46;   /* 24-byte header with options is legal */
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	CHECK_EQ(check(buf, 24, false, &why), 24);

	make(ip, 12);             /* total length below the header length */
	CHECK_EQ(check(buf, 28, true, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_BAD_LEN);

	make(ip, 28);
	ip->hdr_checksum ^= 0x0101;
	CHECK_EQ(check(buf, 28, false, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_BAD_CKSUM);
	/* When the NIC vouched for the checksum we do not recompute it. */
	CHECK_EQ(check(buf, 28, true, &why), 20);

	make(ip, 28);
	ip->time_to_live = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	CHECK_EQ(check(buf, 28, false, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_TTL_ZERO);

	make(ip, 28);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	CHECK_EQ(check(buf, 28, true, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_FRAGMENT);
	ip->fragment_offset = rte_cpu_to_be_16(185);  /* a later fragment */
	CHECK_EQ(check(buf, 28, true, &why), -1);
	CHECK_EQ(why, SL_DROP_IP_FRAGMENT);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	CHECK_EQ(check(buf, 28, true, &why), 20);

	/* Drop names are unique and non-empty: telemetry keys depend on it. */
	for (unsigned int i = 0; i < SL_DROP_MAX; i++) {
		CHECK(sl_drop_name(i) != NULL && sl_drop_name(i)[0] != '\0');
		CHECK(sl_drop_desc(i) != NULL && sl_drop_desc(i)[0] != '\0');
		for (unsigned int j = 0; j < i; j++)
			CHECK(strcmp(sl_drop_name(i), sl_drop_name(j)) != 0);
	}
	CHECK(sl_drop_name(SL_DROP_MAX) == NULL);
	return sl_test_result("test_ipv4");
}
