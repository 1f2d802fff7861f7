/*
 * /sluice/... telemetry commands. Counters are summed over workers at read
 * time; each is written by exactly one lcore, so a relaxed load is enough.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "sl_alog.h"
#include "sl_conf.h"
#include "sl_drop.h"
#include "sl_log.h"
#include "sl_net.h"
#include "sl_port.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"
#include "sl_tcp.h"
#include "sl_timer.h"
#include "sl_telemetry.h"
#include "telemetry_private.h"
#include "telemetry_capture.h"
#include "telemetry_ctl.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ARP_PAGE 100

static struct sl_dp *tdp;

static uint64_t
uptime_ms(void)
{
	return (rte_rdtsc() - tdp->start_tsc) * 1000 / tdp->tsc_hz;
}

static int
cmd_info(const char *cmd __rte_unused, const char *params __rte_unused,
	 struct rte_tel_data *d)
{
	const struct sl_conf *c = tdp->conf;
	uint64_t total, in_use;

	sl_port_mbuf_usage(tdp, &total, &in_use);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", SL_VERSION);
	rte_tel_data_add_dict_u64(d, "pid", (uint64_t)getpid());
	rte_tel_data_add_dict_u64(d, "uptime_ms", uptime_ms());
	rte_tel_data_add_dict_string(d, "config_path", c->path);
	rte_tel_data_add_dict_string(d, "config_sha256", c->sha256_hex);
	rte_tel_data_add_dict_string(d, "idle_policy",
				     sl_conf_idle_name(c->runtime.idle));
	rte_tel_data_add_dict_u64(d, "workers", tdp->n_workers);
	rte_tel_data_add_dict_u64(d, "ports", tdp->n_ports);
	rte_tel_data_add_dict_u64(d, "listeners", c->n_listeners);
	rte_tel_data_add_dict_u64(d, "pools", c->n_pools);
	rte_tel_data_add_dict_u64(d, "mbufs_total", total);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", in_use);
	rte_tel_data_add_dict_u64(d, "tsc_hz", tdp->tsc_hz);
	{
		uint64_t written, errors, sub = 0, samp = 0, full = 0;

		sl_alog_counters(tdp->alog, &written, &errors);
		for (unsigned int w = 0; w < tdp->n_workers; w++) {
			const struct sl_alog_lcore *l = tdp->workers[w]->alog;

			if (l == NULL)
				continue;
			sub += LOAD(l->submitted);
			samp += LOAD(l->sampled_out);
			full += LOAD(l->dropped_full);
		}
		rte_tel_data_add_dict_string(d, "access_log",
					     c->access_log.path[0] ? c->access_log.path : "off");
		rte_tel_data_add_dict_u64(d, "access_log_queued", sub);
		rte_tel_data_add_dict_u64(d, "access_log_written", written);
		rte_tel_data_add_dict_u64(d, "access_log_sampled_out", samp);
		rte_tel_data_add_dict_u64(d, "access_log_dropped_full", full);
		rte_tel_data_add_dict_u64(d, "access_log_write_errors", errors);
	}
	return 0;
}

/* Sum of one port's counters across every worker. */
static void
port_totals(unsigned int port, struct sl_port_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		struct sl_port_stats *s = &tdp->workers[w]->stats[port];

		sum->rx_packets += LOAD(s->rx_packets);
		sum->rx_bytes += LOAD(s->rx_bytes);
		sum->tx_packets += LOAD(s->tx_packets);
		sum->tx_bytes += LOAD(s->tx_bytes);
		sum->icmp_echo_replies += LOAD(s->icmp_echo_replies);
		sum->arp_requests_sent += LOAD(s->arp_requests_sent);
		sum->arp_replies_sent += LOAD(s->arp_replies_sent);
		sum->arp_replies_received += LOAD(s->arp_replies_received);
		for (unsigned int r = 0; r < SL_DROP_MAX; r++)
			sum->drops[r] += LOAD(s->drops[r]);
	}
}

