/*
 * Active health checks, through the appliance's own TCP stack: a TCP
 * connect, or an HTTP GET whose status must be in expect_statuses. They run
 * on worker 0 as timers in its wheel, so a check takes the same path as the
 * traffic; their start times are spread over the interval so that checks of
 * many backends do not arrive together. Verdicts go to the control thread
 * as outcomes; it applies rise/fall and publishes the health to every lcore.
 */
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "sl_conf.h"
#include "sl_lcore_types.h"
#include "sl_session.h"
#include "sl_timer.h"
#include "sl_upstream.h"
#include "proxy_http_private.h"

struct sl_h1_check {
	struct sl_h1_proxy *hp;
	struct sl_session *conn;       /* check in progress, or NULL */
	struct sl_timer timer;         /* next check, or this one's timeout */
	uint16_t pool;
	uint16_t backend;
	uint16_t got;                  /* status-line bytes gathered */
	bool on;                       /* this slot's backend is being checked */
	char line[16];
};

static const struct sl_session_ops check_ops;

static uint64_t
ticks(uint32_t ms)
{
	return ms;   /* the wheel ticks once a millisecond */
}

static const struct sl_conf_health *
hc_conf(const struct sl_h1_check *k)
{
	return &k->hp->conf->pools[k->pool].health;
}

/* End this check with a verdict; the next starts one interval after this one began. */
static void
check_done(struct sl_h1_check *k, bool pass, unsigned int status)
{
	struct sl_h1_proxy *hp = k->hp;
	const struct sl_conf_health *h = hc_conf(k);

	if (k->conn != NULL) {
		sl_session_abort(k->conn);
		k->conn = NULL;
	}
	sl_timer_cancel(&hp->tcp->wheel, &k->timer);
	sl_up_report(hp->up, hp->widx, k->pool, k->backend,
		     pass ? SL_UP_HEALTH_PASS : SL_UP_HEALTH_FAIL, status, 0, 0);
	sl_timer_arm(&hp->tcp->wheel, &k->timer,
		     ticks(h->interval_ms > h->timeout_ms ? h->interval_ms - h->timeout_ms :
			   h->interval_ms));
}

static void
check_fire(struct sl_timer *t, void *ctx)
{
	struct sl_h1_check *k = container_of(t, struct sl_h1_check, timer);
	struct sl_h1_proxy *hp = k->hp;
	const struct sl_conf_health *h = hc_conf(k);
	const struct sl_conf_backend *b = &hp->conf->pools[k->pool].backends[k->backend];

	(void)ctx;
	if (k->conn != NULL) {
		check_done(k, false, 0);   /* timed out */
		return;
	}
	k->got = 0;
	k->conn = sl_session_connect(hp->tcp, b->addr, b->port, h->timeout_ms,
				     &check_ops, k);
	if (k->conn == NULL) {
		/* No route, port or connection slot: that is a failure too. */
		check_done(k, false, 0);
		return;
	}
	sl_timer_arm(&hp->tcp->wheel, &k->timer, ticks(h->timeout_ms));
}

static void
check_established(struct sl_session *c, void *app)
{
	struct sl_h1_check *k = app;
	const struct sl_conf_health *h = hc_conf(k);
	const struct sl_conf_backend *b =
		&k->hp->conf->pools[k->pool].backends[k->backend];
	char req[700], ip[16];
	int n;

	if (!h->http) {
		check_done(k, true, 0);
		return;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
		     "User-Agent: sluice-health-check\r\nConnection: close\r\n\r\n",
		     h->path, h->host[0] ? h->host : sl_conf_fmt_ipv4(b->addr, ip));
	/* A request that cannot be queued whole fails at the timeout. */
	sl_session_write(c, k->hp->tcp->lc->pool, req, (uint32_t)n);
	sl_session_flush(c);
}

