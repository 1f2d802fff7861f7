#ifndef SL_TCP_CC_PRIVATE_H
#define SL_TCP_CC_PRIVATE_H

/* Helpers shared by the congestion control algorithms (lib/tcp only). */

#include <stddef.h>

#include "sl_tcp_proto.h"

void tcp_cc_init_window(struct sl_tcp_cc *cc, uint32_t mss);
uint32_t tcp_cc_slow_start(struct sl_tcp_cc *cc, uint32_t acked);
uint32_t tcp_cc_half_flight(const struct sl_tcp_cc *cc, uint32_t flight);

#endif
