/*
 * Unfinished request heads (the slowloris defence). A client whose head
 * is still incomplete after a scan is on the lcore's slow-head list,
 * oldest first, and counted per client address: when the header buffers
 * run short the oldest unfinished heads are closed (408) rather than new
 * clients refused, and one address gets at most its share of them.
 */
#include <rte_hash_crc.h>

#include "sl_conf.h"
#include "sl_core.h"
#include "sl_session.h"
#include "proxy_http_private.h"

#define SLOW_ADDR_PROBES 16

static inline uint32_t
cl_index(const struct sl_h1_client *cl)
{
	return (uint32_t)(cl - cl->hp->clients);
}

/* The slot counting ip's unfinished heads; claim a free one if `claim`. */
static struct sl_h1_addr_count *
slow_addr_slot(struct sl_h1_proxy *hp, uint32_t ip, bool claim)
{
	uint32_t h = rte_hash_crc_4byte(ip, hp->slow_addr_seed);
	struct sl_h1_addr_count *free_slot = NULL;

	for (uint32_t i = 0; i < SLOW_ADDR_PROBES; i++) {
		struct sl_h1_addr_count *a = &hp->slow_addrs[(h + i) & hp->slow_addr_mask];

		if (a->n > 0 && a->ip == ip)
			return a;
		if (a->n == 0 && free_slot == NULL)
			free_slot = a;
	}
	if (claim && free_slot != NULL)
		free_slot->ip = ip;
	return claim ? free_slot : NULL;
}

/* cl is on the list (CL_SLOW): unlink it; h1_slow_leave tests the flag. */
void
h1_slow_unlink(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;

	if (cl->slow_prev != SLOW_NONE)
		hp->clients[cl->slow_prev].slow_next = cl->slow_next;
	else
		hp->slow_first = cl->slow_next;
	if (cl->slow_next != SLOW_NONE)
		hp->clients[cl->slow_next].slow_prev = cl->slow_prev;
	else
		hp->slow_last = cl->slow_prev;
	hp->n_slow--;
	hp->slow_mbufs -= cl->slow_mbufs;
	cl->slow_mbufs = 0;
	if (cl->flags & CL_ADDR) {
		struct sl_h1_addr_count *a = slow_addr_slot(hp, cl->client_ip, false);

		if (a != NULL)
			a->n--;
	}
	cl->flags &= (uint8_t)~(CL_SLOW | CL_ADDR);
}

static uint32_t
slow_head_budget(const struct sl_h1_proxy *hp)
{
	return hp->conf->http.slow_head_mbufs ? hp->conf->http.slow_head_mbufs :
	       hp->conf->memory.mbufs / 4;
}

/* Onto the slow list; false when cl's address is over its share (closed). */
static bool
slow_enter(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;
	uint32_t cap = hp->conf->http.max_slow_heads_per_client;
	uint32_t i = cl_index(cl);

	cl->flags |= CL_SLOW;
	cl->slow_next = SLOW_NONE;
	cl->slow_prev = hp->slow_last;
	if (hp->slow_last != SLOW_NONE)
		hp->clients[hp->slow_last].slow_next = i;
	else
		hp->slow_first = i;
	hp->slow_last = i;
	hp->n_slow++;
	if (cap > 0) {
		struct sl_h1_addr_count *a = slow_addr_slot(hp, cl->client_ip, true);

		if (a == NULL) {
			hp->stats.slow_addr_untracked++;
		} else if (a->n >= cap) {
			/* This address already has its share of
			 * unfinished heads: the newest one goes. */
			hp->stats.slow_heads_per_client++;
			h1_client_error(cl, 408);
			return false;
		} else {
			a->n++;
			cl->flags |= CL_ADDR;
		}
	}
	return true;
}

bool
h1_slow_track(struct sl_h1_client *cl)
{
	struct sl_h1_proxy *hp = cl->hp;
	const struct sl_session *c = cl->conn;
	uint32_t held = cl->pending.n + sl_session_rx_held_mbufs(c);

	if (!(cl->flags & CL_SLOW) && !slow_enter(cl))
		return false;
	held = RTE_MIN(held, (uint32_t)UINT16_MAX);
	hp->slow_mbufs += held - cl->slow_mbufs;
	cl->slow_mbufs = (uint16_t)held;
	/* Short of header buffers: the oldest unfinished heads go first. */
	while (hp->slow_mbufs > slow_head_budget(hp) && hp->slow_first != SLOW_NONE) {
		struct sl_h1_client *old = &hp->clients[hp->slow_first];

		hp->stats.slow_heads_evicted++;
		h1_client_error(old, 408);
		if (old == cl)
			return false;
	}
	return true;
}
