/*
 * /sluice/... telemetry: the commands about the box itself (info, ports,
 * lcores, test hooks) and the one list that registers every library's
 * commands (sl_box_telemetry_register).
 * Counters are summed over workers at read time; each is written by exactly
 * one lcore, so a relaxed load is enough. No handler takes a lock that a
 * worker takes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_telemetry.h>

#include "sl_alog.h"
#include "sl_box.h"
#include "sl_capture_telemetry.h"
#include "sl_conf.h"
#include "sl_ctl.h"
#include "sl_ctl_telemetry.h"
#include "sl_drain_telemetry.h"
#include "sl_drop.h"
#include "sl_event_telemetry.h"
#include "sl_incident_telemetry.h"
#include "sl_log.h"
#include "sl_net.h"
#include "sl_net_telemetry.h"
#include "sl_port.h"
#include "sl_port_watch.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"
#include "sl_proxy_telemetry.h"
#include "sl_steer.h"
#include "sl_tcp.h"
#include "sl_tcp_telemetry.h"
#include "sl_telemetry.h"
#include "sl_timer.h"
#include "sl_upstream.h"
#include "sl_upstream_telemetry.h"
#include "box_private.h"

/*
 * Rows a page. Each is sized so that a page of worst-case rows (64-byte
 * names, 20-digit counters) stays under telemetry's 16 KB: a port is
 * about 76 fields (2.8 KB at worst), an lcore 25 (0.9 KB).
 */
#define PORTS_PAGE 4
#define LCORES_PAGE 16

/* ---- /sluice/info ----------------------------------------------------- */

static uint64_t
uptime_ms(void)
{
	return (rte_rdtsc() - tel_dp->start_tsc) * 1000 / tel_dp->tsc_hz;
}

static int
cmd_info(const char *cmd __rte_unused, const char *params,
	 struct rte_tel_data *d)
{
	const struct sl_conf *c = tel_conf();
	const struct sl_upstream *up = tel_dp->up;
	uint64_t total, in_use, written, errors, sub = 0, samp = 0, full = 0;
	uint64_t dropped = 0;
	unsigned int n_pools = 0;

	if (tel_no_params(params, d) != 0)
		return 0;
	for (unsigned int p = 0; p < c->n_pools; p++)
		n_pools += sl_upstream_tel_pool_listed(c, p);
	sl_port_mbuf_usage(tel_dp, &total, &in_use);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", SL_VERSION);
	rte_tel_data_add_dict_u64(d, "pid", (uint64_t)getpid());
	rte_tel_data_add_dict_u64(d, "uptime_ms", uptime_ms());
	tel_add_str(d, "config_path", c->path);
	rte_tel_data_add_dict_string(d, "config_sha256", c->sha256_hex);
	rte_tel_data_add_dict_string(d, "idle_policy",
				     sl_conf_idle_name(c->runtime.idle));
	rte_tel_data_add_dict_u64(d, "workers", tel_dp->n_workers);
	rte_tel_data_add_dict_u64(d, "ports", tel_dp->n_ports);
	rte_tel_data_add_dict_u64(d, "listeners", c->n_listeners);
	rte_tel_data_add_dict_u64(d, "pools", n_pools);
	rte_tel_data_add_dict_u64(d, "mbufs_total", total);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", in_use);
	rte_tel_data_add_dict_u64(d, "tsc_hz", tel_dp->tsc_hz);

	sl_alog_counters(tel_dp->alog, &written, &errors);
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_alog_lcore *l = sl_alog_lcore_of(tel_dp->workers[w]);

