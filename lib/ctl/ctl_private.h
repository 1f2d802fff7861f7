#ifndef CTL_PRIVATE_H
#define CTL_PRIVATE_H

/* Internal to lib/ctl: the one control-plane state, under its mutex. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_conf.h"
#include "sl_ctl.h"

struct ctl_state {
	pthread_mutex_t lock;         /* every change and every read of the texts */
	struct sl_gen *cur;           /* what the workers run */
	struct sl_gen *retired;       /* the one before: freed at the next change */
	bool strict;
	char path[4096];
	char *text;                   /* the running config's bytes */
	size_t len;
	char source[64];
	uint64_t loaded_unix;
	char *prev_text;              /* the previous config's, for rollback */
	size_t prev_len;
	char prev_sha[65];
	uint64_t prev_loaded_unix;
	struct sl_ctl_reload_status st; /* reload counters, last outcome, warnings */
};

extern struct ctl_state ctl;

/*
 * Validate, merge and publish `text` as the running config. Lock held.
 * A config with warnings is refused under --strict, and when `gate` (a
 * file reload) unless `force`. Every outcome is logged and is an event.
 */
void
ctl_apply_text(struct sl_dp *dp, const char *text, size_t len, const char *source,
	       const char *who, bool gate, bool force, struct sl_ctl_result *res);

static inline void
conf_diag_msg(struct sl_conf_diag *d, const char *pointer, const char *text)
{
	sl_conf_diag_error(d, pointer, text);
}

static inline void
conf_diag_oom(struct sl_conf_diag *d)
{
	sl_conf_diag_error(d, "", "out of memory");
}

#endif
