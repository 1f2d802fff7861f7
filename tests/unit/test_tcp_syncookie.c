/*
 * SYN cookies: SipHash-2-4 against the reference vectors, cookie validity
 * windows, key rotation, tamper and forgery resistance, and the TSval
 * encoding of window scale and SACK.
 */
#include <stdlib.h>

#include "sl_tcp_proto.h"
#include "sl_test.h"

#define SA    0xc6120002u
#define DA    0xc6120001u
#define SP    40000
#define DP    443
#define ISN   0x12345678u

static uint64_t rs = 0x2545f4914f6cdd1dull;

static uint32_t
rnd32(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 16);
}

static void
test_siphash_vectors(void)
{
	/* Key 00..0f and messages 00 01 02 ... (SipHash paper, appendix A,
	 * and the reference implementation's vectors.h). */
	const uint64_t key[2] = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
	static const struct { size_t len; uint64_t h; } v[] = {
		{ 0, 0x726fdb47dd0e0e31ull },
		{ 1, 0x74f839c593dc67fdull },
		{ 2, 0x0d6c8009d9a94f5aull },
		{ 3, 0x85676696d7fb7e2dull },
		{ 4, 0xcf2794e0277187b7ull },
		{ 8, 0x93f5f5799a932462ull },
		{ 15, 0xa129ca6149be45e5ull },
	};
	uint8_t msg[64];
	uint64_t k2[2] = { key[0] ^ 1, key[1] };

	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t h = sl_siphash24(key, msg, v[i].len);

		if (h != v[i].h)
			fprintf(stderr, "siphash len %zu: %016llx\n", v[i].len,
				(unsigned long long)h);
		CHECK(h == v[i].h);
	}
	/* Unaligned input reads the same bytes. */
	{
		uint8_t shifted[17];

		memcpy(shifted + 1, msg, 15);
		CHECK(sl_siphash24(key, shifted + 1, 15) == 0xa129ca6149be45e5ull);
	}
	/* A different key, a different hash. */
	CHECK(sl_siphash24(k2, msg, 15) != 0xa129ca6149be45e5ull);
}

