/*
 * Semantic checks over a parsed config: references, reachability, duplicates,
 * weights against capacities. Elements whose fields failed to parse are
 * skipped so that one mistake is not reported twice.
 */
#include <stdio.h>
#include <string.h>

#include "sl_conf.h"
#include "sl_lb.h"
#include "conf_private.h"

static inline uint32_t
mask_of(uint8_t len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

/* Addresses a host may not own or talk to as a unicast peer. */
static const char *
bad_unicast(uint32_t a)
{
	if (a == 0)
		return "the unspecified address";
	if ((a >> 24) == 127)
		return "a loopback address";
	if ((a >> 28) == 0xe)
		return "a multicast address";
	if (a == 0xffffffffu)
		return "the broadcast address";
	if ((a >> 28) == 0xf)
		return "a reserved (class E) address";
	return NULL;
}

/*
 * Reachability and "is this our address" need every port: when one is
 * missing or broken, those checks would only repeat that error.
 */
static bool
ports_all_valid(const struct sl_conf *c)
{
	if (c->n_ports == 0)
		return false;
	for (unsigned int i = 0; i < c->n_ports; i++)
		if (!c->ports[i].valid)
			return false;
	return true;
}

static bool
is_our_address(const struct sl_conf *c, uint32_t a)
{
	for (unsigned int i = 0; i < c->n_ports; i++)
		if (c->ports[i].valid && c->ports[i].addr == a)
			return true;
	return false;
}

static void
check_ports(const struct sl_conf *c, struct sl_conf_diag *d)
{
	char p[256], ip[16], ip2[16];

	for (unsigned int i = 0; i < c->n_ports; i++) {
		const struct sl_conf_port *port = &c->ports[i];
		uint32_t m = mask_of(port->prefix_len);
		const char *why;

		if (!port->valid)
			continue;
		snprintf(p, sizeof(p), "/ports/%u/address", i);
		if ((why = bad_unicast(port->addr)) != NULL)
			conf_err(d, p, "%s is %s",
				 sl_conf_fmt_ipv4(port->addr, ip), why);
		else if (port->prefix_len < 31 &&
			 ((port->addr & ~m) == 0 || (port->addr | m) == 0xffffffffu))
			conf_err(d, p, "%s is the network or broadcast address of /%u",
				 sl_conf_fmt_ipv4(port->addr, ip), port->prefix_len);
		if (port->prefix_len == 0)
			conf_err(d, p, "prefix length 0 would put every address on this port");
		for (unsigned int j = 0; j < i; j++) {
			const struct sl_conf_port *o = &c->ports[j];
			uint32_t mm = mask_of(port->prefix_len < o->prefix_len ?
					      port->prefix_len : o->prefix_len);

			if (!o->valid)
				continue;
			if (strcmp(o->name, port->name) == 0) {
				snprintf(p, sizeof(p), "/ports/%u/name", i);
				conf_err(d, p, "port \"%s\" is already defined at /ports/%u",
					 port->name, j);
			}
			if ((o->addr & mm) == (port->addr & mm)) {
				snprintf(p, sizeof(p), "/ports/%u/address", i);
				conf_err(d, p, "subnet %s/%u overlaps port %u (%s/%u)",
					 sl_conf_fmt_ipv4(port->addr, ip),
					 port->prefix_len, j,
					 sl_conf_fmt_ipv4(o->addr, ip2), o->prefix_len);
			}
		}
		if (port->gateway != 0) {
			snprintf(p, sizeof(p), "/ports/%u/gateway", i);
			if ((port->gateway & m) != (port->addr & m))
				conf_err(d, p, "gateway %s is outside the port's subnet %s/%u",
					 sl_conf_fmt_ipv4(port->gateway, ip),
					 sl_conf_fmt_ipv4(port->addr & m, ip2),
					 port->prefix_len);
			else if (port->gateway == port->addr)
				conf_err(d, p, "gateway %s is the port's own address",
					 sl_conf_fmt_ipv4(port->gateway, ip));
		}
	}
}

static void
check_routes(const struct sl_conf *c, struct sl_conf_diag *d)
{
	char p[256], ip[16], ip2[16];

	for (unsigned int i = 0; i < c->n_routes; i++) {
		const struct sl_conf_route *r = &c->routes[i];
		uint32_t m = mask_of(r->prefix_len);

		if (!r->valid)
			continue;
		snprintf(p, sizeof(p), "/routes/%u/prefix", i);
		if ((r->prefix & ~m) != 0)
			conf_err(d, p, "%s/%u has host bits set (did you mean %s/%u?)",
				 sl_conf_fmt_ipv4(r->prefix, ip), r->prefix_len,
				 sl_conf_fmt_ipv4(r->prefix & m, ip2), r->prefix_len);
		for (unsigned int j = 0; j < i; j++)
			if (c->routes[j].valid &&
			    c->routes[j].prefix_len == r->prefix_len &&
			    (c->routes[j].prefix & m) == (r->prefix & m))
				conf_err(d, p, "%s/%u is already routed at /routes/%u",
					 sl_conf_fmt_ipv4(r->prefix & m, ip),
					 r->prefix_len, j);
		snprintf(p, sizeof(p), "/routes/%u/via", i);
		if (sl_conf_port_for_addr(c, r->via) < 0)
			conf_err(d, p, "next hop %s is not inside any port's subnet",
				 sl_conf_fmt_ipv4(r->via, ip));
		else if (is_our_address(c, r->via))
			conf_err(d, p, "next hop %s is one of our own addresses",
				 sl_conf_fmt_ipv4(r->via, ip));
	}
}

/*
 * The seed's root cause: weights that give a backend more than it can take.
 * For every backend, its configured share (weight / sum of weights) over
 * its capacity share (capacity / sum of capacities; equal when none is
 * declared, the mean of the declared ones for a backend without): over
 * skew_warn_ratio, that backend fills up while the pool still has room.
 * Weight-0 backends are out of the spread. One warning per backend over.
 */
static void
check_skew(const struct sl_conf_pool *pool, unsigned int pi,
	   struct sl_conf_diag *d)
{
	uint32_t w[SL_CONF_MAX_BACKENDS], cap[SL_CONF_MAX_BACKENDS];
	double share[SL_CONF_MAX_BACKENDS], cs[SL_CONF_MAX_BACKENDS];
	double ratio[SL_CONF_MAX_BACKENDS];
	unsigned int n = pool->n_backends, in = 0, ndecl = 0, only = 0;
	uint64_t csum = 0;
	char p[256], how[96];

	if (n < 2 || n > SL_CONF_MAX_BACKENDS)
		return;
	for (unsigned int i = 0; i < n; i++) {
		if (!pool->backends[i].valid)
			return;
		w[i] = pool->backends[i].weight;
		cap[i] = pool->backends[i].capacity;
		if (w[i] > 0) {
			in++;
			only = i;
			if (cap[i] > 0) {
				ndecl++;
				csum += cap[i];
			}
		}
	}
	if (in == 0)
		return;
	if (in == 1) {
		snprintf(p, sizeof(p), "/pools/%u/backends/%u/weight", pi, only);
		conf_warn(d, p, "uneven spread: backend \"%s\" would get 100%% of "
			  "the pool's requests (the other %u have weight 0)",
			  pool->backends[only].name, n - 1);
		return;
	}
	sl_lb_skew(w, cap, n, share, cs, ratio);
	for (unsigned int i = 0; i < n; i++) {
		if (w[i] == 0 || ratio[i] <= pool->skew_warn_ratio)
			continue;
		if (ndecl == 0)
			snprintf(how, sizeof(how), "no capacity declared: equal");
		else if (cap[i] == 0)
			snprintf(how, sizeof(how), "capacity not declared: taken as "
				 "the mean %.0f", (double)csum / ndecl);
		else
			snprintf(how, sizeof(how), "capacity %u of %llu declared",
				 cap[i], (unsigned long long)csum);
		snprintf(p, sizeof(p), "/pools/%u/backends/%u/weight", pi, i);
		conf_warn(d, p, "uneven spread: backend \"%s\" would get %.1f%% of "
			  "the pool's requests, %.2fx its capacity share of %.1f%% "
			  "(%s); skew_warn_ratio is %.2f",
			  pool->backends[i].name, 100.0 * share[i], ratio[i],
			  100.0 * cs[i], how, pool->skew_warn_ratio);
	}
}

static void
check_pools(const struct sl_conf *c, struct sl_conf_diag *d)
{
	char p[256], ip[16];

	for (unsigned int i = 0; i < c->n_pools; i++) {
		const struct sl_conf_pool *pool = &c->pools[i];
		bool all_valid = true, used = false;
		uint64_t sum = 0;

		for (unsigned int j = 0; j < i; j++)
			if (pool->name[0] && strcmp(c->pools[j].name, pool->name) == 0) {
				snprintf(p, sizeof(p), "/pools/%u/name", i);
				conf_err(d, p, "pool \"%s\" is already defined at /pools/%u",
					 pool->name, j);
			}
		for (unsigned int k = 0; k < pool->n_backends; k++) {
			const struct sl_conf_backend *b = &pool->backends[k];
			const char *why;

			if (!b->valid) {
				all_valid = false;
				continue;
			}
			sum += b->weight;
			snprintf(p, sizeof(p), "/pools/%u/backends/%u", i, k);
			for (unsigned int j = 0; j < k; j++) {
				const struct sl_conf_backend *o = &pool->backends[j];

				if (!o->valid)
					continue;
				if (o->addr == b->addr && o->port == b->port)
					conf_err(d, p, "backend %s:%u is listed twice in the "
						 "pool (first at /pools/%u/backends/%u)",
						 sl_conf_fmt_ipv4(b->addr, ip), b->port, i, j);
				else if (strcmp(o->name, b->name) == 0)
					conf_err(d, p, "backend name \"%s\" is used twice in "
						 "the pool (first at /pools/%u/backends/%u)",
						 b->name, i, j);
			}
			snprintf(p, sizeof(p), "/pools/%u/backends/%u/address", i, k);
			if ((why = bad_unicast(b->addr)) != NULL)
				conf_err(d, p, "%s is %s", sl_conf_fmt_ipv4(b->addr, ip), why);
			else if (is_our_address(c, b->addr))
				conf_err(d, p, "%s is one of the gateway's own addresses",
					 sl_conf_fmt_ipv4(b->addr, ip));
			else if (ports_all_valid(c) &&
				 sl_conf_port_reaching(c, b->addr, NULL) < 0)
				conf_err(d, p, "%s is not reachable: no port subnet, route "
					 "or gateway covers it", sl_conf_fmt_ipv4(b->addr, ip));
		}
		if (all_valid && pool->n_backends > 0 && sum == 0) {
			snprintf(p, sizeof(p), "/pools/%u/backends", i);
			conf_err(d, p, "every backend has weight 0: the pool could never "
				 "serve a request");
		}
		if (all_valid)
			check_skew(pool, i, d);
		for (unsigned int l = 0; l < c->n_listeners; l++) {
			used |= c->listeners[l].pool == (int)i;
			for (unsigned int k = 0; k < c->listeners[l].n_routes; k++)
				used |= c->listeners[l].routes[k].pool == (int)i;
		}
		if (!used && pool->name[0]) {
			snprintf(p, sizeof(p), "/pools/%u", i);
			conf_warn(d, p, "pool \"%s\" is not used by any listener",
				  pool->name);
		}
	}
}

static void
check_listeners(const struct sl_conf *c, struct sl_conf_diag *d)
{
	char p[256], ip[16];

	for (unsigned int i = 0; i < c->n_listeners; i++) {
		const struct sl_conf_listener *l = &c->listeners[i];

		if (l->name[0] != '\0')
			for (unsigned int j = 0; j < i; j++)
				if (strcmp(c->listeners[j].name, l->name) == 0) {
					snprintf(p, sizeof(p), "/listeners/%u/name", i);
					conf_err(d, p, "listener \"%s\" is already defined "
						 "at /listeners/%u", l->name, j);
				}
		if (l->n_routes > 0 && l->mode != SL_MODE_HTTP) {
			snprintf(p, sizeof(p), "/listeners/%u/routes", i);
			conf_err(d, p, "routes need \"mode\": \"http\"; a tcp listener "
				 "sends everything to its pool");
		}
		for (unsigned int k = 0; k < l->n_routes; k++) {
			const struct sl_conf_http_route *r = &l->routes[k];

			if (!r->valid)
				continue;
			for (unsigned int j = 0; j < k; j++) {
				const struct sl_conf_http_route *o = &l->routes[j];

				if (o->valid && strcmp(o->host, r->host) == 0 &&
				    strcmp(o->path_prefix, r->path_prefix) == 0 &&
				    (o->methods == 0 || (r->methods != 0 &&
							 (o->methods & r->methods) == r->methods))) {
					snprintf(p, sizeof(p), "/listeners/%u/routes/%u", i, k);
					conf_err(d, p, "never matches: route %u has the same host "
						 "and path_prefix and takes all its methods", j);
				}
			}
		}
		if (l->addr == 0 || l->port == 0)
			continue;
		snprintf(p, sizeof(p), "/listeners/%u/address", i);
		if (ports_all_valid(c) && !is_our_address(c, l->addr))
			conf_err(d, p, "%s is not the address of any port",
				 sl_conf_fmt_ipv4(l->addr, ip));
		for (unsigned int j = 0; j < i; j++)
			if (c->listeners[j].addr == l->addr &&
			    c->listeners[j].port == l->port) {
				snprintf(p, sizeof(p), "/listeners/%u/port", i);
				conf_err(d, p, "%s:%u is already used by listener \"%s\" "
					 "(/listeners/%u)", sl_conf_fmt_ipv4(l->addr, ip),
					 l->port, c->listeners[j].name, j);
			}
	}
}

void
conf_check(const struct sl_conf *c, struct sl_conf_diag *d)
{
	check_ports(c, d);
	check_routes(c, d);
	check_pools(c, d);
	check_listeners(c, d);
}
