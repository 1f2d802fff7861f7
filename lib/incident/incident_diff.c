/*
 * The recorder's pure helpers: a structural diff of two configs, which
 * snapshots fit a bundle's byte bound, and the bundles a recorder owns on
 * disk (their names, and pruning the oldest). Unit-tested on their own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "incident_private.h"

/* ---- a growable text --------------------------------------------------- */

void
inc_buf_printf(struct inc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->cap ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = RTE_MAX(b->cap * 2, b->len + (size_t)n + 256);
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* ---- structural diff --------------------------------------------------- */

struct diff_ctx {
	struct inc_buf out;
	unsigned int max_lines;
	unsigned int n;
	char ptr[1024];
};

/* A value as one short line of JSON. */
static void
value_text(const json_t *v, char *buf, size_t len)
{
	char *s;

	if (v == NULL) {
		snprintf(buf, len, "(absent)");
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (strlen(s) >= len && len > 4)
		snprintf(buf, len, "%.*s...", (int)(len - 4), s);
	else
		snprintf(buf, len, "%s", s);
	free(s);
}

static void
diff_line(struct diff_ctx *c, const json_t *a, const json_t *b)
{
	char va[96], vb[96];

	if (++c->n > c->max_lines)
		return;
	value_text(a, va, sizeof(va));
	value_text(b, vb, sizeof(vb));
	inc_buf_printf(&c->out, "%s: %s -> %s\n", c->ptr[0] ? c->ptr : "/", va, vb);
}

/* Append one reference token (RFC 6901: ~ as ~0, / as ~1); returns the old length. */
static size_t
ptr_push(struct diff_ctx *c, const char *tok)
{
	size_t at = strlen(c->ptr), n = at;

	if (n + 2 < sizeof(c->ptr))
		c->ptr[n++] = '/';
	for (const char *s = tok; *s != '\0' && n + 3 < sizeof(c->ptr); s++) {
		if (*s == '~' || *s == '/') {
			c->ptr[n++] = '~';
			c->ptr[n++] = *s == '~' ? '0' : '1';
		} else {
			c->ptr[n++] = *s;
		}
	}
	c->ptr[n] = '\0';
	return at;
}

static void
diff_rec(struct diff_ctx *c, const json_t *a, const json_t *b)
{
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)a, k, v) {
			size_t at = ptr_push(c, k);

			diff_rec(c, v, json_object_get(b, k));
			c->ptr[at] = '\0';
		}
		json_object_foreach((json_t *)b, k, v) {
			if (json_object_get(a, k) != NULL)
				continue;
			size_t at = ptr_push(c, k);

			diff_line(c, NULL, v);
			c->ptr[at] = '\0';
		}
		return;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t na = json_array_size(a), nb = json_array_size(b);
		char idx[24];

		for (size_t i = 0; i < RTE_MAX(na, nb); i++) {
			size_t at;

			snprintf(idx, sizeof(idx), "%zu", i);
			at = ptr_push(c, idx);
			if (i < na && i < nb)
				diff_rec(c, json_array_get(a, i), json_array_get(b, i));
			else
				diff_line(c, json_array_get(a, i), json_array_get(b, i));
			c->ptr[at] = '\0';
		}
		return;
	}
	if (a == NULL || b == NULL || !json_equal((json_t *)a, (json_t *)b))
		diff_line(c, a, b);
}

char *
sl_incident_diff(const json_t *a, const json_t *b, unsigned int max_lines,
		 unsigned int *n_diffs)
{
	struct diff_ctx c = { .max_lines = max_lines };

	inc_buf_printf(&c.out, "%s", "");
	diff_rec(&c, a, b);
	if (c.n > max_lines)
		inc_buf_printf(&c.out, "... %u more\n", c.n - max_lines);
	if (n_diffs != NULL)
		*n_diffs = c.n;
	if (c.out.oom) {
		free(c.out.p);
		return NULL;
	}
	return c.out.p;
}

/* ---- the byte bound ---------------------------------------------------- */

unsigned int
sl_incident_fit(const size_t *size, unsigned int n, unsigned int n_before,
		size_t fixed, size_t limit, unsigned int *first, unsigned int *last)
{
	unsigned int f = 0, l = n, dropped = 0;
	size_t total = fixed;

	n_before = RTE_MIN(n_before, n);
	for (unsigned int i = 0; i < n; i++)
		total += size[i];
	while (total > limit && f < l) {
		unsigned int before = f < n_before ? n_before - f : 0;
		unsigned int after = l > n_before ? l - n_before : 0;

		/* The side that reaches further from the trigger loses a frame. */
		if (before > 0 && before >= after)
			total -= size[f++];
		else
			total -= size[--l];
		dropped++;
	}
	*first = f;
	*last = l;
	return dropped;
}

/* ---- bundles on disk --------------------------------------------------- */

static const char *
digits(const char *s, unsigned int min, unsigned int max)
{
	unsigned int n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n >= min && n <= max ? s + n : NULL;
}

bool
sl_incident_is_bundle_name(const char *name)
{
	const char *s = name;

	if (strncmp(s, "incident-", 9) != 0)
		return false;
	s = digits(s + 9, 8, 8);
	if (s == NULL || *s++ != 'T')
		return false;
	s = digits(s, 6, 6);
	if (s == NULL || *s++ != 'Z' || *s++ != '-')
		return false;
	s = digits(s, 1, 10);
	if (s == NULL || *s++ != '-')
		return false;
	s = digits(s, 1, 10);
	return s != NULL && *s == '\0';
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove a bundle: its regular files, then the directory. */
static int
remove_bundle(const char *dir, const char *name)
{
	char path[2048];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	d = opendir(path);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return rmdir(path) == 0 ? 0 : -errno;
}

int
sl_incident_prune(const char *dir, unsigned int keep)
{
	char **names = NULL;
	unsigned int n = 0, cap = 0;
	struct dirent *e;
	int removed = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (!sl_incident_is_bundle_name(e->d_name))
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));

			if (more == NULL)
				break;
			names = more;
			cap = cap ? cap * 2 : 64;
		}
		names[n] = strdup(e->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	/* Names start with the UTC time and end with a zero-padded id: oldest first. */
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (unsigned int i = 0; i + keep < n; i++)
		if (remove_bundle(dir, names[i]) == 0)
			removed++;
	for (unsigned int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return removed;
}
