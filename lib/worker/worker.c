/* The per-lcore poll loop and its cycle accounting. */
#include <stdio.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_log.h"
#include "sl_net.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"
#include "sl_tcp.h"
#include "sl_timer.h"
#include "sl_worker.h"

static void
worker_tcp_input(struct sl_lcore *lc, unsigned int port, struct rte_mbuf *m,
		 struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	sl_tcp_input(lc->tcp, port, m, ip, hlen);
}

struct sl_lcore *
sl_worker_create(struct sl_dp *dp, unsigned int lcore_id, unsigned int idx,
		 unsigned int n_workers)
{
	int socket = (int)rte_lcore_to_socket_id(lcore_id);
	char name[64];
	struct sl_lcore *lc;

	lc = rte_zmalloc_socket("sl_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE,
				socket);
	if (lc == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	lc->lcore_id = lcore_id;
	lc->worker_idx = idx;
	lc->queue = (uint16_t)idx;
	lc->dp = dp;
	snprintf(name, sizeof(name), "sl_arp_%u", lcore_id);
	lc->arp = sl_arp_create(name, socket, &dp->conf->arp, dp->tsc_hz);
	if (lc->arp == NULL) {
		rte_free(lc);
		return NULL;
	}
	lc->tcp = sl_tcp_stack_create(lc, &dp->conf->tcp, socket, idx, n_workers);
	if (lc->tcp != NULL)
		lc->proxy = sl_proxy_create(lc->tcp, dp->conf, socket);
	if (lc->proxy != NULL)
		lc->http = sl_h1_create(lc->tcp, dp->conf, socket);
	if (lc->tcp == NULL || lc->proxy == NULL || lc->http == NULL) {
		sl_worker_free(lc);
		return NULL;
	}
	lc->tcp_input = worker_tcp_input;
	return lc;
}

void
sl_worker_free(struct sl_lcore *lc)
{
	if (lc == NULL)
		return;
	sl_h1_free(lc->http);
	sl_proxy_free(lc->proxy);
	sl_tcp_stack_free(lc->tcp);
	for (unsigned int p = 0; p < SL_MAX_PORTS; p++)
		for (uint16_t i = 0; i < lc->txq[p].n; i++)
			rte_pktmbuf_free(lc->txq[p].pkts[i]);
	sl_arp_free(lc->arp);
	rte_free(lc);
}

/*
 * Adaptive idle: after `idle_polls` empty polls, sleep. The sleep grows from
 * 1 us to idle_sleep_us so a burst after a pause waits little, while a truly
 * idle lcore gives its core away. The time asleep counts as idle.
 */
static inline void
idle_backoff(struct sl_lcore *lc, const struct sl_conf_runtime *rt,
	     uint32_t empty, uint32_t *sleep_us)
{
	struct timespec ts;

	if (rt->idle != SL_IDLE_ADAPTIVE || empty < rt->idle_polls)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)*sleep_us * 1000;
	nanosleep(&ts, NULL);
	lc->cycles.sleeps++;
	if (*sleep_us < rt->idle_sleep_us)
		*sleep_us = RTE_MIN(*sleep_us * 2, rt->idle_sleep_us);
}

int
sl_worker_main(void *arg)
{
	struct sl_lcore *lc = arg;
	struct sl_dp *dp = lc->dp;
	const struct sl_conf_runtime *rt = &dp->conf->runtime;
	const uint16_t burst = (uint16_t)rt->burst;
	struct rte_mbuf *pkts[256];
	uint32_t empty = 0, sleep_us = 1;
	uint64_t t0, t1;

	SL_LOG(INFO, "worker %u on lcore %u (socket %u): queue %u, idle policy %s",
	       lc->worker_idx, lc->lcore_id, rte_socket_id(), lc->queue,
	       sl_conf_idle_name(rt->idle));
	lc->now = rte_rdtsc();
	/* Announce ourselves so neighbours refresh stale caches (gratuitous ARP). */
	if (lc->worker_idx == 0) {
		for (unsigned int p = 0; p < dp->n_ports; p++)
			sl_arp_announce(lc, p);
		sl_tx_flush_all(lc);
	}
	t0 = rte_rdtsc();
	while (!dp->stop) {
		uint32_t got = 0, fired;

		lc->now = t0;
		for (unsigned int p = 0; p < dp->n_ports; p++) {
			uint16_t n = rte_eth_rx_burst(dp->ports[p].port_id, lc->queue,
						      pkts, burst);
			if (n > 0) {
				sl_net_input(lc, p, pkts, n);
				got += n;
			}
		}
		/* Timers that fire do real work: their turn counts as busy. */
		fired = sl_timer_wheel_advance(&lc->tcp->wheel, t0);
		sl_arp_tick(lc);
		sl_tx_flush_all(lc);

		t1 = rte_rdtsc();
		lc->cycles.polls++;
		if (got > 0 || fired > 0) {
			lc->cycles.busy += t1 - t0;
			lc->cycles.busy_polls++;
			lc->cycles.packets += got;
			empty = 0;
			sleep_us = 1;
		} else {
			lc->cycles.idle += t1 - t0;
			empty++;
			idle_backoff(lc, rt, empty, &sleep_us);
			/* Sleep time is idle: re-read the clock after it. */
			t0 = rte_rdtsc();
			lc->cycles.idle += t0 - t1;
			continue;
		}
		t0 = t1;
	}
	sl_tx_flush_all(lc);
	SL_LOG(INFO, "worker %u on lcore %u stopped", lc->worker_idx, lc->lcore_id);
	return 0;
}
