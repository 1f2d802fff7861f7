/*
 * Timer wheel against a brute-force reference: random arm/cancel/re-arm
 * over spans that cross every level, checking each timer fires exactly
 * once, at exactly its tick.
 */
#include <stdlib.h>

#include "sl_timer.h"
#include "sl_test.h"

#define N 2000

struct rec {
	struct sl_timer t;
	uint64_t due;       /* 0: not armed in the reference */
	uint64_t fired_at;
	unsigned int fires;
};

static struct rec recs[N];
static struct sl_timer_wheel w;
static unsigned int late, early;

static void
on_fire(struct sl_timer *t, void *ctx)
{
	struct rec *r = (struct rec *)t;

	(void)ctx;
	r->fires++;
	r->fired_at = w.now;
	if (r->due == 0 || w.now > r->due)
		late++;
	if (w.now < r->due)
		early++;
	r->due = 0;
}

static uint64_t
rnd_span(void)
{
	/* Spread over level 0, 1, 2 and 3 distances. */
	switch (rand() % 4) {
	case 0: return 1 + rand() % 300;
	case 1: return 1 + rand() % 20000;
	case 2: return 1 + rand() % 2000000;
	default: return 1 + (uint64_t)rand() % 20000000;
	}
}

static void
test_random_against_reference(void)
{
	uint64_t now_tsc = 0;
	unsigned int armed = 0;

	srand(12345);
	sl_timer_wheel_init(&w, 10, 0, NULL);
	for (int i = 0; i < N; i++)
		sl_timer_init(&recs[i].t, on_fire);
	for (int round = 0; round < 400; round++) {
		for (int k = 0; k < 50; k++) {
			struct rec *r = &recs[rand() % N];

			if (rand() % 5 == 0) {
				sl_timer_cancel(&w, &r->t);
				r->due = 0;
			} else {
				uint64_t span = rnd_span();

				sl_timer_arm(&w, &r->t, span);
				r->due = w.now + span;
			}
		}
		/* Advance by a random stretch, sometimes a long idle gap. */
		now_tsc += 10 * (rand() % 3 == 0 ? (uint64_t)rand() % 3000000 :
				      (uint64_t)rand() % 500);
		sl_timer_wheel_advance(&w, now_tsc);
		for (int i = 0; i < N; i++)
			if (recs[i].due != 0 && recs[i].due <= w.now)
				late++;   /* should have fired and did not */
	}
	/* Run out the clock: everything still armed must fire, on time. */
	now_tsc += 10 * (SL_TIMER_MAX_TICKS + 10);
	sl_timer_wheel_advance(&w, now_tsc);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(recs[i].due, 0);
		CHECK(!sl_timer_armed(&recs[i].t));
		armed += recs[i].fires;
	}
	CHECK_EQ(late, 0);
	CHECK_EQ(early, 0);
	CHECK_EQ(w.armed, 0);
	CHECK_EQ(w.fired, armed);
	CHECK(armed > 1000);
}

static struct sl_timer a, b, c;
static int order[8], n_order;

static void
fire_a(struct sl_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	order[n_order++] = 'a';
	/* Cancel a timer due at the same tick, re-arm ourselves. */
	sl_timer_cancel(&w, &b);
	if (n_order < 3)
		sl_timer_arm(&w, &a, 5);
}

static void
fire_b(struct sl_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	order[n_order++] = 'b';
}

static void
test_callbacks_may_rearm_and_cancel(void)
{
	sl_timer_wheel_init(&w, 1, 1000, NULL);
	sl_timer_init(&a, fire_a);
	sl_timer_init(&b, fire_b);
	sl_timer_init(&c, fire_b);
	sl_timer_arm(&w, &b, 10);
	sl_timer_arm(&w, &a, 10);     /* pushed in front of b in the slot */
	sl_timer_arm(&w, &c, 0);      /* 0 means the next tick, never "now" */
	CHECK_EQ(sl_timer_wheel_advance(&w, 1000), 0);
	CHECK_EQ(sl_timer_wheel_advance(&w, 1001), 1);
	CHECK_EQ(order[0], 'b');
	CHECK_EQ(sl_timer_wheel_advance(&w, 1010), 1);   /* a ran, b was cancelled */
	CHECK_EQ(order[1], 'a');
	CHECK(sl_timer_armed(&a));
	CHECK(!sl_timer_armed(&b));
	CHECK_EQ(sl_timer_wheel_advance(&w, 1015), 1);
	CHECK_EQ(sl_timer_wheel_advance(&w, 2000), 0);
	CHECK_EQ(n_order, 3);
	CHECK_EQ(w.armed, 0);
	/* Cancel is idempotent. */
	sl_timer_cancel(&w, &a);
	sl_timer_cancel(&w, &a);
	CHECK_EQ(w.armed, 0);
}

static void
test_clamp_and_next(void)
{
	sl_timer_wheel_init(&w, 1, 0, NULL);
	sl_timer_init(&a, fire_b);
	CHECK_EQ(sl_timer_wheel_next(&w, 50), 50);
	sl_timer_arm(&w, &a, 7);
	CHECK_EQ(sl_timer_wheel_next(&w, 50), 7);
	sl_timer_arm(&w, &a, ~0ull);
	CHECK_EQ(a.expire, SL_TIMER_MAX_TICKS);
	sl_timer_cancel(&w, &a);
}

int
main(void)
{
	test_random_against_reference();
	test_callbacks_may_rearm_and_cancel();
	test_clamp_and_next();
	return sl_test_result("test_timer");
}
