/*
 * Packet capture over telemetry: /sluice/capture_start, /sluice/capture,
 * /sluice/capture_stop. The work is in lib/capture; these only parse,
 * answer and never take a path from the socket (files go to
 * SL_CAPTURE_DIR under a generated name).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "sl_capture.h"
#include "sl_conf.h"
#include "sl_log.h"
#include "sl_capture_telemetry.h"
#include "sl_telemetry.h"

static struct sl_dp *cdp;

static const char *
state_name(enum sl_capture_state s)
{
	switch (s) {
	case SL_CAPTURE_RUNNING:
		return "running";
	case SL_CAPTURE_DONE:
		return "done";
	default:
		return "idle";
	}
}

/* {"error": "..."}: answered as data, so a client sees why, not null. */
static int
cap_error(struct rte_tel_data *d, const char *fmt, ...)
{
	char msg[RTE_TEL_MAX_STRING_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "error", msg);
	return 0;
}

/* Every field of the running or last capture, and one row per worker. */
static void
status_dict(struct rte_tel_data *d)
{
	struct sl_capture_status st;
	char ip[16];

	sl_capture_status(&st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "state", state_name(st.state));
	rte_tel_data_add_dict_string(d, "file", st.file);
	rte_tel_data_add_dict_string(d, "dir", SL_CAPTURE_DIR);
	if (st.state == SL_CAPTURE_IDLE && st.stop_reason[0] == '\0')
		return;
	rte_tel_data_add_dict_string(d, "port", st.port_name);
	rte_tel_data_add_dict_string(d, "direction",
				     sl_capture_dir_name(st.params.dir));
	rte_tel_data_add_dict_string(d, "filter_host", st.params.filter.host ?
		sl_conf_fmt_ipv4(st.params.filter.host, ip) : "any");
	rte_tel_data_add_dict_u64(d, "filter_port", st.params.filter.port);
	rte_tel_data_add_dict_u64(d, "count_limit", st.params.count);
	rte_tel_data_add_dict_u64(d, "seconds_limit", st.params.seconds);
	rte_tel_data_add_dict_u64(d, "ring", st.params.ring);
	rte_tel_data_add_dict_u64(d, "packets_written", st.written);
	rte_tel_data_add_dict_u64(d, "bytes_written", st.bytes);
	rte_tel_data_add_dict_u64(d, "elapsed_ms", st.elapsed_ms);
	rte_tel_data_add_dict_u64(d, "seen", st.total.seen);
	rte_tel_data_add_dict_u64(d, "copied", st.total.copied);
	rte_tel_data_add_dict_u64(d, "dropped", st.total.dropped_full +
				  st.total.dropped_nombuf);
	rte_tel_data_add_dict_u64(d, "dropped_ring_full", st.total.dropped_full);
	rte_tel_data_add_dict_u64(d, "dropped_no_mbuf", st.total.dropped_nombuf);
	rte_tel_data_add_dict_u64(d, "discarded_past_count", st.discarded);
	rte_tel_data_add_dict_string(d, "stop_reason", st.stop_reason);
	for (unsigned int w = 0; w < st.n_workers && cdp != NULL &&
	     w < cdp->n_workers; w++) {
		struct sl_capture_lcore_stats ls;
		struct rte_tel_data *row;
		char key[32];

		if (sl_capture_lcore_stats(w, &ls) != 0)
			break;
		row = rte_tel_data_alloc();
		if (row == NULL)
			break;
		rte_tel_data_start_dict(row);
		rte_tel_data_add_dict_u64(row, "lcore", cdp->workers[w]->lcore_id);
		rte_tel_data_add_dict_u64(row, "seen", ls.seen);
		rte_tel_data_add_dict_u64(row, "copied", ls.copied);
		rte_tel_data_add_dict_u64(row, "dropped", ls.dropped_full +
					  ls.dropped_nombuf);
		rte_tel_data_add_dict_u64(row, "dropped_ring_full", ls.dropped_full);
		rte_tel_data_add_dict_u64(row, "dropped_no_mbuf", ls.dropped_nombuf);
		/* Rows are keyed by worker index, as in /sluice/lcores' "worker". */
		snprintf(key, sizeof(key), "worker_%u", w);
		if (rte_tel_data_add_dict_container(d, key, row, 0) != 0)
			rte_tel_data_free(row);
	}
}

static int
cmd_capture_start(const char *cmd __rte_unused, const char *params,
		  struct rte_tel_data *d)
{
	struct sl_capture_params p;
	char err[RTE_TEL_MAX_STRING_LEN], file[SL_CAPTURE_PATH_MAX];

	if (sl_capture_parse(params, &p, err, sizeof(err)) != 0)
		return cap_error(d, "%s", err);
	if (sl_capture_start(cdp, &p, file, sizeof(file), err, sizeof(err)) != 0)
		return cap_error(d, "%s", err);
	status_dict(d);
	return 0;
}

static int
cmd_capture_stop(const char *cmd __rte_unused, const char *params,
		 struct rte_tel_data *d)
{
	if (params != NULL && *params != '\0')
		return cap_error(d, "/sluice/capture_stop takes no parameters");
	if (sl_capture_stop() != 0)
		return cap_error(d, "no capture is running");
	status_dict(d);
	return 0;
}

static int
cmd_capture(const char *cmd __rte_unused, const char *params,
	    struct rte_tel_data *d)
{
	if (params != NULL && *params != '\0')
		return cap_error(d, "/sluice/capture takes no parameters");
	status_dict(d);
	return 0;
}

int
sl_capture_telemetry_register(struct sl_dp *dp)
{
	int rc = 0;

	cdp = dp;
	rc |= tel_reg("/sluice/capture_start", cmd_capture_start,
		"Start a pcapng capture. Params: port,rx|tx|both[,count[,seconds]]"
		"[,host=IP][,port=N][,ring=N]");
	rc |= tel_reg("/sluice/capture", cmd_capture,
		"Capture state, file, packets and bytes written, drops per worker. "
		"No parameters");
	rc |= tel_reg("/sluice/capture_stop", cmd_capture_stop,
		"Stop the running capture and close its file; returns its final "
		"state. No parameters");
	if (rc != 0)
		SL_LOG(ERR, "telemetry: cannot register the capture commands");
	return rc;
}
