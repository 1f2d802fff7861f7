/*
 * /sluice/schema: what the counters other commands publish mean, from the
 * X-macro lists that declare them (tcp_stats.def, SL_PROXY_STATS,
 * SL_H1_STATS, sl_drop.def, SL_UP_REFUSALS, SL_UP_RETRY_REFUSALS) and from
 * the field lists of the row commands (telemetry_port.def, _lcore, _pool,
 * _backend, _breaker, _health: /sluice/ports, /sluice/lcores, ...). A client
 * (sluice-exporter's HELP lines, sluicectl raw) reads the meaning from the
 * gateway it talks to, so a counter added to a list is documented with no
 * copy of its text anywhere else.
 *
 * Without parameters: one row per section (the command that publishes it,
 * the prefix of its keys there, the type, the number of entries). With a
 * section name: its entries, the key as the command publishes it -> help.
 */
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "sl_drop.h"
#include "sl_proxy_http.h"
#include "sl_proxy_types.h"
#include "sl_upstream_types.h"
#include "sl_telemetry.h"
#include "box_private.h"

struct schema_entry {
	const char *key;      /* without the section's prefix */
	const char *help;
};

/* Every help text fits a telemetry string whole: checked at compile time,
 * since a truncated help would read as a different meaning. */
#define SCHEMA_FITS(desc) \
	(sizeof(char[sizeof(desc) <= RTE_TEL_MAX_STRING_LEN ? 1 : -1]) * 0)

#define SCHEMA_NAME_DESC(name, desc) \
	{ &(#name)[SCHEMA_FITS(desc)], desc },

static const struct schema_entry tcp_entries[] = {
#define SL_TCP_STAT(name, desc) SCHEMA_NAME_DESC(name, desc)
#include "tcp_stats.def"
#undef SL_TCP_STAT
};

static const struct schema_entry l4_entries[] = {
	SL_PROXY_STATS(SCHEMA_NAME_DESC)
};

static const struct schema_entry http_entries[] = {
	SL_H1_STATS(SCHEMA_NAME_DESC)
};

static const struct schema_entry drop_entries[] = {
#define SL_DROP(sym, name, desc) { &(name)[SCHEMA_FITS(desc)], desc },
#include "sl_drop.def"
#undef SL_DROP
};

static const struct schema_entry refused_entries[] = {
	SL_UP_REFUSALS(SCHEMA_NAME_DESC)
};

static const struct schema_entry retry_refused_entries[] = {
	SL_UP_RETRY_REFUSALS(SCHEMA_NAME_DESC)
};

/*
 * The row commands' field lists (telemetry_<row>.def) mix counters and
 * gauges; each gives two sections, <row>_counters and <row>_gauges, so
 * that a section keeps one type, as its listing row says, and a reply
 * stays {key: help} for every section (a client that reads only `help`
 * needs no per-entry type). SCHEMA_PICK keeps the entries of one type.
 */
#define SCHEMA_counter_counter(name, desc) SCHEMA_NAME_DESC(name, desc)
#define SCHEMA_counter_gauge(name, desc)
#define SCHEMA_gauge_gauge(name, desc) SCHEMA_NAME_DESC(name, desc)
#define SCHEMA_gauge_counter(name, desc)
#define SCHEMA_PICK(want, type, name, desc) SCHEMA_##want##_##type(name, desc)
/* Lists of gauges only: a counter line (or a misspelt type) in them is
 * an undefined SCHEMA_GAUGE_ONLY_<type> and fails the build. */
#define SCHEMA_GAUGE_ONLY_gauge(name, desc) SCHEMA_NAME_DESC(name, desc)

/* One table per (row, type); an #include cannot sit in a macro, hence
 * the blocks spelled out. */
static const struct schema_entry port_counter_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(counter, type, name, desc)
#include "telemetry_port.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry port_gauge_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(gauge, type, name, desc)
#include "telemetry_port.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry lcore_counter_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(counter, type, name, desc)
#include "telemetry_lcore.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry lcore_gauge_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(gauge, type, name, desc)
#include "telemetry_lcore.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry pool_counter_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(counter, type, name, desc)
#include "telemetry_pool.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry pool_gauge_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(gauge, type, name, desc)
#include "telemetry_pool.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry backend_counter_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(counter, type, name, desc)
#include "telemetry_backend.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry backend_gauge_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_PICK(gauge, type, name, desc)
#include "telemetry_backend.def"
#undef SL_TEL_FIELD
};
/* Breakers and health checks publish gauges only here (their counters
 * are the backend's). */
static const struct schema_entry breaker_gauge_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_GAUGE_ONLY_##type(name, desc)
#include "telemetry_breaker.def"
#undef SL_TEL_FIELD
};
static const struct schema_entry health_gauge_entries[] = {
#define SL_TEL_FIELD(type, name, desc) SCHEMA_GAUGE_ONLY_##type(name, desc)
#include "telemetry_health.def"
#undef SL_TEL_FIELD
};

