#ifndef SL_TEST_POISON_POOL_H
#define SL_TEST_POISON_POOL_H

/*
 * An mbuf pool that makes a read of a freed mbuf's bytes visible.
 *
 * DPDK's mempool is not ASan-aware: a freed mbuf's buffer stays readable
 * and keeps its old bytes until the next allocation hands it back, so a use
 * after free reads the right bytes almost always and no test sees it. This
 * pool is a mempool driver ("sl_poison") that wraps the ring driver: every
 * object put back has its data room ASan-poisoned (under ASan) or filled
 * with 0xdb (otherwise), and is unpoisoned when it is taken out again. The
 * pool has no per-lcore cache, so every free reaches the driver at once.
 *
 * Only the data room is poisoned: the mbuf header and private area stay
 * readable, because the mempool itself and rte_pktmbuf_init touch them.
 */
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_TEST_POISON_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SL_TEST_POISON_ASAN)
#define SL_TEST_POISON_ASAN 1
#endif
#ifdef SL_TEST_POISON_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define SL_TEST_POISON_BYTE 0xdb

static const struct rte_mempool_ops *sl_test_poison_ring_ops;

static inline void
sl_test_poison_room(struct rte_mempool *mp, void *obj, int poison)
{
	char *room = (char *)obj + sizeof(struct rte_mbuf) +
		     rte_pktmbuf_priv_size(mp);
	size_t len = rte_pktmbuf_data_room_size(mp);

#ifdef SL_TEST_POISON_ASAN
	if (poison)
		ASAN_POISON_MEMORY_REGION(room, len);
	else
		ASAN_UNPOISON_MEMORY_REGION(room, len);
#else
	if (poison)
		memset(room, SL_TEST_POISON_BYTE, len);
#endif
}

static int
sl_test_poison_alloc(struct rte_mempool *mp)
{
	return sl_test_poison_ring_ops->alloc(mp);
}

static void
sl_test_poison_free(struct rte_mempool *mp)
{
	sl_test_poison_ring_ops->free(mp);
}

static int
sl_test_poison_enqueue(struct rte_mempool *mp, void *const *objs,
		       unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		sl_test_poison_room(mp, objs[i], 1);
	return sl_test_poison_ring_ops->enqueue(mp, objs, n);
}

static int
sl_test_poison_dequeue(struct rte_mempool *mp, void **objs, unsigned int n)
{
	int rc = sl_test_poison_ring_ops->dequeue(mp, objs, n);

	if (rc == 0)
		for (unsigned int i = 0; i < n; i++)
			sl_test_poison_room(mp, objs[i], 0);
	return rc;
}

static unsigned int
sl_test_poison_get_count(const struct rte_mempool *mp)
{
	return sl_test_poison_ring_ops->get_count(mp);
}

static struct rte_mempool_ops sl_test_poison_ops = {
	.name = "sl_poison",
	.alloc = sl_test_poison_alloc,
	.free = sl_test_poison_free,
	.enqueue = sl_test_poison_enqueue,
	.dequeue = sl_test_poison_dequeue,
	.get_count = sl_test_poison_get_count,
};

/*
 * A pool of n mbufs of the default size, no cache, on the "sl_poison"
 * driver. Call after rte_eal_init; NULL on failure (rte_errno set).
 */
static inline struct rte_mempool *
sl_test_poison_pool_create(const char *name, unsigned int n)
{
	if (sl_test_poison_ring_ops == NULL) {
		for (uint32_t i = 0; i < rte_mempool_ops_table.num_ops; i++)
			if (strcmp(rte_mempool_ops_table.ops[i].name,
				   "ring_mp_mc") == 0)
				sl_test_poison_ring_ops =
					&rte_mempool_ops_table.ops[i];
		if (sl_test_poison_ring_ops == NULL ||
		    rte_mempool_register_ops(&sl_test_poison_ops) < 0)
			return NULL;
	}
	return rte_pktmbuf_pool_create_by_ops(name, n, 0, 0,
					      RTE_MBUF_DEFAULT_BUF_SIZE,
					      SOCKET_ID_ANY, "sl_poison");
}

#endif /* SL_TEST_POISON_POOL_H */
