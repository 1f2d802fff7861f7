/* Packet capture: the /sluice/capture_start argument parser and the
 * host/port filter the taps run, on hand-built frames placed right before a
 * PROT_NONE page so a read past the end crashes. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sl_capture.h"
#include "sl_test.h"

static int
parse(const char *s, struct sl_capture_params *p, char *err)
{
	return sl_capture_parse(s, p, err, 128);
}

static void
test_parse_ok(void)
{
	struct sl_capture_params p;
	char err[128] = "";

	CHECK_EQ(parse("0,both", &p, err), 0);
	CHECK_STR(p.port, "0");
	CHECK_EQ(p.dir, SL_CAPTURE_BOTH);
	CHECK_EQ(p.count, SL_CAPTURE_COUNT_DEFAULT);
	CHECK_EQ(p.seconds, SL_CAPTURE_SECONDS_DEFAULT);
	CHECK_EQ(p.ring, SL_CAPTURE_RING_DEFAULT);
	CHECK_EQ(p.filter.host, 0);
	CHECK_EQ(p.filter.port, 0);

	CHECK_EQ(parse("client,rx,50,3,host=198.18.0.2,port=80,ring=8", &p, err), 0);
	CHECK_STR(p.port, "client");
	CHECK_EQ(p.dir, SL_CAPTURE_RX);
	CHECK_EQ(p.count, 50);
	CHECK_EQ(p.seconds, 3);
	CHECK_EQ(p.filter.host, 0xc6120002u);
	CHECK_EQ(p.filter.port, 80);
	CHECK_EQ(p.ring, 8);

	/* Empty positional fields keep their defaults; options go anywhere
	 * after the direction, and count/seconds also work as options. */
	CHECK_EQ(parse("1,tx,,7", &p, err), 0);
	CHECK_EQ(p.count, SL_CAPTURE_COUNT_DEFAULT);
	CHECK_EQ(p.seconds, 7);
	CHECK_EQ(parse("1,tx,port=443,20", &p, err), 0);
	CHECK_EQ(p.count, 20);
	CHECK_EQ(p.filter.port, 443);
	CHECK_EQ(parse("1,tx,seconds=9,count=1000000", &p, err), 0);
	CHECK_EQ(p.seconds, 9);
	CHECK_EQ(p.count, 1000000);
}

static void
test_parse_errors(void)
{
	static const struct { const char *in, *msg; } bad[] = {
		{ "", "usage" },
		{ "0", "usage" },
		{ "0,sideways", "direction must be" },
		{ ",rx", "usage" },
		{ "0,host=1.2.3.4,rx", "usage" },
		{ "0,rx,0", "count must be" },
		{ "0,rx,1000001", "count must be" },
		{ "0,rx,-5", "count must be" },
		{ "0,rx,12abc", "count must be" },
		{ "0,rx,99999999999999999999", "count must be" },
		{ "0,rx,10,0", "seconds must be" },
		{ "0,rx,10,3601", "seconds must be" },
		{ "0,rx,10,5,extra", "unexpected" },
		{ "0,rx,host=1.2.3", "host must be" },
		{ "0,rx,host=0.0.0.0", "host must be" },
		{ "0,rx,host=256.1.1.1", "host must be" },
		{ "0,rx,port=0", "port must be" },
		{ "0,rx,port=65536", "port must be" },
		{ "0,rx,port=", "port must be" },
		{ "0,rx,ring=4", "ring must be" },
		{ "0,rx,ring=16385", "ring must be" },
		{ "0,rx,file=/etc/passwd", "unknown option" },
		{ "0,rx,path=/tmp/x", "unknown option" },
	};
	struct sl_capture_params p;
	char err[128];

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(parse(bad[i].in, &p, err), -EINVAL);
		if (strstr(err, bad[i].msg) == NULL)
			fprintf(stderr, "input '%s': error '%s' lacks '%s'\n",
				bad[i].in, err, bad[i].msg);
		CHECK(strstr(err, bad[i].msg) != NULL);
	}
	CHECK_EQ(sl_capture_parse(NULL, &p, err, sizeof(err)), -EINVAL);
}

