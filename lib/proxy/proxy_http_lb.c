/*
 * The HTTP proxy's side of balancing and protection: choosing a backend
 * through lib/upstream, reporting each request's outcome, the hash keys of
 * maglev pools, rate limits (429) and overload shedding (503).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "sl_conf.h"
#include "sl_http.h"
#include "sl_lb.h"
#include "sl_lcore_types.h"
#include "sl_session.h"
#include "sl_upstream.h"
#include "proxy_http_private.h"

#define BUSY_WINDOW_MS 100   /* busy share is judged over this */

static uint64_t
now_ms(const struct sl_h1_proxy *hp)
{
	return rte_rdtsc() / (hp->tcp->lc->dp->tsc_hz / 1000);
}

/* Which hash key (header or cookie) each maglev pool reads: at start and reload. */
void
h1_lb_keys(struct sl_h1_proxy *hp)
{
	const struct sl_conf *conf = hp->conf;

	hp->n_keys = 0;
	for (unsigned int p = 0; p < conf->n_pools; p++) {
		const struct sl_conf_pool *cp = &conf->pools[p];
		bool cookie = cp->hash_source == SL_HASH_COOKIE;
		unsigned int k;

		hp->pool_key[p] = -1;
		if (cp->policy != SL_POLICY_MAGLEV || cp->hash_source == SL_HASH_CLIENT_IP)
			continue;
		for (k = 0; k < hp->n_keys; k++)
			if (hp->keys[k].cookie == cookie &&
			    strcasecmp(hp->keys[k].name, cp->hash_name) == 0)
				break;
		if (k == hp->n_keys) {
			/* Beyond SL_H1_HASH_KEYS distinct keys: client address. */
			if (k == SL_H1_HASH_KEYS)
				continue;
			snprintf(hp->keys[k].name, sizeof(hp->keys[k].name), "%s",
				 cp->hash_name);
			/* Field names match case-blind against a lower-case name;
			 * cookie names are case-sensitive and stay as written. */
			for (char *c = hp->keys[k].name; !cookie && *c; c++)
				*c = (char)tolower((unsigned char)*c);
			hp->keys[k].cookie = cookie;
			hp->n_keys++;
		}
		hp->pool_key[p] = (int8_t)k;
	}
}

/* Route rate limits of one listener; limits are shared out evenly: each
 * lcore enforces its part. */
void
h1_lb_route_buckets(struct sl_h1_proxy *hp, unsigned int l)
{
	const struct sl_conf_listener *cl = &hp->conf->listeners[l];
	unsigned int n_workers = RTE_MAX(hp->tcp->lc->dp->n_workers, 1u);

	for (unsigned int r = 0; r < cl->n_routes; r++) {
		const struct sl_conf_rate *rl = &cl->routes[r].rate_limit;

		if (rl->rps != 0)
			sl_lb_bucket_init(&hp->route_buckets[hp->route_base[l] + r],
					  RTE_MAX((double)rl->burst / n_workers, 1.0),
					  now_ms(hp));
	}
}

int
h1_lb_init(struct sl_h1_proxy *hp, int socket)
{
	const struct sl_conf *conf = hp->conf;

	hp->up = hp->tcp->lc->dp->up;
	hp->widx = hp->tcp->lc->worker_idx;
	hp->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)hp->tcp->lc->lcore_id << 32) ^
		  rte_rdtsc();
	if (hp->rng == 0)
		hp->rng = 1;
	hp->cursors = rte_zmalloc_socket("sl_h1_lb", (conf->pool_cap + 1) *
					 sizeof(struct sl_up_cursor), 0, socket);
	hp->pool_key = rte_zmalloc_socket("sl_h1_lb", conf->pool_cap + 1, 0, socket);
	hp->route_buckets = rte_zmalloc_socket("sl_h1_lb", (hp->n_route_hists + 1) *
					       sizeof(struct sl_lb_bucket), 0, socket);
	hp->client_buckets = rte_zmalloc_socket("sl_h1_lb", SL_H1_CLIENT_BUCKETS *
						sizeof(struct sl_h1_client_bucket),
						0, socket);
	if (hp->cursors == NULL || hp->pool_key == NULL ||
	    hp->route_buckets == NULL || hp->client_buckets == NULL)
		return -ENOMEM;
	h1_lb_keys(hp);
	for (unsigned int l = 0; l < conf->n_listeners; l++)
		h1_lb_route_buckets(hp, l);
	hp->busy_check_tsc = rte_rdtsc();
	return 0;
}

void
h1_lb_free(struct sl_h1_proxy *hp)
{
	rte_free(hp->cursors);
	rte_free(hp->pool_key);
	rte_free(hp->route_buckets);
	rte_free(hp->client_buckets);
}

