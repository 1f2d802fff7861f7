#ifndef SL_SESSION_TYPES_H
#define SL_SESSION_TYPES_H

/* The session layer's types (functions: sl_session.h). */
#include <stdint.h>

#include "sl_tcp_types.h"

struct rte_mbuf;

struct sl_session;   /* opaque: a TCP connection seen through this layer */

enum sl_session_close {
	SL_SESSION_CLOSE_NORMAL = SL_TCP_CLOSE_NORMAL,   /* both sides done */
	SL_SESSION_CLOSE_RESET = SL_TCP_CLOSE_RESET,     /* the peer reset */
	SL_SESSION_CLOSE_REFUSED = SL_TCP_CLOSE_REFUSED, /* connect refused */
	SL_SESSION_CLOSE_TIMEOUT = SL_TCP_CLOSE_TIMEOUT, /* connect or rtx timeout */
};

struct sl_session_ops {
	void (*established)(struct sl_session *ss, void *app);
	void (*readable)(struct sl_session *ss, void *app);  /* bytes, or EOF */
	void (*writable)(struct sl_session *ss, void *app);  /* asked for, room again */
	void (*closed)(struct sl_session *ss, void *app, enum sl_session_close why);
};

/*
 * A transform between TCP and the application. Its callbacks get the
 * session and its own context. It reads TCP's bytes with
 * sl_session_lower_recv() and writes them with sl_session_lower_send(),
 * and hands the application its bytes through the queue that rxq()
 * returns (sl_session_peek/consume/recv read it) and sl_session_app_*()
 * events. send() receives what the application writes (ownership of the
 * mbuf passes); it returns 0, or -1 when the session can no longer send.
 */
struct sl_session_layer {
	const char *name;
	void (*established)(struct sl_session *ss, void *ctx);
	void (*readable)(struct sl_session *ss, void *ctx);
	void (*writable)(struct sl_session *ss, void *ctx);
	void (*closed)(struct sl_session *ss, void *ctx, enum sl_session_close why);
	int (*send)(struct sl_session *ss, void *ctx, struct rte_mbuf *m);
	struct sl_mq *(*rxq)(struct sl_session *ss, void *ctx);
};

/* A listening application: accept(ss, arg) binds the session (0) or
 * refuses it (-1, the peer gets RST). The caller owns the storage. */
struct sl_session_listener {
	int (*accept)(struct sl_session *ss, void *arg);
	void *arg;
};

#endif
