#ifndef SL_CONF_PRIVATE_H
#define SL_CONF_PRIVATE_H

/* Internal to lib/conf: not installed, not included by other modules. */

#include <jansson.h>

#include "sl_conf_types.h"

void
conf_diag_add(struct sl_conf_diag *diag, bool warning, const char *pointer,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define conf_err(d, p, ...)  conf_diag_add(d, false, p, __VA_ARGS__)
#define conf_warn(d, p, ...) conf_diag_add(d, true, p, __VA_ARGS__)

/* Cross-reference and semantic checks, after every field parsed cleanly. */
void
conf_check(const struct sl_conf *conf, struct sl_conf_diag *diag);

/* ---- typed JSON getters (conf_json.c) ---- */

#define PTR_MAX 256

/* Fills one element of an array of objects; `ep` is its pointer. */
typedef void (*conf_elem_fn)(json_t *o, const char *ep, void *elem, void *ctx,
			     struct sl_conf_diag *d);

void
conf_ptr_key(char *out, const char *base, const char *key);

void
conf_ptr_idx(char *out, const char *base, size_t idx);

void
conf_check_keys(json_t *obj, const char *ptr, const char *const *allowed,
	   struct sl_conf_diag *d);

json_t *
conf_get_object(json_t *parent, const char *key, const char *ptr, char *cptr,
	   struct sl_conf_diag *d);

json_t *
conf_get_array(json_t *parent, const char *key, const char *ptr, char *cptr,
	  bool required, struct sl_conf_diag *d);

bool
conf_get_uint(json_t *obj, const char *key, const char *ptr, uint64_t min,
	 uint64_t max, uint64_t def, bool required, uint64_t *out,
	 struct sl_conf_diag *d);

bool
conf_get_u32(json_t *obj, const char *key, const char *ptr, uint32_t min,
	uint32_t max, uint32_t def, uint32_t *out, struct sl_conf_diag *d);

bool
conf_get_double(json_t *obj, const char *key, const char *ptr, double min,
	   double max, double def, double *out, struct sl_conf_diag *d);

bool
conf_get_str(json_t *obj, const char *key, const char *ptr, bool required,
	char *buf, size_t size, struct sl_conf_diag *d);

bool
conf_get_ipv4(json_t *obj, const char *key, const char *ptr, bool required,
	 uint32_t *addr, struct sl_conf_diag *d);

bool
conf_get_cidr(json_t *obj, const char *key, const char *ptr, uint32_t *addr,
	 uint8_t *len, struct sl_conf_diag *d);

int
conf_get_enum(json_t *obj, const char *key, const char *ptr, const char *const *words,
	 int def, struct sl_conf_diag *d);

void *
conf_parse_objects(json_t *parent, const char *key, const char *ptr, bool required,
	      size_t size, unsigned int *n, conf_elem_fn fn, void *ctx, char *aptr,
	      struct sl_conf_diag *d);

/* conf_pool.c */
void
conf_parse_pools(json_t *root, struct sl_conf *c, struct sl_conf_diag *d);

void
conf_parse_overload(json_t *root, struct sl_conf *c, struct sl_conf_diag *d);

/* conf_incident.c */
void
conf_parse_incidents(json_t *root, struct sl_conf *c, struct sl_conf_diag *d);

void
conf_parse_rate(json_t *parent, const char *key, const char *ptr,
		struct sl_conf_rate *r, struct sl_conf_diag *d);

/* conf_layout.c: backends a pool of n may grow to without a restart (the
 * merge gives a pool a reload adds the same room). */
uint32_t
conf_layout_backend_cap(uint32_t n);

#endif
