/*
 * The per-lcore module slots (struct sl_lcore_module): ids handed out at a
 * module's first attach, and the counter reset that runs each module's own.
 */
#include <errno.h>
#include <string.h>

#include "sl_lcore.h"

/* Slot 0 is never given out: lc->mod[0] stays NULL for modules not yet
 * registered. Written by the control thread before the lcores launch. */
static struct sl_lcore_module *modules[SL_LCORE_MODULES];
static unsigned int n_modules = 1;

int
sl_lcore_module_attach(struct sl_lcore *lc, struct sl_lcore_module *m,
		       void *ctx)
{
	if (m->id == 0) {
		if (ctx == NULL)
			return 0;
		if (n_modules == SL_LCORE_MODULES)
			return -ENOSPC;
		m->id = (uint8_t)n_modules;
		modules[n_modules++] = m;
	}
	lc->mod[m->id] = ctx;
	return 0;
}

void
sl_lcore_module_detach(struct sl_lcore *lc, const struct sl_lcore_module *m,
		       const void *ctx)
{
	if (lc != NULL && m->id != 0 && lc->mod[m->id] == ctx)
		lc->mod[m->id] = NULL;
}

void
sl_lcore_reset_counters(struct sl_lcore *lc)
{
	memset(lc->stats, 0, sizeof(lc->stats));
	memset(&lc->cycles, 0, sizeof(lc->cycles));
	for (unsigned int i = 1; i < n_modules; i++)
		if (lc->mod[i] != NULL && modules[i]->reset_counters != NULL)
			modules[i]->reset_counters(lc->mod[i]);
}
