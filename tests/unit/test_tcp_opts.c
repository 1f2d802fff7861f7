/*
 * TCP options: build -> parse round trips for every combination, the
 * exact SYN layout, every malformation rule, and every truncation of valid
 * option blocks parsed right before a PROT_NONE page.
 */
#include <stdlib.h>

#include "sl_tcp_proto.h"
#include "sl_test.h"

static int
parse_guarded(const uint8_t *bytes, unsigned int len, bool syn,
	      struct sl_tcp_opts *o)
{
	const uint8_t *g = sl_test_guarded(bytes, len);

	if (g == NULL) {
		CHECK(!"sl_test_guarded failed");
		return -2;
	}
	return sl_tcp_opts_parse(g, len, syn, o);
}

static void
test_syn_round_trip(void)
{
	static const uint16_t mss_values[] = { 0, 536, 1460, 8960, 65535 };

	for (unsigned int combo = 0; combo < 8; combo++) {
		for (unsigned int mi = 0; mi < 5; mi++) {
			for (unsigned int ws = 0; ws <= 16; ws++) {
				struct sl_tcp_opts in = {
					.mss_ok = true, .mss = mss_values[mi],
					.ws_ok = combo & 1, .wscale = (uint8_t)ws,
					.sack_perm = combo & 2, .ts_ok = combo & 4,
					.tsval = 0x80000001u + ws, .tsecr = 0xdeadbeef,
				}, out, nosyn;
				uint8_t buf[SL_TCP_OPT_MAX_LEN + 8];
				unsigned int len, want;

				memset(buf, 0xee, sizeof(buf));
				len = sl_tcp_opts_build_syn(buf, &in);
				want = 4 + (in.ts_ok ? 12 : in.sack_perm ? 4 : 0) +
				       (in.ws_ok ? 4 : 0);
				CHECK_EQ(len, want);
				CHECK_EQ(len % 4, 0);
				CHECK(len <= SL_TCP_OPT_MAX_LEN);
				CHECK_EQ(buf[len], 0xee);   /* wrote no further */
				CHECK_EQ(parse_guarded(buf, len, true, &out), 0);
				CHECK(out.mss_ok);
				CHECK_EQ(out.mss, in.mss);
				CHECK_EQ(out.ws_ok, in.ws_ok);
				CHECK_EQ(out.wscale, in.ws_ok ? (ws > 14 ? 14 : ws) : 0);
				CHECK_EQ(out.sack_perm, in.sack_perm);
				CHECK_EQ(out.ts_ok, in.ts_ok);
				CHECK_EQ(out.tsval, in.ts_ok ? in.tsval : 0);
				CHECK_EQ(out.tsecr, in.ts_ok ? in.tsecr : 0);
				CHECK_EQ(out.n_sack, 0);
				/* The same bytes on a non-SYN: only TS counts. */
				CHECK_EQ(parse_guarded(buf, len, false, &nosyn), 0);
				CHECK(!nosyn.mss_ok && !nosyn.ws_ok && !nosyn.sack_perm);
				CHECK_EQ(nosyn.ts_ok, in.ts_ok);
				CHECK_EQ(nosyn.tsval, in.ts_ok ? in.tsval : 0);
			}
		}
	}
}

static void
test_syn_layout(void)
{
	struct sl_tcp_opts o = { .mss_ok = true, .mss = 1460, .ws_ok = true,
		.wscale = 7, .sack_perm = true, .ts_ok = true,
		.tsval = 0x01020304, .tsecr = 0x05060708 };
	static const uint8_t full[] = {
		2, 4, 0x05, 0xb4,               /* MSS 1460 */
		4, 2,                           /* SACK permitted */
		8, 10, 1, 2, 3, 4, 5, 6, 7, 8,  /* TS */
		1, 3, 3, 7,                     /* NOP, WS 7 */
	};
	static const uint8_t no_sack[] = {
		2, 4, 0x05, 0xb4, 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7,
	};
	static const uint8_t no_ts[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };
	static const uint8_t mss_only[] = { 2, 4, 0x05, 0xb4 };
	uint8_t buf[SL_TCP_OPT_MAX_LEN];

	CHECK_EQ(sl_tcp_opts_build_syn(buf, &o), sizeof(full));
	CHECK(memcmp(buf, full, sizeof(full)) == 0);
	o.sack_perm = false;
	CHECK_EQ(sl_tcp_opts_build_syn(buf, &o), sizeof(no_sack));
	CHECK(memcmp(buf, no_sack, sizeof(no_sack)) == 0);
	o.sack_perm = true;
	o.ts_ok = false;
	CHECK_EQ(sl_tcp_opts_build_syn(buf, &o), sizeof(no_ts));
	CHECK(memcmp(buf, no_ts, sizeof(no_ts)) == 0);
	o.sack_perm = o.ws_ok = false;
	CHECK_EQ(sl_tcp_opts_build_syn(buf, &o), sizeof(mss_only));
	CHECK(memcmp(buf, mss_only, sizeof(mss_only)) == 0);
	/* A wscale above 14 goes out as 14 (RFC 7323 2.3). */
	o.ws_ok = true;
	o.wscale = 200;
	CHECK_EQ(sl_tcp_opts_build_syn(buf, &o), 8);
	CHECK_EQ(buf[7], 14);
}

