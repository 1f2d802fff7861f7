/* Port and mempool setup: everything between the config and rte_eth_rx_burst. */
#include <stdio.h>
#include <string.h>

#include <numa.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "sl_conf.h"
#include "sl_log.h"
#include "sl_port.h"
#include "sl_port_rss.h"
#include "sl_port_watch.h"

static int
socket_of_lcore(unsigned int lcore)
{
	int s = (int)rte_lcore_to_socket_id(lcore);

	return s < 0 || s >= RTE_MAX_NUMA_NODES ? 0 : s;
}

static int
pools_create(struct sl_dp *dp, const struct sl_conf *c, char *err, size_t errlen)
{
	for (unsigned int w = 0; w < dp->n_workers; w++) {
		int s = socket_of_lcore(dp->workers[w]->lcore_id);
		char name[RTE_MEMPOOL_NAMESIZE];

		if (dp->pools[s] == NULL) {
			snprintf(name, sizeof(name), "sl_mbuf_s%d", s);
			dp->pools[s] = rte_pktmbuf_pool_create(name, c->memory.mbufs,
				c->memory.mbuf_cache, 0,
				(uint16_t)(c->memory.mbuf_data_size + RTE_PKTMBUF_HEADROOM),
				s);
			if (dp->pools[s] == NULL) {
				snprintf(err, errlen, "cannot create mbuf pool of %u mbufs "
					 "on socket %d: %s (lower /memory/mbufs or give "
					 "EAL more memory)", c->memory.mbufs, s,
					 rte_strerror(rte_errno));
				return -1;
			}
			dp->n_pools++;
			SL_LOG(INFO, "mbuf pool %s: %u mbufs of %u bytes on socket %d",
			       name, c->memory.mbufs, c->memory.mbuf_data_size, s);
		}
		dp->workers[w]->pool = dp->pools[s];
	}
	return 0;
}

static void
list_ports(char *buf, size_t len)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t n = 0;
	uint16_t pid;

	buf[0] = '\0';
	RTE_ETH_FOREACH_DEV(pid) {
		if (rte_eth_dev_get_name_by_port(pid, name) == 0 && n < len)
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name);
	}
	if (n == 0)
		snprintf(buf, len, "none (pass --vdev or a PCI device to EAL)");
}

const char *
sl_port_link(uint16_t port_id, uint32_t *speed, int *full)
{
	struct rte_eth_link link;

	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(port_id, &link) != 0)
		return "unknown";
	*speed = link.link_speed;
	*full = link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
	return link.link_status ? "up" : "down";
}

