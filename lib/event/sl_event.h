#ifndef SL_EVENT_H
#define SL_EVENT_H

/*
 * The event log: a bounded ring of what the appliance decided on its own
 * (breaker transitions, ejections, panic, imbalance alarms, health changes,
 * shed episodes). Written from control threads only, never from the fast
 * path, so a spinlock is fine; the oldest entry is overwritten when full and
 * counted as dropped.
 */

#include <stdint.h>
#include <stdarg.h>

#define SL_EVENT_TEXT 200

struct sl_event {
	uint64_t seq;            /* 1, 2, ...: gaps tell a reader what it missed */
	uint64_t wall_us;        /* microseconds since the Unix epoch */
	char kind[24];           /* "breaker", "ejection", "panic", ... */
	char pool[32];
	char backend[32];
	char text[SL_EVENT_TEXT];
};

struct sl_event_log;

/* NULL with rte_errno set on failure. */
struct sl_event_log *
sl_event_log_create(unsigned int capacity);

void
sl_event_log_free(struct sl_event_log *log);

void
sl_event_add(struct sl_event_log *log, const char *kind, const char *pool,
	     const char *backend, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Copy up to `max` events with seq > after, oldest first, into out.
 * Returns the number copied.
 */
unsigned int
sl_event_read(struct sl_event_log *log, uint64_t after, struct sl_event *out,
	      unsigned int max);

/* Totals: events ever added, and those overwritten before being read. */
void
sl_event_counts(struct sl_event_log *log, uint64_t *added, uint64_t *capacity);

#endif
