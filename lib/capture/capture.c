/*
 * The control half of packet capture: start and stop, the writer thread
 * that drains the workers' rings into the pcapng file, and the teardown
 * that proves no worker still runs a tap before its memory goes back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>

#include "sl_capture.h"
#include "sl_conf.h"
#include "sl_event.h"
#include "sl_log.h"
#include "capture_private.h"

#define WRITER_IDLE_US   1000     /* writer sleep when every ring is empty */
#define QUIESCE_MAX_MS   2000     /* how long a worker may take to move on */
#define QUIESCE_CHANGES  3        /* see quiesce() */
#define POOL_CACHE       32

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * One capture at a time. `ctl` serialises the commands (start, stop,
 * shutdown) and is held while one waits for the writer; the writer never
 * takes it. `st_lock` guards the status text fields, which the writer
 * updates when it finishes.
 */
static struct {
	pthread_mutex_t ctl;
	pthread_mutex_t st_lock;
	struct sl_dp *dp;
	pthread_t thread;
	bool joinable;                  /* a writer was started, not yet joined */
	bool stop;                      /* ask the writer to finish (atomic) */
	uint64_t seq;                   /* names of pools, rings and files */

	/* The session: set by start, owned by the writer until it finishes. */
	rte_pcapng_t *pcapng;          /* owns the file's fd */
	struct rte_mempool *pool;
	uint16_t port_id;
	unsigned int n_taps;
	uint64_t start_tsc;
	uint64_t start_ns;              /* wall clock at start_tsc */
	uint64_t end_tsc;

	struct sl_capture_status st;    /* counters: atomics; text: st_lock */
} cap = {
	.ctl = PTHREAD_MUTEX_INITIALIZER,
	.st_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Static, so a status read never races with memory going away. */
static struct capture_tap taps[RTE_MAX_LCORE];

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t
tsc_to_ns(uint64_t tsc)
{
	uint64_t d = tsc > cap.start_tsc ? tsc - cap.start_tsc : 0;

	return cap.start_ns +
	       (uint64_t)((unsigned __int128)d * 1000000000u / cap.dp->tsc_hz);
}

/* "any", "host 198.18.0.2", "port 80" or both, for logs. */
static void
filter_text(const struct sl_capture_filter *f, char *buf, size_t len)
{
	char ip[16];

	if (f->host != 0 && f->port != 0)
		snprintf(buf, len, "host %s port %u", sl_conf_fmt_ipv4(f->host, ip),
			 f->port);
	else if (f->host != 0)
		snprintf(buf, len, "host %s", sl_conf_fmt_ipv4(f->host, ip));
	else if (f->port != 0)
		snprintf(buf, len, "port %u", f->port);
	else
		snprintf(buf, len, "any");
}

/* Port index for "<index>" or a configured port name. */
static int
find_port(const struct sl_dp *dp, const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s >= '0' && *s <= '9' && *end == '\0')
		return v < dp->n_ports ? (int)v : -1;
	for (unsigned int i = 0; i < dp->n_ports; i++)
		if (strcmp(dp->ports[i].name, s) == 0)
			return (int)i;
	return -1;
}

/*
 * The capture directory, root-only: created 0700 if missing; refused if it
 * is a symlink, not a directory, or owned by someone else (who could then
 * read what we capture or plant links). Returns an open fd or -errno.
 */
static int
open_dir(char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (mkdir("/var/lib/sluice", 0755) != 0 && errno != EEXIST)
		goto fail;
	if (mkdir(SL_CAPTURE_DIR, 0700) != 0 && errno != EEXIST)
		goto fail;
	fd = open(SL_CAPTURE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid()) {
		close(fd);
		snprintf(err, errlen, "%s is not owned by the gateway's user",
			 SL_CAPTURE_DIR);
		return -EPERM;
	}
	if ((sb.st_mode & 07777) != 0700 && fchmod(fd, 0700) != 0) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", SL_CAPTURE_DIR, strerror(errno));
	return -errno;
}

