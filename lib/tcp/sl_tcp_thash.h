#ifndef SL_TCP_THASH_H
#define SL_TCP_THASH_H

/*
 * Source ports whose replies hash to a chosen RX queue.
 *
 * A port with Toeplitz RSS and a settable key and RETA sends the reply of
 * an upstream connection (src = backend, dst = us, sport = backend port,
 * dport = our source port) to RETA[toeplitz(key, tuple) & (reta_size - 1)].
 * Toeplitz is linear over GF(2), so flipping the low log2(reta_size) bits of
 * our source port moves the RETA index by a fixed bijection that depends on
 * the key only. rte_thash rewrites the few key bits those port bits meet
 * with an m-sequence that makes the bijection invertible, and gives its
 * inverse as a table (rte_thash_get_complement()).
 *
 * The key therefore comes from here: create the context first, program
 * sl_tcp_thash_key() and a RETA into the NIC, then give the same RETA to
 * sl_tcp_thash_set_reta(). All addresses and ports are in host order.
 *
 * Create, set_reta and free run on the control path before the workers
 * start or after they stop. queue and pick only read the object, so every
 * worker may call them at once.
 */

#include <stdint.h>

struct sl_tcp_thash;

/*
 * A context for a RETA of `reta_size` entries (a power of two, 4 to 65536)
 * spread over `n_queues` queues, with a key of `key_len` bytes (at least 16,
 * the IPv4 4-tuple needs 127 key bits). `key` seeds it (NULL: random); the
 * bits the low source-port bits meet are replaced. `name` must be unique in
 * the process (rte_thash keeps contexts in a shared list).
 * NULL with rte_errno set (EINVAL, EEXIST, ENOMEM) on failure.
 */
struct sl_tcp_thash *
sl_tcp_thash_create(const char *name, const uint8_t *key, uint32_t key_len,
		    uint32_t reta_size, uint16_t n_queues);

/* The key to program into the NIC: key_len bytes, in the NIC's byte order. */
const uint8_t *
sl_tcp_thash_key(const struct sl_tcp_thash *t, uint32_t *key_len);

uint32_t
sl_tcp_thash_reta_size(const struct sl_tcp_thash *t);

/*
 * Take a copy of the RETA programmed into the NIC: reta_size entries, each
 * below n_queues. Returns 0, or -EINVAL (an entry out of range).
 */
int
sl_tcp_thash_set_reta(struct sl_tcp_thash *t, const uint16_t *reta);

/* Fill `reta` (reta_size entries) round-robin: entry i -> queue i % n_queues. */
void
sl_tcp_thash_reta_round_robin(const struct sl_tcp_thash *t, uint16_t *reta);

/* The queue the NIC picks for the packet saddr:sport -> daddr:dport. */
uint16_t
sl_tcp_thash_queue(const struct sl_tcp_thash *t, uint32_t saddr,
		   uint32_t daddr, uint16_t sport, uint16_t dport);

/*
 * For an upstream connection to saddr:sport (the backend) from daddr (our
 * port's address): the first port p, going up from `hint` and wrapping
 * within [lo, hi], such that the reply saddr:sport -> daddr:p reaches
 * `queue`. 0 with *out = p, or -ENOENT when no port of [lo, hi] does (the
 * block is too narrow, or the queue has no RETA entry), -EINVAL on bad
 * arguments. It does not look at which ports are in use: a caller whose
 * candidate is taken asks again from p + 1.
 * Cost: one Toeplitz hash per 2^log2(reta_size) ports crossed, plus one
 * table read per RETA entry of `queue`; no allocation.
 */
int
sl_tcp_thash_pick(const struct sl_tcp_thash *t, uint32_t saddr,
		  uint32_t daddr, uint16_t sport, uint16_t queue, uint16_t hint,
		  uint16_t lo, uint16_t hi, uint16_t *out);

void
sl_tcp_thash_free(struct sl_tcp_thash *t);

#endif
