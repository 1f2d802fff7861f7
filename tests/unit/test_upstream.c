/*
 * lib/upstream end to end on a fake clock: outcomes reported as a worker
 * would, sl_upstream_step() as the control thread would, and sl_up_pick()
 * reading what it published. Breaker, ejection, panic, slow start, limits,
 * retry budget, operator weights and the events they log, and what a
 * reload keeps of the operator's run-time changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>

#include "sl_breaker.h"
#include "sl_conf.h"
#include "sl_event.h"
#include "sl_upstream.h"
#include "sl_test.h"
#include "sl_test_stack.h"

static const char *conf_json =
	"{\"version\": 1,"
	" \"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"} ],"
	" \"pools\": ["
	"  {\"name\": \"a\", \"slow_start_ms\": 1000, \"panic_threshold_pct\": 50,"
	"   \"imbalance\": {\"window_ms\": 1000, \"min_requests\": 10,"
	"                   \"ratio\": 3.0, \"hold_ms\": 100},"
	"   \"limits\": {\"max_inflight\": 3, \"max_retries\": 2},"
	"   \"retry\": {\"budget_pct\": 10, \"min_per_s\": 2, \"window_s\": 1,"
	"             \"min_concurrency\": 1},"
	"   \"breaker\": {\"consecutive_failures\": 3, \"cooldown_ms\": 100,"
	"                 \"cooldown_max_ms\": 400, \"half_open_probes\": 1},"
	"   \"outlier\": {\"consecutive_5xx\": 6, \"consecutive_gateway\": 0,"
	"                 \"max_ejection_pct\": 100, \"base_ejection_ms\": 500},"
	"   \"backends\": ["
	"    {\"name\": \"b0\", \"address\": \"198.18.0.10\", \"port\": 80},"
	"    {\"name\": \"b1\", \"address\": \"198.18.0.11\", \"port\": 80},"
	"    {\"name\": \"b2\", \"address\": \"198.18.0.12\", \"port\": 80,"
	"     \"limits\": {\"max_inflight\": 1}}]}],"
	" \"listeners\": [ {\"name\": \"web\", \"address\": \"198.18.0.1\", \"port\": 80,"
	"   \"mode\": \"http\", \"pool\": \"a\"} ]}";

static struct sl_upstream *u;
static struct sl_event_log *ev;
static struct sl_up_cursor cur;
static uint64_t rng = 1, now = 1000;

static int
pick(int exclude, enum sl_up_refusal *why, bool *probe)
{
	return sl_up_pick(u, u->conf, 0, &cur, 0, &rng, exclude, why, probe);
}

static const struct sl_up_held held0, held1 = { .inflight = 1 };

static int
retry(unsigned int failed, const struct sl_up_held *held,
      enum sl_up_retry_refusal *why)
{
	bool probe;

	return sl_up_retry_pick(u, u->conf, 0, &cur, 0, &rng, failed, held, why,
				&probe);
}

static void
report(unsigned int b, enum sl_up_kind k, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		sl_up_report(u, 0, 0, b, k, k == SL_UP_FAIL_STATUS ? 500 : 200, 100, 0);
	sl_upstream_step(u, now);
}

static bool
has_event(const char *kind, const char *backend, const char *text)
{
	struct sl_event e[64];
	unsigned int n = sl_event_read(ev, 0, e, 64);

	for (unsigned int i = 0; i < n; i++)
		if (strcmp(e[i].kind, kind) == 0 &&
		    (backend == NULL || strcmp(e[i].backend, backend) == 0) &&
		    strstr(e[i].text, text) != NULL)
			return true;
	return false;
}

static void
test_breaker_cycle(void)
{
	struct sl_up_backend *b1 = &u->pools[0].b[1];
	enum sl_up_refusal why;
	bool probe;
	unsigned int seen[3] = { 0 };

	report(1, SL_UP_CONNECT_FAIL, 3);
	CHECK_EQ(b1->breaker, SL_BREAKER_OPEN);
	CHECK(has_event("breaker", "b1", "opened after 3 consecutive failures"));
	/* Open: never picked. */
	for (int i = 0; i < 30; i++) {
		int k = pick(-1, &why, &probe);

		CHECK(k >= 0);
		if (k >= 0)
			seen[k]++;
	}
	CHECK_EQ(seen[1], 0);
	/* Cooldown over: half-open with exactly one permit. */
	now += 100;
	sl_upstream_step(u, now);
	CHECK_EQ(b1->breaker, SL_BREAKER_HALF_OPEN);
	CHECK_EQ(b1->probes, 1);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 30; i++) {
		int k = pick(-1, &why, &probe);

		if (k >= 0) {
			seen[k]++;
			if (k == 1)
				CHECK(probe);
		}
	}
	CHECK_EQ(seen[1], 1);
	CHECK_EQ(b1->probes, 0);
	/* The probe fails: open again, cooldown doubled. */
	report(1, SL_UP_TIMEOUT, 1);
	CHECK_EQ(b1->breaker, SL_BREAKER_OPEN);
	CHECK_EQ(u->pools[0].brk[1].cooldown_cur_ms, 200);
	now += 199;
	sl_upstream_step(u, now);
	CHECK_EQ(b1->breaker, SL_BREAKER_OPEN);
	now += 1;
	sl_upstream_step(u, now);
	CHECK_EQ(b1->breaker, SL_BREAKER_HALF_OPEN);
	/* An abandoned probe gives its permit back. */
	{
		int k = -1;

		for (int i = 0; i < 50 && k != 1; i++)
			k = pick(-1, &why, &probe);
		CHECK_EQ(k, 1);
		CHECK(probe);
	}
	CHECK_EQ(b1->probes, 0);
	sl_up_report(u, 0, 0, 1, SL_UP_ABANDONED, 0, 0, SL_UP_OUT_PROBE);
	sl_upstream_step(u, now);
	CHECK_EQ(b1->probes, 1);
	/* A successful probe closes it, and slow start begins. */
	report(1, SL_UP_OK, 1);
	CHECK_EQ(b1->breaker, SL_BREAKER_CLOSED);
	CHECK(has_event("breaker", "b1", "closed"));
	CHECK(b1->eff_weight >= 1 && b1->eff_weight <= b1->weight);
	CHECK(b1->ready_since_ms == now);
	now += 1000;
	sl_upstream_step(u, now);
	CHECK_EQ(b1->ready_since_ms, 0);
	CHECK_EQ(b1->eff_weight, b1->weight);
}

