/* Latency histogram: bucketing is monotonic and tight; quantiles are within
 * one bucket (12.5%) of the exact ones. */
#include <stdlib.h>
#include <string.h>

#include "sl_hist.h"
#include "sl_test.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(void)
{
	static struct sl_hist h, merged;
	static uint64_t v[100000];
	const double qs[] = { 0.5, 0.9, 0.99, 0.999, 1.0 };

	/* Every value lands in a bucket whose bounds contain it. */
	for (uint64_t x = 0; x < 200000; x += 1 + x / 50) {
		unsigned int b = sl_hist_bucket(x);

		CHECK(sl_hist_bucket_low(b) <= x);
		CHECK(x < sl_hist_bucket_high(b));
		if (x >= SL_HIST_SUB)
			CHECK(sl_hist_bucket_high(b) - sl_hist_bucket_low(b) <=
			      sl_hist_bucket_low(b) / SL_HIST_SUB + 1);
	}
	CHECK_EQ(sl_hist_bucket(0), 0);
	CHECK_EQ(sl_hist_bucket(7), 7);
	CHECK_EQ(sl_hist_bucket(8), 8);
	CHECK(sl_hist_bucket(~0ull) == SL_HIST_BUCKETS - 1);
	CHECK_EQ(sl_hist_quantile(&h, 0.5), 0);

	/* A skewed distribution, recorded in two halves and merged. */
	srand(7);
	for (int i = 0; i < 100000; i++) {
		v[i] = (uint64_t)(rand() % 1000) + (i % 100 == 0 ? 50000 + rand() % 50000 : 0);
		sl_hist_record(i % 2 ? &merged : &h, v[i]);
	}
	sl_hist_merge(&merged, &h);
	CHECK_EQ(merged.count, 100000);
	qsort(v, 100000, sizeof(v[0]), cmp_u64);
	for (unsigned int i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t exact = v[(size_t)(qs[i] * 100000) - 1];
		uint64_t got = sl_hist_quantile(&merged, qs[i]);

		CHECK(got >= exact);
		CHECK(got <= exact + exact / 8 + 1);
	}
	CHECK_EQ(sl_hist_quantile(&merged, 1.0), v[99999]);

	/*
	 * Cumulative counts for Prometheus buckets: never more than the exact
	 * count at or below the bound (no sample claimed faster than it may
	 * have been), at least the exact count at 8/9 of the bound (one
	 * bucket's width), monotonic, and all of them at the top.
	 */
	CHECK_EQ(sl_hist_total(&merged), 100000);
	{
		static const uint64_t bounds[] = { 0, 7, 100, 250, 500, 999, 1000,
						   2500, 60000, 100000, 1ull << 40 };
		uint64_t prev = 0;

		for (unsigned int i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
			uint64_t b = bounds[i], got = sl_hist_count_le(&merged, b);
			uint64_t le = 0, le_low = 0;

			for (unsigned int k = 0; k < 100000; k++) {
				le += v[k] <= b;
				le_low += v[k] <= b - b / 9;
			}
			CHECK(got <= le);
			CHECK(got >= le_low);
			CHECK(got >= prev);
			prev = got;
		}
		CHECK_EQ(prev, 100000);
		/* Bucket edges are exact: 1024 is a lower edge, 1023 an upper one. */
		memset(&h, 0, sizeof(h));
		sl_hist_record(&h, 1023);
		sl_hist_record(&h, 1024);
		CHECK_EQ(sl_hist_count_le(&h, 1023), 1);
		CHECK_EQ(sl_hist_count_le(&h, 1022), 0);
	}
	return sl_test_result("test_hist");
}
