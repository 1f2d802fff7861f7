/* Circuit breaker and outlier ejection on a fake clock: every state
 * transition, the cooldown backoff, ejection caps and success-rate
 * ejection, and the panic rule. */
#include "sl_breaker.h"
#include "sl_test.h"

static const struct sl_breaker_conf base_conf = {
	.consecutive_failures = 3,
	.error_rate_pct = 0,
	.window_ms = 10000,
	.min_requests = 10,
	.cooldown_ms = 1000,
	.cooldown_max_ms = 4000,
	.half_open_probes = 2,
};

static void
test_breaker_consecutive(void)
{
	const struct sl_breaker_conf *c = &base_conf;
	struct sl_breaker b;
	uint64_t t = 5000;

	sl_breaker_init(&b, c, t);
	CHECK_EQ(b.state, SL_BREAKER_CLOSED);
	CHECK_EQ(b.cooldown_cur_ms, 1000);
	CHECK(sl_breaker_allow(&b));
	CHECK_EQ(sl_breaker_result(&b, c, true, t), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, true, t), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, false, t), SL_BREAKER_EV_NONE);
	CHECK_EQ(b.consecutive, 0);
	CHECK_EQ(sl_breaker_result(&b, c, true, t), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, true, t), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, true, t + 10), SL_BREAKER_EV_OPENED);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);
	CHECK_EQ(b.opens, 1);
	CHECK_EQ(b.consecutive, 3);
	CHECK_EQ(b.opened_ms, t + 10);
	CHECK_STR(sl_breaker_state_name(b.state), "open");

	/* OPEN: refuses, ignores late results, waits out the cooldown. */
	CHECK(!sl_breaker_allow(&b));
	CHECK_EQ(sl_breaker_result(&b, c, false, t + 20), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, true, t + 20), SL_BREAKER_EV_NONE);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);
	CHECK_EQ(sl_breaker_tick(&b, c, t + 1009), SL_BREAKER_EV_NONE);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);
	CHECK(!sl_breaker_allow(&b));

	/* HALF_OPEN: exactly half_open_probes permits. */
	CHECK_EQ(sl_breaker_tick(&b, c, t + 1010), SL_BREAKER_EV_HALF_OPENED);
	CHECK_EQ(b.state, SL_BREAKER_HALF_OPEN);
	CHECK_STR(sl_breaker_state_name(b.state), "half_open");
	CHECK_EQ(b.probes_left, 2);
	CHECK_EQ(sl_breaker_tick(&b, c, t + 1011), SL_BREAKER_EV_NONE);
	CHECK(sl_breaker_allow(&b));
	CHECK(sl_breaker_allow(&b));
	CHECK(!sl_breaker_allow(&b));
	CHECK(!sl_breaker_allow(&b));
	CHECK_EQ(b.probes_left, 0);
	CHECK_EQ(b.probes_out, 2);

	/* A probe succeeds: closed, everything cleared. */
	CHECK_EQ(sl_breaker_result(&b, c, false, t + 1100), SL_BREAKER_EV_CLOSED);
	CHECK_EQ(b.state, SL_BREAKER_CLOSED);
	CHECK_STR(sl_breaker_state_name(b.state), "closed");
	CHECK_EQ(b.consecutive, 0);
	CHECK_EQ(b.probes_out, 0);
	CHECK(sl_breaker_allow(&b));
	CHECK_EQ(sl_breaker_result(&b, c, true, t + 1200), SL_BREAKER_EV_NONE);
	CHECK_EQ(b.consecutive, 1);
}