static void
test_ejection_and_panic(void)
{
	struct sl_up_pool *p = &u->pools[0];

	/* b0 and b1 fail with 5xx: both ejected (max_ejection_pct 100 = n-1). */
	report(0, SL_UP_FAIL_STATUS, 6);
	CHECK_EQ(p->b[0].ejected, 1);
	CHECK_EQ(p->b[0].eff_weight, 0);
	CHECK_EQ(p->panic, 0);          /* 2 of 3 healthy: 66% >= 50% */
	report(1, SL_UP_FAIL_STATUS, 6);
	CHECK_EQ(p->b[1].ejected, 1);
	CHECK_EQ(p->panic, 1);          /* 1 of 3 healthy: panic */
	CHECK(has_event("panic", NULL, "entered panic: 1 of 3"));
	/* In panic, ejected backends get their weight back. */
	CHECK(p->b[0].eff_weight > 0 && p->b[1].eff_weight > 0);
	/* b2 cannot be ejected too: the pool is never emptied. */
	report(2, SL_UP_FAIL_STATUS, 6);
	CHECK_EQ(p->b[2].ejected, 0);
	CHECK(has_event("ejection", "b2", "max_ejection_pct"));
	/* Ejection ends: back in service with slow start; panic ends. */
	now += 500;
	sl_upstream_step(u, now);
	CHECK_EQ(p->b[0].ejected, 0);
	CHECK_EQ(p->b[1].ejected, 0);
	CHECK_EQ(p->panic, 0);
	CHECK(has_event("panic", NULL, "left panic"));
	CHECK(has_event("ejection", "b0", "returned to service (slow start)"));
	CHECK(p->b[0].eff_weight < p->b[0].weight || p->b[0].weight == 1);
	now += 1000;
	sl_upstream_step(u, now);
}

