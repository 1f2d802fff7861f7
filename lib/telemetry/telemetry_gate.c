/*
 * The gate every /sluice/ command passes through. DPDK runs telemetry
 * handlers on its own threads (one per connected client), which outlive
 * everything Sluice frees at shutdown and which a reload does not wait for.
 * So each command is registered with one trampoline that:
 *
 *  - counts itself in flight, and refuses to run once shutdown has begun
 *    (sl_telemetry_quiesce waits for the count to reach zero before the
 *    caller frees workers, ports, pools and configs);
 *  - for commands that read the running config without ctl's lock, joins
 *    a two-epoch read-side section (a sleepable RCU in miniature), so that
 *    a reload can wait for every reader that may still hold the config it
 *    is about to free (sl_telemetry_synchronize).
 *
 * DPDK 22.11's telemetry_cb has no user argument: the trampoline finds the
 * real handler by the command's name.
 *
 * DPDK's own commands (/ethdev/..., /mempool/..., /eal/...) cannot be gated:
 * they read ports that shutdown closes and, after rte_eal_cleanup(), memory
 * that is unmapped (a /mempool/info during exit crashed). DPDK 22.11 has no
 * way to stop its telemetry threads, so quiesce cuts them off at their
 * sockets: it shuts the listening socket and every client connection down,
 * which makes each client thread finish the command it is in, read EOF and
 * close its socket; quiesce waits for those closes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_telemetry.h>

#include "sl_log.h"
#include "sl_telemetry.h"

#define GATE_MAX_CMDS 64

struct gate_cmd {
	char name[RTE_TEL_MAX_STRING_LEN];
	telemetry_cb fn;
	bool reader;              /* reads the config outside ctl's lock */
};

static struct gate_cmd cmds[GATE_MAX_CMDS];
static unsigned int n_cmds;

/* All counters below are accessed only with __ATOMIC_SEQ_CST: the reader's
 * "count myself, then look at the flag/epoch" and the writer's "set the
 * flag/epoch, then look at the count" must not pass each other. */
static unsigned int stopping;
static unsigned int inflight;
static unsigned int epoch;
static unsigned int readers[2];

static const struct gate_cmd *
gate_find(const char *name)
{
	for (unsigned int i = 0; i < n_cmds; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* Enter the epoch the writer has not started waiting on; returns its index. */
static unsigned int
gate_read_lock(void)
{
	for (;;) {
		unsigned int idx = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST) & 1;

		__atomic_fetch_add(&readers[idx], 1, __ATOMIC_SEQ_CST);
		/* A flip in between: the writer may have seen readers[idx]
		 * empty already; go to the new epoch instead. */
		if ((__atomic_load_n(&epoch, __ATOMIC_SEQ_CST) & 1) == idx)
			return idx;
		__atomic_fetch_sub(&readers[idx], 1, __ATOMIC_SEQ_CST);
	}
}

static int
gate_dispatch(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gate_cmd *c = gate_find(cmd);
	unsigned int idx = 0;
	int rc;

	__atomic_fetch_add(&inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST) || c == NULL) {
		__atomic_fetch_sub(&inflight, 1, __ATOMIC_SEQ_CST);
		return tel_error(d, c ? "the gateway is shutting down" :
				 "unknown command");
	}
	if (c->reader)
		idx = gate_read_lock();
	rc = c->fn(cmd, params, d);
	if (c->reader)
		__atomic_fetch_sub(&readers[idx], 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(&inflight, 1, __ATOMIC_SEQ_CST);
	return rc;
}

static int
gate_register(const char *cmd, telemetry_cb fn, const char *help, bool reader)
{
	struct gate_cmd *c;
	int rc;

	if (n_cmds == GATE_MAX_CMDS || strlen(cmd) >= sizeof(c->name)) {
		SL_LOG(ERR, "telemetry: cannot register %s: gate table full", cmd);
		return -ENOSPC;
	}
	c = &cmds[n_cmds];
	snprintf(c->name, sizeof(c->name), "%s", cmd);
	c->fn = fn;
	c->reader = reader;
	/* Visible before DPDK can route the command here: its registration
	 * takes the lock its dispatch takes. */
	n_cmds++;
	rc = rte_telemetry_register_cmd(cmd, gate_dispatch, help);
	if (rc != 0) {
		n_cmds--;
		SL_LOG(ERR, "telemetry: cannot register %s: %s", cmd, strerror(-rc));
	}
	return rc;
}

int
tel_reg(const char *cmd, telemetry_cb fn, const char *help)
{
	RTE_ASSERT(strlen(help) < RTE_TEL_MAX_STRING_LEN);
	return gate_register(cmd, fn, help, true);
}

int
tel_reg_ctl(const char *cmd, telemetry_cb fn, const char *help)
{
	RTE_ASSERT(strlen(help) < RTE_TEL_MAX_STRING_LEN);
	return gate_register(cmd, fn, help, false);
}

#define GATE_MAX_SOCKS 64

struct gate_sock {
	int fd;
	ino_t ino;                /* tells our socket from a later one on fd */
	bool listener;
};

/* Is fd one of telemetry's sockets (its listener or a client connection:
 * both are bound to the socket path)? Its inode in *ino. */
static bool
gate_is_tel_socket(int fd, const char *path, ino_t *ino)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
	    sa.sun_family != AF_UNIX || strncmp(sa.sun_path, path, sizeof(sa.sun_path)) != 0)
		return false;
	*ino = st.st_ino;
	return true;
}

