#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_spinlock.h>

#include "sl_event.h"
#include "sl_log.h"

struct sl_event_log {
	rte_spinlock_t lock;
	unsigned int cap;
	uint64_t next_seq;       /* seq of the next event */
	struct sl_event *ring;
};

struct sl_event_log *
sl_event_log_create(unsigned int capacity)
{
	struct sl_event_log *log;

	if (capacity == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	log = rte_zmalloc("sl_event", sizeof(*log), 0);
	if (log == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	log->ring = rte_zmalloc("sl_event_ring", capacity * sizeof(*log->ring), 0);
	if (log->ring == NULL) {
		rte_free(log);
		rte_errno = ENOMEM;
		return NULL;
	}
	rte_spinlock_init(&log->lock);
	log->cap = capacity;
	log->next_seq = 1;
	return log;
}

void
sl_event_log_free(struct sl_event_log *log)
{
	if (log == NULL)
		return;
	rte_free(log->ring);
	rte_free(log);
}

void
sl_event_add(struct sl_event_log *log, const char *kind, const char *pool,
	     const char *backend, const char *fmt, ...)
{
	struct sl_event *e;
	struct timeval tv;
	char text[SL_EVENT_TEXT];
	va_list ap;

	if (log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	gettimeofday(&tv, NULL);
	rte_spinlock_lock(&log->lock);
	e = &log->ring[log->next_seq % log->cap];
	e->seq = log->next_seq++;
	e->wall_us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->pool, sizeof(e->pool), "%s", pool ? pool : "");
	snprintf(e->backend, sizeof(e->backend), "%s", backend ? backend : "");
	memcpy(e->text, text, sizeof(text));
	rte_spinlock_unlock(&log->lock);
	/* Events are rare and operators want them in the log too. */
	SL_LOG(NOTICE, "event %s%s%s%s%s: %s", kind, pool ? " pool " : "",
	       pool ? pool : "", backend ? " backend " : "",
	       backend ? backend : "", text);
}

unsigned int
sl_event_read(struct sl_event_log *log, uint64_t after, struct sl_event *out,
	      unsigned int max)
{
	unsigned int n = 0;
	uint64_t first;

	rte_spinlock_lock(&log->lock);
	first = log->next_seq > log->cap ? log->next_seq - log->cap : 1;
	if (after + 1 > first)
		first = after + 1;
	for (uint64_t s = first; s < log->next_seq && n < max; s++)
		out[n++] = log->ring[s % log->cap];
	rte_spinlock_unlock(&log->lock);
	return n;
}

void
sl_event_counts(struct sl_event_log *log, uint64_t *added, uint64_t *capacity)
{
	rte_spinlock_lock(&log->lock);
	*added = log->next_seq - 1;
	*capacity = log->cap;
	rte_spinlock_unlock(&log->lock);
}