static void
test_limits_and_budget(void)
{
	struct sl_up_pool *p = &u->pools[0];
	enum sl_up_retry_refusal rwhy;
	enum sl_up_refusal why;
	bool probe;

	/* b2 allows one request in flight: with it busy, it is never chosen. */
	sl_up_inflight(u, 0, 2, 1);
	for (int i = 0; i < 20; i++)
		CHECK(pick(-1, &why, &probe) != 2);
	/* Pool cap of 3 in flight: the fourth is refused, and counted. */
	sl_up_inflight(u, 0, 0, 1);
	sl_up_inflight(u, 0, 1, 1);
	CHECK_EQ(pick(-1, &why, &probe), -1);
	CHECK_EQ(why, SL_UP_REFUSE_pool_max_inflight);
	CHECK_EQ(p->refused[SL_UP_REFUSE_pool_max_inflight], 1);
	/* A retry of b0's request is not refused by the slot it holds itself:
	 * it goes to b1 (b2 is at its own cap); without that slot, the pool
	 * cap refuses it, counted as a retry refusal, not a request's. */
	SL_UP_STORE(p->retry_tokens, 10 * SL_UP_RETRY_TOKEN);
	CHECK_EQ(retry(0, &held1, &rwhy), 1);
	CHECK_EQ(p->retries, 1);
	CHECK_EQ(p->b[1].retries, 1);
	CHECK_EQ(retry(0, &held0, &rwhy), -1);
	CHECK_EQ(rwhy, SL_UP_RETRY_REFUSE_pool_cap);
	CHECK_EQ(p->retry_refused[SL_UP_RETRY_REFUSE_pool_cap], 1);
	CHECK_EQ(p->refused[SL_UP_REFUSE_pool_max_inflight], 1);
	/* max_retries 2 in progress: the third waits for one to end. */
	CHECK_EQ(retry(0, &held1, &rwhy), 1);
	CHECK_EQ(retry(0, &held1, &rwhy), -1);
	CHECK_EQ(rwhy, SL_UP_RETRY_REFUSE_max_retries);
	sl_up_retry_end(u, 0, 1);
	sl_up_retry_end(u, 0, 1);
	CHECK_EQ(p->retries, 0);
	CHECK_EQ(p->retry_tokens, 8 * SL_UP_RETRY_TOKEN);
	/* Never the backend that failed: b1 failed, b0 is out, b2 at its cap. */
	SL_UP_STORE(p->b[0].eff_weight, 0);
	CHECK_EQ(retry(1, &held1, &rwhy), -1);
	CHECK_EQ(rwhy, SL_UP_RETRY_REFUSE_backend_limits);
	SL_UP_STORE(p->b[2].eff_weight, 0);
	CHECK_EQ(retry(1, &held1, &rwhy), -1);
	CHECK_EQ(rwhy, SL_UP_RETRY_REFUSE_no_other_backend);
	CHECK_EQ(p->retry_refused[SL_UP_RETRY_REFUSE_no_other_backend], 1);
	sl_upstream_step(u, now);   /* republishes b0's and b2's weights */
	sl_up_inflight(u, 0, 0, -1);
	sl_up_inflight(u, 0, 1, -1);
	sl_up_inflight(u, 0, 2, -1);
	CHECK_EQ(p->inflight, 0);
	/* b2 at its cap: the others take the traffic. */
	sl_up_inflight(u, 0, 2, 1);
	CHECK_EQ(pick(0, &why, &probe), 1);
	/* b0 and b1 excluded or out, b2 at its own cap: refused as such. */
	SL_UP_STORE(p->b[0].eff_weight, 0);
	CHECK_EQ(pick(1, &why, &probe), -1);
	CHECK_EQ(why, SL_UP_REFUSE_backend_limits);
	sl_up_inflight(u, 0, 2, -1);
	CHECK_EQ(pick(1, &why, &probe), 2);
	sl_upstream_step(u, now);   /* republishes b0's weight */
	CHECK_EQ(p->b[0].eff_weight, 1);
}

