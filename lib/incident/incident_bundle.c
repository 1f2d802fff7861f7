/*
 * Freezing an incident: its bundle (snapshots, events, configs, diff,
 * timeline, manifest) built in memory on the main thread, bounded by
 * incidents.max_bundle_bytes, written to a temporary directory and renamed
 * into place, so a reader never sees half a bundle. Any failure leaves the
 * incident listed with the error; nothing here can stop the gateway.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sl_breaker.h"
#include "sl_event.h"
#include "sl_log.h"
#include "incident_private.h"

#define MAX_EVENTS 4096          /* of the window, in the bundle */
#define MAX_TIMELINE_LINES 300
#define MAX_DIFF_LINES 200
#define MANIFEST_ROOM 8192       /* what the manifest may take, reserved */

static const char PACKETS_NOTE[] =
	"not recorded: a packet ring would copy every packet on the workers' "
	"fast path; start a capture (/sluice/capture_start) while an incident lasts";

struct bundle {
	struct inc_entry *e;
	const struct sl_incident_frame **fr;
	unsigned int n_frames, n_before;
	struct sl_event *ev;
	unsigned int n_ev;
	bool events_lost;            /* the log had overwritten part of the window */
	uint64_t t0_us;              /* the timeline's zero */
	json_t *cur, *prev;          /* parsed configs, NULL when absent or bad */
	char *diff;
	unsigned int n_diffs;
	struct inc_buf timeline;
	unsigned int timeline_lines, timeline_cut;
};

/* ---- events of the window ---------------------------------------------- */

static void
read_events(struct bundle *b, uint64_t from_us)
{
	struct sl_event page[64];
	uint64_t after = 0, added, cap;
	unsigned int n;

	b->ev = calloc(MAX_EVENTS, sizeof(*b->ev));
	if (b->ev == NULL)
		return;
	sl_event_counts(inc.dp->events, &added, &cap);
	while ((n = sl_event_read(inc.dp->events, after, page, RTE_DIM(page))) > 0) {
		if (after == 0 && page[0].seq > 1 && page[0].wall_us >= from_us)
			b->events_lost = true;
		for (unsigned int i = 0; i < n && b->n_ev < MAX_EVENTS; i++)
			if (page[i].wall_us >= from_us)
				b->ev[b->n_ev++] = page[i];
		after = page[n - 1].seq;
	}
}

static json_t *
events_json(const struct bundle *b)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a != NULL && i < b->n_ev; i++) {
		const struct sl_event *e = &b->ev[i];

		json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}",
			"seq", (json_int_t)e->seq, "time_us", (json_int_t)e->wall_us,
			"kind", e->kind, "pool", e->pool, "backend", e->backend,
			"text", e->text));
	}
	return a;
}

/* ---- snapshots --------------------------------------------------------- */

static double
rel_s(const struct bundle *b, uint64_t us)
{
	return ((double)us - (double)b->t0_us) / 1e6;
}

static char *
frame_json(const struct bundle *b, const struct sl_incident_frame *f)
{
	json_t *rows = json_array(), *o;
	char *s;

	for (unsigned int i = 0; rows != NULL && i < f->n_rows; i++) {
		const struct sl_incident_row *r = &f->rows[i];

		json_array_append_new(rows, json_pack(
			"{s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:i,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:b}",
			"pool", r->pool, "backend", r->backend,
			"state", inc_state_names[r->state],
			"breaker", sl_breaker_state_name(r->breaker),
			"weight", (int)r->weight, "effective_weight", (int)r->eff_weight,
			"requests", (json_int_t)r->requests, "requests_per_s", (int)r->rps,
			"status_2xx", (json_int_t)r->status_2xx,
			"status_5xx", (json_int_t)r->status_5xx,
			"failures", (json_int_t)r->failures,
			"failures_per_s", (int)r->dfail, "inflight", (int)r->inflight,
			"pending", (int)r->pending, "conns", (int)r->conns,
			"p50_us", (int)r->p50_us, "p99_us", (int)r->p99_us,
			"rootcause", r->rootcause != 0));
	}
	o = json_pack("{s:f,s:I,s:I,s:o}", "t_s", rel_s(b, f->wall_us),
		      "wall_us", (json_int_t)f->wall_us,
		      "generation", (json_int_t)f->generation, "backends", rows);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(o);
	return s;
}