static void
test_data_round_trip(void)
{
	struct sl_tcp_sack_block blocks[6];

	for (unsigned int i = 0; i < 6; i++)
		blocks[i] = (struct sl_tcp_sack_block){ 0xfffff000u + 1000 * i,
							0xfffff000u + 1000 * i + 500 };
	for (int ts = 0; ts < 2; ts++) {
		for (unsigned int n = 0; n <= 6; n++) {
			uint8_t buf[SL_TCP_OPT_MAX_LEN + 8];
			unsigned int len, fit = n > (ts ? 3u : 4u) ? (ts ? 3u : 4u) : n;
			struct sl_tcp_opts out, syn;

			memset(buf, 0xee, sizeof(buf));
			len = sl_tcp_opts_build(buf, ts, 0xcafef00d, 77, blocks, n);
			CHECK_EQ(len, (ts ? 12u : 0u) + (fit ? 4 + 8 * fit : 0));
			CHECK_EQ(len % 4, 0);
			CHECK(len <= SL_TCP_OPT_MAX_LEN);
			CHECK_EQ(buf[len], 0xee);
			CHECK_EQ(parse_guarded(buf, len, false, &out), 0);
			CHECK_EQ(out.ts_ok, ts);
			CHECK_EQ(out.tsval, ts ? 0xcafef00d : 0);
			CHECK_EQ(out.tsecr, ts ? 77 : 0);
			CHECK_EQ(out.n_sack, fit);
			for (unsigned int i = 0; i < fit; i++) {
				CHECK_EQ(out.sack[i].start, blocks[i].start);
				CHECK_EQ(out.sack[i].end, blocks[i].end);
			}
			CHECK(!out.mss_ok && !out.ws_ok && !out.sack_perm);
			/* SACK blocks on a SYN are ignored, still validated. */
			CHECK_EQ(parse_guarded(buf, len, true, &syn), 0);
			CHECK_EQ(syn.n_sack, 0);
			CHECK_EQ(syn.ts_ok, ts);
		}
	}
}

struct bad {
	const char *what;
	uint8_t bytes[48];
	unsigned int len;
	bool syn;
};

static void
test_malformed(void)
{
	static const struct bad bad[] = {
		{ "unknown, length 0", { 30, 0, 0, 0 }, 4, true },
		{ "unknown, length 1", { 30, 1, 0, 0 }, 4, true },
		{ "MSS, length 1", { 2, 1, 1, 1 }, 4, true },
		{ "unknown runs past the end", { 1, 30, 6, 0, 0, 0 }, 5, true },
		{ "MSS runs past the end", { 2, 4, 5 }, 3, true },
		{ "kind with no length byte", { 1, 1, 1, 2 }, 4, true },
		{ "TS with no length byte", { 8 }, 1, false },
		{ "MSS length 3", { 2, 3, 5, 1 }, 4, true },
		{ "MSS length 5", { 2, 5, 5, 0xb4, 0 }, 5, true },
		{ "MSS length 3 on a non-SYN", { 2, 3, 5, 1 }, 4, false },
		{ "WS length 2", { 3, 2, 1, 1 }, 4, true },
		{ "WS length 4", { 3, 4, 7, 0 }, 4, true },
		{ "WS length 4 on a non-SYN", { 3, 4, 7, 0 }, 4, false },
		{ "SACK-permitted length 3", { 4, 3, 0, 1 }, 4, true },
		{ "SACK-permitted length 4", { 4, 4, 0, 0 }, 4, false },
		{ "TS length 9", { 8, 9, 1, 2, 3, 4, 5, 6, 7, 1, 1, 1 }, 12, false },
		{ "TS length 11", { 8, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1 }, 12, false },
		{ "TS length 2", { 8, 2, 1, 1 }, 4, true },
		{ "SACK length 2 (no block)", { 5, 2, 1, 1 }, 4, false },
		{ "SACK length 9", { 5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 }, 12, false },
		{ "SACK length 11", { 5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1 }, 12, false },
		{ "SACK length 18 (2 blocks) + 1", { 5, 19 }, 20, false },
		{ "SACK with 5 blocks", { 5, 42 }, 42, false },
		{ "SACK length 9 on a SYN", { 5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 }, 12, true },
		{ "bad option after good ones",
		  { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 3, 2, 1, 1 }, 16, true },
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sl_tcp_opts o;
		int rc = parse_guarded(bad[i].bytes, bad[i].len, bad[i].syn, &o);

		if (rc != -1)
			fprintf(stderr, "malformed case accepted: %s\n", bad[i].what);
		CHECK_EQ(rc, -1);
	}
}

