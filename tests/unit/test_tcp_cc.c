/*
 * Congestion control: NewReno and CUBIC driven by a simulated ACK clock
 * (one ACK per MSS, or per 2 MSS, spread evenly over each RTT), checked
 * against the shapes RFC 5681, 3465 and 9438 prescribe.
 */
#include <math.h>

#include "sl_tcp_proto.h"
#include "sl_test.h"

#define MSS 1000u

static uint64_t now;   /* microseconds */

static void
cc_init(struct sl_tcp_cc *cc, const struct sl_tcp_cc_ops *ops)
{
	memset(cc, 0xa5, sizeof(*cc));   /* init must not rely on zeroed memory */
	cc->ops = ops;
	ops->init(cc, MSS);
}

/* One RTT of ACKs, each for `per_ack` bytes, covering the whole window. */
static void
run_rtt(struct sl_tcp_cc *cc, uint32_t rtt_us, uint32_t per_ack)
{
	uint32_t n = cc->cwnd / per_ack;

	if (n == 0)
		n = 1;
	for (uint32_t i = 0; i < n; i++) {
		now += rtt_us / n;
		cc->ops->on_ack(cc, per_ack, cc->cwnd, rtt_us, now);
	}
}

/* Grow for `secs` seconds of RTTs; returns the cwnd at the end. */
static uint32_t
run_for(struct sl_tcp_cc *cc, double secs, uint32_t rtt_us)
{
	uint64_t end = now + (uint64_t)(secs * 1e6);

	while (now < end)
		run_rtt(cc, rtt_us, MSS);
	return cc->cwnd;
}

static void
test_find(void)
{
	CHECK(sl_tcp_cc_find("newreno") == &sl_tcp_newreno);
	CHECK(sl_tcp_cc_find("cubic") == &sl_tcp_cubic);
	CHECK_STR(sl_tcp_newreno.name, "newreno");
	CHECK_STR(sl_tcp_cubic.name, "cubic");
	CHECK(sl_tcp_cc_find("reno") == NULL);
	CHECK(sl_tcp_cc_find("CUBIC") == NULL);
	CHECK(sl_tcp_cc_find("cubic ") == NULL);
	CHECK(sl_tcp_cc_find("") == NULL);
	CHECK(sl_tcp_cc_find(NULL) == NULL);
}

static void
test_initial_window(void)
{
	static const struct { uint32_t mss, iw; } v[] = {
		{ 536, 5360 }, { 1000, 10000 }, { 1460, 14600 }, { 1461, 14600 },
		{ 4000, 14600 }, { 8960, 17920 },
	};
	const struct sl_tcp_cc_ops *ops[2] = { &sl_tcp_newreno, &sl_tcp_cubic };

	for (int a = 0; a < 2; a++) {
		for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			struct sl_tcp_cc cc;

			memset(&cc, 0xa5, sizeof(cc));
			cc.ops = ops[a];
			ops[a]->init(&cc, v[i].mss);
			CHECK(cc.ops == ops[a]);
			CHECK_EQ(cc.mss, v[i].mss);
			CHECK_EQ(cc.cwnd, v[i].iw);
			CHECK_EQ(cc.ssthresh, UINT32_MAX);
			CHECK_EQ(cc.bytes_acked, 0);
			CHECK_EQ(cc.epoch_start_us, 0);
			CHECK_EQ(cc.w_max, 0);
		}
	}
}

