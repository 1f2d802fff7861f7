/* The access log writer: drains the workers' rings into JSON lines. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "sl_alog.h"
#include "sl_lcore.h"
#include "sl_log.h"

#define DRAIN_BURST 64

struct sl_alog {
	FILE *out;
	char path[4096];            /* reopened on request (logrotate) */
	uint32_t reopen_req;        /* bumped by anyone; the writer reopens */
	uint32_t reopen_done;       /* the last request the writer served */
	unsigned int n;
	volatile bool stop;
	bool running;
	pthread_t thread;
	uint64_t written;
	uint64_t write_errors;
	const char *const *listener_names;
	struct sl_alog_lcore lcores[];
};

static const char *const term_names[SL_ALOG_TERM_MAX] = {
#define SL_ALOG_TERM_NAME(sym, name) name,
	SL_ALOG_TERMS(SL_ALOG_TERM_NAME)
#undef SL_ALOG_TERM_NAME
};

const char *
sl_alog_term_name(unsigned int term)
{
	return term < SL_ALOG_TERM_MAX ? term_names[term] : "unknown";
}

struct sl_alog *
sl_alog_create(const char *path, uint32_t ring_size, uint32_t sample_every,
	       unsigned int n_workers, const char *const *listener_names)
{
	struct sl_alog *a;
	char name[RTE_RING_NAMESIZE];

	a = rte_zmalloc("sl_alog", sizeof(*a) + n_workers * sizeof(a->lcores[0]),
			RTE_CACHE_LINE_SIZE);
	if (a == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	a->n = n_workers;
	a->listener_names = listener_names;
	if (path == NULL || path[0] == '\0')
		return a;   /* disabled: sl_alog_lcore() answers NULL */
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->out = fopen(path, "a");
	if (a->out == NULL) {
		SL_LOG(ERR, "access log %s: %s", path, strerror(errno));
		rte_errno = errno;
		rte_free(a);
		return NULL;
	}
	for (unsigned int i = 0; i < n_workers; i++) {
		snprintf(name, sizeof(name), "sl_alog_%u", i);
		a->lcores[i].sample_every = sample_every ? sample_every : 1;
		a->lcores[i].ring = rte_ring_create_elem(name, sizeof(struct sl_alog_rec),
			ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		if (a->lcores[i].ring == NULL) {
			sl_alog_free(a);
			return NULL;
		}
	}
	return a;
}

struct sl_alog_lcore *
sl_alog_lcore(struct sl_alog *a, unsigned int idx)
{
	return a != NULL && a->out != NULL && idx < a->n ? &a->lcores[idx] : NULL;
}

/* Its counters are the writer's and the log's own (not reset). */
struct sl_lcore_module sl_alog_module = { .name = "alog" };

int
sl_alog_lcore_attach(struct sl_alog *a, struct sl_lcore *lc, unsigned int idx)
{
	return sl_lcore_module_attach(lc, &sl_alog_module, sl_alog_lcore(a, idx));
}

static void
ipv4_str(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
}

/* JSON-escape a short string (paths may hold anything a client sent). */
static void
json_str(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
write_rec(struct sl_alog *a, const struct sl_alog_rec *r)
{
	char ts[40], cip[16], bip[16];
	time_t sec = (time_t)(r->start_us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	ipv4_str(r->client_ip, cip);
	ipv4_str(r->backend_ip, bip);
	fprintf(a->out, "{\"time\":\"%s.%03uZ\",\"client\":\"%s:%u\",", ts,
		(unsigned int)(r->start_us / 1000 % 1000), cip, r->client_port);
	fputs("\"listener\":", a->out);
	json_str(a->out, a->listener_names ? a->listener_names[r->listener] : "", 64);
	if (r->method != 0 || r->path[0] != '\0') {
		/* The order of enum sl_http_method (lib/http is built later). */
		static const char *const methods[] = { "OTHER", "GET", "HEAD",
			"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
			"TRACE" };

		fprintf(a->out, ",\"method\":\"%s\",\"path\":",
			r->method < RTE_DIM(methods) ? methods[r->method] : "OTHER");
		json_str(a->out, r->path, sizeof(r->path));
		fprintf(a->out, ",\"status\":%u", r->status);
	}
	if (r->route != UINT16_MAX)
		fprintf(a->out, ",\"route\":%u", r->route);
	if (r->backend_ip != 0)
		fprintf(a->out, ",\"backend\":\"%s:%u\"", bip, r->backend_port);
	else
		fputs(",\"backend\":null", a->out);
	if (fprintf(a->out, ",\"bytes_in\":%lu,\"bytes_out\":%lu,"
		    "\"upstream_ms\":%.3f,\"total_ms\":%.3f,\"term\":\"%s\"}\n",
		    r->bytes_in, r->bytes_out, r->upstream_us / 1000.0,
		    r->total_us / 1000.0, sl_alog_term_name(r->term)) < 0)
		a->write_errors++;
	else
		a->written++;
}

static unsigned int
drain(struct sl_alog *a)
{
	struct sl_alog_rec recs[DRAIN_BURST];
	unsigned int total = 0;

	for (unsigned int i = 0; i < a->n; i++) {
		unsigned int got;

		do {
			got = rte_ring_sc_dequeue_burst_elem(a->lcores[i].ring, recs,
							     sizeof(recs[0]), DRAIN_BURST,
							     NULL);
			for (unsigned int k = 0; k < got; k++)
				write_rec(a, &recs[k]);
			total += got;
		} while (got == DRAIN_BURST);
	}
	if (total > 0 && fflush(a->out) != 0)
		a->write_errors++;
	return total;
}

/*
 * On the writer thread only, so no record is ever written to a FILE being
 * closed: what was queued before the request goes to the old file, the
 * rest to a new one of the configured name. If the open fails, keep
 * writing to the old one (and say so): losing lines helps nobody.
 */
static void
reopen_check(struct sl_alog *a)
{
	uint32_t req = __atomic_load_n(&a->reopen_req, __ATOMIC_ACQUIRE);
	FILE *f;

	if (req == a->reopen_done)
		return;
	drain(a);
	f = fopen(a->path, "a");
	if (f == NULL) {
		SL_LOG(ERR, "access log reopen %s: %s; still writing the old file",
		       a->path, strerror(errno));
		__atomic_fetch_add(&a->write_errors, 1, __ATOMIC_RELAXED);
	} else {
		fclose(a->out);
		a->out = f;
		SL_LOG(NOTICE, "access log reopened: %s", a->path);
	}
	__atomic_store_n(&a->reopen_done, req, __ATOMIC_RELEASE);
}

static void *
writer(void *arg)
{
	struct sl_alog *a = arg;

	while (!a->stop) {
		reopen_check(a);
		if (drain(a) == 0)
			usleep(10 * 1000);
	}
	drain(a);
	return NULL;
}

int
sl_alog_start(struct sl_alog *a)
{
	int rc;

	if (a == NULL || a->out == NULL)
		return 0;
	rc = rte_ctrl_thread_create(&a->thread, "sl-alog", NULL, writer, a);
	if (rc == 0)
		a->running = true;
	return rc;
}

void
sl_alog_free(struct sl_alog *a)
{
	if (a == NULL)
		return;
	if (a->running) {
		a->stop = true;
		pthread_join(a->thread, NULL);
	}
	for (unsigned int i = 0; i < a->n; i++)
		rte_ring_free(a->lcores[i].ring);
	if (a->out != NULL)
		fclose(a->out);
	rte_free(a);
}

int
sl_alog_reopen(struct sl_alog *a)
{
	if (a == NULL || !a->running)
		return -ENOENT;
	__atomic_fetch_add(&a->reopen_req, 1, __ATOMIC_RELEASE);
	return 0;
}

bool
sl_alog_reopened(const struct sl_alog *a)
{
	return a == NULL ||
	       __atomic_load_n(&a->reopen_done, __ATOMIC_ACQUIRE) ==
	       __atomic_load_n(&a->reopen_req, __ATOMIC_RELAXED);
}

void
sl_alog_counters(const struct sl_alog *a, uint64_t *written, uint64_t *errors)
{
	*written = a ? __atomic_load_n(&a->written, __ATOMIC_RELAXED) : 0;
	*errors = a ? __atomic_load_n(&a->write_errors, __ATOMIC_RELAXED) : 0;
}
