#ifndef SL_CAPTURE_H
#define SL_CAPTURE_H

/*
 * Built-in packet capture into pcapng files that tshark reads.
 *
 * A capture taps one port's RX and/or TX queues with ethdev RX/TX callbacks
 * (the mechanism DPDK's own pdump uses): they run inside rte_eth_rx_burst()
 * and rte_eth_tx_burst() on the worker that owns each queue, so they see
 * every packet the port hands us and every packet we hand it, including
 * mid-turn TX flushes. The callback filters, copies a match with
 * rte_pcapng_copy() from a capture mempool into the worker's own ring
 * (single producer), and never waits: a full ring or an empty pool counts a
 * drop. A control thread drains the rings into the file and ends the
 * capture after a packet count, a time limit, a size cap or a stop command.
 * When no capture runs, no callback is installed and the fast path pays
 * nothing.
 *
 * One capture at a time per process. Control-path functions are thread-safe
 * (telemetry may call them from several client threads).
 */

#include <stddef.h>
#include <stdint.h>

#include "sl_capture_types.h"
#include "sl_lcore_types.h"

/*
 * Parse "<port>,<rx|tx|both>[,<count>[,<seconds>]][,host=A.B.C.D][,port=N]
 * [,ring=N]" (count and seconds may also be given as count=N, seconds=N).
 * Fills p with defaults for what is absent. Returns 0, or -EINVAL with a
 * message for the operator in err.
 */
int
sl_capture_parse(const char *params, struct sl_capture_params *p, char *err,
		 size_t errlen);

/* Does a frame of len bytes (starting at the Ethernet header) pass f? */
int
sl_capture_match(const struct sl_capture_filter *f, const void *frame,
		 uint32_t len);

/*
 * Start a capture on dp. The file is created under SL_CAPTURE_DIR (made
 * 0700 if missing) with a generated name, copied to `file`. Returns 0, or a
 * negative errno with a message in err (-EBUSY: one is already running).
 */
int
sl_capture_start(struct sl_dp *dp, const struct sl_capture_params *p,
		 char *file, size_t filelen, char *err, size_t errlen);

/*
 * Stop the running capture and wait until its file is complete (bounded: a
 * few seconds at worst). Returns 0, or -ENOENT when none is running.
 */
int
sl_capture_stop(void);

/* Fill st with the running or last capture (state IDLE if none yet). */
void
sl_capture_status(struct sl_capture_status *st);

/*
 * Per-worker counters of the running or last capture. Returns 0, or -ENOENT
 * when w is not a worker the capture tapped.
 */
int
sl_capture_lcore_stats(unsigned int w, struct sl_capture_lcore_stats *out);

/* "rx", "tx" or "both". */
const char *
sl_capture_dir_name(unsigned int dir);

/*
 * At process exit, after the workers have returned and before the ports
 * close: finish a running capture (its file stays readable) and free
 * everything it holds.
 */
void
sl_capture_shutdown(void);

#endif
