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

/* Root-cause alarm (upstream_rootcause.c): an in-flight sample, and a
 * verdict with its events. Control thread only. */
void
up_rootcause_sample(struct sl_up_pool *p);

struct sl_upstream;
void
up_rootcause_eval(struct sl_upstream *u, unsigned int pool, uint64_t now);

#endif