/* Shut down every telemetry socket not yet in socks; returns the new count. */
static unsigned int
gate_cut(const char *path, struct gate_sock *socks, unsigned int n)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	if (dir == NULL)
		return n;
	while ((e = readdir(dir)) != NULL && n < GATE_MAX_SOCKS) {
		int fd = atoi(e->d_name), acc = 0;
		socklen_t alen = sizeof(acc);
		bool known = false;
		ino_t ino;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(dir) ||
		    !gate_is_tel_socket(fd, path, &ino))
			continue;
		for (unsigned int i = 0; i < n; i++)
			known |= socks[i].fd == fd && socks[i].ino == ino;
		if (known)
			continue;
		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen);
		shutdown(fd, SHUT_RDWR);
		socks[n++] = (struct gate_sock){ .fd = fd, .ino = ino, .listener = acc != 0 };
	}
	closedir(dir);
	return n;
}

/* Client sockets of socks still open (their thread has not finished). The
 * listener's fd is never closed by DPDK (its thread just quits). */
static unsigned int
gate_open(const char *path, const struct gate_sock *socks, unsigned int n)
{
	unsigned int open = 0;

	for (unsigned int i = 0; i < n; i++) {
		ino_t ino;

		open += !socks[i].listener && gate_is_tel_socket(socks[i].fd, path, &ino) &&
			ino == socks[i].ino;
	}
	return open;
}

void
sl_telemetry_quiesce(void)
{
	struct gate_sock socks[GATE_MAX_SOCKS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc();
	unsigned int n = 0, left;
	bool warned = false;

	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
	/* Twice: a client accepted while the first pass ran is caught by the
	 * second, and the listener accepts no more once it is shut. */
	n = gate_cut(path, socks, n);
	n = gate_cut(path, socks, n);
	/*
	 * A client thread inside a command finishes it, then reads EOF and
	 * closes. After a second, only our own commands are waited for (what
	 * they read is about to be freed); a client thread that does not
	 * close is left to exit.
	 */
	for (;;) {
		left = gate_open(path, socks, n);
		if (__atomic_load_n(&inflight, __ATOMIC_SEQ_CST) == 0 && left == 0)
			break;
		if (rte_rdtsc() - t0 > hz) {
			if (!warned)
				SL_LOG(WARNING, "telemetry: %u command(s) and %u client(s) "
				       "still running 1 s into shutdown; waiting for the "
				       "commands", __atomic_load_n(&inflight, __ATOMIC_SEQ_CST),
				       left);
			warned = true;
			if (__atomic_load_n(&inflight, __ATOMIC_SEQ_CST) == 0)
				break;
		}
		usleep(1000);
	}
}

unsigned int
sl_telemetry_read_begin(void)
{
	return gate_read_lock();
}

void
sl_telemetry_read_end(unsigned int token)
{
	__atomic_fetch_sub(&readers[token & 1], 1, __ATOMIC_SEQ_CST);
}

/*
 * Callers are serialised (ctl's lock). A reader that loaded the config
 * before the caller published a new one entered before the flip, so it is
 * counted in the old epoch; readers of the new epoch see the new config.
 */
void
sl_telemetry_synchronize(void)
{
	unsigned int old = __atomic_fetch_add(&epoch, 1, __ATOMIC_SEQ_CST) & 1;

	while (__atomic_load_n(&readers[old], __ATOMIC_SEQ_CST) != 0)
		usleep(100);
}
