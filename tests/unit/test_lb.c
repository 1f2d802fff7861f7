/* Load balancing: exact round-robin sequences, weighted draws, least
 * request, Maglev spread and disruption, slow start, retry budget, token
 * bucket and the imbalance detector, all on a fake clock. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "sl_lb.h"
#include "sl_test.h"

#define MAGLEV_M 65537

static uint16_t table_a[MAGLEV_M], table_b[MAGLEV_M];

static void
test_swrr(void)
{
	static const char want[] = "aabacaa" "aabacaa";
	const uint32_t w517[] = { 5, 1, 1 }, w123[] = { 1, 2, 3 };
	const uint32_t wz[] = { 0, 3, 0, 1 }, w0[] = { 0, 0, 0 };
	struct sl_lb_swrr s = { { 0 } };
	unsigned int cnt[4] = { 0 };
	char got[sizeof(want)] = { 0 };

	for (unsigned int k = 0; k < sizeof(want) - 1; k++) {
		int i = sl_lb_swrr_pick(&s, w517, 3);

		got[k] = i < 0 ? '?' : (char)('a' + i);
	}
	CHECK_STR(got, want);

	s = (struct sl_lb_swrr){ { 0 } };
	for (unsigned int k = 0; k < 6000; k++) {
		int i = sl_lb_swrr_pick(&s, w123, 3);

		if (i >= 0)
			cnt[i]++;
	}
	CHECK_EQ(cnt[0], 1000);
	CHECK_EQ(cnt[1], 2000);
	CHECK_EQ(cnt[2], 3000);
	/* Smooth: the weight-3 backend never runs more than twice in a row
	 * for 1:2:3 (nginx's sequence is c b a c b c). */
	s = (struct sl_lb_swrr){ { 0 } };
	{
		unsigned int run = 0, worst = 0;
		int prev = -1;

		for (unsigned int k = 0; k < 600; k++) {
			int i = sl_lb_swrr_pick(&s, w123, 3);

			run = i == prev ? run + 1 : 1;
			prev = i;
			if (run > worst)
				worst = run;
		}
		CHECK(worst <= 2);
	}

	s = (struct sl_lb_swrr){ { 0 } };
	memset(cnt, 0, sizeof(cnt));
	for (unsigned int k = 0; k < 400; k++) {
		int i = sl_lb_swrr_pick(&s, wz, 4);

		CHECK(i == 1 || i == 3);
		if (i >= 0)
			cnt[i]++;
	}
	CHECK_EQ(cnt[1], 300);
	CHECK_EQ(cnt[3], 100);
	CHECK_EQ(sl_lb_swrr_pick(&s, w0, 3), -1);
	CHECK_EQ(sl_lb_swrr_pick(&s, w0, 0), -1);

	/* A backend that drops out and comes back gets no burst. */
	{
		uint32_t w[] = { 1, 1 };
		unsigned int first = 0;

		s = (struct sl_lb_swrr){ { 0 } };
		s.current[1] = 1000;   /* stale credit from before */
		w[1] = 0;
		CHECK_EQ(sl_lb_swrr_pick(&s, w, 2), 0);
		w[1] = 1;
		for (unsigned int k = 0; k < 4; k++)
			first += sl_lb_swrr_pick(&s, w, 2) == 1;
		CHECK_EQ(first, 2);
	}
}

