#ifndef SL_TIMER_TYPES_H
#define SL_TIMER_TYPES_H

#include <stdint.h>

/*
 * A hierarchical timing wheel (Varghese & Lauck, scheme 7), one per lcore.
 * Level 0 has 256 slots of one tick; levels 1-3 have 64 slots, each slot
 * covering 256, 16384 and 1048576 ticks. With the default 1 ms tick a timer
 * can be up to 2^26 ms (about 18.6 hours) away; later ones are clamped.
 * Arm and cancel are O(1); expiry is O(1) amortised per timer (a timer
 * cascades down at most three times).
 */

#define SL_TIMER_L0_BITS 8
#define SL_TIMER_LN_BITS 6
#define SL_TIMER_L0_SIZE (1u << SL_TIMER_L0_BITS)
#define SL_TIMER_LN_SIZE (1u << SL_TIMER_LN_BITS)
#define SL_TIMER_LEVELS  4
#define SL_TIMER_MAX_TICKS \
	((1ull << (SL_TIMER_L0_BITS + 3 * SL_TIMER_LN_BITS)) - 1)

struct sl_timer;

typedef void (*sl_timer_fn)(struct sl_timer *t, void *ctx);

/* Embedded in its owner (a connection, a pool entry); never allocated. */
struct sl_timer {
	struct sl_timer *next;
	struct sl_timer **pprev;     /* NULL when not armed */
	uint64_t expire;             /* absolute tick */
	sl_timer_fn fn;
};

struct sl_timer_wheel {
	uint64_t now;                /* ticks processed so far */
	uint64_t tick_tsc;           /* TSC cycles per tick */
	uint64_t base_tsc;           /* TSC of tick 0 */
	uint64_t armed;              /* timers currently armed */
	uint64_t fired;              /* timers expired since creation */
	void *ctx;                   /* passed to every callback */
	struct sl_timer *l0[SL_TIMER_L0_SIZE];
	struct sl_timer *ln[SL_TIMER_LEVELS - 1][SL_TIMER_LN_SIZE];
};

#endif
