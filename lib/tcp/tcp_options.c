/*
 * TCP options: strict parsing and building (RFC 9293 3.2, RFC 7323,
 * RFC 2018). Works on the caller's bytes, allocates nothing, never reads
 * past `len`.
 */
#include <string.h>

#include "sl_tcp_proto.h"

static inline uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
sl_tcp_opts_parse(const uint8_t *opt, unsigned int len, bool syn,
		  struct sl_tcp_opts *o)
{
	unsigned int i = 0;

	memset(o, 0, sizeof(*o));
	/* Nearly every segment after the handshake (from Linux, and from us)
	 * carries NOP, NOP, timestamps and nothing else: the loop below would
	 * give the same. */
	if (len == 12 && opt[0] == SL_TCP_OPT_NOP && opt[1] == SL_TCP_OPT_NOP &&
	    opt[2] == SL_TCP_OPT_TS && opt[3] == 10) {
		o->ts_ok = true;
		o->tsval = get32(opt + 4);
		o->tsecr = get32(opt + 8);
		return 0;
	}
	while (i < len) {
		const uint8_t *p = opt + i;
		unsigned int olen, nb;

		if (p[0] == SL_TCP_OPT_EOL)
			break;
		if (p[0] == SL_TCP_OPT_NOP) {
			i++;
			continue;
		}
		/* Every other option has a length byte, counting kind and length. */
		if (len - i < 2)
			return -1;
		olen = p[1];
		if (olen < 2 || olen > len - i)
			return -1;
		switch (p[0]) {
		case SL_TCP_OPT_MSS:
			if (olen != 4)
				return -1;
			if (syn) {
				o->mss_ok = true;
				o->mss = (uint16_t)((p[2] << 8) | p[3]);
			}
			break;
		case SL_TCP_OPT_WS:
			if (olen != 3)
				return -1;
			if (syn) {
				o->ws_ok = true;
				o->wscale = p[2] > SL_TCP_MAX_WSCALE ?
					SL_TCP_MAX_WSCALE : p[2];
			}
			break;
		case SL_TCP_OPT_SACK_PERM:
			if (olen != 2)
				return -1;
			if (syn)
				o->sack_perm = true;
			break;
		case SL_TCP_OPT_TS:
			if (olen != 10)
				return -1;
			o->ts_ok = true;
			o->tsval = get32(p + 2);
			o->tsecr = get32(p + 6);
			break;
		case SL_TCP_OPT_SACK:
			nb = (olen - 2) / 8;
			if ((olen - 2) % 8 != 0 || nb < 1 || nb > SL_TCP_MAX_SACK_BLOCKS)
				return -1;
			if (!syn) {
				o->n_sack = (uint8_t)nb;
				for (unsigned int b = 0; b < nb; b++) {
					o->sack[b].start = get32(p + 2 + 8 * b);
					o->sack[b].end = get32(p + 6 + 8 * b);
				}
			}
			break;
		default:
			break;   /* unknown: skipped by its length */
		}
		i += olen;
	}
	return 0;
}

static inline unsigned int
put_ts(uint8_t *p, uint32_t tsval, uint32_t tsecr)
{
	p[0] = SL_TCP_OPT_TS;
	p[1] = 10;
	put32(p + 2, tsval);
	put32(p + 6, tsecr);
	return 10;
}

static inline unsigned int
pad4(uint8_t *buf, unsigned int n)
{
	while (n % 4)
		buf[n++] = SL_TCP_OPT_NOP;
	return n;
}

/*
 * Linux's layout, which middleboxes know: MSS, then SACK-permitted folded
 * into the two bytes of padding in front of the timestamps, then NOP + WS.
 * At most 4 + 12 + 4 = 20 bytes, always a multiple of 4.
 */
unsigned int
sl_tcp_opts_build_syn(uint8_t *buf, const struct sl_tcp_opts *o)
{
	unsigned int n = 0;

	buf[n++] = SL_TCP_OPT_MSS;
	buf[n++] = 4;
	buf[n++] = (uint8_t)(o->mss >> 8);
	buf[n++] = (uint8_t)o->mss;
	if (o->ts_ok) {
		if (o->sack_perm) {
			buf[n++] = SL_TCP_OPT_SACK_PERM;
			buf[n++] = 2;
		} else {
			buf[n++] = SL_TCP_OPT_NOP;
			buf[n++] = SL_TCP_OPT_NOP;
		}
		n += put_ts(buf + n, o->tsval, o->tsecr);
	} else if (o->sack_perm) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_SACK_PERM;
		buf[n++] = 2;
	}
	if (o->ws_ok) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_WS;
		buf[n++] = 3;
		buf[n++] = o->wscale > SL_TCP_MAX_WSCALE ?
			SL_TCP_MAX_WSCALE : o->wscale;
	}
	return pad4(buf, n);
}

/* NOP NOP TS (12 bytes), then NOP NOP SACK with 8 bytes a block: <= 40. */
unsigned int
sl_tcp_opts_build(uint8_t *buf, bool ts, uint32_t tsval, uint32_t tsecr,
		  const struct sl_tcp_sack_block *blocks, unsigned int nb)
{
	unsigned int n = 0, max = ts ? 3 : SL_TCP_MAX_SACK_BLOCKS;

	if (ts) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_NOP;
		n += put_ts(buf + n, tsval, tsecr);
	}
	if (nb > max)
		nb = max;
	if (nb > 0) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_SACK;
		buf[n++] = (uint8_t)(2 + 8 * nb);
		for (unsigned int b = 0; b < nb; b++, n += 8) {
			put32(buf + n, blocks[b].start);
			put32(buf + n + 4, blocks[b].end);
		}
	}
	return pad4(buf, n);
}
