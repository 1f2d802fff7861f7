#ifndef SL_TELEMETRY_H
#define SL_TELEMETRY_H

/*
 * The helpers every /sluice/ command shares, whichever library owns it:
 * the gate that registers a command and that shutdown and reloads wait on
 * (telemetry_gate.c), and the reply helpers, so that every command pages,
 * names and fails the same way (telemetry_reply.c). This library sits
 * just above lib/core so that any library may register its own commands
 * (lib/tcp/tcp_telemetry.c, lib/upstream/upstream_telemetry.c, ...); the
 * commands about the box as a whole, and the one list that registers every
 * library's, are lib/box.
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
 *
 * Handlers run on telemetry's control threads and only read per-lcore state
 * (relaxed loads of counters each owned by one writer): they never take a
 * lock the fast path takes.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_telemetry.h>

#include "sl_lcore_types.h"

struct sl_conf;

/* ---- the gate (telemetry_gate.c) -------------------------------------- */

/*
 * Register one command behind the gate, logging a refusal (help must stay
 * under 128 bytes). tel_reg: the handler may read the running config
 * (tel_conf) and joins the reader side a reload waits for. tel_reg_ctl:
 * the handler takes ctl's lock instead (reload, config, backend changes)
 * and must not read tel_conf outside it: a reload waits for readers while
 * it holds that lock. Returns 0 or a negative errno.
 */
int
tel_reg(const char *cmd, telemetry_cb fn, const char *help);

int
tel_reg_ctl(const char *cmd, telemetry_cb fn, const char *help);

/*
 * Shutdown: refuse every /sluice/ command from now on (they answer
 * {"error": "the gateway is shutting down"}) and return once none is
 * running, so that the caller may free what handlers read. Call before
 * freeing workers, ports, pools or configs. Safe before registration.
 */
void
sl_telemetry_quiesce(void);

/*
 * Wait until every config-reading /sluice/ command that began before the
 * call has returned (the caller's own command excepted: commands that call
 * here are not readers). lib/ctl calls it before freeing a replaced config.
 */
void
sl_telemetry_synchronize(void);

/*
 * Join the config's read side from a thread that is not a telemetry
 * handler (the incident recorder's snapshots on the main thread): a reload
 * then waits for it before freeing the config it replaces. Hold it briefly
 * and never while taking ctl's lock. Returns the token for read_end.
 */
unsigned int
sl_telemetry_read_begin(void);

void
sl_telemetry_read_end(unsigned int token);

/* ---- what handlers read (telemetry_reply.c) --------------------------- */

/* The data plane every handler reads; set once, before any registration. */
extern struct sl_dp *tel_dp;

void
sl_telemetry_init(struct sl_dp *dp);

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

/* ---- replies (telemetry_reply.c) -------------------------------------- */

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

#endif
