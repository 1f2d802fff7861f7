/* Congestion control lookup and the parts every algorithm shares. */
#include <string.h>

#include "sl_tcp_proto.h"
#include "tcp_cc_private.h"

const struct sl_tcp_cc_ops *
sl_tcp_cc_find(const char *name)
{
	if (strcmp(name, "newreno") == 0)
		return &sl_tcp_newreno;
	if (strcmp(name, "cubic") == 0)
		return &sl_tcp_cubic;
	return NULL;
}

/* RFC 6928 initial window: min(10 * MSS, max(2 * MSS, 14600)). */
void
tcp_cc_init_window(struct sl_tcp_cc *cc, uint32_t mss)
{
	uint32_t iw = 2 * mss > 14600 ? 2 * mss : 14600;

	memset(&cc->bytes_acked, 0, sizeof(*cc) - offsetof(struct sl_tcp_cc, bytes_acked));
	cc->mss = mss;
	cc->cwnd = iw < 10 * mss ? iw : 10 * mss;
	cc->ssthresh = UINT32_MAX;
}

/* Slow start with appropriate byte counting, L = 2 (RFC 3465). */
uint32_t
tcp_cc_slow_start(struct sl_tcp_cc *cc, uint32_t acked)
{
	uint32_t inc = acked < 2 * cc->mss ? acked : 2 * cc->mss;

	cc->cwnd += inc;
	return acked - (acked < inc ? acked : inc);
}

uint32_t
tcp_cc_half_flight(const struct sl_tcp_cc *cc, uint32_t flight)
{
	return flight / 2 > 2 * cc->mss ? flight / 2 : 2 * cc->mss;
}
