/*
 * Idle connections (--idle-conns): opened in a window of --idle-window SYNs
 * at a time, then held silent until the run ends. One 4-tuple per
 * connection needs more than one target port beyond ~64k connections from
 * one address, so slot i goes to target_port + i % --idle-ports.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "sl_lcore.h"
#include "sl_session.h"
#include "lg.h"

static const struct sl_session_ops idle_ops;

static void
i_established(struct sl_session *ss, void *app)
{
	struct lg_iconn *ic = app;
	struct lg_idle *id = ic->id;

	(void)ss;
	ic->up = true;
	id->connecting--;
	id->st.established++;
}

/* Nothing is expected; what comes (an error page, a FIN) is counted. */
static void
i_readable(struct sl_session *ss, void *app)
{
	struct lg_iconn *ic = app;
	struct lg_idle *id = ic->id;
	struct sl_mq q;
	struct rte_mbuf *m;

	sl_session_recv(ss, UINT32_MAX, &q);
	while ((m = sl_mq_pop(&q)) != NULL) {
		id->st.bytes_in += rte_pktmbuf_data_len(m);
		rte_pktmbuf_free(m);
	}
	if (sl_session_eof(ss) && !id->closing) {
		id->st.closed++;
		sl_session_shutdown(ss);
	}
}

static void
i_closed(struct sl_session *ss, void *app, enum sl_session_close why)
{
	struct lg_iconn *ic = app;
	struct lg_idle *id = ic->id;

	(void)ss;
	if (!ic->up) {
		id->connecting--;
		id->st.failed++;
		if (why == SL_SESSION_CLOSE_REFUSED)
			id->st.refused++;
		else
			id->st.timed_out++;
	} else if (!id->closing && why != SL_SESSION_CLOSE_NORMAL) {
		id->st.closed++;   /* reset or timed out while idle */
	}
	ic->ss = NULL;
	id->open--;
}

/* Nothing is ever written: no writable(). */
static const struct sl_session_ops idle_ops = {
	.established = i_established,
	.readable = i_readable,
	.closed = i_closed,
};

int
lg_idle_init(struct lg_idle *id, struct sl_lcore *lc, const struct lg_opts *o)
{
	memset(id, 0, sizeof(*id));
	id->lc = lc;
	id->o = o;
	id->n = o->idle_conns;
	id->conns = calloc(id->n, sizeof(*id->conns));
	if (id->conns == NULL)
		return -1;
	for (uint32_t i = 0; i < id->n; i++)
		id->conns[i].id = id;
	return 0;
}

void
lg_idle_free(struct lg_idle *id)
{
	free(id->conns);
	id->conns = NULL;
	id->n = 0;
}

bool
lg_idle_open_more(struct lg_idle *id, uint64_t now)
{
	const struct lg_opts *o = id->o;

	if (id->next == 0)
		id->start_tsc = now;
	while (id->next < id->n && id->connecting < o->idle_window) {
		struct lg_iconn *ic = &id->conns[id->next];
		uint16_t port = (uint16_t)(o->target_port + id->next % o->idle_ports);

		id->next++;
		ic->ss = sl_session_connect(sl_tcp_of(id->lc), o->target_addr, port,
					    o->connect_timeout_ms, &idle_ops, ic);
		if (ic->ss == NULL) {
			id->st.failed++;
			id->st.no_slot++;
			continue;
		}
		ic->up = false;
		id->st.connects++;
		id->connecting++;
		id->open++;
	}
	if (id->next < id->n || id->connecting > 0)
		return false;
	if (id->done_tsc == 0)
		id->done_tsc = now;
	return true;
}

/* Close slot i: FIN if established, else RST (no callback). */
static void
close_one(struct lg_idle *id, uint32_t i, bool abort)
{
	struct sl_session *ss = id->conns[i].ss;

	if (ss == NULL)
		return;
	if (abort || !id->conns[i].up) {
		id->conns[i].ss = NULL;
		id->open--;
		if (!id->conns[i].up)
			id->connecting--;
		sl_session_abort(ss);   /* no callback */
	} else if (sl_session_can_send(ss)) {
		sl_session_shutdown(ss);   /* not twice: a FIN already queued stays */
	}
}

bool
lg_idle_close_more(struct lg_idle *id)
{
	/* A window's worth per call, as they were opened: a million FINs in
	 * one turn would overflow the TX ring, and the lost ones leave the
	 * gateway holding connections until its timeouts. */
	uint32_t budget = id->o != NULL ? id->o->idle_window : 0;

	id->closing = true;
	while (id->close_next < id->n && budget > 0) {
		if (id->conns[id->close_next].ss != NULL)
			budget--;
		close_one(id, id->close_next++, false);
	}
	return id->close_next >= id->n;
}

void
lg_idle_close_all(struct lg_idle *id, bool abort)
{
	id->closing = true;
	for (uint32_t i = 0; i < id->n; i++)
		close_one(id, i, abort);
	id->close_next = id->n;
}
