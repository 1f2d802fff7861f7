/* Command line of sluice-loadgen (after EAL's arguments and "--"). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_conf.h"
#include "lg.h"

void
lg_usage(FILE *out)
{
	fprintf(out,
"usage: sluice-loadgen <EAL args> -- [options]\n"
"\n"
"HTTP/1.1 clients and backend servers on Sluice's own TCP stack, on DPDK\n"
"ports (e.g. net_vhost facing a gateway's net_virtio_user). One lcore.\n"
"\n"
"Client side (the population that loads the gateway):\n"
"  --client PORT            ethdev name of the client-side port\n"
"  --client-addr CIDR       our address there (default 198.18.0.2/24)\n"
"  --client-gateway IP      next hop when the target is not on the subnet\n"
"  --target IP:PORT         where requests go (default 198.18.0.1:80)\n"
"  -c, --connections N      concurrent connections (default 16); in open\n"
"                           loop, the most requests in flight\n"
"  --new-conn               one request per connection (Connection: close)\n"
"                           instead of keep-alive\n"
"  -r, --rate R             open loop: R requests/s on a fixed schedule;\n"
"                           latency counts from each request's intended\n"
"                           send time (no coordinated omission).\n"
"                           Default: closed loop, as fast as answers come\n"
"  -d, --duration S         seconds of load (default 5, at most 3600)\n"
"  -n, --requests N         stop after N requests (bounded by -d as well)\n"
"  --request-size B         POST a body of B bytes (default 0: GET)\n"
"  --expect-size B          response body size to check (default: the\n"
"                           --response-size of our own server side)\n"
"  --path P, --host H       request target and Host (default / and the\n"
"                           target address)\n"
"  --timeout MS             per request, from its intended start (default 5000)\n"
"  --connect-timeout MS     (default 3000)\n"
"  --warmup S               wait S seconds after the links are up\n"
"  --idle-conns N           before the load, open N connections that stay\n"
"                           silent until the end (what holding idle\n"
"                           keep-alive clients costs the gateway)\n"
"  --idle-ports K           spread them over K target ports, PORT..PORT+K-1\n"
"                           (default: enough for 60000 per port)\n"
"  --idle-window W          at most W of them connecting at once (default 512)\n"
"\n"
"Server side (the backends the gateway proxies to):\n"
"  --server PORT            ethdev name of the backend-side port\n"
"  --server-addr CIDR       our address there (default 198.18.1.2/24)\n"
"  --listen P[,P...]        TCP ports to serve (default 8080; at most 16)\n"
"  --response-size B        body bytes of every response (default 64)\n"
"  --server-conns N         connections held at once (default 4096)\n"
"\n"
"Run:\n"
"  --link-wait S            wait this long for the links (default 30)\n"
"  --hold S                 after the report, keep the links up (answering\n"
"                           ARP, refusing TCP) for S seconds or until\n"
"                           SIGINT/SIGTERM, so that a gateway on\n"
"                           net_virtio_user can be stopped while its peer is\n"
"                           still there (default 0)\n"
"  --idle busy|adaptive     adaptive sleeps after empty polls, for shared\n"
"                           cores (default busy)\n"
"  --mbufs N                mbuf pool size (default 32767)\n"
"  --json                   print the report as one JSON object\n"
"  -h, --help\n"
"\n"
"Exit status: 0 when every request succeeded, 1 when any failed, 2 for\n"
"bad arguments or a start-up failure.\n");
}

static int
bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "sluice-loadgen: %s \"%s\": %s\n", opt, val, why);
	return -1;
}

/* Unsigned integer in [lo, hi]; the whole string. */
static int
parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (s[0] == '\0' || s[0] == '-')
		return bad(opt, s, "expected a non-negative integer");
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return bad(opt, s, "expected a non-negative integer");
	if (v < lo || v > hi) {
		char msg[96];

		snprintf(msg, sizeof(msg), "out of range %llu..%llu",
			 (unsigned long long)lo, (unsigned long long)hi);
		return bad(opt, s, msg);
	}
	*out = v;
	return 0;
}

