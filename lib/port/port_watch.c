/* The RX watchdog (sl_port_watch.h): main lcore only, off the fast path. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "sl_lcore.h"
#include "sl_log.h"
#include "sl_port_watch.h"

uint8_t sl_port_rx_pause[SL_MAX_PORTS];

/* A check per 50 ms is plenty for a 500 ms threshold and costs, per port,
 * one rte_eth_stats_get (af_xdp: a getsockopt per queue) and one read of a
 * sysfs counter. */
#define WATCH_PERIOD_MS 50

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#define WATCH_MAX_XSK 8

struct port_watch {
	char kern_stats[96];       /* sysfs rx_packets of the kernel netdev, or "" */
	int xsk[WATCH_MAX_XSK];    /* the PMD's AF_XDP sockets, for XDP_STATISTICS */
	unsigned int n_xsk;
	bool restartable;
	uint64_t ipackets;         /* PMD's count at the last check */
	uint64_t evidence;         /* drops + kernel rx at the last check */
	uint64_t evidence_n;       /* growth of evidence since rx last moved */
	uint64_t still_tsc;        /* when ipackets stopped moving with evidence */
	uint64_t last_restart_tsc;
	/* Read by telemetry: written here only, relaxed stores. */
	uint64_t stalls;
	uint64_t stalls_pool_empty;
	uint64_t restarts;
	uint64_t recoveries;
	uint64_t stall_start_tsc;  /* 0 when not stalled */
};

static struct port_watch watch[SL_MAX_PORTS];
static uint64_t last_run_tsc;

/* The kernel netdev behind a port (af_xdp reports its ifindex), in our
 * network namespace: its rx_packets counts frames that reached the kernel
 * for us, received by the PMD or not. */
static void
watch_kern_path(uint16_t port_id, char *out, size_t len)
{
	struct rte_eth_dev_info info;
	char name[IF_NAMESIZE];

	out[0] = '\0';
	if (rte_eth_dev_info_get(port_id, &info) != 0 || info.if_index == 0 ||
	    strcmp(info.driver_name, "net_af_xdp") != 0 ||
	    if_indextoname(info.if_index, name) == NULL)
		return;
	snprintf(out, len, "/sys/class/net/%s/statistics/rx_packets", name);
	if (access(out, R_OK) != 0)
		out[0] = '\0';
}

/*
 * Restarted: net_af_xdp only, whose stop/start keeps its queues (so a TX
 * burst from a worker meanwhile is harmless; TX is not paused) but resets
 * its state. A PMD whose stop releases its TX queues would need TX paused
 * as well, which lib/net does not do. net_tap's start brings the tap's
 * kernel end up by name in our namespace: when that end lives in another
 * one (the testbed moves it), start fails and leaves the port stopped; and
 * a tap read that found no mbuf is retried at the next burst anyway.
 */
static bool
watch_restartable(uint16_t port_id)
{
	struct rte_eth_dev_info info;

	return rte_eth_dev_info_get(port_id, &info) == 0 &&
	       strcmp(info.driver_name, "net_af_xdp") == 0;
}

static uint64_t
watch_kern_rx(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (path[0] == '\0')
		return 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* ---- the PMD's AF_XDP sockets ----------------------------------------- */

/*
 * net_af_xdp reports only the kernel's rx_dropped (as imissed). The socket
 * knows why frames were dropped: RX ring full (we did not take them) or
 * fill ring empty (no buffer to put them in), which tells a port we stopped
 * polling from one the PMD cannot refill. The PMD does not expose its
 * sockets, so port setup claims the XSKs that appeared while it set up a
 * port's queues (sl_port_watch_claim_xsk).
 */
static bool
fd_is_xsk(int fd, struct xdp_statistics *st)
{
	struct xdp_statistics tmp;
	socklen_t len = sizeof(tmp);
	struct stat sb;

	if (fstat(fd, &sb) != 0 || !S_ISSOCK(sb.st_mode))
		return false;
	return getsockopt(fd, SOL_XDP, XDP_STATISTICS, st ? st : &tmp, &len) == 0;
}

static bool
xsk_claimed(int fd)
{
	for (unsigned int p = 0; p < SL_MAX_PORTS; p++)
		for (unsigned int i = 0; i < watch[p].n_xsk; i++)
			if (watch[p].xsk[i] == fd)
				return true;
	return false;
}

void
sl_port_watch_claim_xsk(unsigned int port)
{
	struct port_watch *w = &watch[port];
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL && w->n_xsk < WATCH_MAX_XSK) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd != dirfd(dir) &&
		    !xsk_claimed(fd) && fd_is_xsk(fd, NULL))
			w->xsk[w->n_xsk++] = fd;
	}
	closedir(dir);
}

static void
xsk_stats(const struct port_watch *w, struct xdp_statistics *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned int i = 0; i < w->n_xsk; i++) {
		struct xdp_statistics st;

		if (!fd_is_xsk(w->xsk[i], &st))
			continue;
		sum->rx_dropped += st.rx_dropped;
		sum->rx_ring_full += st.rx_ring_full;
		sum->rx_fill_ring_empty_descs += st.rx_fill_ring_empty_descs;
		sum->rx_invalid_descs += st.rx_invalid_descs;
	}
}

