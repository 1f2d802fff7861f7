#ifndef SL_TEST_STACK_H
#define SL_TEST_STACK_H

/*
 * What the unit tests of the network stack share: an EAL with no
 * hugepages, devices or shared files, and a one-port config with the TCP
 * settings they all assume (each picks its table size and ports).
 */
#include <stdio.h>

#include <rte_common.h>
#include <rte_eal.h>

#include "sl_conf.h"

/* EAL on lcore 0 with `mem_mb` of ordinary memory; 0, or -1 with a message. */
static inline int
sl_test_eal_init(char *argv0, const char *mem_mb)
{
	char *eal[] = { argv0, (char *)"--no-huge", (char *)"-m", (char *)mem_mb,
		(char *)"--no-pci", (char *)"--no-shconf", (char *)"-l", (char *)"0",
		(char *)"--log-level", (char *)"error", (char *)"--no-telemetry", NULL };

	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return -1;
	}
	return 0;
}

/* Port 0 at addr/24, and TCP defaults short enough for a test's clock. */
static inline void
sl_test_conf_stack(struct sl_conf *c, uint32_t addr, uint32_t max_conns,
		   uint16_t eph_lo, uint16_t eph_hi)
{
	c->n_ports = 1;
	c->ports[0].addr = addr;
	c->ports[0].prefix_len = 24;
	c->ports[0].valid = true;
	c->tcp = (struct sl_conf_tcp){ .max_conns = max_conns, .syn_backlog = 16,
		.syncookies = SL_SYNCOOKIES_AUTO, .mss = 1460, .rcv_buf = 65536,
		.snd_buf = 65536, .cc = "newreno", .rto_min_ms = 200,
		.rto_max_ms = 60000, .rto_init_ms = 1000, .retries = 3,
		.syn_retries = 2, .delack_ms = 40, .time_wait_s = 2,
		.time_wait_max = 16, .ooo_max = 8, .ephemeral_lo = eph_lo,
		.ephemeral_hi = eph_hi };
}

#endif
