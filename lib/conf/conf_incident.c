/*
 * The "incidents" object: where and how much the incident flight recorder
 * (lib/incident) keeps. Every key is optional; the recorder is always on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

#define MIB (1024ull * 1024ull)

void
conf_parse_incidents(json_t *root, struct sl_conf *c, struct sl_conf_diag *d)
{
	static const char *const keys[] = { "dir", "before_s", "after_s",
		"max_bundles", "max_bundle_bytes", NULL };
	struct sl_conf_incidents *in = &c->incidents;
	char p[PTR_MAX], kp[PTR_MAX];
	json_t *o = conf_get_object(root, "incidents", "", p, d);
	uint64_t bytes = 8 * MIB;

	const char *env_dir = getenv("SLUICE_INCIDENTS_DIR");

	/* The default directory may come from the environment, so that test
	 * and demo runs keep their bundles in their own scratch directory
	 * (scripts/test.sh, demo.sh) and not in the machine's /var/lib. */
	if (env_dir != NULL && env_dir[0] == '/' && strlen(env_dir) < sizeof(in->dir))
		snprintf(in->dir, sizeof(in->dir), "%s", env_dir);
	else
		snprintf(in->dir, sizeof(in->dir), "/var/lib/sluice/incidents");
	in->before_s = 30;
	in->after_s = 10;
	in->max_bundles = 20;
	in->max_bundle_bytes = bytes;
	if (o == NULL)
		return;
	conf_check_keys(o, p, keys, d);
	if (json_object_get(o, "dir") != NULL &&
	    conf_get_str(o, "dir", p, false, in->dir, sizeof(in->dir), d) &&
	    in->dir[0] != '/') {
		conf_ptr_key(kp, p, "dir");
		conf_err(d, kp, "must be an absolute path (got \"%.200s\")", in->dir);
	}
	/* Bounds keep the ring and one bundle small enough to build on the
	 * control thread in a few milliseconds. */
	conf_get_u32(o, "before_s", p, 1, 300, 30, &in->before_s, d);
	conf_get_u32(o, "after_s", p, 1, 120, 10, &in->after_s, d);
	conf_get_u32(o, "max_bundles", p, 1, 1000, 20, &in->max_bundles, d);
	if (conf_get_uint(o, "max_bundle_bytes", p, 64 * 1024, 1024 * MIB, 8 * MIB,
			  false, &bytes, d))
		in->max_bundle_bytes = bytes;
}
