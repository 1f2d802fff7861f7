#ifndef INCIDENT_PRIVATE_H
#define INCIDENT_PRIVATE_H

/* Internal to lib/incident: the recorder's one state (incident.c). */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>

#include "sl_conf_types.h"
#include "sl_hist.h"
#include "sl_incident.h"

struct inc_entry {
	struct sl_incident_info info;
	uint64_t start_ms;           /* monotonic, the first trigger */
	uint64_t due_ms;             /* the after-window closes */
	char trigger_pool[SL_NAME_MAX];
	char trigger_backend[SL_NAME_MAX];
	char *timeline;              /* malloc'ed once frozen */
	size_t timeline_len;
};

/* A config generation the recorder has seen running. */
struct inc_config {
	uint64_t generation;
	char sha256_hex[65];
	char source[64];
	uint64_t loaded_unix;
	char *text;                  /* malloc'ed copy of its bytes */
	size_t len;
};

struct inc_state {
	/* entries and counts: the main thread writes, telemetry reads */
	pthread_mutex_t lock;
	bool on;
	struct sl_dp *dp;
	unsigned int (*read_begin)(void);
	void (*read_end)(unsigned int);
	struct sl_conf_incidents conf;
	struct sl_incident_ring ring;
	/* per backend slot: what the last snapshot saw, for per-second deltas */
	unsigned int n_slots;
	struct sl_hist *prev_hist;
	uint64_t *prev_req, *prev_5xx, *prev_fail;
	struct sl_hist scratch[2];   /* merge and delta of one backend */
	uint64_t next_sample_ms;
	uint64_t last_sample_ms;
	uint64_t last_seq;           /* events looked at */
	struct inc_config cur, prev; /* prev.text NULL: none seen */
	struct inc_entry *entries;   /* oldest first; at most cap */
	unsigned int n_entries, cap;
	bool has_open;               /* the newest entry is open */
	uint32_t next_id;
	struct sl_incident_counts counts;
};

extern struct inc_state inc;

uint64_t
inc_now_ms(void);

/*
 * Freeze entry e (the open incident) at now: build its bundle and write it
 * under inc.conf.dir, then prune. Main thread; takes inc.lock only to
 * publish the result.
 */
void
inc_freeze(struct inc_entry *e, uint64_t now_ms);

extern const char *const inc_state_names[SL_INC_N_STATES];

/* A growable text; oom set once an allocation failed (the text is cut). */
struct inc_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void
inc_buf_printf(struct inc_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
