/*
 * Per-request backend choice (round robin, random, least request) and the
 * small per-request gates: slow start, retry budget, token bucket.
 */
#include "sl_lb.h"

static inline unsigned int
clamp_n(unsigned int n)
{
	return n > SL_LB_MAX_BACKENDS ? SL_LB_MAX_BACKENDS : n;
}

int
sl_lb_swrr_pick(struct sl_lb_swrr *s, const uint32_t *weight, unsigned int n)
{
	int64_t total = 0;
	int best = -1;

	n = clamp_n(n);
	for (unsigned int i = 0; i < n; i++) {
		if (weight[i] == 0) {
			/* Stale credit would make it burst when it returns. */
			s->current[i] = 0;
			continue;
		}
		s->current[i] += weight[i];
		total += weight[i];
		if (best < 0 || s->current[i] > s->current[best])
			best = (int)i;
	}
	if (best >= 0)
		s->current[best] -= total;
	return best;
}

uint64_t
sl_lb_rand(uint64_t *state)
{
	uint64_t x = *state;

	if (x == 0)
		x = 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform enough in [0, bound): bound < 2^41, so the modulo bias is
 * below 2^-23. */
static inline uint64_t
rand_below(uint64_t *rng, uint64_t bound)
{
	return sl_lb_rand(rng) % bound;
}

/* Weighted draw among weight > 0, skipping `skip`; total is their sum. */
static int
weighted_draw(const uint32_t *weight, unsigned int n, uint64_t total, int skip,
	      uint64_t *rng)
{
	uint64_t r = rand_below(rng, total);

	for (unsigned int i = 0; i < n; i++) {
		if ((int)i == skip || weight[i] == 0)
			continue;
		if (r < weight[i])
			return (int)i;
		r -= weight[i];
	}
	return -1;  /* not reached while total is the sum of the others */
}

static uint64_t
weight_sum(const uint32_t *weight, unsigned int n, unsigned int *eligible)
{
	uint64_t total = 0;

	*eligible = 0;
	for (unsigned int i = 0; i < n; i++)
		if (weight[i] > 0) {
			total += weight[i];
			(*eligible)++;
		}
	return total;
}

int
sl_lb_random_pick(const uint32_t *weight, unsigned int n, uint64_t *rng)
{
	unsigned int eligible;
	uint64_t total;

	n = clamp_n(n);
	total = weight_sum(weight, n, &eligible);
	if (total == 0)
		return -1;
	return weighted_draw(weight, n, total, -1, rng);
}

unsigned int
sl_lb_p2c_draw(const uint32_t *weight, unsigned int n, uint64_t *rng,
	       int *first, int *second)
{
	unsigned int eligible;
	uint64_t total;

	n = clamp_n(n);
	*first = *second = -1;
	total = weight_sum(weight, n, &eligible);
	if (eligible == 0)
		return 0;
	if (eligible == 1) {
		for (unsigned int i = 0; i < n; i++)
			if (weight[i] > 0)
				*first = (int)i;
		return 1;
	}
	*first = weighted_draw(weight, n, total, -1, rng);
	*second = weighted_draw(weight, n, total - weight[*first], *first, rng);
	return 2;
}

int
sl_lb_p2c_pick(const uint32_t *weight, const uint32_t *inflight, unsigned int n,
	       uint64_t *rng)
{
	uint64_t la, lb;
	int a, b;

	if (sl_lb_p2c_draw(weight, n, rng, &a, &b) < 2)
		return a;
	/* inflight[a]/weight[a] < inflight[b]/weight[b], without division. */
	la = (uint64_t)inflight[a] * weight[b];
	lb = (uint64_t)inflight[b] * weight[a];
	if (la != lb)
		return la < lb ? a : b;
	return inflight[b] < inflight[a] ? b : a;
}

uint64_t
sl_lb_hash(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ (seed * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	/* FNV alone mixes the last bytes poorly into the high bits. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

bool
sl_lb_is_prime(uint32_t x)
{
	if (x < 2)
		return false;
	if (x % 2 == 0)
		return x == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= x; d += 2)
		if (x % d == 0)
			return false;
	return true;
}

uint32_t
sl_lb_slow_start_weight(uint32_t weight, uint64_t since_ms, uint64_t now_ms,
			uint32_t window_ms, uint32_t min_pct)
{
	uint64_t low, elapsed;

	if (weight == 0 || window_ms == 0 || since_ms == 0)
		return weight;
	elapsed = now_ms > since_ms ? now_ms - since_ms : 0;
	if (elapsed >= window_ms)
		return weight;
	if (min_pct > 100)
		min_pct = 100;
	low = (uint64_t)weight * min_pct / 100;
	if (low < 1)
		low = 1;
	return (uint32_t)(low + (weight - low) * elapsed / window_ms);
}

bool
sl_lb_budget_allows(const struct sl_lb_budget_conf *c, uint32_t active_requests,
		    uint32_t active_retries)
{
	uint64_t allowed = (uint64_t)active_requests * c->budget_pct / 100;

	if (allowed < c->min_concurrency)
		allowed = c->min_concurrency;
	return active_retries < allowed;
}

void
sl_lb_bucket_init(struct sl_lb_bucket *b, double burst, uint64_t now_ms)
{
	b->tokens = burst;
	b->last_ms = now_ms;
}

bool
sl_lb_bucket_take(struct sl_lb_bucket *b, double rate, double burst,
		  uint64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
		b->last_ms = now_ms;
	}
	if (b->tokens > burst)
		b->tokens = burst;
	/* Refills in small steps sum to 0.999...: do not lose that token. */
	if (b->tokens < 1.0 - 1e-9)
		return false;
	b->tokens -= 1.0;
	return true;
}
