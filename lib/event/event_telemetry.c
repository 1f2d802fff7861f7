/*
 * lib/event's telemetry: /sluice/events, the bounded event log, oldest
 * first, a page a call after the last sequence number the caller saw.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "sl_event.h"
#include "sl_event_telemetry.h"
#include "sl_telemetry.h"

/*
 * Events a call: an event is 8 fields with 200 bytes of text (0.45 KB,
 * 0.65 KB if every character of the text needs an escape), so a call's
 * reply stays under telemetry's 16 KB.
 */
#define EVENTS_PAGE 24

static struct sl_dp *edp;

/* ---- /sluice/events --------------------------------------------------- */

/* /sluice/events[,<after seq>]: the event log, oldest first, a page a call. */
static int
cmd_events(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	struct sl_event *ev;
	uint64_t after = 0, added, cap;
	unsigned int n;
	char key[24];

	if (params != NULL && *params != '\0') {
		char *end;

		errno = 0;
		after = strtoull(params, &end, 10);
		if (*params < '0' || *params > '9' || *end != '\0' || errno != 0)
			return tel_error(d, "the parameter is the last seq seen, a number (got \"%.60s\")",
					 params);
	}
	ev = calloc(EVENTS_PAGE, sizeof(*ev));
	if (ev == NULL)
		return tel_error(d, "out of memory");
	n = sl_event_read(edp->events, after, ev, EVENTS_PAGE);
	sl_event_counts(edp->events, &added, &cap);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", added);
	rte_tel_data_add_dict_u64(d, "capacity", cap);
	/* Overwritten by newer ones before anyone could read them here. */
	rte_tel_data_add_dict_u64(d, "overwritten", added > cap ? added - cap : 0);
	rte_tel_data_add_dict_u64(d, "next", n ? ev[n - 1].seq : after);
	for (unsigned int i = 0; i < n; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();
		size_t len;

		if (e == NULL)
			break;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_u64(e, "seq", ev[i].seq);
		rte_tel_data_add_dict_u64(e, "time_us", ev[i].wall_us);
		tel_add_str(e, "kind", ev[i].kind);
		tel_add_str(e, "pool", ev[i].pool);
		tel_add_str(e, "backend", ev[i].backend);
		/*
		 * A telemetry string keeps 127 bytes and an event's text may
		 * hold 199: the rest goes to text_more, to be appended.
		 */
		tel_add_str(e, "text", ev[i].text);
		len = strnlen(ev[i].text, sizeof(ev[i].text));
		tel_add_str(e, "text_more", len >= RTE_TEL_MAX_STRING_LEN ?
			    ev[i].text + RTE_TEL_MAX_STRING_LEN - 1 : "");
		snprintf(key, sizeof(key), "%llu", (unsigned long long)ev[i].seq);
		tel_add_row(d, key, e);
	}
	free(ev);
	return 0;
}

int
sl_event_telemetry_register(struct sl_dp *dp)
{
	edp = dp;
	if (dp->up == NULL || dp->events == NULL)
		return -EINVAL;
	return tel_reg("/sluice/events", cmd_events,
		"Event log, oldest first, 24 a call: seq, time_us, kind, pool, backend, text. Param: last seq seen (default 0)");
}
