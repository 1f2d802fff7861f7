/*
 * Adaptive per-backend concurrency (lb_concurrency.c, upstream_pick.c):
 * the limit from learned or declared capacity within its bounds, the
 * spill-over of a request whose first choice is at its limit, the shed
 * when every backend is, and the pool cap that no longer refuses what a
 * backend with headroom could take; the judge of a backend slow without
 * errors (lb_slow.c).
 */
#include <string.h>

#include <rte_eal.h>

#include "sl_conf.h"
#include "sl_event.h"
#include "sl_lb.h"
#include "sl_upstream.h"
#include "sl_test.h"
#include "sl_test_stack.h"

static void
test_limit(void)
{
	/* learned x headroom, rounded up */
	CHECK_EQ(sl_lb_conc_limit(8, 0, true, 4, 1024, 2.0), 16);
	CHECK_EQ(sl_lb_conc_limit(5, 0, true, 1, 1024, 1.5), 8);
	/* learned below declared: the backend shows it takes less */
	CHECK_EQ(sl_lb_conc_limit(8, 100, true, 1, 1024, 1.0), 8);
	CHECK_EQ(sl_lb_conc_limit(3, 10, true, 1, 1024, 2.0), 6);
	/* declared alone: as it stands, no headroom (more would queue at
	 * the backend) */
	CHECK_EQ(sl_lb_conc_limit(0, 100, true, 1, 1024, 1.0), 100);
	CHECK_EQ(sl_lb_conc_limit(0, 4, true, 4, 1024, 2.0), 4);
	CHECK_EQ(sl_lb_conc_limit(0, 5, true, 1, 1024, 3.0), 5);
	/* learned x headroom never above declared */
	CHECK_EQ(sl_lb_conc_limit(8, 10, true, 1, 1024, 2.0), 10);
	/* bounds */
	CHECK_EQ(sl_lb_conc_limit(1, 0, true, 4, 1024, 2.0), 4);
	CHECK_EQ(sl_lb_conc_limit(1000, 0, true, 4, 1024, 2.0), 1024);
	/* nothing known: the upper bound */
	CHECK_EQ(sl_lb_conc_limit(0, 0, true, 4, 64, 2.0), 64);
	/* off only by choice: no limit */
	CHECK_EQ(sl_lb_conc_limit(8, 8, false, 4, 1024, 2.0), 0);
}

/* n ticks of the same latencies; the events of the last one in ev. */
static void
slow_ticks(struct sl_lb_slow *s, const double *lat, unsigned int n,
	   int ticks, double ratio, double min_us, int8_t *ev)
{
	static const double level[4] = { 1, 1, 14, 1 };

	for (int t = 0; t < ticks; t++)
		sl_lb_slow_eval(s, lat, level, n, ratio, min_us, ev);
}

/* The slow-backend judge (lb_slow.c): far above its peers for 2 s, with
 * a floor in absolute terms, then back under half the ratio for 3 s. */