/* Shared by both algorithms: RFC 5681 slow start with RFC 3465 L = 2. */
static void
check_slow_start(const struct sl_tcp_cc_ops *ops)
{
	struct sl_tcp_cc cc;

	cc_init(&cc, ops);
	run_rtt(&cc, 10000, MSS);
	CHECK_EQ(cc.cwnd, 20 * MSS);
	run_rtt(&cc, 10000, MSS);
	CHECK_EQ(cc.cwnd, 40 * MSS);
	/* Delayed ACKs (2 MSS each) double it too. */
	run_rtt(&cc, 10000, 2 * MSS);
	CHECK_EQ(cc.cwnd, 80 * MSS);
	/* A stretch ACK counts for at most 2 MSS. */
	ops->on_ack(&cc, 8 * MSS, cc.cwnd, 10000, now);
	CHECK_EQ(cc.cwnd, 82 * MSS);
	/* A partial-segment ACK counts for its bytes. */
	ops->on_ack(&cc, 100, cc.cwnd, 10000, now);
	CHECK_EQ(cc.cwnd, 82 * MSS + 100);

	/* Slow start stops at ssthresh; the rest of that ACK is CA's. */
	cc_init(&cc, ops);
	cc.ssthresh = 15 * MSS + 500;
	for (int i = 0; i < 2; i++)
		ops->on_ack(&cc, 2 * MSS, cc.cwnd, 10000, now += 1000);
	CHECK_EQ(cc.cwnd, 14 * MSS);
	ops->on_ack(&cc, 2 * MSS, cc.cwnd, 10000, now += 1000);
	CHECK(cc.cwnd >= 15 * MSS + 500);
	CHECK(cc.cwnd < 16 * MSS);
}

static void
test_newreno(void)
{
	struct sl_tcp_cc cc;
	uint32_t before;

	check_slow_start(&sl_tcp_newreno);

	/* Congestion avoidance: one MSS per RTT, whatever the ACK pattern. */
	cc_init(&cc, &sl_tcp_newreno);
	cc.cwnd = cc.ssthresh = 20 * MSS;
	run_rtt(&cc, 50000, MSS);
	CHECK_EQ(cc.cwnd, 21 * MSS);
	before = cc.cwnd;
	for (int r = 0; r < 10; r++)
		run_rtt(&cc, 50000, 2 * MSS);
	CHECK(cc.cwnd >= before + 9 * MSS && cc.cwnd <= before + 10 * MSS);
	/* Many tiny ACKs do not add up to more. */
	before = cc.cwnd;
	for (uint32_t b = 0; b < before; b += 100)
		sl_tcp_newreno.on_ack(&cc, 100, cc.cwnd, 50000, now);
	CHECK_EQ(cc.cwnd, before + MSS);

	/* Fast recovery: half the flight (RFC 6675: cwnd = ssthresh; the
	 * dupacked segments leave the pipe through the SACK count). */
	sl_tcp_newreno.on_loss(&cc, 40 * MSS, now);
	CHECK_EQ(cc.ssthresh, 20 * MSS);
	CHECK_EQ(cc.cwnd, 20 * MSS);
	/* Recovery ends at ssthresh, whatever cwnd did meanwhile. */
	cc.cwnd = 25 * MSS;
	sl_tcp_newreno.on_recovered(&cc, now);
	CHECK_EQ(cc.cwnd, 20 * MSS);
	/* ...and from there, CA: no more slow start. */
	run_rtt(&cc, 50000, MSS);
	CHECK_EQ(cc.cwnd, 21 * MSS);
	/* Never below 2 MSS. */
	sl_tcp_newreno.on_loss(&cc, 3 * MSS, now);
	CHECK_EQ(cc.ssthresh, 2 * MSS);

	/* RTO: ssthresh from the flight, cwnd to the loss window. */
	cc.cwnd = 40 * MSS;
	sl_tcp_newreno.on_rto(&cc, 40 * MSS, now);
	CHECK_EQ(cc.ssthresh, 20 * MSS);
	CHECK_EQ(cc.cwnd, MSS);
	/* A second timeout of the same flight keeps ssthresh. */
	sl_tcp_newreno.on_rto(&cc, 40 * MSS, now);
	CHECK_EQ(cc.ssthresh, 20 * MSS);
	/* Slow start again: 1, 2, 4 ... */
	run_rtt(&cc, 50000, MSS);
	CHECK_EQ(cc.cwnd, 2 * MSS);
	run_rtt(&cc, 50000, MSS);
	CHECK_EQ(cc.cwnd, 4 * MSS);
}

/* A CUBIC flow that has just lost at a window of `w` MSS. */
static void
cubic_after_loss(struct sl_tcp_cc *cc, uint32_t w)
{
	cc_init(cc, &sl_tcp_cubic);
	cc->cwnd = w * MSS;
	sl_tcp_cubic.on_loss(cc, w * MSS, now);
	sl_tcp_cubic.on_recovered(cc, now);
}

