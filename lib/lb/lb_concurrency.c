/*
 * The adaptive per-backend concurrency limit, computed on the control
 * thread every 500 ms (upstream_rootcause.c) and published to the workers,
 * who pass a backend at its limit over for one with headroom (spill-over,
 * upstream_pick.c). Pure arithmetic: no state, no time.
 */
#include <math.h>

#include "sl_lb.h"

uint32_t
sl_lb_conc_limit(uint32_t learned, uint32_t declared, bool enabled,
		 uint32_t min, uint32_t max, double headroom)
{
	/* Learned beats declared: it is what the backend shows it takes
	 * now, and a declared figure may be stale. Neither known: the
	 * bound alone, so a new backend is not starved before it is
	 * measured. */
	uint32_t base = learned != 0 ? learned : declared;
	double v;

	if (!enabled)
		return 0;
	if (base == 0)
		return max;
	v = ceil((double)base * headroom);
	if (v < (double)min)
		return min;
	if (v > (double)max)
		return max;
	return (uint32_t)v;
}
