#ifndef SL_TCP_PROTO_H
#define SL_TCP_PROTO_H

/*
 * Pure TCP building blocks with no connection state and no EAL: sequence
 * arithmetic, options, the SACK scoreboard, SYN cookies and congestion
 * control. Each is unit-tested on its own (tests/unit/test_tcp_*.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- sequence space (RFC 793 / 1982 serial arithmetic) ---- */

static inline bool sl_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool sl_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool sl_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool sl_seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t sl_seq_max(uint32_t a, uint32_t b) { return sl_seq_gt(a, b) ? a : b; }
static inline uint32_t sl_seq_min(uint32_t a, uint32_t b) { return sl_seq_lt(a, b) ? a : b; }
/* a <= x < b in sequence space */
static inline bool sl_seq_in(uint32_t x, uint32_t a, uint32_t b)
{
	return sl_seq_ge(x, a) && sl_seq_lt(x, b);
}

/* ---- options (RFC 9293 3.2, RFC 7323, RFC 2018) ---- */

#define SL_TCP_OPT_EOL        0
#define SL_TCP_OPT_NOP        1
#define SL_TCP_OPT_MSS        2
#define SL_TCP_OPT_WS         3
#define SL_TCP_OPT_SACK_PERM  4
#define SL_TCP_OPT_SACK       5
#define SL_TCP_OPT_TS         8

#define SL_TCP_MAX_SACK_BLOCKS 4   /* most that fit in 40 bytes of options */
#define SL_TCP_MAX_WSCALE      14
#define SL_TCP_OPT_MAX_LEN     40

struct sl_tcp_sack_block {
	uint32_t start;              /* first sequence number in the block */
	uint32_t end;                /* one past the last */
};

struct sl_tcp_opts {
	bool mss_ok, ws_ok, sack_perm, ts_ok;
	uint16_t mss;
	uint8_t wscale;              /* clamped to SL_TCP_MAX_WSCALE (RFC 7323 2.3) */
	uint32_t tsval, tsecr;
	uint8_t n_sack;
	struct sl_tcp_sack_block sack[SL_TCP_MAX_SACK_BLOCKS];
};

/*
 * Parse `len` bytes of options. MSS, WS and SACK-permitted are honoured only
 * when `syn` is set (RFC 9293, RFC 7323); SACK blocks only when it is not.
 * Returns 0, or -1 when an option's length is malformed or runs past the end.
 * Unknown options are skipped by their length.
 */
int
sl_tcp_opts_parse(const uint8_t *opt, unsigned int len, bool syn,
		  struct sl_tcp_opts *out);

/*
 * Write options for a SYN or SYN-ACK: MSS always; SACK-permitted, timestamps
 * (tsval, tsecr) and window scale when the matching *_ok/sack_perm flag is
 * set. Padded with NOPs to a multiple of 4. Returns the length (<= 40).
 */
unsigned int
sl_tcp_opts_build_syn(uint8_t *buf, const struct sl_tcp_opts *o);

/*
 * Write options for a non-SYN segment: timestamps when `ts`, then up to `n`
 * SACK blocks (as many as fit, at most 3 with timestamps, 4 without).
 * NOP-padded to a multiple of 4. Returns the length.
 */
unsigned int
sl_tcp_opts_build(uint8_t *buf, bool ts, uint32_t tsval, uint32_t tsecr,
		  const struct sl_tcp_sack_block *blocks, unsigned int n);

/* ---- SACK scoreboard: what the peer told us it holds above snd_una ---- */

#define SL_TCP_SB_MAX 8

struct sl_tcp_scoreboard {
	uint8_t n;                   /* disjoint, sorted, merged blocks */
	struct sl_tcp_sack_block b[SL_TCP_SB_MAX];
	uint32_t sacked_bytes;       /* total bytes covered by b[] */
};

static inline void
sl_tcp_sb_clear(struct sl_tcp_scoreboard *sb)
{
	sb->n = 0;
	sb->sacked_bytes = 0;
}

/*
 * Merge SACK blocks received with an ACK. Blocks outside (snd_una, snd_nxt]
 * are ignored (RFC 2018: stale or bogus; D-SACK below snd_una). Blocks below
 * the new snd_una are trimmed away. When more than SL_TCP_SB_MAX disjoint
 * blocks would result, the highest ones are dropped (conservative: we may
 * retransmit data the peer holds, never skip data it lacks).
 * Returns the number of newly SACKed bytes.
 */
uint32_t
sl_tcp_sb_update(struct sl_tcp_scoreboard *sb, uint32_t snd_una,
		 uint32_t snd_nxt, const struct sl_tcp_sack_block *blocks,
		 unsigned int n);

/*
 * The first hole at or after `from` (>= snd_una) that lies below the highest
 * SACKed byte: [*start, *end). Returns false when there is none (nothing
 * SACKed, or `from` is past the last hole).
 */
bool
sl_tcp_sb_next_hole(const struct sl_tcp_scoreboard *sb, uint32_t snd_una,
		    uint32_t from, uint32_t *start, uint32_t *end);

/* Is sequence number `seq` covered by a SACK block? */
bool
sl_tcp_sb_is_sacked(const struct sl_tcp_scoreboard *sb, uint32_t seq);

