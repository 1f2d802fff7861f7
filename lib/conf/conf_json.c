/*
 * Typed getters over jansson for the config parsers. Each reports problems
 * with the JSON pointer of the value at fault and returns false (or NULL),
 * so that parsing carries on and one run shows every error.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sl_conf.h"
#include "conf_private.h"

/* Append "/key" to a JSON pointer, escaping as RFC 6901 requires. */
void
conf_ptr_key(char *out, const char *base, const char *key)
{
	size_t n = snprintf(out, PTR_MAX, "%s/", base);

	for (const char *c = key; *c != '\0' && n + 3 < PTR_MAX; c++) {
		if (*c == '~') {
			out[n++] = '~';
			out[n++] = '0';
		} else if (*c == '/') {
			out[n++] = '~';
			out[n++] = '1';
		} else {
			out[n++] = *c;
		}
	}
	out[n < PTR_MAX ? n : PTR_MAX - 1] = '\0';
}

void
conf_ptr_idx(char *out, const char *base, size_t idx)
{
	/* Pointers are bounded; a truncated one is still a useful prefix. */
	if (snprintf(out, PTR_MAX, "%s/%zu", base, idx) >= PTR_MAX)
		out[PTR_MAX - 1] = '\0';
}

/*
 * Reject keys not in `allowed`. "comment" is accepted everywhere so that the
 * shipped example can explain itself in plain JSON.
 */
void
conf_check_keys(json_t *obj, const char *ptr, const char *const *allowed,
	   struct sl_conf_diag *d)
{
	const char *key;
	json_t *val;
	char p[PTR_MAX];

	json_object_foreach(obj, key, val) {
		bool ok = false;

		if (strcmp(key, "comment") == 0) {
			if (!json_is_string(val)) {
				conf_ptr_key(p, ptr, key);
				conf_err(d, p, "\"comment\" must be a string");
			}
			continue;
		}
		for (const char *const *a = allowed; *a != NULL; a++)
			if (strcmp(key, *a) == 0) {
				ok = true;
				break;
			}
		if (!ok) {
			conf_ptr_key(p, ptr, key);
			conf_err(d, p, "unknown key \"%s\"", key);
		}
	}
}

json_t *
conf_get_object(json_t *parent, const char *key, const char *ptr, char *cptr,
	   struct sl_conf_diag *d)
{
	json_t *v = json_object_get(parent, key);

	conf_ptr_key(cptr, ptr, key);
	if (v == NULL)
		return NULL;
	if (!json_is_object(v)) {
		conf_err(d, cptr, "must be an object");
		return NULL;
	}
	return v;
}

json_t *
conf_get_array(json_t *parent, const char *key, const char *ptr, char *cptr,
	  bool required, struct sl_conf_diag *d)
{
	json_t *v = json_object_get(parent, key);

	conf_ptr_key(cptr, ptr, key);
	if (v == NULL) {
		if (required)
			conf_err(d, ptr, "missing required key \"%s\"", key);
		return NULL;
	}
	if (!json_is_array(v)) {
		conf_err(d, cptr, "must be an array");
		return NULL;
	}
	return v;
}

/* Integer in [min, max]; `def` when absent. Returns false on error. */
bool
conf_get_uint(json_t *obj, const char *key, const char *ptr, uint64_t min,
	 uint64_t max, uint64_t def, bool required, uint64_t *out,
	 struct sl_conf_diag *d)
{
	json_t *v = json_object_get(obj, key);
	char p[PTR_MAX];
	json_int_t i;

	*out = def;
	if (v == NULL) {
		if (required) {
			conf_err(d, ptr, "missing required key \"%s\"", key);
			return false;
		}
		return true;
	}
	conf_ptr_key(p, ptr, key);
	if (!json_is_integer(v)) {
		conf_err(d, p, "must be an integer");
		return false;
	}
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max) {
		conf_err(d, p, "must be between %llu and %llu (got %lld)",
			 (unsigned long long)min, (unsigned long long)max,
			 (long long)i);
		return false;
	}
	*out = (uint64_t)i;
	return true;
}

bool
conf_get_u32(json_t *obj, const char *key, const char *ptr, uint32_t min,
	uint32_t max, uint32_t def, uint32_t *out, struct sl_conf_diag *d)
{
	uint64_t v;
	bool ok = conf_get_uint(obj, key, ptr, min, max, def, false, &v, d);

	*out = (uint32_t)v;
	return ok;
}