static void
test_breaker_backoff(void)
{
	const struct sl_breaker_conf *c = &base_conf;
	struct sl_breaker b;
	uint64_t t = 0;
	const uint32_t want[] = { 2000, 4000, 4000 };

	sl_breaker_init(&b, c, t);
	for (unsigned int k = 0; k < 3; k++)
		sl_breaker_result(&b, c, true, t);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);
	CHECK_EQ(sl_breaker_tick(&b, c, t + 1000), SL_BREAKER_EV_HALF_OPENED);
	t += 1000;
	/* Each failed probe doubles the cooldown, up to cooldown_max_ms. */
	for (unsigned int k = 0; k < 3; k++) {
		CHECK(sl_breaker_allow(&b));
		CHECK_EQ(sl_breaker_result(&b, c, true, t), SL_BREAKER_EV_REOPENED);
		CHECK_EQ(b.state, SL_BREAKER_OPEN);
		CHECK_EQ(b.cooldown_cur_ms, want[k]);
		CHECK_EQ(b.reopenings, k + 1);
		CHECK_EQ(b.opens, k + 2);
		CHECK_EQ(b.probes_out, 0);
		CHECK(!sl_breaker_allow(&b));
		CHECK_EQ(sl_breaker_tick(&b, c, t + want[k] - 1), SL_BREAKER_EV_NONE);
		CHECK_EQ(sl_breaker_tick(&b, c, t + want[k]), SL_BREAKER_EV_HALF_OPENED);
		t += want[k];
	}
	/* Success: closed, backoff forgotten. */
	CHECK_EQ(sl_breaker_result(&b, c, false, t), SL_BREAKER_EV_CLOSED);
	CHECK_EQ(b.reopenings, 0);
	CHECK_EQ(b.cooldown_cur_ms, 1000);
	for (unsigned int k = 0; k < 3; k++)
		sl_breaker_result(&b, c, true, t);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);
	CHECK_EQ(sl_breaker_tick(&b, c, t + 999), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_tick(&b, c, t + 1000), SL_BREAKER_EV_HALF_OPENED);

	/* A half-open result counts even without allow() (the caller may
	 * hand out probe permits itself). */
	CHECK_EQ(sl_breaker_result(&b, c, true, t + 1000), SL_BREAKER_EV_REOPENED);
	CHECK_EQ(b.cooldown_cur_ms, 2000);

	/* cooldown_max_ms below cooldown_ms: no backoff. */
	{
		struct sl_breaker_conf nc = base_conf;

		nc.cooldown_max_ms = 0;
		nc.half_open_probes = 0;
		sl_breaker_init(&b, &nc, 0);
		sl_breaker_force_open(&b, &nc, 0);
		CHECK_EQ(sl_breaker_tick(&b, &nc, 1000), SL_BREAKER_EV_HALF_OPENED);
		/* No probe at all would leave it half-open forever: one. */
		CHECK(sl_breaker_allow(&b));
		CHECK(!sl_breaker_allow(&b));
		CHECK_EQ(sl_breaker_result(&b, &nc, true, 1000), SL_BREAKER_EV_REOPENED);
		CHECK_EQ(b.cooldown_cur_ms, 1000);
	}
}

