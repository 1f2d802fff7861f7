/*
 * The incident flight recorder's building blocks (lib/incident): the ring
 * of per-second snapshots and its window, which events open an incident,
 * the structural config diff, the byte bound on snapshots, the bundle
 * names a recorder owns and the pruning of the oldest, and the
 * "incidents" config object's defaults and bounds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "sl_conf.h"
#include "sl_incident.h"
#include "sl_test.h"

static void
test_ring(void)
{
	struct sl_incident_ring r;
	const struct sl_incident_frame *w[16];
	unsigned int n;

	CHECK_EQ(sl_incident_ring_init(&r, 0, 4), -EINVAL);
	CHECK_EQ(sl_incident_ring_init(&r, 5, 3), 0);
	CHECK_EQ(sl_incident_ring_window(&r, 0, UINT64_MAX, w, 16), 0);
	/* Seven seconds into a ring of five: the first two are gone. */
	for (unsigned int s = 1; s <= 7; s++) {
		struct sl_incident_frame *f = sl_incident_ring_push(&r, s * 1000, s);

		CHECK_EQ(f->n_rows, 0);
		f->rows[0].inflight = s;
		f->n_rows = 1;
	}
	n = sl_incident_ring_window(&r, 0, UINT64_MAX, w, 16);
	CHECK_EQ(n, 5);
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(w[i]->mono_ms, (i + 3) * 1000);
		CHECK_EQ(w[i]->rows[0].inflight, i + 3);
	}
	/* A window inside the ring, edges included. */
	n = sl_incident_ring_window(&r, 4000, 6000, w, 16);
	CHECK_EQ(n, 3);
	CHECK_EQ(w[0]->mono_ms, 4000);
	CHECK_EQ(w[2]->mono_ms, 6000);
	/* The caller's room bounds the copy. */
	CHECK_EQ(sl_incident_ring_window(&r, 0, UINT64_MAX, w, 2), 2);
	/* Rows of a reused frame start empty. */
	CHECK_EQ(sl_incident_ring_push(&r, 8000, 8)->n_rows, 0);
	sl_incident_ring_free(&r);
	CHECK(r.frames == NULL && r.rows == NULL);
}

static struct sl_event
ev(const char *kind, const char *text)
{
	struct sl_event e = { .seq = 1 };

	snprintf(e.kind, sizeof(e.kind), "%s", kind);
	snprintf(e.text, sizeof(e.text), "%s", text);
	return e;
}

static void
test_triggers(void)
{
	static const struct { const char *kind, *text; bool trig; } t[] = {
		{ "breaker", "opened after 5 consecutive failures; cooldown 5000 ms", true },
		{ "breaker", "probe failed in half-open: open again, cooldown 10000 ms", true },
		{ "breaker", "forced open by an operator; cooldown 5000 ms", true },
		{ "breaker", "half-open: 1 probe request(s) allowed", false },
		{ "breaker", "closed: probe succeeded", false },
		{ "breaker", "reset to closed by an operator", false },
		{ "ejection", "ejected (consecutive 5xx) for 30000 ms, ejection #1", true },
		{ "ejection", "returned to service (slow start)", false },
		{ "ejection", "not ejected: max_ejection_pct 50% already reached", false },
		{ "rootcause", "weight skew: b1 weight 10 of 15, 66.7% of requests", true },
		{ "rootcause", "cleared: every backend's configured share is within", false },
		{ "panic", "entered panic: 1 of 3 backends healthy", true },
		{ "panic", "left panic: 3 of 3 backends healthy", false },
		{ "shed", "worker 0 over overload.busy_pct 90%: refusing new connections", true },
		{ "shed", "worker 0 back under overload.busy_pct 90%: shedding ended", false },
		{ "config", "reload applied by force with 1 warning(s)", false },
		{ "health", "down after 3 failed checks", false },
		{ "weight", "weight 1 -> 10", false },
	};

	for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sl_event e = ev(t[i].kind, t[i].text);

		if (sl_incident_is_trigger(&e) != t[i].trig)
			fprintf(stderr, "trigger case %u: %s: %s\n", i, t[i].kind, t[i].text);
		CHECK(sl_incident_is_trigger(&e) == t[i].trig);
	}
}

static char *
diff_of(const char *a, const char *b, unsigned int max, unsigned int *n)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
	char *d;

	CHECK(ja != NULL && jb != NULL);
	d = sl_incident_diff(ja, jb, max, n);
	json_decref(ja);
	json_decref(jb);
	return d;
}

