#ifndef SL_PROXY_H
#define SL_PROXY_H

/*
 * The L4 proxy ("mode": "tcp"): every accepted client connection is spliced
 * to a backend connection of the listener's pool, chosen round robin. Bytes
 * move as mbufs from one connection's receive queue to the other's send
 * queue; when the send queue passes its high watermark, reading stops and
 * the receive window closes, so memory per session stays bounded.
 */

#include "sl_lcore_types.h"
#include "sl_proxy_types.h"

/* The L4 proxy's slot on each lcore: sl_proxy_create() attaches it to its
 * TCP stack's lcore, sl_proxy_free() takes it back. */
extern struct sl_lcore_module sl_proxy_module;

/* The lcore's L4 proxy, NULL if none. */
static inline struct sl_proxy *
sl_proxy_of(const struct sl_lcore *lc)
{
	return lc->mod[sl_proxy_module.id];
}

/* Create the proxy of one lcore and register its tcp-mode listeners. */
struct sl_proxy *
sl_proxy_create(struct sl_tcp_stack *tcp, const struct sl_conf *conf, int socket);

/*
 * Take a reloaded config, on the worker. Sessions in flight keep their
 * backend connections; new ones use the new listeners' pools and settings.
 */
void
sl_proxy_adopt(struct sl_proxy *px, const struct sl_conf *conf);

void
sl_proxy_free(struct sl_proxy *px);

extern const char *const sl_proxy_stat_names[];
extern const unsigned int sl_proxy_n_stats;

#endif
