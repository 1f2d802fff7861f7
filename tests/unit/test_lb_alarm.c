/*
 * Capacity skew (sl_lb_skew) over a table of weight/capacity vectors, and
 * the root-cause alarm (sl_lb_rc_eval): its true cases (a skewed config, a
 * saturated backend above its fair share) and its false-positive cases (an
 * even pool with a backend in maintenance and back, a slow backend at its
 * fair share, small numbers). All on a fake clock.
 */
#include <math.h>
#include <string.h>

#include "sl_lb.h"
#include "sl_test.h"

/* The default skew_warn_ratio (conf_pool.c DEF_SKEW_RATIO). */
#define WARN 1.75

struct skew_case {
	const char *what;
	unsigned int n;
	uint32_t w[8];
	uint32_t cap[8];           /* all 0: none declared */
	double max_ratio;          /* of the top backend */
	int top;
	bool warns;                /* at WARN */
};

static const struct skew_case skew_cases[] = {
	{ "the postmortem's two heavy ones", 6, { 10, 10, 1, 1, 1, 1 }, { 0 },
	  2.5, 0, true },
	{ "one heavy among six", 6, { 4, 1, 1, 1, 1, 1 }, { 0 }, 24.0 / 9, 0, true },
	{ "weights follow declared capacities", 3, { 4, 2, 1 }, { 40, 20, 10 },
	  1.0, 0, false },
	{ "same weights, capacities say the small one is big", 3, { 4, 2, 1 },
	  { 10, 20, 40 }, 4.0 / 7 / (10.0 / 70), 0, true },
	{ "even", 3, { 1, 1, 1 }, { 0 }, 1.0, 0, false },
	{ "mild, deliberate 1,1,2", 3, { 1, 1, 2 }, { 0 }, 1.5, 2, false },
	{ "mild, deliberate 1,2,3", 3, { 1, 2, 3 }, { 0 }, 1.5, 2, false },
	{ "one heavy of two", 2, { 10, 1 }, { 0 }, 20.0 / 11, 0, true },
	{ "3:1 of two", 2, { 3, 1 }, { 0 }, 1.5, 0, false },
	{ "weight 0 is out of the spread", 3, { 1, 1, 0 }, { 0 }, 1.0, 0, false },
	{ "undeclared capacity is the declared mean", 3, { 2, 1, 1 },
	  { 0, 10, 10 }, 1.5, 0, false },
	{ "undeclared, heavy", 3, { 4, 1, 1 }, { 0, 10, 10 }, 2.0, 0, true },
	{ "declared capacity makes a heavy weight right", 3, { 2, 1, 1 },
	  { 20, 10, 10 }, 1.0, 0, false },
	{ "the seed: 1,1,40", 3, { 1, 1, 40 }, { 0 }, 120.0 / 42, 2, true },
};

static void
test_skew_table(void)
{
	double share[8], cs[8], ratio[8];

	for (unsigned int k = 0; k < sizeof(skew_cases) / sizeof(skew_cases[0]); k++) {
		const struct skew_case *c = &skew_cases[k];
		int top = sl_lb_skew(c->w, c->cap, c->n, share, cs, ratio);
		bool warns = false;
		double ssum = 0, csum = 0;

		CHECK_EQ(top, c->top);
		CHECK(fabs(ratio[top] - c->max_ratio) < 1e-9);
		for (unsigned int i = 0; i < c->n; i++) {
			warns |= ratio[i] > WARN;
			ssum += share[i];
			csum += cs[i];
			/* ratio is share / capacity share, by definition */
			if (c->w[i] > 0)
				CHECK(fabs(ratio[i] - share[i] / cs[i]) < 1e-9);
			else
				CHECK(ratio[i] == 0 && cs[i] == 0);
		}
		CHECK(fabs(ssum - 1.0) < 1e-9 && fabs(csum - 1.0) < 1e-9);
		if (warns != c->warns)
			fprintf(stderr, "skew case \"%s\": warns %d\n", c->what, warns);
		CHECK_EQ(warns, c->warns);
	}
	/* Exact at the edge: 1,2,3 is 1.5, not 1.4999999. */
	{
		const uint32_t w[] = { 1, 2, 3 };

		sl_lb_skew(w, NULL, 3, NULL, NULL, ratio);
		CHECK(ratio[2] == 1.5);
	}
	{
		const uint32_t w[] = { 0, 0 };

		CHECK_EQ(sl_lb_skew(w, NULL, 2, share, cs, ratio), -1);
	}
}

/* Every backend serving at its weight, capacity undeclared. */
static void
set_in(struct sl_lb_rc_in *in, unsigned int n, const uint32_t *w)
{
	for (unsigned int i = 0; i < n; i++)
		in[i] = (struct sl_lb_rc_in){ .weight = w[i], .serving = w[i] > 0 };
}

