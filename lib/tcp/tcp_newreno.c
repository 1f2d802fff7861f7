/*
 * NewReno window management: RFC 5681 slow start (with RFC 3465 byte
 * counting) and congestion avoidance; the recovery itself (RFC 6582 /
 * RFC 6675) is driven by tcp_input.c.
 */
#include "tcp_cc_private.h"

static void
newreno_init(struct sl_tcp_cc *cc, uint32_t mss)
{
	tcp_cc_init_window(cc, mss);
}

static void
newreno_on_ack(struct sl_tcp_cc *cc, uint32_t acked, uint32_t flight,
	       uint32_t srtt_us, uint64_t now_us)
{
	(void)flight;
	(void)srtt_us;
	(void)now_us;
	if (cc->cwnd < cc->ssthresh) {
		acked = tcp_cc_slow_start(cc, acked);
		if (acked == 0)
			return;
	}
	/*
	 * Congestion avoidance, RFC 5681 (3.1) with byte counting: one MSS
	 * per cwnd of acknowledged bytes, i.e. about one MSS per RTT,
	 * however many ACKs (delayed, stretched) carry those bytes.
	 */
	cc->bytes_acked += acked;
	if (cc->bytes_acked >= cc->cwnd) {
		cc->bytes_acked -= cc->cwnd;
		cc->cwnd = tcp_cc_grow(cc->cwnd, cc->mss);
	}
}

static void
newreno_on_loss(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	cc->ssthresh = tcp_cc_half_flight(cc, flight);
	/*
	 * cwnd = ssthresh, as RFC 6675 has it, not RFC 5681's ssthresh +
	 * 3*MSS: the output path takes SACKed bytes out of the pipe, which
	 * already accounts for the segments the dupacks reported, and it
	 * does not inflate cwnd per further dupack, so the inflation would
	 * only make the SACK case 3 segments more aggressive.
	 */
	cc->cwnd = cc->ssthresh;
	cc->bytes_acked = 0;
}

static void
newreno_on_rto(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	cc->ssthresh = tcp_cc_half_flight(cc, flight);
	cc->cwnd = cc->mss;   /* the loss window, RFC 5681 3.1 */
	cc->bytes_acked = 0;
}

static void
newreno_on_recovered(struct sl_tcp_cc *cc, uint64_t now_us)
{
	(void)now_us;
	cc->cwnd = cc->ssthresh;   /* RFC 6582 3.2 step 6, option 1 */
	cc->bytes_acked = 0;
}

const struct sl_tcp_cc_ops sl_tcp_newreno = {
	.name = "newreno",
	.init = newreno_init,
	.on_ack = newreno_on_ack,
	.on_loss = newreno_on_loss,
	.on_rto = newreno_on_rto,
	.on_recovered = newreno_on_recovered,
};