static struct rte_tel_data *
port_dict(unsigned int i)
{
	const struct sl_port *p = &tdp->ports[i];
	struct rte_tel_data *d = rte_tel_data_alloc();
	struct sl_port_stats s;
	struct rte_eth_stats hw;
	char buf[64], ip[16];
	uint64_t drops = 0;
	uint32_t speed = 0;
	int full = 0;

	if (d == NULL)
		return NULL;
	port_totals(i, &s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "ethdev_id", p->port_id);
	rte_ether_format_addr(buf, sizeof(buf), &p->mac);
	rte_tel_data_add_dict_string(d, "mac", buf);
	snprintf(buf, sizeof(buf), "%s/%u", sl_conf_fmt_ipv4(p->addr, ip),
		 p->prefix_len);
	rte_tel_data_add_dict_string(d, "address", buf);
	rte_tel_data_add_dict_string(d, "link",
				     sl_port_link(p->port_id, &speed, &full));
	rte_tel_data_add_dict_u64(d, "speed_mbps", speed);
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
	if (rte_eth_stats_get(p->port_id, &hw) == 0) {
		/* What the NIC/PMD saw, including what never reached us. */
		rte_tel_data_add_dict_u64(d, "hw_rx_missed", hw.imissed);
		rte_tel_data_add_dict_u64(d, "hw_rx_errors", hw.ierrors);
		rte_tel_data_add_dict_u64(d, "hw_rx_nombuf", hw.rx_nombuf);
		rte_tel_data_add_dict_u64(d, "hw_tx_errors", hw.oerrors);
	}
	for (unsigned int r = 0; r < SL_DROP_MAX; r++) {
		snprintf(buf, sizeof(buf), "drop_%s", sl_drop_name(r));
		rte_tel_data_add_dict_u64(d, buf, s.drops[r]);
		drops += s.drops[r];
	}
	rte_tel_data_add_dict_u64(d, "drops_total", drops);
	return d;
}

static int
cmd_ports(const char *cmd __rte_unused, const char *params __rte_unused,
	  struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < tdp->n_ports; i++) {
		struct rte_tel_data *pd = port_dict(i);

		if (pd != NULL && rte_tel_data_add_dict_container(d,
				tdp->ports[i].name, pd, 0) != 0)
			rte_tel_data_free(pd);
	}
	return 0;
}

static int
cmd_lcores(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		const struct sl_lcore *lc = tdp->workers[w];
		struct rte_tel_data *ld = rte_tel_data_alloc();
		uint64_t busy = LOAD(lc->cycles.busy), idle = LOAD(lc->cycles.idle);
		uint64_t pkts = LOAD(lc->cycles.packets);
		uint64_t x100 = busy + idle ? busy * 10000 / (busy + idle) : 0;
		char key[32], pct[32];

		if (ld == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(ld);
		rte_tel_data_add_dict_u64(ld, "lcore", lc->lcore_id);
		rte_tel_data_add_dict_u64(ld, "worker", lc->worker_idx);
		rte_tel_data_add_dict_u64(ld, "queue", lc->queue);
		rte_tel_data_add_dict_u64(ld, "busy_cycles", busy);
		rte_tel_data_add_dict_u64(ld, "idle_cycles", idle);
		rte_tel_data_add_dict_u64(ld, "busy_pct_x100", x100);
		snprintf(pct, sizeof(pct), "%lu.%02lu", x100 / 100, x100 % 100);
		rte_tel_data_add_dict_string(ld, "busy_pct", pct);
		rte_tel_data_add_dict_u64(ld, "packets", pkts);
		rte_tel_data_add_dict_u64(ld, "cycles_per_packet",
					  pkts ? busy / pkts : 0);
		rte_tel_data_add_dict_u64(ld, "polls", LOAD(lc->cycles.polls));
		rte_tel_data_add_dict_u64(ld, "busy_polls",
					  LOAD(lc->cycles.busy_polls));
		rte_tel_data_add_dict_u64(ld, "sleeps", LOAD(lc->cycles.sleeps));
		snprintf(key, sizeof(key), "%u", lc->lcore_id);
		if (rte_tel_data_add_dict_container(d, key, ld, 0) != 0)
			rte_tel_data_free(ld);
	}
	return 0;
}

/*
 * Neighbours, merged over workers (each keeps its own table): one entry per
 * address, the freshest copy wins. Pages of ARP_PAGE: /sluice/arp,<page>.
 */
