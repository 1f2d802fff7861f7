/* The sender's SACK scoreboard (RFC 2018, RFC 6675 in spirit). */
#include <string.h>

#include "sl_tcp_proto.h"

static void
recount(struct sl_tcp_scoreboard *sb)
{
	sb->sacked_bytes = 0;
	for (unsigned int i = 0; i < sb->n; i++)
		sb->sacked_bytes += sb->b[i].end - sb->b[i].start;
}

/* Insert one block, keeping the array sorted, disjoint and merged. */
static void
insert(struct sl_tcp_scoreboard *sb, uint32_t start, uint32_t end)
{
	struct sl_tcp_sack_block out[SL_TCP_SB_MAX + 1];
	unsigned int n = 0, i = 0;

	/* Blocks wholly before the new one. */
	while (i < sb->n && sl_seq_lt(sb->b[i].end, start))
		out[n++] = sb->b[i++];
	/* Merge every block that touches or overlaps it. */
	while (i < sb->n && sl_seq_le(sb->b[i].start, end)) {
		start = sl_seq_min(start, sb->b[i].start);
		end = sl_seq_max(end, sb->b[i].end);
		i++;
	}
	out[n++] = (struct sl_tcp_sack_block){ start, end };
	while (i < sb->n && n <= SL_TCP_SB_MAX)
		out[n++] = sb->b[i++];
	/* Too many: forget the highest (we may resend, never skip). */
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
	uint32_t before;
	unsigned int k = 0;

	/* Trim what snd_una has passed. */
	for (unsigned int i = 0; i < sb->n; i++) {
		struct sl_tcp_sack_block b = sb->b[i];

		if (sl_seq_le(b.end, snd_una))
			continue;
		if (sl_seq_lt(b.start, snd_una))
			b.start = snd_una;
		sb->b[k++] = b;
	}
	sb->n = (uint8_t)k;
	recount(sb);
	before = sb->sacked_bytes;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t s = blocks[i].start, e = blocks[i].end;

		/* Bogus, stale (D-SACK) or beyond what we sent: ignore. */
		if (!sl_seq_lt(s, e) || sl_seq_le(e, snd_una) || sl_seq_gt(e, snd_nxt))
			continue;
		if (sl_seq_lt(s, snd_una))
			s = snd_una;
		insert(sb, s, e);
	}
	recount(sb);
	return sb->sacked_bytes > before ? sb->sacked_bytes - before : 0;
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
