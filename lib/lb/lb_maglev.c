/*
 * Weighted Maglev (Eisenbud et al., NSDI'16). Each backend walks its own
 * permutation of the table, fixed by its id alone, and claims the next
 * free slot on its turn. Weights set how often a backend gets a turn: in
 * every round the heaviest backend claims once and the others claim when
 * their accumulated credit reaches the heaviest weight, so entries end up
 * proportional to weight within one entry per backend.
 */
#include <errno.h>

#include "sl_lb.h"

#define FREE_SLOT 0xffffu
#define MAX_PROBES 32

static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

int
sl_lb_maglev_build(struct sl_lb_maglev *m, const uint32_t *weight,
		   const uint64_t *ids, unsigned int n)
{
	uint32_t offset[SL_LB_MAX_BACKENDS], skip[SL_LB_MAX_BACKENDS];
	uint32_t next[SL_LB_MAX_BACKENDS];
	uint64_t credit[SL_LB_MAX_BACKENDS];
	uint32_t size = m->size, wmax = 0, filled = 0;

	if (m->table == NULL || n > SL_LB_MAX_BACKENDS || !sl_lb_is_prime(size))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		if (weight[i] > wmax)
			wmax = weight[i];
	if (wmax == 0)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		offset[i] = (uint32_t)(mix64(ids[i] ^ 0x6d61676c65766f66ull) % size);
		skip[i] = size > 1 ?
			  (uint32_t)(mix64(ids[i] ^ 0x6d61676c6576736bull) % (size - 1)) + 1 : 1;
		next[i] = 0;
		credit[i] = 0;
	}
	for (uint32_t j = 0; j < size; j++)
		m->table[j] = FREE_SLOT;
	while (filled < size) {
		for (unsigned int i = 0; i < n && filled < size; i++) {
			uint32_t slot;

			if (weight[i] == 0)
				continue;
			credit[i] += weight[i];
			if (credit[i] < wmax)
				continue;
			credit[i] -= wmax;
			/* A prime size makes the walk visit every slot, so
			 * a free one is found while filled < size. */
			do {
				slot = (uint32_t)(((uint64_t)offset[i] +
						   (uint64_t)next[i] * skip[i]) % size);
				next[i]++;
			} while (m->table[slot] != FREE_SLOT);
			m->table[slot] = (uint16_t)i;
			filled++;
		}
	}
	return 0;
}

int
sl_lb_maglev_pick(const struct sl_lb_maglev *m, uint64_t hash,
		  const bool *eligible)
{
	uint64_t h = hash;
	uint16_t b;

	if (m->table == NULL || m->size == 0)
		return -1;
	b = m->table[hash % m->size];
	if (b == FREE_SLOT)
		return -1;
	if (eligible == NULL || eligible[b])
		return b;
	/*
	 * Re-hash the key for each probe rather than stepping by a fixed
	 * stride: a stride equal to (or a multiple of) a backend's own skip
	 * walks that backend's permutation and can find nothing but it. Each
	 * key still has a fixed fallback order, and the keys of a down
	 * backend spread over all the others.
	 */
	for (unsigned int k = 0; k < MAX_PROBES; k++) {
		h = mix64(h + 0x9e3779b97f4a7c15ull);
		b = m->table[h % m->size];
		if (b != FREE_SLOT && eligible[b])
			return b;
	}
	return -1;
}
