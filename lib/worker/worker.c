/*
 * The per-lcore poll loop and its cycle accounting: one turn
 * (sl_worker_turn) that the gateway's workers and sluice-loadgen share, so
 * that the two cannot drift, and the gateway's own per-turn checks.
 */
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_log.h"
#include "sl_net.h"
#include "sl_port.h"
#include "sl_port_watch.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"
#include "sl_steer.h"
#include "sl_tcp.h"
#include "sl_timer.h"
#include "sl_worker.h"

/*
 * With steering, sl_steer_rx() already counted the burst's rx (for the
 * packets it handed away too), so what stays is delivered uncounted.
 */
static inline void
worker_net_input(struct sl_lcore *lc, bool steered, unsigned int port,
		 struct rte_mbuf **pkts, uint16_t n)
{
	if (steered)
		sl_net_deliver(lc, port, pkts, n);
	else
		sl_net_input(lc, port, pkts, n);
}

struct sl_lcore *
sl_worker_lcore_create(struct sl_dp *dp, unsigned int lcore_id, unsigned int idx,
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
	/* TCP attaches itself to lc, IPv4 input included (sl_tcp_of). */
	if (sl_tcp_stack_create(lc, &dp->conf->tcp, socket, idx, n_workers) == NULL) {
		sl_worker_lcore_free(lc);
		return NULL;
	}
	return lc;
}

void
sl_worker_lcore_free(struct sl_lcore *lc)
{
	if (lc == NULL)
		return;
	sl_tcp_stack_free(sl_tcp_of(lc));
	for (unsigned int p = 0; p < SL_MAX_PORTS; p++)
		for (uint16_t i = 0; i < lc->txq[p].n; i++)
			rte_pktmbuf_free(lc->txq[p].pkts[i]);
	sl_arp_free(lc->arp);
	rte_free(lc);
}

struct sl_lcore *
sl_worker_create(struct sl_dp *dp, unsigned int lcore_id, unsigned int idx,
		 unsigned int n_workers)
{
	int socket = (int)rte_lcore_to_socket_id(lcore_id);
	struct sl_lcore *lc = sl_worker_lcore_create(dp, lcore_id, idx, n_workers);

	if (lc == NULL)
		return NULL;
	lc->gen = dp->gen;
	/* Each attaches itself to lc (sl_proxy_of, sl_h1_proxy_of). */
	if (sl_proxy_create(sl_tcp_of(lc), dp->gen->conf, socket) == NULL ||
	    sl_h1_create(sl_tcp_of(lc), dp->gen, socket) == NULL) {
		sl_worker_free(lc);
		return NULL;
	}
	return lc;
}

void
sl_worker_free(struct sl_lcore *lc)
{
	if (lc == NULL)
		return;
	sl_h1_free(sl_h1_proxy_of(lc));
	sl_proxy_free(sl_proxy_of(lc));
	sl_worker_lcore_free(lc);
}

/*
 * A reload published a new generation: take it between bursts, where no
 * packet of ours is half-processed. Requests in flight keep their indices
 * (sl_conf_merge keeps them stable); everything new sees the new config.
 */
static void
worker_adopt(struct sl_lcore *lc, const struct sl_gen *gen)
{
	sl_proxy_adopt(sl_proxy_of(lc), gen->conf);
	sl_h1_adopt(sl_h1_proxy_of(lc), gen);
	lc->gen = gen;
}

/*
 * While draining, every 10 ms: how many of our connections still have
 * work (HTTP clients mid-exchange or not yet closed, L4 sessions, half-open
 * handshakes),
 * for the control thread that decides when the drain is done.
 */
static void
worker_drain_count(struct sl_lcore *lc, const struct sl_dp *dp)
{
	/* Half-open handshakes too: their SYN came before the drain, and
	 * their client is accepted (and served) when the ACK comes. */
	uint64_t left = sl_h1_drain_left(sl_h1_proxy_of(lc)) +
			sl_proxy_of(lc)->stats.l4_active +
			sl_tcp_of(lc)->stats.half_open;

	__atomic_store_n(&lc->drain_left, (uint32_t)RTE_MIN(left, UINT32_MAX),
			 __ATOMIC_RELAXED);
	lc->drain_scan_tsc = lc->now + dp->tsc_hz / 100;   /* every 10 ms */
}

/*
 * The control thread moved the lifecycle on (lib/drain): act once, then
 * say so in run_seen (after drain_left, so that a reader who sees the new
 * state sees a count taken in it).
 */
