/*
 * The incident flight recorder's ring, snapshots and triggers. The main
 * thread calls sl_incident_tick() from its control loop; once a second it
 * snapshots every backend into the ring, and on every call it looks at the
 * events added since the last one. Telemetry's threads list incidents under
 * inc.lock, which the main thread holds only to publish.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_common.h>

#include "sl_breaker_types.h"
#include "sl_conf.h"
#include "sl_ctl.h"
#include "sl_event.h"
#include "sl_hist.h"
#include "sl_lcore.h"
#include "sl_log.h"
#include "sl_proxy_http.h"
#include "sl_upstream.h"
#include "incident_private.h"

struct inc_state inc = { .lock = PTHREAD_MUTEX_INITIALIZER };

const char *const inc_state_names[SL_INC_N_STATES] = {
	[SL_INC_HEALTHY] = "healthy",
	[SL_INC_SLOW_START] = "slow_start",
	[SL_INC_BREAKER_OPEN] = "breaker_open",
	[SL_INC_BREAKER_HALF_OPEN] = "breaker_half_open",
	[SL_INC_EJECTED] = "ejected",
	[SL_INC_DOWN] = "down",
	[SL_INC_DISABLED] = "disabled",
	[SL_INC_DRAINING] = "draining",
	[SL_INC_MAINTENANCE] = "maintenance",
	[SL_INC_REMOVED] = "removed",
};

uint64_t
inc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- the ring ---------------------------------------------------------- */

int
sl_incident_ring_init(struct sl_incident_ring *r, unsigned int frames,
		      unsigned int rows_per_frame)
{
	memset(r, 0, sizeof(*r));
	if (frames == 0 || rows_per_frame == 0)
		return -EINVAL;
	r->frames = calloc(frames, sizeof(*r->frames));
	r->rows = calloc((size_t)frames * rows_per_frame, sizeof(*r->rows));
	if (r->frames == NULL || r->rows == NULL) {
		sl_incident_ring_free(r);
		return -ENOMEM;
	}
	r->cap = frames;
	r->rows_cap = rows_per_frame;
	for (unsigned int i = 0; i < frames; i++)
		r->frames[i].rows = r->rows + (size_t)i * rows_per_frame;
	return 0;
}

