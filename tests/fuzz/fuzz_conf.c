/*
 * The config loader (sl_conf_load_buf, what --check-config and start-up
 * run) and the reload merge (sl_conf_merge). Oracles:
 *
 * - Verdict: a config is returned iff no error was reported; strict mode
 *   accepts exactly what the normal mode accepts without a warning. Every
 *   finding has a message and an RFC 6901 pointer, and in a document that
 *   parses as JSON that pointer's parent exists (the pointer itself may name
 *   a missing required key).
 * - Repeatable: loading the same bytes again gives the same config and the
 *   same findings.
 * - Round trip: a config that loads re-loads identically from jansson's
 *   re-serialisation of its document (there is no config writer; jansson's
 *   compact form is the canonical one), with the same findings.
 * - Merge: for a running config R (laid out as at start-up) and a new file
 *   B, merge(R, B) either fails with at least one error, or keeps R's pool
 *   and backend indices (every running backend stays at its index, kept or
 *   a tombstone), holds every pool and backend of B once and live, gives
 *   pools disjoint slot ranges within the capacity, points listeners and
 *   routes at the pools B names. Merging B again onto the result changes no
 *   index. LeakSanitizer checks that nothing leaks on any path.
 *
 * Input: the JSON of R; optionally "\n=====\n" and the JSON of B. Without
 * B, B is R's document with a few edits (backends removed, added, swapped,
 * reweighted; pools added, removed), chosen by a hash of the input.
 */
#define _GNU_SOURCE          /* memmem */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "sl_conf.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP "\n=====\n"

static struct sl_conf *
load(const char *buf, size_t len, bool strict, struct sl_conf_diag *d)
{
	char *copy = fuzz_dup(buf, len);
	struct sl_conf *c;

	memset(d, 0, sizeof(*d));
	c = sl_conf_load_buf("fuzz.json", copy, len, strict, d);
	free(copy);
	return c;
}

/* Resolve an RFC 6901 pointer in doc, but for its last `drop` tokens. */
static bool
ptr_resolves(json_t *doc, const char *ptr, int drop)
{
	char tok[256];
	const char *s = ptr;
	int n_tok = 0;

	for (const char *c = ptr; *c != '\0'; c++)
		n_tok += *c == '/';
	if (strcmp(ptr, "/") == 0)
		return true;               /* the whole document */
	for (int t = 0; t < n_tok - drop; t++) {
		size_t k = 0;

		FUZZ_CHECK(*s == '/');
		for (s++; *s != '\0' && *s != '/'; s++) {
			char ch = *s;

			if (ch == '~') {
				s++;
				FUZZ_CHECK(*s == '0' || *s == '1');
				ch = *s == '0' ? '~' : '/';
			}
			if (k + 1 < sizeof(tok))
				tok[k++] = ch;
		}
		tok[k] = '\0';
		if (json_is_object(doc)) {
			doc = json_object_get(doc, tok);
		} else if (json_is_array(doc)) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);

			if (*end != '\0' || k == 0)
				return false;
			doc = json_array_get(doc, i);
		} else {
			return false;
		}
		if (doc == NULL)
			return false;
	}
	return true;
}

/* The findings are well formed; in a JSON document they point into it. */
static void
check_diag(const struct sl_conf_diag *d, json_t *doc)
{
	FUZZ_CHECK(d->n_msgs == d->n_errors + d->n_warnings);
	for (unsigned int i = 0; i < d->n_msgs; i++) {
		const struct sl_conf_msg *m = &d->msgs[i];
		size_t plen = strnlen(m->pointer, sizeof(m->pointer));

		FUZZ_CHECK(plen < sizeof(m->pointer));
		FUZZ_CHECK(strnlen(m->text, sizeof(m->text)) < sizeof(m->text));
		FUZZ_CHECK(m->text[0] != '\0');
		FUZZ_CHECK(m->pointer[0] == '/');
		for (size_t k = 0; k < plen; k++)
			if (m->pointer[k] == '~')
				FUZZ_CHECK(m->pointer[k + 1] == '0' ||
					   m->pointer[k + 1] == '1');
		/* A pointer that hit the buffer's end was cut: not resolvable. */
		if (doc != NULL && plen < sizeof(m->pointer) - 8 &&
		    !ptr_resolves(doc, m->pointer, 1)) {
			fprintf(stderr, "pointer %s: %s\n", m->pointer, m->text);
			FUZZ_CHECK(!"a finding's pointer is outside the document");
		}
	}
}

