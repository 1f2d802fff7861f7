#!/usr/bin/env bash
# Install every build, run and test dependency of Sluice from Debian packages,
# and prepare hugepages where the machine allows it.
#
# Idempotent: packages already present are not reinstalled and `apt-get update`
# runs at most once per invocation (and not at all when nothing is missing).
#
# Prints a final line `hugepages: yes|no` and writes the same verdict to
# /run/sluice/hugepages so the other scripts can choose `--no-huge`.
set -euo pipefail

PKGS=(
	# build
	build-essential pkg-config meson ninja-build
	libdpdk-dev libnuma-dev libipsec-mb-dev libjansson-dev
	# the ASan+UBSan unit tests and the libFuzzer harnesses (docs/fuzzing.md)
	clang libclang-rt-14-dev
	# run: the PMDs, dpdk-telemetry.py, dpdk-dumpcap, dpdk-proc-info
	dpdk dpdk-dev
	# testbed and tests
	iproute2 ethtool nftables iputils-ping procps psmisc
	python3 python3-pytest curl wrk apache2-utils nginx-light haproxy
	tshark
	# promtool, to check the exporter's output and conf/alerts (its server is not run)
	prometheus
)

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: must run as root (it installs packages and mounts hugetlbfs)" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	case "$p" in \#*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# tshark asks whether non-root users may capture; answer no up front.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get install -y -q --no-install-recommends "${missing[@]}"
	# Debian starts the nginx, haproxy and prometheus services on install; the tests run
	# their own instances, so the system ones must not hold ports or CPU.
	for svc in nginx haproxy prometheus; do
		systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
	done
else
	echo "deps.sh: all packages present"
fi
# A service started by a previous install may still be running (no systemd in
# containers): stop it every time so its workers do not compete for the 2 cores.
pkill -x nginx >/dev/null 2>&1 || true
pkill -x haproxy >/dev/null 2>&1 || true

# Hugepages: 512 x 2 MiB. Not fatal when the kernel or the container refuses.
huge=no
want=${SLUICE_HUGEPAGES:-512}
if [ -w /proc/sys/vm/nr_hugepages ]; then
	cur=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$cur" -lt "$want" ]; then
		echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
	fi
	mkdir -p /dev/hugepages
	if ! mountpoint -q /dev/hugepages; then
		mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
	fi
	got=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$got" -ge 64 ] && mountpoint -q /dev/hugepages; then
		huge=yes
	fi
fi
mkdir -p /run/sluice
echo "$huge" > /run/sluice/hugepages
if [ "$huge" = yes ]; then
	echo "hugepages: yes ($(cat /proc/sys/vm/nr_hugepages) x 2 MiB at /dev/hugepages)"
else
	echo "hugepages: no (scripts will pass --no-huge to EAL)"
fi