static void
test_slow_judge(void)
{
	struct sl_lb_slow s[4];
	int8_t ev[4];
	const double slow3[3] = { 1000, 1200, 100000 };
	const double fast[3] = { 1000, 1200, 1500 };
	const double idle[3] = { 1000, 1200, 0 };
	const double tiny[3] = { 100, 100, 1000 };   /* 10x, 0.9 ms above */
	const double two[2] = { 100000, 1000 };
	const double even[3] = { 5000, 5000, 5000 };

	memset(s, 0, sizeof(s));
	/* Three ticks over: not yet (a spike is not a verdict). */
	slow_ticks(s, slow3, 3, SL_LB_SLOW_TICKS - 1, 4.0, 20000, ev);
	CHECK_EQ(s[2].slow, 0);
	CHECK_EQ(ev[2], 0);
	/* The fourth: slow, with what it was judged on. */
	slow_ticks(s, slow3, 3, 1, 4.0, 20000, ev);
	CHECK_EQ(s[2].slow, 1);
	CHECK_EQ(ev[2], 1);
	CHECK_EQ(ev[0], 0);
	CHECK_EQ(s[0].slow, 0);
	CHECK_EQ((int)s[2].peer_latency_us, 1100);
	CHECK_EQ((int)s[2].level_at, 14);
	/* What it keeps: half the 14 it held, a quarter of its share (its
	 * peers' weights x4). */
	CHECK_EQ(sl_lb_slow_limit(&s[2], 1024, 4), 7);
	CHECK_EQ(sl_lb_slow_limit(&s[2], 5, 4), 5);
	CHECK_EQ(sl_lb_slow_limit(&s[2], 0, 4), 0);
	CHECK_EQ(sl_lb_slow_weight(&s[2], 1, true), 1);
	CHECK_EQ(sl_lb_slow_weight(&s[0], 1, true), SL_LB_SLOW_SHARE);
	CHECK_EQ(sl_lb_slow_weight(&s[0], 3, true), 3 * SL_LB_SLOW_SHARE);
	CHECK_EQ(sl_lb_slow_weight(&s[0], 0, true), 0);
	CHECK_EQ(sl_lb_slow_weight(&s[0], 3, false), 3);
	CHECK_EQ(sl_lb_slow_limit(&s[0], 1024, 4), 1024);
	/* No traffic to judge (passed over, or ejected): it stays slow. */
	slow_ticks(s, idle, 3, 20, 4.0, 20000, ev);
	CHECK_EQ(s[2].slow, 1);
	/* Fast again: recovered after SL_LB_SLOW_CLEAR ticks, not before. */
	slow_ticks(s, fast, 3, SL_LB_SLOW_CLEAR - 1, 4.0, 20000, ev);
	CHECK_EQ(s[2].slow, 1);
	slow_ticks(s, fast, 3, 1, 4.0, 20000, ev);
	CHECK_EQ(s[2].slow, 0);
	CHECK_EQ(ev[2], -1);
	/* A gap, however large as a ratio, under slow_min_ms is not slow. */
	memset(s, 0, sizeof(s));
	slow_ticks(s, tiny, 3, 20, 4.0, 20000, ev);
	CHECK_EQ(s[2].slow, 0);
	/* Two backends: the slow one is judged against the fast one, never
	 * the other way round. */
	memset(s, 0, sizeof(s));
	slow_ticks(s, two, 2, SL_LB_SLOW_TICKS, 4.0, 20000, ev);
	CHECK_EQ(s[0].slow, 1);
	CHECK_EQ(s[1].slow, 0);
	/* Off: every verdict cleared, with its event. */
	slow_ticks(s, two, 2, 1, 0, 20000, ev);
	CHECK_EQ(s[0].slow, 0);
	CHECK_EQ(ev[0], -1);
	/* Even latencies: nobody is slow. */
	memset(s, 0, sizeof(s));
	slow_ticks(s, even, 3, 20, 4.0, 0, ev);
	CHECK_EQ(s[0].slow + s[1].slow + s[2].slow, 0);
}

/* b0 has weight 10 and takes 2; b1 weight 1 and takes 4; the pool 7. */
static const char *conf_json =
	"{\"version\": 1,"
	" \"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"} ],"
	" \"pools\": ["
	"  {\"name\": \"a\", \"skew_warn_ratio\": 1000,"
	"   \"limits\": {\"max_inflight\": 7},"
	"   \"concurrency\": {\"min\": 1, \"max\": 100, \"headroom\": 1.0,"
	"                   \"shed\": true},"
	"   \"backends\": ["
	"    {\"name\": \"b0\", \"address\": \"198.18.0.10\", \"port\": 80,"
	"     \"weight\": 10, \"capacity\": 2},"
	"    {\"name\": \"b1\", \"address\": \"198.18.0.11\", \"port\": 80,"
	"     \"weight\": 1, \"capacity\": 4}]}],"
	" \"listeners\": [ {\"name\": \"web\", \"address\": \"198.18.0.1\", \"port\": 80,"
	"   \"mode\": \"http\", \"pool\": \"a\"} ]}";