		if (up != NULL)
			dropped += TEL_LOAD(up->outcomes_dropped[w]);
		if (l == NULL)
			continue;
		sub += TEL_LOAD(l->submitted);
		samp += TEL_LOAD(l->sampled_out);
		full += TEL_LOAD(l->dropped_full);
	}
	tel_add_str(d, "access_log", c->access_log.path[0] ? c->access_log.path : "off");
	rte_tel_data_add_dict_u64(d, "access_log_queued", sub);
	rte_tel_data_add_dict_u64(d, "access_log_written", written);
	rte_tel_data_add_dict_u64(d, "access_log_sampled_out", samp);
	rte_tel_data_add_dict_u64(d, "access_log_dropped_full", full);
	rte_tel_data_add_dict_u64(d, "access_log_write_errors", errors);
	/*
	 * Request outcomes the workers hand the balancing control thread
	 * (breakers, ejection, health): a full ring drops them, and then
	 * those decisions run on less evidence than the traffic gave.
	 */
	rte_tel_data_add_dict_u64(d, "outcomes_processed",
				  up ? TEL_LOAD(up->outcomes_processed) : 0);
	rte_tel_data_add_dict_u64(d, "outcomes_dropped", dropped);
	return 0;
}

/* ---- /sluice/ports ---------------------------------------------------- */

/* Sum of one port's counters across every worker. */
static void
port_totals(unsigned int port, struct sl_port_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		struct sl_port_stats *s = &tel_dp->workers[w]->stats[port];

		sum->rx_packets += TEL_LOAD(s->rx_packets);
		sum->rx_bytes += TEL_LOAD(s->rx_bytes);
		sum->tx_packets += TEL_LOAD(s->tx_packets);
		sum->tx_bytes += TEL_LOAD(s->tx_bytes);
		sum->icmp_echo_replies += TEL_LOAD(s->icmp_echo_replies);
		sum->arp_requests_sent += TEL_LOAD(s->arp_requests_sent);
		sum->arp_replies_sent += TEL_LOAD(s->arp_replies_sent);
		sum->arp_replies_received += TEL_LOAD(s->arp_replies_received);
		sum->steered_out += TEL_LOAD(s->steered_out);
		sum->steered_in += TEL_LOAD(s->steered_in);
		sum->steer_no_owner += TEL_LOAD(s->steer_no_owner);
		sum->tx_handed_off += TEL_LOAD(s->tx_handed_off);
		for (unsigned int r = 0; r < SL_DROP_MAX; r++)
			sum->drops[r] += TEL_LOAD(s->drops[r]);
	}
}