/* ---- the timeline ------------------------------------------------------ */

static void
tl_line(struct bundle *b, double t, const char *fmt, const char *a,
	const char *c)
{
	if (b->timeline_lines >= MAX_TIMELINE_LINES) {
		b->timeline_cut++;
		return;
	}
	b->timeline_lines++;
	inc_buf_printf(&b->timeline, "%6.1f s ", t);
	inc_buf_printf(&b->timeline, fmt, a, c);
	inc_buf_printf(&b->timeline, "\n");
}

/* A config pointer in words: /pools/0/backends/1/weight -> "web/b1 weight". */
static void
humanise(const json_t *root, const char *line, char *out, size_t len)
{
	unsigned int pi, bi;
	int used = 0;

	if (root != NULL && sscanf(line, "/pools/%u/backends/%u/%n", &pi, &bi, &used) == 2 &&
	    used > 0) {
		const json_t *p = json_array_get(json_object_get(root, "pools"), pi);
		const json_t *be = json_array_get(json_object_get(p, "backends"), bi);
		const char *pn = json_string_value(json_object_get(p, "name"));
		const char *bn = json_string_value(json_object_get(be, "name"));

		if (pn != NULL && bn != NULL) {
			snprintf(out, len, "%s/%s %s", pn, bn, line + used);
			goto done;
		}
	}
	snprintf(out, len, "%s", line);
done:
	/* "weight: 1 -> 10" reads better as "weight 1 -> 10". */
	for (char *s = strstr(out, ": "); s != NULL; s = NULL)
		memmove(s, s + 1, strlen(s + 1) + 1);
}

/* The last config change applied in the window: what it changed. */
static void
tl_change(struct bundle *b, double t)
{
	char words[160], line[400] = "";
	const char *s = b->diff;
	unsigned int n = 0;

	while (s != NULL && *s != '\0' && n < 3) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		char one[160];

		snprintf(one, sizeof(one), "%.*s", (int)RTE_MIN(l, sizeof(one) - 1), s);
		humanise(b->cur, one, words, sizeof(words));
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s",
			 n ? "; " : "", words);
		n++;
		s = nl ? nl + 1 : NULL;
	}
	if (n == 0)
		return;
	if (b->n_diffs > n)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 " (+%u more in config.diff)", b->n_diffs - n);
	tl_line(b, t, "  changed: %s%s", line, "");
}

static const struct sl_incident_row *
row_of(const struct sl_incident_frame *f, const struct sl_incident_row *r)
{
	for (unsigned int i = 0; f != NULL && i < f->n_rows; i++)
		if (strcmp(f->rows[i].pool, r->pool) == 0 &&
		    strcmp(f->rows[i].backend, r->backend) == 0)
			return &f->rows[i];
	return NULL;
}

static void
fmt_ms(uint32_t us, char *buf, size_t len)
{
	if (us >= 10000)
		snprintf(buf, len, "%u ms", (us + 500) / 1000);
	else
		snprintf(buf, len, "%.1f ms", us / 1000.0);
}

