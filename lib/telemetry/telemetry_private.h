#ifndef TELEMETRY_PRIVATE_H
#define TELEMETRY_PRIVATE_H

/*
 * Internal to lib/telemetry: the helpers every /sluice/ read command shares,
 * so that they page, name and fail the same way.
 *
 * Conventions (docs/operations.md, "Telemetry"):
 *  - a reply is a dict; a table is numbered or named rows (each a dict)
 *    next to scalar fields, so a reader tells them apart by type;
 *  - a paged table also carries "total", "page" and "pages"; a page past
 *    the end has no rows and is not an error;
 *  - a bad parameter answers {"error": "<why>"}; never null.
 *
 * DPDK 22.11 telemetry limits that shape every command: the whole reply is
 * serialised into 16 KB (MAX_OUTPUT_LEN) and whatever does not fit is
 * dropped silently, so each table pages with a size chosen for its worst
 * case; a dict holds at most RTE_TEL_MAX_DICT_ENTRIES (256) entries; a
 * string value keeps 127 bytes; a name may only hold [A-Za-z0-9_/] (any
 * other character makes DPDK drop the entry); help must stay under 128
 * bytes.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_telemetry.h>

#include "sl_lcore_types.h"

struct sl_conf;

/* Counters with one writer elsewhere: a relaxed load, never torn. */
#define TEL_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A double another thread publishes (8 bytes, aligned: a single load). */
static inline double
tel_load_double(const double *p)
{
	double v;

	__atomic_load(p, &v, __ATOMIC_RELAXED);
	return v;
}

/* Answer {"error": ...}; returns 0 so that DPDK prints it (not null). */
int
tel_error(struct rte_tel_data *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* No parameters expected: 0, or an error reply already written (-1). */
int
tel_no_params(const char *params, struct rte_tel_data *d);

/*
 * A dict key for a configured name: DPDK drops a name with any character
 * outside [A-Za-z0-9_/], so others become '_'. `taken` keys (the table's
 * scalar fields) are avoided by appending "_<index>".
 */
void
tel_key(char *out, size_t len, const char *name, unsigned int index);

/* A page of rows [first, last) out of total, `size` rows a page. */
struct tel_page {
	unsigned int page;
	unsigned int size;
	unsigned int total;
	unsigned int first;
	unsigned int last;
};

/* Parse a page number ("" or NULL is page 0). 0, or -1 after tel_error. */
int
tel_parse_page(const char *s, unsigned int *page, struct rte_tel_data *d);

/* Fill first/last for a table of total rows. */
void
tel_page_set(struct tel_page *pg, unsigned int total);

/* Add "total", "page" and "pages" to a reply. */
void
tel_page_meta(struct rte_tel_data *d, const struct tel_page *pg);

/*
 * "<pool>[,<page>]" (pool "*" = every pool, only when any_ok, and then a
 * bare "<page>" too): the pool index (-1 = every pool) and page. The whole
 * string is tried as a pool name first, so a pool named "3" or "a,1" still
 * works. 0, or -1 after tel_error.
 */
int
tel_parse_pool_page(const struct sl_conf *c, const char *params, bool required,
		    bool any_ok, int *pool, unsigned int *page, struct rte_tel_data *d);

/*
 * Add a string from the config or the event log: its first 127 bytes
 * (telemetry's limit), anything but printable ASCII as '?'. DPDK 22.11
 * escapes only '"', '\\' and three control characters; it drops the other
 * control characters and indexes a table with bytes past 0x7f as negative
 * numbers, which can corrupt the JSON.
 */
void
tel_add_str(struct rte_tel_data *d, const char *key, const char *s);

/* Add a row container; frees it when DPDK refuses it. */
void
tel_add_row(struct rte_tel_data *d, const char *key, struct rte_tel_data *row);

/*
 * Register one command behind the gate (telemetry_gate.c), logging a
 * refusal (help must stay under 128 bytes). tel_reg: the handler may read
 * the running config (tel_conf) and joins the reader side a reload waits
 * for. tel_reg_ctl: the handler takes ctl's lock instead (reload, config,
 * backend changes) and must not read tel_conf outside it: a reload waits
 * for readers while it holds that lock.
 */
int
tel_reg(const char *cmd, telemetry_cb fn, const char *help);

int
tel_reg_ctl(const char *cmd, telemetry_cb fn, const char *help);

/* The data plane and the config telemetry reads. */
extern struct sl_dp *tel_dp;

/*
 * The running config. A reload swaps it (lib/ctl) and frees the one it
 * replaced only after sl_telemetry_synchronize(): every handler registered
 * with tel_reg that began before the swap has returned. So a handler loads
 * it once and uses that copy throughout: pool, backend and route indices never move between
 * generations, and per-lcore slots come from its layout (slot_base,
 * route_base).
 */
static inline const struct sl_conf *
tel_conf(void)
{
	return __atomic_load_n(&tel_dp->conf, __ATOMIC_ACQUIRE);
}

/* Pools a listing shows: not removed by a reload. */
bool
tel_pool_listed(const struct sl_conf *c, unsigned int pool);

/*
 * Backends of a pool a listing shows, in index order, into idx (room for
 * the pool's n_backends): all but those a reload removed and that have
 * drained. Returns how many.
 */
unsigned int
tel_pool_backends(const struct sl_conf *c, unsigned int pool, uint16_t *idx);

/* Which pools a backend listing walks: one pool, or every listed pool the
 * filter (NULL: all) keeps. */
typedef bool (*tel_pool_filter)(const struct sl_conf *c, unsigned int pool);

/* One row of a backend listing: backend b of pool, numbered `row`. */
typedef void (*tel_backend_row)(const struct sl_conf *c, unsigned int pool,
				unsigned int b, unsigned int row, void *arg);

/*
 * The backends of pool `only` (>= 0), or of every listed pool `keep`
 * accepts, numbered on from `n` in listing order. With emit, called for the
 * numbers inside [first, last). Returns the number after the last backend
 * (n plus their count). idx: room for SL_CONF_MAX_BACKENDS + 1.
 */
unsigned int
tel_walk_backends(const struct sl_conf *c, int only, tel_pool_filter keep,
		  unsigned int n, unsigned int first, unsigned int last,
		  uint16_t *idx, tel_backend_row emit, void *arg);

/* Balancing and protection commands (telemetry_lb.c). */
int
tel_lb_register(struct sl_dp *dp);

/* The incident recorder's list and timelines (telemetry_incident.c). */
int
tel_incident_register(struct sl_dp *dp);

/* HTTP, routes and backends (telemetry_http.c). */
int
tel_http_register(struct sl_dp *dp);

/* telemetry_memory.c: /sluice/memory */
int
tel_memory_register(struct sl_dp *dp);

/* telemetry_schema.c: /sluice/schema, the counters' meanings */
int
tel_schema_register(struct sl_dp *dp);

/* telemetry_drain.c: /sluice/ready, /sluice/drain_all */
int
tel_drain_register(struct sl_dp *dp);

/* Add the live state of backend b of pool to a /sluice/backends entry. */
void
tel_lb_backend_state(struct rte_tel_data *e, const struct sl_conf *c,
		     unsigned int pool, unsigned int b);

#endif
