#!/usr/bin/env bash
# The reference testbed of shared/TESTBED.md:
#
#  sl-client ns                    root ns (sluice)                   sl-backend ns
#  clients 198.18.0.2-9  <veth>  slc0 = port 0: 198.18.0.1
#                                  port 1: 198.18.1.1 = slb0  <veth>  backends 198.18.1.2-9
#
# usage: testbed.sh up|down|status
# `up` is idempotent: it creates what is missing and re-applies settings.
# `down` removes everything `up` made (namespaces, veths) and nothing else.
# Addresses come only from 198.18.0.0/15 (RFC 2544 benchmarking space).
set -euo pipefail

CLIENT_NS=sl-client
BACKEND_NS=sl-backend

ns_exec() { ip netns exec "$@"; }

# Make one side: a namespace holding the peer end of a veth whose root end
# the gateway drives with DPDK.
side_up() {
	local ns=$1 root_if=$2 ns_if=$3 net=$4
	ip netns list | grep -qw "$ns" || ip netns add "$ns"
	# Single-queue veths on purpose, also for several workers: DPDK 22.11's
	# af_xdp takes at most the device's "combined" channel count, and a veth
	# has none (separate rx/tx only), so queue_count=2 is refused. A 2-queue
	# peer would also spread its flows over slc0's two RX queues, and what
	# lands on the queue with no AF_XDP socket is dropped by the kernel.
	# Two workers share the one queue through software steering
	# (docs/architecture.md); net_tap gives each worker a queue.
	if ! ip link show "$root_if" >/dev/null 2>&1; then
		ip link add "$root_if" type veth peer name "$ns_if" netns "$ns"
	fi
	# The root end carries no kernel address: DPDK (af_xdp/tap) owns it.
	sysctl -qw "net.ipv6.conf.$root_if.disable_ipv6=1" 2>/dev/null || true
	ip link set "$root_if" up
	ns_exec "$ns" ip link set lo up
	# Leftover loss-injection tables would make every test flaky.
	ns_exec "$ns" nft flush ruleset 2>/dev/null || true
	ns_exec "$ns" sysctl -qw "net.ipv6.conf.$ns_if.disable_ipv6=1" 2>/dev/null || true
	ns_exec "$ns" ip link set "$ns_if" up
	for h in 2 3 4 5 6 7 8 9; do
		ns_exec "$ns" ip addr replace "$net.$h/24" dev "$ns_if"
	done
	# Partial checksums would reach DPDK unfinished through AF_XDP.
	ns_exec "$ns" ethtool -K "$ns_if" tx off tso off gso off >/dev/null 2>&1 || true
	ns_exec "$ns" ethtool -K "$ns_if" rx off gro off >/dev/null 2>&1 || true
	ethtool -K "$root_if" tx off tso off gso off gro off >/dev/null 2>&1 || true
}

up() {
	side_up "$CLIENT_NS" slc0 slc1 198.18.0
	side_up "$BACKEND_NS" slb0 slb1 198.18.1
	# Clients reach backends only through the gateway's addresses.
	ns_exec "$CLIENT_NS" ip route replace 198.18.1.0/24 via 198.18.0.1 dev slc1
	ns_exec "$BACKEND_NS" ip route replace 198.18.0.0/24 via 198.18.1.1 dev slb1
	echo "testbed up: $CLIENT_NS (198.18.0.2-9 on slc1) <-> slc0 | slb0 <-> $BACKEND_NS (198.18.1.2-9 on slb1)"
}

down() {
	for ns in "$CLIENT_NS" "$BACKEND_NS"; do
		if ip netns list | grep -qw "$ns"; then
			# Processes still in the namespace are not ours to stop
			# (test.sh and demo.sh stop their own): say so. The name
			# goes now; the namespace itself lives on until they exit.
			pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
			if [ -n "${pids// /}" ]; then
				echo "testbed: processes still run in $ns (left running): $pids" >&2
			fi
			ip netns del "$ns"
		fi
	done
	# Deleting a namespace deletes its veth ends, which deletes the peers.
	for l in slc0 slb0; do
		ip link del "$l" 2>/dev/null || true
	done
	echo "testbed down"
}

status() {
	ip netns list | grep -E "^($CLIENT_NS|$BACKEND_NS)( |$)" || echo "no testbed namespaces"
	ip -br link show slc0 2>/dev/null || true
	ip -br link show slb0 2>/dev/null || true
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
