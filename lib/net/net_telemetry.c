/*
 * lib/net's telemetry: /sluice/arp, the neighbour tables of every worker
 * merged into one listing. Each worker owns its table; the snapshot reads
 * it without a lock (sl_arp_snapshot), so a row may be a moment old.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_telemetry.h>

#include "sl_conf.h"
#include "sl_net.h"
#include "sl_net_telemetry.h"
#include "sl_telemetry.h"

/* Rows a page: a neighbour is 6 fields (0.2 KB), so a page stays under
 * telemetry's 16 KB. */
#define ARP_PAGE 64

/* ---- /sluice/arp ------------------------------------------------------ */

struct arp_row {
	struct sl_arp_info info;
	unsigned int copies;
};

/* By address, then freshest first, so that merging keeps the first. */
static int
arp_cmp(const void *a, const void *b)
{
	const struct sl_arp_info *x = &((const struct arp_row *)a)->info;
	const struct sl_arp_info *y = &((const struct arp_row *)b)->info;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->age_ms < y->age_ms ? -1 : x->age_ms > y->age_ms;
}

/*
 * Neighbours, merged over workers (each keeps its own table): one entry per
 * address, the freshest copy wins, in address order.
 */
static int
cmd_arp(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct tel_page pg = { .size = ARP_PAGE };
	struct sl_arp_info *tmp = NULL;
	struct arp_row *all;
	unsigned int n = 0, merged = 0;
	size_t cap = 0, tmp_cap = 0;
	uint64_t now = rte_rdtsc();
	char ip[16], mac[RTE_ETHER_ADDR_FMT_SIZE], key[16];

	if (tel_parse_page(params, &pg.page, d) != 0)
		return 0;
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		cap += tel_dp->workers[w]->arp->size;
		tmp_cap = RTE_MAX(tmp_cap, (size_t)tel_dp->workers[w]->arp->size);
	}
	/* Telemetry serves each client on its own thread: no static buffers. */
	all = calloc(cap + 1, sizeof(*all));
	tmp = calloc(tmp_cap + 1, sizeof(*tmp));
	if (all == NULL || tmp == NULL) {
		free(all);
		free(tmp);
		return tel_error(d, "out of memory");
	}
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_arp_table *t = tel_dp->workers[w]->arp;
		unsigned int got = sl_arp_snapshot(t, now, tel_dp->tsc_hz, tmp, t->size);

		for (unsigned int i = 0; i < got && n < cap; i++)
			all[n++] = (struct arp_row){ .info = tmp[i], .copies = 1 };
	}
	free(tmp);
	qsort(all, n, sizeof(*all), arp_cmp);
	for (unsigned int i = 0; i < n; i++) {
		if (merged > 0 && all[merged - 1].info.ip == all[i].info.ip)
			all[merged - 1].copies++;
		else
			all[merged++] = all[i];
	}
	tel_page_set(&pg, merged);
	rte_tel_data_start_dict(d);
	tel_page_meta(d, &pg);
	for (unsigned int i = pg.first; i < pg.last; i++) {
		const struct sl_arp_info *a = &all[i].info;
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			break;
		rte_ether_format_addr(mac, sizeof(mac), &a->mac);
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "ip", sl_conf_fmt_ipv4(a->ip, ip));
		rte_tel_data_add_dict_string(e, "mac",
					     a->state == SL_ARP_INCOMPLETE ? "" : mac);
		rte_tel_data_add_dict_string(e, "state", sl_arp_state_name(a->state));
		tel_add_str(e, "port", tel_dp->ports[a->port].name);
		rte_tel_data_add_dict_u64(e, "age_ms", a->age_ms);
		rte_tel_data_add_dict_u64(e, "workers", all[i].copies);
		/* Telemetry names may not contain '.', so entries are numbered. */
		snprintf(key, sizeof(key), "%u", i);
		tel_add_row(d, key, e);
	}
	free(all);
	return 0;
}

int
sl_net_telemetry_register(struct sl_dp *dp __rte_unused)
{
	return tel_reg("/sluice/arp", cmd_arp,
		"Neighbours merged over workers: ip, mac, state, port, age_ms, workers. Param: page (64 a page)");
}
