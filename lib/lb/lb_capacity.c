/*
 * Learned capacity: the in-flight level at which a backend's latency
 * departs from its own low-load baseline, in the spirit of gradient
 * concurrency limiters (Netflix's concurrency-limits, Envoy's adaptive
 * concurrency), but only observed: nothing here limits a request. The
 * control thread feeds it (a sample every 10 ms, each completion's
 * latency) and closes a tick every 500 ms.
 */
#include <string.h>

#include "sl_lb.h"

/* The baseline follows a lower latency at once and a higher one in
 * tolerance slowly (1% a tick); latency over tolerance never raises it,
 * so a long overload does not become the new normal. */
#define CAP_BASE_RISE 0.01
/* A tick in tolerance below the knee, or over it below the knee, moves the
 * knee this much toward its level: one odd tick barely moves it, a
 * backend that slowed for good brings it down within tens of ticks. */
#define CAP_KNEE_GAIN 0.05

void
sl_lb_cap_init(struct sl_lb_cap *c)
{
	memset(c, 0, sizeof(*c));
}

void
sl_lb_cap_sample(struct sl_lb_cap *c, uint32_t inflight)
{
	c->inflight_sum += inflight;
	c->inflight_n++;
}

void
sl_lb_cap_done(struct sl_lb_cap *c, uint32_t latency_us)
{
	c->done++;
	c->latency_sum_us += latency_us;
}

double
sl_lb_cap_tick(struct sl_lb_cap *c, double tolerance)
{
	double level, lat;
	uint32_t done = c->done;

	level = c->inflight_n ? c->inflight_sum / c->inflight_n : 0;
	lat = done ? (double)c->latency_sum_us / done : 0;
	c->inflight_sum = 0;
	c->inflight_n = 0;
	c->done = 0;
	c->latency_sum_us = 0;
	c->tick_level = level;
	c->tick_latency_us = done < SL_LB_CAP_MIN_DONE ? 0 : lat;
	if (done < SL_LB_CAP_MIN_DONE)
		return sl_lb_cap_value(c);
	c->ticks++;
	if (c->baseline_us == 0 || lat < c->baseline_us)
		c->baseline_us = lat;
	if (lat <= c->baseline_us * tolerance) {
		c->baseline_us += (lat - c->baseline_us) * CAP_BASE_RISE;
		if (level > c->knee)
			c->knee = level;
		/* Fine at a level where it was not: those were spikes. */
		if (c->over > 0 && level >= c->over_level)
			c->over = 0;
		return sl_lb_cap_value(c);
	}
	/* Over tolerance. Above the knee it is the departure we look for; at
	 * or below it, a spike (or a backend that slowed): only a nudge. */
	if (level > c->knee) {
		if (c->over == 0 || level < c->over_level)
			c->over_level = level;
		c->over++;
	} else
		c->knee -= (c->knee - level) * CAP_KNEE_GAIN;
	return sl_lb_cap_value(c);
}

double
sl_lb_cap_value(const struct sl_lb_cap *c)
{
	if (c->ticks < SL_LB_CAP_MIN_TICKS || c->over < SL_LB_CAP_MIN_OVER)
		return 0;
	return c->knee;
}
