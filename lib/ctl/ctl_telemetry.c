/*
 * The write side: reload, rollback, the running config, operator changes to
 * backends and breakers, and counter resets. Each command validates its
 * arguments and answers with the new state or {"error": "..."}; every
 * change is also an event (/sluice/events).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "sl_alog.h"
#include "sl_breaker.h"
#include "sl_conf.h"
#include "sl_ctl.h"
#include "sl_upstream.h"
#include "sl_ctl_telemetry.h"
#include "sl_telemetry.h"

#define CHUNK        120   /* telemetry strings hold 127 bytes at most */
#define CHUNKS_PAGE  64    /* 7680 bytes of config a page: well inside 16 KB */
#define MAX_MSGS     24

static struct sl_dp *cdp;

static int
ctl_error(struct rte_tel_data *d, const char *fmt, ...)
{
	char msg[RTE_TEL_MAX_STRING_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "error", msg);
	return 0;
}

/* Split "a,b,c" into at most max fields (in buf); returns how many. */
static unsigned int
split(const char *params, char *buf, size_t len, char **f, unsigned int max)
{
	unsigned int n = 0;
	char *save = NULL, *t;

	snprintf(buf, len, "%s", params ? params : "");
	for (t = strtok_r(buf, ",", &save); t != NULL && n < max;
	     t = strtok_r(NULL, ",", &save))
		f[n++] = t;
	return t == NULL ? n : max + 1;
}

static void
add_msgs(struct rte_tel_data *d, const char *key, const struct sl_conf_diag *diag,
	 bool warnings)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	unsigned int n = 0;

	if (a == NULL)
		return;
	rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
	for (unsigned int i = 0; i < diag->n_msgs && n < MAX_MSGS; i++) {
		char line[RTE_TEL_MAX_STRING_LEN + 512];

		if (diag->msgs[i].warning != warnings)
			continue;
		snprintf(line, sizeof(line), "%s: %s", diag->msgs[i].pointer,
			 diag->msgs[i].text);
		line[RTE_TEL_MAX_STRING_LEN - 1] = '\0';   /* telemetry's string limit */
		rte_tel_data_add_array_string(a, line);
		n++;
	}
	rte_tel_data_add_dict_container(d, key, a, 0);
}

/* src into a telemetry string (127 bytes at most), "..." where cut. */
static void
tel_cut(char dst[RTE_TEL_MAX_STRING_LEN], const char *src)
{
	size_t n = strlen(src);

	if (n < RTE_TEL_MAX_STRING_LEN) {
		memcpy(dst, src, n + 1);
		return;
	}
	memcpy(dst, src, RTE_TEL_MAX_STRING_LEN - 4);
	memcpy(dst + RTE_TEL_MAX_STRING_LEN - 4, "...", 4);
}

static int
result_reply(struct rte_tel_data *d, struct sl_ctl_result *res)
{
	rte_tel_data_start_dict(d);
	/* result: applied / unchanged / rejected, as clients have always read;
	 * outcome says which kind (rejected_warnings, applied_with_warnings). */
	rte_tel_data_add_dict_string(d, "result", sl_ctl_outcome_name(res->outcome));
	rte_tel_data_add_dict_string(d, "outcome", sl_ctl_outcome_detail(res->outcome));
	rte_tel_data_add_dict_u64(d, "forced", res->forced);
	rte_tel_data_add_dict_u64(d, "generation", res->generation);
	rte_tel_data_add_dict_string(d, "sha256", res->sha256_hex);
	rte_tel_data_add_dict_string(d, "summary", res->summary);
	rte_tel_data_add_dict_u64(d, "error_count", res->diag.n_errors);
	rte_tel_data_add_dict_u64(d, "warning_count", res->diag.n_warnings);
	rte_tel_data_add_dict_u64(d, "weight_overrides_replaced", res->weight_overrides);
	{
		char o[RTE_TEL_MAX_STRING_LEN];

		tel_cut(o, res->overrides_text);
		rte_tel_data_add_dict_string(d, "weight_overrides", o);
		rte_tel_data_add_dict_u64(d, "runtime_kept", res->runtime_kept);
		tel_cut(o, res->kept_text);
		rte_tel_data_add_dict_string(d, "runtime_kept_list", o);
	}
	add_msgs(d, "errors", &res->diag, false);
	add_msgs(d, "warnings", &res->diag, true);
	sl_ctl_result_free(res);
	return 0;
}

