/*
 * Hardware RSS for connection ownership: program our Toeplitz key and a
 * round-robin RETA, verify them, and record what the NIC really does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>

#include "sl_log.h"
#include "sl_port_rss.h"
#include "sl_tcp_thash.h"

/*
 * The key the PMD was configured with. It keeps the pointer in its
 * dev_conf and may read it again at any start, so it must outlive p->rss,
 * which a failed check at start frees.
 */
static uint8_t rss_keys[RTE_MAX_ETHPORTS][UINT8_MAX + 1];

/* What we ask the NIC to hash; TCP is what ownership needs. */
#define PORT_RSS_HF (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | \
		     RTE_ETH_RSS_NONFRAG_IPV4_UDP)

/* Why the port cannot take our key and RETA, or NULL when it may. */
static const char *
rss_lacks(const struct rte_eth_dev_info *info, uint16_t nq)
{
	if (!(info->flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP))
		return "no RSS over IPv4 TCP";
	if (info->hash_key_size < 16)
		return "no settable RSS key of 16 bytes or more";
	if (info->reta_size == 0)
		return "no RETA";
	if (!rte_is_power_of_2(info->reta_size) || info->reta_size < 4)
		return "a RETA size that is not a power of two from 4";
	if (info->reta_size < nq)
		return "a RETA smaller than the number of workers";
	return NULL;
}

static void
steer_software(struct sl_port *p, const char *why, int rc)
{
	SL_LOG(INFO, "port %s: %s%s%s; replies to upstream connections are "
	       "steered in software", p->name, why, rc ? ": " : "",
	       rc ? rte_strerror(rc < 0 ? -rc : rc) : "");
	sl_port_rss_free(p);
	p->steer = SL_STEER_SOFTWARE;
}

int
sl_port_rss_configure(struct sl_port *p, const struct rte_eth_dev_info *info,
		      uint16_t nq, struct rte_eth_conf *ec)
{
	struct rte_eth_rss_conf *rc = &ec->rx_adv_conf.rss_conf;
	const char *why;
	char name[32];
	int ret;

	p->steer = nq > 1 ? SL_STEER_SOFTWARE : SL_STEER_SINGLE;
	p->rss = NULL;
	if (nq < 2 || !(info->flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP)) {
		if (nq > 1)
			SL_LOG(INFO, "port %s: no RSS over IPv4 TCP (flow types "
			       "0x%" PRIx64 "); replies to upstream connections "
			       "are steered in software", p->name,
			       info->flow_type_rss_offloads);
		return rte_eth_dev_configure(p->port_id, nq, nq, ec);
	}
	/* RSS spreads inbound flows over the workers even where we cannot
	 * choose key and RETA. */
	ec->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	rc->rss_hf = PORT_RSS_HF & info->flow_type_rss_offloads;
	why = rss_lacks(info, nq);
	if (why == NULL) {
		uint32_t len;

		snprintf(name, sizeof(name), "sl_rss_%u", p->port_id);
		p->rss = sl_tcp_thash_create(name, NULL, info->hash_key_size,
					     info->reta_size, nq);
		if (p->rss == NULL)
			steer_software(p, "cannot make a Toeplitz key", rte_errno);
		else {
			memcpy(rss_keys[p->port_id], sl_tcp_thash_key(p->rss, &len), len);
			rc->rss_key = rss_keys[p->port_id];
			rc->rss_key_len = (uint8_t)len;
		}
	} else {
		SL_LOG(INFO, "port %s: RSS with the PMD's key and RETA (%s: key "
		       "%u bytes, RETA %u); replies to upstream connections are "
		       "steered in software", p->name, why, info->hash_key_size,
		       info->reta_size);
	}
	/* Refused: RSS with the PMD's own key, then no RSS at all. */
	ret = rte_eth_dev_configure(p->port_id, nq, nq, ec);
	if (ret != 0 && rc->rss_key != NULL) {
		steer_software(p, "configure with our RSS key refused", ret);
		rc->rss_key = NULL;
		rc->rss_key_len = 0;
		ret = rte_eth_dev_configure(p->port_id, nq, nq, ec);
	}
	if (ret != 0) {
		SL_LOG(INFO, "port %s: configure with RSS refused (%s); without",
		       p->name, rte_strerror(-ret));
		ec->rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
		memset(rc, 0, sizeof(*rc));
		ret = rte_eth_dev_configure(p->port_id, nq, nq, ec);
	}
	return ret;
}

