#ifndef SL_ALOG_H
#define SL_ALOG_H

/*
 * The access log. Workers push fixed-size records into their own
 * single-producer ring; one writer thread drains every ring and writes
 * JSON lines. A full ring drops the record and counts it: the fast path
 * never blocks. Sampling keeps one record in `sample_every`.
 */

#include <stdbool.h>

#include <rte_ring.h>

#include "sl_alog_types.h"
#include "sl_lcore_types.h"

struct sl_alog;

/* NULL (rte_errno set) on failure; path "" makes a disabled log. */
struct sl_alog *
sl_alog_create(const char *path, uint32_t ring_size, uint32_t sample_every,
	       unsigned int n_workers, const char *const *listener_names);

/* The producer end for worker `idx`, or NULL when the log is disabled. */
struct sl_alog_lcore *
sl_alog_lcore(struct sl_alog *a, unsigned int idx);

/*
 * The access log's slot on each lcore: worker idx's producer end, attached
 * to lc by sl_alog_lcore_attach() (none when the log is disabled).
 */
extern struct sl_lcore_module sl_alog_module;

/* Attach worker idx's producer end to lc. 0, or a negative errno. */
int
sl_alog_lcore_attach(struct sl_alog *a, struct sl_lcore *lc, unsigned int idx);

/* The lcore's producer end, NULL when the access log is off. */
static inline struct sl_alog_lcore *
sl_alog_lcore_of(const struct sl_lcore *lc)
{
	return lc->mod[sl_alog_module.id];
}

/* Start / stop the writer thread. Stop drains what is queued first. */
int
sl_alog_start(struct sl_alog *a);

void
sl_alog_free(struct sl_alog *a);

/*
 * Ask the writer thread to reopen the file by its configured name (after
 * logrotate renamed it). Only an atomic add: safe from a signal handler.
 * -ENOENT when the log is disabled. sl_alog_reopened() says whether every
 * request so far was served.
 */
int
sl_alog_reopen(struct sl_alog *a);

bool
sl_alog_reopened(const struct sl_alog *a);

/* Writer-side counters for telemetry. */
void
sl_alog_counters(const struct sl_alog *a, uint64_t *written,
		 uint64_t *write_errors);

const char *
sl_alog_term_name(unsigned int term);

static inline void
sl_alog_submit(struct sl_alog_lcore *l, const struct sl_alog_rec *rec)
{
	if (l == NULL)
		return;
	if (++l->sample_cnt < l->sample_every) {
		l->sampled_out++;
		return;
	}
	l->sample_cnt = 0;
	if (rte_ring_sp_enqueue_elem(l->ring, (void *)(uintptr_t)rec, sizeof(*rec)) != 0)
		l->dropped_full++;
	else
		l->submitted++;
}

#endif
