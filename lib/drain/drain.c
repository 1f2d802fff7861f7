/*
 * The control side of the graceful stop: one state machine, advanced by
 * the main loop (sl_drain_tick), started by a signal or a telemetry
 * command. Workers only ever read dp->run_state; what they report back
 * (run_seen, drain_left) each has one writer, read with relaxed loads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>

#include "sl_drain.h"
#include "sl_event.h"
#include "sl_log.h"

/* After the resets, how long the workers get to acknowledge them. */
#define DRAIN_CLOSE_WAIT_MS 1000

static struct {
	uint32_t begun;           /* 0 -> 1 once: who fills the fields below */
	char why[32];
	uint32_t grace_ms;
	uint64_t start_tsc;
	uint64_t end_tsc;         /* when the drain was decided over */
	uint64_t close_tsc;       /* when closing began */
	uint32_t outcome;
	uint64_t left_at_grace;
	bool acked;               /* every worker has reset (closing) */
	bool forced;              /* sl_drain_force started it: no grace */
} drain;

/*
 * A cancel is asked for by the telemetry thread and carried out by the
 * main loop's tick, the one writer of the drain's state: a cancel can then
 * never cross the tick that ends the drain. 0 idle, 1 asked, 2 answered;
 * the answer (0 or -EBUSY) in cancel_rc.
 */
static uint32_t cancel_req;
static int cancel_rc;

static const char *const state_names[] = { "starting", "running", "draining",
	"closing" };
static const char *const outcome_names[] = { "none", "done", "grace", "forced" };

const char *
sl_drain_state_name(uint32_t state)
{
	return state < RTE_DIM(state_names) ? state_names[state] : "unknown";
}

const char *
sl_drain_outcome_name(uint32_t outcome)
{
	return outcome < RTE_DIM(outcome_names) ? outcome_names[outcome] : "unknown";
}

static uint32_t
run_state(const struct sl_dp *dp)
{
	return __atomic_load_n(&dp->run_state, __ATOMIC_ACQUIRE);
}

/* Workers that have acted on state `st` (or a later one), and what they
 * count as left. */
static unsigned int
workers_at(const struct sl_dp *dp, uint32_t st, uint64_t *left)
{
	unsigned int n = 0;

	*left = 0;
	for (unsigned int w = 0; w < dp->n_workers; w++) {
		const struct sl_lcore *lc = dp->workers[w];

		if (__atomic_load_n(&lc->run_seen, __ATOMIC_ACQUIRE) >= st) {
			n++;
			*left += __atomic_load_n(&lc->drain_left, __ATOMIC_RELAXED);
		}
	}
	return n;
}

static uint64_t
ms_since(const struct sl_dp *dp, uint64_t tsc)
{
	return (rte_rdtsc() - tsc) * 1000 / dp->tsc_hz;
}