static int
cmd_arp(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	/* Telemetry serves each client on its own thread: no static buffers. */
	const unsigned int cap = 65536;
	struct sl_arp_info *all;
	uint8_t *copies;
	unsigned int n = 0, page = 0, first, last;
	uint64_t now = rte_rdtsc();
	char ip[16], mac[RTE_ETHER_ADDR_FMT_SIZE], val[128];

	if (params != NULL && *params != '\0') {
		char *end;
		unsigned long v = strtoul(params, &end, 10);

		if (*end != '\0')
			return -EINVAL;
		page = (unsigned int)v;
	}
	all = calloc(cap, sizeof(*all));
	copies = calloc(cap, sizeof(*copies));
	if (all == NULL || copies == NULL) {
		free(all);
		free(copies);
		return -ENOMEM;
	}
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		const struct sl_arp_table *t = tdp->workers[w]->arp;
		struct sl_arp_info *tmp = calloc(t->size, sizeof(*tmp));
		unsigned int got;

		if (tmp == NULL)
			break;
		got = sl_arp_snapshot(t, now, tdp->tsc_hz, tmp, t->size);
		for (unsigned int i = 0; i < got; i++) {
			unsigned int k;

			for (k = 0; k < n && all[k].ip != tmp[i].ip; k++)
				;
			if (k == n) {
				if (n == cap)
					break;
				all[n++] = tmp[i];
				copies[k] = 1;
			} else {
				copies[k]++;
				if (tmp[i].age_ms < all[k].age_ms)
					all[k] = tmp[i];
			}
		}
		free(tmp);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", n);
	rte_tel_data_add_dict_u64(d, "page", page);
	rte_tel_data_add_dict_u64(d, "pages", (n + ARP_PAGE - 1) / ARP_PAGE);
	first = page * ARP_PAGE;
	last = RTE_MIN(n, first + ARP_PAGE);
	for (unsigned int i = first; i < last; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			break;
		rte_ether_format_addr(mac, sizeof(mac), &all[i].mac);
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "mac",
			all[i].state == SL_ARP_INCOMPLETE ? "" : mac);
		rte_tel_data_add_dict_string(e, "state",
					     sl_arp_state_name(all[i].state));
		rte_tel_data_add_dict_string(e, "port",
					     tdp->ports[all[i].port].name);
		rte_tel_data_add_dict_u64(e, "age_ms", all[i].age_ms);
		rte_tel_data_add_dict_u64(e, "workers", copies[i]);
		rte_tel_data_add_dict_string(e, "ip", sl_conf_fmt_ipv4(all[i].ip, ip));
		/* Telemetry names may not contain '.', so entries are numbered. */
		snprintf(val, sizeof(val), "%u", i);
		if (rte_tel_data_add_dict_container(d, val, e, 0) != 0)
			rte_tel_data_free(e);
	}
	free(all);
	free(copies);
	return 0;
}

/* One lcore's TCP and L4-proxy counters, or the sum over all of them. */
static struct rte_tel_data *
tcp_dict(int only)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	uint64_t st[64] = { 0 }, px[32] = { 0 }, states[SL_TCP_STATE_MAX] = { 0 };
	uint64_t active = 0, half_open = 0, l4_active = 0;
	char key[64];

	if (d == NULL)
		return NULL;
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		const struct sl_lcore *lc = tdp->workers[w];
		const uint64_t *v = (const uint64_t *)&lc->tcp->stats;
		const uint64_t *pv = (const uint64_t *)&lc->proxy->stats;

		if (only >= 0 && (int)w != only)
			continue;
		for (unsigned int i = 0; i < sl_tcp_n_stats && i < RTE_DIM(st); i++)
			st[i] += LOAD(v[i]);
		for (unsigned int i = 0; i < sl_proxy_n_stats && i < RTE_DIM(px); i++)
			px[i] += LOAD(pv[i]);
		for (unsigned int i = 0; i < SL_TCP_STATE_MAX; i++)
			states[i] += LOAD(lc->tcp->stats.state[i]);
		active += LOAD(lc->tcp->stats.active);
		half_open += LOAD(lc->tcp->stats.half_open);
		l4_active += LOAD(lc->proxy->stats.l4_active);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "conns_active", active);
	rte_tel_data_add_dict_u64(d, "conns_half_open", half_open);
	rte_tel_data_add_dict_u64(d, "conns_time_wait", states[SL_TCP_TIME_WAIT]);
	for (unsigned int i = 1; i < SL_TCP_STATE_MAX; i++) {
		snprintf(key, sizeof(key), "state_%s", sl_tcp_state_name(i));
		rte_tel_data_add_dict_u64(d, key, states[i]);
	}
	for (unsigned int i = 0; i < sl_tcp_n_stats; i++)
		rte_tel_data_add_dict_u64(d, sl_tcp_stat_names[i], st[i]);
	for (unsigned int i = 0; i < sl_proxy_n_stats; i++)
		rte_tel_data_add_dict_u64(d, sl_proxy_stat_names[i], px[i]);
	rte_tel_data_add_dict_u64(d, "l4_active", l4_active);
	rte_tel_data_add_dict_u64(d, "mem_per_conn_bytes", sizeof(struct sl_tcp_conn));
	rte_tel_data_add_dict_u64(d, "mem_per_session_bytes",
				  sizeof(struct sl_l4_session));
	rte_tel_data_add_dict_u64(d, "max_conns", tdp->conf->tcp.max_conns);
	return d;
}