static void
test_operator_weight(void)
{
	char err[160];
	enum sl_up_refusal why;
	bool probe;

	CHECK_EQ(sl_upstream_set_weight(u, "a", "b0", 0, err, sizeof(err)), 0);
	CHECK(sl_upstream_set_weight(u, "a", "nope", 1, err, sizeof(err)) < 0);
	CHECK(strstr(err, "no backend \"nope\"") != NULL);
	CHECK(sl_upstream_set_weight(u, "zz", "b0", 1, err, sizeof(err)) < 0);
	CHECK(sl_upstream_set_weight(u, "a", "b0", 5000, err, sizeof(err)) < 0);
	sl_upstream_step(u, now);
	CHECK_EQ(u->pools[0].b[0].weight, 0);
	CHECK(has_event("weight", "b0", "from 1 to 0"));
	for (int i = 0; i < 20; i++)
		CHECK(pick(-1, &why, &probe) != 0);
}

/* Requests spread evenly, but one backend holds most of the in-flight load. */
static void
test_inflight_imbalance(void)
{
	struct sl_up_pool *p = &u->pools[0];

	sl_up_inflight(u, 0, 1, 9);
	sl_up_inflight(u, 0, 2, 1);
	for (int i = 0; i < 150; i++) {
		now += 10;
		sl_upstream_step(u, now);
	}
	CHECK_EQ(p->load_alarm, 1);
	/* b1's 90% of the load over its capacity share of 1/2 (b0 is out). */
	CHECK(p->load_ratio > 1.75);
	CHECK(p->load->share[1] > 0.85);
	CHECK(has_event("imbalance", "b1", "alarm on in-flight load"));
	sl_up_inflight(u, 0, 1, -8);
	for (int i = 0; i < 250; i++) {
		now += 10;
		sl_upstream_step(u, now);
	}
	CHECK_EQ(p->load_alarm, 0);
	CHECK(has_event("imbalance", NULL, "cleared on in-flight load"));
	sl_up_inflight(u, 0, 1, -1);
	sl_up_inflight(u, 0, 2, -1);
	CHECK_EQ(p->inflight, 0);
}

/*
 * The retry budget: budget_pct (10%) of a token per first attempt, plus
 * min_per_s (2) tokens a second, capped at what one window_s (1 s) earns;
 * min_concurrency (1) retry in progress is allowed with no token left.
 */
static void
test_retry_budget(void)
{
	struct sl_up_pool *p = &u->pools[0];
	enum sl_up_retry_refusal why;
	char err[160];
	int b;

	/* Earlier tests left the breakers half-open: close them. */
	for (unsigned int i = 1; i < 3; i++) {
		CHECK_EQ(sl_upstream_request(u, "a", i == 1 ? "b1" : "b2",
					     SL_UP_OP_BREAKER_RESET, err,
					     sizeof(err)), 0);
		sl_upstream_step(u, now);
		CHECK_EQ(p->b[i].breaker, SL_BREAKER_CLOSED);
	}
	/* A quiet window: the cap is the floor's 2 tokens. */
	now += 2000;
	sl_upstream_step(u, now);
	CHECK_EQ(p->retry_window_req, 0);
	CHECK_EQ(p->retry_tokens, 2 * SL_UP_RETRY_TOKEN);
	/* Two retries on tokens, a third on min_concurrency, the fourth is
	 * over budget (one in progress, none left). */
	for (int i = 0; i < 2; i++) {
		b = retry(0, &held1, &why);
		CHECK(b > 0);
		sl_up_retry_end(u, 0, (unsigned int)RTE_MAX(b, 1));
	}
	CHECK_EQ(p->retry_tokens, 0);
	CHECK_EQ(p->retries, 0);
	b = retry(0, &held1, &why);
	CHECK(b > 0);
	CHECK_EQ(retry(0, &held1, &why), -1);
	CHECK_EQ(why, SL_UP_RETRY_REFUSE_budget);
	CHECK_EQ(p->retry_refused[SL_UP_RETRY_REFUSE_budget], 1);
	CHECK_EQ(p->retry_tokens, 0);   /* a failed take gives the token back */
	sl_up_retry_end(u, 0, (unsigned int)RTE_MAX(b, 1));
	/* Ten first attempts earn one token; retries earn nothing. */
	report(1, SL_UP_OK, 10);
	CHECK_EQ(p->retry_tokens, SL_UP_RETRY_TOKEN);
	for (int i = 0; i < 10; i++)
		sl_up_report(u, 0, 0, 1, SL_UP_OK, 200, 100, SL_UP_OUT_RETRY);
	sl_upstream_step(u, now);
	CHECK_EQ(p->retry_tokens, SL_UP_RETRY_TOKEN);
	CHECK_EQ(p->retry_window_req, 10);
	/* Half a second of floor: one more (under the cap, 10% of 10 + 2). */
	now += 500;
	sl_upstream_step(u, now);
	CHECK_EQ(p->retry_tokens, 2 * SL_UP_RETRY_TOKEN);
	/* Once those requests leave the window, the cap is the floor's. */
	now += 1000;
	sl_upstream_step(u, now);
	CHECK_EQ(p->retry_window_req, 0);
	CHECK_EQ(p->retry_tokens, 2 * SL_UP_RETRY_TOKEN);
}