/* Feed steady in-flight counts for ms milliseconds, 10 ms a sample, and
 * evaluate every 500 ms; returns the last nonzero eval result. */
static int
run(struct sl_lb_rc *rc, const struct sl_lb_rc_in *in, unsigned int n,
    const uint32_t *inflight, uint64_t *now, uint64_t ms, bool *ever)
{
	int last = 0;

	for (uint64_t t = 0; t < ms; t += 10) {
		*now += 10;
		sl_lb_rc_sample(rc, inflight, n, 0.01);
		if (*now % 500 == 0) {
			int ev = sl_lb_rc_eval(rc, in, n, *now, WARN, 4.0);

			if (ev != 0)
				last = ev;
			if (ever != NULL)
				*ever |= rc->alarm;
		}
	}
	return last;
}

/* The config skew: raised at the first evaluation, whatever the traffic,
 * and held while the backend is ejected or ramping; cleared by a fix. */
static void
test_rc_skew(void)
{
	static struct sl_lb_rc rc;
	struct sl_lb_rc_in in[6];
	const uint32_t w[] = { 10, 10, 1, 1, 1, 1 }, zero[6] = { 0 };
	const uint32_t fixed[] = { 1, 1, 1, 1, 1, 1 };
	uint64_t now = 0;

	sl_lb_rc_init(&rc, 6);
	set_in(in, 6, w);
	CHECK_EQ(sl_lb_rc_eval(&rc, in, 6, 500, WARN, 4.0), 1);
	CHECK(rc.alarm);
	CHECK_EQ(rc.cause, SL_LB_RC_SKEW);
	CHECK_EQ(rc.backend, 0);
	CHECK_EQ(rc.cause_of[1], SL_LB_RC_SKEW);
	CHECK_EQ(rc.cause_of[2], SL_LB_RC_NONE);
	CHECK(fabs(rc.share[0] - 10.0 / 24) < 1e-9);
	CHECK(fabs(rc.cap_share[0] - 1.0 / 6) < 1e-9);
	CHECK(fabs(rc.ratio[0] - 2.5) < 1e-9);
	/* 10 per unit of capacity against (10+1+1+1+1)/5 = 2.8 */
	CHECK(fabs(rc.peer_ratio - 10.0 / 2.8) < 1e-9);
	/* Ejected, then slow start: still the same config, still raised. */
	in[0].serving = false;
	CHECK_EQ(run(&rc, in, 6, zero, &now, 3000, NULL), 0);
	CHECK(rc.alarm && rc.backend == 0);
	in[0].serving = true;
	in[1].serving = false;
	CHECK_EQ(run(&rc, in, 6, zero, &now, 1000, NULL), 0);
	CHECK(rc.alarm && rc.backend == 0);
	/* The weights fixed by a reload: cleared. */
	set_in(in, 6, fixed);
	CHECK_EQ(sl_lb_rc_eval(&rc, in, 6, now + 500, WARN, 4.0), -1);
	CHECK(!rc.alarm);
	CHECK_EQ(rc.backend, -1);
	/* Weights that follow declared capacities: no alarm. */
	{
		const uint32_t w3[] = { 4, 2, 1 }, c3[] = { 40, 20, 10 };

		sl_lb_rc_init(&rc, 3);
		set_in(in, 3, w3);
		for (unsigned int i = 0; i < 3; i++)
			in[i].capacity = c3[i];
		CHECK_EQ(sl_lb_rc_eval(&rc, in, 3, 500, WARN, 4.0), 0);
		CHECK(!rc.alarm);
		/* The same weights, capacities the other way round: b0 at 4x. */
		for (unsigned int i = 0; i < 3; i++)
			in[i].capacity = c3[2 - i];
		CHECK_EQ(sl_lb_rc_eval(&rc, in, 3, 1000, WARN, 4.0), 1);
		CHECK_EQ(rc.backend, 0);
	}
	/* skew_ratio 0 turns that cause off. */
	sl_lb_rc_init(&rc, 6);
	set_in(in, 6, w);
	CHECK_EQ(sl_lb_rc_eval(&rc, in, 6, 500, 0, 0), 0);
	CHECK(!rc.alarm);
}

/*
 * Saturation: weights 2,1,1,1 put b0 at 1.6x its share, under the skew
 * limit but above fair. It holds 37 in flight against 2: raised after the
 * hold, named, held while it is ejected, let go once it serves calmly.
 */
