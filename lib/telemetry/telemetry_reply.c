/*
 * The reply helpers every /sluice/ command shares (sl_telemetry.h): errors,
 * dict keys from configured names, pages, strings and rows, so that every
 * library's commands answer the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "sl_telemetry.h"

struct sl_dp *tel_dp;

void
sl_telemetry_init(struct sl_dp *dp)
{
	tel_dp = dp;
}

int
tel_error(struct rte_tel_data *d, const char *fmt, ...)
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

int
tel_no_params(const char *params, struct rte_tel_data *d)
{
	if (params == NULL || *params == '\0')
		return 0;
	tel_error(d, "this command takes no parameters (got \"%.60s\")", params);
	return -1;
}

/* Scalar fields of some table reply, which a row key must not shadow. */
static const char *const reserved_keys[] = {
	"total", "page", "pages", "next", "capacity", "overwritten", "error",
	"workers",
};

void
tel_key(char *out, size_t len, const char *name, unsigned int index)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < len; i++) {
		char c = name[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '/' ? c : '_';
	}
	out[i] = '\0';
	if (i == 0)
		snprintf(out, len, "_%u", index);
	for (unsigned int k = 0; k < RTE_DIM(reserved_keys); k++)
		if (strcmp(out, reserved_keys[k]) == 0) {
			snprintf(out + i, len - i, "_%u", index);
			break;
		}
}

int
tel_parse_page(const char *s, unsigned int *page, struct rte_tel_data *d)
{
	char *end;
	unsigned long v;

	*page = 0;
	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > 1000000) {
		tel_error(d, "page must be a number from 0 (got \"%.60s\")", s);
		return -1;
	}
	*page = (unsigned int)v;
	return 0;
}

void
tel_page_set(struct tel_page *pg, unsigned int total)
{
	uint64_t first = (uint64_t)pg->page * pg->size;

	pg->total = total;
	pg->first = first < total ? (unsigned int)first : total;
	pg->last = RTE_MIN(total, pg->first + pg->size);
}

void
tel_page_meta(struct rte_tel_data *d, const struct tel_page *pg)
{
	rte_tel_data_add_dict_u64(d, "total", pg->total);
	rte_tel_data_add_dict_u64(d, "page", pg->page);
	rte_tel_data_add_dict_u64(d, "pages", (pg->total + pg->size - 1) / pg->size);
}

void
tel_add_str(struct rte_tel_data *d, const char *key, const char *s)
{
	char buf[RTE_TEL_MAX_STRING_LEN];
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	buf[i] = '\0';
	rte_tel_data_add_dict_string(d, key, buf);
}

void
tel_add_row(struct rte_tel_data *d, const char *key, struct rte_tel_data *row)
{
	if (row != NULL && rte_tel_data_add_dict_container(d, key, row, 0) != 0)
		rte_tel_data_free(row);
}
