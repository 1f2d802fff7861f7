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
 * A reload of the file refuses a config with warnings unless forced
 * (telemetry's /sluice/reload,force; a SIGHUP is never forced): a warning
 * such as an uneven spread is how the postmortem's outage was pushed.
 * With --strict (ctl.strict) warnings are errors for every change and a
 * reload cannot be forced past them. Every reload's outcome is counted and
 * kept (sl_ctl_reload_status) for telemetry and the exporter.
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
	SL_CTL_UNCHANGED,         /* the same bytes as the running config */
	SL_CTL_REJECTED,          /* errors (invalid, needs a restart): nothing changed */
	SL_CTL_APPLIED_WARNINGS,  /* applied with warnings: a forced reload, or a
				   * rollback / backend change (not gated) */
	SL_CTL_REJECTED_WARNINGS, /* valid but with warnings, not forced: nothing changed */
	SL_CTL_N_OUTCOMES
};

struct sl_ctl_result {
	enum sl_ctl_outcome outcome;
	bool forced;                  /* the caller asked to apply despite warnings */
	uint64_t generation;          /* the running one, after the call */
	char sha256_hex[65];          /* of the running config, after the call */
	char summary[256];            /* what changed, in words */
	/* Weights set at run time (set_weight) that this change put back to
	 * the file's value; the first few named in overrides_text. */
	unsigned int weight_overrides;
	char overrides_text[192];
	/* Run-time changes this change kept (a weight the file did not
	 * change, a drain or maintenance): counted, the first few named. */
	unsigned int runtime_kept;
	char kept_text[192];
	struct sl_conf_diag diag;     /* errors and warnings; free with sl_ctl_result_free */
};

/*
 * Reloads of the file (telemetry and SIGHUP; not rollback or backend
 * changes) by outcome, the last one's findings, and the running config's
 * warning count: what /sluice/reload_status and the exporter show.
 */
struct sl_ctl_reload_status {
	uint64_t reloads[SL_CTL_N_OUTCOMES];
	bool last_successful;         /* applied or unchanged; true before any reload */
	bool has_last;
	enum sl_ctl_outcome last_outcome;
	bool last_forced;
	uint64_t last_unix;           /* 0 before any reload */
	uint64_t last_success_unix;   /* start-up, or the last applied/unchanged reload */
	char last_trigger[32];        /* "telemetry", "SIGHUP" */
	unsigned int last_errors;
	unsigned int last_warnings;
	unsigned int last_weight_overrides;
	unsigned int last_runtime_kept;   /* run-time changes the last reload kept */
	char last_findings[400];      /* the first findings, "pointer: text; ..." */
	unsigned int running_warnings; /* warnings of the config that runs now */
	bool strict;
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

/*
 * Re-read the config file and apply it. `who` names the trigger for events
 * and the log ("telemetry", "SIGHUP"). A config with warnings is rejected
 * (SL_CTL_REJECTED_WARNINGS) unless `force`, and always under --strict.
 */
void
sl_ctl_reload(struct sl_dp *dp, const char *who, bool force,
	      struct sl_ctl_result *res);

/* A copy of the reload counters and the last reload's outcome. */
void
sl_ctl_reload_status(struct sl_ctl_reload_status *st);

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

/* "applied", "unchanged" or "rejected": the coarse result older clients read. */
const char *
sl_ctl_outcome_name(enum sl_ctl_outcome o);

/* "applied", "applied_with_warnings", "unchanged", "rejected_errors",
 * "rejected_warnings": the outcome, as the reload counters label it. */
const char *
sl_ctl_outcome_detail(enum sl_ctl_outcome o);

/*
 * Readers of dp->conf outside the workers' RCU (telemetry's threads): a
 * change calls `sync` after publishing a new config and before freeing an
 * old one; it returns once no reader can hold the old one. Called with
 * ctl's lock held, so a reader must never wait for that lock.
 */
void
sl_ctl_set_reader_sync(void (*sync)(void));

#endif