static void
test_breaker_rate(void)
{
	struct sl_breaker_conf c = base_conf;
	struct sl_breaker b;
	unsigned int opened = 0;

	c.consecutive_failures = 0;
	c.error_rate_pct = 50;

	/* 5 of 9 fail (55%) but 9 < min_requests; the 10th trips it. */
	sl_breaker_init(&b, &c, 0);
	for (unsigned int k = 0; k < 4; k++)
		opened += sl_breaker_result(&b, &c, false, 100) != SL_BREAKER_EV_NONE;
	for (unsigned int k = 0; k < 5; k++)
		opened += sl_breaker_result(&b, &c, true, 100) != SL_BREAKER_EV_NONE;
	CHECK_EQ(opened, 0);
	CHECK_EQ(b.state, SL_BREAKER_CLOSED);
	CHECK_EQ(sl_breaker_result(&b, &c, true, 100), SL_BREAKER_EV_OPENED);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);

	/* Exactly 50% is not over 50%. */
	sl_breaker_init(&b, &c, 0);
	for (unsigned int k = 0; k < 10; k++)
		opened += sl_breaker_result(&b, &c, k % 2 == 0, 100) != SL_BREAKER_EV_NONE;
	CHECK_EQ(opened, 0);
	CHECK_EQ(sl_breaker_result(&b, &c, true, 100), SL_BREAKER_EV_OPENED);

	/* Below min volume: all failures, never opens; consecutive is off. */
	sl_breaker_init(&b, &c, 0);
	for (unsigned int k = 0; k < 9; k++)
		opened += sl_breaker_result(&b, &c, true, 100) != SL_BREAKER_EV_NONE;
	CHECK_EQ(opened, 0);
	CHECK_EQ(b.consecutive, 9);

	/* Old failures leave the window: 9 then, 2 after a window, no trip. */
	opened = 0;
	for (unsigned int k = 0; k < 2; k++)
		opened += sl_breaker_result(&b, &c, true, 20100) != SL_BREAKER_EV_NONE;
	CHECK_EQ(opened, 0);
	CHECK_EQ(b.state, SL_BREAKER_CLOSED);
	/* ...but within the window they add up. */
	sl_breaker_init(&b, &c, 0);
	for (unsigned int k = 0; k < 9; k++)
		sl_breaker_result(&b, &c, true, 100);
	CHECK_EQ(sl_breaker_result(&b, &c, true, 9000), SL_BREAKER_EV_OPENED);
	/* Sliding: failures at 0..999 expire at 10000; the window keeps
	 * 9000's. */
	sl_breaker_init(&b, &c, 0);
	for (unsigned int k = 0; k < 5; k++)
		sl_breaker_result(&b, &c, true, 500);
	for (unsigned int k = 0; k < 5; k++)
		sl_breaker_result(&b, &c, false, 9500);
	opened = 0;
	for (unsigned int k = 0; k < 5; k++)
		opened += sl_breaker_result(&b, &c, true, 10000) != SL_BREAKER_EV_NONE;
	CHECK_EQ(opened, 0);      /* 5 of 10 in the window: 50%, not over */
	CHECK_EQ(sl_breaker_result(&b, &c, true, 10000), SL_BREAKER_EV_OPENED);

	/* Both rules on: whichever trips first. */
	c.consecutive_failures = 2;
	sl_breaker_init(&b, &c, 0);
	sl_breaker_result(&b, &c, true, 0);
	CHECK_EQ(sl_breaker_result(&b, &c, true, 0), SL_BREAKER_EV_OPENED);
}

static void
test_breaker_force_reset(void)
{
	const struct sl_breaker_conf *c = &base_conf;
	struct sl_breaker b;

	sl_breaker_init(&b, c, 0);
	sl_breaker_result(&b, c, true, 0);
	sl_breaker_force_open(&b, c, 500);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);
	CHECK_EQ(b.opens, 1);
	CHECK(!sl_breaker_allow(&b));
	CHECK_EQ(sl_breaker_tick(&b, c, 1499), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_tick(&b, c, 1500), SL_BREAKER_EV_HALF_OPENED);
	sl_breaker_force_open(&b, c, 1600);
	CHECK_EQ(b.state, SL_BREAKER_OPEN);
	CHECK_EQ(b.opens, 2);
	CHECK_EQ(sl_breaker_tick(&b, c, 2599), SL_BREAKER_EV_NONE);

	sl_breaker_reset(&b, c, 1700);
	CHECK_EQ(b.state, SL_BREAKER_CLOSED);
	CHECK(sl_breaker_allow(&b));
	CHECK_EQ(b.consecutive, 0);
	CHECK_EQ(b.cooldown_cur_ms, 1000);
	CHECK_EQ(b.req[0] + b.fail[0], 0);
	CHECK_EQ(b.opens, 2);
	CHECK_EQ(sl_breaker_tick(&b, c, 99999), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, true, 1800), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, true, 1800), SL_BREAKER_EV_NONE);
	CHECK_EQ(sl_breaker_result(&b, c, true, 1800), SL_BREAKER_EV_OPENED);
	CHECK_STR(sl_breaker_state_name((enum sl_breaker_state)7), "unknown");
}

static const struct sl_outlier_conf ocf = {
	.consecutive_5xx = 5,
	.consecutive_gateway = 3,
	.success_rate_min_hosts = 0,
	.success_rate_min_requests = 100,
	.success_rate_stdev_factor = 1.9,
	.interval_ms = 10000,
	.base_ejection_ms = 30000,
	.max_ejection_ms = 75000,
	.max_ejection_pct = 50,
};