static struct rte_tel_data *
port_dict(unsigned int i)
{
	const struct sl_port *p = &tel_dp->ports[i];
	struct rte_tel_data *d = rte_tel_data_alloc();
	struct sl_port_stats s;
	struct rte_eth_stats hw;
	struct sl_port_watch_stats wst;
	char buf[64], ip[16];
	uint64_t drops = 0;
	uint32_t speed = 0;
	int full = 0;

	if (d == NULL)
		return NULL;
	port_totals(i, &s);
	rte_tel_data_start_dict(d);
	tel_add_str(d, "name", p->name);
	rte_tel_data_add_dict_u64(d, "ethdev_id", p->port_id);
	rte_ether_format_addr(buf, sizeof(buf), &p->mac);
	rte_tel_data_add_dict_string(d, "mac", buf);
	snprintf(buf, sizeof(buf), "%s/%u", sl_conf_fmt_ipv4(p->addr, ip),
		 p->prefix_len);
	rte_tel_data_add_dict_string(d, "address", buf);
	rte_tel_data_add_dict_string(d, "link",
				     sl_port_link(p->port_id, &speed, &full));
	rte_tel_data_add_dict_u64(d, "speed_mbps", speed);
	rte_tel_data_add_dict_u64(d, "mtu", p->mtu);
	rte_tel_data_add_dict_u64(d, "queues", p->n_queues);
	rte_tel_data_add_dict_u64(d, "rx_packets", s.rx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", s.tx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s.tx_bytes);
	rte_tel_data_add_dict_u64(d, "icmp_echo_replies", s.icmp_echo_replies);
	rte_tel_data_add_dict_u64(d, "arp_requests_sent", s.arp_requests_sent);
	rte_tel_data_add_dict_u64(d, "arp_replies_sent", s.arp_replies_sent);
	rte_tel_data_add_dict_u64(d, "arp_replies_received",
				  s.arp_replies_received);
	/* How a packet finds the lcore that owns its connection (lib/steer). */
	rte_tel_data_add_dict_string(d, "steering",
		sl_steer_mode_name(sl_steer_port_mode(tel_dp, i)));
	rte_tel_data_add_dict_u64(d, "steered_out", s.steered_out);
	rte_tel_data_add_dict_u64(d, "steered_in", s.steered_in);
	rte_tel_data_add_dict_u64(d, "steer_no_owner", s.steer_no_owner);
	rte_tel_data_add_dict_u64(d, "tx_handed_off", s.tx_handed_off);
	/* What the NIC/PMD saw, including what never reached us; 0 if unknown. */
	memset(&hw, 0, sizeof(hw));
	rte_eth_stats_get(p->port_id, &hw);
	rte_tel_data_add_dict_u64(d, "hw_rx_missed", hw.imissed);
	rte_tel_data_add_dict_u64(d, "hw_rx_errors", hw.ierrors);
	rte_tel_data_add_dict_u64(d, "hw_rx_nombuf", hw.rx_nombuf);
	rte_tel_data_add_dict_u64(d, "hw_tx_errors", hw.oerrors);
	/* The RX watchdog (lib/port/sl_port_watch.h). */
	sl_port_watch_get(i, &wst);
	rte_tel_data_add_dict_u64(d, "rx_stalls", wst.rx_stalls);
	rte_tel_data_add_dict_u64(d, "rx_stalls_pool_empty", wst.rx_stalls_pool_empty);
	rte_tel_data_add_dict_u64(d, "rx_stall_restarts", wst.rx_stall_restarts);
	rte_tel_data_add_dict_u64(d, "rx_stall_recoveries", wst.rx_stall_recoveries);
	rte_tel_data_add_dict_u64(d, "rx_stalled", wst.rx_stalled);
	rte_tel_data_add_dict_u64(d, "rx_stall_ms", wst.rx_stall_ms);
	for (unsigned int r = 0; r < SL_DROP_MAX; r++) {
		snprintf(buf, sizeof(buf), "drop_%s", sl_drop_name(r));
		rte_tel_data_add_dict_u64(d, buf, s.drops[r]);
		drops += s.drops[r];
	}
	rte_tel_data_add_dict_u64(d, "drops_total", drops);
	return d;
}

static int
cmd_ports(const char *cmd __rte_unused, const char *params,
	  struct rte_tel_data *d)
{
	struct tel_page pg = { .size = PORTS_PAGE };
	char key[SL_NAME_MAX + 12];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	tel_page_set(&pg, tel_dp->n_ports);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	for (unsigned int i = pg.first; i < pg.last; i++) {
		tel_key(key, sizeof(key), tel_dp->ports[i].name, i);
		tel_add_row(d, key, port_dict(i));
	}
	return 0;
}

/* ---- /sluice/lcores --------------------------------------------------- */

/* This lcore's steering over every port (lib/steer); 0 with one worker. */
static void
lcore_steer_counters(const struct sl_lcore *lc, struct rte_tel_data *ld)
{
	uint64_t out = 0, in = 0, full = 0, none = 0;

	for (unsigned int p = 0; p < tel_dp->n_ports; p++) {
		const struct sl_port_stats *s = &lc->stats[p];

		out += TEL_LOAD(s->steered_out);
		in += TEL_LOAD(s->steered_in);
		full += TEL_LOAD(s->drops[SL_DROP_STEER_RING_FULL]);
		none += TEL_LOAD(s->steer_no_owner);
	}
	rte_tel_data_add_dict_u64(ld, "steered_out", out);
	rte_tel_data_add_dict_u64(ld, "steered_in", in);
	rte_tel_data_add_dict_u64(ld, "steer_ring_full", full);
	rte_tel_data_add_dict_u64(ld, "steer_no_owner", none);
}

static struct rte_tel_data *
lcore_dict(const struct sl_lcore *lc)
{
	const struct sl_upstream *up = tel_dp->up;
	const struct sl_alog_lcore *al = sl_alog_lcore_of(lc);
	const struct sl_arp_table *arp = lc->arp;
	const struct sl_timer_wheel *wh = &sl_tcp_of(lc)->wheel;
	struct rte_tel_data *ld = rte_tel_data_alloc();
	uint64_t busy = TEL_LOAD(lc->cycles.busy), idle = TEL_LOAD(lc->cycles.idle);
	uint64_t pkts = TEL_LOAD(lc->cycles.packets);
	uint64_t x100 = busy + idle ? busy * 10000 / (busy + idle) : 0;
	unsigned int w = lc->worker_idx;
	char pct[32];

	if (ld == NULL)
		return NULL;
	rte_tel_data_start_dict(ld);
	rte_tel_data_add_dict_u64(ld, "lcore", lc->lcore_id);
	rte_tel_data_add_dict_u64(ld, "worker", w);
	rte_tel_data_add_dict_u64(ld, "queue", lc->queue);
	rte_tel_data_add_dict_u64(ld, "busy_cycles", busy);
	rte_tel_data_add_dict_u64(ld, "idle_cycles", idle);
	rte_tel_data_add_dict_u64(ld, "busy_pct_x100", x100);
	snprintf(pct, sizeof(pct), "%lu.%02lu", x100 / 100, x100 % 100);
	rte_tel_data_add_dict_string(ld, "busy_pct", pct);
	rte_tel_data_add_dict_u64(ld, "packets", pkts);
	rte_tel_data_add_dict_u64(ld, "cycles_per_packet", pkts ? busy / pkts : 0);
	rte_tel_data_add_dict_u64(ld, "polls", TEL_LOAD(lc->cycles.polls));
	rte_tel_data_add_dict_u64(ld, "busy_polls", TEL_LOAD(lc->cycles.busy_polls));
	rte_tel_data_add_dict_u64(ld, "sleeps", TEL_LOAD(lc->cycles.sleeps));
	/* Over overload.busy_pct: new work is refused (503 or no SYN-ACK). */
	rte_tel_data_add_dict_u64(ld, "shedding",
				  up ? TEL_LOAD(up->shedding[w]) : 0);
	rte_tel_data_add_dict_u64(ld, "outcomes_dropped",
				  up ? TEL_LOAD(up->outcomes_dropped[w]) : 0);
	rte_tel_data_add_dict_u64(ld, "outcomes_queued",
				  up && up->outcomes[w] ? rte_ring_count(up->outcomes[w]) : 0);
	rte_tel_data_add_dict_u64(ld, "access_log_queued", al ? TEL_LOAD(al->submitted) : 0);
	rte_tel_data_add_dict_u64(ld, "access_log_sampled_out",
				  al ? TEL_LOAD(al->sampled_out) : 0);
	rte_tel_data_add_dict_u64(ld, "access_log_dropped_full",
				  al ? TEL_LOAD(al->dropped_full) : 0);
	rte_tel_data_add_dict_u64(ld, "arp_entries", TEL_LOAD(arp->n_used));
	rte_tel_data_add_dict_u64(ld, "arp_table_size", arp->size);
	rte_tel_data_add_dict_u64(ld, "arp_pending", TEL_LOAD(arp->n_pending));
	rte_tel_data_add_dict_u64(ld, "arp_pending_max", arp->pending_max);
	rte_tel_data_add_dict_u64(ld, "timers_armed", TEL_LOAD(wh->armed));
	rte_tel_data_add_dict_u64(ld, "timers_fired", TEL_LOAD(wh->fired));
	lcore_steer_counters(lc, ld);
	return ld;
}

static int
cmd_lcores(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	struct tel_page pg = { .size = LCORES_PAGE };
	char key[16];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	tel_page_set(&pg, tel_dp->n_workers);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	for (unsigned int w = pg.first; w < pg.last; w++) {
		snprintf(key, sizeof(key), "%u", tel_dp->workers[w]->lcore_id);
		tel_add_row(d, key, lcore_dict(tel_dp->workers[w]));
	}
	return 0;
}

/* ---- test hooks (SLUICE_TEST_HOOKS=1 only) ----------------------------- */

/*
 * An empty mbuf pool on demand, for the RX watchdog's test: hold every mbuf
 * but `leave` (default 0) until release. Never registered in production:
 * only when the environment asks for it at start.
 */
static int
cmd_test_mbuf_hold(const char *cmd __rte_unused, const char *params,
		   struct rte_tel_data *d)
{
	unsigned long leave = params && *params ? strtoul(params, NULL, 10) : 0;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "held",
				  sl_port_test_hold(tel_dp, (unsigned int)leave));
	return 0;
}

