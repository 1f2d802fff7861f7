#ifndef SL_CAPTURE_TYPES_H
#define SL_CAPTURE_TYPES_H

#include <stdint.h>

#include <rte_common.h>

#include "sl_core.h"

/*
 * Where capture files go. Fixed at build time on purpose: the telemetry
 * socket must never choose a path, or anyone who can reach it could make the
 * gateway (root) write anywhere.
 */
#define SL_CAPTURE_DIR              "/var/lib/sluice/capture"

/* Limits an operator can ask for; every capture ends by itself. */
#define SL_CAPTURE_COUNT_DEFAULT    1000
#define SL_CAPTURE_COUNT_MAX        1000000
#define SL_CAPTURE_SECONDS_DEFAULT  10
#define SL_CAPTURE_SECONDS_MAX      3600
#define SL_CAPTURE_RING_DEFAULT     1024     /* packets queued per worker */
#define SL_CAPTURE_RING_MIN         8
#define SL_CAPTURE_RING_MAX         16384
#define SL_CAPTURE_BYTES_MAX        (256ull << 20)   /* file size cap */

#define SL_CAPTURE_PATH_MAX         128      /* a telemetry string value */

/* Which side of a port to record. */
enum sl_capture_dir {
	SL_CAPTURE_RX = 1,
	SL_CAPTURE_TX = 2,
	SL_CAPTURE_BOTH = 3,
};

/* A packet is kept when it matches every field that is set. */
struct sl_capture_filter {
	uint32_t host;        /* IPv4 src or dst (or ARP sender/target), host order; 0 = any */
	uint16_t port;        /* TCP/UDP src or dst port; 0 = any */
};

/* What an operator asks for (parsed from telemetry by sl_capture_parse). */
struct sl_capture_params {
	char port[SL_NAME_MAX];      /* port index or name, as in /sluice/ports */
	unsigned int dir;            /* enum sl_capture_dir */
	uint32_t count;              /* stop after writing this many packets */
	uint32_t seconds;            /* ... or after this long */
	uint32_t ring;               /* per-worker ring, in packets */
	struct sl_capture_filter filter;
};

/*
 * What one worker did for the current (or last) capture. Only that worker
 * writes these, once per burst; readers use relaxed loads.
 */
struct sl_capture_lcore_stats {
	uint64_t seen;               /* packets the tap looked at */
	uint64_t copied;             /* matched, copied and queued for the writer */
	uint64_t dropped_full;       /* matched, but the worker's ring was full */
	uint64_t dropped_nombuf;     /* matched, but no capture mbuf was free */
} __rte_cache_aligned;

enum sl_capture_state {
	SL_CAPTURE_IDLE,             /* none since start */
	SL_CAPTURE_RUNNING,
	SL_CAPTURE_DONE,             /* the last one finished; file is complete */
};

/* A snapshot for /sluice/capture. */
struct sl_capture_status {
	enum sl_capture_state state;
	char file[SL_CAPTURE_PATH_MAX];
	char port_name[SL_NAME_MAX];
	unsigned int port;               /* index in the config */
	struct sl_capture_params params;
	unsigned int n_workers;
	uint64_t written;                /* packets in the file */
	uint64_t bytes;                  /* file size so far */
	uint64_t discarded;              /* copied after the count was reached */
	uint64_t elapsed_ms;
	struct sl_capture_lcore_stats total;   /* summed over workers */
	char stop_reason[96];            /* "count", "time", "stopped", ... */
};

#endif
