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
	/*
	 * A declared capacity is what the backend serves at once: admitting
	 * more only queues at the backend, which is how the postmortem's
	 * favourite died, so it is the limit as it stands, with no headroom.
	 * A learned one is an estimate from where latency departed (it tends
	 * low), hence the headroom; where learned x headroom is below the
	 * declared figure, the backend shows it takes less now than was
	 * declared (a stale figure), and the lower one holds. Neither known:
	 * the bound alone, so a new backend is not starved before it is
	 * measured.
	 */
	double v;

	if (!enabled)
		return 0;
	if (learned == 0 && declared == 0)
		return max;
	v = learned != 0 ? ceil((double)learned * headroom) : (double)declared;
	if (declared != 0 && v > (double)declared)
		v = (double)declared;
	if (v < (double)min)
		return min;
	if (v > (double)max)
		return max;
	return (uint32_t)v;
}
