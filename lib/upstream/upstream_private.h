#ifndef UPSTREAM_PRIVATE_H
#define UPSTREAM_PRIVATE_H

/* Internal to lib/upstream: shared by creation (upstream.c) and the control thread. */

#include "sl_conf_types.h"
#include "sl_upstream_types.h"

int
up_pool_init(struct sl_up_pool *p, const struct sl_conf_pool *cp, uint64_t now);

void
up_pool_settings(struct sl_up_pool *p, const struct sl_conf_pool *cp);

void
up_backend_init(struct sl_up_pool *p, const struct sl_conf_pool *cp,
		unsigned int i, uint64_t now);

struct sl_lb_maglev *
up_maglev_build(const struct sl_up_pool *p, const struct sl_conf_pool *cp);

void
up_maglev_free(struct sl_lb_maglev *m);

#endif
