#ifndef SL_INCIDENT_H
#define SL_INCIDENT_H

/*
 * The incident flight recorder. Always on and bounded: once a second the
 * control (main) thread snapshots every backend into a ring of the last
 * incidents.before_s + after_s seconds. An event of an incident kind (a
 * root-cause alarm, an ejection, a breaker opening, panic, shedding) opens
 * an incident; triggers within its after-window join it. When the window
 * closes, the recorder freezes a bundle under incidents.dir: snapshots
 * before and after, the window's events, the running config, its sha256,
 * the previous generation's config and a structural diff, and a short
 * human timeline. At most incidents.max_bundles bundles are kept (the
 * oldest of this recorder's own are deleted), each at most
 * incidents.max_bundle_bytes (snapshots are cut first). A bundle that
 * cannot be written leaves the incident listed with its error and a
 * counter; it never stops the gateway.
 *
 * Nothing here runs on a worker: snapshots read the counters and gauges
 * the workers and the upstream control thread already publish, with
 * relaxed loads, as telemetry does.
 */

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sl_event.h"
#include "sl_incident_types.h"
#include "sl_lcore_types.h"

/*
 * Start the recorder for dp (after sl_ctl_init and the workers exist).
 * read_begin/read_end bracket every read of dp->conf, so that a reload
 * waits for a snapshot in progress before freeing the config it replaces
 * (telemetry's read side; NULL for none). 0, or -1 with a message in err.
 */
int
sl_incident_init(struct sl_dp *dp, unsigned int (*read_begin)(void),
		 void (*read_end)(unsigned int), char *err, size_t len);

/* Main thread, any cadence (it acts once a second, and on new events). */
void
sl_incident_tick(struct sl_dp *dp);

/* Shutdown: an open incident is frozen with what it has, then all is freed. */
void
sl_incident_free(void);

/* Up to max incidents, oldest first, and the totals. Returns the count. */
unsigned int
sl_incident_list(struct sl_incident_info *out, unsigned int max,
		 struct sl_incident_counts *counts);

/*
 * Incident id's timeline (lines separated by '\n') into buf (NUL-ended,
 * truncated to cap) and its description into *info. Returns the full
 * length, or -ENOENT.
 */
long
sl_incident_timeline(uint32_t id, char *buf, size_t cap,
		     struct sl_incident_info *info);

/* Does this event open (or join) an incident? */
bool
sl_incident_is_trigger(const struct sl_event *e);

/* ---- building blocks, exposed for the unit tests ---------------------- */

int
sl_incident_ring_init(struct sl_incident_ring *r, unsigned int frames,
		      unsigned int rows_per_frame);

void
sl_incident_ring_free(struct sl_incident_ring *r);

/* The next frame to fill (the oldest one is reused when full), emptied. */
struct sl_incident_frame *
sl_incident_ring_push(struct sl_incident_ring *r, uint64_t mono_ms,
		      uint64_t wall_us);

/*
 * Frames with from_ms <= mono_ms <= to_ms, oldest first, into out (room
 * for max). Returns the count.
 */
unsigned int
sl_incident_ring_window(const struct sl_incident_ring *r, uint64_t from_ms,
			uint64_t to_ms, const struct sl_incident_frame **out,
			unsigned int max);

/*
 * Structural diff of two JSON documents: one line per difference,
 * "/json/pointer: old -> new" ("(absent)" for a missing side), objects by
 * key, arrays by index. At most max_lines lines (then "... N more").
 * Returns a malloc'ed string (free it), "" when equal; NULL on no memory.
 * *n_diffs gets the number of differences found.
 */
char *
sl_incident_diff(const json_t *a, const json_t *b, unsigned int max_lines,
		 unsigned int *n_diffs);

/*
 * Which snapshots fit a bundle: frames [0, n) of which the first n_before
 * precede the trigger, each of size[i] bytes, with `fixed` bytes of other
 * contents and a limit of `limit`. Frames furthest from the trigger are
 * dropped first. Sets [*first, *last) and returns the number dropped.
 */
unsigned int
sl_incident_fit(const size_t *size, unsigned int n, unsigned int n_before,
		size_t fixed, size_t limit, unsigned int *first, unsigned int *last);

/*
 * Delete the oldest bundles in dir that this recorder names
 * (sl_incident_is_bundle_name) until at most keep remain. Returns the
 * number deleted, or a negative errno when dir cannot be read.
 */
int
sl_incident_prune(const char *dir, unsigned int keep);

/* "incident-YYYYMMDDTHHMMSSZ-<pid>-<id>": a bundle this recorder wrote. */
bool
sl_incident_is_bundle_name(const char *name);

#endif