/* A new file, never an existing one or a link; its path goes to `path`. */
static int
open_file(const char *port_name, char *path, size_t pathlen, char *err,
	  size_t errlen)
{
	char name[96], pn[25], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int dfd, fd;

	/* Only safe characters of the port name make it into the file name. */
	snprintf(pn, sizeof(pn), "%s", port_name);
	for (char *c = pn; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			*c = '_';
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, sizeof(name), "sluice-%s-%s-%d-%lu.pcapng", pn, stamp,
		 (int)getpid(), (unsigned long)cap.seq);
	dfd = open_dir(err, errlen);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	close(dfd);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: %s", SL_CAPTURE_DIR, name, strerror(errno));
		return -errno;
	}
	snprintf(path, pathlen, "%s/%s", SL_CAPTURE_DIR, name);
	return fd;
}

/*
 * Wait until no worker can still be inside a tap that was just removed.
 * Callbacks run only inside the RX/TX bursts, and a worker writes
 * cycles.polls (bumped once per loop turn, or zeroed by a counter reset)
 * only outside them, and x86 makes its stores visible in order. The first
 * change we see may be a store made before the worker entered a burst and
 * still on its way to us (a later load may pass an earlier store); a
 * counter reset at the top of a turn may be one more store before that
 * burst. The third change is a store made after the burst returned (x86
 * keeps a store after the loads before it, and the bursts are opaque
 * calls the compiler cannot move it across). A worker whose loop has
 * returned (WAIT) runs none.
 * Returns false on timeout: the caller must then leak rather than free.
 */
static bool
quiesce(void)
{
	const struct sl_dp *dp = cap.dp;
	uint64_t last[RTE_MAX_LCORE];
	uint8_t changes[RTE_MAX_LCORE] = { 0 };
	uint64_t deadline = rte_rdtsc() + dp->tsc_hz * QUIESCE_MAX_MS / 1000;
	unsigned int left;

	for (unsigned int w = 0; w < cap.n_taps; w++)
		last[w] = LOAD(dp->workers[w]->cycles.polls);
	do {
		left = 0;
		for (unsigned int w = 0; w < cap.n_taps; w++) {
			const struct sl_lcore *lc = dp->workers[w];
			uint64_t now = LOAD(lc->cycles.polls);

			if (now != last[w] && changes[w] < QUIESCE_CHANGES) {
				changes[w]++;
				last[w] = now;
			}
			if (changes[w] < QUIESCE_CHANGES &&
			    rte_eal_get_lcore_state(lc->lcore_id) == RUNNING)
				left++;
		}
		if (left == 0)
			return true;
		usleep(50);
	} while (rte_rdtsc() < deadline);
	return false;
}

/* Remove every callback we installed; the taps stay valid until quiesce. */
static void
unhook(void)
{
	for (unsigned int q = 0; q < cap.n_taps; q++) {
		struct capture_tap *t = &taps[q];

		if (t->rx_cb != NULL)
			rte_eth_remove_rx_callback(cap.port_id, t->queue, t->rx_cb);
		if (t->tx_cb != NULL)
			rte_eth_remove_tx_callback(cap.port_id, t->queue, t->tx_cb);
	}
}

/* Free the callbacks (rte_eth_remove_*_callback leaves that to us). */
static void
free_callbacks(void)
{
	for (unsigned int q = 0; q < cap.n_taps; q++) {
		rte_free((void *)(uintptr_t)taps[q].rx_cb);
		rte_free((void *)(uintptr_t)taps[q].tx_cb);
		taps[q].rx_cb = NULL;
		taps[q].tx_cb = NULL;
	}
}