static int
cmd_test_mbuf_release(const char *cmd __rte_unused, const char *params,
		      struct rte_tel_data *d)
{
	if (tel_no_params(params, d) != 0)
		return 0;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "released", sl_port_test_release());
	return 0;
}

static int
tel_test_register(void)
{
	const char *on = getenv("SLUICE_TEST_HOOKS");
	int rc = 0;

	if (on == NULL || strcmp(on, "1") != 0)
		return 0;
	SL_LOG(WARNING, "SLUICE_TEST_HOOKS=1: test-only telemetry commands are on");
	rc |= tel_reg("/sluice/test_mbuf_hold", cmd_test_mbuf_hold,
		"TEST ONLY: take every mbuf but N out of the pools and hold them. Param: N (default 0)");
	rc |= tel_reg("/sluice/test_mbuf_release", cmd_test_mbuf_release,
		"TEST ONLY: give back the mbufs test_mbuf_hold took. No parameters");
	return rc;
}

/* ---- registration ----------------------------------------------------- */

/*
 * Why one explicit list and not DPDK's RTE_INIT constructors: Sluice's
 * libraries are static archives, and the linker leaves out an archive
 * member nothing refers to, so a tcp_telemetry.c holding only a
 * constructor and static handlers would silently register nothing;
 * sluice-loadgen links the same libraries and must not answer the
 * gateway's commands; and every handler reads the data plane (tel_dp),
 * which exists only once the gateway has built it, while constructors run
 * before main. Each library still owns its commands and their text: this
 * list only says when they are registered. The gate (lib/telemetry) is the
 * one place that knows which commands read the config and which take ctl's
 * lock (tel_reg, tel_reg_ctl), and refuses all of them at shutdown.
 */