static void
test_random(void)
{
	const uint32_t w[] = { 1, 2, 3, 0 }, w0[] = { 0, 0 };
	unsigned int cnt[4] = { 0 };
	uint64_t rng = 12345, z = 0, a, b;
	unsigned int bad = 0;

	for (unsigned int k = 0; k < 60000; k++) {
		int i = sl_lb_random_pick(w, 4, &rng);

		if (i >= 0 && i <= 3)
			cnt[i]++;
		else
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK(fabs(cnt[0] / 10000.0 - 1) < 0.02);
	CHECK(fabs(cnt[1] / 20000.0 - 1) < 0.02);
	CHECK(fabs(cnt[2] / 30000.0 - 1) < 0.02);
	CHECK_EQ(cnt[3], 0);
	CHECK_EQ(sl_lb_random_pick(w0, 2, &rng), -1);

	/* A zero state would stick at zero: it is reseeded. */
	a = sl_lb_rand(&z);
	b = sl_lb_rand(&z);
	CHECK(z != 0);
	CHECK(a != b);
}

static void
test_p2c(void)
{
	const uint32_t w2[] = { 1, 1 }, skew[] = { 1000000, 0, 1, 0 };
	const uint32_t w13[] = { 1, 3 }, w12[] = { 1, 2 };
	const uint32_t one[] = { 0, 7, 0 }, none[] = { 0, 0 };
	uint32_t busy[] = { 0, 5 }, idle0[] = { 0, 0 }, ten[] = { 10, 10 };
	uint32_t tie[] = { 1, 2 }, four[] = { 0, 0, 0, 0 };
	unsigned int cnt[2] = { 0 }, both = 0, wrong = 0;
	uint64_t rng = 99;
	int a, b;

	for (unsigned int k = 0; k < 10000; k++)
		wrong += sl_lb_p2c_pick(w2, busy, 2, &rng) != 0;
	CHECK_EQ(wrong, 0);
	busy[0] = 5;
	busy[1] = 0;
	wrong = 0;
	for (unsigned int k = 0; k < 10000; k++)
		wrong += sl_lb_p2c_pick(w2, busy, 2, &rng) != 1;
	CHECK_EQ(wrong, 0);

	/* Without replacement: even a 10^6:1 weight draws both. */
	for (unsigned int k = 0; k < 10000; k++) {
		unsigned int d = sl_lb_p2c_draw(skew, 4, &rng, &a, &b);

		both += d == 2 && a != b && (a == 0 || a == 2) && (b == 0 || b == 2);
	}
	CHECK_EQ(both, 10000);
	wrong = 0;
	for (unsigned int k = 0; k < 10000; k++) {
		uint32_t inflight[] = { 9, 0, 0, 0 };   /* 9/10^6 > 0/1 */

		wrong += sl_lb_p2c_pick(skew, inflight, 4, &rng) != 2;
	}
	CHECK_EQ(wrong, 0);

	/* Idle pool: the first draw decides, so the weights set the spread. */
	for (unsigned int k = 0; k < 40000; k++) {
		int i = sl_lb_p2c_pick(w13, idle0, 2, &rng);

		if (i >= 0)
			cnt[i]++;
	}
	CHECK(cnt[1] > 0.72 * 40000 && cnt[1] < 0.78 * 40000);
	CHECK_EQ(cnt[0] + cnt[1], 40000);
	/* Equal inflight, unequal weight: 10/3 < 10/1, so always the heavier. */
	wrong = 0;
	for (unsigned int k = 0; k < 1000; k++)
		wrong += sl_lb_p2c_pick(w13, ten, 2, &rng) != 1;
	CHECK_EQ(wrong, 0);
	/* Equal load per weight (1/1 == 2/2): the lower inflight wins. */
	wrong = 0;
	for (unsigned int k = 0; k < 1000; k++)
		wrong += sl_lb_p2c_pick(w12, tie, 2, &rng) != 0;
	CHECK_EQ(wrong, 0);
	/* Full tie: the first drawn. */
	wrong = 0;
	for (unsigned int k = 0; k < 1000; k++) {
		const uint32_t w4[] = { 1, 1, 1, 1 };
		uint64_t copy = rng;

		sl_lb_p2c_draw(w4, 4, &copy, &a, &b);
		wrong += sl_lb_p2c_pick(w4, four, 4, &rng) != a;
	}
	CHECK_EQ(wrong, 0);

	CHECK_EQ(sl_lb_p2c_pick(one, idle0, 3, &rng), 1);
	CHECK_EQ(sl_lb_p2c_draw(one, 3, &rng, &a, &b), 1);
	CHECK_EQ(a, 1);
	CHECK_EQ(b, -1);
	CHECK_EQ(sl_lb_p2c_pick(none, idle0, 2, &rng), -1);
	CHECK_EQ(sl_lb_p2c_draw(none, 2, &rng, &a, &b), 0);
}

static void
ids_for(uint64_t *ids, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		char key[32];
		int len = snprintf(key, sizeof(key), "10.0.0.%u:8080", i + 1);

		ids[i] = sl_lb_hash(key, (size_t)len, 0x5ca1ab1e);
	}
}