/*
 * NOP, NOP, timestamps (12 bytes) takes a shortcut in the parser: it must
 * give what the general loop gives for the same options (reached here with
 * a trailing EOL, or the timestamps first), for SYNs and others, and leave
 * near misses to the loop.
 */
static void
test_timestamp_shortcut(void)
{
	for (unsigned int i = 0; i < 1000; i++) {
		uint32_t tsval = 0x9e3779b9u * i, tsecr = ~tsval ^ (i << 7);
		uint8_t fast[12] = { SL_TCP_OPT_NOP, SL_TCP_OPT_NOP, SL_TCP_OPT_TS, 10,
			(uint8_t)(tsval >> 24), (uint8_t)(tsval >> 16), (uint8_t)(tsval >> 8),
			(uint8_t)tsval, (uint8_t)(tsecr >> 24), (uint8_t)(tsecr >> 16),
			(uint8_t)(tsecr >> 8), (uint8_t)tsecr };
		uint8_t slow[16], first[12];
		struct sl_tcp_opts a, b, c;
		bool syn = i & 1;

		memcpy(slow, fast, 12);
		memset(slow + 12, SL_TCP_OPT_EOL, 4);
		memcpy(first, fast + 2, 10);
		first[10] = first[11] = SL_TCP_OPT_NOP;
		CHECK_EQ(parse_guarded(fast, 12, syn, &a), 0);
		CHECK_EQ(parse_guarded(slow, 16, syn, &b), 0);
		CHECK_EQ(parse_guarded(first, 12, syn, &c), 0);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		CHECK(memcmp(&a, &c, sizeof(a)) == 0);
		CHECK(a.ts_ok && a.tsval == tsval && a.tsecr == tsecr);
	}
	/* Near misses go through the loop: a bad TS length is still an error. */
	{
		uint8_t bad[12] = { SL_TCP_OPT_NOP, SL_TCP_OPT_NOP, SL_TCP_OPT_TS, 9 };
		struct sl_tcp_opts o;

		CHECK_EQ(parse_guarded(bad, 12, false, &o), -1);
	}
}

static void
test_lenient_where_allowed(void)
{
	struct sl_tcp_opts o;
	/* EOL ends parsing: the garbage after it is never looked at. */
	static const uint8_t eol[] = { 2, 4, 0x05, 0xb4, 0, 2, 1, 0xff, 0x77 };
	/* Unknown options are skipped by their length. */
	static const uint8_t unknown[] = { 30, 6, 1, 2, 3, 4, 2, 4, 0x02, 0x18,
					   254, 2, 3, 3, 200, 1 };
	/* A wscale of 15 or more is taken as 14. */
	static const uint8_t ws15[] = { 3, 3, 15, 1 };
	static const uint8_t ws255[] = { 1, 3, 3, 255 };
	/* MSS on a non-SYN: well-formed, so valid, but ignored. */
	static const uint8_t mss_data[] = { 2, 4, 0x05, 0xb4, 4, 2, 3, 3, 1, 1 };

	CHECK_EQ(parse_guarded(eol, sizeof(eol), true, &o), 0);
	CHECK(o.mss_ok);
	CHECK_EQ(o.mss, 1460);
	CHECK(!o.sack_perm);
	CHECK_EQ(parse_guarded(unknown, sizeof(unknown), true, &o), 0);
	CHECK(o.mss_ok);
	CHECK_EQ(o.mss, 536);
	CHECK(o.ws_ok);
	CHECK_EQ(o.wscale, 14);
	CHECK_EQ(parse_guarded(ws15, sizeof(ws15), true, &o), 0);
	CHECK(o.ws_ok);
	CHECK_EQ(o.wscale, 14);
	CHECK_EQ(parse_guarded(ws255, sizeof(ws255), true, &o), 0);
	CHECK_EQ(o.wscale, 14);
	CHECK_EQ(parse_guarded(mss_data, sizeof(mss_data), false, &o), 0);
	CHECK(!o.mss_ok && !o.ws_ok && !o.sack_perm);
	CHECK_EQ(o.mss, 0);
	/* Only NOPs, and nothing at all. */
	CHECK_EQ(parse_guarded((const uint8_t[]){ 1, 1, 1, 1 }, 4, true, &o), 0);
	CHECK_EQ(parse_guarded(eol, 0, true, &o), 0);
	CHECK(!o.mss_ok && !o.ts_ok);
}