/* What stood out in one second, one line per backend. */
static void
tl_frame(struct bundle *b, const struct sl_incident_frame *f,
	 const struct sl_incident_frame *before)
{
	for (unsigned int i = 0; i < f->n_rows; i++) {
		const struct sl_incident_row *r = &f->rows[i], *p = row_of(before, r);
		double peer_in = 0, peer_p99 = 0;
		unsigned int peers = 0, served = 0;
		char what[400] = "", a[24], c[24], who[2 * SL_NAME_MAX + 2];
		size_t n;

		for (unsigned int j = 0; j < f->n_rows; j++) {
			if (j == i || strcmp(f->rows[j].pool, r->pool) != 0)
				continue;
			peer_in += f->rows[j].inflight;
			peers++;
			/* Latency of peers that served requests in that second only. */
			if (f->rows[j].rps > 0) {
				peer_p99 += f->rows[j].p99_us;
				served++;
			}
		}
		if (peers > 0)
			peer_in /= peers;
		if (served > 0)
			peer_p99 /= served;
		n = 0;
#define ADD(...) n += (size_t)snprintf(what + n, n < sizeof(what) ? sizeof(what) - n : 0, __VA_ARGS__)
		if (p != NULL && p->state != r->state)
			ADD("%s%s -> %s", n ? ", " : "", inc_state_names[p->state],
			    inc_state_names[r->state]);
		if (p != NULL && p->weight != r->weight)
			ADD("%sweight %u -> %u", n ? ", " : "", p->weight, r->weight);
		if (r->rootcause && (p == NULL || !p->rootcause))
			ADD("%sroot-cause alarm names it", n ? ", " : "");
		if (r->inflight >= 4 && r->inflight >= 3 * RTE_MAX(peer_in, 1.0))
			ADD("%sin flight %u (peers %.0f)", n ? ", " : "", r->inflight, peer_in);
		if (peer_p99 > 0 && r->p99_us >= 10000 && r->p99_us >= 2 * peer_p99) {
			fmt_ms(r->p99_us, a, sizeof(a));
			fmt_ms((uint32_t)peer_p99, c, sizeof(c));
			ADD("%sp99 %s (peers %s)", n ? ", " : "", a, c);
		}
		if (r->d5xx > 0 || r->dfail > 0)
			ADD("%s%u 5xx, %u failed of %u", n ? ", " : "", r->d5xx, r->dfail,
			    r->rps);
#undef ADD
		if (n == 0)
			continue;
		snprintf(who, sizeof(who), "%s/%s", r->pool, r->backend);
		tl_line(b, rel_s(b, f->wall_us), "%s %s", who, what);
	}
}

static void
build_timeline(struct bundle *b)
{
	const struct inc_entry *e = b->e;
	int last_config = -1;
	unsigned int fi = 0;
	char when[32];
	time_t ts = (time_t)(e->info.start_us / 1000000);
	struct tm tm;

	gmtime_r(&ts, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	inc_buf_printf(&b->timeline, "incident %u: %s %s%s%s: %s\n", e->info.id,
		       e->info.trigger, e->trigger_pool, e->trigger_backend[0] ? "/" : "",
		       e->trigger_backend, e->info.trigger_text);
	inc_buf_printf(&b->timeline, "opened %s (at %.1f s below), %u trigger(s), backends "
		       "named: %s\n", when, rel_s(b, e->info.start_us), e->info.n_triggers,
		       e->info.backends[0] ? e->info.backends : "none");
	for (unsigned int i = 0; i < b->n_ev; i++)
		if (strcmp(b->ev[i].kind, "config") == 0 && strstr(b->ev[i].text, "applied"))
			last_config = (int)i;
	/* Events and seconds, merged in time order. */
	for (unsigned int i = 0; i <= b->n_ev; i++) {
		uint64_t t = i < b->n_ev ? b->ev[i].wall_us : UINT64_MAX;
		char who[2 * SL_NAME_MAX + 2], line[SL_EVENT_TEXT + 200];

		for (; fi < b->n_frames && b->fr[fi]->wall_us <= t; fi++)
			tl_frame(b, b->fr[fi], fi > 0 ? b->fr[fi - 1] : NULL);
		if (i == b->n_ev)
			break;
		snprintf(who, sizeof(who), "%s%s%s", b->ev[i].pool[0] ? b->ev[i].pool : "gateway",
			 b->ev[i].backend[0] ? "/" : "", b->ev[i].backend);
		snprintf(line, sizeof(line), "%s %s: %s", b->ev[i].kind, who, b->ev[i].text);
		tl_line(b, rel_s(b, b->ev[i].wall_us), "%s%s", line, "");
		if ((int)i == last_config)
			tl_change(b, rel_s(b, b->ev[i].wall_us));
	}
	if (b->timeline_cut > 0)
		inc_buf_printf(&b->timeline, "... %u more line(s): see snapshots.json and "
			       "events.json\n", b->timeline_cut);
}

/* ---- writing ----------------------------------------------------------- */

/* mkdir -p for the configured directory. */
static int
make_dirs(const char *dir)
{
	char p[1024];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) != 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0750) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
