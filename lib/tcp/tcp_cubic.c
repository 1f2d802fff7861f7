/*
 * CUBIC (RFC 9438): after a reduction the window follows
 *     W_cubic(t) = C * (t - K)^3 + W_max        (segments, t in seconds)
 * concave up to the previous peak W_max, reached at t = K, then convex
 * beyond it. Below ssthresh it slow-starts exactly like NewReno.
 *
 * Field use in struct sl_tcp_cc: w_max is W_max, w_last_max is cwnd_prior
 * (the window just before the last reduction), w_est the Reno-friendly
 * estimate, k is K, epoch_start_us the start of the current congestion
 * avoidance stage (0: none yet), bytes_acked the W_est byte counter.
 */
#include <math.h>

#include "tcp_cc_private.h"

#define CUBIC_C      0.4
#define CUBIC_BETA   0.7
/* beta as a fraction, for exact integer window arithmetic */
#define BETA_NUM     7
#define BETA_DEN     10
/* RFC 9438 4.3: the AIMD increase that matches Reno's rate given beta. */
#define CUBIC_ALPHA  (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

static void
cubic_init(struct sl_tcp_cc *cc, uint32_t mss)
{
	tcp_cc_init_window(cc, mss);
}

/* W_cubic(t) in bytes. */
static inline double
w_cubic(const struct sl_tcp_cc *cc, double t)
{
	double d = t - cc->k;

	return CUBIC_C * d * d * d * cc->mss + cc->w_max;
}

/* A congestion avoidance stage starts: anchor the curve (RFC 9438 4.2). */
static void
epoch_begin(struct sl_tcp_cc *cc, uint64_t now_us)
{
	cc->epoch_start_us = now_us != 0 ? now_us : 1;
	if (cc->w_max <= cc->cwnd) {
		/* No peak above us (first stage, or after an RTO, 4.8). */
		cc->w_max = cc->cwnd;
		cc->k = 0;
	} else {
		cc->k = cbrt((double)(cc->w_max - cc->cwnd) / cc->mss / CUBIC_C);
	}
	cc->w_est = cc->cwnd;
	cc->bytes_acked = 0;
}

static void
cubic_on_ack(struct sl_tcp_cc *cc, uint32_t acked, uint32_t flight,
	     uint32_t srtt_us, uint64_t now_us)
{
	double t, target;

	(void)flight;
	if (cc->cwnd < cc->ssthresh) {
		acked = tcp_cc_slow_start(cc, acked);
		if (acked == 0)
			return;
	}
	if (cc->epoch_start_us == 0)
		epoch_begin(cc, now_us);
	t = now_us > cc->epoch_start_us ? (now_us - cc->epoch_start_us) / 1e6 : 0;

	/*
	 * Reno-friendly estimate (4.3): W_est += alpha * acked / cwnd in
	 * segments, kept exact by counting bytes: alpha MSS per cwnd acked.
	 * alpha becomes 1 once W_est is back at the window before the loss.
	 */
	cc->bytes_acked += acked;
	if (cc->bytes_acked >= cc->cwnd) {
		uint32_t n = cc->bytes_acked / cc->cwnd;
		double alpha = cc->w_est >= cc->w_last_max ? 1.0 : CUBIC_ALPHA;

		cc->bytes_acked -= n * cc->cwnd;
		cc->w_est = tcp_cc_grow(cc->w_est,
					(uint64_t)(n * alpha * cc->mss + 0.5));
	}
	if (w_cubic(cc, t) < cc->w_est) {
		/* Reno-friendly region: do at least what Reno would. */
		if (cc->w_est > cc->cwnd)
			cc->cwnd = cc->w_est;
		return;
	}
	/* Concave or convex region (4.4, 4.5): aim one RTT ahead. */
	target = w_cubic(cc, t + srtt_us / 1e6);
	if (target > 1.5 * cc->cwnd)
		target = 1.5 * cc->cwnd;
	if (target > cc->cwnd)
		cc->cwnd = tcp_cc_grow(cc->cwnd, (uint64_t)((target - cc->cwnd) *
							    acked / cc->cwnd));
}

static inline uint32_t
beta_flight(const struct sl_tcp_cc *cc, uint32_t flight)
{
	uint32_t ss = (uint32_t)((uint64_t)flight * BETA_NUM / BETA_DEN);

	return ss > 2 * cc->mss ? ss : 2 * cc->mss;
}

/*
 * Multiplicative decrease (4.6): ssthresh from the flight size, so that an
 * application-limited cwnd does not inflate it, with fast convergence (4.7)
 * on W_max.
 */
static void
cubic_on_loss(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	/* A peak below the last one: another flow is arriving, so give way
	 * by aiming below where this one turned back. */
	if (cc->cwnd < cc->w_max)
		cc->w_max = (uint32_t)((uint64_t)cc->cwnd * (BETA_DEN + BETA_NUM) /
				       (2 * BETA_DEN));
	else
		cc->w_max = cc->cwnd;
	cc->w_last_max = cc->cwnd;
	cc->ssthresh = beta_flight(cc, flight);
	cc->cwnd = cc->ssthresh;
	cc->epoch_start_us = 0;
	cc->bytes_acked = 0;
}

static void
cubic_on_rto(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	/* A timeout repeated before any growth finds cwnd at one MSS:
	 * cwnd_prior is still the one from the first. */
	if (cc->cwnd > cc->mss)
		cc->w_last_max = cc->cwnd;
	cc->ssthresh = beta_flight(cc, flight);
	cc->cwnd = cc->mss;
	/* 4.8: the next stage starts with K = 0, W_max = W_est = cwnd_epoch. */
	cc->w_max = 0;
	cc->k = 0;
	cc->epoch_start_us = 0;
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