static void
test_outlier_consecutive(void)
{
	static struct sl_outlier_pool p;
	const struct sl_outlier_conf *c = &ocf;
	unsigned int back[SL_LB_MAX_BACKENDS], sr[SL_LB_MAX_BACKENDS], n_sr = 9;
	unsigned int none = 0;

	sl_outlier_init(&p, 6, 0);
	CHECK_EQ(sl_outlier_n_ejected(&p), 0);
	/* 5xx run. */
	for (unsigned int k = 0; k < 4; k++)
		none += sl_outlier_record(&p, c, 0, SL_OUT_5XX, 100) == SL_OUTLIER_EV_NONE;
	CHECK_EQ(none, 4);
	CHECK_EQ(sl_outlier_record(&p, c, 0, SL_OUT_5XX, 100), SL_OUTLIER_EV_EJECTED_5XX);
	CHECK(p.host[0].ejected);
	CHECK_EQ(p.host[0].times_ejected, 1);
	CHECK_EQ(p.host[0].ejected_until_ms, 30100);
	CHECK_EQ(p.host[0].ejections, 1);
	CHECK_EQ(sl_outlier_n_ejected(&p), 1);
	/* An ejected host's late outcomes change nothing. */
	CHECK_EQ(sl_outlier_record(&p, c, 0, SL_OUT_5XX, 200), SL_OUTLIER_EV_NONE);
	CHECK_EQ(p.host[0].times_ejected, 1);

	/* Success breaks a run. */
	none = 0;
	for (unsigned int k = 0; k < 4; k++)
		none += sl_outlier_record(&p, c, 1, SL_OUT_5XX, 100) == SL_OUTLIER_EV_NONE;
	none += sl_outlier_record(&p, c, 1, SL_OUT_SUCCESS, 100) == SL_OUTLIER_EV_NONE;
	for (unsigned int k = 0; k < 4; k++)
		none += sl_outlier_record(&p, c, 1, SL_OUT_5XX, 100) == SL_OUTLIER_EV_NONE;
	CHECK_EQ(none, 9);
	CHECK(!p.host[1].ejected);
	CHECK_EQ(p.host[1].consecutive_5xx, 4);

	/* Gateway run; a 5xx in between does not break it. */
	CHECK_EQ(sl_outlier_record(&p, c, 2, SL_OUT_CONNECT_FAIL, 100), SL_OUTLIER_EV_NONE);
	CHECK_EQ(sl_outlier_record(&p, c, 2, SL_OUT_RESET, 100), SL_OUTLIER_EV_NONE);
	CHECK_EQ(sl_outlier_record(&p, c, 2, SL_OUT_5XX, 100), SL_OUTLIER_EV_NONE);
	CHECK_EQ(p.host[2].consecutive_gateway, 2);
	CHECK_EQ(p.host[2].consecutive_5xx, 3);
	CHECK_EQ(sl_outlier_record(&p, c, 2, SL_OUT_TIMEOUT, 100),
		 SL_OUTLIER_EV_EJECTED_GATEWAY);
	CHECK(p.host[2].ejected);
	CHECK_EQ(p.host[2].consecutive_gateway, 0);
	CHECK_EQ(p.host[2].consecutive_5xx, 0);

	/* Gateway failures count as 5xx too: 4 x 5xx + 1 reset is a run of 5. */
	for (unsigned int k = 0; k < 3; k++)
		sl_outlier_record(&p, c, 3, SL_OUT_5XX, 100);
	CHECK_EQ(sl_outlier_record(&p, c, 3, SL_OUT_RESET, 100), SL_OUTLIER_EV_NONE);
	CHECK_EQ(sl_outlier_record(&p, c, 3, SL_OUT_TIMEOUT, 100),
		 SL_OUTLIER_EV_EJECTED_5XX);
	CHECK_EQ(sl_outlier_n_ejected(&p), 3);

	/* 6 hosts at 50%: 3 out, the fourth is suppressed and its run restarts. */
	for (unsigned int k = 0; k < 4; k++)
		sl_outlier_record(&p, c, 4, SL_OUT_5XX, 100);
	CHECK_EQ(sl_outlier_record(&p, c, 4, SL_OUT_5XX, 100), SL_OUTLIER_EV_SUPPRESSED);
	CHECK(!p.host[4].ejected);
	CHECK_EQ(p.host[4].consecutive_5xx, 0);
	CHECK_EQ(p.suppressed, 1);
	CHECK_EQ(sl_outlier_n_ejected(&p), 3);
	CHECK_EQ(sl_outlier_record(&p, c, 99, SL_OUT_5XX, 100), SL_OUTLIER_EV_NONE);

	/* Return when the time is up, not before. */
	CHECK_EQ(sl_outlier_tick(&p, c, 30099, back, sr, &n_sr), 0);
	CHECK_EQ(n_sr, 0);
	CHECK_EQ(sl_outlier_tick(&p, c, 30100, back, sr, &n_sr), 3);
	CHECK_EQ(back[0], 0);
	CHECK_EQ(back[1], 2);
	CHECK_EQ(back[2], 3);
	CHECK_EQ(sl_outlier_n_ejected(&p), 0);
	CHECK(!p.host[0].ejected);
	CHECK_EQ(sl_outlier_tick(&p, c, 30101, back, sr, &n_sr), 0);

	/* Ejection time grows with each ejection: 30 s, 60 s, then capped. */
	{
		const uint64_t want[] = { 60000, 75000, 75000 };
		uint64_t t = 40000;

		for (unsigned int k = 0; k < 3; k++) {
			for (unsigned int j = 0; j < 2; j++)
				sl_outlier_record(&p, c, 0, SL_OUT_CONNECT_FAIL, t);
			CHECK_EQ(sl_outlier_record(&p, c, 0, SL_OUT_CONNECT_FAIL, t),
				 SL_OUTLIER_EV_EJECTED_GATEWAY);
			CHECK_EQ(p.host[0].ejected_until_ms, t + want[k]);
			CHECK_EQ(p.host[0].times_ejected, k + 2);
			CHECK_EQ(sl_outlier_tick(&p, c, t + want[k] - 1, back, NULL, NULL), 0);
			CHECK_EQ(sl_outlier_tick(&p, c, t + want[k], back, NULL, NULL), 1);
			t += want[k] + 1000;
		}
		CHECK_EQ(p.host[0].ejections, 4);
	}
}

