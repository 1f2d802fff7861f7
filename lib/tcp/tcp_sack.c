/*
 * The sender's SACK scoreboard (RFC 2018, RFC 6675 in spirit). Blocks are
 * kept sorted in sequence space relative to snd_una, so every comparison
 * is a serial-number one and the board works across the 2^32 wrap.
 */
#include <string.h>

#include "sl_tcp_proto.h"

static uint32_t
board_bytes(const struct sl_tcp_sack_block *b, unsigned int n)
{
	uint32_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += b[i].end - b[i].start;
	return sum;
}

/* Bytes covered by both sorted, disjoint lists (a two-finger sweep). */
static uint32_t
overlap_bytes(const struct sl_tcp_sack_block *a, unsigned int na,
	      const struct sl_tcp_sack_block *b, unsigned int nb)
{
	unsigned int i = 0, j = 0;
	uint32_t sum = 0;

	while (i < na && j < nb) {
		uint32_t s = sl_seq_max(a[i].start, b[j].start);
		uint32_t e = sl_seq_min(a[i].end, b[j].end);

		if (sl_seq_lt(s, e))
			sum += e - s;
		if (sl_seq_lt(a[i].end, b[j].end))
			i++;
		else
			j++;
	}
	return sum;
}

/*
 * Insert [start, end), merging every block it overlaps or touches, keeping
 * the array sorted. Past SL_TCP_SB_MAX the highest block goes: we may then
 * resend what the peer holds, but never skip what it lacks.
 */
static void
insert(struct sl_tcp_scoreboard *sb, uint32_t start, uint32_t end)
{
	struct sl_tcp_sack_block out[SL_TCP_SB_MAX + 1];
	unsigned int n = 0, i = 0;

	while (i < sb->n && sl_seq_lt(sb->b[i].end, start))
		out[n++] = sb->b[i++];
	while (i < sb->n && sl_seq_le(sb->b[i].start, end)) {
		start = sl_seq_min(start, sb->b[i].start);
		end = sl_seq_max(end, sb->b[i].end);
		i++;
	}
	out[n++] = (struct sl_tcp_sack_block){ start, end };
	while (i < sb->n && n < SL_TCP_SB_MAX)
		out[n++] = sb->b[i++];
	if (n > SL_TCP_SB_MAX)
		n = SL_TCP_SB_MAX;
	memcpy(sb->b, out, n * sizeof(out[0]));
	sb->n = (uint8_t)n;
}

uint32_t
sl_tcp_sb_update(struct sl_tcp_scoreboard *sb, uint32_t snd_una,
		 uint32_t snd_nxt, const struct sl_tcp_sack_block *blocks,
		 unsigned int n)
{
	struct sl_tcp_sack_block old[SL_TCP_SB_MAX];
	unsigned int k = 0, n_old;

	/* What the cumulative ACK now covers is no longer the board's. */
	for (unsigned int i = 0; i < sb->n; i++) {
		struct sl_tcp_sack_block b = sb->b[i];

		if (sl_seq_le(b.end, snd_una))
			continue;
		if (sl_seq_lt(b.start, snd_una))
			b.start = snd_una;
		sb->b[k++] = b;
	}
	sb->n = (uint8_t)k;
	sb->sacked_bytes = board_bytes(sb->b, k);
	if (n == 0)
		return 0;
	n_old = k;
	memcpy(old, sb->b, k * sizeof(old[0]));

	for (unsigned int i = 0; i < n; i++) {
		uint32_t s = blocks[i].start, e = blocks[i].end;

		/* Empty or inverted, D-SACK or stale, or beyond what was sent. */
		if (!sl_seq_lt(s, e) || sl_seq_le(e, snd_una) ||
		    sl_seq_gt(e, snd_nxt))
			continue;
		if (sl_seq_lt(s, snd_una))
			s = snd_una;
		insert(sb, s, e);
	}
	sb->sacked_bytes = board_bytes(sb->b, sb->n);
	/* New = now on the board and not before (evictions do not count). */
	return sb->sacked_bytes - overlap_bytes(sb->b, sb->n, old, n_old);
}

bool
sl_tcp_sb_next_hole(const struct sl_tcp_scoreboard *sb, uint32_t snd_una,
		    uint32_t from, uint32_t *start, uint32_t *end)
{
	uint32_t cur = sl_seq_max(from, snd_una);

	for (unsigned int i = 0; i < sb->n; i++) {
		if (sl_seq_lt(cur, sb->b[i].start)) {
			*start = cur;
			*end = sb->b[i].start;
			return true;
		}
		if (sl_seq_lt(cur, sb->b[i].end))
			cur = sb->b[i].end;
	}
	return false;
}

bool
sl_tcp_sb_is_sacked(const struct sl_tcp_scoreboard *sb, uint32_t seq)
{
	for (unsigned int i = 0; i < sb->n; i++)
		if (sl_seq_in(seq, sb->b[i].start, sb->b[i].end))
			return true;
	return false;
}