/* Ethernet + IPv4 + 4 bytes of L4 ports; returns the frame length. */
static uint32_t
ipv4_frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto,
	   uint16_t sport, uint16_t dport, uint16_t frag)
{
	memset(f, 0, 64);
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	f[14 + 6] = (uint8_t)(frag >> 8);
	f[14 + 7] = (uint8_t)frag;
	f[14 + 9] = proto;
	for (int i = 0; i < 4; i++) {
		f[14 + 12 + i] = (uint8_t)(src >> (24 - 8 * i));
		f[14 + 16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	return 38;
}

static int
match(const struct sl_capture_filter *flt, const uint8_t *f, uint32_t len)
{
	return sl_capture_match(flt, sl_test_guarded(f, len), len);
}

static void
test_match(void)
{
	const uint32_t a = 0xc6120002u, b = 0xc6120101u, c = 0xc6120003u;
	struct sl_capture_filter any = { 0 }, host = { .host = a };
	struct sl_capture_filter port = { .port = 80 }, both = { .host = a, .port = 80 };
	uint8_t f[80];
	uint32_t n;

	n = ipv4_frame(f, a, b, 6, 40000, 80, 0);
	CHECK(match(&any, f, n));
	CHECK(match(&host, f, n));
	CHECK(match(&port, f, n));
	CHECK(match(&both, f, n));
	/* Reply direction: the same filters match on dst/src swapped. */
	n = ipv4_frame(f, b, a, 6, 80, 40000, 0);
	CHECK(match(&host, f, n));
	CHECK(match(&both, f, n));
	/* Another client: host filter refuses, port filter still takes it. */
	n = ipv4_frame(f, c, b, 17, 5353, 80, 0);
	CHECK(!match(&host, f, n));
	CHECK(match(&port, f, n));
	CHECK(!match(&both, f, n));
	/* ICMP has no ports. */
	n = ipv4_frame(f, a, b, 1, 0, 80, 0);
	CHECK(match(&host, f, n));
	CHECK(!match(&port, f, n));
	/* A later fragment carries no ports; the first one does. */
	n = ipv4_frame(f, a, b, 6, 40000, 80, 0x0010);
	CHECK(!match(&port, f, n));
	n = ipv4_frame(f, a, b, 6, 40000, 80, 0x2000);
	CHECK(match(&port, f, n));
	/* Truncated frames are never read past their end. */
	n = ipv4_frame(f, a, b, 6, 40000, 80, 0);
	for (uint32_t len = 0; len < n; len++) {
		CHECK(match(&any, f, len));
		CHECK(!match(&port, f, len));
		if (len < 34)
			CHECK(!match(&host, f, len));
	}
	/* A bad IHL is refused rather than trusted. */
	f[14] = 0x44;
	CHECK(!match(&host, f, n));
	f[14] = 0x4f;
	CHECK(!match(&host, f, n));

	/* ARP: host matches sender or target; a port filter never does. */
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[13] = 0x06;
	for (int i = 0; i < 4; i++) {
		f[14 + 14 + i] = (uint8_t)(b >> (24 - 8 * i));
		f[14 + 24 + i] = (uint8_t)(a >> (24 - 8 * i));
	}
	CHECK(match(&host, f, 42));
	CHECK(!match(&port, f, 42));
	CHECK(!match(&host, f, 41));
	/* A VLAN tag in front of IPv4 is looked through. */
	memset(f, 0, sizeof(f));
	n = ipv4_frame(f + 4, a, b, 6, 40000, 80, 0);
	memmove(f, f + 4, 12);
	f[12] = 0x81;
	f[13] = 0x00;
	f[16] = 0x08;
	f[17] = 0x00;
	CHECK(match(&both, f, n + 4));
	/* Not IPv4 at all (IPv6). */
	n = ipv4_frame(f, a, b, 6, 40000, 80, 0);
	f[12] = 0x86;
	f[13] = 0xdd;
	CHECK(match(&any, f, n));
	CHECK(!match(&host, f, n));
}

static void
test_names(void)
{
	CHECK_STR(sl_capture_dir_name(SL_CAPTURE_RX), "rx");
	CHECK_STR(sl_capture_dir_name(SL_CAPTURE_TX), "tx");
	CHECK_STR(sl_capture_dir_name(SL_CAPTURE_BOTH), "both");
	CHECK_STR(sl_capture_dir_name(0), "none");
}

int
main(void)
{
	test_parse_ok();
	test_parse_errors();
	test_match();
	test_names();
	return sl_test_result("test_capture");
}
