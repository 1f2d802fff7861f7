#ifndef SL_CONF_H
#define SL_CONF_H

#include <stdio.h>

#include "sl_conf_types.h"

/*
 * Load and validate a configuration file. This is the only validator: the
 * --check-config mode, start-up and (later) reload all call it.
 *
 * Returns a new config, or NULL when it has errors. Every finding, errors and
 * warnings alike, is appended to `diag` (which the caller owns and frees with
 * sl_conf_diag_free()). With `strict`, warnings count as errors.
 * Needs no EAL.
 */
struct sl_conf *
sl_conf_load(const char *path, bool strict, struct sl_conf_diag *diag);

/* Same, from a string already in memory; `name` is used in messages. */
struct sl_conf *
sl_conf_load_buf(const char *name, const char *buf, size_t len, bool strict,
		 struct sl_conf_diag *diag);

void
sl_conf_free(struct sl_conf *conf);

/*
 * Give a config loaded at start-up its layout: capacities with headroom for
 * reloads, a backend slot range per pool, a route slot range per listener.
 */
void
sl_conf_layout_init(struct sl_conf *conf);

/*
 * Fit `next`, freshly loaded and validated, onto the running config's
 * layout (conf_layout.c; the merge is conf_merge.c): pools and backends
 * keep their indices, removed ones stay as tombstones, new ones take free room. Settings that need a
 * restart (ports, IP routes, listeners' addresses, tcp, memory, ...) are
 * errors. Consumes `next`; returns it merged, or NULL with errors in diag.
 */
struct sl_conf *
sl_conf_merge(const struct sl_conf *run, struct sl_conf *next,
	      struct sl_conf_diag *diag);

/* Print every finding as "<file>: <pointer>: [warning: ]<message>". */
void
sl_conf_diag_print(const struct sl_conf_diag *diag, const char *file, FILE *out);

void
sl_conf_diag_free(struct sl_conf_diag *diag);

/* Add an error found outside the validator (a reload's I/O, memory). */
void
sl_conf_diag_error(struct sl_conf_diag *diag, const char *pointer, const char *text);

/* Add a warning found outside the validator (a reload's preflight). */
void
sl_conf_diag_warning(struct sl_conf_diag *diag, const char *pointer, const char *text);

/* Helpers shared with the dataplane and the tests. */
int
sl_conf_parse_ipv4(const char *s, uint32_t *addr);

int
sl_conf_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix_len);

/* "198.18.0.1" into buf (at least 16 bytes); returns buf. */
char *
sl_conf_fmt_ipv4(uint32_t addr, char *buf);

/* Port index whose subnet holds addr, or -1. */
int
sl_conf_port_for_addr(const struct sl_conf *conf, uint32_t addr);

/* Port index that reaches addr (connected, route, or gateway), or -1. */
int
sl_conf_port_reaching(const struct sl_conf *conf, uint32_t addr,
		      uint32_t *next_hop);

const char *
sl_conf_mode_name(enum sl_listener_mode mode);

const char *
sl_conf_idle_name(enum sl_idle_policy idle);

#endif