/*
 * The root-cause alarm on the control thread: an operator's weight that
 * gives b1 more than skew_warn_ratio x its capacity share raises it at the
 * next evaluation, with an event that says why; it holds while b1's
 * breaker is open (configured weights, not effective ones); a fair weight
 * clears it. b0 has weight 0 here (test_operator_weight).
 */
static void
test_rootcause(void)
{
	struct sl_up_pool *p = &u->pools[0];
	char err[160];

	now += 600;
	sl_upstream_step(u, now);
	CHECK_EQ(p->rc_alarm, 0);
	CHECK_EQ(sl_upstream_set_weight(u, "a", "b1", 10, err, sizeof(err)), 0);
	now += 600;
	sl_upstream_step(u, now);
	CHECK_EQ(p->rc_alarm, 1);
	CHECK_EQ(p->rc_backend, 1);
	CHECK_EQ(p->rc_cause, SL_LB_RC_SKEW);
	CHECK_EQ(p->rc_alarms, 1);
	CHECK(has_event("rootcause", "b1", "weight over capacity: b1 weight 10 of 11, "
			"90.9% of requests vs capacity share 50.0% (1.82x, limit 1.75)"));
	CHECK_EQ(sl_upstream_request(u, "a", "b1", SL_UP_OP_BREAKER_OPEN, err,
				     sizeof(err)), 0);
	for (int i = 0; i < 4; i++) {
		now += 600;
		sl_upstream_step(u, now);
		CHECK_EQ(p->rc_alarm, 1);
	}
	CHECK_EQ(p->rc_alarms, 1);
	CHECK_EQ(sl_upstream_request(u, "a", "b1", SL_UP_OP_BREAKER_RESET, err,
				     sizeof(err)), 0);
	CHECK_EQ(sl_upstream_set_weight(u, "a", "b1", 1, err, sizeof(err)), 0);
	now += 600;
	sl_upstream_step(u, now);
	CHECK_EQ(p->rc_alarm, 0);
	CHECK_EQ(p->rc_backend, -1);
	CHECK(has_event("rootcause", NULL, "cleared: every backend's configured share"));
}

/* The same three-backend pool with b1's weight and the slow start given. */
static struct sl_conf *
reload_conf(unsigned int b1_weight, unsigned int slow_start_ms)
{
	struct sl_conf_diag d = { 0 };
	struct sl_conf *c;
	char json[1024];

	snprintf(json, sizeof(json),
		"{\"version\": 1,"
		" \"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"} ],"
		" \"pools\": [ {\"name\": \"k\", \"slow_start_ms\": %u,"
		"   \"backends\": ["
		"    {\"name\": \"b0\", \"address\": \"198.18.0.10\", \"port\": 80},"
		"    {\"name\": \"b1\", \"address\": \"198.18.0.11\", \"port\": 80,"
		"     \"weight\": %u},"
		"    {\"name\": \"b2\", \"address\": \"198.18.0.12\", \"port\": 80}]}],"
		" \"listeners\": [ {\"name\": \"web\", \"address\": \"198.18.0.1\","
		"   \"port\": 80, \"mode\": \"http\", \"pool\": \"k\"} ]}",
		slow_start_ms, b1_weight);
	c = sl_conf_load_buf("k", json, strlen(json), false, &d);
	sl_conf_diag_print(&d, "k", stderr);
	sl_conf_diag_free(&d);
	return c;
}