static int
cmd_reload(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	struct sl_ctl_result res;
	bool force = false;

	/* No parameter (as ever), or "force": apply despite warnings. */
	if (params != NULL && params[0] != '\0') {
		if (strcmp(params, "force") != 0)
			return ctl_error(d, "/sluice/reload takes no parameter, or "
					 "\"force\" to apply a config with warnings "
					 "(got \"%.40s\")", params);
		force = true;
	}
	sl_ctl_reload(cdp, "telemetry", force, &res);
	return result_reply(d, &res);
}

static int
cmd_reload_status(const char *cmd __rte_unused, const char *params,
		  struct rte_tel_data *d)
{
	struct sl_ctl_reload_status st;
	struct rte_tel_data *by;
	char f[RTE_TEL_MAX_STRING_LEN];

	if (params != NULL && params[0] != '\0')
		return ctl_error(d, "/sluice/reload_status takes no parameter");
	sl_ctl_reload_status(&st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "last_reload_successful", st.last_successful);
	rte_tel_data_add_dict_string(d, "last_outcome", st.has_last ?
				     sl_ctl_outcome_detail(st.last_outcome) : "none");
	rte_tel_data_add_dict_string(d, "last_trigger", st.last_trigger);
	rte_tel_data_add_dict_u64(d, "last_forced", st.last_forced);
	rte_tel_data_add_dict_u64(d, "last_reload_at_unix", st.last_unix);
	rte_tel_data_add_dict_u64(d, "last_success_at_unix", st.last_success_unix);
	rte_tel_data_add_dict_u64(d, "last_errors", st.last_errors);
	rte_tel_data_add_dict_u64(d, "last_warnings", st.last_warnings);
	rte_tel_data_add_dict_u64(d, "last_weight_overrides_replaced",
				  st.last_weight_overrides);
	rte_tel_data_add_dict_u64(d, "last_runtime_kept", st.last_runtime_kept);
	tel_cut(f, st.last_findings);
	rte_tel_data_add_dict_string(d, "last_findings", f);
	rte_tel_data_add_dict_u64(d, "running_warnings", st.running_warnings);
	rte_tel_data_add_dict_u64(d, "strict", st.strict);
	by = rte_tel_data_alloc();
	if (by != NULL) {
		rte_tel_data_start_dict(by);
		for (unsigned int o = 0; o < SL_CTL_N_OUTCOMES; o++)
			rte_tel_data_add_dict_u64(by, sl_ctl_outcome_detail(o),
						  st.reloads[o]);
		rte_tel_data_add_dict_container(d, "reloads", by, 0);
	}
	return 0;
}

static int
cmd_rollback(const char *cmd __rte_unused, const char *params,
	     struct rte_tel_data *d)
{
	struct sl_ctl_result res;

	if (params != NULL && params[0] != '\0')
		return ctl_error(d, "/sluice/rollback takes no parameter");
	sl_ctl_rollback(cdp, &res);
	return result_reply(d, &res);
}

static int
cmd_config(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	const size_t page_bytes = (size_t)CHUNK * CHUNKS_PAGE;
	struct sl_ctl_config_info info;
	struct rte_tel_data *a;
	unsigned long page = 0;
	size_t len, pages, off;
	char *buf, *end;

	if (params != NULL && params[0] != '\0') {
		page = strtoul(params, &end, 10);
		if (*end != '\0')
			return ctl_error(d, "the parameter is a page number (got \"%.40s\")",
					 params);
	}
	buf = malloc(16 * 1024 * 1024 + 1);
	if (buf == NULL)
		return ctl_error(d, "out of memory");
	len = sl_ctl_config(&info, buf, 16 * 1024 * 1024 + 1);
	pages = len == 0 ? 1 : (len + page_bytes - 1) / page_bytes;
	if (page >= pages) {
		free(buf);
		return ctl_error(d, "page %lu is past the last (%zu pages)", page, pages);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "path", info.path);
	rte_tel_data_add_dict_string(d, "sha256", info.sha256_hex);
	rte_tel_data_add_dict_string(d, "source", info.source);
	rte_tel_data_add_dict_u64(d, "loaded_at_unix", info.loaded_unix);
	rte_tel_data_add_dict_u64(d, "generation", info.generation);
	rte_tel_data_add_dict_u64(d, "has_previous", info.has_previous);
	rte_tel_data_add_dict_string(d, "previous_sha256",
				     info.has_previous ? info.prev_sha256_hex : "");
	rte_tel_data_add_dict_u64(d, "previous_loaded_at_unix", info.prev_loaded_unix);
	rte_tel_data_add_dict_u64(d, "bytes", len);
	rte_tel_data_add_dict_u64(d, "page", page);
	rte_tel_data_add_dict_u64(d, "pages", pages);
	a = rte_tel_data_alloc();
	if (a != NULL) {
		/* The page's bytes in pieces that concatenate to the text. */
		rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
		for (off = page * page_bytes; off < len && off < (page + 1) * page_bytes;
		     off += CHUNK) {
			char piece[CHUNK + 1];
			size_t n = len - off < CHUNK ? len - off : CHUNK;

			memcpy(piece, buf + off, n);
			piece[n] = '\0';
			rte_tel_data_add_array_string(a, piece);
		}
		rte_tel_data_add_dict_container(d, "text", a, 0);
	}
	free(buf);
	return 0;
}

