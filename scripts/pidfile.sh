# shellcheck shell=bash
# Pidfiles for the processes a script starts, sourced by demo.sh and
# bench.sh. A script that is killed outright (SIGKILL, a lost terminal)
# cannot clean up; its next run finds the pidfiles and stops exactly those
# processes, and nothing else: a pidfile holds the PID and the process's
# start time (field 22 of /proc/PID/stat), and a process is stopped only
# when both still match, so a PID the kernel gave to something else since
# is left alone.
#
#   pidfile_dir NAME          sets PIDFILE_DIR=/run/sluice/NAME and creates it
#   pidfile_stop_stale        stops what an earlier, killed run left behind
#   pidfile_add LABEL PID     records a process this run started
#   pidfile_clear             removes this run's pidfiles (at clean exit)

PIDFILE_DIR=

pidfile_dir() {
	PIDFILE_DIR=/run/sluice/$1
	mkdir -p "$PIDFILE_DIR"
}

# The start time, in clock ticks after boot, of PID; empty when it is gone.
pidfile_start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# The command name (field 2) may hold spaces: count fields after its ')'.
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20}"
}

pidfile_add() {
	local t
	t=$(pidfile_start_time "$2")
	[ -n "$t" ] || return 0
	echo "$2 $t" > "$PIDFILE_DIR/$1.pid"
}

pidfile_stop_stale() {
	local f pid t now
	for f in "$PIDFILE_DIR"/*.pid; do
		[ -e "$f" ] || continue
		read -r pid t < "$f" || true
		now=$(pidfile_start_time "$pid")
		if [ -n "$pid" ] && [ -n "$t" ] && [ "$now" = "$t" ]; then
			echo "$(basename "$f" .pid) (pid $pid) was left running by an" \
				"earlier run that was killed: stopping it"
			kill -TERM "$pid" 2>/dev/null || true
			# It may hold what this run needs (a DPDK prefix, a port).
			for _ in $(seq 1 50); do
				[ "$(pidfile_start_time "$pid")" = "$t" ] || break
				sleep 0.1
			done
		fi
		rm -f "$f"
	done
}

pidfile_clear() {
	[ -n "$PIDFILE_DIR" ] || return 0
	rm -f "$PIDFILE_DIR"/*.pid
	rmdir "$PIDFILE_DIR" 2>/dev/null || true
}
