/*
 * SACK scoreboard: directed cases (merging, adjacency, bogus blocks,
 * trimming, holes, the 2^32 wrap, overflow), then random updates checked
 * against a byte-map reference over windows that straddle the wrap.
 */
#include <stdlib.h>

#include "sl_tcp_proto.h"
#include "sl_test.h"

#define BLK(s, e) ((struct sl_tcp_sack_block){ (uint32_t)(s), (uint32_t)(e) })

static uint32_t
update1(struct sl_tcp_scoreboard *sb, uint32_t una, uint32_t nxt,
	uint32_t s, uint32_t e)
{
	struct sl_tcp_sack_block b = BLK(s, e);

	return sl_tcp_sb_update(sb, una, nxt, &b, 1);
}

static void
test_merge(void)
{
	const uint32_t U = 1000, N = 20000;
	struct sl_tcp_scoreboard sb;

	sl_tcp_sb_clear(&sb);
	CHECK_EQ(update1(&sb, U, N, 3000, 4000), 1000);
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.sacked_bytes, 1000);
	/* The same news again is no news. */
	CHECK_EQ(update1(&sb, U, N, 3000, 4000), 0);
	CHECK_EQ(sb.n, 1);
	/* Overlapping on both sides: only the new bytes count. */
	CHECK_EQ(update1(&sb, U, N, 2500, 3500), 500);
	CHECK_EQ(update1(&sb, U, N, 3900, 4200), 200);
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.b[0].start, 2500);
	CHECK_EQ(sb.b[0].end, 4200);
	/* Contained: nothing new. */
	CHECK_EQ(update1(&sb, U, N, 3000, 3100), 0);
	/* Adjacent on either side merges into one block. */
	CHECK_EQ(update1(&sb, U, N, 4200, 4300), 100);
	CHECK_EQ(update1(&sb, U, N, 2400, 2500), 100);
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.b[0].start, 2400);
	CHECK_EQ(sb.b[0].end, 4300);
	CHECK_EQ(sb.sacked_bytes, 1900);
	/* Disjoint blocks, given out of order, come out sorted. */
	{
		struct sl_tcp_sack_block in[3] = {
			BLK(9000, 9500), BLK(6000, 6100), BLK(1500, 1600) };

		CHECK_EQ(sl_tcp_sb_update(&sb, U, N, in, 3), 700);
	}
	CHECK_EQ(sb.n, 4);
	CHECK_EQ(sb.b[0].start, 1500);
	CHECK_EQ(sb.b[1].start, 2400);
	CHECK_EQ(sb.b[2].start, 6000);
	CHECK_EQ(sb.b[3].start, 9000);
	CHECK_EQ(sb.sacked_bytes, 2600);
	/* One block bridging three collapses them. */
	CHECK_EQ(update1(&sb, U, N, 4000, 9200), (6000 - 4300) + (9000 - 6100));
	CHECK_EQ(sb.n, 2);
	CHECK_EQ(sb.b[1].start, 2400);
	CHECK_EQ(sb.b[1].end, 9500);
	CHECK_EQ(sb.sacked_bytes, 100 + 7100);
}

static void
test_bogus_blocks(void)
{
	const uint32_t U = 5000, N = 9000;
	struct sl_tcp_scoreboard sb;

	sl_tcp_sb_clear(&sb);
	CHECK_EQ(update1(&sb, U, N, 6000, 7000), 1000);
	/* D-SACK / stale: wholly at or below snd_una. */
	CHECK_EQ(update1(&sb, U, N, 4000, 5000), 0);
	CHECK_EQ(update1(&sb, U, N, 4000, 4500), 0);
	/* Beyond snd_nxt: never sent, so a lie. */
	CHECK_EQ(update1(&sb, U, N, 8000, 9001), 0);
	CHECK_EQ(update1(&sb, U, N, 9000, 9100), 0);
	/* Empty and inverted. */
	CHECK_EQ(update1(&sb, U, N, 7500, 7500), 0);
	CHECK_EQ(update1(&sb, U, N, 8000, 7500), 0);
	/* Half a window away (sequence space says "before"). */
	CHECK_EQ(update1(&sb, U, N, U + 0x80000000u, U + 0x80000100u), 0);
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.sacked_bytes, 1000);
	/* Up to snd_nxt inclusive is fine. */
	CHECK_EQ(update1(&sb, U, N, 8500, 9000), 500);
	/* Straddling snd_una: the part above it counts. */
	CHECK_EQ(update1(&sb, U, N, 4900, 5100), 100);
	CHECK_EQ(sb.b[0].start, U);
	CHECK_EQ(sb.n, 3);
	CHECK_EQ(sb.sacked_bytes, 1600);
}