static uint64_t
watch_evidence(const struct port_watch *w, const struct rte_eth_stats *st)
{
	struct xdp_statistics x;

	xsk_stats(w, &x);
	/* imissed is rx_dropped already. */
	return st->imissed + st->ierrors + st->rx_nombuf + x.rx_ring_full +
	       x.rx_fill_ring_empty_descs + watch_kern_rx(w->kern_stats);
}

static unsigned int
pools_avail(const struct sl_dp *dp)
{
	unsigned int n = 0;

	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (dp->pools[s] != NULL)
			n += rte_mempool_avail_count(dp->pools[s]);
	return n;
}

void
sl_port_watch_init(struct sl_dp *dp)
{
	for (unsigned int p = 0; p < dp->n_ports; p++) {
		struct port_watch *w = &watch[p];
		struct rte_eth_stats st;

		watch_kern_path(dp->ports[p].port_id, w->kern_stats, sizeof(w->kern_stats));
		w->restartable = watch_restartable(dp->ports[p].port_id);
		memset(&st, 0, sizeof(st));
		rte_eth_stats_get(dp->ports[p].port_id, &st);
		w->ipackets = st.ipackets;
		w->evidence = watch_evidence(w, &st);
		SL_LOG(INFO, "port %s: RX watchdog on (%u ms without a packet while "
		       "%s grow)", dp->ports[p].name, SL_PORT_STALL_MS,
		       w->kern_stats[0] ? "drops or kernel rx_packets" : "drops");
		if (w->n_xsk > 0)
			SL_LOG(INFO, "port %s: %u AF_XDP socket(s) watched for "
			       "XDP_STATISTICS", dp->ports[p].name, w->n_xsk);
	}
	last_run_tsc = rte_rdtsc();
}

/*
 * Stop and start the port with no worker inside its RX burst: they skip a
 * paused port, and once every worker has reported a quiescent state after
 * the flag was set, none is still in rte_eth_rx_burst for it. TX is not
 * paused: net_af_xdp, the only PMD restarted (watch_restartable), keeps
 * its rings across stop/start.
 */
static void
watch_restart(struct sl_dp *dp, unsigned int p)
{
	uint16_t id = dp->ports[p].port_id;
	int rc;

	__atomic_store_n(&sl_port_rx_pause[p], 1, __ATOMIC_RELEASE);
	if (dp->qsbr != NULL)
		rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
	rc = rte_eth_dev_stop(id);
	if (rc == 0)
		rc = rte_eth_dev_start(id);
	__atomic_store_n(&sl_port_rx_pause[p], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&watch[p].restarts, watch[p].restarts + 1, __ATOMIC_RELAXED);
	if (rc != 0)
		SL_LOG(ERR, "port %s: restart after an RX stall failed: %s",
		       dp->ports[p].name, rte_strerror(-rc));
}

static void
watch_port(struct sl_dp *dp, unsigned int p, uint64_t now, uint64_t stall_tsc)
{
	struct port_watch *w = &watch[p];
	struct rte_eth_stats st;
	uint64_t ev;

	memset(&st, 0, sizeof(st));
	if (rte_eth_stats_get(dp->ports[p].port_id, &st) != 0)
		return;
	ev = watch_evidence(w, &st);
	if (st.ipackets != w->ipackets) {
		/* Receiving: whatever grew meanwhile was not a stall. */
		if (w->stall_start_tsc != 0) {
			SL_LOG(NOTICE, "port %s: receiving again after %lu ms",
			       dp->ports[p].name,
			       (now - w->stall_start_tsc) * 1000 / rte_get_tsc_hz());
			__atomic_store_n(&w->recoveries, w->recoveries + 1,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&w->stall_start_tsc, 0, __ATOMIC_RELAXED);
		}
		w->ipackets = st.ipackets;
		w->evidence = ev;
		w->evidence_n = 0;
		w->still_tsc = 0;
		return;
	}
	if (ev != w->evidence) {
		if (w->still_tsc == 0)
			w->still_tsc = now;
		w->evidence_n += ev - w->evidence;
		w->evidence = ev;
	}
	/* Two or more arrivals over the whole window, none received. */
	if (w->still_tsc == 0 || now - w->still_tsc < stall_tsc || w->evidence_n < 2)
		return;
	if (w->stall_start_tsc == 0) {
		unsigned int avail = pools_avail(dp);
		struct xdp_statistics x;

		xsk_stats(w, &x);
		__atomic_store_n(&w->stall_start_tsc, w->still_tsc, __ATOMIC_RELAXED);
		__atomic_store_n(&w->stalls, w->stalls + 1, __ATOMIC_RELAXED);
		if (avail < 2 * RTE_MAX(1u, dp->n_workers) * 32)
			__atomic_store_n(&w->stalls_pool_empty, w->stalls_pool_empty + 1,
					 __ATOMIC_RELAXED);
		SL_LOG(WARNING, "port %s: RX stalled: no packet for %u ms while %lu "
		       "arrived or were dropped (imissed %lu, ierrors %lu, rx_nombuf "
		       "%lu; %u mbufs available; AF_XDP rx_ring_full %llu, "
		       "rx_fill_ring_empty %llu)%s",
		       dp->ports[p].name, SL_PORT_STALL_MS, w->evidence_n,
		       st.imissed, st.ierrors, st.rx_nombuf, avail,
		       (unsigned long long)x.rx_ring_full,
		       (unsigned long long)x.rx_fill_ring_empty_descs,
		       w->restartable ? "; restarting the port" : "");
	}
	/* Again once per window while the stall lasts. */
	if (w->restartable && now - w->last_restart_tsc >= stall_tsc) {
		w->last_restart_tsc = now;
		watch_restart(dp, p);
	}
}