static bool
diag_equal(const struct sl_conf_diag *a, const struct sl_conf_diag *b)
{
	if (a->n_msgs != b->n_msgs || a->n_errors != b->n_errors ||
	    a->n_warnings != b->n_warnings)
		return false;
	for (unsigned int i = 0; i < a->n_msgs; i++)
		if (a->msgs[i].warning != b->msgs[i].warning ||
		    strcmp(a->msgs[i].pointer, b->msgs[i].pointer) != 0 ||
		    strcmp(a->msgs[i].text, b->msgs[i].text) != 0)
			return false;
	return true;
}

/* Byte-equal after clearing a pointer member, copies taken with memcpy. */
#define SAME_WITHOUT(type, a, b, member) __extension__ ({ \
	type _x, _y; \
	memcpy(&_x, &(a), sizeof(_x)); \
	memcpy(&_y, &(b), sizeof(_y)); \
	_x.member = NULL; \
	_y.member = NULL; \
	memcmp(&_x, &_y, sizeof(_x)) == 0; })

/* Every setting equal (not the file's name and hash). */
static bool
conf_equal(const struct sl_conf *a, const struct sl_conf *b)
{
#define SAME(f) (memcmp(&a->f, &b->f, sizeof(a->f)) == 0)
	if (!SAME(runtime) || !SAME(memory) || !SAME(arp) || !SAME(tcp) ||
	    !SAME(access_log) || !SAME(http) || !SAME(overload) ||
	    !SAME(events_max) || !SAME(n_ports) || !SAME(ports) ||
	    !SAME(n_routes) || !SAME(n_pools) || !SAME(n_listeners) ||
	    !SAME(pool_cap) || !SAME(slot_cap) || !SAME(route_slot_cap) ||
	    !SAME(slots_used) || !SAME(route_slots_used) || !SAME(generation))
		return false;
#undef SAME
	if (a->n_routes != 0 &&
	    memcmp(a->routes, b->routes, a->n_routes * sizeof(*a->routes)) != 0)
		return false;
	for (unsigned int i = 0; i < a->n_pools; i++) {
		const struct sl_conf_pool *p = &a->pools[i], *q = &b->pools[i];

		if (!SAME_WITHOUT(struct sl_conf_pool, *p, *q, backends))
			return false;
		if (p->n_backends != 0 &&
		    memcmp(p->backends, q->backends,
			   p->n_backends * sizeof(*p->backends)) != 0)
			return false;
	}
	for (unsigned int i = 0; i < a->n_listeners; i++) {
		const struct sl_conf_listener *l = &a->listeners[i];
		const struct sl_conf_listener *m = &b->listeners[i];

		if (!SAME_WITHOUT(struct sl_conf_listener, *l, *m, routes))
			return false;
		if (l->n_routes != 0 &&
		    memcmp(l->routes, m->routes, l->n_routes * sizeof(*l->routes)) != 0)
			return false;
	}
	return true;
}

static bool
same_backend(const struct sl_conf_backend *a, const struct sl_conf_backend *b)
{
	return strcmp(a->name, b->name) == 0 && a->addr == b->addr &&
	       a->port == b->port;
}

