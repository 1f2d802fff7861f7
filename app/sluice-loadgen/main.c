/*
 * sluice-loadgen: HTTP/1.1 load against a gateway and backends for it, on
 * Sluice's own ports (lib/port), network (lib/net), TCP (lib/tcp) and
 * parser (lib/http). One lcore runs everything; the ports are DPDK devices
 * such as net_vhost facing the gateway's net_virtio_user, so no kernel is
 * in the path.
 *
 *   sluice-loadgen <EAL args> -- [options]      (see lg_usage())
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "sl_conf.h"
#include "sl_lcore.h"
#include "sl_log.h"
#include "sl_net.h"
#include "sl_port.h"
#include "sl_worker.h"
#include "lg.h"

static struct sl_dp dp;
static struct lg_opts opts;
static struct lg_client client;
static struct lg_server server;
static struct lg_idle idle;
static volatile sig_atomic_t signals;

static void
on_signal(int sig)
{
	(void)sig;
	signals++;
}

/*
 * The ports and the TCP settings, as a Sluice config, so that the one
 * validator checks them and lib/port, lib/net and lib/tcp get what they
 * expect. No pools, no listeners: the gateway part stays unused.
 */
static struct sl_conf *
make_conf(const struct lg_opts *o)
{
	char buf[4096], gw[64] = "";
	struct sl_conf_diag diag = { 0 };
	struct sl_conf *c;
	uint64_t max_conns = 64;
	int n = 0;

	if (o->client_port[0] != '\0')
		max_conns += (uint64_t)o->conns + o->idle_conns;
	if (o->server_port[0] != '\0')
		max_conns += o->server_conns;
	if (max_conns > 4194304)
		max_conns = 4194304;
	if (o->client_gw[0] != '\0')
		snprintf(gw, sizeof(gw), ", \"gateway\": \"%s\"", o->client_gw);
	n += snprintf(buf + n, sizeof(buf) - n,
		"{ \"version\": 1,\n"
		"  \"runtime\": { \"idle\": \"%s\", \"idle_polls\": 256, "
		"\"idle_sleep_us\": 50, \"burst\": 32 },\n"
		"  \"memory\": { \"mbufs\": %u, \"mbuf_cache\": 256, \"mbuf_data_size\": 2048 },\n"
		"  \"tcp\": { \"max_conns\": %lu, \"syn_backlog\": %lu, \"time_wait_s\": 0,\n"
		"           \"ephemeral_lo\": 1024, \"ephemeral_hi\": 65535 },\n"
		"  \"ports\": [",
		o->adaptive ? "adaptive" : "busy", o->mbufs, (unsigned long)max_conns,
		(unsigned long)RTE_MAX(16ul, RTE_MIN(max_conns, 1048576ul)));
	if (o->client_port[0] != '\0')
		n += snprintf(buf + n, sizeof(buf) - n,
			"\n    { \"name\": \"%s\", \"address\": \"%s\"%s }",
			o->client_port, o->client_addr, gw);
	if (o->server_port[0] != '\0')
		n += snprintf(buf + n, sizeof(buf) - n,
			"%s\n    { \"name\": \"%s\", \"address\": \"%s\" }",
			o->client_port[0] != '\0' ? "," : "", o->server_port, o->server_addr);
	n += snprintf(buf + n, sizeof(buf) - n,
		      " ],\n  \"pools\": [], \"listeners\": [] }\n");
	c = sl_conf_load_buf("sluice-loadgen", buf, (size_t)n, false, &diag);
	if (c == NULL)
		sl_conf_diag_print(&diag, "sluice-loadgen", stderr);
	sl_conf_diag_free(&diag);
	return c;
}

static bool
links_up(void)
{
	for (unsigned int p = 0; p < dp.n_ports; p++) {
		struct rte_eth_link link;

		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(dp.ports[p].port_id, &link) != 0 ||
		    !link.link_status)
			return false;
	}
	return true;
}

/* The loop's own step (sl_worker_turn's hook): new requests, sent in this
 * turn's burst. A turn that issued some counts as busy. */
static bool
issue_hook(struct sl_lcore *lc, void *arg)
{
	struct lg_client *cl = arg;
	uint64_t issued = cl->st.issued;

	lg_client_poll(cl, lc->now);
	return cl->st.issued != issued;
}

/* One turn of lib/worker's loop, the gateway's own: RX, timers, the
 * sessions' events, ARP, new requests (while the run issues them), TX. */
static inline void
turn(struct sl_lcore *lc, struct sl_worker_loop *wl, bool clients)
{
	if (clients)
		sl_worker_turn(lc, wl, issue_hook, &client);
	else
		sl_worker_turn(lc, wl, NULL, NULL);
}

enum phase {
	P_LINK, P_WARMUP, P_IDLE, P_CONNECT, P_RUN, P_DRAIN, P_CLOSE_CLIENTS,
	P_CLOSE_SERVERS, P_LINGER, P_DONE
};