static void
test_mss_clamp(void)
{
	static const uint16_t in[] =  { 0, 535, 536, 1023, 1024, 1219, 1220,
					1359, 1360, 1439, 1440, 1451, 1452,
					1459, 1460, 8959, 8960, 9000, 65535 };
	static const uint16_t out[] = { 536, 536, 536, 536, 1024, 1024, 1220,
					1220, 1360, 1360, 1440, 1440, 1452,
					1452, 1460, 1460, 8960, 8960, 8960 };

	for (unsigned int i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		CHECK_EQ(sl_syncookie_mss_clamp(in[i]), out[i]);
}

static void
test_validity_window(void)
{
	struct sl_syncookie sc;
	/* The middle of a period, well inside a rotation epoch. */
	const uint64_t t0 = 1000 * SL_SYNCOOKIE_ROTATE_S + 4 * SL_SYNCOOKIE_PERIOD_S + 30;
	const uint64_t p0 = t0 / SL_SYNCOOKIE_PERIOD_S * SL_SYNCOOKIE_PERIOD_S;
	uint32_t c;
	uint16_t mss = 0;

	sl_syncookie_init(&sc, 42, t0);
	c = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1460, t0);
	CHECK_EQ(c >> 27, (t0 / SL_SYNCOOKIE_PERIOD_S) & 31);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c, t0, &mss), 0);
	CHECK_EQ(mss, 1460);
	/* The whole next period, to its last second. */
	mss = 0;
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c,
				    p0 + SL_SYNCOOKIE_PERIOD_S, &mss), 0);
	CHECK_EQ(mss, 1460);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c,
				    p0 + 2 * SL_SYNCOOKIE_PERIOD_S - 1, &mss), 0);
	/* Two periods on it is gone, and stays gone. */
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c,
				    p0 + 2 * SL_SYNCOOKIE_PERIOD_S, &mss), -1);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c,
				    p0 + 3 * SL_SYNCOOKIE_PERIOD_S, &mss), -1);
	/* 32 periods on, the 5-bit tag matches again: the full counter
	 * under the MAC still refuses it. */
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c,
				    t0 + 32 * SL_SYNCOOKIE_PERIOD_S, &mss), -1);

	/* Even under the very same key (same seed, 32 periods on), the
	 * full counter under the MAC refuses the aliased tag. */
	{
		struct sl_syncookie later;
		const uint64_t t32 = t0 + 32 * SL_SYNCOOKIE_PERIOD_S;

		sl_syncookie_init(&sc, 42, t0);
		sl_syncookie_init(&later, 42, t32);
		CHECK(memcmp(sc.key, later.key, sizeof(sc.key)) == 0);
		c = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1460, t0);
		CHECK_EQ(sl_syncookie_check(&later, SA, DA, SP, DP, ISN,
					    sl_syncookie_make(&later, SA, DA, SP, DP,
							      ISN, 1460, t32),
					    t32, &mss), 0);
		CHECK_EQ(sl_syncookie_make(&later, SA, DA, SP, DP, ISN, 1460, t32) >> 27,
			 c >> 27);
		CHECK_EQ(sl_syncookie_check(&later, SA, DA, SP, DP, ISN, c, t32, &mss), -1);
	}

	/* The MSS comes back clamped to the table. */
	sl_syncookie_init(&sc, 42, t0);
	c = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1400, t0);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c, t0, &mss), 0);
	CHECK_EQ(mss, 1360);
	c = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 100, t0);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c, t0, &mss), 0);
	CHECK_EQ(mss, 536);
	c = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 9000, t0);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c, t0, &mss), 0);
	CHECK_EQ(mss, 8960);
	/* At time zero there is no "previous period" to underflow into. */
	sl_syncookie_init(&sc, 7, 0);
	c = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1460, 0);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c, 0, &mss), 0);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c ^ (31u << 27), 0, &mss), -1);
}

static void
test_tamper(void)
{
	struct sl_syncookie sc;
	const uint64_t t0 = 77777;
	uint32_t c;
	uint16_t mss;
	unsigned int accepted = 0;

	sl_syncookie_init(&sc, 0xfeedface, t0);
	c = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1460, t0);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c, t0, &mss), 0);
	for (int b = 0; b < 32; b++) {
		uint32_t bit = 1u << b;

		accepted += sl_syncookie_check(&sc, SA ^ bit, DA, SP, DP, ISN, c, t0, &mss) == 0;
		accepted += sl_syncookie_check(&sc, SA, DA ^ bit, SP, DP, ISN, c, t0, &mss) == 0;
		accepted += sl_syncookie_check(&sc, SA, DA, SP, DP, ISN ^ bit, c, t0, &mss) == 0;
		/* Every bit of the cookie, MSS index and counter included. */
		accepted += sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c ^ bit, t0, &mss) == 0;
		if (b < 16) {
			accepted += sl_syncookie_check(&sc, SA, DA, (uint16_t)(SP ^ bit),
						       DP, ISN, c, t0, &mss) == 0;
			accepted += sl_syncookie_check(&sc, SA, DA, SP,
						       (uint16_t)(DP ^ bit), ISN, c,
						       t0, &mss) == 0;
		}
	}
	CHECK_EQ(accepted, 0);
	/* Swapped direction is another connection. */
	CHECK_EQ(sl_syncookie_check(&sc, DA, SA, DP, SP, ISN, c, t0, &mss), -1);
	/* Another instance (another seed) knows nothing of this cookie. */
	{
		struct sl_syncookie other;

		sl_syncookie_init(&other, 0xfeedfacf, t0);
		CHECK_EQ(sl_syncookie_check(&other, SA, DA, SP, DP, ISN, c, t0, &mss), -1);
		CHECK(sl_syncookie_make(&other, SA, DA, SP, DP, ISN, 1460, t0) != c);
	}
}

