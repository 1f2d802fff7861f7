/*
 * SYN cookies (RFC 4987 3.6) keyed with SipHash-2-4. The key rotates every
 * SL_SYNCOOKIE_ROTATE_S; the previous key stays valid so that a cookie made
 * just before a rotation still checks within its two periods.
 */
#include <string.h>

#include "sl_tcp_proto.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

/* SipHash-2-4 of `len` bytes under a 128-bit key (k0 low, k1 high). */
uint64_t sl_siphash24(const uint64_t k[2], const void *data, size_t len);

uint64_t
sl_siphash24(const uint64_t k[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ k[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ k[0];
	uint64_t v3 = 0x7465646279746573ull ^ k[1];
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | p[i + j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static const uint16_t mss_table[8] = {
	536, 1024, 1220, 1360, 1440, 1452, 1460, 8960
};

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
new_key(struct sl_syncookie *sc)
{
	sc->key[1][0] = sc->key[0][0];
	sc->key[1][1] = sc->key[0][1];
	sc->key[0][0] = splitmix(&sc->rng);
	sc->key[0][1] = splitmix(&sc->rng);
}

void
sl_syncookie_init(struct sl_syncookie *sc, uint64_t seed, uint64_t now_s)
{
	memset(sc, 0, sizeof(*sc));
	sc->rng = seed;
	new_key(sc);
	new_key(sc);
	sc->key_epoch = now_s / SL_SYNCOOKIE_ROTATE_S;
}

/* Rotate lazily as time crosses into new epochs. */
static void
rotate(struct sl_syncookie *sc, uint64_t now_s)
{
	uint64_t epoch = now_s / SL_SYNCOOKIE_ROTATE_S;

	if (epoch == sc->key_epoch)
		return;
	new_key(sc);
	if (epoch > sc->key_epoch + 1)
		new_key(sc);   /* long silence: neither old key is in use */
	sc->key_epoch = epoch;
}

uint16_t
sl_syncookie_mss_clamp(uint16_t mss)
{
	for (int i = 7; i >= 0; i--)
		if (mss_table[i] <= mss)
			return mss_table[i];
	return mss_table[0];
}

static uint32_t
cookie_hash(const uint64_t key[2], uint32_t saddr, uint32_t daddr,
	    uint16_t sport, uint16_t dport, uint32_t isn, uint64_t count)
{
	uint8_t msg[24];

	memcpy(msg, &saddr, 4);
	memcpy(msg + 4, &daddr, 4);
	memcpy(msg + 8, &sport, 2);
	memcpy(msg + 10, &dport, 2);
	memcpy(msg + 12, &isn, 4);
	memcpy(msg + 16, &count, 8);
	return (uint32_t)sl_siphash24(key, msg, sizeof(msg)) & 0xffffff;
}

uint32_t
sl_syncookie_make(struct sl_syncookie *sc, uint32_t saddr, uint32_t daddr,
		  uint16_t sport, uint16_t dport, uint32_t client_isn,
		  uint16_t mss, uint64_t now_s)
{
	uint64_t count = now_s / SL_SYNCOOKIE_PERIOD_S;
	uint32_t idx = 0;

	rotate(sc, now_s);
	for (uint32_t i = 0; i < 8; i++)
		if (mss_table[i] <= mss)
			idx = i;
	return ((uint32_t)(count & 31) << 27) | (idx << 24) |
	       cookie_hash(sc->key[0], saddr, daddr, sport, dport, client_isn, count);
}

int
sl_syncookie_check(struct sl_syncookie *sc, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, uint32_t client_isn,
		   uint32_t cookie, uint64_t now_s, uint16_t *mss)
{
	uint64_t now_count = now_s / SL_SYNCOOKIE_PERIOD_S;

	rotate(sc, now_s);
	/* The cookie names its period mod 32; accept this one or the last. */
	for (uint64_t back = 0; back < 2 && back <= now_count; back++) {
		uint64_t count = now_count - back;

		if ((count & 31) != cookie >> 27)
			continue;
		for (int k = 0; k < 2; k++)
			if (cookie_hash(sc->key[k], saddr, daddr, sport, dport,
					client_isn, count) == (cookie & 0xffffff)) {
				*mss = mss_table[(cookie >> 24) & 7];
				return 0;
			}
	}
	return -1;
}

uint32_t
sl_syncookie_ts_encode(uint32_t ts_now, bool ws_ok, uint8_t wscale, bool sack)
{
	uint32_t bits = (ws_ok ? (wscale & 0xf) : 0xf) | (sack ? 0x10 : 0);
	uint32_t ts = (ts_now & ~0x1fu) | bits;

	/* Never run ahead of the clock: the peer's PAWS would notice. */
	if (ts > ts_now)
		ts -= 32;
	return ts;
}

void
sl_syncookie_ts_decode(uint32_t tsecr, bool *ws_ok, uint8_t *wscale, bool *sack)
{
	*ws_ok = (tsecr & 0xf) != 0xf;
	*wscale = *ws_ok ? (uint8_t)(tsecr & 0xf) : 0;
	*sack = tsecr & 0x10;
}