/* M = merge(R, B), with B a second load of the file merged. */
static void
check_merge(const struct sl_conf *r, const struct sl_conf *b,
	    const struct sl_conf *m)
{
	FUZZ_CHECK(m->generation == r->generation + 1);
	FUZZ_CHECK(m->n_pools >= r->n_pools && m->n_pools <= r->pool_cap);
	FUZZ_CHECK(m->pool_cap == r->pool_cap && m->slot_cap == r->slot_cap);
	FUZZ_CHECK(m->n_listeners == b->n_listeners);
	/* Running pools and backends keep their indices. */
	for (unsigned int i = 0; i < r->n_pools; i++) {
		const struct sl_conf_pool *rp = &r->pools[i], *mp = &m->pools[i];

		FUZZ_CHECK(strcmp(rp->name, mp->name) == 0);
		FUZZ_CHECK(rp->slot_base == mp->slot_base &&
			   rp->backend_cap == mp->backend_cap);
		FUZZ_CHECK(mp->n_backends >= rp->n_backends);
		for (unsigned int k = 0; k < rp->n_backends; k++)
			FUZZ_CHECK(same_backend(&rp->backends[k], &mp->backends[k]));
	}
	/* Slot ranges: inside the capacity, disjoint. */
	for (unsigned int i = 0; i < m->n_pools; i++) {
		const struct sl_conf_pool *p = &m->pools[i];

		FUZZ_CHECK(p->n_backends <= p->backend_cap);
		FUZZ_CHECK((uint64_t)p->slot_base + p->backend_cap <= m->slot_cap);
		for (unsigned int j = 0; j < i; j++) {
			const struct sl_conf_pool *q = &m->pools[j];

			FUZZ_CHECK(p->slot_base >= q->slot_base + q->backend_cap ||
				   q->slot_base >= p->slot_base + p->backend_cap);
		}
		if (p->removed)
			for (unsigned int k = 0; k < p->n_backends; k++)
				FUZZ_CHECK(p->backends[k].removed);
	}
	/* B's pools: each once and live, with exactly B's backends live. */
	int map[1024];

	FUZZ_CHECK(b->n_pools <= 1024);
	for (unsigned int j = 0; j < b->n_pools; j++) {
		const struct sl_conf_pool *bp = &b->pools[j];
		int found = -1;
		unsigned int live = 0;

		for (unsigned int i = 0; i < m->n_pools; i++) {
			if (m->pools[i].removed ||
			    strcmp(m->pools[i].name, bp->name) != 0)
				continue;
			FUZZ_CHECK(found < 0);
			found = (int)i;
		}
		FUZZ_CHECK(found >= 0);
		map[j] = found;
		const struct sl_conf_pool *mp = &m->pools[found];
		bool used[SL_CONF_MAX_BACKENDS] = { false };

		FUZZ_CHECK(mp->n_backends <= SL_CONF_MAX_BACKENDS);
		for (unsigned int k = 0; k < mp->n_backends; k++)
			live += !mp->backends[k].removed;
		FUZZ_CHECK(live == bp->n_backends);
		for (unsigned int k = 0; k < bp->n_backends; k++) {
			bool hit = false;

			for (unsigned int x = 0; x < mp->n_backends && !hit; x++) {
				const struct sl_conf_backend *mb = &mp->backends[x];

				if (used[x] || mb->removed || !same_backend(mb, &bp->backends[k]))
					continue;
				FUZZ_CHECK(mb->weight == bp->backends[k].weight);
				used[x] = hit = true;
			}
			FUZZ_CHECK(hit);
		}
	}
	for (unsigned int i = 0; i < m->n_pools; i++) {
		bool in_b = false;

		for (unsigned int j = 0; j < b->n_pools && !in_b; j++)
			in_b = map[j] == (int)i;
		FUZZ_CHECK(in_b == !m->pools[i].removed);
	}
	/* References name the same pools as in B. */
	for (unsigned int l = 0; l < m->n_listeners; l++) {
		const struct sl_conf_listener *ml = &m->listeners[l];
		const struct sl_conf_listener *bl = &b->listeners[l];

		FUZZ_CHECK(ml->n_routes == bl->n_routes);
		FUZZ_CHECK((ml->pool < 0) == (bl->pool < 0));
		if (bl->pool >= 0)
			FUZZ_CHECK(ml->pool == map[bl->pool]);
		for (unsigned int k = 0; k < bl->n_routes; k++)
			FUZZ_CHECK(ml->routes[k].pool == map[bl->routes[k].pool]);
		FUZZ_CHECK(ml->route_base == r->listeners[l].route_base &&
			   ml->route_cap == r->listeners[l].route_cap);
		FUZZ_CHECK(ml->n_routes + 1 <= ml->route_cap);
	}
	/* The rest of the settings are B's. */
	FUZZ_CHECK(memcmp(&m->http, &b->http, sizeof(m->http)) == 0);
}

