/*
 * The proxies as lcore modules (struct sl_lcore_module): the slots
 * sl_proxy_of() and sl_h1_proxy_of() read, and the counter reset of each.
 */
#include <string.h>

#include "sl_hist.h"
#include "sl_lcore.h"
#include "sl_proxy.h"
#include "sl_proxy_http.h"

/* The L4 proxy's counters; sessions open (a gauge) stay. */
static void
proxy_reset_counters(void *ctx)
{
	struct sl_proxy *px = ctx;
	uint64_t active = px->stats.l4_active;

	memset(&px->stats, 0, sizeof(px->stats));
	px->stats.l4_active = active;
}

/* The HTTP proxy's counters and latency histograms; requests in flight
 * and clients connected (gauges) stay. */
static void
h1_reset_counters(void *ctx)
{
	struct sl_h1_proxy *hp = ctx;
	uint64_t inflight = hp->stats.inflight, clients = hp->stats.clients;

	memset(&hp->stats, 0, sizeof(hp->stats));
	hp->stats.inflight = inflight;
	hp->stats.clients = clients;
	memset(hp->route_total, 0, hp->n_route_hists * sizeof(struct sl_hist));
	memset(hp->route_upstream, 0, hp->n_route_hists * sizeof(struct sl_hist));
	memset(hp->backend_total, 0, hp->n_backend_hists * sizeof(struct sl_hist));
	memset(hp->backend_upstream, 0, hp->n_backend_hists * sizeof(struct sl_hist));
}

struct sl_lcore_module sl_proxy_module = {
	.name = "proxy",
	.reset_counters = proxy_reset_counters,
};

struct sl_lcore_module sl_h1_module = {
	.name = "http",
	.reset_counters = h1_reset_counters,
};