static void
free_session(void)
{
	for (unsigned int q = 0; q < cap.n_taps; q++) {
		rte_ring_free(taps[q].ring);
		taps[q].ring = NULL;
	}
	if (cap.pool != NULL) {
		unsigned int in_use = rte_mempool_in_use_count(cap.pool);

		if (in_use != 0)
			SL_LOG(WARNING, "capture: %u copies not returned; "
			       "keeping the capture pool", in_use);
		else
			rte_mempool_free(cap.pool);
		cap.pool = NULL;
	}
}

/*
 * Write up to `max` packets from the rings; with `all`, keep going until
 * they are empty. Returns packets written; sets *werr on a write error.
 */
static unsigned int
drain(uint64_t max, bool all, int *werr)
{
	struct rte_mbuf *pkts[CAPTURE_BURST];
	unsigned int total = 0;

	for (unsigned int q = 0; q < cap.n_taps && total < max; q++) {
		unsigned int got;

		do {
			unsigned int want = (unsigned int)RTE_MIN((uint64_t)CAPTURE_BURST,
								 max - total);
			ssize_t n;

			got = rte_ring_sc_dequeue_burst(taps[q].ring, (void **)pkts,
							want, NULL);
			if (got == 0)
				break;
			for (unsigned int i = 0; i < got; i++) {
				struct capture_epb_head *e =
					rte_pktmbuf_mtod(pkts[i], struct capture_epb_head *);
				uint64_t ns = tsc_to_ns((uint64_t)e->timestamp_hi << 32 |
							e->timestamp_lo);

				e->timestamp_hi = (uint32_t)(ns >> 32);
				e->timestamp_lo = (uint32_t)ns;
			}
			n = *werr ? -1 : rte_pcapng_write_packets(cap.pcapng, pkts,
								  (uint16_t)got);
			/* 22.11's write does not free, whatever its doc says. */
			rte_pktmbuf_free_bulk(pkts, got);
			if (n < 0) {
				if (*werr == 0)
					*werr = rte_errno ? rte_errno : EIO;
				STORE(cap.st.discarded, LOAD(cap.st.discarded) + got);
				continue;
			}
			STORE(cap.st.written, LOAD(cap.st.written) + got);
			STORE(cap.st.bytes, LOAD(cap.st.bytes) + (uint64_t)n);
			total += got;
		} while (all && total < max);
	}
	return total;
}

/* Free whatever is still queued (past the count): counted, not written. */
static void
discard_rest(void)
{
	struct rte_mbuf *pkts[CAPTURE_BURST];

	for (unsigned int q = 0; q < cap.n_taps; q++) {
		unsigned int got;

		while ((got = rte_ring_sc_dequeue_burst(taps[q].ring, (void **)pkts,
							CAPTURE_BURST, NULL)) > 0) {
			rte_pktmbuf_free_bulk(pkts, got);
			STORE(cap.st.discarded, LOAD(cap.st.discarded) + got);
		}
	}
}

static void
sum_taps(struct sl_capture_lcore_stats *sum)
{
	unsigned int n = LOAD(cap.n_taps);

	memset(sum, 0, sizeof(*sum));
	for (unsigned int q = 0; q < n; q++) {
		sum->seen += LOAD(taps[q].st.seen);
		sum->copied += LOAD(taps[q].st.copied);
		sum->dropped_full += LOAD(taps[q].st.dropped_full);
		sum->dropped_nombuf += LOAD(taps[q].st.dropped_nombuf);
	}
}