/* The layout of two merge results is the same: no index moved. */
static void
check_same_layout(const struct sl_conf *a, const struct sl_conf *b)
{
	FUZZ_CHECK(a->n_pools == b->n_pools && a->slots_used == b->slots_used);
	for (unsigned int i = 0; i < a->n_pools; i++) {
		const struct sl_conf_pool *p = &a->pools[i], *q = &b->pools[i];

		FUZZ_CHECK(strcmp(p->name, q->name) == 0 && p->removed == q->removed);
		FUZZ_CHECK(p->slot_base == q->slot_base &&
			   p->backend_cap == q->backend_cap &&
			   p->n_backends == q->n_backends);
		for (unsigned int k = 0; k < p->n_backends; k++) {
			FUZZ_CHECK(same_backend(&p->backends[k], &q->backends[k]));
			FUZZ_CHECK(p->backends[k].removed == q->backends[k].removed);
		}
	}
	for (unsigned int l = 0; l < a->n_listeners; l++)
		FUZZ_CHECK(a->listeners[l].pool == b->listeners[l].pool);
}

/* B from R's document: a few edits of its pools. */
static char *
derive(json_t *doc, uint64_t seed, size_t *len)
{
	json_t *d = json_deep_copy(doc);
	json_t *pools = json_object_get(d, "pools");
	int n_edits = 1 + (int)(fuzz_rand(&seed) % 4);
	char *out;

	for (int e = 0; e < n_edits && json_is_array(pools); e++) {
		size_t np = json_array_size(pools);
		json_t *pool, *bes, *be;
		size_t nb, k;
		char name[64];

		if (np == 0)
			break;
		pool = json_array_get(pools, fuzz_rand(&seed) % np);
		bes = json_object_get(pool, "backends");
		nb = json_is_array(bes) ? json_array_size(bes) : 0;
		k = nb ? fuzz_rand(&seed) % nb : 0;
		switch (fuzz_rand(&seed) % 7) {
		case 0:                     /* a backend goes */
			if (nb > 1)
				json_array_remove(bes, k);
			break;
		case 1:                     /* a backend comes, beside another */
			if (nb == 0 || !json_is_object(json_array_get(bes, k)))
				break;
			be = json_deep_copy(json_array_get(bes, k));
			snprintf(name, sizeof(name), "fz%u", (unsigned)(seed % 1000));
			json_object_set_new(be, "name", json_string(name));
			json_object_set_new(be, "port",
					    json_integer(1 + (json_int_t)(seed % 65535)));
			json_array_append_new(bes, be);
			break;
		case 2:                     /* two backends swap places */
			if (nb > 1) {
				json_t *x = json_incref(json_array_get(bes, k));

				json_array_remove(bes, k);
				json_array_insert_new(bes, 0, x);
			}
			break;
		case 3:                     /* reweighted */
			be = json_array_get(bes, k);
			if (json_is_object(be))
				json_object_set_new(be, "weight",
						    json_integer(1 + (json_int_t)(seed % 10)));
			break;
		case 4:                     /* a pool goes */
			if (np > 1)
				json_array_remove(pools, fuzz_rand(&seed) % np);
			break;
		case 5:                     /* a pool comes, a copy of another */
			if (!json_is_object(pool))
				break;
			pool = json_deep_copy(pool);
			snprintf(name, sizeof(name), "fzpool%u", (unsigned)(seed % 1000));
			json_object_set_new(pool, "name", json_string(name));
			json_array_append_new(pools, pool);
			break;
		default:                    /* pools reordered */
			if (np > 1) {
				json_t *x = json_incref(json_array_get(pools, np - 1));

				json_array_remove(pools, np - 1);
				json_array_insert_new(pools, 0, x);
			}
			break;
		}
	}
	out = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	*len = out ? strlen(out) : 0;
	return out;
}

static uint64_t
hash_input(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h | 1;
}

/* Load `text` and drop its findings. */
static struct sl_conf *
load_quiet(const char *text, size_t len)
{
	struct sl_conf_diag d;
	struct sl_conf *c = load(text, len, false, &d);

	sl_conf_diag_free(&d);
	return c;
}