/* Run RTTs until `t` seconds into the current CUBIC epoch. */
static uint32_t
run_until(struct sl_tcp_cc *cc, double t, uint32_t rtt_us)
{
	while (now < cc->epoch_start_us + (uint64_t)(t * 1e6))
		run_rtt(cc, rtt_us, MSS);
	return cc->cwnd;
}

static double
epoch_t(const struct sl_tcp_cc *cc)
{
	return (now - cc->epoch_start_us) / 1e6;
}

static void
test_cubic_shape(void)
{
	struct sl_tcp_cc cc;
	/* 200 ms: long enough that the Reno-friendly estimate (alpha MSS
	 * per RTT) stays below the curve for the whole test. */
	const uint32_t rtt = 200000;
	double k, g_early, g_late, g_after1, g_after2;
	uint32_t w0, w1, w2;

	check_slow_start(&sl_tcp_cubic);

	/* Multiplicative decrease to 0.7 W. */
	cubic_after_loss(&cc, 100);
	CHECK_EQ(cc.w_max, 100 * MSS);
	CHECK_EQ(cc.ssthresh, 70 * MSS);
	CHECK_EQ(cc.cwnd, 70 * MSS);

	/* K = cbrt(W_max * (1 - beta) / C) = cbrt(30 / 0.4) s. */
	run_rtt(&cc, rtt, MSS);
	k = cbrt(30 / 0.4);
	CHECK(fabs(cc.k - k) < 1e-9);
	CHECK(cc.epoch_start_us != 0);

	/* Concave: fast at first, flattening towards W_max... */
	w0 = cc.cwnd;
	w1 = run_until(&cc, 1.2, rtt);
	g_early = w1 - w0;
	w0 = run_until(&cc, k - 1, rtt);
	w1 = run_until(&cc, k, rtt);
	g_late = w1 - w0;
	CHECK(g_early > 10 * g_late);
	CHECK(w1 <= 100 * MSS + MSS / 2);
	/* ...which it reaches around t = K. */
	CHECK(epoch_t(&cc) - k < 0.21);
	CHECK(fabs((double)cc.cwnd - 100.0 * MSS) < 0.03 * 100 * MSS);
	/* Convex beyond: probing for more, faster and faster. */
	w0 = cc.cwnd;
	w1 = run_until(&cc, k + 1, rtt);
	w2 = run_until(&cc, k + 2, rtt);
	g_after1 = w1 - w0;
	g_after2 = w2 - w1;
	CHECK(w1 > 100 * MSS);
	CHECK(g_after2 > 3 * g_after1);
	CHECK(cc.cwnd > cc.w_est);   /* the curve, not the Reno estimate */
	/* Against the curve itself: W(t) = C (t - K)^3 + W_max. */
	{
		double want = (0.4 * pow(epoch_t(&cc) - k, 3) + 100) * MSS;

		CHECK(fabs(cc.cwnd - want) < 0.03 * want);
	}
	/* Never more than 1.5x per RTT, even long after. */
	now += 60 * 1000000ull;
	w0 = cc.cwnd;
	run_rtt(&cc, rtt, MSS);
	CHECK(cc.cwnd <= w0 * 3 / 2 + MSS);
	CHECK(cc.cwnd >= w0 * 4 / 3);
}

