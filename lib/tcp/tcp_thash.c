/*
 * Source-port choice for ports with Toeplitz RSS: see sl_tcp_thash.h for
 * the idea, docs/architecture.md ("Ports with Toeplitz RSS") for its place.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_thash.h>

#include "sl_tcp_thash.h"

/* Bit offset of the destination port in the IPv4 4-tuple as hashed. */
#define THASH_DPORT_END 96

struct sl_tcp_thash {
	struct rte_thash_ctx *ctx;
	struct rte_thash_subtuple_helper *helper;
	uint32_t key_len;
	uint32_t reta_size;
	uint32_t mask;               /* reta_size - 1: the hash bits that count */
	uint16_t n_queues;
	bool reta_set;
	uint16_t *reta;              /* copy of what the NIC was given */
	uint32_t *qoff;              /* queue q's RETA indices: qidx[qoff[q]..qoff[q+1]) */
	uint16_t *qidx;
	uint32_t key[];              /* copy of the key; rte_softrss reads words */
};

struct sl_tcp_thash *
sl_tcp_thash_create(const char *name, const uint8_t *key, uint32_t key_len,
		    uint32_t reta_size, uint16_t n_queues)
{
	uint32_t log = 0, key_words = (key_len + 3) / 4;
	struct sl_tcp_thash *t;
	uint8_t *seed = NULL;
	size_t sz;
	int rc;

	if (name == NULL || key_len < 16 || n_queues == 0 ||
	    !rte_is_power_of_2(reta_size) ||
	    reta_size < (1u << RTE_THASH_RETA_SZ_MIN) ||
	    reta_size > (1u << RTE_THASH_RETA_SZ_MAX)) {
		rte_errno = EINVAL;
		return NULL;
	}
	while ((1u << log) < reta_size)
		log++;
	sz = sizeof(*t) + key_words * 4 + reta_size * 2 * sizeof(uint16_t) +
	     ((size_t)n_queues + 1) * sizeof(uint32_t);
	t = rte_zmalloc("sl_tcp_thash", sz, RTE_CACHE_LINE_SIZE);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->key_len = key_len;
	t->reta_size = reta_size;
	t->mask = reta_size - 1;
	t->n_queues = n_queues;
	t->qoff = (uint32_t *)&t->key[key_words];
	t->reta = (uint16_t *)&t->qoff[n_queues + 1];
	t->qidx = &t->reta[reta_size];

	/* rte_thash_init_ctx wants a writable key even though it copies it. */
	if (key != NULL) {
		seed = (uint8_t *)t->key;
		memcpy(seed, key, key_len);
	}
	t->ctx = rte_thash_init_ctx(name, key_len, log, seed, RTE_THASH_MINIMAL_SEQ);
	if (t->ctx == NULL) {
		rc = rte_errno;
		rte_free(t);
		rte_errno = rc;
		return NULL;
	}
	/*
	 * Only the low `log` bits of the port are ever changed, so the helper
	 * spans just those. RTE_THASH_MINIMAL_SEQ rewrites the 2*log-1 key
	 * bits they meet and leaves the rest of the seed key as it was.
	 */
	rc = rte_thash_add_helper(t->ctx, "sl_dport", log, THASH_DPORT_END - log);
	t->helper = rc == 0 ? rte_thash_get_helper(t->ctx, "sl_dport") : NULL;
	if (t->helper == NULL) {
		rte_thash_free_ctx(t->ctx);
		rte_free(t);
		rte_errno = rc < 0 ? -rc : ENOENT;
		return NULL;
	}
	memcpy(t->key, rte_thash_get_key(t->ctx), key_len);
	return t;
}

const uint8_t *
sl_tcp_thash_key(const struct sl_tcp_thash *t, uint32_t *key_len)
{
	*key_len = t->key_len;
	return (const uint8_t *)t->key;
}

uint32_t
sl_tcp_thash_reta_size(const struct sl_tcp_thash *t)
{
	return t->reta_size;
}

void
sl_tcp_thash_reta_round_robin(const struct sl_tcp_thash *t, uint16_t *reta)
{
	for (uint32_t i = 0; i < t->reta_size; i++)
		reta[i] = (uint16_t)(i % t->n_queues);
}

