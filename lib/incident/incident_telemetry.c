/*
 * Telemetry of the incident flight recorder (lib/incident): /sluice/incidents
 * lists what it opened and froze, /sluice/incident,<id> returns one
 * incident's timeline. Both read the recorder under its own lock only (no
 * config), so they are not on the config's read side.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_incident.h"
#include "sl_incident_telemetry.h"
#include "sl_telemetry.h"

#define INCIDENTS_PAGE 16
#define TIMELINE_PAGE 64
#define TIMELINE_MAX (256 * 1024)

static const char *
state_name(enum sl_incident_state s)
{
	switch (s) {
	case SL_INCIDENT_OPEN:
		return "open";
	case SL_INCIDENT_FROZEN:
		return "frozen";
	default:
		return "error";
	}
}

/* The bundle's directory name: the path's last component. */
static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static struct rte_tel_data *
incident_row(const struct sl_incident_info *in)
{
	struct rte_tel_data *e = rte_tel_data_alloc();

	if (e == NULL)
		return NULL;
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_u64(e, "id", in->id);
	rte_tel_data_add_dict_u64(e, "start_us", in->start_us);
	tel_add_str(e, "trigger", in->trigger);
	tel_add_str(e, "trigger_text", in->trigger_text);
	tel_add_str(e, "backends", in->backends);
	rte_tel_data_add_dict_u64(e, "triggers", in->n_triggers);
	rte_tel_data_add_dict_string(e, "state", state_name(in->state));
	tel_add_str(e, "path", in->path);
	tel_add_str(e, "name", base_name(in->path));
	rte_tel_data_add_dict_u64(e, "bytes", in->bytes);
	tel_add_str(e, "write_error", in->error);
	return e;
}

static int
cmd_incidents(const char *cmd __rte_unused, const char *params,
	      struct rte_tel_data *d)
{
	struct tel_page pg = { .size = INCIDENTS_PAGE };
	struct sl_incident_counts c;
	struct sl_incident_info *in;
	unsigned int n;
	char key[16];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	/* The recorder keeps at most max_bundles + 1 incidents. */
	sl_incident_list(NULL, 0, &c);
	in = calloc(c.max_bundles + 1, sizeof(*in));
	if (in == NULL)
		return tel_error(d, "out of memory");
	n = sl_incident_list(in, c.max_bundles + 1, &c);
	tel_page_set(&pg, n);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	rte_tel_data_add_dict_u64(d, "started", c.started);
	rte_tel_data_add_dict_u64(d, "bundles_written", c.bundles_written);
	rte_tel_data_add_dict_u64(d, "bundle_write_errors", c.write_errors);
	rte_tel_data_add_dict_u64(d, "bundles_pruned", c.pruned);
	rte_tel_data_add_dict_u64(d, "open", c.open);
	rte_tel_data_add_dict_u64(d, "snapshots", c.snapshots);
	tel_add_str(d, "dir", c.dir);
	rte_tel_data_add_dict_u64(d, "before_s", c.before_s);
	rte_tel_data_add_dict_u64(d, "after_s", c.after_s);
	rte_tel_data_add_dict_u64(d, "max_bundles", c.max_bundles);
	rte_tel_data_add_dict_u64(d, "max_bundle_bytes", c.max_bundle_bytes);
	for (unsigned int i = pg.first; i < pg.last; i++) {
		snprintf(key, sizeof(key), "%u", i);
		tel_add_row(d, key, incident_row(&in[i]));
	}
	free(in);
	return 0;
}

/* Printable ASCII only, as tel_add_str: DPDK 22.11 mangles the rest. */
static void
add_line(struct rte_tel_data *a, const char *s, size_t len)
{
	char buf[RTE_TEL_MAX_STRING_LEN];
	size_t i;

	for (i = 0; i < len && i + 1 < sizeof(buf); i++)
		buf[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	buf[i] = '\0';
	rte_tel_data_add_array_string(a, buf);
}

/* /sluice/incident,<id>[,<page>] */
static int
cmd_incident(const char *cmd __rte_unused, const char *params,
	     struct rte_tel_data *d)
{
	struct tel_page pg = { .size = TIMELINE_PAGE };
	struct sl_incident_info info;
	struct rte_tel_data *a;
	unsigned long id;
	unsigned int n = 0, line = 0;
	const char *s, *comma;
	char *end, *text;
	long len;

	if (params == NULL || *params < '0' || *params > '9')
		return tel_error(d, "the parameters are id[,page] (see /sluice/incidents)");
	errno = 0;
	id = strtoul(params, &end, 10);
	if (errno != 0 || id > UINT32_MAX || (*end != '\0' && *end != ','))
		return tel_error(d, "the parameters are id[,page] (got \"%.60s\")", params);
	comma = *end == ',' ? end + 1 : NULL;
	if (tel_parse_page(comma, &pg.page, d) != 0)
		return 0;
	text = malloc(TIMELINE_MAX);
	if (text == NULL)
		return tel_error(d, "out of memory");
	len = sl_incident_timeline((uint32_t)id, text, TIMELINE_MAX, &info);
	if (len < 0) {
		free(text);
		return tel_error(d, "no incident %lu (see /sluice/incidents)", id);
	}
	for (s = text; *s != '\0'; s++)
		n += *s == '\n';
	if (s > text && s[-1] != '\n')
		n++;
	tel_page_set(&pg, n);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	rte_tel_data_add_dict_u64(d, "id", info.id);
	rte_tel_data_add_dict_string(d, "state", state_name(info.state));
	tel_add_str(d, "trigger", info.trigger);
	tel_add_str(d, "path", info.path);
	/* Not "error": a top-level "error" is how a command says it failed. */
	tel_add_str(d, "write_error", info.error);
	a = rte_tel_data_alloc();
	if (a != NULL) {
		rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
		for (s = text; *s != '\0' && line < pg.last; line++) {
			const char *nl = strchr(s, '\n');
			size_t l = nl ? (size_t)(nl - s) : strlen(s);

			if (line >= pg.first)
				add_line(a, s, l);
			s += l + (nl != NULL);
		}
		tel_add_row(d, "lines", a);
	}
	free(text);
	return 0;
}

int
sl_incident_telemetry_register(struct sl_dp *dp __rte_unused)
{
	int rc = 0;

	rc |= tel_reg_ctl("/sluice/incidents", cmd_incidents,
		"Incident recorder: counters, settings, and per incident id, trigger, backends, state, path. Param: page (16 a page)");
	rc |= tel_reg_ctl("/sluice/incident", cmd_incident,
		"One incident's timeline, 64 lines a page: id, state, path, lines. Params: id[,page]");
	return rc;
}