static void
test_rc_saturated(void)
{
	static struct sl_lb_rc rc;
	struct sl_lb_rc_in in[4];
	const uint32_t w[] = { 2, 1, 1, 1 };
	const uint32_t hot[] = { 37, 2, 2, 2 }, out[] = { 0, 3, 3, 3 };
	const uint32_t calm[] = { 4, 2, 2, 2 };
	uint64_t now = 0;
	bool ever = false;

	sl_lb_rc_init(&rc, 4);
	set_in(in, 4, w);
	/* Not at once: the average climbs, then the hold. */
	CHECK_EQ(run(&rc, in, 4, hot, &now, 1000, &ever), 0);
	CHECK(!ever);
	CHECK_EQ(run(&rc, in, 4, hot, &now, 5000, NULL), 1);
	CHECK(rc.alarm);
	CHECK_EQ(rc.cause, SL_LB_RC_SATURATED);
	CHECK_EQ(rc.backend, 0);
	CHECK(rc.inflight[0] > 30 && rc.peer_inflight < 3);
	/* Ejected: it holds nothing now, which proves nothing. */
	in[0].serving = false;
	CHECK_EQ(run(&rc, in, 4, out, &now, 20000, NULL), 0);
	CHECK(rc.alarm && rc.backend == 0);
	CHECK_EQ(rc.cause_of[0], SL_LB_RC_SATURATED);
	/* Back, in slow start (not serving at full weight): still held. */
	CHECK_EQ(run(&rc, in, 4, calm, &now, 3000, NULL), 0);
	CHECK(rc.alarm);
	/* Serving and calm for the hold: cleared. */
	in[0].serving = true;
	CHECK_EQ(run(&rc, in, 4, calm, &now, 5000, NULL), -1);
	CHECK(!rc.alarm);
	/* The latch lets go at once when the share drops to fair. */
	sl_lb_rc_init(&rc, 4);
	set_in(in, 4, w);
	now = 0;
	CHECK_EQ(run(&rc, in, 4, hot, &now, 6000, NULL), 1);
	in[0].serving = false;
	in[0].weight = 1;
	CHECK_EQ(run(&rc, in, 4, out, &now, 500, NULL), -1);
	/* sat_ratio 0 is off. */
	sl_lb_rc_init(&rc, 4);
	set_in(in, 4, w);
	for (uint64_t t = 10; t <= 6000; t += 10) {
		sl_lb_rc_sample(&rc, hot, 4, 0.01);
		if (t % 500 == 0)
			CHECK_EQ(sl_lb_rc_eval(&rc, in, 4, t, WARN, 0), 0);
	}
	CHECK(!rc.alarm);
	/* Judged slow (its share cut, so its in flight is calm now): its
	 * share above fair is still the cause; at a fair share, none. */
	sl_lb_rc_init(&rc, 4);
	set_in(in, 4, w);
	now = 0;
	in[0].slow = true;
	CHECK_EQ(run(&rc, in, 4, calm, &now, 500, NULL), 1);
	CHECK(rc.alarm && rc.backend == 0);
	CHECK_EQ(rc.cause, SL_LB_RC_SATURATED);
	in[0].slow = false;
	CHECK_EQ(run(&rc, in, 4, calm, &now, 3000, NULL), -1);
	sl_lb_rc_init(&rc, 4);
	set_in(in, 4, (const uint32_t[]){ 1, 1, 1, 1 });
	in[0].slow = true;
	ever = false;
	CHECK_EQ(run(&rc, in, 4, calm, &now, 5000, &ever), 0);
	CHECK(!ever);
}

/*
 * False positives. Even weights, one backend in maintenance and back (its
 * peers carry more meanwhile, it starts from nothing): never an alarm.
 * A slow backend at its fair share is not the config's fault: no alarm.
 * A few requests in flight are no saturation.
 */
static void
test_rc_false_positives(void)
{
	static struct sl_lb_rc rc;
	struct sl_lb_rc_in in[3];
	const uint32_t w[] = { 1, 1, 1 };
	const uint32_t even[] = { 5, 5, 5 }, maint[] = { 0, 8, 8 };
	const uint32_t back[] = { 1, 5, 5 }, slow[] = { 40, 2, 2 };
	const uint32_t small[] = { 3, 0, 0 };
	uint64_t now = 0;
	bool ever = false;

	sl_lb_rc_init(&rc, 3);
	set_in(in, 3, w);
	run(&rc, in, 3, even, &now, 5000, &ever);
	in[0].serving = false;           /* maintenance */
	run(&rc, in, 3, maint, &now, 20000, &ever);
	run(&rc, in, 3, back, &now, 3000, &ever);   /* slow start */
	in[0].serving = true;
	run(&rc, in, 3, even, &now, 10000, &ever);
	CHECK(!ever);
	/* Slow at a fair share. */
	run(&rc, in, 3, slow, &now, 10000, &ever);
	CHECK(!ever);
	/* 2,1,1 above fair, but 3 in flight against 0 is no saturation. */
	{
		const uint32_t w2[] = { 2, 1, 1 };

		sl_lb_rc_init(&rc, 3);
		set_in(in, 3, w2);
		now = 0;
		run(&rc, in, 3, small, &now, 10000, &ever);
		CHECK(!ever);
	}
}

