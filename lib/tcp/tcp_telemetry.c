/*
 * TCP's telemetry: /sluice/conns, the live connections, and TCP's part of
 * /sluice/tcp (the stack's counters and connections by state; lib/box adds
 * the L4 proxy's). This file keeps the reads of struct sl_tcp_conn inside
 * lib/tcp. Handlers run on telemetry's threads and read the workers'
 * tables and counters with relaxed loads, never a lock.
 */
#include <stdio.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "sl_conf.h"
#include "sl_tcp.h"
#include "sl_tcp_conn.h"
#include "sl_tcp_telemetry.h"
#include "sl_telemetry.h"
#include "sl_timer.h"

/* Rows a page: a connection is 21 fields (0.6 KB at worst), so a page of
 * them stays under telemetry's 16 KB. */
#define CONNS_PAGE 24

size_t
sl_tcp_telemetry_conn_bytes(void)
{
	return sizeof(struct sl_tcp_conn);
}

void
sl_tcp_telemetry_stats(struct rte_tel_data *d, int only)
{
	uint64_t st[64] = { 0 }, states[SL_TCP_STATE_MAX] = { 0 };
	uint64_t active = 0, half_open = 0;
	char key[64];

	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_tcp_stack *s = sl_tcp_of(tel_dp->workers[w]);
		const uint64_t *v = (const uint64_t *)&s->stats;

		if (only >= 0 && (int)w != only)
			continue;
		for (unsigned int i = 0; i < sl_tcp_n_stats && i < RTE_DIM(st); i++)
			st[i] += TEL_LOAD(v[i]);
		for (unsigned int i = 0; i < SL_TCP_STATE_MAX; i++)
			states[i] += TEL_LOAD(s->stats.state[i]);
		active += TEL_LOAD(s->stats.active);
		half_open += TEL_LOAD(s->stats.half_open);
	}
	rte_tel_data_add_dict_u64(d, "conns_active", active);
	rte_tel_data_add_dict_u64(d, "conns_half_open", half_open);
	rte_tel_data_add_dict_u64(d, "conns_time_wait", states[SL_TCP_TIME_WAIT]);
	for (unsigned int i = 1; i < SL_TCP_STATE_MAX; i++) {
		snprintf(key, sizeof(key), "state_%s", sl_tcp_state_name(i));
		rte_tel_data_add_dict_u64(d, key, states[i]);
	}
	for (unsigned int i = 0; i < sl_tcp_n_stats; i++)
		rte_tel_data_add_dict_u64(d, sl_tcp_stat_names[i], st[i]);
}

/* ---- /sluice/conns ---------------------------------------------------- */

/*
 * Live connections. A debugging view: it reads another lcore's connection
 * table without a lock, so a row may mix values from two instants.
 */
static int
cmd_conns(const char *cmd __rte_unused, const char *params,
	  struct rte_tel_data *d)
{
	struct tel_page pg = { .size = CONNS_PAGE };
	unsigned int seen = 0;
	char key[32], buf[128], a[16], b[16];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	tel_page_set(&pg, UINT32_MAX);
	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_tcp_stack *s = sl_tcp_of(tel_dp->workers[w]);

		for (uint32_t i = 0; i < s->max_conns; i++) {
			const struct sl_tcp_conn *c = &s->conns[i];
			struct rte_tel_data *e;

			if (TEL_LOAD(c->flags) & SL_TCPF_DEAD)
				continue;
			if (seen++ < pg.first || seen > pg.last)
				continue;
			e = rte_tel_data_alloc();
			if (e == NULL)
				continue;
			rte_tel_data_start_dict(e);
			snprintf(buf, sizeof(buf), "%s:%u -> %s:%u",
				 sl_conf_fmt_ipv4(c->laddr, a), c->lport,
				 sl_conf_fmt_ipv4(c->raddr, b), c->rport);
			rte_tel_data_add_dict_string(e, "tuple", buf);
			rte_tel_data_add_dict_string(e, "state", sl_tcp_state_name(c->state));
			rte_tel_data_add_dict_u64(e, "lcore", tel_dp->workers[w]->lcore_id);
			rte_tel_data_add_dict_u64(e, "flags", c->flags);
			rte_tel_data_add_dict_u64(e, "snd_una", c->snd_una);
			rte_tel_data_add_dict_u64(e, "snd_nxt", c->snd_nxt);
			rte_tel_data_add_dict_u64(e, "snd_max", c->snd_max);
			rte_tel_data_add_dict_u64(e, "snd_wnd", c->snd_wnd);
			rte_tel_data_add_dict_u64(e, "cwnd", c->cc.cwnd);
			rte_tel_data_add_dict_u64(e, "ssthresh", c->cc.ssthresh);
			rte_tel_data_add_dict_u64(e, "rcv_nxt", c->rcv_nxt);
			rte_tel_data_add_dict_u64(e, "rcv_wnd", c->rcv_adv - c->rcv_nxt);
			rte_tel_data_add_dict_u64(e, "sndq_bytes", c->sndq.bytes);
			rte_tel_data_add_dict_u64(e, "rcvq_bytes", c->rcvq.bytes);
			rte_tel_data_add_dict_u64(e, "ooo_bytes", c->ooo.bytes);
			rte_tel_data_add_dict_u64(e, "srtt_us", c->srtt_us);
			rte_tel_data_add_dict_u64(e, "rto_ms", c->rto_ms);
			rte_tel_data_add_dict_u64(e, "retries", c->retries);
			rte_tel_data_add_dict_u64(e, "dupacks", c->dupacks);
			rte_tel_data_add_dict_u64(e, "sacked_bytes", c->sb.sacked_bytes);
			rte_tel_data_add_dict_u64(e, "rtx_armed", sl_timer_armed(&c->rtx_timer));
			snprintf(key, sizeof(key), "%u", seen - 1);
			tel_add_row(d, key, e);
		}
	}
	pg.total = seen;
	tel_page_meta(d, &pg);
	return 0;
}

int
sl_tcp_telemetry_register(struct sl_dp *dp __rte_unused)
{
	return tel_reg("/sluice/conns", cmd_conns,
		"Live TCP connections: tuple, state, sequence and window variables, queues. Param: page (24 a page)");
}
