/*
 * Runtime changes that are edits of the running config: adding and removing
 * a backend. The running config's JSON is edited and then applied exactly
 * like a reload, so the one validator judges it and /sluice/config shows
 * what really runs. Counter resets live here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sl_ctl.h"
#include "sl_event.h"
#include "sl_upstream.h"
#include "ctl_private.h"

/* The running config as JSON, and its pool `name`'s backends array. */
static json_t *
running_backends(const char *pool, json_t **root, struct sl_ctl_result *res)
{
	json_error_t jerr;
	json_t *pools, *p;
	size_t i;

	*root = json_loadb(ctl.text, ctl.len, 0, &jerr);
	if (*root == NULL) {
		conf_diag_msg(&res->diag, "", "the running config does not parse");
		return NULL;
	}
	pools = json_object_get(*root, "pools");
	json_array_foreach(pools, i, p) {
		const char *n = json_string_value(json_object_get(p, "name"));

		if (n != NULL && strcmp(n, pool) == 0) {
			json_t *b = json_object_get(p, "backends");

			if (json_is_array(b))
				return b;
			break;
		}
	}
	{
		char msg[320];

		snprintf(msg, sizeof(msg), "no pool \"%s\" in the running config", pool);
		conf_diag_msg(&res->diag, "/pools", msg);
	}
	return NULL;
}

static void
apply_json(struct sl_dp *dp, json_t *root, const char *source, const char *who,
	   struct sl_ctl_result *res)
{
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text == NULL) {
		conf_diag_oom(&res->diag);
		return;
	}
	ctl_apply_text(dp, text, strlen(text), source, who, false, false, res);
	free(text);
}

static void
rejected(struct sl_ctl_result *res)
{
	res->outcome = SL_CTL_REJECTED;
	res->generation = ctl.cur->conf->generation;
	snprintf(res->sha256_hex, sizeof(res->sha256_hex), "%s",
		 ctl.cur->conf->sha256_hex);
}

void
sl_ctl_add_backend(struct sl_dp *dp, const char *pool, const char *name,
		   const char *addr, unsigned int port, unsigned int weight,
		   struct sl_ctl_result *res)
{
	json_t *root = NULL, *backends, *b;
	char who[160];

	pthread_mutex_lock(&ctl.lock);
	memset(res, 0, sizeof(*res));
	backends = running_backends(pool, &root, res);
	if (backends == NULL) {
		rejected(res);
		goto out;
	}
	b = json_pack("{s:s, s:s, s:i, s:i}", "name", name, "address", addr,
		      "port", (json_int_t)port, "weight", (json_int_t)weight);
	if (b == NULL || json_array_append_new(backends, b) != 0) {
		conf_diag_oom(&res->diag);
		rejected(res);
		goto out;
	}
	/* Duplicates, bad addresses, unreachable ones: the validator says. */
	snprintf(who, sizeof(who), "add_backend %s/%s", pool, name);
	apply_json(dp, root, "add_backend", who, res);
out:
	json_decref(root);
	pthread_mutex_unlock(&ctl.lock);
}

void
sl_ctl_remove_backend(struct sl_dp *dp, const char *pool, const char *backend,
		      struct sl_ctl_result *res)
{
	json_t *root = NULL, *backends, *b;
	char who[160];
	size_t i;

	pthread_mutex_lock(&ctl.lock);
	memset(res, 0, sizeof(*res));
	backends = running_backends(pool, &root, res);
	if (backends == NULL) {
		rejected(res);
		goto out;
	}
	json_array_foreach(backends, i, b) {
		const char *n = json_string_value(json_object_get(b, "name"));

		if (n != NULL && strcmp(n, backend) == 0)
			break;
	}
	if (i == json_array_size(backends)) {
		char msg[320];

		snprintf(msg, sizeof(msg), "pool \"%s\" has no backend \"%s\"",
			 pool, backend);
		conf_diag_msg(&res->diag, "/pools", msg);
		rejected(res);
		goto out;
	}
	json_array_remove(backends, i);
	snprintf(who, sizeof(who), "remove_backend %s/%s", pool, backend);
	apply_json(dp, root, "remove_backend", who, res);
out:
	json_decref(root);
	pthread_mutex_unlock(&ctl.lock);
}

void
sl_ctl_reset_counters(struct sl_dp *dp)
{
	/* Each worker zeroes its own counters at its next turn: no race. */
	for (unsigned int w = 0; w < dp->n_workers; w++)
		__atomic_store_n(&dp->workers[w]->reset_req, 1, __ATOMIC_RELEASE);
	sl_upstream_reset_counters(dp->up);
}
