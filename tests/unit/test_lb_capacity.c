/*
 * Learned capacity (lb_capacity.c) on synthetic ticks: a backend whose
 * latency rises past in-flight 8 learns about 8; too few ticks, or a load
 * that never made latency depart, is unknown (0); latency spikes at low
 * load neither set a value nor pull a learned one down much.
 */
#include <math.h>

#include "sl_lb.h"
#include "sl_test.h"

/* A tick: `level` in flight for 50 samples, 10 requests at `lat_us`. */
static double
tick(struct sl_lb_cap *c, uint32_t level, uint32_t lat_us)
{
	for (int s = 0; s < 50; s++)
		sl_lb_cap_sample(c, level);
	for (int r = 0; r < 10; r++)
		sl_lb_cap_done(c, lat_us);
	return sl_lb_cap_tick(c, SL_LB_CAP_TOLERANCE);
}

/* A backend that takes 1 ms up to 8 in flight, and queues beyond. */
static uint32_t
knee8_latency(uint32_t level)
{
	return level <= 8 ? 1000 : 1000 * level / 3;
}

static void
test_knee_at_8(void)
{
	struct sl_lb_cap c;
	double v = 0;

	sl_lb_cap_init(&c);
	for (int round = 0; round < 3; round++)
		for (uint32_t level = 1; level <= 16; level++)
			v = tick(&c, level, knee8_latency(level));
	CHECK(fabs(v - 8) < 1.0);
	CHECK(fabs(sl_lb_cap_value(&c) - v) < 1e-9);
	CHECK(fabs(c.baseline_us - 1000) < 1e-6);   /* overload never raised it */
}

static void
test_unknown(void)
{
	struct sl_lb_cap c;

	/* Departed, but fewer ticks than SL_LB_CAP_MIN_TICKS. */
	sl_lb_cap_init(&c);
	for (uint32_t level = 1; level <= 12; level++)
		tick(&c, level, knee8_latency(level));
	CHECK(c.ticks < SL_LB_CAP_MIN_TICKS);
	CHECK_EQ(sl_lb_cap_value(&c), 0);
	/* Many ticks, latency flat at every level: no limit seen. */
	sl_lb_cap_init(&c);
	for (int round = 0; round < 5; round++)
		for (uint32_t level = 1; level <= 16; level++)
			tick(&c, level, 1000);
	CHECK_EQ(sl_lb_cap_value(&c), 0);
	/* Ticks with too few completions do not count. */
	sl_lb_cap_init(&c);
	for (int t = 0; t < 100; t++) {
		sl_lb_cap_sample(&c, 20);
		sl_lb_cap_done(&c, 50000);
		sl_lb_cap_tick(&c, SL_LB_CAP_TOLERANCE);
	}
	CHECK_EQ(c.ticks, 0);
	CHECK_EQ(sl_lb_cap_value(&c), 0);
}

static void
test_low_load_spikes(void)
{
	struct sl_lb_cap c;
	double v;

	/* Low load, 1 to 4 in flight at 1 ms, a 20 ms spike every 5th tick
	 * (at any of those levels): never a value. */
	sl_lb_cap_init(&c);
	for (int t = 0; t < 200; t++) {
		uint32_t level = 1 + (uint32_t)t % 4;

		tick(&c, level, t % 5 == 4 ? 20000 : 1000);
	}
	CHECK(c.ticks >= SL_LB_CAP_MIN_TICKS);
	CHECK_EQ(sl_lb_cap_value(&c), 0);
	/* Load growing step by step, a spike at each new level first, then
	 * fine there: those spikes were no departure. */
	sl_lb_cap_init(&c);
	for (uint32_t level = 1; level <= 10; level++) {
		tick(&c, level, 20000);
		for (int t = 0; t < 3; t++)
			tick(&c, level, 1000);
	}
	CHECK(c.ticks >= SL_LB_CAP_MIN_TICKS);
	CHECK_EQ(sl_lb_cap_value(&c), 0);
	/* Learned 8, then spikes at 2 in flight: it stays near 8. */
	sl_lb_cap_init(&c);
	for (int round = 0; round < 3; round++)
		for (uint32_t level = 1; level <= 16; level++)
			tick(&c, level, knee8_latency(level));
	tick(&c, 2, 20000);
	v = tick(&c, 2, 20000);
	CHECK(v > 7);
	CHECK(v <= 8.0 + 1e-9);
}

int
main(void)
{
	test_knee_at_8();
	test_unknown();
	test_low_load_spikes();
	return sl_test_result("test_lb_capacity");
}