/* Run consecutive 5xx on host i until an event that is not NONE. */
static enum sl_outlier_event
trip(struct sl_outlier_pool *p, const struct sl_outlier_conf *c, unsigned int i)
{
	enum sl_outlier_event ev = SL_OUTLIER_EV_NONE;

	for (unsigned int k = 0; k < c->consecutive_5xx && ev == SL_OUTLIER_EV_NONE; k++)
		ev = sl_outlier_record(p, c, i, SL_OUT_5XX, 0);
	return ev;
}

static void
test_outlier_caps(void)
{
	static struct sl_outlier_pool p;
	struct sl_outlier_conf c = ocf;

	CHECK_EQ(sl_outlier_max_ejectable(0, 50), 0);
	CHECK_EQ(sl_outlier_max_ejectable(1, 100), 0);
	CHECK_EQ(sl_outlier_max_ejectable(2, 50), 1);
	CHECK_EQ(sl_outlier_max_ejectable(2, 49), 0);
	CHECK_EQ(sl_outlier_max_ejectable(2, 100), 1);
	CHECK_EQ(sl_outlier_max_ejectable(3, 100), 2);
	CHECK_EQ(sl_outlier_max_ejectable(5, 10), 0);
	CHECK_EQ(sl_outlier_max_ejectable(10, 10), 1);
	CHECK_EQ(sl_outlier_max_ejectable(10, 19), 1);
	CHECK_EQ(sl_outlier_max_ejectable(10, 20), 2);
	CHECK_EQ(sl_outlier_max_ejectable(256, 100), 255);
	CHECK_EQ(sl_outlier_max_ejectable(256, 0), 0);

	/* n = 1: never ejected, whatever the percentage. */
	c.max_ejection_pct = 100;
	sl_outlier_init(&p, 1, 0);
	CHECK_EQ(trip(&p, &c, 0), SL_OUTLIER_EV_SUPPRESSED);
	CHECK_EQ(sl_outlier_n_ejected(&p), 0);

	/* n = 2 at 50%: one. */
	c.max_ejection_pct = 50;
	sl_outlier_init(&p, 2, 0);
	CHECK_EQ(trip(&p, &c, 0), SL_OUTLIER_EV_EJECTED_5XX);
	CHECK_EQ(trip(&p, &c, 1), SL_OUTLIER_EV_SUPPRESSED);
	CHECK_EQ(sl_outlier_n_ejected(&p), 1);

	/* 100% never empties the pool. */
	c.max_ejection_pct = 100;
	sl_outlier_init(&p, 3, 0);
	CHECK_EQ(trip(&p, &c, 0), SL_OUTLIER_EV_EJECTED_5XX);
	CHECK_EQ(trip(&p, &c, 1), SL_OUTLIER_EV_EJECTED_5XX);
	CHECK_EQ(trip(&p, &c, 2), SL_OUTLIER_EV_SUPPRESSED);
	CHECK_EQ(sl_outlier_n_ejected(&p), 2);

	/* 10% of 5 rounds down to nothing. */
	c.max_ejection_pct = 10;
	sl_outlier_init(&p, 5, 0);
	CHECK_EQ(trip(&p, &c, 3), SL_OUTLIER_EV_SUPPRESSED);
	CHECK_EQ(sl_outlier_n_ejected(&p), 0);
	CHECK_EQ(p.suppressed, 1);

	/* Both runs off: failures never eject. */
	c = ocf;
	c.consecutive_5xx = 0;
	c.consecutive_gateway = 0;
	sl_outlier_init(&p, 4, 0);
	{
		unsigned int ev = 0;

		for (unsigned int k = 0; k < 100; k++)
			ev += sl_outlier_record(&p, &c, 0, SL_OUT_TIMEOUT, 0) !=
			      SL_OUTLIER_EV_NONE;
		CHECK_EQ(ev, 0);
	}
}