void
sl_incident_ring_free(struct sl_incident_ring *r)
{
	free(r->frames);
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

struct sl_incident_frame *
sl_incident_ring_push(struct sl_incident_ring *r, uint64_t mono_ms,
		      uint64_t wall)
{
	struct sl_incident_frame *f = &r->frames[r->pushed % r->cap];

	r->pushed++;
	f->mono_ms = mono_ms;
	f->wall_us = wall;
	f->generation = 0;
	f->n_rows = 0;
	return f;
}

unsigned int
sl_incident_ring_window(const struct sl_incident_ring *r, uint64_t from_ms,
			uint64_t to_ms, const struct sl_incident_frame **out,
			unsigned int max)
{
	uint64_t first = r->pushed > r->cap ? r->pushed - r->cap : 0;
	unsigned int n = 0;

	for (uint64_t i = first; i < r->pushed && n < max; i++) {
		const struct sl_incident_frame *f = &r->frames[i % r->cap];

		if (f->mono_ms >= from_ms && f->mono_ms <= to_ms)
			out[n++] = f;
	}
	return n;
}

/* ---- triggers ---------------------------------------------------------- */

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * The texts are lib/upstream's (upstream_thread.c, upstream_rootcause.c):
 * only the event that starts trouble counts, not its end (a breaker
 * closing, a backend returning, an alarm clearing, shedding ending).
 */
bool
sl_incident_is_trigger(const struct sl_event *e)
{
	if (strcmp(e->kind, "rootcause") == 0)
		return !starts(e->text, "cleared");
	if (strcmp(e->kind, "ejection") == 0)
		return starts(e->text, "ejected");
	if (strcmp(e->kind, "breaker") == 0)
		return starts(e->text, "opened") || starts(e->text, "probe failed") ||
		       starts(e->text, "forced open");
	if (strcmp(e->kind, "panic") == 0)
		return starts(e->text, "entered");
	if (strcmp(e->kind, "slow") == 0)
		return starts(e->text, "slow:");
	if (strcmp(e->kind, "shed") == 0)
		return strstr(e->text, "refusing") != NULL;
	return false;
}

/* ---- snapshots --------------------------------------------------------- */

static enum sl_incident_bstate
backend_state(const struct sl_up_backend *b)
{
	switch (SL_UP_LOAD(b->admin)) {
	case SL_UP_ADMIN_DRAINING:
		return SL_INC_DRAINING;
	case SL_UP_ADMIN_MAINTENANCE:
		return SL_INC_MAINTENANCE;
	case SL_UP_ADMIN_REMOVED:
		return SL_INC_REMOVED;
	default:
		break;
	}
	if (SL_UP_LOAD(b->weight) == 0)
		return SL_INC_DISABLED;
	if (SL_UP_LOAD(b->health) == SL_UP_HEALTH_DOWN)
		return SL_INC_DOWN;
	if (SL_UP_LOAD(b->ejected))
		return SL_INC_EJECTED;
	if (SL_UP_LOAD(b->breaker) == SL_BREAKER_OPEN)
		return SL_INC_BREAKER_OPEN;
	if (SL_UP_LOAD(b->breaker) == SL_BREAKER_HALF_OPEN)
		return SL_INC_BREAKER_HALF_OPEN;
	if (SL_UP_LOAD(b->ready_since_ms) != 0)
		return SL_INC_SLOW_START;
	return SL_INC_HEALTHY;
}

/* p50/p99 of the requests that ended since the last snapshot of slot. */
static void
latency_delta(const struct sl_dp *dp, unsigned int slot, struct sl_incident_row *row)
{
	struct sl_hist *acc = &inc.scratch[0], *d = &inc.scratch[1];
	struct sl_hist *prev = &inc.prev_hist[slot];
	uint64_t n = 0;

	memset(acc, 0, sizeof(*acc));
	for (unsigned int w = 0; w < dp->n_workers; w++) {
		const struct sl_h1_proxy *hp = sl_h1_proxy_of(dp->workers[w]);

		if (hp != NULL && hp->backend_total != NULL && slot < hp->n_backend_hists)
			sl_hist_merge(acc, &hp->backend_total[slot]);
	}
	memset(d, 0, sizeof(*d));
	/* A counter reset makes the totals go down: start over from zero. */
	if (acc->count < prev->count)
		memset(prev, 0, sizeof(*prev));
	for (unsigned int i = 0; i < SL_HIST_BUCKETS; i++) {
		uint64_t v = acc->buckets[i] > prev->buckets[i] ?
			     acc->buckets[i] - prev->buckets[i] : 0;

		d->buckets[i] = v;
		n += v;
		if (v != 0)
			d->max = sl_hist_bucket_high(i);
	}
	d->count = n;
	row->p50_us = (uint32_t)RTE_MIN(sl_hist_quantile(d, 0.5), UINT32_MAX);
	row->p99_us = (uint32_t)RTE_MIN(sl_hist_quantile(d, 0.99), UINT32_MAX);
	*prev = *acc;
}

static uint32_t
delta(uint64_t now, uint64_t *prev)
{
	uint64_t d = now >= *prev ? now - *prev : now;

	*prev = now;
	return (uint32_t)RTE_MIN(d, UINT32_MAX);
}

/* One frame: every live backend of every live pool. Inside the read side. */
static void
snapshot(struct sl_dp *dp, struct sl_incident_frame *f)
{
	const struct sl_conf *c = __atomic_load_n(&dp->conf, __ATOMIC_ACQUIRE);
	struct sl_upstream *u = dp->up;

	f->generation = c->generation;
	for (unsigned int p = 0; p < c->n_pools && p < u->n_pools; p++) {
		const struct sl_conf_pool *cp = &c->pools[p];
		const struct sl_up_pool *up = &u->pools[p];

		if (cp->removed)
			continue;
		for (unsigned int i = 0; i < cp->n_backends && i < up->n; i++) {
			const struct sl_up_backend *b = &up->b[i];
			unsigned int slot = cp->slot_base + i;
			struct sl_incident_row *r;
			uint64_t fails;

			if (cp->backends[i].removed || f->n_rows == inc.ring.rows_cap ||
			    slot >= inc.n_slots)
				continue;
			r = &f->rows[f->n_rows++];
			snprintf(r->pool, sizeof(r->pool), "%s", cp->name);
			snprintf(r->backend, sizeof(r->backend), "%s", cp->backends[i].name);
			r->requests = SL_UP_LOAD(b->requests);
			r->status_2xx = SL_UP_LOAD(b->status_2xx);
			r->status_5xx = SL_UP_LOAD(b->status_5xx);
			fails = SL_UP_LOAD(b->fail_status) + SL_UP_LOAD(b->fail_connect) +
				SL_UP_LOAD(b->fail_reset) + SL_UP_LOAD(b->fail_timeout);
			r->failures = fails;
			r->rps = delta(r->requests, &inc.prev_req[slot]);
			r->d5xx = delta(r->status_5xx, &inc.prev_5xx[slot]);
			r->dfail = delta(fails, &inc.prev_fail[slot]);
			r->inflight = SL_UP_LOAD(b->inflight);
			r->pending = SL_UP_LOAD(b->pending);
			r->conns = SL_UP_LOAD(b->conns);
			r->weight = SL_UP_LOAD(b->weight);
			r->eff_weight = SL_UP_LOAD(b->eff_weight);
			r->state = (uint8_t)backend_state(b);
			r->breaker = SL_UP_LOAD(b->breaker);
			r->rootcause = SL_UP_LOAD(up->rc_alarm) &&
				       SL_UP_LOAD(up->rc_backend) == (int32_t)i;
			latency_delta(dp, slot, r);
		}
	}
}

/* ---- config generations ------------------------------------------------ */

/*
 * Keep a copy of each generation's bytes as it starts to run, and of the
 * one before, for the bundle's config and diff. ctl's lock is taken here,
 * never inside the read side (a reload holds it while it waits for readers).
 */
static void
track_config(void)
{
	struct sl_ctl_config_info info;
	struct inc_config next = { 0 };
	size_t len;

	sl_ctl_config(&info, NULL, 0);
	if (info.generation == inc.cur.generation && inc.cur.text != NULL)
		return;
	len = info.len;
	next.text = malloc(len + 1);
	if (next.text == NULL)
		return;
	sl_ctl_config(&info, next.text, len + 1);
	if (info.len != len) {      /* changed in between: next second */
		free(next.text);
		return;
	}
	next.len = len;
	next.generation = info.generation;
	next.loaded_unix = info.loaded_unix;
	snprintf(next.sha256_hex, sizeof(next.sha256_hex), "%s", info.sha256_hex);
	snprintf(next.source, sizeof(next.source), "%s", info.source);
	free(inc.prev.text);
	inc.prev = inc.cur;
	inc.cur = next;
}

/* ---- incidents --------------------------------------------------------- */

/* Add "pool/backend" to the incident's list once, while there is room. */
static void
name_backend(struct sl_incident_info *info, const struct sl_event *e)
{
	char name[2 * SL_NAME_MAX + 2];
	size_t have = strlen(info->backends);
	const char *s = info->backends;
	size_t n;

	if (e->backend[0] == '\0')
		return;
	snprintf(name, sizeof(name), "%s/%s", e->pool, e->backend);
	n = strlen(name);
	while ((s = strstr(s, name)) != NULL) {
		if ((s == info->backends || s[-1] == ',') && (s[n] == ',' || s[n] == '\0'))
			return;
		s += n;
	}
	if (have + n + 2 > sizeof(info->backends))
		return;
	snprintf(info->backends + have, sizeof(info->backends) - have, "%s%s",
		 have ? "," : "", name);
}

/* Room for one more entry: the oldest frozen one goes (its bundle stays). */
static struct inc_entry *
entry_new(void)
{
	if (inc.n_entries == inc.cap) {
		free(inc.entries[0].timeline);
		memmove(&inc.entries[0], &inc.entries[1],
			(inc.cap - 1) * sizeof(inc.entries[0]));
		inc.n_entries--;
	}
	memset(&inc.entries[inc.n_entries], 0, sizeof(inc.entries[0]));
	return &inc.entries[inc.n_entries++];
}

static void
trigger(const struct sl_event *e, uint64_t now)
{
	struct inc_entry *x;

	pthread_mutex_lock(&inc.lock);
	if (inc.has_open) {
		x = &inc.entries[inc.n_entries - 1];
		x->info.n_triggers++;
		name_backend(&x->info, e);
		pthread_mutex_unlock(&inc.lock);
		return;
	}
	x = entry_new();
	x->info.id = ++inc.next_id;
	x->info.start_us = e->wall_us;
	snprintf(x->info.trigger, sizeof(x->info.trigger), "%s", e->kind);
	snprintf(x->info.trigger_text, sizeof(x->info.trigger_text), "%s", e->text);
	snprintf(x->trigger_pool, sizeof(x->trigger_pool), "%s", e->pool);
	snprintf(x->trigger_backend, sizeof(x->trigger_backend), "%s", e->backend);
	x->info.n_triggers = 1;
	x->info.state = SL_INCIDENT_OPEN;
	name_backend(&x->info, e);
	x->start_ms = now;
	x->due_ms = now + (uint64_t)inc.conf.after_s * 1000;
	inc.has_open = true;
	inc.counts.started++;
	inc.counts.open = 1;
	pthread_mutex_unlock(&inc.lock);
	SL_LOG(NOTICE, "incident %u opened by %s%s%s%s%s; bundle in %u s",
	       x->info.id, e->kind, e->pool[0] ? " pool " : "", e->pool,
	       e->backend[0] ? " backend " : "", e->backend, inc.conf.after_s);
}

static void
scan_events(struct sl_dp *dp, uint64_t now)
{
	struct sl_event ev[32];
	uint64_t added, cap;
	bool config = false;
	unsigned int n;

	sl_event_counts(dp->events, &added, &cap);
	while (added > inc.last_seq &&
	       (n = sl_event_read(dp->events, inc.last_seq, ev, RTE_DIM(ev))) > 0) {
		for (unsigned int i = 0; i < n; i++) {
			config |= strcmp(ev[i].kind, "config") == 0;
			if (sl_incident_is_trigger(&ev[i]))
				trigger(&ev[i], now);
		}
		inc.last_seq = ev[n - 1].seq;
	}
	/* A change was applied (or refused): copy the running config now, so
	 * that two changes a second apart are both seen as generations. */
	if (config)
		track_config();
}

/* ---- lifecycle --------------------------------------------------------- */

int
sl_incident_init(struct sl_dp *dp, unsigned int (*read_begin)(void),
		 void (*read_end)(unsigned int), char *err, size_t len)
{
	const struct sl_conf *c = dp->conf;
	unsigned int frames, rows = 0;
	uint64_t added, cap;

	inc.dp = dp;
	inc.read_begin = read_begin;
	inc.read_end = read_end;
	inc.conf = c->incidents;
	/* Room for every backend a reload may add within the layout. */
	inc.n_slots = c->slot_cap;
	rows = RTE_MIN(c->slot_cap, 4096u);
	/* The window, plus a frame either side of it. */
	frames = inc.conf.before_s + inc.conf.after_s + 2;
	inc.cap = inc.conf.max_bundles + 1;
	inc.entries = calloc(inc.cap, sizeof(*inc.entries));
	inc.prev_hist = calloc(RTE_MAX(inc.n_slots, 1u), sizeof(*inc.prev_hist));
	inc.prev_req = calloc(RTE_MAX(inc.n_slots, 1u), sizeof(uint64_t));
	inc.prev_5xx = calloc(RTE_MAX(inc.n_slots, 1u), sizeof(uint64_t));
	inc.prev_fail = calloc(RTE_MAX(inc.n_slots, 1u), sizeof(uint64_t));
	if (inc.entries == NULL || inc.prev_hist == NULL || inc.prev_req == NULL ||
	    inc.prev_5xx == NULL || inc.prev_fail == NULL ||
	    sl_incident_ring_init(&inc.ring, frames, RTE_MAX(rows, 1u)) != 0) {
		snprintf(err, len, "incident recorder: out of memory");
		sl_incident_free();
		return -1;
	}
	snprintf(inc.counts.dir, sizeof(inc.counts.dir), "%s", inc.conf.dir);
	inc.counts.before_s = inc.conf.before_s;
	inc.counts.after_s = inc.conf.after_s;
	inc.counts.max_bundles = inc.conf.max_bundles;
	inc.counts.max_bundle_bytes = inc.conf.max_bundle_bytes;
	/* Events from before the recorder started open nothing. */
	sl_event_counts(dp->events, &added, &cap);
	inc.last_seq = added;
	inc.next_sample_ms = inc_now_ms();
	track_config();
	inc.on = true;
	SL_LOG(INFO, "incident recorder: %u s before, %u s after, %u bundles of "
	       "at most %llu bytes in %s", inc.conf.before_s, inc.conf.after_s,
	       inc.conf.max_bundles, (unsigned long long)inc.conf.max_bundle_bytes,
	       inc.conf.dir);
	return 0;
}

void
sl_incident_tick(struct sl_dp *dp)
{
	uint64_t now = inc_now_ms();

	if (!inc.on)
		return;
	if (now >= inc.next_sample_ms) {
		struct sl_incident_frame *f;
		unsigned int rd = 0;

		track_config();
		f = sl_incident_ring_push(&inc.ring, now, wall_us());
		if (inc.read_begin != NULL)
			rd = inc.read_begin();
		snapshot(dp, f);
		if (inc.read_end != NULL)
			inc.read_end(rd);
		inc.counts.snapshots++;
		inc.last_sample_ms = now;
		/* A late tick does not make the next one early. */
		inc.next_sample_ms += 1000;
		if (inc.next_sample_ms <= now)
			inc.next_sample_ms = now + 1000;
	}
	scan_events(dp, now);
	/* Frozen after the first snapshot past the window, so that the
	 * after-window holds after_s seconds of snapshots. */
	if (inc.has_open && now >= inc.entries[inc.n_entries - 1].due_ms &&
	    inc.last_sample_ms >= inc.entries[inc.n_entries - 1].due_ms)
		inc_freeze(&inc.entries[inc.n_entries - 1], now);
}

void
sl_incident_free(void)
{
	if (inc.on && inc.has_open)
		inc_freeze(&inc.entries[inc.n_entries - 1], inc_now_ms());
	pthread_mutex_lock(&inc.lock);
	inc.on = false;
	for (unsigned int i = 0; i < inc.n_entries; i++)
		free(inc.entries[i].timeline);
	free(inc.entries);
	inc.entries = NULL;
	inc.n_entries = 0;
	pthread_mutex_unlock(&inc.lock);
	free(inc.prev_hist);
	free(inc.prev_req);
	free(inc.prev_5xx);
	free(inc.prev_fail);
	inc.prev_hist = NULL;
	inc.prev_req = inc.prev_5xx = inc.prev_fail = NULL;
	free(inc.cur.text);
	free(inc.prev.text);
	memset(&inc.cur, 0, sizeof(inc.cur));
	memset(&inc.prev, 0, sizeof(inc.prev));
	sl_incident_ring_free(&inc.ring);
}

/* ---- reads (telemetry's threads) --------------------------------------- */

unsigned int
sl_incident_list(struct sl_incident_info *out, unsigned int max,
		 struct sl_incident_counts *counts)
{
	unsigned int n = 0;

	pthread_mutex_lock(&inc.lock);
	for (unsigned int i = 0; i < inc.n_entries && n < max; i++)
		out[n++] = inc.entries[i].info;
	if (counts != NULL)
		*counts = inc.counts;
	pthread_mutex_unlock(&inc.lock);
	return n;
}

long
sl_incident_timeline(uint32_t id, char *buf, size_t cap,
		     struct sl_incident_info *info)
{
	long len = -ENOENT;

	pthread_mutex_lock(&inc.lock);
	for (unsigned int i = 0; i < inc.n_entries; i++) {
		const struct inc_entry *e = &inc.entries[i];
		size_t n;

		if (e->info.id != id)
			continue;
		*info = e->info;
		len = (long)e->timeline_len;
		n = RTE_MIN(e->timeline_len, cap ? cap - 1 : 0);
		if (cap > 0) {
			if (e->timeline != NULL)
				memcpy(buf, e->timeline, n);
			buf[n] = '\0';
		}
		break;
	}
	pthread_mutex_unlock(&inc.lock);
	return len;
}
