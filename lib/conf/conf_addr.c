/* Address syntax and the reachability rule shared by validator and dataplane. */
#include <stdio.h>
#include <string.h>

#include "sl_conf.h"

/* Strict dotted quad: four decimal octets, no leading '+', no spaces. */
int
sl_conf_parse_ipv4(const char *s, uint32_t *addr)
{
	uint32_t a = 0;

	for (int octet = 0; octet < 4; octet++) {
		unsigned int v = 0, digits = 0;

		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned int)(*s++ - '0');
			if (++digits > 3 || v > 255)
				return -1;
		}
		if (digits == 0)
			return -1;
		a = (a << 8) | v;
		if (octet < 3 && *s++ != '.')
			return -1;
	}
	if (*s != '\0')
		return -1;
	*addr = a;
	return 0;
}

int
sl_conf_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix_len)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	unsigned int len = 0, digits = 0;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (sl_conf_parse_ipv4(buf, addr) != 0)
		return -1;
	for (s = slash + 1; *s >= '0' && *s <= '9'; s++) {
		len = len * 10 + (unsigned int)(*s - '0');
		if (++digits > 2)
			return -1;
	}
	if (digits == 0 || *s != '\0' || len > 32)
		return -1;
	*prefix_len = (uint8_t)len;
	return 0;
}

char *
sl_conf_fmt_ipv4(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
	return buf;
}

static inline uint32_t
mask_of(uint8_t len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

int
sl_conf_port_for_addr(const struct sl_conf *c, uint32_t addr)
{
	int best = -1, best_len = -1;

	for (unsigned int i = 0; i < c->n_ports; i++) {
		const struct sl_conf_port *p = &c->ports[i];
		uint32_t m = mask_of(p->prefix_len);

		if (p->valid && (addr & m) == (p->addr & m) &&
		    p->prefix_len > best_len) {
			best = (int)i;
			best_len = p->prefix_len;
		}
	}
	return best;
}

/*
 * Longest match among connected subnets and static routes; a port's gateway
 * is its default route. The first port with a gateway wins the default.
 */
int
sl_conf_port_reaching(const struct sl_conf *c, uint32_t addr, uint32_t *nh)
{
	int port = sl_conf_port_for_addr(c, addr);
	int best_len = port >= 0 ? c->ports[port].prefix_len : -1;
	uint32_t hop = addr;

	for (unsigned int i = 0; i < c->n_routes; i++) {
		const struct sl_conf_route *r = &c->routes[i];
		uint32_t m = mask_of(r->prefix_len);
		int via_port;

		if (!r->valid || (addr & m) != (r->prefix & m) ||
		    r->prefix_len <= best_len)
			continue;
		via_port = sl_conf_port_for_addr(c, r->via);
		if (via_port < 0)
			continue;
		port = via_port;
		best_len = r->prefix_len;
		hop = r->via;
	}
	if (port < 0) {
		for (unsigned int i = 0; i < c->n_ports; i++)
			if (c->ports[i].valid && c->ports[i].gateway != 0 &&
			    sl_conf_port_for_addr(c, c->ports[i].gateway) == (int)i) {
				port = (int)i;
				hop = c->ports[i].gateway;
				break;
			}
	}
	if (nh != NULL)
		*nh = hop;
	return port;
}

const char *
sl_conf_mode_name(enum sl_listener_mode mode)
{
	return mode == SL_MODE_TCP ? "tcp" : "http";
}

const char *
sl_conf_idle_name(enum sl_idle_policy idle)
{
	return idle == SL_IDLE_ADAPTIVE ? "adaptive" : "busy";
}