/* Program `reta` and read it back; 0 or a negative errno, *what says where. */
static int
reta_program(uint16_t port_id, const uint16_t *reta, uint32_t n,
	     struct rte_eth_rss_reta_entry64 *conf, const char **what)
{
	uint32_t groups = (n + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE;
	int rc;

	memset(conf, 0, groups * sizeof(*conf));
	for (uint32_t i = 0; i < n; i++) {
		conf[i / RTE_ETH_RETA_GROUP_SIZE].mask |=
			UINT64_C(1) << (i % RTE_ETH_RETA_GROUP_SIZE);
		conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
			reta[i];
	}
	*what = "RETA update refused";
	rc = rte_eth_dev_rss_reta_update(port_id, conf, (uint16_t)n);
	if (rc != 0)
		return rc;
	for (uint32_t g = 0; g < groups; g++)
		memset(conf[g].reta, 0xff, sizeof(conf[g].reta));
	*what = "RETA cannot be read back";
	rc = rte_eth_dev_rss_reta_query(port_id, conf, (uint16_t)n);
	if (rc != 0)
		return rc;
	*what = "RETA read back differs from the one programmed";
	for (uint32_t i = 0; i < n; i++)
		if (conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE]
		    != reta[i])
			return -EIO;
	return 0;
}

/* Read the key and hash types back; 0 or a negative errno. */
static int
key_check(const struct sl_port *p, const char **what)
{
	uint8_t got[256];
	struct rte_eth_rss_conf rc = { .rss_key = got, .rss_key_len = 0 };
	const uint8_t *key;
	uint32_t len;
	int ret;

	key = sl_tcp_thash_key(p->rss, &len);
	rc.rss_key_len = (uint8_t)len;
	*what = "RSS key cannot be read back";
	ret = rte_eth_dev_rss_hash_conf_get(p->port_id, &rc);
	if (ret != 0)
		return ret;
	*what = "RSS key read back differs from ours (the PMD keeps its own)";
	if (memcmp(got, key, len) != 0)
		return -EIO;
	*what = "the NIC does not hash IPv4 TCP after all";
	if (!(rc.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP))
		return -EIO;
	return 0;
}

void
sl_port_rss_start(struct sl_port *p)
{
	struct rte_eth_rss_reta_entry64 *conf;
	struct rte_eth_dev_info info;
	char hex[2 * 256 + 1];
	const uint8_t *key;
	const char *what;
	uint16_t *reta;
	uint32_t n, len;
	int rc;

	if (p->rss == NULL)
		return;   /* sl_port_rss_configure() said why */
	n = sl_tcp_thash_reta_size(p->rss);
	reta = calloc(n, sizeof(*reta));
	conf = calloc((n + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE,
		      sizeof(*conf));
	if (reta == NULL || conf == NULL) {
		free(reta);
		free(conf);
		steer_software(p, "no memory for the RETA", -ENOMEM);
		return;
	}
	sl_tcp_thash_reta_round_robin(p->rss, reta);
	rc = reta_program(p->port_id, reta, n, conf, &what);
	/* Some PMDs size the RETA at configure: ours must still be the one. */
	if (rc == 0) {
		what = "RETA size changed after configure";
		rc = rte_eth_dev_info_get(p->port_id, &info);
		if (rc == 0 && info.reta_size != n)
			rc = -EIO;
	}
	if (rc == 0)
		rc = key_check(p, &what);
	if (rc == 0) {
		what = "RETA copy refused";
		rc = sl_tcp_thash_set_reta(p->rss, reta);
	}
	free(reta);
	free(conf);
	if (rc != 0) {
		steer_software(p, what, rc);
		return;
	}
	key = sl_tcp_thash_key(p->rss, &len);
	for (uint32_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	p->steer = SL_STEER_RSS;
	SL_LOG(INFO, "port %s: steering rss: Toeplitz key %s, RETA of %u entries "
	       "round-robin over %u queues; upstream source ports are chosen so "
	       "that replies hash to the opener's queue", p->name, hex, n,
	       p->n_queues);
}

void
sl_port_rss_free(struct sl_port *p)
{
	sl_tcp_thash_free(p->rss);
	p->rss = NULL;
}
