/* Config validator: syntax helpers, structural and semantic checks. */
#include <stdio.h>
#include <stdlib.h>

#include "sl_conf.h"
#include "sl_test.h"

#define BASE_PORTS \
	"\"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"}," \
	"             {\"name\": \"p1\", \"address\": \"198.18.1.1/24\"} ],"
#define BASE_LISTENERS \
	"\"listeners\": [ {\"name\": \"l\", \"address\": \"198.18.0.1\", " \
	"\"port\": 80, \"pool\": \"web\"} ]"

static struct sl_conf *
load(const char *json, bool strict, struct sl_conf_diag *d)
{
	memset(d, 0, sizeof(*d));
	return sl_conf_load_buf("t.json", json, strlen(json), strict, d);
}

/* True when some finding has this pointer and contains `text`. */
static bool
has(const struct sl_conf_diag *d, const char *ptr, const char *text, bool warning)
{
	for (unsigned int i = 0; i < d->n_msgs; i++)
		if (strcmp(d->msgs[i].pointer, ptr) == 0 &&
		    strstr(d->msgs[i].text, text) != NULL &&
		    d->msgs[i].warning == warning)
			return true;
	return false;
}

static void
test_ipv4_syntax(void)
{
	uint32_t a;
	uint8_t len;
	char buf[16];

	CHECK_EQ(sl_conf_parse_ipv4("198.18.0.1", &a), 0);
	CHECK_EQ(a, 0xc6120001);
	CHECK_STR(sl_conf_fmt_ipv4(a, buf), "198.18.0.1");
	CHECK_EQ(sl_conf_parse_ipv4("256.1.1.1", &a), -1);
	CHECK_EQ(sl_conf_parse_ipv4("1.2.3", &a), -1);
	CHECK_EQ(sl_conf_parse_ipv4("1.2.3.4.5", &a), -1);
	CHECK_EQ(sl_conf_parse_ipv4("1.2.3.4 ", &a), -1);
	CHECK_EQ(sl_conf_parse_ipv4("1..3.4", &a), -1);
	CHECK_EQ(sl_conf_parse_ipv4("0001.2.3.4", &a), -1);
	CHECK_EQ(sl_conf_parse_ipv4("", &a), -1);
	CHECK_EQ(sl_conf_parse_cidr("198.18.0.1/24", &a, &len), 0);
	CHECK_EQ(len, 24);
	CHECK_EQ(sl_conf_parse_cidr("198.18.0.1/33", &a, &len), -1);
	CHECK_EQ(sl_conf_parse_cidr("198.18.0.1", &a, &len), -1);
	CHECK_EQ(sl_conf_parse_cidr("198.18.0.1/", &a, &len), -1);
	CHECK_EQ(sl_conf_parse_cidr("198.18.0.1/2x", &a, &len), -1);
}

static void
test_minimal_defaults(void)
{
	struct sl_conf_diag d;
	struct sl_conf *c = load("{\"version\": 1," BASE_PORTS
		"\"pools\": [{\"name\": \"web\", \"backends\": "
		"[{\"address\": \"198.18.1.2\", \"port\": 8080}]}]," BASE_LISTENERS "}",
		false, &d);

	CHECK(c != NULL);
	CHECK_EQ(d.n_errors, 0);
	CHECK_EQ(d.n_warnings, 0);
	if (c != NULL) {
		CHECK_EQ(c->n_ports, 2);
		CHECK_EQ(c->ports[0].mtu, 1500);
		CHECK_EQ(c->ports[0].rx_desc, 1024);
		CHECK_EQ(c->runtime.idle, SL_IDLE_BUSY);
		CHECK_EQ(c->runtime.burst, 32);
		CHECK_EQ(c->memory.mbufs, 65535);
		CHECK_EQ(c->arp.lifetime_s, 300);
		CHECK_EQ(c->pools[0].backends[0].weight, 1);
		CHECK_STR(c->pools[0].backends[0].name, "198.18.1.2:8080");
		CHECK_EQ(c->listeners[0].mode, SL_MODE_HTTP);
		CHECK_EQ(c->listeners[0].pool, 0);
		CHECK_EQ(strlen(c->sha256_hex), 64);
	}
	sl_conf_free(c);
	sl_conf_diag_free(&d);
}

static void
test_all_errors_reported(void)
{
	struct sl_conf_diag d;
	struct sl_conf *c = load("{\"version\": 1, \"bogus\": 1," BASE_PORTS
		"\"pools\": [{\"name\": \"web\", \"backends\": ["
		" {\"address\": \"198.18.1.2\", \"port\": 8080, \"weigth\": 2},"
		" {\"address\": \"198.18.1.2\", \"port\": 8080},"
		" {\"address\": \"198.18.9.9\", \"port\": 70000}]}],"
		"\"listeners\": [ {\"name\": \"l\", \"address\": \"198.18.0.1\", "
		"\"port\": 80, \"pool\": \"nope\"} ]}", false, &d);

	CHECK(c == NULL);
	CHECK(has(&d, "/bogus", "unknown key \"bogus\"", false));
	CHECK(has(&d, "/pools/0/backends/0/weigth", "unknown key", false));
	CHECK(has(&d, "/pools/0/backends/2/port", "between 1 and 65535", false));
	CHECK(has(&d, "/listeners/0/pool", "pool \"nope\" is not defined", false));
	/* Backend 1 duplicates backend 0 even though backend 0 has a typo'd key. */
	CHECK(has(&d, "/pools/0/backends/1", "listed twice", false));
	CHECK(d.n_errors >= 5);
	sl_conf_diag_free(&d);
}

static void
test_weights(void)
{
	struct sl_conf_diag d;
	struct sl_conf *c;
	const char *skew = "{\"version\": 1," BASE_PORTS
		"\"pools\": [{\"name\": \"web\", \"backends\": ["
		" {\"address\": \"198.18.1.2\", \"port\": 80, \"weight\": 1},"
		" {\"address\": \"198.18.1.3\", \"port\": 80, \"weight\": 1},"
		" {\"address\": \"198.18.1.4\", \"port\": 80, \"weight\": 20}]}],"
		BASE_LISTENERS "}";

	c = load("{\"version\": 1," BASE_PORTS
		 "\"pools\": [{\"name\": \"web\", \"backends\": ["
		 " {\"address\": \"198.18.1.2\", \"port\": 80, \"weight\": 0},"
		 " {\"address\": \"198.18.1.3\", \"port\": 80, \"weight\": 0}]}],"
		 BASE_LISTENERS "}", false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/pools/0/backends", "every backend has weight 0", false));
	sl_conf_diag_free(&d);

	c = load("{\"version\": 1," BASE_PORTS
		 "\"pools\": [{\"name\": \"web\", \"backends\": ["
		 " {\"address\": \"198.18.1.2\", \"port\": 80, \"weight\": -1}]}],"
		 BASE_LISTENERS "}", false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/pools/0/backends/0/weight", "between 0 and 1000", false));
	sl_conf_diag_free(&d);

	/* The seed's mistake: valid, but warned about; fatal with strict. */
	c = load(skew, false, &d);
	CHECK(c != NULL);
	CHECK_EQ(d.n_warnings, 1);
	CHECK(has(&d, "/pools/0/backends/2/weight", "uneven spread", true));
	CHECK(has(&d, "/pools/0/backends/2/weight", "90.9%", true));
	sl_conf_free(c);
	sl_conf_diag_free(&d);
	c = load(skew, true, &d);
	CHECK(c == NULL);
	sl_conf_diag_free(&d);

	/* 3:1 over two backends: 1.5x its capacity share, within the
	 * default skew_warn_ratio of 1.75. */
	c = load("{\"version\": 1," BASE_PORTS
		 "\"pools\": [{\"name\": \"web\", \"backends\": ["
		 " {\"address\": \"198.18.1.2\", \"port\": 80, \"weight\": 3},"
		 " {\"address\": \"198.18.1.3\", \"port\": 80, \"weight\": 1}]}],"
		 BASE_LISTENERS "}", true, &d);
	CHECK(c != NULL);
	CHECK_EQ(d.n_warnings, 0);
	sl_conf_free(c);
	sl_conf_diag_free(&d);
}

/* One pool of these weights (and capacities, 0 = not declared). */
static struct sl_conf *
load_pool(const uint32_t *w, const uint32_t *cap, unsigned int n,
	  const char *pool_extra, bool strict, struct sl_conf_diag *d)
{
	char json[4096], *o = json;
	const char *end = json + sizeof(json);

	o += snprintf(o, end - o, "{\"version\": 1," BASE_PORTS
		      "\"pools\": [{\"name\": \"web\", %s \"backends\": [",
		      pool_extra);
	for (unsigned int i = 0; i < n; i++) {
		o += snprintf(o, end - o, "%s{\"name\": \"b%u\", \"address\": "
			      "\"198.18.1.%u\", \"port\": 80, \"weight\": %u",
			      i ? "," : "", i + 1, i + 2, w[i]);
		if (cap != NULL && cap[i] > 0)
			o += snprintf(o, end - o, ", \"capacity\": %u", cap[i]);
		o += snprintf(o, end - o, "}");
	}
	snprintf(o, end - o, "]}]," BASE_LISTENERS "}");
	return load(json, strict, d);
}

/*
 * The skew check over a table of weight/capacity vectors, at the default
 * skew_warn_ratio: which backends it names, and that each warning says
 * the backend's share and its capacity share.
 */
static void
test_skew_check(void)
{
	static const struct {
		unsigned int n;
		uint32_t w[6], cap[6];
		unsigned int warned;     /* bitmask of backends warned about */
		const char *text;        /* in the first warning */
	} cases[] = {
		{ 6, { 10, 10, 1, 1, 1, 1 }, { 0 }, 0x3,
		  "would get 41.7% of the pool's requests, 2.50x its capacity share of 16.7%" },
		{ 6, { 4, 1, 1, 1, 1, 1 }, { 0 }, 0x1,
		  "would get 44.4% of the pool's requests, 2.67x its capacity share of 16.7%" },
		{ 3, { 4, 2, 1 }, { 40, 20, 10 }, 0, NULL },
		{ 3, { 4, 2, 1 }, { 10, 20, 40 }, 0x1, "capacity 10 of 70 declared" },
		{ 3, { 1, 1, 2 }, { 0 }, 0, NULL },
		{ 3, { 1, 2, 3 }, { 0 }, 0, NULL },
		{ 2, { 10, 1 }, { 0 }, 0x1, "90.9%" },
		{ 3, { 4, 1, 1 }, { 0, 10, 10 }, 0x1, "capacity not declared: taken as the mean 10" },
		{ 3, { 1, 1, 40 }, { 0 }, 0x4, "no capacity declared: equal" },
		{ 3, { 1, 1, 1 }, { 0 }, 0, NULL },
	};
	struct sl_conf_diag d;
	struct sl_conf *c;

	for (unsigned int k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		unsigned int warned = 0;
		char ptr[64];

		c = load_pool(cases[k].w, cases[k].cap, cases[k].n, "", false, &d);
		CHECK(c != NULL);
		CHECK_EQ(d.n_errors, 0);
		for (unsigned int i = 0; i < cases[k].n; i++) {
			snprintf(ptr, sizeof(ptr), "/pools/0/backends/%u/weight", i);
			if (has(&d, ptr, "uneven spread", true)) {
				char name[32];

				warned |= 1u << i;
				snprintf(name, sizeof(name), "backend \"b%u\"", i + 1);
				CHECK(has(&d, ptr, name, true));
				CHECK(has(&d, ptr, "its capacity share of", true));
			}
		}
		if (warned != cases[k].warned)
			fprintf(stderr, "skew case %u: warned 0x%x\n", k, warned);
		CHECK_EQ(warned, cases[k].warned);
		CHECK_EQ(d.n_warnings, (unsigned int)__builtin_popcount(cases[k].warned));
		if (cases[k].text != NULL)
			CHECK(strstr(d.msgs[0].text, cases[k].text) != NULL);
		sl_conf_free(c);
		sl_conf_diag_free(&d);
		/* A warning is fatal with strict; no warning, no refusal. */
		c = load_pool(cases[k].w, cases[k].cap, cases[k].n, "", true, &d);
		CHECK_EQ(c == NULL, cases[k].warned != 0);
		sl_conf_free(c);
		sl_conf_diag_free(&d);
	}
	/* A pool may raise its own threshold: 10,10,1,1,1,1 passes at 3. */
	{
		const uint32_t w[] = { 10, 10, 1, 1, 1, 1 };

		c = load_pool(w, NULL, 6, "\"skew_warn_ratio\": 3,", true, &d);
		CHECK(c != NULL);
		CHECK_EQ(d.n_warnings, 0);
		sl_conf_free(c);
		sl_conf_diag_free(&d);
	}
	/* capacity: 1..1000000, optional, defaults to 0 (not declared). */
	{
		const uint32_t w[] = { 1, 1 }, bad[] = { 0, 1 };

		c = load_pool(w, NULL, 2, "", false, &d);
		CHECK(c != NULL && c->pools[0].backends[0].capacity == 0);
		sl_conf_free(c);
		sl_conf_diag_free(&d);
		c = load_pool(w, bad, 2, "", false, &d);
		CHECK(c != NULL && c->pools[0].backends[1].capacity == 1);
		sl_conf_free(c);
		sl_conf_diag_free(&d);
	}
	c = load("{\"version\": 1," BASE_PORTS
		 "\"pools\": [{\"name\": \"web\", \"backends\": ["
		 " {\"address\": \"198.18.1.2\", \"port\": 80, \"capacity\": 0},"
		 " {\"address\": \"198.18.1.3\", \"port\": 80, \"capacity\": 2000000}]}],"
		 BASE_LISTENERS "}", false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/pools/0/backends/0/capacity", "between 1 and 1000000", false));
	CHECK(has(&d, "/pools/0/backends/1/capacity", "between 1 and 1000000", false));
	sl_conf_diag_free(&d);
	/* imbalance.saturation_ratio: 0 (off) or at least 1. */
	{
		const uint32_t w[] = { 1, 1 };

		c = load_pool(w, NULL, 2, "\"imbalance\": {\"saturation_ratio\": 0.5},",
			      false, &d);
		CHECK(c == NULL);
		CHECK(has(&d, "/pools/0/imbalance/saturation_ratio", "0 (off) or at least 1",
			  false));
		sl_conf_diag_free(&d);
		c = load_pool(w, NULL, 2, "", false, &d);
		CHECK(c != NULL && c->pools[0].imbalance.saturation_ratio == 4.0);
		CHECK(c != NULL && c->pools[0].skew_warn_ratio == 1.75);
		sl_conf_free(c);
		sl_conf_diag_free(&d);
	}
}

static void
test_reachability(void)
{
	struct sl_conf_diag d;
	uint32_t nh, a;
	struct sl_conf *c = load("{\"version\": 1,"
		"\"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"},"
		"  {\"name\": \"p1\", \"address\": \"198.18.1.1/24\", \"gateway\": \"198.18.1.254\"} ],"
		"\"routes\": [ {\"prefix\": \"198.19.0.0/16\", \"via\": \"198.18.0.254\"} ],"
		"\"pools\": [{\"name\": \"web\", \"backends\": ["
		" {\"address\": \"198.19.5.5\", \"port\": 80},"
		" {\"address\": \"198.18.7.7\", \"port\": 80}]}],"
		BASE_LISTENERS "}", false, &d);

	CHECK(c != NULL);
	CHECK_EQ(d.n_errors, 0);
	if (c != NULL) {
		sl_conf_parse_ipv4("198.18.1.9", &a);
		CHECK_EQ(sl_conf_port_reaching(c, a, &nh), 1);
		CHECK_EQ(nh, a);
		sl_conf_parse_ipv4("198.19.5.5", &a);
		CHECK_EQ(sl_conf_port_reaching(c, a, &nh), 0);
		sl_conf_parse_ipv4("198.18.0.254", &a);
		CHECK_EQ(nh, a);
		sl_conf_parse_ipv4("198.18.7.7", &a);
		CHECK_EQ(sl_conf_port_reaching(c, a, &nh), 1);
		sl_conf_parse_ipv4("198.18.1.254", &a);
		CHECK_EQ(nh, a);
	}
	sl_conf_free(c);
	sl_conf_diag_free(&d);

	c = load("{\"version\": 1," BASE_PORTS
		 "\"pools\": [{\"name\": \"web\", \"backends\": ["
		 " {\"address\": \"198.19.5.5\", \"port\": 80}]}],"
		 BASE_LISTENERS "}", false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/pools/0/backends/0/address", "not reachable", false));
	sl_conf_diag_free(&d);
}

static void
test_listeners(void)
{
	struct sl_conf_diag d;
	struct sl_conf *c = load("{\"version\": 1," BASE_PORTS
		"\"pools\": [{\"name\": \"web\", \"backends\": "
		"[{\"address\": \"198.18.1.2\", \"port\": 8080}]}],"
		"\"listeners\": ["
		" {\"name\": \"a\", \"address\": \"198.18.0.1\", \"port\": 80, \"pool\": \"web\"},"
		" {\"name\": \"b\", \"address\": \"198.18.0.1\", \"port\": 80, \"pool\": \"web\", \"mode\": \"tcp\"},"
		" {\"name\": \"c\", \"address\": \"198.18.0.7\", \"port\": 81, \"pool\": \"web\", \"mode\": \"udp\"}]}",
		false, &d);

	CHECK(c == NULL);
	CHECK(has(&d, "/listeners/1/port", "already used by listener \"a\"", false));
	CHECK(has(&d, "/listeners/2/address", "not the address of any port", false));
	CHECK(has(&d, "/listeners/2/mode", "\"udp\" is not one of", false));
	sl_conf_diag_free(&d);
}

static void
test_json_errors(void)
{
	struct sl_conf_diag d;

	CHECK(load("{\"version\": 1,", false, &d) == NULL);
	CHECK(has(&d, "/", "invalid JSON", false));
	sl_conf_diag_free(&d);
	CHECK(load("{\"version\": 1, \"version\": 1}", false, &d) == NULL);
	CHECK(has(&d, "/", "duplicate object key", false));
	sl_conf_diag_free(&d);
	CHECK(load("[1]", false, &d) == NULL);
	CHECK(has(&d, "/", "must be a JSON object", false));
	sl_conf_diag_free(&d);
	memset(&d, 0, sizeof(d));
	CHECK(sl_conf_load("/nonexistent/sluice.json", false, &d) == NULL);
	CHECK(has(&d, "/", "cannot open", false));
	sl_conf_diag_free(&d);
}

static void
test_shipped_example(void)
{
	struct sl_conf_diag d = { 0 };
	struct sl_conf *c = sl_conf_load(SL_SRCDIR "/conf/sluice.json", true, &d);

	CHECK(c != NULL);
	CHECK_EQ(d.n_msgs, 0);
	sl_conf_free(c);
	sl_conf_diag_free(&d);
}

/* A config with pools given as JSON text (backends "name@host"). */
#define RCONF(pools, listener_extra) \
	"{\"version\": 1," BASE_PORTS "\"pools\": [" pools "]," \
	"\"listeners\": [ {\"name\": \"l\", \"address\": \"198.18.0.1\", " \
	"\"port\": 80, \"pool\": \"web\"" listener_extra "} ] }"
#define BEP(n, h, port) "{\"name\": \"" n "\", \"address\": \"198.18.1." h "\", \"port\": " port "}"
#define BE(n, h) BEP(n, h, "8080")

static int
backend_idx(const struct sl_conf_pool *p, const char *name)
{
	for (unsigned int i = 0; i < p->n_backends; i++)
		if (strcmp(p->backends[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* shutdown.grace_ms: 5000 when absent, 0..600000, an integer, no other key. */
static void
test_shutdown_grace(void)
{
#define GRACE_CONF(obj) "{\"version\": 1," BASE_PORTS \
	"\"pools\": [{\"name\": \"web\", \"backends\": " \
	"[{\"address\": \"198.18.1.2\", \"port\": 8080}]}]," BASE_LISTENERS obj "}"
	struct sl_conf_diag d;
	struct sl_conf *c;

	c = load(GRACE_CONF(""), false, &d);
	CHECK(c != NULL);
	if (c != NULL)
		CHECK_EQ(c->shutdown.grace_ms, 5000);
	sl_conf_free(c);
	sl_conf_diag_free(&d);

	c = load(GRACE_CONF(", \"shutdown\": {\"grace_ms\": 250}"), false, &d);
	CHECK(c != NULL);
	if (c != NULL)
		CHECK_EQ(c->shutdown.grace_ms, 250);
	sl_conf_free(c);
	sl_conf_diag_free(&d);

	c = load(GRACE_CONF(", \"shutdown\": {\"grace_ms\": 0}"), false, &d);
	CHECK(c != NULL);
	if (c != NULL)
		CHECK_EQ(c->shutdown.grace_ms, 0);
	sl_conf_free(c);
	sl_conf_diag_free(&d);

	c = load(GRACE_CONF(", \"shutdown\": {\"grace_ms\": 600001}"), false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/shutdown/grace_ms", "between 0 and 600000", false));
	sl_conf_diag_free(&d);

	c = load(GRACE_CONF(", \"shutdown\": {\"grace_ms\": -1}"), false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/shutdown/grace_ms", "", false));
	sl_conf_diag_free(&d);

	c = load(GRACE_CONF(", \"shutdown\": {\"grace_ms\": \"5s\"}"), false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/shutdown/grace_ms", "", false));
	sl_conf_diag_free(&d);

	c = load(GRACE_CONF(", \"shutdown\": {\"grace\": 5}"), false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/shutdown/grace", "unknown key", false));
	sl_conf_diag_free(&d);

	c = load(GRACE_CONF(", \"shutdown\": 5"), false, &d);
	CHECK(c == NULL);
	CHECK(has(&d, "/shutdown", "", false));
	sl_conf_diag_free(&d);
#undef GRACE_CONF
}

static void
test_reload_merge(void)
{
	struct sl_conf_diag d;
	struct sl_conf *run, *next, *m;

	run = load(RCONF("{\"name\": \"web\", \"backends\": [" BE("a", "2") "," BE("b", "3") "]},"
			 "{\"name\": \"old\", \"backends\": [" BE("x", "4") "]}", ""), false, &d);
	CHECK(run != NULL);
	sl_conf_diag_free(&d);
	CHECK_EQ(run->generation, 1);
	CHECK_EQ(run->pools[0].backend_cap, 10);       /* 2 backends: +8 */
	CHECK_EQ(run->pools[1].slot_base, 10);

	/* Reordered, one backend gone, one new, a pool gone, a pool new, a route. */
	next = load(RCONF("{\"name\": \"new\", \"backends\": [" BE("y", "5") "]},"
			  "{\"name\": \"web\", \"backends\": [" BE("c", "6") "," BE("b", "3") "]}",
			  ", \"routes\": [ {\"path_prefix\": \"/n\", \"pool\": \"new\"} ]"),
		    false, &d);
	CHECK(next != NULL);
	sl_conf_diag_free(&d);
	memset(&d, 0, sizeof(d));
	m = sl_conf_merge(run, next, &d);
	CHECK(m != NULL);
	CHECK_EQ(d.n_errors, 0);
	CHECK_EQ(m->generation, 2);
	CHECK_EQ(m->n_pools, 3);
	/* "web" keeps index 0; a and b keep theirs; a is a tombstone; c appended. */
	CHECK_STR(m->pools[0].name, "web");
	CHECK(!m->pools[0].removed);
	CHECK_EQ(backend_idx(&m->pools[0], "a"), 0);
	CHECK(m->pools[0].backends[0].removed);
	CHECK_EQ(backend_idx(&m->pools[0], "b"), 1);
	CHECK(!m->pools[0].backends[1].removed);
	CHECK_EQ(backend_idx(&m->pools[0], "c"), 2);
	CHECK_EQ(m->pools[0].slot_base, 0);
	/* "old" stays at 1 as a tombstone; "new" takes 2 with fresh slots. */
	CHECK_STR(m->pools[1].name, "old");
	CHECK(m->pools[1].removed && m->pools[1].backends[0].removed);
	CHECK_STR(m->pools[2].name, "new");
	CHECK_EQ(m->pools[2].slot_base, run->slots_used);
	/* References follow the pools to their kept indices. */
	CHECK_EQ(m->listeners[0].pool, 0);
	CHECK_EQ(m->listeners[0].routes[0].pool, 2);
	CHECK_EQ(m->listeners[0].route_base, run->listeners[0].route_base);

	/* A removed backend that comes back takes its old place. */
	next = load(RCONF("{\"name\": \"web\", \"backends\": [" BE("a", "2") "," BE("b", "3") "]}",
			  ""), false, &d);
	CHECK(next != NULL);
	sl_conf_diag_free(&d);
	memset(&d, 0, sizeof(d));
	{
		struct sl_conf *m2 = sl_conf_merge(m, next, &d);

		CHECK(m2 != NULL);
		CHECK_EQ(backend_idx(&m2->pools[0], "a"), 0);
		CHECK(!m2->pools[0].backends[0].removed);
		CHECK(m2->pools[0].backends[2].removed);      /* c gone */
		CHECK(m2->pools[2].removed);                  /* "new" gone */
		CHECK_EQ(m2->n_pools, 3);
		sl_conf_free(m2);
	}
	sl_conf_diag_free(&d);

	/* Past a pool's capacity (10: the tombstone of a counts): refused. */
	next = load(RCONF("{\"name\": \"web\", \"backends\": [" BE("b", "3") "," BE("c", "6") ","
			  BEP("d1", "7", "1") "," BEP("d2", "7", "2") "," BEP("d3", "7", "3") ","
			  BEP("d4", "7", "4") "," BEP("d5", "7", "5") "," BEP("d6", "7", "6") ","
			  BEP("d7", "7", "7") "," BEP("d8", "7", "8") "]}", ""), false, &d);
	CHECK(next != NULL);
	sl_conf_diag_free(&d);
	memset(&d, 0, sizeof(d));
	CHECK(sl_conf_merge(m, next, &d) == NULL);   /* a, b, c + 8 = 11 > 10 */
	CHECK(has(&d, "/pools/0", "can hold 10 backends", false));
	sl_conf_diag_free(&d);

	/* A listener's port needs a restart. */
	next = load(RCONF("{\"name\": \"web\", \"backends\": [" BE("a", "2") "]}", ""),
		    false, &d);
	sl_conf_diag_free(&d);
	CHECK(next != NULL);
	next->listeners[0].port = 81;
	next->tcp.rcv_buf++;
	memset(&d, 0, sizeof(d));
	CHECK(sl_conf_merge(run, next, &d) == NULL);
	CHECK(has(&d, "/listeners/0", "restart", false));
	CHECK(has(&d, "/tcp", "restart", false));
	sl_conf_diag_free(&d);
	sl_conf_free(m);
	sl_conf_free(run);
}

int
main(void)
{
	test_ipv4_syntax();
	test_minimal_defaults();
	test_all_errors_reported();
	test_weights();
	test_skew_check();
	test_reachability();
	test_listeners();
	test_json_errors();
	test_shipped_example();
	test_reload_merge();
	test_shutdown_grace();
	return sl_test_result("test_conf");
}
