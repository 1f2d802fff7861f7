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

#endif
