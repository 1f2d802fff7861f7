/*
 * SYN cookies (RFC 4987 3.6) keyed with SipHash-2-4.
 *
 * Time is cut into periods of SL_SYNCOOKIE_PERIOD_S (the cookie's counter)
 * and rotation epochs of SL_SYNCOOKIE_ROTATE_S, 16 periods each. Every
 * epoch has its own key, drawn from a splitmix64 generator seeded at init;
 * the key of the previous epoch is kept so that a cookie made in the last
 * period before a rotation still checks in the period after it.
 */
#include <string.h>

#include "sl_tcp_proto.h"

#define PERIODS_PER_EPOCH (SL_SYNCOOKIE_ROTATE_S / SL_SYNCOOKIE_PERIOD_S)

_Static_assert(SL_SYNCOOKIE_ROTATE_S % SL_SYNCOOKIE_PERIOD_S == 0,
	       "a period must never straddle two keys");
_Static_assert(PERIODS_PER_EPOCH >= 2,
	       "a cookie's two periods may span at most one rotation");

/* ---- SipHash-2-4 ---- */

static inline uint64_t
rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static inline void
sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

/* c = 2 compression rounds per message word. */
static inline void
sip_absorb(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static inline uint64_t
load_le64(const uint8_t *p, size_t n)
{
	uint64_t m = 0;

	for (size_t j = n; j-- > 0;)
		m = (m << 8) | p[j];
	return m;
}

uint64_t
sl_siphash24(const uint64_t key[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	struct sip s = {
		.v0 = key[0] ^ 0x736f6d6570736575ull,   /* "somepseudorandomlygeneratedbytes" */
		.v1 = key[1] ^ 0x646f72616e646f6dull,
		.v2 = key[0] ^ 0x6c7967656e657261ull,
		.v3 = key[1] ^ 0x7465646279746573ull,
	};
	size_t whole = len & ~(size_t)7;

	for (size_t i = 0; i < whole; i += 8)
		sip_absorb(&s, load_le64(p + i, 8));
	/* Last word: the remaining bytes, with len mod 256 in the top byte. */
	sip_absorb(&s, load_le64(p + whole, len - whole) | (uint64_t)len << 56);
	/* d = 4 finalization rounds. */
	s.v2 ^= 0xff;
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- keys ---- */

/* splitmix64 (Steele, Lea, Flood): any seed, 0 included, is fine. */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
draw_key(struct sl_syncookie *sc, uint64_t key[2])
{
	key[0] = splitmix64(&sc->rng);
	key[1] = splitmix64(&sc->rng);
}

void
sl_syncookie_init(struct sl_syncookie *sc, uint64_t seed, uint64_t now_s)
{
	memset(sc, 0, sizeof(*sc));
	sc->rng = seed;
	draw_key(sc, sc->key[0]);
	draw_key(sc, sc->key[1]);   /* "previous": no cookie was made with it */
	sc->key_epoch = now_s / SL_SYNCOOKIE_ROTATE_S;
}

/* Move to the epoch of `now_s`, if it is a later one. */
static void
rotate(struct sl_syncookie *sc, uint64_t now_s)
{
	uint64_t epoch = now_s / SL_SYNCOOKIE_ROTATE_S;

	if (epoch <= sc->key_epoch)
		return;
	if (epoch == sc->key_epoch + 1) {
		memcpy(sc->key[1], sc->key[0], sizeof(sc->key[0]));
	} else {
		/* A whole epoch went by unused: nothing made with either
		 * key can still be valid, so neither is worth keeping. */
		draw_key(sc, sc->key[1]);
	}
	draw_key(sc, sc->key[0]);
	sc->key_epoch = epoch;
}

/* The key a cookie of period `count` was made with, or NULL. */
static const uint64_t *
key_of(const struct sl_syncookie *sc, uint64_t count)
{
	uint64_t epoch = count / PERIODS_PER_EPOCH;

	if (epoch == sc->key_epoch)
		return sc->key[0];
	if (epoch + 1 == sc->key_epoch)
		return sc->key[1];
	return NULL;
}

/* ---- cookies ---- */

static const uint16_t mss_table[8] = {
	536, 1024, 1220, 1360, 1440, 1452, 1460, 8960
};

static unsigned int
mss_index(uint16_t mss)
{
	unsigned int i = 7;

	while (i > 0 && mss_table[i] > mss)
		i--;
	return i;
}

uint16_t
sl_syncookie_mss_clamp(uint16_t mss)
{
	return mss_table[mss_index(mss)];
}

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* 24 bits of SipHash over 21 bytes: two message words and the tail. */
static uint32_t
cookie_mac(const uint64_t key[2], uint32_t saddr, uint32_t daddr,
	   uint16_t sport, uint16_t dport, uint32_t client_isn,
	   uint64_t count, unsigned int mss_idx)
{
	uint8_t m[21];

	put_le32(m, saddr);
	put_le32(m + 4, daddr);
	put_le32(m + 8, (uint32_t)sport | (uint32_t)dport << 16);
	put_le32(m + 12, client_isn);
	put_le32(m + 16, (uint32_t)count);
	m[20] = (uint8_t)mss_idx;
	return (uint32_t)sl_siphash24(key, m, sizeof(m)) & 0xffffff;
}

uint32_t
sl_syncookie_make(struct sl_syncookie *sc, uint32_t saddr, uint32_t daddr,
		  uint16_t sport, uint16_t dport, uint32_t client_isn,
		  uint16_t mss, uint64_t now_s)
{
	uint64_t count = now_s / SL_SYNCOOKIE_PERIOD_S;
	unsigned int idx = mss_index(mss);
	const uint64_t *key;

	rotate(sc, now_s);
	key = key_of(sc, count);
	if (key == NULL)
		key = sc->key[0];   /* clock went back an epoch: will not check */
	return (uint32_t)(count & 31) << 27 | (uint32_t)idx << 24 |
	       cookie_mac(key, saddr, daddr, sport, dport, client_isn, count, idx);
}

int
sl_syncookie_check(struct sl_syncookie *sc, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, uint32_t client_isn,
		   uint32_t cookie, uint64_t now_s, uint16_t *mss)
{
	uint64_t now_count = now_s / SL_SYNCOOKIE_PERIOD_S;
	unsigned int idx = (cookie >> 24) & 7;

	rotate(sc, now_s);
	/*
	 * The cookie carries its period mod 32; of the two full counters we
	 * accept (this period and the last), at most one can match it, and
	 * that counter is what the MAC covers.
	 */
	for (uint64_t back = 0; back < 2 && back <= now_count; back++) {
		uint64_t count = now_count - back;
		const uint64_t *key;

		if ((count & 31) != cookie >> 27)
			continue;
		key = key_of(sc, count);
		if (key != NULL &&
		    cookie_mac(key, saddr, daddr, sport, dport, client_isn,
			       count, idx) == (cookie & 0xffffff)) {
			*mss = mss_table[idx];
			return 0;
		}
	}
	return -1;
}

uint32_t
sl_syncookie_ts_encode(uint32_t ts_now, bool ws_ok, uint8_t wscale, bool sack)
{
	uint32_t bits = ws_ok ? (wscale > SL_TCP_MAX_WSCALE ?
				 SL_TCP_MAX_WSCALE : wscale) : 0xf;
	uint32_t ts = (ts_now & ~0x1fu) | bits | (sack ? 0x10u : 0);

	/*
	 * Never ahead of our clock: the peer keeps this TSval as TS.Recent
	 * and would PAWS-drop our next segments, stamped with the clock,
	 * if it were larger. Trailing by up to 31 ticks is harmless.
	 */
	if (ts > ts_now)
		ts -= 32;
	return ts;
}

void
sl_syncookie_ts_decode(uint32_t tsecr, bool *ws_ok, uint8_t *wscale, bool *sack)
{
	uint8_t ws = tsecr & 0xf;

	*ws_ok = ws != 0xf;
	*wscale = *ws_ok ? ws : 0;
	*sack = (tsecr & 0x10) != 0;
}
