#ifndef SL_LOG_H
#define SL_LOG_H

#include <rte_log.h>

/* Control-path logging through DPDK's log framework (never on the fast path). */
extern int sl_logtype;

#define SL_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, sl_logtype, "sluice: " fmt "\n", ##__VA_ARGS__)

#endif