static int
cmd_tcp(const char *cmd __rte_unused, const char *params __rte_unused,
	struct rte_tel_data *d)
{
	struct rte_tel_data *t;
	char key[32];

	rte_tel_data_start_dict(d);
	t = tcp_dict(-1);
	if (t != NULL && rte_tel_data_add_dict_container(d, "total", t, 0) != 0)
		rte_tel_data_free(t);
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		t = tcp_dict((int)w);
		snprintf(key, sizeof(key), "%u", tdp->workers[w]->lcore_id);
		if (t != NULL && rte_tel_data_add_dict_container(d, key, t, 0) != 0)
			rte_tel_data_free(t);
	}
	return 0;
}

/*
 * Live connections, 50 per page: /sluice/conns,<page>. A debugging view:
 * it reads another lcore's connection table without a lock, so a row may
 * mix values from two instants.
 */
static int
cmd_conns(const char *cmd __rte_unused, const char *params,
	  struct rte_tel_data *d)
{
	unsigned int page = params && *params ? (unsigned int)atoi(params) : 0;
	unsigned int seen = 0, first = page * 50;
	char key[32], buf[128], a[16], b[16];

	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		const struct sl_tcp_stack *s = tdp->workers[w]->tcp;

		for (uint32_t i = 0; i < s->max_conns; i++) {
			const struct sl_tcp_conn *c = &s->conns[i];
			struct rte_tel_data *e;

			if (LOAD(c->flags) & SL_TCPF_DEAD)
				continue;
			if (seen++ < first || seen > first + 50)
				continue;
			e = rte_tel_data_alloc();
			if (e == NULL)
				return 0;
			rte_tel_data_start_dict(e);
			snprintf(buf, sizeof(buf), "%s:%u -> %s:%u",
				 sl_conf_fmt_ipv4(c->laddr, a), c->lport,
				 sl_conf_fmt_ipv4(c->raddr, b), c->rport);
			rte_tel_data_add_dict_string(e, "tuple", buf);
			rte_tel_data_add_dict_string(e, "state", sl_tcp_state_name(c->state));
			rte_tel_data_add_dict_u64(e, "lcore", tdp->workers[w]->lcore_id);
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
			if (rte_tel_data_add_dict_container(d, key, e, 0) != 0)
				rte_tel_data_free(e);
		}
	}
	rte_tel_data_add_dict_u64(d, "total", seen);
	rte_tel_data_add_dict_u64(d, "page", page);
	return 0;
}

