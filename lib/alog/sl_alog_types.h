#ifndef SL_ALOG_TYPES_H
#define SL_ALOG_TYPES_H

#include <stdint.h>

#include <rte_common.h>

#include "sl_core.h"

struct rte_ring;

/* Why a request or session ended, as the access log names it. */
#define SL_ALOG_TERMS(X) \
	X(DONE,            "done")            \
	X(CLIENT_CLOSED,   "client_closed")   \
	X(CLIENT_RESET,    "client_reset")    \
	X(BACKEND_RESET,   "backend_reset")   \
	X(CONNECT_REFUSED, "connect_refused") \
	X(CONNECT_TIMEOUT, "connect_timeout") \
	X(CONNECT_FAILED,  "connect_failed")  \
	X(IDLE_TIMEOUT,    "idle_timeout")    \
	X(REJECTED,        "rejected")

enum sl_alog_term {
#define SL_ALOG_TERM_ENUM(sym, name) SL_ALOG_TERM_##sym,
	SL_ALOG_TERMS(SL_ALOG_TERM_ENUM)
#undef SL_ALOG_TERM_ENUM
	SL_ALOG_TERM_MAX
};

/*
 * One compact record, filled on the worker and formatted on the writer
 * thread. Fixed size: it travels by value through an rte_ring.
 */
struct sl_alog_rec {
	uint64_t start_us;       /* wall clock, microseconds since the epoch */
	uint64_t bytes_in;       /* from the client */
	uint64_t bytes_out;      /* to the client */
	uint32_t client_ip;
	uint32_t backend_ip;     /* 0: none chosen */
	uint32_t upstream_us;    /* connect to last backend byte; 0 if none */
	uint32_t total_us;
	uint16_t client_port;
	uint16_t backend_port;
	uint16_t listener;
	uint16_t route;          /* UINT16_MAX: none */
	uint16_t status;         /* HTTP status; 0 in tcp mode */
	uint8_t term;            /* enum sl_alog_term */
	uint8_t method;          /* HTTP method enum; 0 in tcp mode */
	char path[80];           /* truncated request target; "" in tcp mode */
} __rte_aligned(8);

/* Per-worker side: the producer end of one ring. Only its lcore writes. */
struct sl_alog_lcore {
	struct rte_ring *ring;
	uint32_t sample_every;
	uint32_t sample_cnt;
	uint64_t submitted;
	uint64_t sampled_out;
	uint64_t dropped_full;   /* ring full: the fast path never waits */
} __rte_cache_aligned;

#endif