/* Unhook, wait out the workers, write the rest, close, free. */
static void
finish(const char *why, int werr)
{
	const uint64_t count = cap.st.params.count;
	struct sl_capture_lcore_stats sum;
	char reason[96], comment[160];
	bool quiet;

	unhook();
	quiet = quiesce();
	if (quiet) {
		drain(count - RTE_MIN(count, LOAD(cap.st.written)), true, &werr);
		discard_rest();
	}
	cap.end_tsc = rte_rdtsc();
	sum_taps(&sum);
	snprintf(comment, sizeof(comment), "sluice capture: %lu written, "
		 "%lu dropped (ring full), %lu dropped (no mbuf), %lu past the count",
		 (unsigned long)LOAD(cap.st.written), (unsigned long)sum.dropped_full,
		 (unsigned long)sum.dropped_nombuf, (unsigned long)LOAD(cap.st.discarded));
	/* The statistics block tools show as "dropped" (capinfos, tshark -z). */
	if (werr == 0) {
		ssize_t n = rte_pcapng_write_stats(cap.pcapng, cap.port_id, comment,
				cap.start_ns, tsc_to_ns(cap.end_tsc), sum.seen,
				sum.dropped_full + sum.dropped_nombuf);

		if (n < 0)
			werr = errno ? errno : EIO;
		else
			STORE(cap.st.bytes, LOAD(cap.st.bytes) + (uint64_t)n);
	}
	rte_pcapng_close(cap.pcapng);   /* closes the fd too */
	cap.pcapng = NULL;
	if (quiet) {
		free_callbacks();
		free_session();
	} else {
		/* A worker still in a tap after seconds: leaking is safe, a free
		 * is not. The callbacks are off the port already. */
		SL_LOG(WARNING, "capture: a worker did not move on in %u ms; "
		       "leaking the capture rings and pool", QUIESCE_MAX_MS);
		cap.pool = NULL;
		for (unsigned int q = 0; q < cap.n_taps; q++) {
			taps[q].ring = NULL;
			taps[q].rx_cb = taps[q].tx_cb = NULL;
		}
	}
	if (werr != 0)
		snprintf(reason, sizeof(reason), "write error: %s", strerror(werr));
	else
		snprintf(reason, sizeof(reason), "%s", why);
	STORE(cap.st.elapsed_ms, (cap.end_tsc - cap.start_tsc) * 1000 / cap.dp->tsc_hz);
	pthread_mutex_lock(&cap.st_lock);
	snprintf(cap.st.stop_reason, sizeof(cap.st.stop_reason), "%s", reason);
	cap.st.state = SL_CAPTURE_DONE;
	pthread_mutex_unlock(&cap.st_lock);
	if (cap.dp->events != NULL)
		sl_event_add(cap.dp->events, "capture", "", "",
			     "capture on port %s finished (%s): %lu packets, %lu bytes, "
			     "%lu dropped; %s", cap.st.port_name, reason,
			     (unsigned long)LOAD(cap.st.written),
			     (unsigned long)LOAD(cap.st.bytes),
			     (unsigned long)(sum.dropped_full + sum.dropped_nombuf),
			     cap.st.file);
	SL_LOG(NOTICE, "capture on port %s finished (%s): %lu packets -> %s",
	       cap.st.port_name, reason, (unsigned long)LOAD(cap.st.written),
	       cap.st.file);
}

/* The writer: every limit is checked each turn, so it always ends. */
static void *
writer(void *arg __rte_unused)
{
	const uint64_t count = cap.st.params.count;
	const uint64_t deadline = cap.start_tsc +
				  (uint64_t)cap.st.params.seconds * cap.dp->tsc_hz;
	const char *why = NULL;
	int werr = 0;

	while (why == NULL) {
		uint64_t written = LOAD(cap.st.written);

		/* dp->stop first: at exit, shutdown also sets cap.stop. */
		if (cap.dp->stop)
			why = "shutdown";
		else if (__atomic_load_n(&cap.stop, __ATOMIC_ACQUIRE))
			why = "stopped";
		else if (written >= count)
			why = "count";
		else if (rte_rdtsc() >= deadline)
			why = "time";
		else if (LOAD(cap.st.bytes) >= SL_CAPTURE_BYTES_MAX)
			why = "size";
		else if (werr != 0)
			why = "write error";
		else if (drain(count - written, false, &werr) == 0)
			usleep(WRITER_IDLE_US);
		if (why == NULL)
			STORE(cap.st.elapsed_ms,
			      (rte_rdtsc() - cap.start_tsc) * 1000 / cap.dp->tsc_hz);
	}
	finish(why, werr);
	return NULL;
}