static void
test_diff(void)
{
	const char *base = "{\"version\":1,\"pools\":[{\"name\":\"web\",\"backends\":"
		"[{\"name\":\"b0\",\"weight\":1},{\"name\":\"b1\",\"weight\":1}]}]}";
	unsigned int n = 99;
	char *d;

	d = diff_of(base, base, 10, &n);
	CHECK_STR(d, "");
	CHECK_EQ(n, 0);
	free(d);

	/* The postmortem's change: one weight. */
	d = diff_of(base, "{\"version\":1,\"pools\":[{\"name\":\"web\",\"backends\":"
		    "[{\"name\":\"b0\",\"weight\":1},{\"name\":\"b1\",\"weight\":10}]}]}",
		    10, &n);
	CHECK_STR(d, "/pools/0/backends/1/weight: 1 -> 10\n");
	CHECK_EQ(n, 1);
	free(d);

	/* A key removed, one added, an array grown, a type changed. */
	d = diff_of("{\"a\":1,\"b\":[1,2],\"c\":{\"x\":true}}",
		    "{\"b\":[1,2,3],\"c\":{\"x\":\"yes\"},\"d\":null}", 10, &n);
	CHECK_STR(d, "/a: 1 -> (absent)\n/b/2: (absent) -> 3\n"
		  "/c/x: true -> \"yes\"\n/d: (absent) -> null\n");
	CHECK_EQ(n, 4);
	free(d);

	/* RFC 6901 escapes in keys. */
	d = diff_of("{\"a/b\":{\"m~n\":1}}", "{\"a/b\":{\"m~n\":2}}", 10, &n);
	CHECK_STR(d, "/a~1b/m~0n: 1 -> 2\n");
	free(d);

	/* Different roots. */
	d = diff_of("[1]", "{\"a\":1}", 10, &n);
	CHECK_STR(d, "/: [1] -> {\"a\":1}\n");
	free(d);

	/* Bounded: the rest is counted, not listed. */
	d = diff_of("[1,2,3,4,5]", "[6,7,8,9,0]", 2, &n);
	CHECK_STR(d, "/0: 1 -> 6\n/1: 2 -> 7\n... 3 more\n");
	CHECK_EQ(n, 5);
	free(d);
}

static void
test_fit(void)
{
	size_t size[10];
	unsigned int first, last;

	for (unsigned int i = 0; i < 10; i++)
		size[i] = 100;
	/* Everything fits: nothing dropped. */
	CHECK_EQ(sl_incident_fit(size, 10, 6, 500, 1500, &first, &last), 0);
	CHECK(first == 0 && last == 10);
	/* 300 bytes over: the frames furthest from the trigger (frame 6) go,
	 * the long before-side first: 0, 1, then 2. */
	CHECK_EQ(sl_incident_fit(size, 10, 6, 500, 1200, &first, &last), 3);
	CHECK(first == 3 && last == 10);
	/* Seven over: before and after even out, then alternate (ties cost
	 * the before side): one second before the trigger and two from it. */
	CHECK_EQ(sl_incident_fit(size, 10, 6, 500, 800, &first, &last), 7);
	CHECK_EQ(first, 5);
	CHECK_EQ(last, 8);
	/* Every kept frame is within the limit. */
	{
		size_t total = 500;

		for (unsigned int i = first; i < last; i++)
			total += size[i];
		CHECK(total <= 800);
	}
	/* The fixed part alone over the limit: no snapshot at all. */
	CHECK_EQ(sl_incident_fit(size, 10, 6, 2000, 1500, &first, &last), 10);
	CHECK_EQ(first, last);
	/* Only after-frames (the recorder started at the trigger). */
	CHECK_EQ(sl_incident_fit(size, 4, 0, 0, 250, &first, &last), 2);
	CHECK(first == 0 && last == 2);
}

static void
mkbundle(const char *dir, const char *name)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	CHECK_EQ(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/%s/timeline.txt", dir, name);
	f = fopen(p, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("x\n", f);
		fclose(f);
	}
}

static bool
exists(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static void
test_bundles(void)
{
	static const char *const ours[] = {
		"incident-20261207T010000Z-4242-000001",
		"incident-20261207T010000Z-4242-000002",
		"incident-20261207T010500Z-4242-000003",
		"incident-20261207T020000Z-99-000004",
		"incident-20261208T000000Z-4242-000005",
	};
	char dir[] = "/tmp/sl_test_incident_XXXXXX";

	CHECK(sl_incident_is_bundle_name(ours[0]));
	CHECK(!sl_incident_is_bundle_name("incident-20261207T010000Z-4242"));
	CHECK(!sl_incident_is_bundle_name("incident-2026127T010000Z-1-1"));
	CHECK(!sl_incident_is_bundle_name(".incident-20261207T010000Z-1-1.tmp"));
	CHECK(!sl_incident_is_bundle_name("incident-20261207T010000Z-1-1-x"));
	CHECK(!sl_incident_is_bundle_name("notes"));
	CHECK(mkdtemp(dir) != NULL);
	for (unsigned int i = 0; i < 5; i++)
		mkbundle(dir, ours[i]);
	/* Not ours by name: never touched, even when older. */
	mkbundle(dir, "incident-old-format");
	mkbundle(dir, "keep-me");
	CHECK_EQ(sl_incident_prune(dir, 5), 0);
	CHECK_EQ(sl_incident_prune(dir, 2), 3);
	CHECK(!exists(dir, ours[0]) && !exists(dir, ours[1]) && !exists(dir, ours[2]));
	CHECK(exists(dir, ours[3]) && exists(dir, ours[4]));
	CHECK(exists(dir, "incident-old-format") && exists(dir, "keep-me"));
	CHECK_EQ(sl_incident_prune("/nonexistent/sl_test_incident", 1), -ENOENT);
	/* clean up */
	sl_incident_prune(dir, 0);
	CHECK(!exists(dir, ours[4]));
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK_EQ(system(cmd), 0);
	}
}