/* p50/p90/p99/p99.9 (and count, mean, max) of a merged histogram. */
static void
add_quantiles(struct rte_tel_data *d, const char *prefix, const struct sl_hist *h)
{
	static const struct { const char *name; double q; } qs[] = {
		{ "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 }, { "p999", 0.999 } };
	char key[64];

	for (unsigned int i = 0; i < RTE_DIM(qs); i++) {
		snprintf(key, sizeof(key), "%s_%s_us", prefix, qs[i].name);
		rte_tel_data_add_dict_u64(d, key, sl_hist_quantile(h, qs[i].q));
	}
	snprintf(key, sizeof(key), "%s_max_us", prefix);
	rte_tel_data_add_dict_u64(d, key, h->max);
	snprintf(key, sizeof(key), "%s_mean_us", prefix);
	rte_tel_data_add_dict_u64(d, key, h->count ? h->sum / h->count : 0);
}

/* Merge histogram `idx` of an array over every worker's proxy. */
static void
merge_hist(struct sl_hist *acc, size_t off, uint32_t idx)
{
	memset(acc, 0, sizeof(*acc));
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		const struct sl_h1_proxy *hp = tdp->workers[w]->http;
		const struct sl_hist *arr = *(struct sl_hist *const *)((const char *)hp + off);

		sl_hist_merge(acc, &arr[idx]);
	}
}

static int
cmd_routes(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	const struct sl_conf *c = tdp->conf;
	struct sl_hist *h = malloc(sizeof(*h));
	char key[600];
	unsigned int n = 0;

	if (h == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	for (unsigned int l = 0; l < c->n_listeners && tdp->n_workers > 0; l++) {
		const struct sl_conf_listener *lis = &c->listeners[l];
		uint32_t base = tdp->workers[0]->http->route_base[l];

		if (lis->mode != SL_MODE_HTTP)
			continue;
		for (unsigned int r = 0; r <= lis->n_routes; r++) {
			struct rte_tel_data *e = rte_tel_data_alloc();
			int pool = r < lis->n_routes ? lis->routes[r].pool : lis->pool;

			if (e == NULL)
				break;
			rte_tel_data_start_dict(e);
			rte_tel_data_add_dict_string(e, "listener", lis->name);
			if (r < lis->n_routes) {
				snprintf(key, sizeof(key), "%s%s",
					 lis->routes[r].host[0] ? lis->routes[r].host : "*",
					 lis->routes[r].path_prefix);
				rte_tel_data_add_dict_string(e, "match", key);
				rte_tel_data_add_dict_u64(e, "route", r);
			} else {
				rte_tel_data_add_dict_string(e, "match", "(default)");
			}
			rte_tel_data_add_dict_string(e, "pool",
						     pool >= 0 ? c->pools[pool].name : "");
			merge_hist(h, offsetof(struct sl_h1_proxy, route_total), base + r);
			rte_tel_data_add_dict_u64(e, "requests", h->count);
			add_quantiles(e, "total", h);
			merge_hist(h, offsetof(struct sl_h1_proxy, route_upstream), base + r);
			add_quantiles(e, "upstream", h);
			snprintf(key, sizeof(key), "%u", n++);
			if (rte_tel_data_add_dict_container(d, key, e, 0) != 0)
				rte_tel_data_free(e);
		}
	}
	free(h);
	return 0;
}

/* /sluice/backends,<pool>: per backend of a pool, requests and latency. */
static int
cmd_backends(const char *cmd __rte_unused, const char *params,
	     struct rte_tel_data *d)
{
	const struct sl_conf *c = tdp->conf;
	struct sl_hist *h;
	char key[SL_NAME_MAX], addr[32], ip[16];
	int pool = -1;

	for (unsigned int p = 0; params != NULL && p < c->n_pools; p++)
		if (strcmp(c->pools[p].name, params) == 0)
			pool = (int)p;
	if (pool < 0 || tdp->n_workers == 0)
		return -EINVAL;
	h = malloc(sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	for (unsigned int b = 0; b < c->pools[pool].n_backends; b++) {
		const struct sl_conf_backend *be = &c->pools[pool].backends[b];
		uint32_t idx = tdp->workers[0]->http->pool_base[pool] + b;
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			break;
		rte_tel_data_start_dict(e);
		snprintf(addr, sizeof(addr), "%s:%u", sl_conf_fmt_ipv4(be->addr, ip),
			 be->port);
		rte_tel_data_add_dict_string(e, "address", addr);
		rte_tel_data_add_dict_u64(e, "weight", be->weight);
		if (tdp->up != NULL)
			tel_lb_backend_state(e, (unsigned int)pool, b);
		merge_hist(h, offsetof(struct sl_h1_proxy, backend_total), idx);
		rte_tel_data_add_dict_u64(e, "requests", h->count);
		add_quantiles(e, "total", h);
		merge_hist(h, offsetof(struct sl_h1_proxy, backend_upstream), idx);
		add_quantiles(e, "upstream", h);
		snprintf(key, sizeof(key), "%s", be->name);
		for (char *k = key; *k; k++)
			if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
			      (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
				*k = '_';   /* telemetry names: no '.' or ':' */
		if (rte_tel_data_add_dict_container(d, key, e, 0) != 0)
			rte_tel_data_free(e);
	}
	free(h);
	return 0;
}

static int
cmd_http(const char *cmd __rte_unused, const char *params __rte_unused,
	 struct rte_tel_data *d)
{
	uint64_t sum[64] = { 0 }, inflight = 0, clients = 0;

	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tdp->n_workers; w++) {
		const struct sl_h1_proxy *hp = tdp->workers[w]->http;
		const uint64_t *v = (const uint64_t *)&hp->stats;

		for (unsigned int i = 0; i < sl_h1_n_stats && i < RTE_DIM(sum); i++)
			sum[i] += LOAD(v[i]);
		inflight += LOAD(hp->stats.inflight);
		clients += LOAD(hp->stats.clients);
	}
	for (unsigned int i = 0; i < sl_h1_n_stats; i++)
		rte_tel_data_add_dict_u64(d, sl_h1_stat_names[i], sum[i]);
	rte_tel_data_add_dict_u64(d, "inflight", inflight);
	rte_tel_data_add_dict_u64(d, "clients", clients);
	{
		/* Latency over every route of every listener. */
		struct sl_hist *all = calloc(2, sizeof(*all)), *one;

		if (all == NULL || tdp->n_workers == 0) {
			free(all);
			return 0;
		}
		one = all + 1;
		for (uint32_t i = 0; i < tdp->workers[0]->http->n_route_hists; i++) {
			merge_hist(one, offsetof(struct sl_h1_proxy, route_total), i);
			sl_hist_merge(all, one);
		}
		add_quantiles(d, "total", all);
		memset(all, 0, sizeof(*all));
		for (uint32_t i = 0; i < tdp->workers[0]->http->n_route_hists; i++) {
			merge_hist(one, offsetof(struct sl_h1_proxy, route_upstream), i);
			sl_hist_merge(all, one);
		}
		add_quantiles(d, "upstream", all);
		free(all);
	}
	return 0;
}

/* Register one command; DPDK refuses help texts of 128 bytes or more. */
static int
reg(const char *cmd, telemetry_cb fn, const char *help)
{
	int rc = rte_telemetry_register_cmd(cmd, fn, help);

	if (rc != 0)
		SL_LOG(ERR, "telemetry: cannot register %s: %s", cmd, strerror(-rc));
	return rc;
}

int
sl_telemetry_register(struct sl_dp *dp)
{
	int rc = 0;

	tdp = dp;
	rc |= reg("/sluice/info", cmd_info,
		"Version, pid, uptime_ms, config path and sha256, workers, mbufs. No parameters");
	rc |= reg("/sluice/ports", cmd_ports,
		"Per port: address, link, rx/tx packets and bytes, ARP/ICMP counters, drop_<reason> counters. No parameters");
	rc |= reg("/sluice/lcores", cmd_lcores,
		"Per worker lcore: busy/idle cycles, busy_pct, packets, cycles_per_packet, polls. No parameters");
	rc |= reg("/sluice/arp", cmd_arp,
		"Neighbour table merged over workers: mac, state, port, age_ms per IPv4 address. Parameter: page (100 entries each)");
	rc |= reg("/sluice/conns", cmd_conns,
		"Live TCP connections: tuple, state, sequence and window variables, queues. Parameter: page (50 each)");
	rc |= reg("/sluice/http", cmd_http,
		"HTTP proxy counters summed over workers: requests, responses by class, errors by status, upstream reuse. No parameters");
	rc |= reg("/sluice/backends", cmd_backends,
		"Per backend of a pool: state, health, breaker, weights, gauges, status and failure counts, share, latency. Parameter: pool");
	rc |= reg("/sluice/routes", cmd_routes,
		"Per HTTP route (and listener default): pool, requests, total and upstream latency p50/p90/p99/p999/max. No parameters");
	rc |= reg("/sluice/tcp", cmd_tcp,
		"TCP and L4 proxy counters, conns by state, memory per conn: \"total\" and per worker lcore. No parameters");
	rc |= tel_lb_register(dp);
	rc |= tel_capture_register(dp);
	rc |= tel_ctl_register(dp);
	return rc;
}
