#!/bin/sh
# The session seam holds (issue 15): outside lib/tcp and lib/session no
# library or app sees a TCP connection's fields. The struct is defined in
# lib/tcp/sl_tcp_conn.h alone, so the compiler refuses any field access
# elsewhere; this test refuses what would get around that: including that
# header or TCP's private one, or naming the connection type, its
# callbacks or its flags instead of going through lib/session.
# Usage: check_layers.sh SOURCE_ROOT. Exit 0 when clean, 1 with the lines.
root=${1:?usage: check_layers.sh SOURCE_ROOT}
cd "$root" || exit 2
bad=$(grep -rnE '#include "(sl_tcp_conn\.h|tcp_private\.h|[./]*lib/tcp/[a-z_]+\.h)"|\bstruct sl_tcp_conn\b|\bsl_tcp_app_ops\b|\bSL_TCPF_[A-Z_]+' \
	--include='*.c' --include='*.h' lib app |
	grep -vE '^lib/(tcp|session)/')
if [ -n "$bad" ]; then
	echo "outside lib/tcp and lib/session, these reach into TCP connections:"
	echo "$bad"
	exit 1
fi
# And the check can fail: the one file allowed to shows up when asked.
grep -qE '\bstruct sl_tcp_conn\b' lib/session/session.c || {
	echo "check_layers: the pattern no longer matches lib/session/session.c"
	exit 1
}
echo "no library or app outside lib/tcp and lib/session touches sl_tcp_conn"