/* The example config with an "incidents" object added (or none). */
static struct sl_conf *
load_with(const char *incidents, struct sl_conf_diag *d)
{
	char path[1024], *text, *buf;
	FILE *f;
	long len;
	struct sl_conf *c;
	char *end;

	snprintf(path, sizeof(path), "%s/conf/sluice.json", SL_SRCDIR);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	CHECK(fread(text, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	buf = calloc(1, (size_t)len + strlen(incidents ? incidents : "") + 64);
	end = strrchr(text, '}');
	*end = '\0';
	sprintf(buf, "%s%s%s%s}", text, incidents ? ", \"incidents\": " : "",
		incidents ? incidents : "", "");
	memset(d, 0, sizeof(*d));
	c = sl_conf_load_buf("test.json", buf, strlen(buf), false, d);
	free(text);
	free(buf);
	return c;
}

static void
test_conf(void)
{
	struct sl_conf_diag d;
	struct sl_conf *c;

	const char *env = getenv("SLUICE_INCIDENTS_DIR");
	char *saved_env = env != NULL ? strdup(env) : NULL;

	unsetenv("SLUICE_INCIDENTS_DIR");
	c = load_with(NULL, &d);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->incidents.dir, "/var/lib/sluice/incidents");
		CHECK_EQ(c->incidents.before_s, 30);
		CHECK_EQ(c->incidents.after_s, 10);
		CHECK_EQ(c->incidents.max_bundles, 20);
		CHECK_EQ(c->incidents.max_bundle_bytes, 8 * 1024 * 1024);
		sl_conf_free(c);
	}
	sl_conf_diag_free(&d);
	/* The default from the environment (test and demo runs); a relative
	 * one is ignored; the config's own key wins over it. */
	setenv("SLUICE_INCIDENTS_DIR", "/tmp/sl-env-incidents", 1);
	c = load_with(NULL, &d);
	CHECK(c != NULL && strcmp(c->incidents.dir, "/tmp/sl-env-incidents") == 0);
	sl_conf_free(c);
	sl_conf_diag_free(&d);
	c = load_with("{\"dir\": \"/tmp/y\"}", &d);
	CHECK(c != NULL && strcmp(c->incidents.dir, "/tmp/y") == 0);
	sl_conf_free(c);
	sl_conf_diag_free(&d);
	setenv("SLUICE_INCIDENTS_DIR", "relative/dir", 1);
	c = load_with(NULL, &d);
	CHECK(c != NULL && strcmp(c->incidents.dir, "/var/lib/sluice/incidents") == 0);
	sl_conf_free(c);
	sl_conf_diag_free(&d);
	if (saved_env != NULL)
		setenv("SLUICE_INCIDENTS_DIR", saved_env, 1);
	else
		unsetenv("SLUICE_INCIDENTS_DIR");
	free(saved_env);
	c = load_with("{\"dir\": \"/tmp/x\", \"before_s\": 5, \"after_s\": 2, "
		      "\"max_bundles\": 3, \"max_bundle_bytes\": 100000}", &d);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->incidents.dir, "/tmp/x");
		CHECK_EQ(c->incidents.before_s, 5);
		CHECK_EQ(c->incidents.after_s, 2);
		CHECK_EQ(c->incidents.max_bundles, 3);
		CHECK_EQ(c->incidents.max_bundle_bytes, 100000);
		sl_conf_free(c);
	}
	sl_conf_diag_free(&d);
	/* Each of these is an error. */
	static const char *const bad[] = {
		"{\"dir\": \"relative/path\"}",
		"{\"after_s\": 0}",
		"{\"before_s\": 301}",
		"{\"max_bundles\": 0}",
		"{\"max_bundle_bytes\": 1000}",
		"{\"color\": \"red\"}",
		"[]",
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load_with(bad[i], &d);
		if (c != NULL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(c == NULL && d.n_errors > 0);
		sl_conf_free(c);
		sl_conf_diag_free(&d);
	}
}

int
main(void)
{
	test_ring();
	test_triggers();
	test_diff();
	test_fit();
	test_bundles();
	test_conf();
	return sl_test_result("test_incident");
}