static void
worker_run_state(struct sl_lcore *lc, const struct sl_dp *dp, uint32_t rs)
{
	if (rs >= SL_RUN_DRAINING && lc->run_seen < SL_RUN_DRAINING) {
		sl_tcp_drain(sl_tcp_of(lc));
		sl_h1_drain(sl_h1_proxy_of(lc));
		worker_drain_count(lc, dp);
	}
	if (rs == SL_RUN_RUNNING && lc->run_seen >= SL_RUN_DRAINING) {
		/* The drain was called off before it was over (lib/drain). */
		sl_tcp_undrain(sl_tcp_of(lc));
		sl_h1_undrain(sl_h1_proxy_of(lc));
		__atomic_store_n(&lc->drain_left, 0, __ATOMIC_RELAXED);
	}
	if (rs == SL_RUN_CLOSING) {
		/* Grace over: a reset tells every peer at once; the stop follows. */
		uint32_t n = sl_tcp_reset_all(sl_tcp_of(lc));

		sl_tx_flush_all(lc);
		SL_LOG(INFO, "worker %u: drain over, %u connection(s) reset",
		       lc->worker_idx, n);
	}
	__atomic_store_n(&lc->run_seen, rs, __ATOMIC_RELEASE);
}

/* Once per loop turn: the lifecycle state, a new generation, a counter
 * reset, and our RCU quiescent state (we hold no reference to any
 * generation across turns). */
