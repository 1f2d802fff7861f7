#ifndef SL_TCP_CC_PRIVATE_H
#define SL_TCP_CC_PRIVATE_H

/* Helpers shared by the congestion control algorithms (lib/tcp only). */

#include "sl_tcp_proto.h"

/* RFC 6928 initial window; ssthresh "arbitrarily high"; all else zero. */
void tcp_cc_init_window(struct sl_tcp_cc *cc, uint32_t mss);

/*
 * Slow start with appropriate byte counting, L = 2*MSS (RFC 3465), never
 * past ssthresh. Returns the acknowledged bytes left over once cwnd
 * reached ssthresh, for congestion avoidance; 0 when slow start used all.
 */
uint32_t tcp_cc_slow_start(struct sl_tcp_cc *cc, uint32_t acked);

/* RFC 5681 equation (4): max(FlightSize / 2, 2 * SMSS). */
uint32_t tcp_cc_half_flight(const struct sl_tcp_cc *cc, uint32_t flight);

/* cwnd + inc without wrapping (a window is far below 4 GB in practice). */
static inline uint32_t
tcp_cc_grow(uint32_t cwnd, uint64_t inc)
{
	uint64_t w = cwnd + inc;

	return w > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)w;
}

#endif