/* The value of cookie `name` in a Cookie field value, or an empty slice. */
static struct sl_http_slice
cookie_value(struct sl_http_slice v, const char *name)
{
	size_t nlen = strlen(name), i = 0;
	struct sl_http_slice none = { NULL, 0 };

	while (i < v.len) {
		size_t start, end;

		while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == ';'))
			i++;
		start = i;
		while (i < v.len && v.ptr[i] != ';')
			i++;
		end = i;
		if (end - start > nlen && v.ptr[start + nlen] == '=' &&
		    memcmp(v.ptr + start, name, nlen) == 0)
			return (struct sl_http_slice){ v.ptr + start + nlen + 1,
						       end - start - nlen - 1 };
	}
	return none;
}

void
h1_lb_field(struct sl_h1_proxy *hp, struct sl_h1_xchg *x,
	    struct sl_http_slice name, struct sl_http_slice value)
{
	for (unsigned int k = 0; k < hp->n_keys; k++) {
		struct sl_http_slice v = value;

		if (hp->keys[k].cookie) {
			if (!sl_http_token_eq(name, "cookie"))
				continue;
			v = cookie_value(value, hp->keys[k].name);
			if (v.len == 0)
				continue;
		} else if (!sl_http_token_eq(name, hp->keys[k].name)) {
			continue;
		}
		x->khash[k] = sl_lb_hash(v.ptr, v.len, 0x51u) | 1;
	}
}

/* Busy share of this lcore over the last BUSY_WINDOW_MS, in percent. */
static void
busy_update(struct sl_h1_proxy *hp)
{
	const struct sl_lcore *lc = hp->tcp->lc;
	uint64_t now = rte_rdtsc();
	uint64_t busy, idle;
	unsigned int pct = hp->conf->overload.busy_pct;

	if (now - hp->busy_check_tsc < lc->dp->tsc_hz / 1000 * BUSY_WINDOW_MS)
		return;
	busy = lc->cycles.busy - hp->busy_prev;
	idle = lc->cycles.idle - hp->idle_prev;
	hp->busy_prev = lc->cycles.busy;
	hp->idle_prev = lc->cycles.idle;
	hp->busy_check_tsc = now;
	hp->shedding = pct != 0 && busy + idle > 0 &&
		       busy * 100 > (uint64_t)pct * (busy + idle);
	if (hp->up != NULL)
		SL_UP_STORE(hp->up->shedding[hp->widx], hp->shedding);
}

bool
h1_lb_shedding(struct sl_h1_proxy *hp)
{
	busy_update(hp);
	return hp->shedding;
}