/*
 * The imbalance detector's false alarm after maintenance: b2 of three
 * even backends was out for the first half of the window, then back.
 * Judged on the weights now (the old way), b2 looks starved and b0, b1
 * look overfed; judged on the weights recorded over the window, nothing
 * deviates. The event names the one that deviates most (b2), not the one
 * with the largest share.
 */
static void
test_imbalance_maintenance(void)
{
	static struct sl_lb_imbalance im;
	const uint32_t eq[] = { 1, 1, 1 }, maint[] = { 1, 1, 0 };
	uint64_t t;

	/* 10 s window: 5 s with b2 out (50 requests a second to b0 and b1
	 * each), then 5 s even (33 each). */
	sl_lb_imbalance_init(&im, 3, 10000, 10);
	for (t = 10; t <= 5000; t += 10) {
		sl_lb_imbalance_weigh(&im, maint, t);
		if (t % 100 == 0) {
			sl_lb_imbalance_add(&im, 0, 5, t);
			sl_lb_imbalance_add(&im, 1, 5, t);
		}
	}
	for (; t <= 10000; t += 10) {
		sl_lb_imbalance_weigh(&im, eq, t);
		if (t % 100 == 0) {
			sl_lb_imbalance_add(&im, 0, 3, t);
			sl_lb_imbalance_add(&im, 1, 3, t);
			sl_lb_imbalance_add(&im, 2, 3, t);
		}
	}
	CHECK_EQ(sl_lb_imbalance_eval(&im, eq, 10000, 100, WARN, 0.5, 0), 0);
	CHECK(!im.alarm);
	CHECK(im.worst_deviation < 0.1);
	CHECK(fabs(im.expected[2] - 1.0 / 6) < 0.01);
	CHECK(im.ratio < 1.2);
	/* The same counts judged on today's weights only (no record). */
	{
		static struct sl_lb_imbalance old;

		sl_lb_imbalance_init(&old, 3, 10000, 10);
		sl_lb_imbalance_add(&old, 0, 250 + 150, 5000);
		sl_lb_imbalance_add(&old, 1, 250 + 150, 5000);
		sl_lb_imbalance_add(&old, 2, 150, 5000);
		CHECK_EQ(sl_lb_imbalance_eval(&old, eq, 5000, 100, 0, 0.5, 0), 1);
		/* b2 deviates most (150/950 against 1/3: -53%; b0 +26%). */
		CHECK(fabs(old.deviation[2] - (150.0 / 950 * 3 - 1)) < 1e-9);
		CHECK_EQ(old.named, 2);
		CHECK(old.share[0] > old.share[2]);
	}
}

/* Declared capacities in the detector's ratio. */
static void
test_imbalance_capacity(void)
{
	static struct sl_lb_imbalance im;
	const uint32_t w[] = { 4, 2, 1 }, cap[] = { 40, 20, 10 };

	sl_lb_imbalance_init(&im, 3, 10000, 0);
	sl_lb_imbalance_add(&im, 0, 400, 0);
	sl_lb_imbalance_add(&im, 1, 200, 0);
	sl_lb_imbalance_add(&im, 2, 100, 0);
	/* Equal capacities: b0 gets 4/7 where its capacity share is 1/3. */
	CHECK_EQ(sl_lb_imbalance_eval(&im, w, 0, 10, 1.5, 0.5, 0), 1);
	CHECK(fabs(im.ratio - 4.0 / 7 * 3) < 1e-9);
	CHECK_EQ(im.named, 0);
	CHECK(im.worst_deviation < 1e-9);   /* it follows the weights */
	sl_lb_imbalance_set_capacity(&im, cap, 3);
	CHECK_EQ(sl_lb_imbalance_eval(&im, w, 1, 10, 1.5, 0.5, 0), -1);
	CHECK(fabs(im.ratio - 1.0) < 1e-9);
	CHECK(im.worst_deviation < 1e-9);
}

int
main(void)
{
	test_skew_table();
	test_rc_skew();
	test_rc_saturated();
	test_rc_false_positives();
	test_imbalance_maintenance();
	test_imbalance_capacity();
	return sl_test_result("test_lb_alarm");
}
