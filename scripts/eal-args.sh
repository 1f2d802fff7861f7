#!/usr/bin/env bash
# Print the EAL arguments for running sluice on the reference testbed.
# usage: eal-args.sh FILE_PREFIX [LCORES]   (LCORES: 0,1 or a map like 0@0,1@1,2@0)
# Falls back to --no-huge when deps.sh could not set hugepages up.
prefix=${1:?file prefix}
lcores=${2:-0,1}
# A mapping such as 0@0,1@1,2@0 (more lcores than CPUs) needs --lcores.
case $lcores in
*@*) cores="--lcores $lcores" ;;
*) cores="-l $lcores" ;;
esac
args="$cores --no-pci --file-prefix $prefix --vdev net_af_xdp0,iface=slc0 --vdev net_af_xdp1,iface=slb0"
if [ "$(cat /run/sluice/hugepages 2>/dev/null)" != yes ]; then
	args="$args --no-huge -m 1024"
fi
echo "$args"