/* Load r_text as the running config and reload b_text onto it. */
static void
fuzz_merge(const char *r_text, size_t r_len, const char *b_text, size_t b_len)
{
	struct sl_conf *r, *b, *b_ref, *m, *m2;
	struct sl_conf_diag dm, dm2;

	r = load_quiet(r_text, r_len);
	b = load_quiet(b_text, b_len);
	b_ref = load_quiet(b_text, b_len);
	FUZZ_CHECK((b == NULL) == (b_ref == NULL));
	if (r == NULL || b == NULL) {
		sl_conf_free(r);
		sl_conf_free(b);
		sl_conf_free(b_ref);
		return;
	}
	sl_conf_layout_init(r);
	memset(&dm, 0, sizeof(dm));
	m = sl_conf_merge(r, b, &dm);
	if (m == NULL) {
		FUZZ_CHECK(dm.n_errors > 0);
		check_diag(&dm, NULL);
	} else {
		FUZZ_CHECK(dm.n_errors == 0);
		check_merge(r, b_ref, m);
		/* The same file again: accepted, nothing moves. */
		memset(&dm2, 0, sizeof(dm2));
		m2 = sl_conf_merge(m, load_quiet(b_text, b_len), &dm2);
		FUZZ_CHECK(m2 != NULL);
		check_merge(m, b_ref, m2);
		check_same_layout(m, m2);
		sl_conf_free(m2);
		sl_conf_diag_free(&dm2);
		/* Back to the first file: whatever the verdict, no leak. */
		memset(&dm2, 0, sizeof(dm2));
		m2 = sl_conf_merge(m, load_quiet(r_text, r_len), &dm2);
		if (m2 != NULL)
			check_merge(m, r, m2);
		else
			FUZZ_CHECK(dm2.n_errors > 0);
		sl_conf_free(m2);
		sl_conf_diag_free(&dm2);
		sl_conf_free(m);
	}
	sl_conf_diag_free(&dm);
	sl_conf_free(b_ref);
	sl_conf_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *sep = memmem(data, size, SEP, sizeof(SEP) - 1);
	size_t r_len = sep ? (size_t)(sep - text) : size;
	struct sl_conf_diag d, d2, ds;
	struct sl_conf *c, *c2, *cs;
	json_error_t jerr;
	json_t *doc;

	doc = json_loadb(text, r_len, JSON_REJECT_DUPLICATES, &jerr);
	c = load(text, r_len, false, &d);
	check_diag(&d, doc);
	FUZZ_CHECK((c != NULL) == (d.n_errors == 0));
	/* Repeatable. */
	c2 = load(text, r_len, false, &d2);
	FUZZ_CHECK((c2 != NULL) == (c != NULL));
	FUZZ_CHECK(diag_equal(&d, &d2));
	FUZZ_CHECK(c == NULL || conf_equal(c, c2));
	sl_conf_free(c2);
	sl_conf_diag_free(&d2);
	/* Strict: the same, minus the configs that drew a warning. */
	cs = load(text, r_len, true, &ds);
	FUZZ_CHECK((cs != NULL) == (c != NULL && d.n_warnings == 0));
	FUZZ_CHECK(cs == NULL || conf_equal(c, cs));
	sl_conf_free(cs);
	sl_conf_diag_free(&ds);

	if (c != NULL) {
		/* Round trip through jansson's canonical form. */
		char *again = json_dumps(doc, JSON_COMPACT);
		size_t len;

		FUZZ_CHECK(doc != NULL && again != NULL);
		c2 = load(again, strlen(again), false, &d2);
		FUZZ_CHECK(c2 != NULL && conf_equal(c, c2));
		FUZZ_CHECK(diag_equal(&d, &d2));
		sl_conf_free(c2);
		sl_conf_diag_free(&d2);
		free(again);

		if (sep != NULL) {
			fuzz_merge(text, r_len, sep + sizeof(SEP) - 1,
				   size - r_len - (sizeof(SEP) - 1));
		} else {
			char *b = derive(doc, hash_input(data, size), &len);

			if (b != NULL)
				fuzz_merge(text, r_len, b, len);
			free(b);
		}
	}
	sl_conf_free(c);
	sl_conf_diag_free(&d);
	json_decref(doc);
	return 0;
}