static int
parse_u32(const char *opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(opt, s, lo, hi, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] == '\0' || errno != 0 || *end != '\0' || v != v)
		return bad(opt, s, "expected a number");
	if (v < lo || v > hi) {
		char msg[96];

		snprintf(msg, sizeof(msg), "out of range %g..%g", lo, hi);
		return bad(opt, s, msg);
	}
	*out = v;
	return 0;
}

static int
parse_cidr(const char *opt, const char *s, char *out, size_t len)
{
	uint32_t a;
	uint8_t pl;

	if (strlen(s) >= len || sl_conf_parse_cidr(s, &a, &pl) != 0)
		return bad(opt, s, "expected an IPv4 address with a prefix, like 198.18.0.2/24");
	strcpy(out, s);
	return 0;
}

static int
parse_name(const char *opt, const char *s, char *out, size_t len)
{
	if (s[0] == '\0' || strlen(s) >= len)
		return bad(opt, s, "expected an ethdev name, like net_vhost0");
	strcpy(out, s);
	return 0;
}

static int
parse_target(const char *opt, const char *s, uint32_t *addr, uint16_t *port)
{
	char buf[64];
	char *colon;
	uint32_t p;

	if (strlen(s) >= sizeof(buf))
		return bad(opt, s, "expected IP:PORT");
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (colon == NULL)
		return bad(opt, s, "expected IP:PORT");
	*colon = '\0';
	if (sl_conf_parse_ipv4(buf, addr) != 0)
		return bad(opt, s, "expected IP:PORT with an IPv4 address");
	if (parse_u32(opt, colon + 1, 1, 65535, &p) != 0)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

static int
parse_listen(const char *opt, const char *s, struct lg_opts *o)
{
	char buf[256], *tok, *save = NULL;
	uint32_t p;

	if (strlen(s) >= sizeof(buf))
		return bad(opt, s, "too long");
	strcpy(buf, s);
	o->n_listen = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->n_listen == LG_MAX_LISTEN)
			return bad(opt, s, "at most 16 ports");
		if (parse_u32(opt, tok, 1, 65535, &p) != 0)
			return -1;
		o->listen[o->n_listen++] = (uint16_t)p;
	}
	if (o->n_listen == 0)
		return bad(opt, s, "expected a list of ports");
	return 0;
}

enum {
	O_CLIENT = 256, O_CLIENT_ADDR, O_CLIENT_GW, O_TARGET, O_NEW_CONN,
	O_REQ_SIZE, O_EXPECT, O_PATH, O_HOST, O_TIMEOUT, O_CTIMEOUT, O_WARMUP,
	O_SERVER, O_SERVER_ADDR, O_LISTEN, O_RESP_SIZE, O_SERVER_CONNS,
	O_LINK_WAIT, O_IDLE, O_MBUFS, O_JSON, O_HOLD, O_IDLE_CONNS, O_IDLE_PORTS,
	O_IDLE_WINDOW,
};