static void
test_rotation(void)
{
	struct sl_syncookie sc;
	const uint64_t r = 5000 * (uint64_t)SL_SYNCOOKIE_ROTATE_S;   /* an epoch start */
	uint64_t key_before[2], key_prev[2];
	uint32_t c_old, c_new, c2;
	uint16_t mss;

	/* Made in the last second before a rotation... */
	sl_syncookie_init(&sc, 99, r - SL_SYNCOOKIE_ROTATE_S / 2);
	c_old = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1460, r - 1);
	memcpy(key_before, sc.key[0], sizeof(key_before));
	/* ...checked after it: the rotation happens inside check. */
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_old, r + 3, &mss), 0);
	CHECK_EQ(sc.key_epoch, r / SL_SYNCOOKIE_ROTATE_S);
	CHECK(memcmp(sc.key[1], key_before, sizeof(key_before)) == 0);
	CHECK(memcmp(sc.key[0], key_before, sizeof(key_before)) != 0);
	/* New cookies use the new key; both keep working in the window. */
	c_new = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1460, r + 10);
	CHECK(c_new != c_old);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_new, r + 20, &mss), 0);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_old,
				    r + SL_SYNCOOKIE_PERIOD_S - 1, &mss), 0);
	/* The old one still expires with its period. */
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_old,
				    r + SL_SYNCOOKIE_PERIOD_S, &mss), -1);

	/* Rotation driven by make on another connection in between. */
	sl_syncookie_init(&sc, 123, r - 100);
	c_old = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1440, r - 30);
	c2 = sl_syncookie_make(&sc, SA + 1, DA, SP, DP, ISN, 1460, r + 1);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_old, r + 40, &mss), 0);
	CHECK_EQ(mss, 1440);
	CHECK_EQ(sl_syncookie_check(&sc, SA + 1, DA, SP, DP, ISN, c2, r + 40, &mss), 0);

	/* A long silence: both keys are replaced, new cookies still work. */
	memcpy(key_before, sc.key[0], sizeof(key_before));
	memcpy(key_prev, sc.key[1], sizeof(key_prev));
	CHECK_EQ(sl_syncookie_check(&sc, SA + 1, DA, SP, DP, ISN, c2,
				    r + 3 * SL_SYNCOOKIE_ROTATE_S, &mss), -1);
	CHECK(memcmp(sc.key[0], key_before, sizeof(key_before)) != 0);
	CHECK(memcmp(sc.key[1], key_before, sizeof(key_before)) != 0);
	CHECK(memcmp(sc.key[1], key_prev, sizeof(key_prev)) != 0);
	c_new = sl_syncookie_make(&sc, SA, DA, SP, DP, ISN, 1460,
				  r + 3 * SL_SYNCOOKIE_ROTATE_S + 1);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_new,
				    r + 3 * SL_SYNCOOKIE_ROTATE_S + 2, &mss), 0);

	/* A clock that steps back does not rotate backwards. */
	CHECK_EQ(sc.key_epoch, r / SL_SYNCOOKIE_ROTATE_S + 3);
	sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_new, r, &mss);
	CHECK_EQ(sc.key_epoch, r / SL_SYNCOOKIE_ROTATE_S + 3);
	CHECK_EQ(sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, c_new,
				    r + 3 * SL_SYNCOOKIE_ROTATE_S + 5, &mss), 0);

	/* Every second across two rotations: a cookie checks at its own
	 * second and 64 s later, never 128 s later. */
	{
		unsigned int bad = 0;

		sl_syncookie_init(&sc, 5, r - 200);
		for (uint64_t t = r - 200; t < r + 2 * SL_SYNCOOKIE_ROTATE_S; t += 7) {
			uint32_t c = sl_syncookie_make(&sc, SA, DA, SP, DP, (uint32_t)t,
						       1460, t);
			uint64_t p = t / SL_SYNCOOKIE_PERIOD_S * SL_SYNCOOKIE_PERIOD_S;

			bad += sl_syncookie_check(&sc, SA, DA, SP, DP, (uint32_t)t, c,
						  t, &mss) != 0;
			bad += sl_syncookie_check(&sc, SA, DA, SP, DP, (uint32_t)t, c,
						  p + SL_SYNCOOKIE_PERIOD_S, &mss) != 0;
			bad += sl_syncookie_check(&sc, SA, DA, SP, DP, (uint32_t)t, c,
						  p + 2 * SL_SYNCOOKIE_PERIOD_S, &mss) == 0;
		}
		CHECK_EQ(bad, 0);
	}
}