static bool
client_allowed(struct sl_h1_proxy *hp, const struct sl_h1_client *cl,
	       const struct sl_conf_rate *rl, double n_workers)
{
	uint32_t h = (uint32_t)sl_lb_hash(&cl->client_ip, 4, cl->listener);
	struct sl_h1_client_bucket *b = &hp->client_buckets[h % SL_H1_CLIENT_BUCKETS];
	uint64_t now = now_ms(hp);
	double rate = rl->rps / n_workers, burst = RTE_MAX(rl->burst / n_workers, 1.0);

	/* A slot taken by another address starts over, full: lenient. */
	if (b->ip != cl->client_ip || b->listener != cl->listener ||
	    b->last_ms == 0) {
		b->ip = cl->client_ip;
		b->listener = cl->listener;
		b->tokens = burst;
		b->last_ms = now;
	}
	b->tokens = RTE_MIN(burst, b->tokens + (double)(now - b->last_ms) * rate / 1000);
	b->last_ms = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

unsigned int
h1_lb_admit(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	const struct sl_conf_listener *l = &hp->conf->listeners[x->cl->listener];
	double n_workers = RTE_MAX(hp->tcp->lc->dp->n_workers, 1u);

	if (h1_lb_shedding(hp)) {
		hp->stats.shed++;
		return 503;
	}
	if (l->client_rate_limit.rps != 0 &&
	    !client_allowed(hp, x->cl, &l->client_rate_limit, n_workers))
		return 429;
	if (x->route >= 0 && l->routes[x->route].rate_limit.rps != 0) {
		const struct sl_conf_rate *rl = &l->routes[x->route].rate_limit;

		if (!sl_lb_bucket_take(&hp->route_buckets[hp->route_base[x->cl->listener] +
							  (uint32_t)x->route],
				       rl->rps / n_workers,
				       RTE_MAX(rl->burst / n_workers, 1.0), now_ms(hp)))
			return 429;
	}
	return 0;
}

static uint64_t
request_hash(struct sl_h1_proxy *hp, const struct sl_h1_xchg *x)
{
	int k;

	if (hp->conf->pools[x->pool].policy != SL_POLICY_MAGLEV)
		return 0;
	k = hp->pool_key[x->pool];
	if (k >= 0 && x->khash[k] != 0)
		return x->khash[k];
	/* No key in the request: the client's address keeps it sticky. */
	return sl_lb_hash(&x->cl->client_ip, 4, 0x17u);
}

static void
commit(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, int b, bool probe)
{
	x->backend = (uint16_t)b;
	x->lb_flags = probe ? SL_UP_OUT_PROBE : 0;
	x->flags |= XF_LB_ACTIVE;
	x->tries++;
	sl_up_inflight(hp->up, (unsigned int)x->pool, (unsigned int)b, 1);
}

int
h1_lb_choose(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, int exclude,
	     enum sl_up_refusal *why)
{
	bool probe = false;
	int b;

	b = sl_up_pick(hp->up, hp->conf, (unsigned int)x->pool, &hp->cursors[x->pool],
		       request_hash(hp, x), &hp->rng, exclude, why, &probe);
	if (b >= 0)
		commit(hp, x, b, probe);
	return b;
}

int
h1_lb_retry_pick(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, bool *probe)
{
	/* The failed attempt still counts until it is reported: it must not
	 * stand in its own retry's way at a pool cap. */
	struct sl_up_held held = {
		.inflight = (x->flags & XF_LB_ACTIVE) ? 1 : 0,
		.pending = (x->flags & XF_PENDING) ? 1 : 0,
		.conns = x->up != NULL ? 1 : 0,
	};
	enum sl_up_retry_refusal why;
	int b;

	*probe = false;
	b = sl_up_retry_pick(hp->up, hp->conf, (unsigned int)x->pool,
			     &hp->cursors[x->pool], request_hash(hp, x), &hp->rng,
			     x->backend, &held, &why, probe);
	if (b < 0)
		hp->stats.retries_refused++;
	return b;
}

void
h1_lb_retry_refuse(struct sl_h1_proxy *hp, struct sl_h1_xchg *x,
		   enum sl_up_retry_refusal why)
{
	sl_up_retry_refused(hp->up, (unsigned int)x->pool, why);
	hp->stats.retries_refused++;
}

void
h1_lb_retry_commit(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, int b, bool probe)
{
	commit(hp, x, b, probe);
	x->flags |= XF_RETRY;
	hp->stats.retries++;
}

void
h1_lb_connected(struct sl_h1_proxy *hp, struct sl_h1_xchg *x)
{
	x->flags |= XF_UP_CONNECTED;
	if (x->flags & XF_PENDING) {
		x->flags &= ~XF_PENDING;
		sl_up_pending(hp->up, (unsigned int)x->pool, x->backend, -1);
	}
}

void
h1_lb_finish(struct sl_h1_proxy *hp, struct sl_h1_xchg *x, enum sl_up_kind kind)
{
	uint64_t per_us = hp->tcp->lc->dp->tsc_hz / 1000000;
	uint32_t lat;

	if (!(x->flags & XF_LB_ACTIVE))
		return;
	h1_lb_connected(hp, x);
	x->flags &= ~(XF_LB_ACTIVE | XF_UP_CONNECTED);
	if (x->flags & XF_RETRY) {
		x->flags &= ~XF_RETRY;
		x->lb_flags |= SL_UP_OUT_RETRY;
		sl_up_retry_end(hp->up, (unsigned int)x->pool, x->backend);
	}
	sl_up_inflight(hp->up, (unsigned int)x->pool, x->backend, -1);
	lat = x->up_start_tsc ? (uint32_t)((rte_rdtsc() - x->up_start_tsc) / per_us) : 0;
	sl_up_report(hp->up, hp->widx, (unsigned int)x->pool, x->backend, kind,
		     x->status, lat, x->lb_flags);
}

bool
h1_lb_failure_status(const struct sl_h1_proxy *hp, int pool, unsigned int status)
{
	return sl_status_set_has(&hp->conf->pools[pool].breaker.failure_statuses,
				 status);
}

void
h1_lb_conn_g(struct sl_h1_proxy *hp, uint32_t g, int delta)
{
	const struct sl_conf *conf = hp->conf;

	/* Slot ranges are disjoint and never move (sl_conf_layout_init). */
	for (unsigned int p = 0; p < conf->n_pools; p++) {
		uint32_t base = conf->pools[p].slot_base;

		if (g >= base && g < base + conf->pools[p].backend_cap) {
			sl_up_conns(hp->up, p, g - base, delta);
			return;
		}
	}
}