int
sl_box_telemetry_register(struct sl_dp *dp)
{
	int rc = 0;

	sl_telemetry_init(dp);
	/* A reload frees a config only after the readers that may hold it. */
	sl_ctl_set_reader_sync(sl_telemetry_synchronize);
	rc |= tel_reg("/sluice/info", cmd_info,
		"Version, pid, uptime_ms, config path/sha256, workers, mbufs, access log and outcome counters. No parameters");
	rc |= tel_reg("/sluice/ports", cmd_ports,
		"Per port: address, link, steering, rx/tx packets/bytes, ARP/ICMP, steered, hw_*, drop_<reason>. Param: page (4 a page)");
	rc |= tel_reg("/sluice/lcores", cmd_lcores,
		"Per worker lcore: cycles, busy_pct, packets, polls, shedding, outcome/alog/ARP/timer gauges, steering. Param: page (16 a page)");
	rc |= sl_box_memory_register(dp);
	rc |= sl_box_schema_register(dp);
	/* Each library's own, in lib/meson.build's order: upstream's listing
	 * helpers are set up before the proxy's commands that use them. */
	rc |= sl_net_telemetry_register(dp);
	rc |= sl_tcp_telemetry_register(dp);
	rc |= sl_event_telemetry_register(dp);
	rc |= sl_upstream_telemetry_register(dp);
	rc |= sl_proxy_telemetry_register(dp);
	rc |= sl_capture_telemetry_register(dp);
	rc |= sl_ctl_telemetry_register(dp);
	rc |= sl_incident_telemetry_register(dp);
	rc |= sl_drain_telemetry_register(dp);
	rc |= tel_test_register();
	return rc;
}