/* The backend's state after an operator change. */
static int
backend_reply(struct rte_tel_data *d, const char *pool, const char *backend,
	      unsigned int p, unsigned int b)
{
	const struct sl_up_backend *be = &cdp->up->pools[p].b[b];

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "pool", pool);
	rte_tel_data_add_dict_string(d, "backend", backend);
	rte_tel_data_add_dict_string(d, "admin",
		SL_UP_LOAD(be->drained) ? "drained" :
		sl_up_admin_name((enum sl_up_admin)SL_UP_LOAD(be->admin)));
	rte_tel_data_add_dict_string(d, "breaker",
		sl_breaker_state_name((enum sl_breaker_state)SL_UP_LOAD(be->breaker)));
	rte_tel_data_add_dict_u64(d, "effective_weight", SL_UP_LOAD(be->eff_weight));
	rte_tel_data_add_dict_u64(d, "inflight", SL_UP_LOAD(be->inflight));
	rte_tel_data_add_dict_u64(d, "pending", SL_UP_LOAD(be->pending));
	rte_tel_data_add_dict_u64(d, "active_connections", SL_UP_LOAD(be->conns));
	return 0;
}

static int
backend_op(const char *params, struct rte_tel_data *d, enum sl_up_op op,
	   const char *usage)
{
	char buf[256], err[160], *f[3];
	int p, b;

	if (split(params, buf, sizeof(buf), f, 2) != 2)
		return ctl_error(d, "usage: %s", usage);
	if (sl_upstream_request(cdp->up, f[0], f[1], op, err, sizeof(err)) != 0)
		return ctl_error(d, "%s", err);
	b = sl_upstream_find(cdp->up, f[0], f[1], &p, err, sizeof(err));
	if (b < 0)
		return ctl_error(d, "%s", err);
	/* The control thread steps every 2 ms: answer with the new state. */
	for (int i = 0; i < 500 && !sl_upstream_request_done(cdp->up, p, b); i++)
		usleep(1000);
	if (!sl_upstream_request_done(cdp->up, p, b))
		return ctl_error(d, "not applied within 500 ms: is the control "
				 "thread running? (see /sluice/events)");
	/* Publishing the new effective weight is the step after applying. */
	usleep(5000);
	return backend_reply(d, f[0], f[1], (unsigned int)p, (unsigned int)b);
}

static int
cmd_drain(const char *c __rte_unused, const char *params, struct rte_tel_data *d)
{
	return backend_op(params, d, SL_UP_OP_DRAIN, "/sluice/drain,<pool>,<backend>");
}

static int
cmd_maintenance(const char *c __rte_unused, const char *params, struct rte_tel_data *d)
{
	return backend_op(params, d, SL_UP_OP_MAINTENANCE,
			  "/sluice/maintenance,<pool>,<backend>");
}

static int
cmd_enable(const char *c __rte_unused, const char *params, struct rte_tel_data *d)
{
	return backend_op(params, d, SL_UP_OP_ENABLE, "/sluice/enable,<pool>,<backend>");
}

static int
cmd_breaker_open(const char *c __rte_unused, const char *params, struct rte_tel_data *d)
{
	return backend_op(params, d, SL_UP_OP_BREAKER_OPEN,
			  "/sluice/breaker_open,<pool>,<backend>");
}

static int
cmd_breaker_reset(const char *c __rte_unused, const char *params, struct rte_tel_data *d)
{
	return backend_op(params, d, SL_UP_OP_BREAKER_RESET,
			  "/sluice/breaker_reset,<pool>,<backend>");
}

static int
cmd_add_backend(const char *c __rte_unused, const char *params, struct rte_tel_data *d)
{
	static const char usage[] =
		"usage: /sluice/add_backend,<pool>,<name>,<address>:<port>[,<weight>]";
	char buf[256], *f[4], *colon, *end;
	unsigned long port, weight = 1;
	struct sl_ctl_result res;
	unsigned int n = split(params, buf, sizeof(buf), f, 4);

	if (n < 3 || n > 4)
		return ctl_error(d, "%s", usage);
	colon = strrchr(f[2], ':');
	if (colon == NULL)
		return ctl_error(d, "%s", usage);
	*colon = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		return ctl_error(d, "port must be 1 to 65535 (got \"%.20s\")", colon + 1);
	if (n == 4) {
		weight = strtoul(f[3], &end, 10);
		if (*end != '\0' || weight > 1000)
			return ctl_error(d, "weight must be 0 to 1000 (got \"%.20s\")", f[3]);
	}
	sl_ctl_add_backend(cdp, f[0], f[1], f[2], (unsigned int)port,
			   (unsigned int)weight, &res);
	return result_reply(d, &res);
}

