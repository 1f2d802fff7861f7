/*
 * The HTTP side of a graceful drain (docs/operations.md, "Graceful stop"):
 * once the worker has seen the drain, every response carries
 * Connection: close and its connection closes after it (proxy_http.c),
 * and connections waiting for a request are given a short while to send
 * it. The TCP stack refuses new connections meanwhile (sl_tcp_drain).
 * Runs on the worker; nothing here is on the per-packet path.
 */
#include "proxy_http_private.h"
#include "sl_session.h"
#include "sl_timer.h"

/* Bytes of a next request already here (or being scanned)? */
static bool
drain_client_has_input(const struct sl_h1_client *cl)
{
	return cl->scan.bytes > 0 || cl->pending.n > 0 || sl_session_rx_mbufs(cl->conn) > 0;
}

void
sl_h1_drain(struct sl_h1_proxy *hp)
{
	if (hp->draining)
		return;
	hp->draining = true;
	for (uint32_t i = 0; i < hp->max_clients; i++) {
		struct sl_h1_client *cl = &hp->clients[i];

		/* Free slots have no conn; an exchange finishes with close;
		 * a head being received keeps its header timeout. */
		if (cl->conn == NULL || cl->x != NULL || (cl->flags & CL_CLOSING) ||
		    drain_client_has_input(cl))
			continue;
		/* The client timer closes an idle connection (counted there). */
		sl_timer_arm(&hp->tcp->wheel, &cl->timer, SL_H1_DRAIN_IDLE_MS);
	}
}

/*
 * The drain was called off: exchanges from now on keep their connection
 * and idle ones get the full idle timeout again. A client the drain
 * already told to close (an idle one's short timer, a response sent with
 * Connection: close) still closes; it reconnects to a gateway that
 * accepts again.
 */
void
sl_h1_undrain(struct sl_h1_proxy *hp)
{
	hp->draining = false;
}

uint32_t
sl_h1_drain_left(const struct sl_h1_proxy *hp)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < hp->max_clients; i++) {
		const struct sl_h1_client *cl = &hp->clients[i];

		if (cl->conn == NULL)
			continue;
		if (cl->x != NULL || !(cl->flags & CL_CLOSING) ||
		    sl_session_unsent(cl->conn) > 0)
			n++;
	}
	return n;
}