static void
test_trim_and_holes(void)
{
	struct sl_tcp_scoreboard sb;
	struct sl_tcp_sack_block in[3] = {
		BLK(2000, 3000), BLK(4000, 5000), BLK(6000, 7000) };
	uint32_t s = 0, e = 0;

	sl_tcp_sb_clear(&sb);
	CHECK(!sl_tcp_sb_next_hole(&sb, 1000, 1000, &s, &e));   /* none SACKed */
	CHECK_EQ(sl_tcp_sb_update(&sb, 1000, 8000, in, 3), 3000);
	CHECK(sl_tcp_sb_next_hole(&sb, 1000, 1000, &s, &e));
	CHECK_EQ(s, 1000);
	CHECK_EQ(e, 2000);
	/* `from` below snd_una starts at snd_una. */
	CHECK(sl_tcp_sb_next_hole(&sb, 1000, 500, &s, &e));
	CHECK_EQ(s, 1000);
	/* Inside a hole: the rest of it. */
	CHECK(sl_tcp_sb_next_hole(&sb, 1000, 1500, &s, &e));
	CHECK_EQ(s, 1500);
	CHECK_EQ(e, 2000);
	/* Inside a block or at its start: the hole after it. */
	CHECK(sl_tcp_sb_next_hole(&sb, 1000, 2000, &s, &e));
	CHECK_EQ(s, 3000);
	CHECK_EQ(e, 4000);
	CHECK(sl_tcp_sb_next_hole(&sb, 1000, 4500, &s, &e));
	CHECK_EQ(s, 5000);
	CHECK_EQ(e, 6000);
	/* Past the last hole: above the highest SACKed byte is no hole. */
	CHECK(!sl_tcp_sb_next_hole(&sb, 1000, 6000, &s, &e));
	CHECK(!sl_tcp_sb_next_hole(&sb, 1000, 7000, &s, &e));
	CHECK(!sl_tcp_sb_next_hole(&sb, 1000, 7500, &s, &e));

	CHECK(!sl_tcp_sb_is_sacked(&sb, 1999));
	CHECK(sl_tcp_sb_is_sacked(&sb, 2000));
	CHECK(sl_tcp_sb_is_sacked(&sb, 2999));
	CHECK(!sl_tcp_sb_is_sacked(&sb, 3000));
	CHECK(sl_tcp_sb_is_sacked(&sb, 6999));
	CHECK(!sl_tcp_sb_is_sacked(&sb, 7000));

	/* snd_una moves into the middle of the second block. */
	CHECK_EQ(sl_tcp_sb_update(&sb, 4500, 8000, NULL, 0), 0);
	CHECK_EQ(sb.n, 2);
	CHECK_EQ(sb.b[0].start, 4500);
	CHECK_EQ(sb.b[0].end, 5000);
	CHECK_EQ(sb.sacked_bytes, 1500);
	CHECK(!sl_tcp_sb_is_sacked(&sb, 2500));
	CHECK(sl_tcp_sb_next_hole(&sb, 4500, 4500, &s, &e));
	CHECK_EQ(s, 5000);
	CHECK_EQ(e, 6000);
	/* Exactly to the end of a block, then past everything. */
	CHECK_EQ(sl_tcp_sb_update(&sb, 5000, 8000, NULL, 0), 0);
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.sacked_bytes, 1000);
	CHECK_EQ(sl_tcp_sb_update(&sb, 7000, 8000, NULL, 0), 0);
	CHECK_EQ(sb.n, 0);
	CHECK_EQ(sb.sacked_bytes, 0);
	/* The trim also applies when new blocks come with the ACK. */
	CHECK_EQ(update1(&sb, 7000, 8000, 7500, 7600), 100);
	CHECK_EQ(update1(&sb, 7550, 8000, 7700, 7800), 100);
	CHECK_EQ(sb.b[0].start, 7550);
	CHECK_EQ(sb.sacked_bytes, 150);
}

