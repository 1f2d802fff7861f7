/* Hierarchical timing wheel: see sl_timer_types.h for the geometry. */
#include <string.h>

#include "sl_timer.h"

void
sl_timer_wheel_init(struct sl_timer_wheel *w, uint64_t tick_tsc,
		    uint64_t now_tsc, void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->tick_tsc = tick_tsc ? tick_tsc : 1;
	w->base_tsc = now_tsc;
	w->ctx = ctx;
}

static inline void
slot_push(struct sl_timer **slot, struct sl_timer *t)
{
	t->next = *slot;
	if (*slot != NULL)
		(*slot)->pprev = &t->next;
	*slot = t;
	t->pprev = slot;
}

/* Put a timer in the slot its distance from `now` calls for. */
static void
place(struct sl_timer_wheel *w, struct sl_timer *t)
{
	uint64_t delta = t->expire - w->now;
	unsigned int shift = SL_TIMER_L0_BITS;

	if (delta < SL_TIMER_L0_SIZE) {
		slot_push(&w->l0[t->expire & (SL_TIMER_L0_SIZE - 1)], t);
		return;
	}
	for (unsigned int lvl = 0; lvl < SL_TIMER_LEVELS - 1; lvl++) {
		if (delta < (1ull << (shift + SL_TIMER_LN_BITS)) ||
		    lvl == SL_TIMER_LEVELS - 2) {
			slot_push(&w->ln[lvl][(t->expire >> shift) &
					      (SL_TIMER_LN_SIZE - 1)], t);
			return;
		}
		shift += SL_TIMER_LN_BITS;
	}
}

void
sl_timer_arm(struct sl_timer_wheel *w, struct sl_timer *t, uint64_t ticks)
{
	sl_timer_cancel(w, t);
	if (ticks == 0)
		ticks = 1;
	if (ticks > SL_TIMER_MAX_TICKS)
		ticks = SL_TIMER_MAX_TICKS;
	t->expire = w->now + ticks;
	place(w, t);
	w->armed++;
}

/* Move every timer of a higher-level slot down to where it now belongs. */
static void
cascade(struct sl_timer_wheel *w, unsigned int lvl, unsigned int idx)
{
	struct sl_timer *t = w->ln[lvl][idx];

	w->ln[lvl][idx] = NULL;
	while (t != NULL) {
		struct sl_timer *next = t->next;

		place(w, t);
		t = next;
	}
}

/* Advance `now` by one tick and fire what is due at it. */
static unsigned int
tick(struct sl_timer_wheel *w)
{
	unsigned int fired = 0, idx;
	struct sl_timer *t;

	w->now++;
	idx = w->now & (SL_TIMER_L0_SIZE - 1);
	if (idx == 0) {
		unsigned int shift = SL_TIMER_L0_BITS;

		for (unsigned int lvl = 0; lvl < SL_TIMER_LEVELS - 1; lvl++) {
			unsigned int i = (w->now >> shift) & (SL_TIMER_LN_SIZE - 1);

			cascade(w, lvl, i);
			if (i != 0)
				break;
			shift += SL_TIMER_LN_BITS;
		}
	}
	/*
	 * Level 0 only ever holds timers less than one lap away, so everything
	 * in this slot is due now. Re-reading the head each time keeps this
	 * safe when a callback cancels or arms other timers.
	 */
	while ((t = w->l0[idx]) != NULL && t->expire <= w->now) {
		sl_timer_cancel(w, t);
		w->fired++;
		fired++;
		t->fn(t, w->ctx);
	}
	return fired;
}

unsigned int
sl_timer_wheel_advance(struct sl_timer_wheel *w, uint64_t now_tsc)
{
	uint64_t target = (now_tsc - w->base_tsc) / w->tick_tsc;
	unsigned int fired = 0;

	if (now_tsc < w->base_tsc)
		return 0;
	if (w->armed == 0) {
		/* Nothing to fire: skip the walk (the slots are all empty). */
		if (target > w->now)
			w->now = target;
		return 0;
	}
	while (w->now < target)
		fired += tick(w);
	return fired;
}

uint64_t
sl_timer_wheel_next(const struct sl_timer_wheel *w, uint64_t limit)
{
	if (w->armed == 0)
		return limit;
	for (uint64_t d = 1; d <= limit && d < SL_TIMER_L0_SIZE; d++)
		if (w->l0[(w->now + d) & (SL_TIMER_L0_SIZE - 1)] != NULL)
			return d;
	/* Something is armed further out, or in a higher level: be safe. */
	return limit < SL_TIMER_L0_SIZE ? limit : SL_TIMER_L0_SIZE;
}
