#ifndef SL_TIMER_H
#define SL_TIMER_H

#include <stdbool.h>

#include "sl_timer_types.h"

/* Start a wheel whose tick is `tick_tsc` cycles, with tick 0 at `now_tsc`. */
void
sl_timer_wheel_init(struct sl_timer_wheel *w, uint64_t tick_tsc,
		    uint64_t now_tsc, void *ctx);

/* Set up a timer once, before first use. Never on an armed timer: the
 * wheel still links it (cancel it first). */
static inline void
sl_timer_init(struct sl_timer *t, sl_timer_fn fn)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expire = 0;
	t->fn = fn;
}

static inline bool
sl_timer_armed(const struct sl_timer *t)
{
	return t->pprev != NULL;
}

/* Unlink; a no-op when not armed. O(1). */
static inline void
sl_timer_cancel(struct sl_timer_wheel *w, struct sl_timer *t)
{
	if (t->pprev == NULL)
		return;
	*t->pprev = t->next;
	if (t->next != NULL)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
	w->armed--;
}

/*
 * (Re)arm `t` to fire `ticks` ticks after the wheel's current tick (at least
 * one: a timer never fires in the call that armed it). O(1).
 */
void
sl_timer_arm(struct sl_timer_wheel *w, struct sl_timer *t, uint64_t ticks);

/*
 * Process every tick up to `now_tsc`, calling the callback of each expired
 * timer (already disarmed, so it may re-arm itself). Returns timers fired.
 */
unsigned int
sl_timer_wheel_advance(struct sl_timer_wheel *w, uint64_t now_tsc);

/* Ticks until the earliest armed timer is due, at most `limit`; for sleeping. */
uint64_t
sl_timer_wheel_next(const struct sl_timer_wheel *w, uint64_t limit);

#endif
