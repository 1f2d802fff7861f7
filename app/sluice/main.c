/*
 * sluice: EAL init, config, ports, workers, telemetry, signals. Thin on
 * purpose: every capability lives in lib/.
 *
 *   sluice --check-config FILE [--strict]     validate, no EAL
 *   sluice <EAL args> -- -c FILE [--strict]   run the gateway
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include "sl_alog.h"
#include "sl_capture.h"
#include "sl_conf.h"
#include "sl_ctl.h"
#include "sl_drain.h"
#include "sl_log.h"
#include "sl_port.h"
#include "sl_port_watch.h"
#include "sl_event.h"
#include "sl_incident.h"
#include "sl_steer.h"
#include "sl_box.h"
#include "sl_telemetry.h"
#include "sl_upstream.h"
#include "sl_worker.h"

static struct sl_dp dp;
/* Copies: a reload frees the config the names came from (they never change). */
static char listener_name_buf[256][SL_NAME_MAX];
static const char *listener_names[256];

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: sluice --check-config FILE [--strict]\n"
		"       sluice <EAL args> -- -c FILE [--strict]\n"
		"\n"
		"  --check-config FILE  validate FILE and exit: 0 valid, 1 invalid.\n"
		"                       Runs without EAL. Every finding is printed as\n"
		"                       FILE: /json/pointer: message\n"
		"  -c, --config FILE    run the gateway with FILE\n"
		"  --strict             treat warnings (such as uneven weights) as errors:\n"
		"                       at start-up, and for every run-time change (a\n"
		"                       reload then cannot be forced past them)\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n"
		"\n"
		"A reload (SIGHUP, /sluice/reload, sluicectl reload) refuses a config\n"
		"with warnings unless forced (/sluice/reload,force or sluicectl reload\n"
		"--force); a SIGHUP is never forced.\n"
		"SIGUSR1 (or /sluice/log_reopen) reopens the access log (logrotate).\n"
		"SIGTERM (or /sluice/drain_all) drains: new connections are refused,\n"
		"what is in progress gets shutdown.grace_ms to finish, then exit 0;\n"
		"a second SIGTERM, or SIGINT, resets what remains and exits at once.\n"
		"\n"
		"The main lcore runs control (telemetry, signals); every other lcore\n"
		"given to EAL is a worker with one RX and one TX queue per port.\n");
}

/* Load with the one validator, printing every finding. NULL when invalid. */
static struct sl_conf *
load_config(const char *path, bool strict)
{
	struct sl_conf_diag diag = { 0 };
	struct sl_conf *c = sl_conf_load(path, strict, &diag);

	sl_conf_diag_print(&diag, path, stderr);
	if (c == NULL && diag.n_errors == 0 && strict)
		fprintf(stderr, "%s: /: %u warning(s) are fatal with --strict\n",
			path, diag.n_warnings);
	sl_conf_diag_free(&diag);
	return c;
}

static int
check_config(int argc, char **argv)
{
	const char *path = NULL;
	bool strict = false;
	struct sl_conf *c;

	/* Flags in any order; exactly one file. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--strict") == 0) {
			strict = true;
		} else if (strcmp(argv[i], "--check-config") == 0) {
			continue;
		} else if (path == NULL && argv[i][0] != '-') {
			path = argv[i];
		} else {
			fprintf(stderr, "sluice: unexpected argument \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}
	c = load_config(path, strict);
	if (c == NULL)
		return 1;
	printf("%s: valid (sha256 %s)\n", path, c->sha256_hex);
	sl_conf_free(c);
	return 0;
}

static volatile sig_atomic_t reload_pending;
/* Counted, not flagged: the second SIGTERM means "now". SIGINT is "now". */
static volatile sig_atomic_t terms, ints;

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		reload_pending = 1;   /* the main loop reloads: not signal-safe here */
		return;
	}
	if (sig == SIGUSR1) {
		/* logrotate's postrotate: one atomic add, the writer reopens. */
		sl_alog_reopen(dp.alog);
		return;
	}
	if (sig == SIGTERM)
		terms++;
	else
		ints++;
}

/* The grace of the running config (a reload may be freeing the old one). */
static uint32_t
grace_ms(void)
{
	unsigned int tok = sl_telemetry_read_begin();
	uint32_t ms = __atomic_load_n(&dp.conf, __ATOMIC_ACQUIRE)->shutdown.grace_ms;

	sl_telemetry_read_end(tok);
	return ms;
}