static void
test_cubic_reno_friendly(void)
{
	struct sl_tcp_cc cc;
	const uint32_t rtt = 1000;   /* 1 ms: CUBIC's curve barely moves */
	double alpha = 3 * (1 - 0.7) / (1 + 0.7), wc;

	cubic_after_loss(&cc, 100);
	for (int r = 0; r < 40; r++)
		run_rtt(&cc, rtt, MSS);
	/* W_est grew by alpha MSS per RTT from 70 MSS... */
	CHECK(fabs((double)cc.cwnd - (70 + 40 * alpha) * MSS) < 1.5 * MSS);
	/* ...far above what the cubic curve alone gives. */
	wc = (0.4 * pow((now - cc.epoch_start_us) / 1e6 - cc.k, 3) + 100) * MSS;
	CHECK(cc.cwnd > wc + 15 * MSS);
	CHECK_EQ(cc.cwnd, cc.w_est);
	/* Past the window before the loss, alpha becomes 1: Reno's rate. */
	while (cc.w_est < 101 * MSS)
		run_rtt(&cc, rtt, MSS);
	{
		uint32_t w0 = cc.cwnd;

		for (int r = 0; r < 10; r++)
			run_rtt(&cc, rtt, MSS);
		CHECK(cc.cwnd >= w0 + 9 * MSS && cc.cwnd <= w0 + 11 * MSS);
	}
}

static void
test_cubic_fast_convergence(void)
{
	struct sl_tcp_cc cc;

	cubic_after_loss(&cc, 100);
	/* Loses again at 90 MSS, short of the last peak: W_max drops to
	 * 90 * (1 + beta) / 2 instead of 90. */
	cc.cwnd = 90 * MSS;
	sl_tcp_cubic.on_loss(&cc, 90 * MSS, now);
	CHECK_EQ(cc.w_max, 76500);
	CHECK_EQ(cc.cwnd, 63000);
	CHECK_EQ(cc.w_last_max, 90 * MSS);
	sl_tcp_cubic.on_recovered(&cc, now);
	run_rtt(&cc, 100000, MSS);
	CHECK(fabs(cc.k - cbrt((76.5 - 63) / 0.4)) < 1e-9);
	/* A loss above the last peak keeps the full window as W_max. */
	cc.cwnd = 80 * MSS;
	sl_tcp_cubic.on_loss(&cc, 80 * MSS, now);
	CHECK_EQ(cc.w_max, 80 * MSS);
	CHECK_EQ(cc.cwnd, 56 * MSS);
	/* ssthresh follows the flight, not an app-limited cwnd. */
	cc.cwnd = 80 * MSS;
	sl_tcp_cubic.on_loss(&cc, 20 * MSS, now);
	CHECK_EQ(cc.ssthresh, 14 * MSS);
	sl_tcp_cubic.on_loss(&cc, 2 * MSS, now);
	CHECK_EQ(cc.ssthresh, 2 * MSS);
}

static void
test_cubic_rto(void)
{
	struct sl_tcp_cc cc;

	cubic_after_loss(&cc, 100);
	{
		uint32_t prior = run_for(&cc, 1.0, 100000);

		CHECK(prior > 80 * MSS);
		sl_tcp_cubic.on_rto(&cc, 80 * MSS, now);
		CHECK_EQ(cc.cwnd, MSS);
		CHECK_EQ(cc.ssthresh, 56 * MSS);
		CHECK_EQ(cc.w_last_max, prior);
		/* Backed-off timeouts of the same flight change nothing. */
		sl_tcp_cubic.on_rto(&cc, 80 * MSS, now);
		CHECK_EQ(cc.ssthresh, 56 * MSS);
		CHECK_EQ(cc.cwnd, MSS);
		CHECK_EQ(cc.w_last_max, prior);
	}
	/* Slow start up to ssthresh, then a curve anchored there (RFC 9438
	 * 4.8: K = 0 and W_max = cwnd at the start of the stage). */
	while (cc.cwnd < cc.ssthresh)
		run_rtt(&cc, 100000, MSS);
	CHECK_EQ(cc.cwnd, 56 * MSS);
	run_rtt(&cc, 100000, MSS);
	CHECK_EQ(cc.k, 0);
	CHECK_EQ(cc.w_max, 56 * MSS);
	/* Grows from there; not aimed back at the old peak of ~86 MSS. */
	CHECK(run_for(&cc, 2.0, 100000) > 56 * MSS + 5 * MSS);
	CHECK_EQ(cc.w_max, 56 * MSS);
}

int
main(void)
{
	test_find();
	test_initial_window();
	test_newreno();
	test_cubic_shape();
	test_cubic_reno_friendly();
	test_cubic_fast_convergence();
	test_cubic_rto();
	return sl_test_result("tcp_cc");
}