/*
 * Every prefix of a valid block, ending at a PROT_NONE page: a cut at an
 * option boundary parses (with the options before it), any other cut is
 * -1, and no length reads a byte past the end (that would fault).
 */
static void
check_truncations(const uint8_t *full, unsigned int len, bool syn,
		  const unsigned int *bounds, unsigned int n_bounds)
{
	for (unsigned int cut = 0; cut <= len; cut++) {
		struct sl_tcp_opts o;
		bool at_bound = false;

		for (unsigned int b = 0; b < n_bounds; b++)
			at_bound |= bounds[b] == cut;
		CHECK_EQ(parse_guarded(full, cut, syn, &o), at_bound ? 0 : -1);
	}
}

static void
test_truncation(void)
{
	struct sl_tcp_opts in = { .mss_ok = true, .mss = 1460, .ws_ok = true,
		.wscale = 9, .sack_perm = true, .ts_ok = true, .tsval = 1,
		.tsecr = 2 }, o;
	struct sl_tcp_sack_block blocks[4] = {
		{ 10, 20 }, { 30, 40 }, { 50, 60 }, { 70, 80 } };
	uint8_t buf[SL_TCP_OPT_MAX_LEN];
	unsigned int len;
	/* MSS | SACK-perm | TS | NOP | WS */
	static const unsigned int syn_bounds[] = { 0, 4, 6, 16, 17, 20 };
	/* NOP | NOP | TS | NOP | NOP | SACK x3 */
	static const unsigned int ts_bounds[] = { 0, 1, 2, 12, 13, 14, 40 };
	/* NOP | NOP | SACK x4 */
	static const unsigned int sack_bounds[] = { 0, 1, 2, 36 };

	len = sl_tcp_opts_build_syn(buf, &in);
	CHECK_EQ(len, 20);
	check_truncations(buf, len, true, syn_bounds, 6);
	/* A cut right after the timestamps keeps MSS, SACK-perm and TS. */
	CHECK_EQ(parse_guarded(buf, 16, true, &o), 0);
	CHECK(o.mss_ok && o.sack_perm && o.ts_ok && !o.ws_ok);

	len = sl_tcp_opts_build(buf, true, 5, 6, blocks, 3);
	CHECK_EQ(len, 40);
	check_truncations(buf, len, false, ts_bounds, 7);

	len = sl_tcp_opts_build(buf, false, 0, 0, blocks, 4);
	CHECK_EQ(len, 36);
	check_truncations(buf, len, false, sack_bounds, 4);
	CHECK_EQ(parse_guarded(buf, len, false, &o), 0);
	CHECK_EQ(o.n_sack, 4);
	CHECK_EQ(o.sack[3].end, 80);
}

/* Random bytes must never make the parser read out of bounds. */
static void
test_fuzz(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned int ok = 0;

	for (int iter = 0; iter < 200000; iter++) {
		uint8_t buf[SL_TCP_OPT_MAX_LEN];
		unsigned int len;
		struct sl_tcp_opts o;
		int rc;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = (unsigned int)(x % (SL_TCP_OPT_MAX_LEN + 1));
		for (unsigned int i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* Bias towards real kinds and small lengths. */
			buf[i] = (uint8_t)((x >> 8) % 4 ? (x >> 16) % 12 : x >> 24);
		}
		rc = parse_guarded(buf, len, x & 1, &o);
		CHECK(rc == 0 || rc == -1);
		if (rc == 0) {
			ok++;
			CHECK(o.wscale <= SL_TCP_MAX_WSCALE);
			CHECK(o.n_sack <= SL_TCP_MAX_SACK_BLOCKS);
		}
	}
	CHECK(ok > 0);   /* the mix does reach valid blocks */
}

int
main(void)
{
	test_syn_round_trip();
	test_syn_layout();
	test_data_round_trip();
	test_malformed();
	test_timestamp_shortcut();
	test_lenient_where_allowed();
	test_truncation();
	test_fuzz();
	return sl_test_result("tcp_opts");
}
