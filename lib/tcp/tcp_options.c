/* TCP options: strict parsing and building (RFC 9293 3.2, 7323, 2018). */
#include <string.h>

#include <rte_byteorder.h>

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
	while (i < len) {
		uint8_t kind = opt[i], olen;

		if (kind == SL_TCP_OPT_EOL)
			break;
		if (kind == SL_TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		olen = opt[i + 1];
		if (olen < 2 || i + olen > len)
			return -1;
		switch (kind) {
		case SL_TCP_OPT_MSS:
			if (olen != 4)
				return -1;
			if (syn) {
				o->mss_ok = true;
				o->mss = (uint16_t)((opt[i + 2] << 8) | opt[i + 3]);
			}
			break;
		case SL_TCP_OPT_WS:
			if (olen != 3)
				return -1;
			if (syn) {
				o->ws_ok = true;
				o->wscale = opt[i + 2] > SL_TCP_MAX_WSCALE ?
					SL_TCP_MAX_WSCALE : opt[i + 2];
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
			o->tsval = get32(opt + i + 2);
			o->tsecr = get32(opt + i + 6);
			break;
		case SL_TCP_OPT_SACK:
			if (olen < 10 || (olen - 2) % 8 != 0 ||
			    (olen - 2) / 8 > SL_TCP_MAX_SACK_BLOCKS)
				return -1;
			if (!syn) {
				o->n_sack = (uint8_t)((olen - 2) / 8);
				for (unsigned int b = 0; b < o->n_sack; b++) {
					o->sack[b].start = get32(opt + i + 2 + 8 * b);
					o->sack[b].end = get32(opt + i + 6 + 8 * b);
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

static unsigned int
pad4(uint8_t *buf, unsigned int n)
{
	while (n % 4)
		buf[n++] = SL_TCP_OPT_NOP;
	return n;
}

unsigned int
sl_tcp_opts_build_syn(uint8_t *buf, const struct sl_tcp_opts *o)
{
	unsigned int n = 0;

	buf[n++] = SL_TCP_OPT_MSS;
	buf[n++] = 4;
	buf[n++] = (uint8_t)(o->mss >> 8);
	buf[n++] = (uint8_t)o->mss;
	if (o->sack_perm && o->ts_ok) {
		buf[n++] = SL_TCP_OPT_SACK_PERM;
		buf[n++] = 2;
	} else if (o->sack_perm) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_SACK_PERM;
		buf[n++] = 2;
	} else if (o->ts_ok) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_NOP;
	}
	if (o->ts_ok) {
		buf[n++] = SL_TCP_OPT_TS;
		buf[n++] = 10;
		put32(buf + n, o->tsval);
		put32(buf + n + 4, o->tsecr);
		n += 8;
	}
	if (o->ws_ok) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_WS;
		buf[n++] = 3;
		buf[n++] = o->wscale > SL_TCP_MAX_WSCALE ? SL_TCP_MAX_WSCALE : o->wscale;
	}
	return pad4(buf, n);
}

unsigned int
sl_tcp_opts_build(uint8_t *buf, bool ts, uint32_t tsval, uint32_t tsecr,
		  const struct sl_tcp_sack_block *blocks, unsigned int nb)
{
	unsigned int n = 0, max = ts ? 3 : 4;

	if (ts) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_TS;
		buf[n++] = 10;
		put32(buf + n, tsval);
		put32(buf + n + 4, tsecr);
		n += 8;
	}
	if (nb > max)
		nb = max;
	if (nb > 0) {
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_NOP;
		buf[n++] = SL_TCP_OPT_SACK;
		buf[n++] = (uint8_t)(2 + 8 * nb);
		for (unsigned int b = 0; b < nb; b++) {
			put32(buf + n, blocks[b].start);
			put32(buf + n + 4, blocks[b].end);
			n += 8;
		}
	}
	return pad4(buf, n);
}