/* Signals seen since the last turn: start the drain, or end it now. */
static void
drain_signals(sig_atomic_t *terms_seen)
{
	if (ints > 0) {
		sl_drain_force(&dp, "SIGINT");
		return;
	}
	if (terms == *terms_seen)
		return;
	/* The first TERM, or the first since a drain was called off
	 * (/sluice/drain_cancel): a drain of its own. When a drain_all runs
	 * already, this is its first TERM. */
	if (*terms_seen == 0 ||
	    __atomic_load_n(&dp.run_state, __ATOMIC_ACQUIRE) == SL_RUN_RUNNING) {
		(void)sl_drain_begin(&dp, "SIGTERM", grace_ms());
		*terms_seen += 1;
	}
	if (terms > *terms_seen) {
		*terms_seen = terms;
		sl_drain_force(&dp, "second SIGTERM");
	}
}

static int
parse_app_args(int argc, char **argv, const char **path, bool *strict)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			*path = optarg;
			break;
		case 's':
			*strict = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (*path == NULL) {
		fprintf(stderr, "sluice: -c FILE is required after --\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

static int
workers_create(void)
{
	unsigned int lcore, n = rte_lcore_count() - 1;

	for (unsigned int i = 0; i < dp.conf->n_listeners && i < RTE_DIM(listener_names); i++)
		listener_names[i] = strcpy(listener_name_buf[i], dp.conf->listeners[i].name);
	dp.alog = sl_alog_create(dp.conf->access_log.path,
				 dp.conf->access_log.ring_size,
				 dp.conf->access_log.sample_every, n, listener_names);
	if (dp.alog == NULL) {
		fprintf(stderr, "sluice: cannot open the access log %s: %s\n",
			dp.conf->access_log.path, rte_strerror(rte_errno));
		return -1;
	}
	dp.events = sl_event_log_create(dp.conf->events_max);
	dp.up = dp.events ? sl_upstream_create(dp.conf, n, dp.events) : NULL;
	if (dp.up == NULL) {
		fprintf(stderr, "sluice: cannot create the pool state: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct sl_lcore *lc = sl_worker_create(&dp, lcore, dp.n_workers, n);

		if (lc == NULL) {
			fprintf(stderr, "sluice: cannot create worker on lcore %u: %s\n",
				lcore, rte_strerror(rte_errno));
			return -1;
		}
		if (sl_alog_lcore_attach(dp.alog, lc, dp.n_workers) != 0) {
			fprintf(stderr, "sluice: no lcore slot left for the access log\n");
			sl_worker_free(lc);
			return -1;
		}
		dp.workers[dp.n_workers++] = lc;
	}
	if (dp.n_workers == 0) {
		fprintf(stderr, "sluice: no worker lcore: give EAL at least two "
			"lcores (e.g. -l 0,1); the main lcore is the control thread\n");
		return -1;
	}
	return 0;
}

static void
shutdown_all(struct sl_conf *conf)
{
	uint64_t total, in_use;

	/*
	 * Telemetry's threads run until exit and their handlers read workers,
	 * ports, pools and configs: no /sluice/ command may run past here.
	 */
	sl_telemetry_quiesce();
	/* An open incident is frozen with what it has, while events still exist. */
	sl_incident_free();
	rte_eal_mp_wait_lcore();
	/* Workers are out of their bursts: a running capture closes its file. */
	sl_capture_shutdown();
	/* Packets still in the steering rings go back before the pools. */
	sl_steer_teardown(&dp);
	/* Packets still parked in ARP or TX queues go back before the pools. */
	for (unsigned int w = 0; w < dp.n_workers; w++) {
		sl_worker_free(dp.workers[w]);
		dp.workers[w] = NULL;
	}
	dp.n_workers = 0;
	/* Workers are done: the writer drains what they queued, then stops. */
	sl_alog_free(dp.alog);
	dp.alog = NULL;
	sl_upstream_free(dp.up);
	dp.up = NULL;
	sl_event_log_free(dp.events);
	dp.events = NULL;
	sl_port_mbuf_usage(&dp, &total, &in_use);
	rte_pdump_uninit();
	sl_port_teardown(&dp);
	SL_LOG(INFO, "stopped; %lu of %lu mbufs were in NIC rings when the ports closed",
	       in_use, total);
	/* Every generation, the start-up config included, belongs to ctl. */
	if (dp.gen != NULL)
		sl_ctl_free(&dp);
	else
		sl_conf_free(conf);
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	bool strict = false;
	struct sl_conf *conf;
	struct sigaction sa;
	char err[1024] = "";
	int n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--check-config") == 0)
			return check_config(argc, argv);
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("sluice %s\n", SL_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	}

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "sluice: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	argv[0] = (char *)"sluice";
	if (parse_app_args(argc, argv, &path, &strict) != 0) {
		rte_eal_cleanup();
		return 1;
	}
	conf = load_config(path, strict);
	if (conf == NULL) {
		fprintf(stderr, "sluice: %s is invalid, not starting\n", path);
		rte_eal_cleanup();
		return 1;
	}

	dp.conf = conf;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.start_tsc = rte_rdtsc();
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		dp.start_wall_us = (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* A telemetry client that hangs up before its reply must cost an
	 * EPIPE on telemetry's thread, not the process (and shutdown cuts
	 * clients off mid-command: sl_telemetry_quiesce). */
	signal(SIGPIPE, SIG_IGN);

	if (sl_ctl_init(&dp, conf, strict, err, sizeof(err)) != 0) {
		fprintf(stderr, "sluice: %s\n", err);
		dp.stop = true;
		shutdown_all(conf);
		rte_eal_cleanup();
		return 1;
	}
	if (workers_create() != 0 || sl_port_setup(&dp, conf, err, sizeof(err)) != 0 ||
	    sl_steer_setup(&dp, err, sizeof(err)) != 0) {
		if (dp.n_workers > 0 && err[0] != '\0')
			fprintf(stderr, "sluice: %s\n", err);
		dp.stop = true;
		shutdown_all(conf);
		rte_eal_cleanup();
		return 1;
	}
	sl_port_watch_init(&dp);
	if (sl_box_telemetry_register(&dp) != 0)
		SL_LOG(WARNING, "some telemetry commands could not be registered");
	if (sl_incident_init(&dp, sl_telemetry_read_begin, sl_telemetry_read_end,
			     err, sizeof(err)) != 0)
		SL_LOG(WARNING, "%s: no incident bundles will be recorded", err);
	if (rte_pdump_init() != 0)
		SL_LOG(WARNING, "pdump init failed: %s (dpdk-dumpcap cannot attach)",
		       rte_strerror(rte_errno));

	if (sl_upstream_start(dp.up) != 0)
		SL_LOG(WARNING, "cannot start the upstream control thread: breakers, "
		       "ejection and health will not change state");
	if (sl_alog_start(dp.alog) != 0)
		SL_LOG(WARNING, "access log writer did not start; records will be dropped");
	for (unsigned int w = 0; w < dp.n_workers; w++)
		rte_eal_remote_launch(sl_worker_main, dp.workers[w],
				      dp.workers[w]->lcore_id);
	sl_drain_ready(&dp);
	SL_LOG(NOTICE, "running: %u worker(s), %u port(s), config %s (sha256 %.12s)",
	       dp.n_workers, dp.n_ports, conf->path, conf->sha256_hex);

	for (sig_atomic_t terms_seen = 0;;) {
		drain_signals(&terms_seen);
		if (sl_drain_tick(&dp))
			break;
		usleep(20 * 1000);
		sl_port_watch_run(&dp);   /* a port that stopped receiving */
		sl_incident_tick(&dp);    /* snapshots once a second, triggers */
		if (reload_pending) {
			struct sl_ctl_result res;

			reload_pending = 0;
			/* Never forced: a signal cannot say it means the warnings. */
			sl_ctl_reload(&dp, "SIGHUP", false, &res);
			if (res.outcome == SL_CTL_REJECTED ||
			    res.outcome == SL_CTL_REJECTED_WARNINGS)
				sl_conf_diag_print(&res.diag, path, stderr);
			sl_ctl_result_free(&res);
		}
	}

	SL_LOG(NOTICE, "signal received, stopping");
	dp.stop = true;
	shutdown_all(conf);
	rte_eal_cleanup();
	return 0;
}
