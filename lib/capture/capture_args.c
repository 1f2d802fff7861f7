/* The argument string of /sluice/capture_start, checked field by field. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sl_capture.h"
#include "sl_conf.h"

#define USAGE "usage: /sluice/capture_start,<port>,<rx|tx|both>[,<count>[,<seconds>]]" \
	"[,host=A.B.C.D][,port=N][,ring=N]"

static int
fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -EINVAL;
}

/* A plain decimal in [lo, hi]: no sign, no spaces, no trailing text. */
static int
parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > hi)
			return -1;
	}
	if (v < lo)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_count(const char *v, struct sl_capture_params *p, char *err, size_t errlen)
{
	if (parse_u32(v, 1, SL_CAPTURE_COUNT_MAX, &p->count) != 0)
		return fail(err, errlen, "count must be 1-" RTE_STR(SL_CAPTURE_COUNT_MAX)
			    " packets, not '%s'", v);
	return 0;
}

static int
parse_seconds(const char *v, struct sl_capture_params *p, char *err, size_t errlen)
{
	if (parse_u32(v, 1, SL_CAPTURE_SECONDS_MAX, &p->seconds) != 0)
		return fail(err, errlen, "seconds must be 1-" RTE_STR(SL_CAPTURE_SECONDS_MAX)
			    ", not '%s'", v);
	return 0;
}

static int
parse_option(char *tok, struct sl_capture_params *p, char *err, size_t errlen)
{
	char *v = strchr(tok, '=');
	uint32_t x;

	*v++ = '\0';
	if (strcmp(tok, "host") == 0) {
		if (sl_conf_parse_ipv4(v, &x) != 0 || x == 0)
			return fail(err, errlen, "host must be an IPv4 address like "
				    "198.18.0.2, not '%s'", v);
		p->filter.host = x;
	} else if (strcmp(tok, "port") == 0) {
		if (parse_u32(v, 1, 65535, &x) != 0)
			return fail(err, errlen, "port must be a TCP/UDP port 1-65535, "
				    "not '%s'", v);
		p->filter.port = (uint16_t)x;
	} else if (strcmp(tok, "ring") == 0) {
		if (parse_u32(v, SL_CAPTURE_RING_MIN, SL_CAPTURE_RING_MAX, &p->ring) != 0)
			return fail(err, errlen, "ring must be " RTE_STR(SL_CAPTURE_RING_MIN)
				    "-" RTE_STR(SL_CAPTURE_RING_MAX) " packets, not '%s'", v);
	} else if (strcmp(tok, "count") == 0) {
		return parse_count(v, p, err, errlen);
	} else if (strcmp(tok, "seconds") == 0) {
		return parse_seconds(v, p, err, errlen);
	} else {
		return fail(err, errlen, "unknown option '%s' (host, port, ring, "
			    "count, seconds)", tok);
	}
	return 0;
}

int
sl_capture_parse(const char *params, struct sl_capture_params *p, char *err,
		 size_t errlen)
{
	char buf[512], *tok, *next;
	unsigned int pos = 0;     /* positional fields seen */

	memset(p, 0, sizeof(*p));
	p->count = SL_CAPTURE_COUNT_DEFAULT;
	p->seconds = SL_CAPTURE_SECONDS_DEFAULT;
	p->ring = SL_CAPTURE_RING_DEFAULT;
	if (params == NULL || *params == '\0')
		return fail(err, errlen, "%s", USAGE);
	if (strlen(params) >= sizeof(buf))
		return fail(err, errlen, "%s", "parameters too long");
	snprintf(buf, sizeof(buf), "%s", params);
	/* strsep, not strtok: an empty field ("0,rx,,5") keeps its place. */
	for (next = buf; (tok = strsep(&next, ",")) != NULL;) {
		bool option = strchr(tok, '=') != NULL;
		int rc = 0;

		if (option) {
			if (pos < 2)
				return fail(err, errlen, "%s", USAGE);
			rc = parse_option(tok, p, err, errlen);
		} else if (pos == 0) {
			if (*tok == '\0' || strlen(tok) >= sizeof(p->port))
				return fail(err, errlen, "%s", USAGE);
			snprintf(p->port, sizeof(p->port), "%s", tok);
		} else if (pos == 1) {
			if (strcmp(tok, "rx") == 0)
				p->dir = SL_CAPTURE_RX;
			else if (strcmp(tok, "tx") == 0)
				p->dir = SL_CAPTURE_TX;
			else if (strcmp(tok, "both") == 0)
				p->dir = SL_CAPTURE_BOTH;
			else
				return fail(err, errlen, "direction must be rx, tx or "
					    "both, not '%s'", tok);
		} else if (pos == 2) {
			if (*tok != '\0')
				rc = parse_count(tok, p, err, errlen);
		} else if (pos == 3) {
			if (*tok != '\0')
				rc = parse_seconds(tok, p, err, errlen);
		} else {
			return fail(err, errlen, "unexpected '%s': options are "
				    "host=, port=, ring=", tok);
		}
		if (rc != 0)
			return rc;
		if (!option)
			pos++;
	}
	if (pos < 2)
		return fail(err, errlen, "%s", USAGE);
	return 0;
}

const char *
sl_capture_dir_name(unsigned int dir)
{
	switch (dir) {
	case SL_CAPTURE_RX:
		return "rx";
	case SL_CAPTURE_TX:
		return "tx";
	case SL_CAPTURE_BOTH:
		return "both";
	default:
		return "none";
	}
}