static int
port_start(struct sl_dp *dp, unsigned int idx, const struct sl_conf_port *cp,
	   char *err, size_t errlen)
{
	struct sl_port *p = &dp->ports[idx];
	struct rte_eth_conf ec;
	struct rte_eth_dev_info info;
	uint16_t nq = (uint16_t)dp->n_workers, rxd = cp->rx_desc, txd = cp->tx_desc;
	char avail[512], mac[RTE_ETHER_ADDR_FMT_SIZE];
	uint32_t speed = 0;
	int full = 0, rc;

	memset(&ec, 0, sizeof(ec));
	snprintf(p->name, sizeof(p->name), "%s", cp->name);
	if (rte_eth_dev_get_port_by_name(cp->name, &p->port_id) != 0) {
		list_ports(avail, sizeof(avail));
		snprintf(err, errlen, "port \"%s\" (/ports/%u/name) does not exist; "
			 "DPDK ports: %s", cp->name, idx, avail);
		return -1;
	}
	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port \"%s\": cannot read device info: %s",
			 cp->name, rte_strerror(-rc));
		return -1;
	}
	/*
	 * Fewer queues than workers (af_xdp on a veth has one): workers past
	 * the last queue get their packets through steering and send through
	 * the queue's worker (lib/steer).
	 */
	nq = RTE_MIN(nq, RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	if (nq == 0) {
		snprintf(err, errlen, "port \"%s\" offers no RX/TX queue", cp->name);
		return -1;
	}
	if (nq < dp->n_workers)
		SL_LOG(NOTICE, "port %s has %u queue(s) for %u workers: workers %u "
		       "and up receive and send on it through the others",
		       cp->name, nq, dp->n_workers, nq);
	p->n_queues = nq;
	p->addr = cp->addr;
	p->prefix_len = cp->prefix_len;
	p->mask = cp->prefix_len ? ~0u << (32 - cp->prefix_len) : 0;
	p->mtu = cp->mtu;
	p->socket = rte_eth_dev_socket_id(p->port_id);
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
		ec.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
		p->rx_ip_cksum_offload = true;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		ec.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		p->tx_ip_cksum_offload = true;
	}
	rc = sl_port_rss_configure(p, &info, nq, &ec);   /* RSS, key: port_rss.c */
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &rxd, &txd);
	if (rc != 0) {
		snprintf(err, errlen, "port \"%s\": configure failed: %s",
			 cp->name, rte_strerror(-rc));
		return -1;
	}
	if (rte_eth_dev_set_mtu(p->port_id, cp->mtu) != 0)
		SL_LOG(WARNING, "port %s: cannot set MTU %u, keeping the device's",
		       cp->name, cp->mtu);
	for (uint16_t q = 0; q < nq; q++) {
		struct sl_lcore *w = dp->workers[q];

		rc = rte_eth_rx_queue_setup(p->port_id, q, rxd,
					    socket_of_lcore(w->lcore_id), NULL, w->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(p->port_id, q, txd,
						    socket_of_lcore(w->lcore_id), NULL);
		if (rc != 0) {
			snprintf(err, errlen, "port \"%s\": queue %u setup failed: %s",
				 cp->name, q, rte_strerror(-rc));
			return -1;
		}
	}
	if (strcmp(info.driver_name, "net_af_xdp") == 0)
		sl_port_watch_claim_xsk(idx);   /* its sockets: XDP_STATISTICS */
	rc = rte_eth_dev_start(p->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port \"%s\": start failed: %s", cp->name,
			 rte_strerror(-rc));
		return -1;
	}
	sl_port_rss_start(p);   /* RETA, and how replies find their worker */
	p->tx_kick = strcmp(info.driver_name, "net_af_xdp") == 0;
	rte_eth_macaddr_get(p->port_id, &p->mac);
	rte_ether_format_addr(mac, sizeof(mac), &p->mac);
	SL_LOG(INFO, "port %s (ethdev %u, %s, socket %d): %s, link %s %u Mbps%s, "
	       "%u queue(s), rx/tx desc %u/%u, ip cksum offload rx=%d tx=%d",
	       cp->name, p->port_id, info.driver_name, p->socket, mac,
	       sl_port_link(p->port_id, &speed, &full), speed,
	       full ? " full-duplex" : "", nq, rxd, txd,
	       p->rx_ip_cksum_offload, p->tx_ip_cksum_offload);
	dp->n_ports = idx + 1;
	return 0;
}

int
sl_port_setup(struct sl_dp *dp, const struct sl_conf *c, char *err, size_t errlen)
{
	if (numa_available() >= 0)
		SL_LOG(INFO, "NUMA: %d node(s)", numa_max_node() + 1);
	dp->tx_kick_tsc = rte_get_tsc_hz() / 1000;   /* sl_port_tx_kick */
	if (pools_create(dp, c, err, errlen) != 0)
		return -1;
	for (unsigned int i = 0; i < c->n_ports; i++)
		if (port_start(dp, i, &c->ports[i], err, errlen) != 0)
			return -1;
	return 0;
}

void
sl_port_teardown(struct sl_dp *dp)
{
	for (unsigned int i = 0; i < dp->n_ports; i++) {
		rte_eth_dev_stop(dp->ports[i].port_id);
		rte_eth_dev_close(dp->ports[i].port_id);
		sl_port_rss_free(&dp->ports[i]);
	}
	dp->n_ports = 0;
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dp->pools[s] == NULL)
			continue;
		/* net_af_xdp keeps the mbufs of its fill ring when closed. */
		if (rte_mempool_in_use_count(dp->pools[s]) != 0)
			SL_LOG(INFO, "mbuf pool %s: %u mbufs not returned by the PMDs "
			       "at close; freeing the pool anyway", dp->pools[s]->name,
			       rte_mempool_in_use_count(dp->pools[s]));
		rte_mempool_free(dp->pools[s]);
		dp->pools[s] = NULL;
	}
	dp->n_pools = 0;
}

void
sl_port_mbuf_usage(const struct sl_dp *dp, uint64_t *total, uint64_t *in_use)
{
	*total = 0;
	*in_use = 0;
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (dp->pools[s] == NULL)
			continue;
		*total += dp->pools[s]->size;
		*in_use += rte_mempool_in_use_count(dp->pools[s]);
	}
}