/* Returns 0 when the run happened (errors or not), -1 if it never began. */
static int
run(struct sl_lcore *lc, struct lg_result *res)
{
	struct sl_worker_loop wl;
	const bool has_c = opts.client_port[0] != '\0';
	const bool has_s = opts.server_port[0] != '\0';
	const uint64_t hz = dp.tsc_hz;
	enum phase ph = P_LINK;
	uint64_t deadline = rte_rdtsc() + (uint64_t)(opts.link_wait_s * (double)hz);
	uint64_t start = 0, stop = 0, next_check = 0, busy0 = 0, idle0 = 0;
	int seen_signals = 0;

	sl_worker_loop_init(&wl, lc);
	while (ph != P_DONE) {
		uint64_t now;

		turn(lc, &wl, has_c && ph == P_RUN);
		now = lc->now;
		if (signals != seen_signals) {
			seen_signals = signals;
			if (seen_signals >= 2 || ph < P_RUN) {
				if (ph < P_RUN)
					return -1;
				if (has_c)
					lg_client_close_all(&client, true);
				lg_idle_close_all(&idle, true);
				if (has_s)
					lg_server_close_all(&server, true);
				ph = P_LINGER;
				deadline = now + hz / 10;
			} else if (ph == P_RUN) {
				client.issuing = false;
				deadline = now;   /* server only: end now */
			}
		}
		if (now < next_check)
			continue;
		next_check = now + hz / 2000;   /* phases move on a 0.5 ms grid */
		switch (ph) {
		case P_LINK:
			if (links_up()) {
				SL_LOG(NOTICE, "loadgen: links up");
				for (unsigned int p = 0; p < dp.n_ports; p++)
					sl_arp_announce(lc, p);
				ph = P_WARMUP;
				deadline = now + (uint64_t)(opts.warmup_s * (double)hz);
			} else if (now > deadline) {
				fprintf(stderr, "sluice-loadgen: the links did not come up "
					"within %.1f s (is the peer running?)\n",
					opts.link_wait_s);
				return -1;
			}
			break;
		case P_WARMUP:
			if (now < deadline)
				break;
			if (idle.n > 0) {
				ph = P_IDLE;
				break;
			}
			/* fall through */
		case P_IDLE:
			if (ph == P_IDLE) {
				if (!lg_idle_open_more(&idle, now))
					break;
				SL_LOG(NOTICE, "loadgen: %" PRIu64 " idle connections established, "
				       "%" PRIu64 " failed, in %.1f s", idle.st.established,
				       idle.st.failed, (double)(idle.done_tsc - idle.start_tsc) /
				       (double)hz);
			}
			if (has_c && !opts.new_conn) {
				lg_client_preconnect(&client);
				ph = P_CONNECT;
				deadline = now + (uint64_t)opts.connect_timeout_ms * hz / 1000 +
					   hz / 10;
				break;
			}
			/* fall through */
		case P_CONNECT:
			if (ph == P_CONNECT && now < deadline &&
			    lg_client_established(&client) < client.n &&
			    lg_client_open(&client) > lg_client_established(&client))
				break;
			start = now;
			busy0 = lc->cycles.busy;
			idle0 = lc->cycles.idle;
			if (has_c)
				lg_client_begin(&client, now);
			deadline = now + (uint64_t)(opts.duration_s * (double)hz);
			ph = P_RUN;
			break;
		case P_RUN:
			if (has_c ? client.issuing : now < deadline)
				break;
			stop = now;
			ph = has_c ? P_DRAIN : P_CLOSE_SERVERS;
			deadline = now + (uint64_t)opts.timeout_ms * hz / 1000 + hz / 10;
			if (!has_c)
				lg_server_close_all(&server, false);
			break;
		case P_DRAIN:
			if (!lg_client_drained(&client) && now < deadline)
				break;
			lg_client_fail_inflight(&client);
			stop = RTE_MAX(stop, client.last_done_tsc);
			lg_client_close_all(&client, false);
			lg_idle_close_more(&idle);
			ph = P_CLOSE_CLIENTS;
			/* FINs for idle connections go out as mbufs allow; give
			 * them time by the thousand. */
			deadline = now + 2 * hz + (uint64_t)idle.n * hz / 20000;
			break;
		case P_CLOSE_CLIENTS:
			if (!lg_idle_close_more(&idle) && now < deadline)
				break;
			if ((lg_client_open(&client) > 0 || idle.open > 0) && now < deadline)
				break;
			lg_client_close_all(&client, true);
			lg_idle_close_all(&idle, true);
			if (has_s)
				lg_server_close_all(&server, false);
			ph = has_s ? P_CLOSE_SERVERS : P_LINGER;
			deadline = now + (has_s ? 2 * hz : hz / 10);
			break;
		case P_CLOSE_SERVERS:
			if (server.st.active > 0 && now < deadline)
				break;
			lg_server_close_all(&server, true);
			ph = P_LINGER;
			deadline = now + hz / 10;   /* last ACKs and FINs go out */
			break;
		case P_LINGER:
			if (now >= deadline)
				ph = P_DONE;
			break;
		case P_DONE:
			break;
		}
	}
	if (stop == 0)
		stop = rte_rdtsc();
	res->elapsed_s = (double)(stop - start) / (double)hz;
	{
		uint64_t b = lc->cycles.busy - busy0, i = lc->cycles.idle - idle0;

		res->busy_pct = b + i ? 100.0 * (double)b / (double)(b + i) : 0;
	}
	return 0;
}

