/*
 * Adaptive per-backend concurrency (lb_concurrency.c, upstream_pick.c):
 * the limit from learned or declared capacity within its bounds, the
 * spill-over of a request whose first choice is at its limit, the shed
 * when every backend is, and the pool cap that no longer refuses what a
 * backend with headroom could take.
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
	/* learned beats declared */
	CHECK_EQ(sl_lb_conc_limit(8, 100, true, 1, 1024, 1.0), 8);
	CHECK_EQ(sl_lb_conc_limit(0, 100, true, 1, 1024, 1.0), 100);
	/* bounds */
	CHECK_EQ(sl_lb_conc_limit(1, 0, true, 4, 1024, 2.0), 4);
	CHECK_EQ(sl_lb_conc_limit(1000, 0, true, 4, 1024, 2.0), 1024);
	/* nothing known: the upper bound */
	CHECK_EQ(sl_lb_conc_limit(0, 0, true, 4, 64, 2.0), 64);
	/* off only by choice: no limit */
	CHECK_EQ(sl_lb_conc_limit(8, 8, false, 4, 1024, 2.0), 0);
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