static int
cmd_remove_backend(const char *c __rte_unused, const char *params, struct rte_tel_data *d)
{
	char buf[256], *f[3];
	struct sl_ctl_result res;

	if (split(params, buf, sizeof(buf), f, 2) != 2)
		return ctl_error(d, "usage: /sluice/remove_backend,<pool>,<backend>");
	sl_ctl_remove_backend(cdp, f[0], f[1], &res);
	return result_reply(d, &res);
}

static int
cmd_reset_counters(const char *c __rte_unused, const char *params,
		   struct rte_tel_data *d)
{
	if (params != NULL && params[0] != '\0')
		return ctl_error(d, "/sluice/reset_counters takes no parameter");
	sl_ctl_reset_counters(cdp);
	/* Workers zero their own at their next turn; give them one. */
	usleep(20000);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "result", "reset");
	rte_tel_data_add_dict_string(d, "note", "counters and histograms zeroed; "
				     "gauges (in flight, connections, states) kept");
	return 0;
}

/*
 * /sluice/log_reopen: what SIGUSR1 does (logrotate), with an answer. The
 * writer thread reopens (it alone touches the FILE); wait up to 1 s for it
 * to say it did, polling its flag: it sleeps 10 ms between drains.
 */
static int
cmd_log_reopen(const char *c __rte_unused, const char *params,
	       struct rte_tel_data *d)
{
	int waited = 0;

	if (params != NULL && params[0] != '\0')
		return ctl_error(d, "/sluice/log_reopen takes no parameter");
	if (sl_alog_reopen(cdp->alog) != 0)
		return ctl_error(d, "no access log configured");
	while (!sl_alog_reopened(cdp->alog) && waited < 1000) {
		usleep(5 * 1000);
		waited += 5;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "result", sl_alog_reopened(cdp->alog) ?
				     "reopened" : "requested");
	return 0;
}

/* These take ctl's lock: behind the shutdown gate, not reload's readers. */
static int
reg(const char *cmd, telemetry_cb fn, const char *help)
{
	return tel_reg_ctl(cmd, fn, help);
}

int
sl_ctl_telemetry_register(struct sl_dp *dp)
{
	int rc = 0;

	cdp = dp;
	rc |= reg("/sluice/config", cmd_config,
		"Running config: path, sha256, source, loaded_at, generation, previous; text in pieces. Param: page");
	rc |= reg("/sluice/reload", cmd_reload,
		"Re-read, validate, apply the config file; one with warnings only with param force. Returns result, outcome, errors, warnings");
	rc |= reg("/sluice/reload_status", cmd_reload_status,
		"Reloads by outcome; the last one's outcome and findings; the running config's warnings. No parameters");
	rc |= reg("/sluice/rollback", cmd_rollback,
		"Apply the previous config again. Returns result, generation, sha256, errors");
	rc |= reg("/sluice/drain", cmd_drain,
		"No new requests to a backend; in-flight ones finish (admin: draining, then drained). Params: pool,backend");
	rc |= reg("/sluice/maintenance", cmd_maintenance,
		"Take a backend out of service until enabled. Params: pool,backend");
	rc |= reg("/sluice/enable", cmd_enable,
		"Put a drained or maintenance backend back in service. Params: pool,backend");
	rc |= reg("/sluice/breaker_open", cmd_breaker_open,
		"Force a backend's breaker open (cooldown as configured). Params: pool,backend");
	rc |= reg("/sluice/breaker_reset", cmd_breaker_reset,
		"Close a backend's breaker and clear its counts. Params: pool,backend");
	rc |= reg("/sluice/add_backend", cmd_add_backend,
		"Add a backend to the running config (validated, like a reload). Params: pool,name,addr:port[,weight]");
	rc |= reg("/sluice/remove_backend", cmd_remove_backend,
		"Remove a backend from the running config; it drains. Params: pool,backend");
	rc |= reg("/sluice/reset_counters", cmd_reset_counters,
		"Zero every counter and histogram (gauges stay). No parameters");
	rc |= reg("/sluice/log_reopen", cmd_log_reopen,
		"Reopen the access log by its configured name (after logrotate; as SIGUSR1). Returns result. No parameters");
	return rc;
}