/* ---- SYN cookies (RFC 4987 section 3.6) ---- */

/*
 * Keyed with SipHash-2-4. The secret rotates: a cookie is valid for the
 * current and the previous period of SL_SYNCOOKIE_PERIOD_S seconds, and
 * a new random key is drawn every SL_SYNCOOKIE_ROTATE_S.
 * Layout of the 32-bit ISN: [31:27] period counter mod 32, [26:24] MSS
 * index into a fixed table, [23:0] hash of (4-tuple, client ISN, full
 * counter, MSS index). Keys belong to rotation epochs of 16 periods, so a
 * cookie's counter names the one key that can have made it.
 *
 * The state is changed by make and check (lazy rotation): keep one per
 * lcore and make sure the ACK of a handshake reaches the lcore that made
 * its cookie (symmetric RSS), or share one under a lock.
 */
#define SL_SYNCOOKIE_PERIOD_S  64
#define SL_SYNCOOKIE_ROTATE_S  (SL_SYNCOOKIE_PERIOD_S * 16)

struct sl_syncookie {
	uint64_t key[2][2];          /* [current, previous] SipHash keys */
	uint64_t key_epoch;          /* rotation index the current key belongs to */
	uint64_t rng;                /* state of the key generator */
};

/*
 * SipHash-2-4 (Aumasson, Bernstein) of `len` bytes. key[0] and key[1] are
 * the key's bytes 0-7 and 8-15 read little-endian, as in the reference.
 */
uint64_t
sl_siphash24(const uint64_t key[2], const void *data, size_t len);

/* Seed (e.g. from rte_rand()) and the current time in seconds. */
void
sl_syncookie_init(struct sl_syncookie *sc, uint64_t seed, uint64_t now_s);

/*
 * Largest table MSS <= `mss`: what the cookie can promise to remember.
 * Below the smallest entry (536, the RFC 9293 default) it returns 536.
 */
uint16_t
sl_syncookie_mss_clamp(uint16_t mss);

/* Our ISN for a SYN (addresses and ports in host byte order). */
uint32_t
sl_syncookie_make(struct sl_syncookie *sc, uint32_t saddr, uint32_t daddr,
		  uint16_t sport, uint16_t dport, uint32_t client_isn,
		  uint16_t mss, uint64_t now_s);

/*
 * Check the ACK completing a cookie handshake: `client_isn` is seq - 1,
 * `cookie` is ack - 1. Returns 0 and the MSS, or -1 (forged or expired).
 */
int
sl_syncookie_check(struct sl_syncookie *sc, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, uint32_t client_isn,
		   uint32_t cookie, uint64_t now_s, uint16_t *mss);

/*
 * Window scale and SACK-permitted survive a cookie handshake in the low
 * 5 bits of our TSval (as Linux does): encode into a timestamp clock value,
 * decode from the TSecr the client echoes. wscale 0xf means "no WS"; a
 * wscale above 14 is sent as 14. The TSval never runs ahead of ts_now: it
 * may trail it by up to 31 ticks, so the peer's PAWS accepts what follows.
 */
uint32_t
sl_syncookie_ts_encode(uint32_t ts_now, bool ws_ok, uint8_t wscale, bool sack);

void
sl_syncookie_ts_decode(uint32_t tsecr, bool *ws_ok, uint8_t *wscale, bool *sack);

/* ---- congestion control: an ops table, NewReno and CUBIC ---- */

struct sl_tcp_cc {
	const struct sl_tcp_cc_ops *ops;
	uint32_t cwnd;               /* bytes */
	uint32_t ssthresh;           /* bytes */
	uint32_t mss;
	uint32_t bytes_acked;        /* RFC 3465 appropriate byte counting */
	/* CUBIC (RFC 9438) state; unused by NewReno. */
	uint64_t epoch_start_us;
	uint32_t w_max;              /* bytes, before the last reduction */
	uint32_t w_last_max;
	uint32_t w_est;              /* Reno-friendly estimate, bytes */
	double k;                    /* seconds */
};

struct sl_tcp_cc_ops {
	const char *name;
	/* Initial window per RFC 5681/6928: min(10*mss, max(2*mss, 14600)). */
	void (*init)(struct sl_tcp_cc *cc, uint32_t mss);
	/* New data acknowledged outside loss recovery. */
	void (*on_ack)(struct sl_tcp_cc *cc, uint32_t acked, uint32_t flight,
		       uint32_t srtt_us, uint64_t now_us);
	/* Entering fast recovery (3 dupacks / SACK loss): set ssthresh and cwnd. */
	void (*on_loss)(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us);
	/* Retransmission timeout: ssthresh from flight, cwnd to one MSS. */
	void (*on_rto)(struct sl_tcp_cc *cc, uint32_t flight, uint64_t now_us);
	/* Leaving fast recovery (full ACK): deflate cwnd to ssthresh. */
	void (*on_recovered)(struct sl_tcp_cc *cc, uint64_t now_us);
};

extern const struct sl_tcp_cc_ops sl_tcp_newreno;
extern const struct sl_tcp_cc_ops sl_tcp_cubic;

/* "newreno" or "cubic"; NULL for anything else. */
const struct sl_tcp_cc_ops *
sl_tcp_cc_find(const char *name);

#endif
