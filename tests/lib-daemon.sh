# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the tests that run cpregd as a process (test-daemon.sh,
# test-api.sh, test-peers.sh, test-abuse.sh): TAP output, a scratch
# directory removed at exit with every daemon started, waiting, starting.
# Set TEST_NAME before sourcing; T, SOCK and B come out.
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${TEST_NAME:?}"
B=$top_builddir
T=$(mktemp -d "/tmp/cpregd-$TEST_NAME.XXXXXX")
SOCK=$T/cpregd.sock
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

. "$top_srcdir/tests/tap.sh"
wait_for() { # wait_for SECONDS CMD...
	local end=$((SECONDS + $1)); shift
	until "$@" 2>/dev/null; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
api_is() { # api_is PATH FILTER: GET PATH on $SOCK answers JSON for which FILTER holds
	curl -s -m 20 --unix-socket "$SOCK" "http://cpregd$1" | jqe "$2" >/dev/null
}
start_daemon() { # start_daemon LOG ARGS...: on $SOCK, state in $T/state; sets PID
	local log=$1; shift
	mkdir -p "$T/state"
	"$B/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu "$@" 2>"$log" &
	PID=$!
	PIDS+=("$PID")
}