static void
test_forgery(void)
{
	struct sl_syncookie sc;
	const uint64_t t0 = 123456789;
	unsigned int any = 0, tagged = 0;
	uint32_t tag = (uint32_t)((t0 / SL_SYNCOOKIE_PERIOD_S) & 31) << 27;
	uint16_t mss;

	sl_syncookie_init(&sc, 0xabcdef, t0);
	/* Random guesses; then guesses with the right counter tag, which
	 * leave only the 24-bit MAC (expected 100000 / 2^24 = 0.006). */
	for (int i = 0; i < 100000; i++) {
		any += sl_syncookie_check(&sc, SA, DA, SP, DP, ISN, rnd32(), t0, &mss) == 0;
		tagged += sl_syncookie_check(&sc, SA, DA, SP, DP, ISN,
					     tag | (rnd32() & 0x07ffffff), t0, &mss) == 0;
	}
	CHECK(any <= 2);
	CHECK(tagged <= 2);
}

static void
test_ts_encoding(void)
{
	static const uint32_t clocks[] = { 0, 1, 5, 15, 16, 31, 32, 33, 0x12345678,
					   0x7fffffff, 0x80000000, 0xffffffe0,
					   0xfffffff0, 0xffffffff };

	for (unsigned int ci = 0; ci < sizeof(clocks) / sizeof(clocks[0]); ci++) {
		for (unsigned int v = 0; v < 2 * 2 * 17; v++) {
			bool ws_ok = v & 1, sack = v & 2, ws2, sack2;
			uint8_t wscale = (uint8_t)(v / 4), ws_out = 0xaa;
			uint32_t now = clocks[ci];
			uint32_t ts = sl_syncookie_ts_encode(now, ws_ok, wscale, sack);

			/* Never ahead of the clock, less than 32 behind. */
			CHECK(sl_seq_le(ts, now));
			CHECK(now - ts < 32);
			sl_syncookie_ts_decode(ts, &ws2, &ws_out, &sack2);
			CHECK_EQ(ws2, ws_ok);
			CHECK_EQ(sack2, sack);
			CHECK_EQ(ws_out, ws_ok ? (wscale > 14 ? 14 : wscale) : 0);
		}
	}
	/* The documented bit layout: wscale 0xf means none, bit 4 is SACK. */
	CHECK_EQ(sl_syncookie_ts_encode(0x1000, false, 0, false), 0x1000 - 32 + 0xf);
	CHECK_EQ(sl_syncookie_ts_encode(0x101f, true, 7, true), 0x1017);
	{
		bool ws_ok, sack;
		uint8_t ws;

		sl_syncookie_ts_decode(0xabcdef0f, &ws_ok, &ws, &sack);
		CHECK(!ws_ok && !sack);
		sl_syncookie_ts_decode(0xabcdef1e, &ws_ok, &ws, &sack);
		CHECK(ws_ok && sack);
		CHECK_EQ(ws, 14);
	}
}

int
main(void)
{
	test_siphash_vectors();
	test_mss_clamp();
	test_validity_window();
	test_tamper();
	test_rotation();
	test_forgery();
	test_ts_encoding();
	return sl_test_result("tcp_syncookie");
}
