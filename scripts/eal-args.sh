#!/usr/bin/env bash
# Print the EAL arguments for running sluice on the reference testbed.
# usage: eal-args.sh FILE_PREFIX [LCORES]
# Falls back to --no-huge when deps.sh could not set hugepages up.
prefix=${1:?file prefix}
lcores=${2:-0,1}
args="-l $lcores --no-pci --file-prefix $prefix --vdev net_af_xdp0,iface=slc0 --vdev net_af_xdp1,iface=slb0"
if [ "$(cat /run/sluice/hugepages 2>/dev/null)" != yes ]; then
	args="$args --no-huge -m 1024"
fi
echo "$args"