static void
test_wraparound(void)
{
	const uint32_t U = 0xfffff000u, N = 0x00001000u;
	struct sl_tcp_scoreboard sb;
	struct sl_tcp_sack_block in[3] = {
		BLK(0x00000100u, 0x00000200u),      /* after the wrap */
		BLK(0xfffff800u, 0x00000010u),      /* across it */
		BLK(0xfffff400u, 0xfffff500u) };    /* before it */
	uint32_t s = 0, e = 0;

	sl_tcp_sb_clear(&sb);
	CHECK_EQ(sl_tcp_sb_update(&sb, U, N, in, 3), 0x100 + 0x810 + 0x100);
	CHECK_EQ(sb.n, 3);
	CHECK_EQ(sb.b[0].start, 0xfffff400u);
	CHECK_EQ(sb.b[1].start, 0xfffff800u);
	CHECK_EQ(sb.b[1].end, 0x10);
	CHECK_EQ(sb.b[2].start, 0x100);
	CHECK(sl_tcp_sb_is_sacked(&sb, 0xffffffffu));
	CHECK(sl_tcp_sb_is_sacked(&sb, 0));
	CHECK(!sl_tcp_sb_is_sacked(&sb, 0x10));
	CHECK(sl_tcp_sb_next_hole(&sb, U, 0xfffffff0u, &s, &e));
	CHECK_EQ(s, 0x10);
	CHECK_EQ(e, 0x100);
	/* Beyond snd_nxt across the wrap is still refused. */
	CHECK_EQ(update1(&sb, U, N, 0x00000f00u, 0x00001001u), 0);
	/* Fill the hole across zero: one block from 0xfffff800 to 0x200. */
	CHECK_EQ(update1(&sb, U, N, 0x0, 0x100), 0xf0);
	CHECK_EQ(sb.n, 2);
	CHECK_EQ(sb.b[1].end, 0x200);
	/* snd_una wraps past zero: trimmed in sequence space. */
	CHECK_EQ(sl_tcp_sb_update(&sb, 0x80, N, NULL, 0), 0);
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.b[0].start, 0x80);
	CHECK_EQ(sb.sacked_bytes, 0x180);
	/* A D-SACK just below the wrapped snd_una is stale. */
	CHECK_EQ(update1(&sb, 0x80, N, 0xfffffff0u, 0x40), 0);
}

static void
test_overflow(void)
{
	struct sl_tcp_scoreboard sb;
	uint32_t s, e;

	/* Ten disjoint blocks, highest first: the two highest are dropped. */
	sl_tcp_sb_clear(&sb);
	for (int i = 9; i >= 0; i--)
		update1(&sb, 0xffffff00u, 0xffffff00u + 100000,
			0xffffff00u + 1000 * (i + 1), 0xffffff00u + 1000 * (i + 1) + 10);
	CHECK_EQ(sb.n, SL_TCP_SB_MAX);
	CHECK_EQ(sb.sacked_bytes, 10 * SL_TCP_SB_MAX);
	CHECK(sl_tcp_sb_is_sacked(&sb, 0xffffff00u + 8000));
	CHECK(!sl_tcp_sb_is_sacked(&sb, 0xffffff00u + 9000));
	CHECK(!sl_tcp_sb_is_sacked(&sb, 0xffffff00u + 10000));
	/* Lowest first: the new high ones are the ones not kept. */
	sl_tcp_sb_clear(&sb);
	for (int i = 0; i < 10; i++) {
		uint32_t news = update1(&sb, 0, 100000, 1000 * (i + 1),
					1000 * (i + 1) + 10);

		CHECK_EQ(news, i < SL_TCP_SB_MAX ? 10 : 0);
	}
	CHECK_EQ(sb.n, SL_TCP_SB_MAX);
	CHECK_EQ(sb.b[SL_TCP_SB_MAX - 1].start, 8000);
	/* A low block on a full board evicts the highest and is counted. */
	CHECK_EQ(update1(&sb, 0, 100000, 100, 150), 50);
	CHECK_EQ(sb.n, SL_TCP_SB_MAX);
	CHECK_EQ(sb.b[0].start, 100);
	CHECK(!sl_tcp_sb_is_sacked(&sb, 8000));
	CHECK_EQ(sb.sacked_bytes, 50 + 10 * (SL_TCP_SB_MAX - 1));
	/* Still conservative: the holes reported end at the highest kept. */
	CHECK(sl_tcp_sb_next_hole(&sb, 0, 7005, &s, &e) == false);
	/* Merging on a full board frees a slot. */
	CHECK_EQ(update1(&sb, 0, 100000, 1000, 3010), 2010 - 30);
	CHECK_EQ(sb.n, SL_TCP_SB_MAX - 2);
}

