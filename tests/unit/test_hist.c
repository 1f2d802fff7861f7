/* Latency histogram: bucketing is monotonic and tight; quantiles are within
 * one bucket (12.5%) of the exact ones. */
#include <stdlib.h>

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
	return sl_test_result("test_hist");
}