/* Give host i `ok` successes and `bad` 5xx in the current interval. */
static void
feed(struct sl_outlier_pool *p, const struct sl_outlier_conf *c, unsigned int i,
     unsigned int ok, unsigned int bad)
{
	for (unsigned int k = 0; k < ok; k++)
		sl_outlier_record(p, c, i, SL_OUT_SUCCESS, 0);
	for (unsigned int k = 0; k < bad; k++)
		sl_outlier_record(p, c, i, SL_OUT_5XX, 0);
}

static void
test_outlier_success_rate(void)
{
	static struct sl_outlier_pool p;
	struct sl_outlier_conf c = ocf;
	unsigned int back[SL_LB_MAX_BACKENDS], sr[SL_LB_MAX_BACKENDS], n_sr;

	c.consecutive_5xx = 0;
	c.consecutive_gateway = 0;
	c.success_rate_min_hosts = 5;

	/* One bad host among five: 50% vs 100%, z = 2 > 1.9. */
	sl_outlier_init(&p, 5, 1000);
	for (unsigned int i = 0; i < 4; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 4, 50, 50);
	n_sr = 9;
	CHECK_EQ(sl_outlier_tick(&p, &c, 10999, back, sr, &n_sr), 0);
	CHECK_EQ(n_sr, 0);
	CHECK_EQ(sl_outlier_tick(&p, &c, 11000, back, sr, &n_sr), 0);
	CHECK_EQ(n_sr, 1);
	CHECK_EQ(sr[0], 4);
	CHECK(p.host[4].ejected);
	CHECK_EQ(p.host[4].ejected_until_ms, 41000);
	CHECK_EQ(p.host[4].times_ejected, 1);
	CHECK_EQ(p.host[0].sr_requests, 0);   /* a new interval */
	CHECK_EQ(p.interval_start_ms, 11000);
	CHECK_EQ(sl_outlier_tick(&p, &c, 41000, back, sr, &n_sr), 1);
	CHECK_EQ(back[0], 4);

	/* Only four hosts have min_requests: no judgement. */
	sl_outlier_init(&p, 5, 0);
	for (unsigned int i = 0; i < 3; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 3, 99, 0);
	feed(&p, &c, 4, 0, 100);
	CHECK_EQ(sl_outlier_tick(&p, &c, 10000, back, sr, &n_sr), 0);
	CHECK_EQ(n_sr, 0);
	CHECK_EQ(sl_outlier_n_ejected(&p), 0);
	/* ...and with min_hosts lowered to four it would have been. */
	c.success_rate_min_hosts = 4;
	for (unsigned int i = 0; i < 3; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 3, 99, 0);
	feed(&p, &c, 4, 50, 50);
	sl_outlier_tick(&p, &c, 20000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 0);   /* 4 x 100% + 50%: the 99-request host is out */
	c.success_rate_min_requests = 99;
	for (unsigned int i = 0; i < 3; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 3, 99, 0);
	feed(&p, &c, 4, 50, 50);
	sl_outlier_tick(&p, &c, 30000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 1);
	c.success_rate_min_requests = 100;

	/* All equally bad: no outlier (stdev 0). */
	c.success_rate_min_hosts = 5;
	sl_outlier_init(&p, 5, 0);
	for (unsigned int i = 0; i < 5; i++)
		feed(&p, &c, i, 50, 50);
	sl_outlier_tick(&p, &c, 10000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 0);

	/* Two outliers among twenty, room for one: the worst goes. */
	c.max_ejection_pct = 5;
	sl_outlier_init(&p, 20, 0);
	for (unsigned int i = 0; i < 18; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 18, 10, 90);
	feed(&p, &c, 19, 0, 100);
	sl_outlier_tick(&p, &c, 10000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 1);
	CHECK_EQ(sr[0], 19);
	CHECK(!p.host[18].ejected);
	CHECK_EQ(p.suppressed, 1);
	/* Room for two: both, worst first. */
	c.max_ejection_pct = 10;
	sl_outlier_init(&p, 20, 0);
	for (unsigned int i = 0; i < 18; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 18, 10, 90);
	feed(&p, &c, 19, 0, 100);
	sl_outlier_tick(&p, &c, 10000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 2);
	CHECK_EQ(sr[0], 19);
	CHECK_EQ(sr[1], 18);

	/* A host already ejected (by its 5xx run) mid-interval is not judged
	 * again: without it too few hosts remain. */
	c.max_ejection_pct = 50;
	c.consecutive_5xx = 5;
	c.success_rate_min_requests = 50;
	sl_outlier_init(&p, 5, 0);
	for (unsigned int i = 0; i < 4; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 4, 45, 5);
	CHECK(p.host[4].ejected);
	CHECK_EQ(p.host[4].sr_requests, 50);
	sl_outlier_tick(&p, &c, 10000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 0);
	CHECK_EQ(p.host[4].times_ejected, 1);
	c.consecutive_5xx = 0;
	c.success_rate_min_requests = 100;

	/* min_hosts 0 or interval 0: success rate is off. */
	c.max_ejection_pct = 50;
	c.success_rate_min_hosts = 0;
	sl_outlier_init(&p, 5, 0);
	for (unsigned int i = 0; i < 4; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 4, 0, 100);
	sl_outlier_tick(&p, &c, 10000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 0);
	c.success_rate_min_hosts = 5;
	c.interval_ms = 0;
	sl_outlier_init(&p, 5, 0);
	for (unsigned int i = 0; i < 4; i++)
		feed(&p, &c, i, 100, 0);
	feed(&p, &c, 4, 0, 100);
	sl_outlier_tick(&p, &c, 1000000, back, sr, &n_sr);
	CHECK_EQ(n_sr, 0);
}

static void
test_panic(void)
{
	CHECK(sl_lb_panic(0, 0, 0));
	CHECK(sl_lb_panic(0, 5, 0));
	CHECK(!sl_lb_panic(1, 5, 0));
	CHECK(!sl_lb_panic(5, 5, 0));
	CHECK(sl_lb_panic(1, 5, 50));    /* 20% < 50% */
	CHECK(!sl_lb_panic(3, 5, 50));
	CHECK(!sl_lb_panic(2, 4, 50));   /* exactly at the threshold */
	CHECK(sl_lb_panic(1, 4, 50));
	CHECK(!sl_lb_panic(5, 5, 100));
	CHECK(sl_lb_panic(4, 5, 100));
	CHECK(!sl_lb_panic(3, 0, 50));
	CHECK(sl_lb_panic(255, 256, 100));
}

int
main(void)
{
	test_breaker_consecutive();
	test_breaker_backoff();
	test_breaker_rate();
	test_breaker_force_reset();
	test_outlier_consecutive();
	test_outlier_caps();
	test_outlier_success_rate();
	test_panic();
	return sl_test_result("test_breaker");
}