struct schema_section {
	const char *name;
	const char *command;  /* the command whose keys these are */
	const char *prefix;   /* key = prefix + entry key */
	const char *type;     /* what a client exports them as */
	const struct schema_entry *entries;
	unsigned int n;
};

static const struct schema_section sections[] = {
	{ "tcp", "/sluice/tcp", "", "counter", tcp_entries, RTE_DIM(tcp_entries) },
	{ "l4", "/sluice/tcp", "", "counter", l4_entries, RTE_DIM(l4_entries) },
	{ "http", "/sluice/http", "", "counter", http_entries, RTE_DIM(http_entries) },
	{ "drops", "/sluice/ports", "drop_", "counter", drop_entries,
	  RTE_DIM(drop_entries) },
	{ "pool_refused", "/sluice/pools", "refused_", "counter", refused_entries,
	  RTE_DIM(refused_entries) },
	{ "pool_retry_refused", "/sluice/pools", "retry_refused_", "counter",
	  retry_refused_entries, RTE_DIM(retry_refused_entries) },
#define SCHEMA_ROW(name, command, type, entries) \
	{ name, command, "", type, entries, RTE_DIM(entries) }
	SCHEMA_ROW("port_counters", "/sluice/ports", "counter", port_counter_entries),
	SCHEMA_ROW("port_gauges", "/sluice/ports", "gauge", port_gauge_entries),
	SCHEMA_ROW("lcore_counters", "/sluice/lcores", "counter", lcore_counter_entries),
	SCHEMA_ROW("lcore_gauges", "/sluice/lcores", "gauge", lcore_gauge_entries),
	SCHEMA_ROW("pool_counters", "/sluice/pools", "counter", pool_counter_entries),
	SCHEMA_ROW("pool_gauges", "/sluice/pools", "gauge", pool_gauge_entries),
	SCHEMA_ROW("backend_counters", "/sluice/backends", "counter",
		   backend_counter_entries),
	SCHEMA_ROW("backend_gauges", "/sluice/backends", "gauge", backend_gauge_entries),
	SCHEMA_ROW("breaker_gauges", "/sluice/breakers", "gauge", breaker_gauge_entries),
	SCHEMA_ROW("health_gauges", "/sluice/health", "gauge", health_gauge_entries),
#undef SCHEMA_ROW
};

static int
schema_list(struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < RTE_DIM(sections); i++) {
		const struct schema_section *s = &sections[i];
		struct rte_tel_data *row = rte_tel_data_alloc();

		if (row == NULL)
			return tel_error(d, "out of memory");
		rte_tel_data_start_dict(row);
		rte_tel_data_add_dict_string(row, "command", s->command);
		rte_tel_data_add_dict_string(row, "key_prefix", s->prefix);
		rte_tel_data_add_dict_string(row, "type", s->type);
		rte_tel_data_add_dict_u64(row, "entries", s->n);
		tel_add_row(d, s->name, row);
	}
	return 0;
}

static int
cmd_schema(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	const struct schema_section *s = NULL;
	struct rte_tel_data *help;
	char key[RTE_TEL_MAX_STRING_LEN];

	if (params == NULL || params[0] == '\0')
		return schema_list(d);
	for (unsigned int i = 0; i < RTE_DIM(sections); i++)
		if (strcmp(params, sections[i].name) == 0)
			s = &sections[i];
	if (s == NULL)
		return tel_error(d, "no such section (/sluice/schema lists them)");
	help = rte_tel_data_alloc();
	if (help == NULL)
		return tel_error(d, "out of memory");
	rte_tel_data_start_dict(help);
	for (unsigned int i = 0; i < s->n; i++) {
		snprintf(key, sizeof(key), "%s%s", s->prefix, s->entries[i].key);
		rte_tel_data_add_dict_string(help, key, s->entries[i].help);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "section", s->name);
	rte_tel_data_add_dict_string(d, "command", s->command);
	rte_tel_data_add_dict_string(d, "key_prefix", s->prefix);
	rte_tel_data_add_dict_string(d, "type", s->type);
	tel_add_row(d, "help", help);
	return 0;
}

int
sl_box_schema_register(struct sl_dp *dp __rte_unused)
{
	return tel_reg("/sluice/schema", cmd_schema,
		"Meaning of the counters other commands publish, from their declarations. Param: section (none: the sections)");
}