static void
count_entries(const uint16_t *t, unsigned int *cnt, unsigned int n)
{
	memset(cnt, 0, n * sizeof(*cnt));
	for (unsigned int j = 0; j < MAGLEV_M; j++)
		if (t[j] < n)
			cnt[t[j]]++;
}

static void
test_maglev(void)
{
	struct sl_lb_maglev a = { MAGLEV_M, table_a }, b = { MAGLEV_M, table_b };
	uint32_t w[10], w123[] = { 1, 2, 3 }, w0[] = { 0, 0 };
	unsigned int cnt[10], moved = 0, kept_total = 0, moved_kept = 0;
	uint64_t ids[10];
	bool eligible[10];

	ids_for(ids, 10);
	for (unsigned int i = 0; i < 10; i++)
		w[i] = 1;
	CHECK_EQ(sl_lb_maglev_build(&a, w, ids, 10), 0);
	count_entries(table_a, cnt, 10);
	for (unsigned int i = 0; i < 10; i++)
		CHECK(fabs(cnt[i] / (MAGLEV_M / 10.0) - 1) < 0.01);

	CHECK_EQ(sl_lb_maglev_build(&b, w123, ids, 3), 0);
	count_entries(table_b, cnt, 3);
	for (unsigned int i = 0; i < 3; i++)
		CHECK(fabs(cnt[i] / (MAGLEV_M * w123[i] / 6.0) - 1) < 0.01);
	CHECK_EQ(cnt[0] + cnt[1] + cnt[2], MAGLEV_M);

	/* Weight 0 gets nothing; the build is a pure function of its input. */
	w[4] = 0;
	CHECK_EQ(sl_lb_maglev_build(&b, w, ids, 10), 0);
	count_entries(table_b, cnt, 10);
	CHECK_EQ(cnt[4], 0);
	CHECK_EQ(sl_lb_maglev_build(&a, w, ids, 10), 0);
	CHECK(memcmp(table_a, table_b, sizeof(table_a)) == 0);

	/* Removing one of ten moves its own keys and few others. */
	w[4] = 1;
	CHECK_EQ(sl_lb_maglev_build(&a, w, ids, 10), 0);
	w[7] = 0;
	CHECK_EQ(sl_lb_maglev_build(&b, w, ids, 10), 0);
	for (unsigned int j = 0; j < MAGLEV_M; j++) {
		moved += table_a[j] != table_b[j];
		if (table_a[j] != 7) {
			kept_total++;
			moved_kept += table_a[j] != table_b[j];
		}
	}
	CHECK((double)moved_kept / kept_total < 0.05);
	CHECK((double)moved / MAGLEV_M <= 0.1 + 0.05);
	CHECK(moved_kept > 0 || moved > 0);
	/* Same for dropping the last backend from n (the ids fix the rest). */
	w[7] = 1;
	CHECK_EQ(sl_lb_maglev_build(&b, w, ids, 9), 0);
	moved = 0;
	for (unsigned int j = 0; j < MAGLEV_M; j++)
		moved += table_a[j] != table_b[j] && table_a[j] != 9;
	CHECK((double)moved / MAGLEV_M < 0.05);

	/* pick: keys of an ineligible backend spread; the rest stay. */
	for (unsigned int i = 0; i < 10; i++)
		eligible[i] = true;
	eligible[3] = false;
	{
		unsigned int to[10] = { 0 }, spread = 0, bad = 0, stayed = 0, on3 = 0;
		uint64_t seed = 7;

		for (unsigned int k = 0; k < 100000; k++) {
			uint64_t h = sl_lb_rand(&seed);
			int plain = sl_lb_maglev_pick(&a, h, NULL);
			int got = sl_lb_maglev_pick(&a, h, eligible);

			bad += plain != table_a[h % MAGLEV_M];
			if (got < 0 || got == 3) {
				bad++;
				continue;
			}
			if (plain == 3) {
				on3++;
				to[got]++;
			} else {
				stayed += got == plain;
			}
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(stayed + on3, 100000);
		for (unsigned int i = 0; i < 10; i++)
			spread += to[i] > on3 / 20;
		CHECK(spread >= 7);
	}
	for (unsigned int i = 0; i < 10; i++)
		eligible[i] = false;
	CHECK_EQ(sl_lb_maglev_pick(&a, 12345, eligible), -1);

	b.size = 65536;
	CHECK_EQ(sl_lb_maglev_build(&b, w123, ids, 3), -EINVAL);
	b.size = MAGLEV_M;
	CHECK_EQ(sl_lb_maglev_build(&b, w0, ids, 2), -EINVAL);
	b.table = NULL;
	CHECK_EQ(sl_lb_maglev_build(&b, w123, ids, 3), -EINVAL);
	CHECK_EQ(sl_lb_maglev_pick(&b, 1, NULL), -1);

	/* A small table with one backend is all that backend. */
	{
		uint16_t t[7];
		struct sl_lb_maglev s = { 7, t };
		uint32_t one[] = { 0, 5 };
		unsigned int all = 0;

		CHECK_EQ(sl_lb_maglev_build(&s, one, ids, 2), 0);
		for (unsigned int j = 0; j < 7; j++)
			all += t[j] == 1;
		CHECK_EQ(all, 7);
	}
}

static void
test_hash_prime(void)
{
	uint64_t x = 0x0123456789abcdefull, h0, flips = 0;
	const char s[] = "192.168.1.1";

	CHECK(sl_lb_hash(s, sizeof(s) - 1, 1) == sl_lb_hash(s, sizeof(s) - 1, 1));
	CHECK(sl_lb_hash(s, sizeof(s) - 1, 1) != sl_lb_hash(s, sizeof(s) - 1, 2));
	CHECK(sl_lb_hash(s, sizeof(s) - 1, 1) != sl_lb_hash(s, sizeof(s) - 2, 1));
	/* Avalanche: one input bit flips about half of the output bits. */
	h0 = sl_lb_hash(&x, sizeof(x), 0);
	for (unsigned int bit = 0; bit < 64; bit++) {
		uint64_t y = x ^ (1ull << bit);

		flips += (uint64_t)__builtin_popcountll(h0 ^ sl_lb_hash(&y, sizeof(y), 0));
	}
	CHECK(flips > 64 * 28 && flips < 64 * 36);

	CHECK(!sl_lb_is_prime(0));
	CHECK(!sl_lb_is_prime(1));
	CHECK(sl_lb_is_prime(2));
	CHECK(sl_lb_is_prime(3));
	CHECK(!sl_lb_is_prime(4));
	CHECK(!sl_lb_is_prime(9));
	CHECK(sl_lb_is_prime(65537));
	CHECK(!sl_lb_is_prime(65536));
	CHECK(!sl_lb_is_prime(65539 * 3));
	CHECK(sl_lb_is_prime(4294967291u));
	CHECK(!sl_lb_is_prime(4294967295u));
}

static void
test_slow_start(void)
{
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 1000, 10000, 10), 10);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 6000, 10000, 10), 55);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 10999, 10000, 10), 99);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 11000, 10000, 10), 100);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 90000, 10000, 10), 100);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 500, 10000, 10), 10);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 1000, 10000, 0), 1);
	CHECK_EQ(sl_lb_slow_start_weight(1, 1000, 1000, 10000, 0), 1);
	CHECK_EQ(sl_lb_slow_start_weight(3, 1000, 5000, 10000, 0), 1);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 1000, 10000, 500), 100);
	CHECK_EQ(sl_lb_slow_start_weight(100, 1000, 1000, 0, 10), 100);
	CHECK_EQ(sl_lb_slow_start_weight(100, 0, 1000, 10000, 10), 100);
	CHECK_EQ(sl_lb_slow_start_weight(0, 1000, 1000, 10000, 10), 0);
	{
		unsigned int zero = 0;

		for (uint64_t t = 1000; t <= 12000; t += 7)
			zero += sl_lb_slow_start_weight(2, 1000, t, 10000, 0) == 0;
		CHECK_EQ(zero, 0);
	}
	/* Monotonic ramp. */
	{
		uint32_t prev = 0, bad = 0;

		for (uint64_t t = 1000; t <= 12000; t += 13) {
			uint32_t v = sl_lb_slow_start_weight(1000, 1000, t, 10000, 5);

			bad += v < prev;
			prev = v;
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(prev, 1000);
	}
}