static void
test_spill(struct sl_upstream *u)
{
	struct sl_up_pool *p = &u->pools[0];
	struct sl_up_cursor cur;
	uint64_t rng = 1;
	enum sl_up_refusal why;
	bool probe;
	int k, n0 = 0;

	memset(&cur, 0, sizeof(cur));
	CHECK_EQ(p->b[0].conc_limit, 2);
	CHECK_EQ(p->b[1].conc_limit, 4);
	/* Below its limit the favourite takes nearly everything. */
	for (int i = 0; i < 11; i++)
		n0 += sl_up_pick(u, u->conf, 0, &cur, 0, &rng, -1, &why, &probe) == 0;
	CHECK_EQ(n0, 10);
	CHECK_EQ(p->conc_spilled, 0);
	/* At its limit, every request spills to b1 while b1 has room. */
	sl_up_inflight(u, 0, 0, 2);
	for (int i = 0; i < 4; i++) {
		k = sl_up_pick(u, u->conf, 0, &cur, 0, &rng, -1, &why, &probe);
		CHECK_EQ(k, 1);
		sl_up_inflight(u, 0, 1, 1);
	}
	CHECK_EQ(p->conc_spilled, 4);
	/* Every backend at its limit, with concurrency.shed: shed, counted
	 * as such. */
	k = sl_up_pick(u, u->conf, 0, &cur, 0, &rng, -1, &why, &probe);
	CHECK_EQ(k, -1);
	CHECK_EQ(why, SL_UP_REFUSE_concurrency);
	CHECK_EQ(p->refused[SL_UP_REFUSE_concurrency], 1);
	/* Without it (the default), the limits only steer: the policy picks
	 * as if there were none (the favourite, by weight), counted apart. */
	((struct sl_conf_pool *)(uintptr_t)&u->conf->pools[0])->concurrency.shed = false;
	n0 = 0;
	for (int i = 0; i < 11; i++) {
		k = sl_up_pick(u, u->conf, 0, &cur, 0, &rng, -1, &why, &probe);
		CHECK(k >= 0);
		n0 += k == 0;
	}
	CHECK_EQ(n0, 10);
	CHECK_EQ(p->conc_over, 11);
	CHECK_EQ(p->conc_spilled, 4);
	CHECK_EQ(p->refused[SL_UP_REFUSE_concurrency], 1);
	((struct sl_conf_pool *)(uintptr_t)&u->conf->pools[0])->concurrency.shed = true;
	sl_up_inflight(u, 0, 1, -4);
	/* Requests stuck on b0 (7, over its limit) fill the pool cap of 7:
	 * b1, with headroom, still takes the request; no pool-cap refusal. */
	sl_up_inflight(u, 0, 0, 5);
	CHECK_EQ(p->inflight, 7);
	k = sl_up_pick(u, u->conf, 0, &cur, 0, &rng, -1, &why, &probe);
	CHECK_EQ(k, 1);
	CHECK_EQ(p->refused[SL_UP_REFUSE_pool_max_inflight], 0);
	/* b1 full too: now the pool cap refuses. */
	sl_up_inflight(u, 0, 1, 4);
	k = sl_up_pick(u, u->conf, 0, &cur, 0, &rng, -1, &why, &probe);
	CHECK_EQ(k, -1);
	CHECK_EQ(why, SL_UP_REFUSE_pool_max_inflight);
	sl_up_inflight(u, 0, 1, -4);
	sl_up_inflight(u, 0, 0, -7);
	CHECK_EQ(p->inflight, 0);
}

int
main(int argc, char **argv)
{
	struct sl_conf_diag d = { 0 };
	struct sl_event_log *ev;
	struct sl_conf *c;
	struct sl_upstream *u;
	uint64_t now;

	(void)argc;
	test_limit();
	test_slow_judge();
	if (sl_test_eal_init(argv[0], "128") != 0)
		return 1;
	c = sl_conf_load_buf("t", conf_json, strlen(conf_json), false, &d);
	sl_conf_diag_print(&d, "t", stderr);
	CHECK(c != NULL);
	if (c == NULL)
		return sl_test_result("test_concurrency");
	ev = sl_event_log_create(64);
	now = sl_up_now_ms();
	u = sl_upstream_create(c, 1, ev);
	CHECK(u != NULL);
	if (u != NULL) {
		/* The limits are published with the 500 ms evaluation. */
		sl_upstream_step(u, now);
		sl_upstream_step(u, now + 600);
		sl_upstream_step(u, now + 1200);
		test_spill(u);
		sl_upstream_free(u);
	}
	sl_event_log_free(ev);
	sl_conf_free(c);
	sl_conf_diag_free(&d);
	rte_eal_cleanup();
	return sl_test_result("test_concurrency");
}