int
lg_args_parse(int argc, char **argv, struct lg_opts *o)
{
	static const struct option opts[] = {
		{ "client", required_argument, NULL, O_CLIENT },
		{ "client-addr", required_argument, NULL, O_CLIENT_ADDR },
		{ "client-gateway", required_argument, NULL, O_CLIENT_GW },
		{ "target", required_argument, NULL, O_TARGET },
		{ "connections", required_argument, NULL, 'c' },
		{ "new-conn", no_argument, NULL, O_NEW_CONN },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
		{ "request-size", required_argument, NULL, O_REQ_SIZE },
		{ "expect-size", required_argument, NULL, O_EXPECT },
		{ "path", required_argument, NULL, O_PATH },
		{ "host", required_argument, NULL, O_HOST },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "connect-timeout", required_argument, NULL, O_CTIMEOUT },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "server", required_argument, NULL, O_SERVER },
		{ "server-addr", required_argument, NULL, O_SERVER_ADDR },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "response-size", required_argument, NULL, O_RESP_SIZE },
		{ "server-conns", required_argument, NULL, O_SERVER_CONNS },
		{ "link-wait", required_argument, NULL, O_LINK_WAIT },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "idle", required_argument, NULL, O_IDLE },
		{ "mbufs", required_argument, NULL, O_MBUFS },
		{ "idle-conns", required_argument, NULL, O_IDLE_CONNS },
		{ "idle-ports", required_argument, NULL, O_IDLE_PORTS },
		{ "idle-window", required_argument, NULL, O_IDLE_WINDOW },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool expect_set = false;
	uint64_t v;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	strcpy(o->client_addr, "198.18.0.2/24");
	strcpy(o->server_addr, "198.18.1.2/24");
	sl_conf_parse_ipv4("198.18.0.1", &o->target_addr);
	o->target_port = 80;
	o->listen[0] = 8080;
	o->n_listen = 1;
	o->server_conns = 4096;
	o->resp_body = 64;
	o->conns = 16;
	o->duration_s = 5;
	o->expect_body = -1;
	strcpy(o->path, "/");
	o->timeout_ms = 5000;
	o->connect_timeout_ms = 3000;
	o->link_wait_s = 30;
	o->mbufs = 32767;
	o->idle_window = 512;

	optind = 1;
	opterr = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, ":c:r:d:n:h", opts, NULL)) != -1) {
		switch (c) {
		case O_CLIENT:
			rc = parse_name("--client", optarg, o->client_port, sizeof(o->client_port));
			break;
		case O_CLIENT_ADDR:
			rc = parse_cidr("--client-addr", optarg, o->client_addr, sizeof(o->client_addr));
			break;
		case O_CLIENT_GW: {
			uint32_t a;

			if (strlen(optarg) >= sizeof(o->client_gw) ||
			    sl_conf_parse_ipv4(optarg, &a) != 0)
				rc = bad("--client-gateway", optarg, "expected an IPv4 address");
			else
				strcpy(o->client_gw, optarg);
			break;
		}
		case O_TARGET:
			rc = parse_target("--target", optarg, &o->target_addr, &o->target_port);
			break;
		case 'c':
			rc = parse_u32("--connections", optarg, 1, LG_MAX_CONNS, &o->conns);
			break;
		case O_NEW_CONN:
			o->new_conn = true;
			break;
		case 'r':
			rc = parse_double("--rate", optarg, 0.001, 1e8, &o->rate);
			break;
		case 'd':
			rc = parse_double("--duration", optarg, 0.001, 3600, &o->duration_s);
			break;
		case 'n':
			rc = parse_u64("--requests", optarg, 1, UINT64_MAX / 2, &o->requests);
			break;
		case O_REQ_SIZE:
			rc = parse_u32("--request-size", optarg, 0, LG_MAX_BODY, &o->req_body);
			break;
		case O_EXPECT:
			rc = parse_u64("--expect-size", optarg, 0, LG_MAX_BODY, &v);
			o->expect_body = (int64_t)v;
			expect_set = true;
			break;
		case O_PATH:
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(o->path) ||
			    strpbrk(optarg, " \r\n\t") != NULL)
				rc = bad("--path", optarg, "expected an origin-form path starting with /");
			else
				strcpy(o->path, optarg);
			break;
		case O_HOST:
			if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->host) ||
			    strpbrk(optarg, " \r\n\t/") != NULL)
				rc = bad("--host", optarg, "expected a host name");
			else
				strcpy(o->host, optarg);
			break;
		case O_TIMEOUT:
			rc = parse_u32("--timeout", optarg, 1, 600000, &o->timeout_ms);
			break;
		case O_CTIMEOUT:
			rc = parse_u32("--connect-timeout", optarg, 10, 600000,
				       &o->connect_timeout_ms);
			break;
		case O_WARMUP:
			rc = parse_double("--warmup", optarg, 0, 60, &o->warmup_s);
			break;
		case O_SERVER:
			rc = parse_name("--server", optarg, o->server_port, sizeof(o->server_port));
			break;
		case O_SERVER_ADDR:
			rc = parse_cidr("--server-addr", optarg, o->server_addr, sizeof(o->server_addr));
			break;
		case O_LISTEN:
			rc = parse_listen("--listen", optarg, o);
			break;
		case O_RESP_SIZE:
			rc = parse_u32("--response-size", optarg, 0, LG_MAX_BODY, &o->resp_body);
			break;
		case O_SERVER_CONNS:
			rc = parse_u32("--server-conns", optarg, 1, LG_MAX_CONNS, &o->server_conns);
			break;
		case O_LINK_WAIT:
			rc = parse_double("--link-wait", optarg, 0, 600, &o->link_wait_s);
			break;
		case O_HOLD:
			rc = parse_double("--hold", optarg, 0, 3600, &o->hold_s);
			break;
		case O_IDLE:
			if (strcmp(optarg, "busy") == 0)
				o->adaptive = false;
			else if (strcmp(optarg, "adaptive") == 0)
				o->adaptive = true;
			else
				rc = bad("--idle", optarg, "expected busy or adaptive");
			break;
		case O_MBUFS:
			rc = parse_u32("--mbufs", optarg, 1024, 4194304, &o->mbufs);
			break;
		case O_IDLE_CONNS:
			rc = parse_u32("--idle-conns", optarg, 1, LG_MAX_IDLE, &o->idle_conns);
			break;
		case O_IDLE_PORTS:
			rc = parse_u32("--idle-ports", optarg, 1, 1024, &o->idle_ports);
			break;
		case O_IDLE_WINDOW:
			rc = parse_u32("--idle-window", optarg, 1, 65536, &o->idle_window);
			break;
		case O_JSON:
			o->json = true;
			break;
		case 'h':
			lg_usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "sluice-loadgen: %s needs a value\n", argv[optind - 1]);
			rc = -1;
			break;
		default:
			fprintf(stderr, "sluice-loadgen: unknown option \"%s\"\n",
				argv[optind - 1]);
			rc = -1;
			break;
		}
	}
	if (rc != 0)
		return -1;
	if (optind < argc) {
		fprintf(stderr, "sluice-loadgen: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (o->client_port[0] == '\0' && o->server_port[0] == '\0') {
		fprintf(stderr, "sluice-loadgen: give --client PORT, --server PORT or both\n");
		return -1;
	}
	if (o->client_port[0] != '\0' && o->server_port[0] != '\0' &&
	    strcmp(o->client_port, o->server_port) == 0) {
		fprintf(stderr, "sluice-loadgen: --client and --server must be different ports\n");
		return -1;
	}
	if (o->idle_conns > 0 && o->client_port[0] == '\0') {
		fprintf(stderr, "sluice-loadgen: --idle-conns needs --client PORT\n");
		return -1;
	}
	if (o->idle_ports == 0)
		o->idle_ports = o->idle_conns / 60000 + 1;
	if ((uint32_t)o->target_port + o->idle_ports - 1 > 65535) {
		fprintf(stderr, "sluice-loadgen: --idle-ports %u from port %u passes 65535\n",
			o->idle_ports, o->target_port);
		return -1;
	}
	if ((uint64_t)o->idle_conns > (uint64_t)o->idle_ports * 64000) {
		fprintf(stderr, "sluice-loadgen: %u idle connections need --idle-ports %u "
			"or more (at most 64000 local ports per target port)\n",
			o->idle_conns, o->idle_conns / 64000 + 1);
		return -1;
	}
	if (o->host[0] == '\0')
		sl_conf_fmt_ipv4(o->target_addr, o->host);
	if (!expect_set && o->server_port[0] != '\0')
		o->expect_body = o->resp_body;
	return 0;
}