static void
test_budget(void)
{
	struct sl_lb_budget_conf c = { .budget_pct = 20, .min_concurrency = 3 };

	CHECK(sl_lb_budget_allows(&c, 0, 0));
	CHECK(sl_lb_budget_allows(&c, 0, 2));
	CHECK(!sl_lb_budget_allows(&c, 0, 3));
	CHECK(sl_lb_budget_allows(&c, 9, 2));      /* 1.8 -> 1, min 3 rules */
	CHECK(!sl_lb_budget_allows(&c, 9, 3));
	CHECK(sl_lb_budget_allows(&c, 100, 19));
	CHECK(!sl_lb_budget_allows(&c, 100, 20));
	CHECK(!sl_lb_budget_allows(&c, 104, 20));  /* 20.8 rounds down */
	CHECK(sl_lb_budget_allows(&c, 105, 20));   /* 21 */
	c.min_concurrency = 0;
	CHECK(sl_lb_budget_allows(&c, 9, 0));
	CHECK(!sl_lb_budget_allows(&c, 9, 1));
	CHECK(!sl_lb_budget_allows(&c, 4, 0));     /* 0.8 -> 0 */
	c.budget_pct = 100;
	CHECK(sl_lb_budget_allows(&c, 5, 4));
	CHECK(!sl_lb_budget_allows(&c, 5, 5));
	c.budget_pct = 0;
	c.min_concurrency = 1;
	CHECK(sl_lb_budget_allows(&c, 1000000, 0));
	CHECK(!sl_lb_budget_allows(&c, 1000000, 1));
	c.budget_pct = 1000;
	CHECK(sl_lb_budget_allows(&c, 4000000000u, 4000000000u));
}

