/*
 * Circuit breaker: CLOSED counts failures (a run, and a rate over a sliding
 * window of SL_BREAKER_BUCKETS buckets); OPEN refuses for a cooldown that
 * doubles on every failed probe; HALF_OPEN lets a few probes through and
 * the first result decides.
 */
#include <string.h>

#include "sl_breaker.h"

static void
clear_window(struct sl_breaker *b, uint64_t now_ms)
{
	memset(b->req, 0, sizeof(b->req));
	memset(b->fail, 0, sizeof(b->fail));
	b->cur = 0;
	b->bucket_start_ms = now_ms;
}

static void
rotate(struct sl_breaker *b, const struct sl_breaker_conf *c, uint64_t now_ms)
{
	uint64_t bucket_ms = c->window_ms / SL_BREAKER_BUCKETS, steps;

	if (c->window_ms == 0)
		return;  /* no window: count since the breaker last closed */
	if (bucket_ms == 0)
		bucket_ms = 1;
	if (now_ms < b->bucket_start_ms + bucket_ms)
		return;
	steps = (now_ms - b->bucket_start_ms) / bucket_ms;
	b->bucket_start_ms += steps * bucket_ms;
	if (steps >= SL_BREAKER_BUCKETS) {
		memset(b->req, 0, sizeof(b->req));
		memset(b->fail, 0, sizeof(b->fail));
		return;
	}
	while (steps-- > 0) {
		b->cur = (b->cur + 1) % SL_BREAKER_BUCKETS;
		b->req[b->cur] = 0;
		b->fail[b->cur] = 0;
	}
}

static void
go_closed(struct sl_breaker *b, const struct sl_breaker_conf *c, uint64_t now_ms)
{
	b->state = SL_BREAKER_CLOSED;
	b->consecutive = 0;
	b->reopenings = 0;
	b->cooldown_cur_ms = c->cooldown_ms;
	b->probes_left = 0;
	b->probes_out = 0;
	clear_window(b, now_ms);
}

static void
go_open(struct sl_breaker *b, uint64_t now_ms)
{
	b->state = SL_BREAKER_OPEN;
	b->opened_ms = now_ms;
	b->probes_left = 0;
	b->probes_out = 0;
	b->opens++;
}

void
sl_breaker_init(struct sl_breaker *b, const struct sl_breaker_conf *c,
		uint64_t now_ms)
{
	memset(b, 0, sizeof(*b));
	go_closed(b, c, now_ms);
}

enum sl_breaker_event
sl_breaker_tick(struct sl_breaker *b, const struct sl_breaker_conf *c,
		uint64_t now_ms)
{
	if (b->state != SL_BREAKER_OPEN ||
	    now_ms < b->opened_ms + b->cooldown_cur_ms)
		return SL_BREAKER_EV_NONE;
	b->state = SL_BREAKER_HALF_OPEN;
	/* With no probe at all it could never close again. */
	b->probes_left = c->half_open_probes ? c->half_open_probes : 1;
	b->probes_out = 0;
	return SL_BREAKER_EV_HALF_OPENED;
}

bool
sl_breaker_allow(struct sl_breaker *b)
{
	switch (b->state) {
	case SL_BREAKER_CLOSED:
		return true;
	case SL_BREAKER_HALF_OPEN:
		if (b->probes_left == 0)
			return false;
		b->probes_left--;
		b->probes_out++;
		return true;
	default:
		return false;
	}
}

static bool
rate_trips(const struct sl_breaker *b, const struct sl_breaker_conf *c)
{
	uint64_t req = 0, fail = 0;

	if (c->error_rate_pct == 0)
		return false;
	for (unsigned int k = 0; k < SL_BREAKER_BUCKETS; k++) {
		req += b->req[k];
		fail += b->fail[k];
	}
	return req > 0 && req >= c->min_requests &&
	       fail * 100 > (uint64_t)c->error_rate_pct * req;
}

enum sl_breaker_event
sl_breaker_result(struct sl_breaker *b, const struct sl_breaker_conf *c,
		  bool failure, uint64_t now_ms)
{
	uint64_t next;

	switch (b->state) {
	case SL_BREAKER_CLOSED:
		rotate(b, c, now_ms);
		b->req[b->cur]++;
		if (!failure) {
			b->consecutive = 0;
			return SL_BREAKER_EV_NONE;
		}
		b->fail[b->cur]++;
		b->consecutive++;
		if ((c->consecutive_failures != 0 &&
		     b->consecutive >= c->consecutive_failures) ||
		    rate_trips(b, c)) {
			go_open(b, now_ms);
			return SL_BREAKER_EV_OPENED;
		}
		return SL_BREAKER_EV_NONE;
	case SL_BREAKER_HALF_OPEN:
		if (!failure) {
			go_closed(b, c, now_ms);
			return SL_BREAKER_EV_CLOSED;
		}
		b->reopenings++;
		next = (uint64_t)b->cooldown_cur_ms * 2;
		if (c->cooldown_max_ms < c->cooldown_ms)
			next = c->cooldown_ms;
		else if (next > c->cooldown_max_ms)
			next = c->cooldown_max_ms;
		b->cooldown_cur_ms = (uint32_t)next;
		go_open(b, now_ms);
		return SL_BREAKER_EV_REOPENED;
	default:
		return SL_BREAKER_EV_NONE;
	}
}

void
sl_breaker_force_open(struct sl_breaker *b, const struct sl_breaker_conf *c,
		      uint64_t now_ms)
{
	(void)c;
	go_open(b, now_ms);
}

void
sl_breaker_reset(struct sl_breaker *b, const struct sl_breaker_conf *c,
		 uint64_t now_ms)
{
	go_closed(b, c, now_ms);
}

const char *
sl_breaker_state_name(enum sl_breaker_state s)
{
	switch (s) {
	case SL_BREAKER_CLOSED:
		return "closed";
	case SL_BREAKER_OPEN:
		return "open";
	case SL_BREAKER_HALF_OPEN:
		return "half_open";
	}
	return "unknown";
}
