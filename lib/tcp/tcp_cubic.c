/* CUBIC (RFC 9438): window growth as a cubic function of time since loss. */
#include <math.h>

#include "tcp_cc_private.h"

#define CUBIC_C    0.4
#define CUBIC_BETA 0.7

static void
cubic_init(struct sl_tcp_cc *cc, uint32_t mss)
{
	tcp_cc_init_window(cc, mss);
}

/* Target window in bytes at `t` seconds after the epoch started. */
static double
w_cubic(const struct sl_tcp_cc *cc, double t)
{
	double d = t - cc->k;

	return (CUBIC_C * d * d * d) * cc->mss + cc->w_max;
}

static void
cubic_on_ack(struct sl_tcp_cc *cc, uint32_t acked, uint32_t flight,
	     uint32_t srtt_us, uint64_t now_us)
{
	double t, target, rtt = srtt_us / 1e6;

	(void)flight;
	if (cc->cwnd < cc->ssthresh) {
		tcp_cc_slow_start(cc, acked);
		return;
	}
	if (cc->epoch_start_us == 0) {
		/* First ACK of congestion avoidance after a loss or start. */
		cc->epoch_start_us = now_us ? now_us : 1;
		if (cc->w_max < cc->cwnd) {
			cc->w_max = cc->cwnd;
			cc->k = 0;
		} else {
			cc->k = cbrt((cc->w_max - cc->cwnd) / (double)cc->mss / CUBIC_C);
		}
		cc->w_est = cc->cwnd;
	}
	t = (now_us - cc->epoch_start_us) / 1e6;
	target = w_cubic(cc, t + rtt);
	/* Reno-friendly estimate (RFC 9438 4.3), alpha = 3(1-b)/(1+b). */
	cc->bytes_acked += acked;
	while (cc->bytes_acked >= cc->w_est && cc->w_est > 0) {
		cc->bytes_acked -= cc->w_est;
		cc->w_est += (uint32_t)(3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * cc->mss);
	}
	if (cc->w_est > target) {
		cc->cwnd = cc->w_est;
	} else if (target > cc->cwnd) {
		/* Grow by (target - cwnd) / cwnd per MSS acknowledged. */
		uint64_t inc = (uint64_t)((target - cc->cwnd) * acked / cc->cwnd);
		uint32_t cap = acked / 2 > 0 ? acked / 2 : 1;   /* at most 1.5x per RTT */

		cc->cwnd += (uint32_t)(inc < cap ? inc : cap);
	}
}

static void
cubic_reduce(struct sl_tcp_cc *cc)
{
	/* Fast convergence: give way when the last peak was not reached. */
	if (cc->cwnd < cc->w_last_max)
		cc->w_last_max = (uint32_t)(cc->cwnd * (1 + CUBIC_BETA) / 2);
	else
		cc->w_last_max = cc->cwnd;
	cc->w_max = cc->w_last_max;
	cc->epoch_start_us = 0;
}

static void
cubic_on_loss(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	uint32_t w;

	(void)flight;
	(void)now_us;
	cubic_reduce(cc);
	w = (uint32_t)(cc->cwnd * CUBIC_BETA);
	cc->ssthresh = w > 2 * cc->mss ? w : 2 * cc->mss;
	cc->cwnd = cc->ssthresh;
	cc->bytes_acked = 0;
}

static void
cubic_on_rto(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	uint32_t w;

	(void)flight;
	(void)now_us;
	cubic_reduce(cc);
	w = (uint32_t)(cc->cwnd * CUBIC_BETA);
	cc->ssthresh = w > 2 * cc->mss ? w : 2 * cc->mss;
	cc->cwnd = cc->mss;
	cc->bytes_acked = 0;
}

static void
cubic_on_recovered(struct sl_tcp_cc *cc, uint64_t now_us)
{
	(void)now_us;
	cc->cwnd = cc->ssthresh;
}

const struct sl_tcp_cc_ops sl_tcp_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_on_ack,
	.on_loss = cubic_on_loss,
	.on_rto = cubic_on_rto,
	.on_recovered = cubic_on_recovered,
};