static void
test_bucket(void)
{
	struct sl_lb_bucket b;
	unsigned int ok = 0;

	sl_lb_bucket_init(&b, 5, 1000);
	for (unsigned int k = 0; k < 5; k++)
		CHECK(sl_lb_bucket_take(&b, 10, 5, 1000));
	CHECK(!sl_lb_bucket_take(&b, 10, 5, 1000));
	CHECK(!sl_lb_bucket_take(&b, 10, 5, 1099));
	CHECK(sl_lb_bucket_take(&b, 10, 5, 1100));
	CHECK(!sl_lb_bucket_take(&b, 10, 5, 1100));
	CHECK(!sl_lb_bucket_take(&b, 10, 5, 1150));
	CHECK(sl_lb_bucket_take(&b, 10, 5, 1200));
	/* A long idle refills only up to burst. */
	for (unsigned int k = 0; k < 6; k++)
		ok += sl_lb_bucket_take(&b, 10, 5, 100000);
	CHECK_EQ(ok, 5);
	/* A clock going backwards refills nothing. */
	CHECK(!sl_lb_bucket_take(&b, 10, 5, 50000));
	/* Steady rate in tenth-of-a-token steps: exactly rate per second. */
	ok = 0;
	for (uint64_t t = 100010; t <= 110000; t += 10)
		ok += sl_lb_bucket_take(&b, 10, 5, t);
	CHECK_EQ(ok, 100);
	/* Zero rate: the burst and no more. */
	sl_lb_bucket_init(&b, 2, 0);
	ok = 0;
	for (uint64_t t = 0; t < 10000; t += 100)
		ok += sl_lb_bucket_take(&b, 0, 2, t);
	CHECK_EQ(ok, 2);
}