void
sl_port_watch_run(struct sl_dp *dp)
{
	uint64_t hz = rte_get_tsc_hz(), now = rte_rdtsc();

	if (now - last_run_tsc < hz / 1000 * WATCH_PERIOD_MS)
		return;
	last_run_tsc = now;
	for (unsigned int p = 0; p < dp->n_ports; p++)
		watch_port(dp, p, now, hz / 1000 * SL_PORT_STALL_MS);
}

void
sl_port_watch_get(unsigned int port, struct sl_port_watch_stats *out)
{
	const struct port_watch *w = &watch[port];
	uint64_t start = __atomic_load_n(&w->stall_start_tsc, __ATOMIC_RELAXED);

	out->rx_stalls = __atomic_load_n(&w->stalls, __ATOMIC_RELAXED);
	out->rx_stalls_pool_empty = __atomic_load_n(&w->stalls_pool_empty,
						    __ATOMIC_RELAXED);
	out->rx_stall_restarts = __atomic_load_n(&w->restarts, __ATOMIC_RELAXED);
	out->rx_stall_recoveries = __atomic_load_n(&w->recoveries, __ATOMIC_RELAXED);
	out->rx_stalled = start != 0;
	out->rx_stall_ms = start ? (rte_rdtsc() - start) * 1000 / rte_get_tsc_hz() : 0;
}

/* ---- test hook: an empty pool on demand ------------------------------ */

/*
 * The workers take the mbufs themselves: a mempool's per-lcore caches are
 * out of reach of any other thread, and a worker recycling its cache
 * (an echo reply frees what the next RX allocates) never lets a pool
 * run dry that only the ring side of was emptied.
 */
static struct rte_mbuf **held;
static unsigned int held_cap, n_held;
static unsigned int hold_gen, hold_leave;
unsigned int sl_port_test_hold_gen;
static unsigned int worker_gen[RTE_MAX_LCORE];   /* by worker index */

void
sl_port_test_hold_lcore(struct sl_lcore *lc)
{
	struct rte_mempool *mp = lc->pool;
	unsigned int leave = __atomic_load_n(&hold_leave, __ATOMIC_ACQUIRE);

	while (mp != NULL && rte_mempool_avail_count(mp) > leave) {
		unsigned int i = __atomic_fetch_add(&n_held, 1, __ATOMIC_RELAXED);
		struct rte_mbuf *m;

		if (i >= held_cap) {
			__atomic_fetch_sub(&n_held, 1, __ATOMIC_RELAXED);
			break;
		}
		m = rte_pktmbuf_alloc(mp);
		if (m == NULL) {
			/* Slot i stays NULL; release skips it. */
			break;
		}
		held[i] = m;
	}
	__atomic_store_n(&worker_gen[lc->worker_idx],
			 __atomic_load_n(&sl_port_test_hold_gen, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
}

unsigned int
sl_port_test_hold(struct sl_dp *dp, unsigned int leave)
{
	unsigned int n = 0;

	if (held == NULL) {
		for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
			if (dp->pools[s] != NULL)
				held_cap += dp->pools[s]->size;
		held = calloc(held_cap, sizeof(*held));
		if (held == NULL)
			return 0;
	}
	__atomic_store_n(&hold_leave, leave, __ATOMIC_RELEASE);
	hold_gen = __atomic_add_fetch(&sl_port_test_hold_gen, 1, __ATOMIC_ACQ_REL);
	/* Every worker takes its share at its next loop turn. */
	for (int i = 0; i < 1000; i++) {
		unsigned int done = 0;

		for (unsigned int w = 0; w < dp->n_workers; w++)
			done += __atomic_load_n(&worker_gen[w], __ATOMIC_ACQUIRE) == hold_gen;
		if (done == dp->n_workers)
			break;
		usleep(1000);
	}
	for (unsigned int i = 0; i < RTE_MIN(n_held, held_cap); i++)
		n += held[i] != NULL;
	return n;
}

unsigned int
sl_port_test_release(void)
{
	unsigned int n = 0, cnt = RTE_MIN(__atomic_load_n(&n_held, __ATOMIC_ACQUIRE),
					    held_cap);

	for (unsigned int i = 0; i < cnt; i++) {
		if (held[i] != NULL)
			n++;
		rte_pktmbuf_free(held[i]);
		held[i] = NULL;
	}
	__atomic_store_n(&n_held, 0, __ATOMIC_RELEASE);
	return n;
}