write_file(const char *dir, const char *name, const char *data, size_t len,
	   json_t *files)
{
	char path[1400];
	size_t off = 0;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0)
		json_object_set_new(files, name, json_integer((json_int_t)len));
	return rc;
}

struct part {
	const char *name;
	char *data;                  /* malloc'ed unless borrowed */
	size_t len;
	bool borrowed;
};

static void
bundle_name(const struct inc_entry *e, char *out, size_t len)
{
	time_t ts = (time_t)(e->info.start_us / 1000000);
	struct tm tm;
	char when[24];

	gmtime_r(&ts, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, len, "incident-%s-%d-%06u", when, (int)getpid(), e->info.id);
}

/* Remove what a failed write left in the temporary directory. */
static void
remove_tmp(const char *tmp, const json_t *files)
{
	char path[1400];
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)files, k, v) {
		snprintf(path, sizeof(path), "%s/%s", tmp, k);
		unlink(path);
	}
	rmdir(tmp);
}

static int
write_bundle(struct bundle *b, struct part *parts, unsigned int n_parts,
	     json_t *manifest, char *path, size_t path_len, uint64_t *bytes,
	     char *err, size_t err_len)
{
	char name[128], tmp[1300];
	json_t *files = json_object();
	uint64_t total = 0;
	char *m = NULL;
	int rc;

	bundle_name(b->e, name, sizeof(name));
	rc = make_dirs(inc.conf.dir);
	if (rc != 0) {
		snprintf(err, err_len, "cannot create %.120s: %s", inc.conf.dir, strerror(-rc));
		json_decref(files);
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", inc.conf.dir, name);
	snprintf(path, path_len, "%s/%s", inc.conf.dir, name);
	if (mkdir(tmp, 0750) != 0) {
		rc = -errno;
		snprintf(err, err_len, "cannot create %.120s: %s", tmp, strerror(-rc));
		json_decref(files);
		return rc;
	}
	for (unsigned int i = 0; rc == 0 && i < n_parts; i++) {
		if (parts[i].data == NULL)
			continue;
		rc = write_file(tmp, parts[i].name, parts[i].data, parts[i].len, files);
		total += parts[i].len;
	}
	if (rc == 0) {
		json_object_set(manifest, "files", files);
		m = json_dumps(manifest, JSON_INDENT(2));
		rc = m ? write_file(tmp, "incident.json", m, strlen(m), files) : -ENOMEM;
		total += m ? strlen(m) : 0;
		free(m);
	}
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		snprintf(err, err_len, "cannot write the bundle in %.120s: %s", tmp,
			 strerror(-rc));
		remove_tmp(tmp, files);
		path[0] = '\0';
	}
	json_decref(files);
	*bytes = total;
	return rc;
}

static json_t *
config_meta(const struct inc_config *c)
{
	if (c->text == NULL)
		return json_null();
	return json_pack("{s:I,s:s,s:s,s:I,s:I}", "generation", (json_int_t)c->generation,
			 "sha256", c->sha256_hex, "source", c->source,
			 "loaded_unix", (json_int_t)c->loaded_unix, "bytes", (json_int_t)c->len);
}