static void
add3(struct sl_lb_imbalance *im, uint32_t a, uint32_t b, uint32_t c, uint64_t t)
{
	sl_lb_imbalance_add(im, 0, a, t);
	sl_lb_imbalance_add(im, 1, b, t);
	sl_lb_imbalance_add(im, 2, c, t);
}

static void
test_imbalance(void)
{
	static struct sl_lb_imbalance im;
	const uint32_t eq[] = { 1, 1, 1 }, w112[] = { 1, 1, 2 }, w110[] = { 1, 1, 0 };
	uint64_t t = 1000;

	/* Even spread: ratio 1, no deviation, no alarm. */
	sl_lb_imbalance_init(&im, 3, 10000, t);
	CHECK_EQ(im.bucket_ms, 1000);
	add3(&im, 100, 100, 100, t);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t, 30, 2.0, 0.5, 0), 0);
	CHECK(fabs(im.ratio - 1.0) < 1e-9);
	CHECK(im.worst_deviation < 1e-9);
	CHECK_EQ(im.window_requests, 300);
	CHECK(fabs(im.share[1] - 1.0 / 3) < 1e-9);
	CHECK(fabs(im.expected[2] - 1.0 / 3) < 1e-9);
	CHECK(!im.alarm);

	/* 1:1:10 with equal weights: over at once, alarm only after hold.
	 * ratio: b2's 10/12 of the requests over its capacity share 1/3. */
	sl_lb_imbalance_init(&im, 3, 10000, t);
	add3(&im, 10, 10, 100, t);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t, 30, 2.0, 0, 3000), 0);
	CHECK(fabs(im.ratio - 2.5) < 1e-9);
	CHECK_EQ(im.ratio_top, 2);
	CHECK(!im.alarm);
	CHECK_EQ(im.over_since_ms, t);
	add3(&im, 10, 10, 100, t + 1000);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 1000, 30, 2.0, 0, 3000), 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 2999, 30, 2.0, 0, 3000), 0);
	CHECK(!im.alarm);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 3000, 30, 2.0, 0, 3000), 1);
	CHECK(im.alarm);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 3500, 30, 2.0, 0, 3000), 0);
	CHECK(im.alarm);
	CHECK(fabs(im.worst_deviation - 1.5) < 1e-9);   /* 10/12 vs 1/3 */
	CHECK(fabs(im.deviation[0] + 0.75) < 1e-9);
	/* The skew ages out of the window; an even spread clears the alarm. */
	t += 20000;
	add3(&im, 100, 100, 100, t);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t, 30, 2.0, 0, 3000), -1);
	CHECK(!im.alarm);
	CHECK_EQ(im.window_requests, 300);
	CHECK_EQ(im.over_since_ms, 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 1, 30, 2.0, 0, 3000), 0);

	/* A short blip resets the hold. */
	sl_lb_imbalance_init(&im, 3, 10000, t);
	add3(&im, 10, 10, 100, t);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t, 30, 2.0, 0, 3000), 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 1000, 1000, 2.0, 0, 3000), 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 3000, 30, 2.0, 0, 3000), 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, t + 6000, 30, 2.0, 0, 3000), 1);

	/* min_requests: too few requests to judge, at the limit judged. */
	sl_lb_imbalance_init(&im, 3, 10000, 0);
	add3(&im, 1, 1, 10, 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, 0, 13, 2.0, 0.5, 0), 0);
	CHECK(!im.alarm);
	CHECK(im.ratio > 2.0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, 0, 12, 2.0, 0.5, 0), 1);
	CHECK(im.alarm);   /* a fake clock at 0 works too */

	/* Window expiry: kept for 10 buckets, then gone. */
	sl_lb_imbalance_init(&im, 3, 10000, 1000);
	sl_lb_imbalance_add(&im, 0, 100, 1000);
	sl_lb_imbalance_add(&im, 1, 50, 5500);
	sl_lb_imbalance_eval(&im, eq, 10999, 0, 0, 0, 0);
	CHECK_EQ(im.window_requests, 150);
	sl_lb_imbalance_eval(&im, eq, 11000, 0, 0, 0, 0);
	CHECK_EQ(im.window_requests, 50);
	sl_lb_imbalance_eval(&im, eq, 14999, 0, 0, 0, 0);
	CHECK_EQ(im.window_requests, 50);
	sl_lb_imbalance_eval(&im, eq, 15000, 0, 0, 0, 0);
	CHECK_EQ(im.window_requests, 0);
	CHECK(fabs(im.ratio - 1.0) < 1e-9);
	sl_lb_imbalance_add(&im, 2, 7, 15600);
	sl_lb_imbalance_eval(&im, eq, 15700, 0, 0, 0, 0);
	CHECK_EQ(im.window_requests, 7);
	sl_lb_imbalance_eval(&im, eq, 999999, 0, 0, 0, 0);
	CHECK_EQ(im.window_requests, 0);

	/* Deviation alone, against unequal weights. */
	sl_lb_imbalance_init(&im, 3, 10000, 0);
	add3(&im, 100, 100, 200, 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, w112, 0, 10, 0, 0.5, 0), 0);
	CHECK(im.worst_deviation < 1e-9);
	CHECK(fabs(im.ratio - 1.5) < 1e-9);   /* 1/2 over 1/3 */
	sl_lb_imbalance_init(&im, 3, 10000, 0);
	add3(&im, 100, 100, 100, 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, w112, 0, 10, 0, 0.5, 0), 0);
	CHECK(fabs(im.worst_deviation - 1.0 / 3) < 1e-9);
	sl_lb_imbalance_init(&im, 3, 10000, 0);
	add3(&im, 100, 100, 0, 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, w112, 0, 10, 0, 0.5, 0), 1);
	CHECK(fabs(im.worst_deviation - 1.0) < 1e-9);
	CHECK(fabs(im.deviation[2] + 1.0) < 1e-9);

	/* A backend taken out (weight 0) still draining is reported, not
	 * judged, and does not make the others look starved. */
	sl_lb_imbalance_init(&im, 3, 10000, 0);
	add3(&im, 50, 50, 500, 0);
	CHECK_EQ(sl_lb_imbalance_eval(&im, w110, 0, 10, 2.0, 0.5, 0), 0);
	CHECK(fabs(im.ratio - 1.0) < 1e-9);
	CHECK(im.worst_deviation < 1e-9);
	CHECK(fabs(im.share[2] - 500.0 / 600) < 1e-9);
	CHECK_EQ(im.expected[2], 0);
	CHECK(fabs(im.deviation[2] - 500.0 / 600) < 1e-9);

	/* One eligible backend: ratio 1. Others got nothing: all of it
	 * against a capacity share of 1/3. */
	{
		const uint32_t w100[] = { 1, 0, 0 };

		sl_lb_imbalance_init(&im, 3, 10000, 0);
		add3(&im, 0, 100, 0, 0);
		sl_lb_imbalance_eval(&im, w100, 0, 0, 2.0, 0, 0);
		CHECK(fabs(im.ratio - 1.0) < 1e-9);
		sl_lb_imbalance_init(&im, 3, 10000, 0);
		add3(&im, 0, 100, 0, 0);
		CHECK_EQ(sl_lb_imbalance_eval(&im, eq, 0, 0, 2.0, 0, 0), 1);
		CHECK(fabs(im.ratio - 3.0) < 1e-9);
	}
	/* Out-of-range backend is ignored. */
	sl_lb_imbalance_init(&im, 3, 10000, 0);
	sl_lb_imbalance_add(&im, 3, 100, 0);
	sl_lb_imbalance_eval(&im, eq, 0, 0, 0, 0, 0);
	CHECK_EQ(im.window_requests, 0);
}

int
main(void)
{
	test_swrr();
	test_random();
	test_p2c();
	test_maglev();
	test_hash_prime();
	test_slow_start();
	test_budget();
	test_bucket();
	test_imbalance();
	return sl_test_result("test_lb");
}
