#ifndef SL_INCIDENT_TYPES_H
#define SL_INCIDENT_TYPES_H

/*
 * The incident flight recorder's data: a ring of per-second snapshots of
 * every backend (what /sluice/backends shows, plus the latency of the
 * requests that ended in that second), and the incidents it has opened or
 * frozen to disk. Everything here lives on the control side: the workers
 * never see it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "sl_core.h"
#include "sl_event.h"

/* What the balancer made of a backend in a snapshot (one word). */
enum sl_incident_bstate {
	SL_INC_HEALTHY = 0,
	SL_INC_SLOW_START,
	SL_INC_BREAKER_OPEN,
	SL_INC_BREAKER_HALF_OPEN,
	SL_INC_EJECTED,
	SL_INC_DOWN,
	SL_INC_DISABLED,
	SL_INC_DRAINING,
	SL_INC_MAINTENANCE,
	SL_INC_REMOVED,
	SL_INC_N_STATES
};

/* One backend at one second. Counters are cumulative; d* are per second. */
struct sl_incident_row {
	char pool[SL_NAME_MAX];
	char backend[SL_NAME_MAX];
	uint64_t requests;           /* outcomes */
	uint64_t status_2xx, status_5xx, failures;
	uint32_t rps;                /* outcomes in the last second */
	uint32_t d5xx, dfail;        /* 5xx and failures in the last second */
	uint32_t inflight, pending, conns;
	uint32_t p50_us, p99_us;     /* of requests that ended in the last second */
	uint32_t weight, eff_weight; /* configured (as running), effective */
	uint8_t state;               /* enum sl_incident_bstate */
	uint8_t breaker;             /* enum sl_breaker_state */
	uint8_t rootcause;           /* the pool's root-cause alarm names it */
};

struct sl_incident_frame {
	uint64_t wall_us;
	uint64_t mono_ms;
	uint64_t generation;         /* of the config the snapshot ran under */
	unsigned int n_rows;
	struct sl_incident_row *rows;   /* rows_cap slots of the ring's storage */
};

/* The last `cap` seconds; the oldest frame is overwritten. */
struct sl_incident_ring {
	unsigned int cap;            /* frames */
	unsigned int rows_cap;       /* backends a frame holds */
	uint64_t pushed;             /* frames ever pushed */
	struct sl_incident_frame *frames;
	struct sl_incident_row *rows;
};

enum sl_incident_state {
	SL_INCIDENT_OPEN = 0,        /* recording its after-window */
	SL_INCIDENT_FROZEN,          /* bundle written */
	SL_INCIDENT_ERROR,           /* bundle could not be written: see error */
};

#define SL_INCIDENT_BACKENDS 192

/* One incident, as /sluice/incidents lists it. */
struct sl_incident_info {
	uint32_t id;
	uint64_t start_us;           /* wall clock of the first trigger */
	char trigger[24];            /* its event kind */
	char trigger_text[SL_EVENT_TEXT];
	char backends[SL_INCIDENT_BACKENDS]; /* "pool/backend,..." the triggers named */
	unsigned int n_triggers;
	enum sl_incident_state state;
	char path[1280];             /* the bundle's directory; "" while open */
	uint64_t bytes;              /* written */
	char error[192];
};

/* The recorder's totals and settings. */
struct sl_incident_counts {
	uint64_t started;
	uint64_t bundles_written;
	uint64_t write_errors;
	uint64_t pruned;
	uint64_t snapshots;          /* frames taken */
	unsigned int open;
	char dir[1024];
	uint32_t before_s, after_s, max_bundles;
	uint64_t max_bundle_bytes;
};

#endif
