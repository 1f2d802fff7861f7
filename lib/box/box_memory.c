/*
 * /sluice/memory: where the gateway's memory goes. Connection state is
 * preallocated per worker at start (TCP slots, HTTP client and exchange
 * slots, L4 sessions), so the tables' sizes are fixed by the config and the
 * counts say how much of them is in use. The DPDK heap and the process RSS
 * are the totals to check them against.
 */
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mempool.h>

#include "sl_lcore.h"
#include "sl_port.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"
#include "sl_tcp.h"
#include "sl_tcp_telemetry.h"
#include "sl_telemetry.h"
#include "box_private.h"

/* A line "<key> <n> kB" of /proc/self/status, in bytes; 0 if absent. */
static uint64_t
proc_status_bytes(const char *key)
{
	char line[128];
	size_t klen = strlen(key);
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			if (sscanf(line + klen + 1, "%llu", &kb) != 1)
				kb = 0;
			break;
		}
	fclose(f);
	return (uint64_t)kb * 1024;
}

static int
cmd_memory(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	uint64_t heap = 0, heap_alloc = 0, heap_free = 0;
	uint64_t tcp_slots = 0, tcp_used = 0, clients = 0, clients_used = 0;
	uint64_t xchgs = 0, sessions = 0, mbufs = 0, mbufs_used = 0, mbuf_bytes = 0;
	uint64_t tables;

	if (tel_no_params(params, d) != 0)
		return 0;
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(s, &st) != 0)
			continue;
		heap += st.heap_totalsz_bytes;
		heap_alloc += st.heap_allocsz_bytes;
		heap_free += st.heap_freesz_bytes;
	}
	for (unsigned int w = 0; w < tel_dp->n_workers; w++) {
		const struct sl_lcore *lc = tel_dp->workers[w];
		const struct sl_tcp_stack *s = sl_tcp_of(lc);
		const struct sl_h1_proxy *hp = sl_h1_proxy_of(lc);
		const struct sl_proxy *px = sl_proxy_of(lc);

		tcp_slots += s->max_conns;
		tcp_used += TEL_LOAD(s->stats.active);
		if (hp != NULL) {
			clients += hp->max_clients;
			clients_used += TEL_LOAD(hp->stats.clients);
			xchgs += hp->max_xchgs;
		}
		if (px != NULL)
			sessions += px->max_sessions;
	}
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (tel_dp->pools[s] != NULL)
			mbuf_bytes = tel_dp->pools[s]->elt_size;
	sl_port_mbuf_usage(tel_dp, &mbufs, &mbufs_used);
	tables = tcp_slots * sl_tcp_telemetry_conn_bytes() +
		 clients * sizeof(struct sl_h1_client) +
		 xchgs * sizeof(struct sl_h1_xchg) +
		 sessions * sizeof(struct sl_l4_session);

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rss_bytes", proc_status_bytes("VmRSS"));
	rte_tel_data_add_dict_u64(d, "heap_bytes", heap);
	rte_tel_data_add_dict_u64(d, "heap_alloc_bytes", heap_alloc);
	rte_tel_data_add_dict_u64(d, "heap_free_bytes", heap_free);
	rte_tel_data_add_dict_u64(d, "conn_tables_bytes", tables);
	rte_tel_data_add_dict_u64(d, "tcp_conn_bytes", sl_tcp_telemetry_conn_bytes());
	rte_tel_data_add_dict_u64(d, "tcp_slots", tcp_slots);
	rte_tel_data_add_dict_u64(d, "tcp_conns", tcp_used);
	rte_tel_data_add_dict_u64(d, "http_client_bytes", sizeof(struct sl_h1_client));
	rte_tel_data_add_dict_u64(d, "http_client_slots", clients);
	rte_tel_data_add_dict_u64(d, "http_clients", clients_used);
	rte_tel_data_add_dict_u64(d, "http_exchange_bytes", sizeof(struct sl_h1_xchg));
	rte_tel_data_add_dict_u64(d, "http_exchange_slots", xchgs);
	rte_tel_data_add_dict_u64(d, "l4_session_bytes", sizeof(struct sl_l4_session));
	rte_tel_data_add_dict_u64(d, "l4_session_slots", sessions);
	rte_tel_data_add_dict_u64(d, "mbuf_bytes", mbuf_bytes);
	rte_tel_data_add_dict_u64(d, "mbufs_total", mbufs);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", mbufs_used);
	return 0;
}

int
sl_box_memory_register(struct sl_dp *dp)
{
	(void)dp;
	return tel_reg("/sluice/memory", cmd_memory,
		"Memory: RSS, DPDK heap, connection tables (slot sizes, slots, in use), mbufs. No parameters");
}
