#ifndef SL_DRAIN_H
#define SL_DRAIN_H

/*
 * The gateway's lifecycle and its graceful stop (docs/operations.md,
 * "Graceful stop"), on the control side. The control thread publishes
 * dp->run_state; each worker loads it once per loop turn and acts
 * (lib/worker): refuses new connections, closes keep-alive connections
 * after their response, counts what still has work, and at the end resets
 * what remains. No lock anywhere near the workers.
 *
 *   starting --sl_drain_ready--> running --sl_drain_begin--> draining
 *   draining --(nothing left | grace over | sl_drain_force)--> closing/stop
 *   draining --sl_drain_cancel (before it is decided over)--> running
 */

#include <stdbool.h>
#include <stdint.h>

#include "sl_lcore_types.h"

/* How a drain ended. */
enum sl_drain_outcome {
	SL_DRAIN_NONE = 0,        /* no drain, or still draining */
	SL_DRAIN_DONE,            /* every connection finished within the grace */
	SL_DRAIN_GRACE,           /* the grace ended: what remained was reset */
	SL_DRAIN_FORCED,          /* a second SIGTERM (or SIGINT): reset at once */
};

/* What /sluice/ready reports; a copy, consistent enough for a reader. */
struct sl_drain_status {
	uint32_t state;           /* enum sl_run_state */
	uint32_t outcome;         /* enum sl_drain_outcome */
	char why[32];             /* what started the drain: SIGTERM, telemetry */
	uint32_t grace_ms;
	uint64_t elapsed_ms;      /* since the drain started (0 before) */
	uint32_t workers_draining;/* workers that have acted on the drain */
	uint64_t left;            /* connections with work, summed over workers */
	uint64_t left_at_grace;   /* of those, still there when the grace ended */
};

/* Workers are launched: the gateway is ready. No-op once draining. */
void
sl_drain_ready(struct sl_dp *dp);

/*
 * Start the drain: new connections are refused from the workers' next
 * loop turn; what is in progress has grace_ms to finish. Safe from any
 * control thread (telemetry's, main). 0, or -EALREADY when a drain began
 * before (nothing changes then).
 */
int
sl_drain_begin(struct sl_dp *dp, const char *why, uint32_t grace_ms);

/* End the drain now: what remains is reset (a second SIGTERM). Starts a
 * drain with no grace if none was running. */
void
sl_drain_force(struct sl_dp *dp, const char *why);

/*
 * The main loop's step (every few ms): decide when the drain is over.
 * True once the process should stop: nothing was left, or the workers
 * have reset what remained.
 */
/*
 * Telemetry thread: call off a drain that is not decided over yet. The
 * main loop's next sl_drain_tick carries it out (this waits for it, up to
 * 2 s): workers accept new connections again; keep-alive connections the
 * drain already told to close still close. A later SIGTERM or drain_all
 * starts a new drain. 0, or -ENOENT (not draining), -EBUSY (already over:
 * resetting, or stopping), -EINPROGRESS (another cancel is being carried
 * out), -ETIMEDOUT (the main loop did not answer; it will still act).
 */
int
sl_drain_cancel(struct sl_dp *dp);

bool
sl_drain_tick(struct sl_dp *dp);

void
sl_drain_status(const struct sl_dp *dp, struct sl_drain_status *out);

const char *
sl_drain_state_name(uint32_t state);

const char *
sl_drain_outcome_name(uint32_t outcome);

#endif