/* ---- random updates against a byte map ---- */

#define W 4096

static bool ref[W];

static uint64_t rs = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs % n);
}

/* Keep the lowest SL_TCP_SB_MAX runs of the byte map. */
static void
ref_truncate(void)
{
	unsigned int runs = 0;

	for (int i = 0; i < W; i++) {
		if (ref[i] && (i == 0 || !ref[i - 1]))
			runs++;
		if (runs > SL_TCP_SB_MAX)
			ref[i] = false;
	}
}

static void
check_against_ref(const struct sl_tcp_scoreboard *sb, uint32_t base,
		  int una, int nxt)
{
	uint32_t bytes = 0, s, e;
	bool same = true;

	for (unsigned int i = 0; i < sb->n; i++) {
		CHECK(sl_seq_lt(sb->b[i].start, sb->b[i].end));
		CHECK(sl_seq_ge(sb->b[i].start, base + una));
		CHECK(sl_seq_le(sb->b[i].end, base + nxt));
		if (i > 0)   /* sorted, disjoint, never touching */
			CHECK(sl_seq_lt(sb->b[i - 1].end, sb->b[i].start));
	}
	for (int i = una; i < nxt; i++) {
		bytes += ref[i];
		if (sl_tcp_sb_is_sacked(sb, base + i) != ref[i])
			same = false;
	}
	CHECK(same);
	CHECK_EQ(sb->sacked_bytes, bytes);
	/* next_hole from a few points. */
	for (int k = 0; k < 4; k++) {
		int from = una + (int)rnd((uint32_t)(nxt - una + 1)), hs = -1, he = -1;
		bool got, more = false;

		for (int i = from; i < nxt; i++)
			if (hs < 0 && !ref[i])
				hs = i;
			else if (hs >= 0 && ref[i]) {
				he = i;
				more = true;
				break;
			}
		got = sl_tcp_sb_next_hole(sb, base + una, base + from, &s, &e);
		CHECK_EQ(got, more);
		if (got && more) {
			CHECK_EQ(s, base + hs);
			CHECK_EQ(e, base + he);
		}
	}
}

static void
random_episode(uint32_t base)
{
	struct sl_tcp_scoreboard sb;
	int una = 0, nxt = 1;

	sl_tcp_sb_clear(&sb);
	memset(ref, 0, sizeof(ref));
	while (nxt < W - 1) {
		struct sl_tcp_sack_block in[6];
		unsigned int n = rnd(7);
		uint32_t got, want = 0;
		bool before[W];

		nxt += (int)rnd(200);
		if (nxt > W - 1)
			nxt = W - 1;
		if (rnd(3) == 0)
			una += (int)rnd((uint32_t)(nxt - una + 1) / 4 + 1);
		for (int i = 0; i < una; i++)
			ref[i] = false;
		memcpy(before, ref, sizeof(ref));
		for (unsigned int j = 0; j < n; j++) {
			int s = una - 100 + (int)rnd((uint32_t)(nxt - una + 200));
			int e = s + (int)rnd(400) - 40;

			in[j] = BLK(base + (uint32_t)s, base + (uint32_t)e);
			if (s >= e || e <= una || e > nxt)
				continue;
			for (int i = s < una ? una : s; i < e; i++)
				ref[i] = true;
			ref_truncate();
		}
		for (int i = una; i < nxt; i++)
			want += ref[i] && !before[i];
		got = sl_tcp_sb_update(&sb, base + una, base + nxt, in, n);
		CHECK_EQ(got, want);
		check_against_ref(&sb, base, una, nxt);
	}
}

static void
test_random(void)
{
	static const uint32_t bases[] = { 0, 0xfffff800u, 0xffffffffu,
					  0x7ffffc00u, 0x80000000u, 12345 };

	for (unsigned int b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (int rep = 0; rep < 40; rep++)
			random_episode(bases[b] - (uint32_t)rnd(W));
}

int
main(void)
{
	test_merge();
	test_bogus_blocks();
	test_trim_and_holes();
	test_wraparound();
	test_overflow();
	test_random();
	return sl_test_result("tcp_sack");
}