/* Apply `next` onto what `k` runs, as a reload does; the merged config. */
static struct sl_conf *
reload(struct sl_upstream *k, struct sl_conf *next)
{
	struct sl_conf_diag d = { 0 };
	struct sl_conf *merged = sl_conf_merge(k->conf, next, &d);

	sl_conf_diag_print(&d, "k", stderr);
	sl_conf_diag_free(&d);
	CHECK(merged != NULL);
	if (merged != NULL) {
		sl_upstream_apply(k, merged);
		now += 10;
		sl_upstream_step(k, now);
	}
	return merged;
}

/*
 * Reloads keep what an operator set at run time unless the file changes
 * that backend's setting (issue 14 item 4): a weight survives a file that
 * leaves the backend's weight as it was, the file wins where it changes
 * it, and maintenance is never undone for a backend the reload keeps.
 */
static void
test_reload_keeps_runtime_changes(void)
{
	struct sl_conf *c0 = reload_conf(1, 0), *c1, *c2, *c3;
	struct sl_upstream *k;
	char err[160];

	CHECK(c0 != NULL);
	if (c0 == NULL)
		return;
	k = sl_upstream_create(c0, 1, ev);
	CHECK(k != NULL);
	if (k == NULL)
		return;
	sl_upstream_step(k, now);
	CHECK_EQ(sl_upstream_set_weight(k, "k", "b1", 7, err, sizeof(err)), 0);
	CHECK_EQ(sl_upstream_request(k, "k", "b2", SL_UP_OP_MAINTENANCE, err,
				     sizeof(err)), 0);
	now += 10;
	sl_upstream_step(k, now);
	CHECK_EQ(k->pools[0].b[1].weight, 7);
	CHECK_EQ(k->pools[0].b[2].admin, SL_UP_ADMIN_MAINTENANCE);
	/* An unrelated change (the slow start): both run-time changes stay. */
	c1 = reload(k, reload_conf(1, 500));
	CHECK_EQ(k->pools[0].b[1].weight, 7);
	CHECK_EQ(k->pools[0].b[1].eff_weight, 7);
	CHECK_EQ(k->pools[0].b[2].admin, SL_UP_ADMIN_MAINTENANCE);
	CHECK_EQ(k->pools[0].b[0].weight, 1);
	/* The file changes b1's weight: the file wins. */
	c2 = reload(k, reload_conf(2, 500));
	CHECK_EQ(k->pools[0].b[1].weight, 2);
	CHECK_EQ(k->pools[0].b[2].admin, SL_UP_ADMIN_MAINTENANCE);
	/* Set again at run time, then a file equal to the last: kept again. */
	CHECK_EQ(sl_upstream_set_weight(k, "k", "b1", 9, err, sizeof(err)), 0);
	now += 10;
	sl_upstream_step(k, now);
	c3 = reload(k, reload_conf(2, 500));
	CHECK_EQ(k->pools[0].b[1].weight, 9);
	sl_upstream_free(k);
	sl_conf_free(c3);
	sl_conf_free(c2);
	sl_conf_free(c1);
	sl_conf_free(c0);
}

int
main(int argc, char **argv)
{
	struct sl_conf_diag d = { 0 };
	struct sl_conf *c;

	(void)argc;
	if (sl_test_eal_init(argv[0], "128") != 0)
		return 1;
	c = sl_conf_load_buf("t", conf_json, strlen(conf_json), false, &d);
	sl_conf_diag_print(&d, "t", stderr);
	CHECK(c != NULL);
	if (c == NULL)
		return sl_test_result("test_upstream");
	ev = sl_event_log_create(64);
	/* The fake clock starts where create() reads the real one. */
	now = sl_up_now_ms();
	u = sl_upstream_create(c, 1, ev);
	CHECK(u != NULL);
	if (u != NULL) {
		sl_upstream_step(u, now);
		test_breaker_cycle();
		test_limits_and_budget();
		test_ejection_and_panic();
		test_operator_weight();
		test_inflight_imbalance();
		test_retry_budget();
		test_rootcause();
		sl_upstream_free(u);
		test_reload_keeps_runtime_changes();
	}
	sl_event_log_free(ev);
	sl_conf_free(c);
	sl_conf_diag_free(&d);
	rte_eal_cleanup();
	return sl_test_result("test_upstream");
}