void
sl_drain_ready(struct sl_dp *dp)
{
	uint32_t expect = SL_RUN_STARTING;

	__atomic_compare_exchange_n(&dp->run_state, &expect, SL_RUN_RUNNING, false,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

int
sl_drain_begin(struct sl_dp *dp, const char *why, uint32_t grace_ms)
{
	uint32_t zero = 0;

	if (!__atomic_compare_exchange_n(&drain.begun, &zero, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return -EALREADY;
	snprintf(drain.why, sizeof(drain.why), "%s", why);
	drain.grace_ms = grace_ms;
	drain.start_tsc = rte_rdtsc();
	/* Published last: whoever sees draining sees the fields above. */
	__atomic_store_n(&dp->run_state, SL_RUN_DRAINING, __ATOMIC_RELEASE);
	SL_LOG(NOTICE, "drain started (%s): new connections refused, "
	       "%u ms grace for what is in progress", why, grace_ms);
	if (dp->events != NULL)
		sl_event_add(dp->events, "drain", NULL, NULL,
			     "drain started (%s): new connections refused, grace %u ms",
			     why, grace_ms);
	return 0;
}

/* The drain is decided over: say how, once. */
static void
drain_end(struct sl_dp *dp, uint32_t outcome, uint64_t left)
{
	drain.end_tsc = rte_rdtsc();
	drain.left_at_grace = outcome == SL_DRAIN_DONE ? 0 : left;
	__atomic_store_n(&drain.outcome, outcome, __ATOMIC_RELEASE);
	SL_LOG(NOTICE, "drain over (%s) after %lu ms: %lu connection(s) with "
	       "work left%s", sl_drain_outcome_name(outcome),
	       (unsigned long)ms_since(dp, drain.start_tsc), (unsigned long)left,
	       left ? ", reset" : "");
	if (dp->events != NULL)
		sl_event_add(dp->events, "drain", NULL, NULL,
			     "drain over (%s) after %lu ms: %lu connection(s) reset",
			     sl_drain_outcome_name(outcome),
			     (unsigned long)ms_since(dp, drain.start_tsc),
			     (unsigned long)drain.left_at_grace);
	if (outcome != SL_DRAIN_DONE) {
		drain.close_tsc = rte_rdtsc();
		__atomic_store_n(&dp->run_state, SL_RUN_CLOSING, __ATOMIC_RELEASE);
	}
}

void
sl_drain_force(struct sl_dp *dp, const char *why)
{
	uint64_t left;

	if (sl_drain_begin(dp, why, 0) == 0) {
		drain.forced = true;   /* main thread, as the tick that reads it */
		return;           /* no grace: the next tick ends it */
	}
	if (run_state(dp) != SL_RUN_DRAINING || drain.outcome != SL_DRAIN_NONE)
		return;           /* already over */
	workers_at(dp, SL_RUN_DRAINING, &left);
	drain_end(dp, SL_DRAIN_FORCED, left);
}

/* Main loop: back to running if the drain is not decided over yet. */
static int
drain_cancel_now(struct sl_dp *dp)
{
	uint64_t ms;

	if (run_state(dp) != SL_RUN_DRAINING || drain.outcome != SL_DRAIN_NONE)
		return -EBUSY;
	ms = ms_since(dp, drain.start_tsc);
	SL_LOG(NOTICE, "drain cancelled after %lu ms (%s): accepting new "
	       "connections again", (unsigned long)ms, drain.why);
	if (dp->events != NULL)
		sl_event_add(dp->events, "drain", NULL, NULL,
			     "drain cancelled after %lu ms: accepting new connections",
			     (unsigned long)ms);
	__atomic_store_n(&dp->run_state, SL_RUN_RUNNING, __ATOMIC_RELEASE);
	memset(&drain, 0, sizeof(drain));   /* begun = 0: a later drain may start */
	return 0;
}

int
sl_drain_cancel(struct sl_dp *dp)
{
	uint32_t idle = 0;
	int rc;

	if (run_state(dp) != SL_RUN_DRAINING)
		return run_state(dp) == SL_RUN_CLOSING ? -EBUSY : -ENOENT;
	if (!__atomic_compare_exchange_n(&cancel_req, &idle, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return -EINPROGRESS;
	/* The main loop ticks every 20 ms or so; give it two seconds. */
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&cancel_req, __ATOMIC_ACQUIRE) == 2) {
			rc = cancel_rc;
			__atomic_store_n(&cancel_req, 0, __ATOMIC_RELEASE);
			return rc;
		}
		rte_delay_us_sleep(1000);
	}
	/* Not answered: withdraw the request, unless it was answered since. */
	idle = 1;
	if (__atomic_compare_exchange_n(&cancel_req, &idle, 0, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return -ETIMEDOUT;
	rc = cancel_rc;
	__atomic_store_n(&cancel_req, 0, __ATOMIC_RELEASE);
	return rc;
}

bool
sl_drain_tick(struct sl_dp *dp)
{
	uint32_t st;
	unsigned int seen;
	uint64_t left;

	if (__atomic_load_n(&cancel_req, __ATOMIC_ACQUIRE) == 1) {
		cancel_rc = drain_cancel_now(dp);
		__atomic_store_n(&cancel_req, 2, __ATOMIC_RELEASE);
	}
	st = run_state(dp);

	if (st == SL_RUN_DRAINING && drain.outcome == SL_DRAIN_NONE) {
		seen = workers_at(dp, SL_RUN_DRAINING, &left);
		if (seen == dp->n_workers && left == 0) {
			drain_end(dp, SL_DRAIN_DONE, 0);
			return true;
		}
		if (ms_since(dp, drain.start_tsc) >= drain.grace_ms) {
			/* A worker that has not seen the drain yet is reset
			 * all the same (closing implies draining). */
			drain_end(dp, drain.forced ? SL_DRAIN_FORCED : SL_DRAIN_GRACE,
				  left);
		}
		return false;
	}
	if (st == SL_RUN_CLOSING) {
		/* One tick after every worker has reset: their RSTs are out. */
		if (drain.acked)
			return true;
		seen = workers_at(dp, SL_RUN_CLOSING, &left);
		drain.acked = seen == dp->n_workers;
		if (!drain.acked && ms_since(dp, drain.close_tsc) >= DRAIN_CLOSE_WAIT_MS) {
			SL_LOG(WARNING, "drain: %u of %u worker(s) did not reset in "
			       "time; stopping anyway", dp->n_workers - seen,
			       dp->n_workers);
			return true;
		}
		return false;
	}
	return st == SL_RUN_DRAINING;   /* over (done): stop */
}

void
sl_drain_status(const struct sl_dp *dp, struct sl_drain_status *out)
{
	uint32_t st = run_state(dp);
	uint64_t left;

	memset(out, 0, sizeof(*out));
	out->state = st;
	if (st < SL_RUN_DRAINING)
		return;
	out->outcome = __atomic_load_n(&drain.outcome, __ATOMIC_ACQUIRE);
	snprintf(out->why, sizeof(out->why), "%s", drain.why);
	out->grace_ms = drain.grace_ms;
	out->elapsed_ms = ms_since(dp, drain.start_tsc);
	out->workers_draining = workers_at(dp, SL_RUN_DRAINING, &left);
	out->left = left;
	out->left_at_grace = drain.left_at_grace;
}