static void
check_readable(struct sl_session *c, void *app)
{
	struct sl_h1_check *k = app;
	struct sl_mq q;
	struct rte_mbuf *m;
	unsigned int status = 0;

	sl_session_recv(c, sizeof(k->line) - k->got, &q);
	while ((m = sl_mq_pop(&q)) != NULL) {
		uint16_t n = (uint16_t)RTE_MIN(rte_pktmbuf_data_len(m),
					       (uint16_t)(sizeof(k->line) - k->got));

		memcpy(k->line + k->got, rte_pktmbuf_mtod(m, char *), n);
		k->got = (uint16_t)(k->got + n);
		rte_pktmbuf_free(m);
	}
	if (k->got < 12)
		return;
	/* "HTTP/1.x NNN" */
	if (memcmp(k->line, "HTTP/1.", 7) == 0 && k->line[8] == ' ' &&
	    k->line[9] >= '1' && k->line[9] <= '5' &&
	    k->line[10] >= '0' && k->line[10] <= '9' &&
	    k->line[11] >= '0' && k->line[11] <= '9')
		status = (unsigned int)(k->line[9] - '0') * 100 +
			 (unsigned int)(k->line[10] - '0') * 10 +
			 (unsigned int)(k->line[11] - '0');
	check_done(k, status != 0 && sl_status_set_has(&hc_conf(k)->expect, status),
		   status);
}

static void
check_closed(struct sl_session *c __rte_unused, void *app,
	     enum sl_session_close why __rte_unused)
{
	struct sl_h1_check *k = app;

	k->conn = NULL;   /* already gone: nothing to abort */
	check_done(k, false, 0);
}

static const struct sl_session_ops check_ops = {
	.established = check_established,
	.readable = check_readable,
	.closed = check_closed,
};

/* Should backend b of pool p be checked under hp->conf? */
static bool
wanted(const struct sl_conf *conf, unsigned int p, unsigned int b)
{
	const struct sl_conf_pool *cp = &conf->pools[p];

	return !cp->removed && cp->health.enabled && !cp->backends[b].removed;
}

static void
check_stop(struct sl_h1_check *k)
{
	sl_timer_cancel(&k->hp->tcp->wheel, &k->timer);
	if (k->conn != NULL) {
		sl_session_abort(k->conn);
		k->conn = NULL;
	}
	k->on = false;
}

/*
 * Bring the running checks in line with hp->conf: stop those of backends no
 * longer checked, start new ones spread over one interval, and leave the
 * others on their schedule. Checks live in backend slots, so a slot's
 * check survives a reload that keeps its backend.
 */
static void
health_sync(struct sl_h1_proxy *hp)
{
	const struct sl_conf *conf = hp->conf;
	uint32_t n = 0, k = 0;

	for (uint32_t i = 0; i < hp->n_checks; i++) {
		struct sl_h1_check *c = &hp->checks[i];

		if (c->on && !wanted(conf, c->pool, c->backend))
			check_stop(c);
	}
	for (unsigned int p = 0; p < conf->n_pools; p++)
		for (unsigned int b = 0; b < conf->pools[p].n_backends; b++)
			n += wanted(conf, p, b) && !hp->checks[conf->pools[p].slot_base + b].on;
	for (unsigned int p = 0; p < conf->n_pools; p++) {
		const struct sl_conf_pool *cp = &conf->pools[p];

		for (unsigned int b = 0; b < cp->n_backends; b++) {
			struct sl_h1_check *c = &hp->checks[cp->slot_base + b];

			if (!wanted(conf, p, b) || c->on)
				continue;
			c->hp = hp;
			c->pool = (uint16_t)p;
			c->backend = (uint16_t)b;
			c->conn = NULL;
			c->on = true;
			sl_timer_init(&c->timer, check_fire);
			/* Spread the first checks over one interval. */
			sl_timer_arm(&hp->tcp->wheel, &c->timer,
				     ticks(1 + (uint32_t)((uint64_t)cp->health.interval_ms *
							  k++ / n)));
		}
	}
}

int
h1_health_init(struct sl_h1_proxy *hp, int socket)
{
	if (hp->widx != 0 || hp->up == NULL)
		return 0;
	/* One check per backend slot, so that reloads allocate nothing. */
	hp->checks = rte_zmalloc_socket("sl_h1_checks",
					(hp->conf->slot_cap + 1) * sizeof(*hp->checks),
					0, socket);
	if (hp->checks == NULL)
		return -1;
	hp->n_checks = hp->conf->slot_cap;
	health_sync(hp);
	return 0;
}

void
h1_health_adopt(struct sl_h1_proxy *hp, const struct sl_conf *old)
{
	(void)old;
	if (hp->checks != NULL)
		health_sync(hp);
}

void
h1_health_free(struct sl_h1_proxy *hp)
{
	for (uint32_t i = 0; i < hp->n_checks; i++)
		if (hp->checks[i].on)
			check_stop(&hp->checks[i]);
	rte_free(hp->checks);
	hp->checks = NULL;
	hp->n_checks = 0;
}
