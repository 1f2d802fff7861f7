#ifndef SL_CTL_H
#define SL_CTL_H

/*
 * The control plane's changes to a running gateway: hot reload (SIGHUP or
 * /sluice/reload), rollback to the previous config, adding and removing
 * backends, and resetting counters. Every change that touches the config
 * takes the same road: the one validator (sl_conf_load_buf), the merge
 * that keeps indices stable (sl_conf_merge), a new generation built off the
 * fast path, and an RCU publish that each worker adopts between bursts. A
 * config that fails any step never reaches a worker.
 *
 * Calls are serialised by a mutex: they come from telemetry's thread and
 * from the main thread (SIGHUP). None is called from a worker.
 */

#include <stdbool.h>
#include <stdint.h>

#include "sl_conf_types.h"
#include "sl_lcore_types.h"

enum sl_ctl_outcome {
	SL_CTL_APPLIED = 0,
	SL_CTL_UNCHANGED,     /* the same bytes as the running config */
	SL_CTL_REJECTED,      /* invalid, or needs a restart: nothing changed */
};

struct sl_ctl_result {
	enum sl_ctl_outcome outcome;
	uint64_t generation;          /* the running one, after the call */
	char sha256_hex[65];          /* of the running config, after the call */
	char summary[256];            /* what changed, in words */
	struct sl_conf_diag diag;     /* errors and warnings; free with sl_ctl_result_free */
};

/* What /sluice/config shows: the running config and the one before it. */
struct sl_ctl_config_info {
	const char *text;             /* running config's bytes */
	size_t len;
	char path[256];
	char sha256_hex[65];
	char source[64];              /* "start-up", "reload", "rollback", "add_backend", ... */
	uint64_t loaded_unix;
	uint64_t generation;
	bool has_previous;
	char prev_sha256_hex[65];
	uint64_t prev_loaded_unix;
};

/*
 * Start-up: take the loaded config and its file's bytes, build generation 1
 * (shared route tables) and the RCU state the workers report to. Call
 * before the workers are created. 0, or -1 with a message in err.
 */
int
sl_ctl_init(struct sl_dp *dp, struct sl_conf *conf, bool strict, char *err,
	    size_t len);

/* After the workers stopped: free every generation and saved config. */
void
sl_ctl_free(struct sl_dp *dp);

/* Re-read the config file and apply it. `who` names the trigger for events. */
void
sl_ctl_reload(struct sl_dp *dp, const char *who, struct sl_ctl_result *res);

/* Apply the previous config again (the running one becomes previous). */
void
sl_ctl_rollback(struct sl_dp *dp, struct sl_ctl_result *res);

/* Add or remove a backend: a change to the running config, applied like a
 * reload. The file on disk is not touched; a later reload from it undoes this. */
void
sl_ctl_add_backend(struct sl_dp *dp, const char *pool, const char *name,
		   const char *addr, unsigned int port, unsigned int weight,
		   struct sl_ctl_result *res);

void
sl_ctl_remove_backend(struct sl_dp *dp, const char *pool, const char *backend,
		      struct sl_ctl_result *res);

void
sl_ctl_result_free(struct sl_ctl_result *res);

/* Zero the counters of every worker and of the control thread. */
void
sl_ctl_reset_counters(struct sl_dp *dp);

/*
 * Copy the running config's description; the text is copied into buf
 * (NUL-terminated, truncated to cap) and info->text points at it.
 * Returns the text's full length.
 */
size_t
sl_ctl_config(struct sl_ctl_config_info *info, char *buf, size_t cap);

const char *
sl_ctl_outcome_name(enum sl_ctl_outcome o);

/*
 * Readers of dp->conf outside the workers' RCU (telemetry's threads): a
 * change calls `sync` after publishing a new config and before freeing an
 * old one; it returns once no reader can hold the old one. Called with
 * ctl's lock held, so a reader must never wait for that lock.
 */
void
sl_ctl_set_reader_sync(void (*sync)(void));

#endif
