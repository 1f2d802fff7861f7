/*
 * /sluice/ready and /sluice/drain_all: whether the gateway takes traffic,
 * and the graceful stop an operator (or a load balancer's hook) starts.
 * The state machine is lib/drain's; this file only reads and asks.
 */
#include <errno.h>

#include "sl_drain.h"
#include "sl_http.h"
#include "sl_proxy_http.h"
#include "sl_tcp.h"
#include "sl_drain_telemetry.h"
#include "sl_telemetry.h"

/* Drain counters summed over workers (each a one-writer counter). */
static void
ready_counters(struct rte_tel_data *d)
{
	uint64_t refused = 0, ka = 0, idle = 0, reset = 0;

	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_lcore *lc = tel_dp->workers[w];

		for (unsigned int p = 0; p < SL_MAX_PORTS; p++)
			refused += TEL_LOAD(lc->stats[p].drops[SL_DROP_TCP_DRAINING]);
		ka += TEL_LOAD(sl_h1_proxy_of(lc)->stats.drain_keepalive_closed);
		idle += TEL_LOAD(sl_h1_proxy_of(lc)->stats.drain_idle_closed);
		reset += TEL_LOAD(sl_tcp_of(lc)->stats.drain_reset);
	}
	rte_tel_data_add_dict_u64(d, "refused", refused);
	rte_tel_data_add_dict_u64(d, "keepalive_closed", ka);
	rte_tel_data_add_dict_u64(d, "idle_closed", idle);
	rte_tel_data_add_dict_u64(d, "reset", reset);
}

static int
cmd_ready(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct sl_drain_status st;

	(void)cmd;
	if (tel_no_params(params, d) != 0)
		return 0;
	sl_drain_status(tel_dp, &st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "ready", st.state == SL_RUN_RUNNING);
	rte_tel_data_add_dict_string(d, "state", sl_drain_state_name(st.state));
	rte_tel_data_add_dict_string(d, "drain_reason", st.why);
	rte_tel_data_add_dict_string(d, "drain_outcome",
				     sl_drain_outcome_name(st.outcome));
	rte_tel_data_add_dict_u64(d, "grace_ms", st.state >= SL_RUN_DRAINING ?
				  st.grace_ms : tel_conf()->shutdown.grace_ms);
	rte_tel_data_add_dict_u64(d, "drain_elapsed_ms", st.elapsed_ms);
	rte_tel_data_add_dict_u64(d, "workers", tel_dp->n_workers);
	rte_tel_data_add_dict_u64(d, "workers_draining", st.workers_draining);
	rte_tel_data_add_dict_u64(d, "conns_left", st.left);
	rte_tel_data_add_dict_u64(d, "left_at_grace", st.left_at_grace);
	ready_counters(d);
	return 0;
}

static int
cmd_drain_all(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct sl_conf *c = tel_conf();
	int rc;

	(void)cmd;
	if (tel_no_params(params, d) != 0)
		return 0;
	rc = sl_drain_begin(tel_dp, "telemetry", c->shutdown.grace_ms);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "result", rc == 0 ? "draining" :
				     "already draining");
	rte_tel_data_add_dict_u64(d, "grace_ms", c->shutdown.grace_ms);
	return 0;
}

static int
cmd_drain_cancel(const char *cmd, const char *params, struct rte_tel_data *d)
{
	int rc;

	(void)cmd;
	if (tel_no_params(params, d) != 0)
		return 0;
	rc = sl_drain_cancel(tel_dp);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "result",
		rc == 0 ? "cancelled" :
		rc == -ENOENT ? "not draining" :
		rc == -EBUSY ? "too late: the drain is over" :
		rc == -EINPROGRESS ? "another cancel is in progress" :
		"no answer from the main loop");
	return 0;
}

int
sl_drain_telemetry_register(struct sl_dp *dp)
{
	int rc = 0;

	(void)dp;
	rc |= tel_reg("/sluice/ready", cmd_ready,
		"ready (1 when accepting traffic), state starting|running|draining|closing, drain progress and counters. No parameters");
	rc |= tel_reg("/sluice/drain_all", cmd_drain_all,
		"Start a graceful stop, as SIGTERM: refuse new connections, finish what runs within shutdown.grace_ms, exit 0");
	rc |= tel_reg("/sluice/drain_cancel", cmd_drain_cancel,
		"Call off a graceful stop before it is over: accept new connections again. No parameters");
	return rc;
}