/* Keep the ports polled (ARP answered, stray segments reset) for --hold. */
static void
hold(struct sl_lcore *lc)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(opts.hold_s * (double)dp.tsc_hz);
	struct sl_worker_loop wl;
	int seen = signals;

	sl_worker_loop_init(&wl, lc);
	while (signals == seen && lc->now < end)
		turn(lc, &wl, false);
}

int
main(int argc, char **argv)
{
	int app_argc = 0, n, rc = 2;
	char **app_argv = NULL, err[1024] = "";
	struct sl_conf *conf = NULL;
	struct sl_lcore *lc = NULL;
	struct lg_result res = { 0 };
	struct sigaction sa;

	/* Our options first: a bad one is reported before EAL takes memory. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			lg_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--") == 0) {
			app_argv = &argv[i];
			app_argc = argc - i;
			break;
		}
	}
	if (app_argv == NULL) {
		fprintf(stderr, "sluice-loadgen: options go after EAL's, behind \"--\"\n");
		lg_usage(stderr);
		return 2;
	}
	{
		char *saved = app_argv[0];

		app_argv[0] = (char *)"sluice-loadgen";
		n = lg_args_parse(app_argc, app_argv, &opts);
		app_argv[0] = saved;
		if (n != 0) {
			fprintf(stderr, "sluice-loadgen: see --help\n");
			return 2;
		}
	}

	n = rte_eal_init(argc - app_argc, argv);
	if (n < 0) {
		fprintf(stderr, "sluice-loadgen: EAL init failed: %s\n",
			rte_strerror(rte_errno));
		return 2;
	}
	if (rte_lcore_count() > 1)
		SL_LOG(WARNING, "loadgen: runs on the main lcore only; other lcores idle");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);   /* a vhost-user peer may go away */

	conf = make_conf(&opts);
	if (conf == NULL)
		goto out;
	dp.conf = conf;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.start_tsc = rte_rdtsc();
	lc = sl_worker_lcore_create(&dp, rte_lcore_id(), 0, 1);
	if (lc == NULL) {
		fprintf(stderr, "sluice-loadgen: cannot create the lcore state "
			"(%u TCP connections): %s\n", conf->tcp.max_conns,
			rte_strerror(rte_errno));
		goto out;
	}
	dp.workers[0] = lc;
	dp.n_workers = 1;
	if (sl_port_setup(&dp, conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "sluice-loadgen: %s\n", err);
		goto out;
	}
	if (opts.client_port[0] != '\0' && lg_client_init(&client, lc, &opts) != 0) {
		fprintf(stderr, "sluice-loadgen: out of memory for %u connections\n",
			opts.conns);
		goto out;
	}
	if (opts.idle_conns > 0 && lg_idle_init(&idle, lc, &opts) != 0) {
		fprintf(stderr, "sluice-loadgen: out of memory for %u idle connections\n",
			opts.idle_conns);
		goto out;
	}
	if (opts.server_port[0] != '\0' &&
	    lg_server_init(&server, lc, &opts,
			   conf->ports[dp.n_ports - 1].addr) != 0) {
		fprintf(stderr, "sluice-loadgen: cannot set up the servers\n");
		goto out;
	}
	SL_LOG(NOTICE, "loadgen: %u port(s) ready, waiting for the links", dp.n_ports);
	if (run(lc, &res) != 0)
		goto out;
	res.o = &opts;
	res.cl = opts.client_port[0] != '\0' ? &client : NULL;
	res.sv = opts.server_port[0] != '\0' ? &server : NULL;
	res.idle = idle.n > 0 ? &idle : NULL;
	if (opts.json)
		lg_report_json(stdout, &res);
	else
		lg_report_table(stdout, &res);
	fflush(stdout);
	hold(lc);
	rc = 0;
	if (res.cl != NULL) {
		uint64_t errs = 0;

		for (unsigned int e = 0; e < LG_E_MAX; e++)
			errs += client.st.errors[e];
		rc = errs > 0 || client.st.completed == 0 ? 1 : 0;
	}
	if (idle.n > 0 && (idle.st.established < idle.n || idle.st.closed > 0))
		rc = 1;
out:
	if (dp.n_ports > 0)
		sl_tx_flush_all(lc);
	lg_client_free(&client);
	lg_server_free(&server);
	lg_idle_free(&idle);
	sl_worker_lcore_free(lc);
	dp.workers[0] = NULL;
	dp.n_workers = 0;
	sl_port_teardown(&dp);
	sl_conf_free(conf);
	rte_eal_cleanup();
	return rc;
}