static inline void
worker_control(struct sl_lcore *lc, struct sl_dp *dp)
{
	const struct sl_gen *gen = __atomic_load_n(&dp->gen, __ATOMIC_ACQUIRE);
	uint32_t rs = __atomic_load_n(&dp->run_state, __ATOMIC_ACQUIRE);

	if (unlikely(rs != lc->run_seen))
		worker_run_state(lc, dp, rs);
	else if (unlikely(rs == SL_RUN_DRAINING) && lc->now >= lc->drain_scan_tsc)
		worker_drain_count(lc, dp);
	if (unlikely(gen != lc->gen))
		worker_adopt(lc, gen);
	/* An operator reset the counters: each worker zeroes its own, the
	 * only writer, so nothing races; each module keeps its gauges. */
	if (unlikely(__atomic_load_n(&lc->reset_req, __ATOMIC_ACQUIRE))) {
		sl_lcore_reset_counters(lc);
		__atomic_store_n(&lc->reset_req, 0, __ATOMIC_RELEASE);
	}
	if (dp->qsbr != NULL)
		rte_rcu_qsbr_quiescent(dp->qsbr, lc->worker_idx);
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

static inline void
worker_loop_init(struct sl_worker_loop *wl, const struct sl_lcore *lc)
{
	/*
	 * Adaptive idle sleeps for 1 us first, then longer. Linux lets a
	 * thread's timers run late by its timer slack, 50 us by default, so a
	 * "1 us" nanosleep took about 55 us and every pause in the traffic
	 * cost the next packet that much. The slack is per thread: this one's
	 * goes to 1 ns. (Busy polling never sleeps; it does no harm there.)
	 */
	if (lc->dp->conf->runtime.idle == SL_IDLE_ADAPTIVE)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	wl->rt = lc->dp->conf->runtime;
	wl->t0 = rte_rdtsc();
	wl->empty = 0;
	wl->sleep_us = 1;
}

void
sl_worker_loop_init(struct sl_worker_loop *wl, const struct sl_lcore *lc)
{
	worker_loop_init(wl, lc);
}

/* Inlined in both callers, so that the gateway's loop pays no call and no
 * test of a hook (sl_worker_turn is the same code for other callers). */
static __rte_always_inline void
worker_turn(struct sl_lcore *lc, struct sl_worker_loop *wl,
	    bool (*hook)(struct sl_lcore *lc, void *arg), void *arg)
{
	struct sl_dp *dp = lc->dp;
	struct sl_tcp_stack *tcp = sl_tcp_of(lc);
	struct sl_steer_lcore *steer = sl_steer_of(lc);
	const uint16_t burst = (uint16_t)wl->rt.burst;
	struct rte_mbuf *pkts[256];
	uint64_t t0 = wl->t0, t1;
	uint32_t got = 0, kept = 0, fired;
	bool worked = false;

	lc->now = t0;
	for (unsigned int p = 0; p < dp->n_ports; p++) {
		uint16_t n;

		/* A port with fewer queues than workers: ours comes by steering.
		 * A paused one is being restarted by the RX watchdog. */
		if (unlikely(lc->queue >= dp->ports[p].n_queues ||
			     sl_port_rx_paused(p)))
			continue;
		n = rte_eth_rx_burst(dp->ports[p].port_id, lc->queue, pkts, burst);
		if (n == 0)
			continue;
		got += n;
		/* One worker owns everything: no steering step at all. */
		if (steer != NULL)
			n = sl_steer_rx(lc, p, pkts, n);
		kept += n;
		worker_net_input(lc, steer != NULL, p, pkts, n);
	}
	/* Packets other workers received for connections we own. */
	if (steer != NULL) {
		uint32_t tx_taken, in = sl_steer_drain(lc, &tx_taken);

		got += in + tx_taken;
		kept += in;
	}
	/* Timers that fire do real work: their turn counts as busy. */
	fired = sl_timer_wheel_advance(&tcp->wheel, t0);
	/* The apps hear of this turn's input and timers now, all at
	 * once, and nothing of theirs runs mid-segment (tcp_event.c). */
	sl_tcp_dispatch(tcp);
	sl_arp_tick(lc);
	/* The application's own step: what it sends leaves in this burst. */
	if (hook != NULL)
		worked = hook(lc, arg);
	sl_tx_flush_all(lc);
	sl_port_tx_kick(lc, t0);

	t1 = rte_rdtsc();
	lc->cycles.polls++;
	if (got > 0 || fired > 0 || worked) {
		lc->cycles.busy += t1 - t0;
		lc->cycles.busy_polls++;
		lc->cycles.packets += kept;
		wl->empty = 0;
		wl->sleep_us = 1;
		wl->t0 = t1;
		return;
	}
	lc->cycles.idle += t1 - t0;
	wl->empty++;
	idle_backoff(lc, &wl->rt, wl->empty, &wl->sleep_us);
	/* Sleep time is idle: re-read the clock after it. */
	wl->t0 = rte_rdtsc();
	lc->cycles.idle += wl->t0 - t1;
}

void
sl_worker_turn(struct sl_lcore *lc, struct sl_worker_loop *wl,
	       bool (*hook)(struct sl_lcore *lc, void *arg), void *arg)
{
	worker_turn(lc, wl, hook, arg);
}

int
sl_worker_main(void *arg)
{
	struct sl_lcore *lc = arg;
	struct sl_dp *dp = lc->dp;
	struct sl_worker_loop wl;
	unsigned int hold_seen = 0;

	SL_LOG(INFO, "worker %u on lcore %u (socket %u): queue %u, idle policy %s",
	       lc->worker_idx, lc->lcore_id, rte_socket_id(), lc->queue,
	       sl_conf_idle_name(dp->conf->runtime.idle));
	lc->now = rte_rdtsc();
	/* Announce ourselves so neighbours refresh stale caches (gratuitous ARP). */
	if (lc->worker_idx == 0) {
		for (unsigned int p = 0; p < dp->n_ports; p++)
			sl_arp_announce(lc, p);
		sl_tx_flush_all(lc);
	}
	worker_loop_init(&wl, lc);
	if (dp->qsbr != NULL) {
		rte_rcu_qsbr_thread_register(dp->qsbr, lc->worker_idx);
		rte_rcu_qsbr_thread_online(dp->qsbr, lc->worker_idx);
	}
	while (!dp->stop) {
		lc->now = wl.t0;
		worker_control(lc, dp);
		/* Only a test asks (SLUICE_TEST_HOOKS=1): once per request. */
		if (unlikely(__atomic_load_n(&sl_port_test_hold_gen, __ATOMIC_ACQUIRE) !=
			     hold_seen)) {
			hold_seen = __atomic_load_n(&sl_port_test_hold_gen, __ATOMIC_ACQUIRE);
			sl_port_test_hold_lcore(lc);
		}
		worker_turn(lc, &wl, NULL, NULL);
	}
	sl_tx_flush_all(lc);
	/* Offline: a reload waiting on us must not wait for a stopped lcore. */
	if (dp->qsbr != NULL)
		rte_rcu_qsbr_thread_offline(dp->qsbr, lc->worker_idx);
	SL_LOG(INFO, "worker %u on lcore %u stopped", lc->worker_idx, lc->lcore_id);
	return 0;
}
