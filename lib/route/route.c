/*
 * Route tables: one string table maps a host (exact) or a ".suffix"
 * (wildcard) to a group; one table maps (group, path prefix) to the first
 * route of a chain of routes with that exact prefix. Each group lists the
 * distinct prefix lengths it uses, longest first, so a lookup probes one
 * hash per length. Built once, read-only afterwards.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sl_route.h"

#define HOST_MAX 255

struct slot {
	uint64_t hash;
	uint32_t group;          /* (group, prefix) table: owner group */
	uint16_t len;
	int32_t value;           /* group id, or first route index */
	const char *key;         /* points into the config: lives as long */
};

struct table {
	uint32_t mask;
	struct slot *slots;      /* key == NULL: empty */
};

struct group {
	uint16_t n_lens;
	uint16_t lens[64];       /* distinct prefix lengths, longest first */
};

struct sl_route_table {
	const struct sl_conf_listener *l;
	bool has_default;
	struct table hosts;      /* exact host -> group */
	struct table suffixes;   /* ".suffix" -> group */
	bool any_host, any_suffix;   /* the tables above are not empty */
	struct table prefixes;   /* (group, prefix) -> first route */
	int32_t *next;           /* next route with the same (group, prefix) */
	uint32_t n_groups;
	struct group *groups;    /* 0: routes without a host */
};

static uint64_t
fnv(uint32_t seed, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ seed;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int
table_init(struct table *t, unsigned int n)
{
	uint32_t size = 16;

	while (size < 2 * n)
		size <<= 1;
	t->mask = size - 1;
	t->slots = calloc(size, sizeof(*t->slots));
	return t->slots ? 0 : -1;
}

static struct slot *
table_find(const struct table *t, uint32_t group, const char *key, size_t len)
{
	uint64_t h = fnv(group, key, len);

	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		struct slot *s = &t->slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == h && s->group == group && s->len == len &&
		    memcmp(s->key, key, len) == 0)
			return s;
	}
}

/* Insert if absent; returns the slot (value untouched when present). */
static struct slot *
table_put(struct table *t, uint32_t group, const char *key, size_t len,
	  int32_t value)
{
	struct slot *s = table_find(t, group, key, len);

	if (s->key == NULL) {
		s->key = key;
		s->len = (uint16_t)len;
		s->group = group;
		s->hash = fnv(group, key, len);
		s->value = value;
	}
	return s;
}

void
sl_route_free(struct sl_route_table *t)
{
	if (t == NULL)
		return;
	free(t->hosts.slots);
	free(t->suffixes.slots);
	free(t->prefixes.slots);
	free(t->next);
	free(t->groups);
	free(t);
}

struct sl_route_table *
sl_route_compile(const struct sl_conf_listener *l)
{
	struct sl_route_table *t = calloc(1, sizeof(*t));
	unsigned int n = l->n_routes;

	if (t == NULL)
		return NULL;
	t->l = l;
	t->has_default = l->pool >= 0;
	t->n_groups = 1;
	if (table_init(&t->hosts, n) || table_init(&t->suffixes, n) ||
	    table_init(&t->prefixes, n) ||
	    (t->next = calloc(n + 1, sizeof(*t->next))) == NULL ||
	    (t->groups = calloc(n + 1, sizeof(*t->groups))) == NULL) {
		sl_route_free(t);
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct sl_conf_http_route *r = &l->routes[i];
		uint32_t g = 0;
		struct group *gr;
		struct slot *s;
		size_t plen = strlen(r->path_prefix);
		unsigned int k;

		t->next[i] = -1;
		if (!r->valid)
			continue;
		if (r->host[0] == '*') {
			/* Keep the dot: "*.a.com" matches x.a.com, not xa.com. */
			s = table_put(&t->suffixes, 0, r->host + 1, strlen(r->host + 1),
				      (int32_t)t->n_groups);
			t->any_suffix = true;
		} else if (r->host[0] != '\0') {
			s = table_put(&t->hosts, 0, r->host, strlen(r->host),
				      (int32_t)t->n_groups);
			t->any_host = true;
		} else {
			s = NULL;
		}
		if (s != NULL) {
			if (s->value == (int32_t)t->n_groups)
				t->n_groups++;
			g = (uint32_t)s->value;
		}
		gr = &t->groups[g];
		for (k = 0; k < gr->n_lens && gr->lens[k] != plen; k++)
			;
		if (k == gr->n_lens && gr->n_lens < 64) {
			/* Insert keeping longest first. */
			k = gr->n_lens++;
			while (k > 0 && gr->lens[k - 1] < plen) {
				gr->lens[k] = gr->lens[k - 1];
				k--;
			}
			gr->lens[k] = (uint16_t)plen;
		}
		s = table_put(&t->prefixes, g, r->path_prefix, plen, (int32_t)i);
		if (s->value != (int32_t)i) {
			/* Same group and prefix: chain after the earlier routes. */
			int32_t j = s->value;

			while (t->next[j] >= 0)
				j = t->next[j];
			t->next[j] = (int32_t)i;
		}
	}
	return t;
}

/* Longest prefix of `path` in group g whose chain admits the method. */
static int
match_group(const struct sl_route_table *t, uint32_t g, const char *path,
	    size_t path_len, unsigned int method)
{
	const struct group *gr = &t->groups[g];

	for (unsigned int k = 0; k < gr->n_lens; k++) {
		const struct slot *s;

		if (gr->lens[k] > path_len)
			continue;
		s = table_find(&t->prefixes, g, path, gr->lens[k]);
		if (s->key == NULL)
			continue;
		for (int32_t i = s->value; i >= 0; i = t->next[i]) {
			uint16_t m = t->l->routes[i].methods;

			if (m == 0 || (method < SL_METHOD_MAX && (m & (1u << method))))
				return i;
		}
	}
	return SL_ROUTE_NONE;
}

int
sl_route_lookup(const struct sl_route_table *t, const char *host, size_t host_len,
		const char *path, size_t path_len, unsigned int method)
{
	char h[HOST_MAX + 1];
	const struct slot *s;
	size_t n = 0;
	int r;

	/* Only the path is matched: stop at the query. */
	for (size_t i = 0; i < path_len; i++)
		if (path[i] == '?' || path[i] == '#') {
			path_len = i;
			break;
		}
	/* No route names a host: its lookups (a hash per dot) would all miss. */
	if (!t->any_host && !t->any_suffix)
		host_len = 0;
	/* Normalise the Host: lower case, no port, no trailing dot. */
	for (size_t i = 0; i < host_len && n < HOST_MAX && host[i] != ':'; i++)
		h[n++] = (host[i] >= 'A' && host[i] <= 'Z') ?
			 (char)(host[i] - 'A' + 'a') : host[i];
	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n > 0) {
		s = t->any_host ? table_find(&t->hosts, 0, h, n) : NULL;
		if (s != NULL && s->key != NULL &&
		    (r = match_group(t, (uint32_t)s->value, path, path_len, method)) >= 0)
			return r;
		/* Wildcards, longest suffix first: ".b.c.com", ".c.com", ".com". */
		for (size_t i = 0; t->any_suffix && i < n; i++) {
			if (h[i] != '.')
				continue;
			s = table_find(&t->suffixes, 0, h + i, n - i);
			if (s->key != NULL &&
			    (r = match_group(t, (uint32_t)s->value, path, path_len,
					     method)) >= 0)
				return r;
		}
	}
	r = match_group(t, 0, path, path_len, method);
	if (r >= 0)
		return r;
	return t->has_default ? SL_ROUTE_DEFAULT : SL_ROUTE_NONE;
}
