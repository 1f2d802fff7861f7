#!/usr/bin/env bash
# Install every build, run and test dependency of Sluice from Debian packages,
# and prepare hugepages where the machine allows it.
#
# Idempotent: packages already present are not reinstalled and `apt-get update`
# runs at most once per invocation (and not at all when nothing is missing).
#
# Prints a final line `hugepages: yes|no` and writes the same verdict to
# /run/sluice/hugepages so the other scripts can choose `--no-huge`.
#
# What it changes is recorded under /run/sluice; `deps.sh --release-hugepages`
# puts the hugepage count back and unmounts the hugetlbfs it mounted.
set -euo pipefail

if [ "${1:-}" = --release-hugepages ]; then
	if [ -f /run/sluice/hugepages.before ]; then
		before=$(cat /run/sluice/hugepages.before)
		echo "$before" > /proc/sys/vm/nr_hugepages
		echo "deps.sh: vm.nr_hugepages -> $(cat /proc/sys/vm/nr_hugepages) (was $before before deps.sh)"
		rm -f /run/sluice/hugepages.before
	else
		echo "deps.sh: vm.nr_hugepages was not changed by deps.sh; left at $(cat /proc/sys/vm/nr_hugepages)"
	fi
	if [ -f /run/sluice/hugetlbfs.mounted ]; then
		umount /dev/hugepages && echo "deps.sh: unmounted /dev/hugepages"
		rm -f /run/sluice/hugetlbfs.mounted
	fi
	rm -f /run/sluice/hugepages
	exit 0
elif [ $# -gt 0 ]; then
	echo "usage: deps.sh [--release-hugepages]" >&2
	exit 2
fi

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
	# sluice-exporter's exposition and HTTP server
	python3-prometheus-client
	# promtool, to check the exporter's output and conf/alerts (its server is not run)
	prometheus
	# systemd-analyze and man, to check the installed units and man pages
	systemd man-db
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
	# Debian starts a service when its package is installed (nginx, haproxy,
	# prometheus here). The tests run their own instances in namespaces, so
	# none is started: a policy-rc.d answering 101 ("action forbidden") holds
	# every service start for the length of this install only. A policy-rc.d
	# the machine already has is kept and put back.
	policy=/usr/sbin/policy-rc.d
	saved=
	if [ -e "$policy" ]; then
		saved=$(mktemp /usr/sbin/policy-rc.d.sluice.XXXXXX)
		cp -p "$policy" "$saved"
	fi
	restore_policy() {
		if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
	}
	trap restore_policy EXIT
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	apt-get install -y -q --no-install-recommends "${missing[@]}"
	restore_policy
	trap - EXIT
	for svc in nginx haproxy prometheus; do
		case " ${missing[*]} " in
		*" $svc "*|*" $svc-light "*)
			echo "deps.sh: installed $svc without starting its service" \
				"(Debian enables it for the next boot: systemctl disable $svc to stop that)" ;;
		esac
	done
else
	echo "deps.sh: all packages present"
fi
# Nothing already running is touched: an nginx or HAProxy of the machine's
# own keeps running (the tests' instances live in their own namespaces).

# Hugepages: 512 x 2 MiB. Not fatal when the kernel or the container refuses.
huge=no
want=${SLUICE_HUGEPAGES:-512}
if [ -w /proc/sys/vm/nr_hugepages ]; then
	cur=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$cur" -lt "$want" ]; then
		echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
		now=$(cat /proc/sys/vm/nr_hugepages)
		if [ "$now" -ne "$cur" ]; then
			mkdir -p /run/sluice
			# The first value seen is the machine's own: keep it.
			[ -f /run/sluice/hugepages.before ] || echo "$cur" > /run/sluice/hugepages.before
			echo "deps.sh: vm.nr_hugepages $cur -> $now, until reboot" \
				"(undo: scripts/deps.sh --release-hugepages)"
		fi
	fi
	mkdir -p /dev/hugepages
	if ! mountpoint -q /dev/hugepages; then
		if mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null; then
			mkdir -p /run/sluice
			touch /run/sluice/hugetlbfs.mounted
			echo "deps.sh: mounted hugetlbfs at /dev/hugepages" \
				"(undo: scripts/deps.sh --release-hugepages)"
		fi
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