bool
conf_get_double(json_t *obj, const char *key, const char *ptr, double min,
	   double max, double def, double *out, struct sl_conf_diag *d)
{
	json_t *v = json_object_get(obj, key);
	char p[PTR_MAX];
	double x;

	*out = def;
	if (v == NULL)
		return true;
	conf_ptr_key(p, ptr, key);
	if (!json_is_number(v)) {
		conf_err(d, p, "must be a number");
		return false;
	}
	x = json_number_value(v);
	if (!(x >= min && x <= max)) {
		conf_err(d, p, "must be between %g and %g (got %g)", min, max, x);
		return false;
	}
	*out = x;
	return true;
}

/* String of 1..size-1 bytes copied into buf; NULL/"" default when absent. */
bool
conf_get_str(json_t *obj, const char *key, const char *ptr, bool required,
	char *buf, size_t size, struct sl_conf_diag *d)
{
	json_t *v = json_object_get(obj, key);
	char p[PTR_MAX];

	buf[0] = '\0';
	if (v == NULL) {
		if (required) {
			conf_err(d, ptr, "missing required key \"%s\"", key);
			return false;
		}
		return true;
	}
	conf_ptr_key(p, ptr, key);
	if (!json_is_string(v)) {
		conf_err(d, p, "must be a string");
		return false;
	}
	if (json_string_length(v) == 0 || json_string_length(v) >= size) {
		conf_err(d, p, "must be 1 to %zu characters long", size - 1);
		return false;
	}
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return true;
}

bool
conf_get_ipv4(json_t *obj, const char *key, const char *ptr, bool required,
	 uint32_t *addr, struct sl_conf_diag *d)
{
	char s[64], p[PTR_MAX];

	*addr = 0;
	if (!conf_get_str(obj, key, ptr, required, s, sizeof(s), d))
		return false;
	if (s[0] == '\0')
		return true;
	conf_ptr_key(p, ptr, key);
	if (sl_conf_parse_ipv4(s, addr) != 0) {
		conf_err(d, p, "\"%s\" is not an IPv4 address (a.b.c.d)", s);
		return false;
	}
	return true;
}

bool
conf_get_cidr(json_t *obj, const char *key, const char *ptr, uint32_t *addr,
	 uint8_t *len, struct sl_conf_diag *d)
{
	char s[64], p[PTR_MAX];

	*addr = 0;
	*len = 0;
	if (!conf_get_str(obj, key, ptr, true, s, sizeof(s), d))
		return false;
	conf_ptr_key(p, ptr, key);
	if (sl_conf_parse_cidr(s, addr, len) != 0) {
		conf_err(d, p, "\"%s\" is not an IPv4 prefix (a.b.c.d/len)", s);
		return false;
	}
	return true;
}

/* Match a string against a fixed set of words; -1 (and an error) if none. */
int
conf_get_enum(json_t *obj, const char *key, const char *ptr, const char *const *words,
	 int def, struct sl_conf_diag *d)
{
	char s[SL_NAME_MAX], p[PTR_MAX], list[256] = "";
	size_t n = 0;

	if (!conf_get_str(obj, key, ptr, false, s, sizeof(s), d))
		return -1;
	if (s[0] == '\0')
		return def;
	for (int i = 0; words[i] != NULL; i++) {
		if (strcmp(s, words[i]) == 0)
			return i;
		n += snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
			      i ? ", " : "", words[i]);
	}
	conf_ptr_key(p, ptr, key);
	conf_err(d, p, "\"%s\" is not one of %s", s, list);
	return -1;
}

/*
 * Parse parent[key], an array of objects, into a new array of `size`-byte
 * elements (freed by sl_conf_free). Non-objects are reported and skipped.
 * *n is the number of elements filled; NULL when the array is absent or
 * empty. `aptr` receives the array's pointer for the caller's messages.
 */
void *
conf_parse_objects(json_t *parent, const char *key, const char *ptr, bool required,
	      size_t size, unsigned int *n, conf_elem_fn fn, void *ctx, char *aptr,
	      struct sl_conf_diag *d)
{
	json_t *a = conf_get_array(parent, key, ptr, aptr, required, d), *o;
	char ep[PTR_MAX];
	char *arr;
	size_t i;

	*n = 0;
	if (a == NULL || json_array_size(a) == 0)
		return NULL;
	arr = calloc(json_array_size(a), size);
	if (arr == NULL) {
		conf_err(d, aptr, "out of memory");
		return NULL;
	}
	json_array_foreach(a, i, o) {
		conf_ptr_idx(ep, aptr, i);
		if (!json_is_object(o)) {
			conf_err(d, ep, "must be an object");
			continue;
		}
		fn(o, ep, arr + (*n)++ * size, ctx, d);
	}
	return arr;
}

/* Resolve o[key] to a pool index in *pool (-1 when absent or unknown). */