int
sl_tcp_thash_set_reta(struct sl_tcp_thash *t, const uint16_t *reta)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i < t->reta_size; i++)
		if (reta[i] >= t->n_queues)
			return -EINVAL;
	memcpy(t->reta, reta, t->reta_size * sizeof(*reta));
	/* Counting sort: each queue's entries together, in index order. */
	memset(t->qoff, 0, ((size_t)t->n_queues + 1) * sizeof(*t->qoff));
	for (uint32_t i = 0; i < t->reta_size; i++)
		t->qoff[reta[i]]++;
	for (uint32_t q = 0; q <= t->n_queues; q++) {
		uint32_t n = q < t->n_queues ? t->qoff[q] : 0;

		t->qoff[q] = sum;
		sum += n;
	}
	for (uint32_t i = 0; i < t->reta_size; i++)
		t->qidx[t->qoff[reta[i]]++] = (uint16_t)i;
	/* Each qoff[q] now holds the end of q: shift back to the starts. */
	for (uint32_t q = t->n_queues; q > 0; q--)
		t->qoff[q] = t->qoff[q - 1];
	t->qoff[0] = 0;
	t->reta_set = true;
	return 0;
}

/* Toeplitz over the 4-tuple as the NIC reads it (rte_softrss: host order). */
static inline uint32_t
reply_hash(const struct sl_tcp_thash *t, uint32_t saddr, uint32_t daddr,
	   uint16_t sport, uint16_t dport)
{
	struct rte_ipv4_tuple tup = {
		.src_addr = saddr, .dst_addr = daddr, .sport = sport, .dport = dport,
	};

	return rte_softrss((uint32_t *)&tup, RTE_THASH_V4_L4_LEN,
			   (const uint8_t *)t->key);
}

uint16_t
sl_tcp_thash_queue(const struct sl_tcp_thash *t, uint32_t saddr,
		   uint32_t daddr, uint16_t sport, uint16_t dport)
{
	return t->reta[reply_hash(t, saddr, daddr, sport, dport) & t->mask];
}

/*
 * Ports are visited in aligned groups of reta_size: within a group only
 * the low bits differ, so one hash of the group's first port gives, through
 * the complement table, the one port of the group per RETA entry of
 * `queue`. rte_thash_adjust_tuple() is not used: it aims at one RETA entry
 * and wraps within the helper's bits, where we need every entry of a queue
 * and a range [lo, hi] that is not aligned.
 */
int
sl_tcp_thash_pick(const struct sl_tcp_thash *t, uint32_t saddr,
		  uint32_t daddr, uint16_t sport, uint16_t queue, uint16_t hint,
		  uint16_t lo, uint16_t hi, uint16_t *out)
{
	uint32_t p = hint, left = (uint32_t)hi - lo + 1;

	if (!t->reta_set || queue >= t->n_queues || lo > hi)
		return -EINVAL;
	if (t->qoff[queue] == t->qoff[queue + 1])
		return -ENOENT;
	if (p < lo || p > hi)
		p = lo;
	while (left > 0) {
		uint32_t base = p & ~t->mask;
		uint32_t end = RTE_MIN(base + t->mask, (uint32_t)hi);
		uint32_t h = reply_hash(t, saddr, daddr, sport, (uint16_t)base);
		uint32_t best = UINT32_MAX;

		for (uint32_t k = t->qoff[queue]; k < t->qoff[queue + 1]; k++) {
			uint32_t c = base | rte_thash_get_complement(t->helper, h,
								     t->qidx[k]);

			if (c >= p && c <= end && c < best)
				best = c;
		}
		if (best != UINT32_MAX) {
			*out = (uint16_t)best;
			return 0;
		}
		left -= RTE_MIN(left, end - p + 1);
		p = end == hi ? lo : end + 1;
	}
	return -ENOENT;
}

void
sl_tcp_thash_free(struct sl_tcp_thash *t)
{
	if (t == NULL)
		return;
	rte_thash_free_ctx(t->ctx);
	rte_free(t);
}
