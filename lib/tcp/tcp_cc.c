/* Congestion control lookup and the parts every algorithm shares. */
#include <string.h>

#include "tcp_cc_private.h"

const struct sl_tcp_cc_ops *
sl_tcp_cc_find(const char *name)
{
	static const struct sl_tcp_cc_ops *const all[] = {
		&sl_tcp_newreno, &sl_tcp_cubic,
	};

	if (name == NULL)
		return NULL;
	for (unsigned int i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(name, all[i]->name) == 0)
			return all[i];
	return NULL;
}

void
tcp_cc_init_window(struct sl_tcp_cc *cc, uint32_t mss)
{
	const struct sl_tcp_cc_ops *ops = cc->ops;
	uint32_t iw = 2 * mss > 14600 ? 2 * mss : 14600;

	memset(cc, 0, sizeof(*cc));
	cc->ops = ops;
	cc->mss = mss;
	cc->cwnd = iw < 10 * mss ? iw : 10 * mss;
	cc->ssthresh = UINT32_MAX;
}

uint32_t
tcp_cc_slow_start(struct sl_tcp_cc *cc, uint32_t acked)
{
	uint32_t inc = acked < 2 * cc->mss ? acked : 2 * cc->mss;
	uint32_t room = cc->ssthresh - cc->cwnd;   /* cwnd < ssthresh here */

	if (inc < room) {
		cc->cwnd = tcp_cc_grow(cc->cwnd, inc);
		return 0;
	}
	cc->cwnd = cc->ssthresh;
	return acked - room;
}

uint32_t
tcp_cc_half_flight(const struct sl_tcp_cc *cc, uint32_t flight)
{
	return flight / 2 > 2 * cc->mss ? flight / 2 : 2 * cc->mss;
}