/*
 * rte_pcapng_copy() converts the TSC it is given through a global time
 * base it initialises and moves on first use. Call it once here, from the
 * control side, with the value every tap will pass, so that in the workers
 * it only ever reads that base.
 */
static int
prime_pcapng(uint16_t port_id, uint64_t tsc)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(cap.pool), *c;
	char *data;

	if (m == NULL)
		return -ENOMEM;
	data = rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN);
	if (data == NULL) {
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	memset(data, 0, RTE_ETHER_MIN_LEN);
	c = rte_pcapng_copy(port_id, 0, m, cap.pool, UINT32_MAX, tsc,
			    RTE_PCAPNG_DIRECTION_UNKNOWN);
	rte_pktmbuf_free(c);
	rte_pktmbuf_free(m);
	return c == NULL ? -ENOMEM : 0;
}

/* Create the pool and rings and install the taps. -errno with err filled. */
static int
setup(const struct sl_port *port, const struct sl_capture_params *p, char *err,
      size_t errlen)
{
	/* One tap per queue, run by the worker that owns it (a port may have
	 * fewer queues than workers: the others send through those). */
	const unsigned int nq = port->n_queues;
	uint32_t frame = port->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 4;
	unsigned int cache = p->ring >= 256 ? POOL_CACHE : 0;
	unsigned int n_mbufs = nq * (p->ring + (cache * 3) / 2) + CAPTURE_BURST + 1;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint64_t tsc;
	int socket = port->socket >= 0 ? port->socket : SOCKET_ID_ANY;

	/* Room for the largest frame plus the pcapng header and trailer, so
	 * a copy is one segment (see rte_pcapng_mbuf_size). */
	snprintf(name, sizeof(name), "sl_cap_%lu", (unsigned long)cap.seq);
	cap.pool = rte_pktmbuf_pool_create(name, n_mbufs, cache, 0,
		(uint16_t)RTE_MIN(rte_pcapng_mbuf_size(frame), (uint32_t)UINT16_MAX),
		socket);
	if (cap.pool == NULL) {
		snprintf(err, errlen, "cannot create a capture pool of %u mbufs: %s",
			 n_mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	tsc = rte_rdtsc();
	if (prime_pcapng(port->port_id, tsc) != 0) {
		snprintf(err, errlen, "cannot prepare the pcapng copy");
		return -ENOMEM;
	}
	cap.n_taps = nq;
	for (unsigned int q = 0; q < nq; q++) {
		struct capture_tap *t = &taps[q];

		memset(t, 0, sizeof(*t));
		snprintf(name, sizeof(name), "sl_cap_%lu_%u", (unsigned long)cap.seq, q);
		t->ring = rte_ring_create(name, p->ring, socket,
					  RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		if (t->ring == NULL) {
			snprintf(err, errlen, "cannot create capture ring %u: %s", q,
				 rte_strerror(rte_errno));
			return -ENOMEM;
		}
		t->pool = cap.pool;
		t->filter = p->filter;
		t->port_id = port->port_id;
		t->queue = cap.dp->workers[q]->queue;
		t->copy_tsc = tsc;
	}
	/* Install last: from here on the workers may run the taps. */
	for (unsigned int q = 0; q < nq; q++) {
		struct capture_tap *t = &taps[q];

		if (p->dir & SL_CAPTURE_RX) {
			t->rx_cb = rte_eth_add_rx_callback(port->port_id, t->queue,
							   capture_rx_cb, t);
			if (t->rx_cb == NULL)
				goto hook_fail;
		}
		if (p->dir & SL_CAPTURE_TX) {
			t->tx_cb = rte_eth_add_tx_callback(port->port_id, t->queue,
							   capture_tx_cb, t);
			if (t->tx_cb == NULL)
				goto hook_fail;
		}
	}
	return 0;
hook_fail:
	snprintf(err, errlen, "cannot tap port %s: %s", port->name,
		 rte_strerror(rte_errno));
	return -ENOTSUP;
}

/* Undo a setup that failed part way (the file is removed by the caller). */
static void
setup_undo(void)
{
	unhook();
	if (!quiesce()) {
		SL_LOG(WARNING, "capture: a worker did not move on; leaking the "
		       "capture rings and pool");
		cap.pool = NULL;
		memset(taps, 0, sizeof(taps[0]) * cap.n_taps);
		cap.n_taps = 0;
		return;
	}
	discard_rest();
	free_callbacks();
	free_session();
	cap.n_taps = 0;
}

/* Join a writer that has finished on its own (count, time, ...). */
static void
reap(void)
{
	if (cap.joinable) {
		__atomic_store_n(&cap.stop, true, __ATOMIC_RELEASE);
		pthread_join(cap.thread, NULL);
		cap.joinable = false;
	}
}

int
sl_capture_start(struct sl_dp *dp, const struct sl_capture_params *p,
		 char *file, size_t filelen, char *err, size_t errlen)
{
	char path[SL_CAPTURE_PATH_MAX], filt[48];
	const struct sl_port *port;
	int idx, fd, rc;

	pthread_mutex_lock(&cap.ctl);
	pthread_mutex_lock(&cap.st_lock);
	rc = cap.st.state == SL_CAPTURE_RUNNING ? -EBUSY : 0;
	if (rc != 0)
		snprintf(err, errlen, "a capture is already running (%s); "
			 "stop it with /sluice/capture_stop", cap.st.file);
	pthread_mutex_unlock(&cap.st_lock);
	if (rc != 0)
		goto out;
	reap();
	idx = find_port(dp, p->port);
	if (idx < 0) {
		snprintf(err, errlen, "no port '%s': give an index 0-%u or a name "
			 "from /sluice/ports", p->port, dp->n_ports ? dp->n_ports - 1 : 0);
		rc = -ENODEV;
		goto out;
	}
	if (p->dir < SL_CAPTURE_RX || p->dir > SL_CAPTURE_BOTH ||
	    p->count < 1 || p->count > SL_CAPTURE_COUNT_MAX ||
	    p->seconds < 1 || p->seconds > SL_CAPTURE_SECONDS_MAX ||
	    p->ring < SL_CAPTURE_RING_MIN || p->ring > SL_CAPTURE_RING_MAX ||
	    dp->n_workers == 0) {
		snprintf(err, errlen, "invalid capture parameters");
		rc = -EINVAL;
		goto out;
	}
	port = &dp->ports[idx];
	cap.dp = dp;
	cap.seq++;
	fd = open_file(port->name, path, sizeof(path), err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	/* Fresh counters: the taps' are zeroed by setup. */
	pthread_mutex_lock(&cap.st_lock);
	memset(&cap.st, 0, sizeof(cap.st));
	cap.st.state = SL_CAPTURE_IDLE;
	snprintf(cap.st.file, sizeof(cap.st.file), "%s", path);
	snprintf(cap.st.port_name, sizeof(cap.st.port_name), "%s", port->name);
	cap.st.port = (unsigned int)idx;
	cap.st.params = *p;
	cap.st.n_workers = dp->n_workers;
	pthread_mutex_unlock(&cap.st_lock);
	cap.port_id = port->port_id;
	cap.pcapng = rte_pcapng_fdopen(fd, "Linux", NULL, "sluice " SL_VERSION, NULL);
	if (cap.pcapng == NULL) {
		snprintf(err, errlen, "cannot write the pcapng header: %s",
			 rte_strerror(rte_errno));
		close(fd);
		rc = -EIO;
		goto undo_file;
	}
	/* bytes_written is the file size: the header blocks count too. */
	{
		off_t hdr = lseek(fd, 0, SEEK_CUR);

		STORE(cap.st.bytes, hdr > 0 ? (uint64_t)hdr : 0);
	}
	cap.start_ns = wall_ns();
	cap.start_tsc = rte_rdtsc();
	rc = setup(port, p, err, errlen);
	if (rc != 0)
		goto undo;
	__atomic_store_n(&cap.stop, false, __ATOMIC_RELEASE);
	pthread_mutex_lock(&cap.st_lock);
	cap.st.state = SL_CAPTURE_RUNNING;
	snprintf(cap.st.stop_reason, sizeof(cap.st.stop_reason), "%s", "");
	pthread_mutex_unlock(&cap.st_lock);
	rc = rte_ctrl_thread_create(&cap.thread, "sl-capture", NULL, writer, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the capture writer: %s",
			 strerror(rc));
		pthread_mutex_lock(&cap.st_lock);
		cap.st.state = SL_CAPTURE_IDLE;
		pthread_mutex_unlock(&cap.st_lock);
		rc = -rc;
		goto undo;
	}
	cap.joinable = true;
	snprintf(file, filelen, "%s", path);
	filter_text(&p->filter, filt, sizeof(filt));
	if (dp->events != NULL)
		sl_event_add(dp->events, "capture", "", "",
			     "capture started on port %s (%s, up to %u packets or %u s, "
			     "filter %s): %s", port->name, sl_capture_dir_name(p->dir),
			     p->count, p->seconds, filt, path);
	SL_LOG(NOTICE, "capture started on port %s (%s) -> %s", port->name,
	       sl_capture_dir_name(p->dir), path);
	rc = 0;
	goto out;
undo:
	setup_undo();
	rte_pcapng_close(cap.pcapng);
	cap.pcapng = NULL;
undo_file:
	unlink(path);
	pthread_mutex_lock(&cap.st_lock);
	cap.st.file[0] = '\0';
	snprintf(cap.st.stop_reason, sizeof(cap.st.stop_reason),
		 "failed to start: %s", err);
	pthread_mutex_unlock(&cap.st_lock);
out:
	pthread_mutex_unlock(&cap.ctl);
	return rc;
}

int
sl_capture_stop(void)
{
	int rc = 0;

	pthread_mutex_lock(&cap.ctl);
	pthread_mutex_lock(&cap.st_lock);
	if (cap.st.state != SL_CAPTURE_RUNNING)
		rc = -ENOENT;
	pthread_mutex_unlock(&cap.st_lock);
	if (rc == 0)
		reap();   /* the writer finishes the file before it returns */
	pthread_mutex_unlock(&cap.ctl);
	return rc;
}

void
sl_capture_shutdown(void)
{
	pthread_mutex_lock(&cap.ctl);
	reap();
	pthread_mutex_unlock(&cap.ctl);
}

void
sl_capture_status(struct sl_capture_status *st)
{
	pthread_mutex_lock(&cap.st_lock);
	*st = cap.st;
	pthread_mutex_unlock(&cap.st_lock);
	st->written = LOAD(cap.st.written);
	st->bytes = LOAD(cap.st.bytes);
	st->discarded = LOAD(cap.st.discarded);
	st->elapsed_ms = LOAD(cap.st.elapsed_ms);
	if (st->state != SL_CAPTURE_IDLE)
		sum_taps(&st->total);
}

int
sl_capture_lcore_stats(unsigned int w, struct sl_capture_lcore_stats *out)
{
	const struct capture_tap *t;

	if (w >= RTE_MAX_LCORE || w >= LOAD(cap.st.n_workers))
		return -ENOENT;
	if (w >= LOAD(cap.n_taps)) {
		/* No queue of its own on the captured port: it taps nothing. */
		memset(out, 0, sizeof(*out));
		return 0;
	}
	t = &taps[w];
	out->seen = LOAD(t->st.seen);
	out->copied = LOAD(t->st.copied);
	out->dropped_full = LOAD(t->st.dropped_full);
	out->dropped_nombuf = LOAD(t->st.dropped_nombuf);
	return 0;
}