void
inc_freeze(struct inc_entry *e, uint64_t now_ms)
{
	const uint64_t before_ms = (uint64_t)inc.conf.before_s * 1000;
	struct bundle b = { .e = e };
	struct part parts[8];
	unsigned int np = 0, first = 0, last = 0, dropped = 0;
	char *ev_text = NULL, *sha = NULL, err[192] = "", path[1280] = "";
	size_t *fsize = NULL, fixed = MANIFEST_ROOM, snap_len = 0;
	char **fjson = NULL, *snap = NULL;
	json_t *manifest, *evj;
	uint64_t bytes = 0;
	const char *omitted = "";
	int rc;

	b.fr = calloc(inc.ring.cap, sizeof(*b.fr));
	if (b.fr != NULL)
		b.n_frames = sl_incident_ring_window(&inc.ring,
			e->start_ms > before_ms ? e->start_ms - before_ms : 0,
			now_ms, b.fr, inc.ring.cap);
	for (unsigned int i = 0; i < b.n_frames; i++)
		b.n_before += b.fr[i]->mono_ms < e->start_ms;
	read_events(&b, e->info.start_us > before_ms * 1000 ?
		    e->info.start_us - before_ms * 1000 : 0);
	b.t0_us = b.n_frames > 0 ? b.fr[0]->wall_us : e->info.start_us;
	if (b.n_ev > 0 && b.ev[0].wall_us < b.t0_us)
		b.t0_us = b.ev[0].wall_us;
	if (inc.cur.text != NULL)
		b.cur = json_loadb(inc.cur.text, inc.cur.len, 0, NULL);
	if (inc.prev.text != NULL)
		b.prev = json_loadb(inc.prev.text, inc.prev.len, 0, NULL);
	if (b.cur != NULL && b.prev != NULL)
		b.diff = sl_incident_diff(b.prev, b.cur, MAX_DIFF_LINES, &b.n_diffs);
	build_timeline(&b);

	/* Everything but the snapshots is fixed; the snapshots fit the rest. */
	evj = events_json(&b);
	ev_text = evj ? json_dumps(evj, JSON_INDENT(1)) : NULL;
	json_decref(evj);
	if (inc.cur.text != NULL && (sha = malloc(80)) != NULL)
		snprintf(sha, 80, "%s  config.json\n", inc.cur.sha256_hex);
	parts[np++] = (struct part){ "timeline.txt", b.timeline.p, b.timeline.len, true };
	parts[np++] = (struct part){ "events.json", ev_text, ev_text ? strlen(ev_text) : 0, false };
	parts[np++] = (struct part){ "config.json", inc.cur.text, inc.cur.len, true };
	parts[np++] = (struct part){ "config.sha256", sha, sha ? strlen(sha) : 0, false };
	parts[np++] = (struct part){ "previous-config.json", inc.prev.text, inc.prev.len, true };
	parts[np++] = (struct part){ "config.diff", b.diff, b.diff ? strlen(b.diff) : 0, false };
	for (unsigned int i = 0; i < np; i++)
		fixed += parts[i].data ? parts[i].len : 0;
	/* Over the bound without snapshots: the previous config, then the events go. */
	if (fixed > inc.conf.max_bundle_bytes && parts[4].data != NULL) {
		fixed -= parts[4].len + parts[5].len;
		parts[4].data = NULL;
		free(b.diff);
		b.diff = NULL;
		parts[5].data = NULL;
		omitted = "previous config and diff omitted: over max_bundle_bytes";
	}
	if (fixed > inc.conf.max_bundle_bytes && parts[1].data != NULL) {
		fixed -= parts[1].len;
		free(ev_text);
		ev_text = NULL;
		parts[1].data = NULL;
		omitted = "previous config, diff and events omitted: over max_bundle_bytes";
	}
	fsize = calloc(b.n_frames + 1, sizeof(*fsize));
	fjson = calloc(b.n_frames + 1, sizeof(*fjson));
	for (unsigned int i = 0; fsize != NULL && fjson != NULL && i < b.n_frames; i++) {
		fjson[i] = frame_json(&b, b.fr[i]);
		fsize[i] = fjson[i] ? strlen(fjson[i]) + 2 : 0;
	}
	if (fsize != NULL && fjson != NULL) {
		struct inc_buf s = { 0 };

		dropped = sl_incident_fit(fsize, b.n_frames, b.n_before, fixed + 32,
					  inc.conf.max_bundle_bytes, &first, &last);
		bool lead = true;

		inc_buf_printf(&s, "{\"before\":[");
		for (unsigned int i = first; i < RTE_MIN(last, b.n_before); i++, lead = false)
			inc_buf_printf(&s, "%s%s", lead ? "\n" : ",\n", fjson[i] ? fjson[i] : "null");
		inc_buf_printf(&s, "],\n\"after\":[");
		lead = true;
		for (unsigned int i = RTE_MAX(first, b.n_before); i < last; i++, lead = false)
			inc_buf_printf(&s, "%s%s", lead ? "\n" : ",\n", fjson[i] ? fjson[i] : "null");
		inc_buf_printf(&s, "]}\n");
		snap = s.oom ? NULL : s.p;
		snap_len = s.oom ? 0 : s.len;
		if (s.oom)
			free(s.p);
	}
	parts[np++] = (struct part){ "snapshots.json", snap, snap_len, false };

	manifest = json_pack("{s:i,s:I,s:{s:s,s:s,s:s,s:s},s:i,s:s,s:{s:i,s:i,s:I},"
			     "s:o,s:o,s:i,s:{s:i,s:i,s:i},s:{s:i,s:b},s:s,s:s}",
		"id", (int)e->info.id, "start_us", (json_int_t)e->info.start_us,
		"trigger", "kind", e->info.trigger, "pool", e->trigger_pool,
		"backend", e->trigger_backend, "text", e->info.trigger_text,
		"triggers", (int)e->info.n_triggers, "backends", e->info.backends,
		"window", "before_s", (int)inc.conf.before_s, "after_s", (int)inc.conf.after_s,
		"t0_us", (json_int_t)b.t0_us,
		"config", config_meta(&inc.cur), "previous_config", config_meta(&inc.prev),
		"diff_lines", (int)b.n_diffs,
		"snapshots", "before", (int)(first < b.n_before ? b.n_before - first : 0),
		"after", (int)(last > b.n_before ? last - RTE_MAX(first, b.n_before) : 0),
		"dropped", (int)dropped,
		"events", "count", (int)b.n_ev, "some_overwritten", b.events_lost,
		"omitted", omitted, "packets", PACKETS_NOTE);
	if (manifest == NULL) {
		rc = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory building the manifest");
	} else {
		rc = write_bundle(&b, parts, np, manifest, path, sizeof(path), &bytes,
				  err, sizeof(err));
	}
	json_decref(manifest);

	pthread_mutex_lock(&inc.lock);
	e->timeline = b.timeline.p;
	e->timeline_len = b.timeline.len;
	b.timeline.p = NULL;
	if (rc == 0) {
		e->info.state = SL_INCIDENT_FROZEN;
		snprintf(e->info.path, sizeof(e->info.path), "%s", path);
		e->info.bytes = bytes;
		inc.counts.bundles_written++;
	} else {
		e->info.state = SL_INCIDENT_ERROR;
		snprintf(e->info.error, sizeof(e->info.error), "%s", err);
		inc.counts.write_errors++;
	}
	inc.has_open = false;
	inc.counts.open = 0;
	pthread_mutex_unlock(&inc.lock);

	if (rc == 0) {
		int pruned = sl_incident_prune(inc.conf.dir, inc.conf.max_bundles);

		if (pruned > 0) {
			pthread_mutex_lock(&inc.lock);
			inc.counts.pruned += (uint64_t)pruned;
			pthread_mutex_unlock(&inc.lock);
		}
		SL_LOG(NOTICE, "incident %u frozen: %s (%llu bytes, %u snapshot(s), "
		       "%u event(s))", e->info.id, path, (unsigned long long)bytes,
		       last - first, b.n_ev);
	} else {
		SL_LOG(ERR, "incident %u: %s", e->info.id, err);
	}
	for (unsigned int i = 0; fjson != NULL && i < b.n_frames; i++)
		free(fjson[i]);
	free(fjson);
	free(fsize);
	free(snap);
	free(ev_text);
	free(sha);
	free(b.diff);
	free(b.timeline.p);
	free(b.ev);
	free(b.fr);
	json_decref(b.cur);
	json_decref(b.prev);
}
