#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, peers part: cpregd --peers on 1,000 inventory files of 50
# distinct hosts (written by tests/bench --write-fleet), then on 1,000 files
# of 1,000 distinct judged states (tests/bench --write-distinct idreg),
# dropped into the watched directory at once.  Printed: the wall time until every source is
# judged (static check and the trial, on the replay kernel), how many
# judgements ran, and how the health endpoint answered meanwhile on one
# keep-alive connection (worst and 99th percentile latency).  Figures, not
# pass/fail.
set -u
B=${1:?usage: peers-bench.sh BUILDDIR}
S=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
mkdir -p "$dir/fleet" "$dir/distinct" "$dir/peers" "$dir/state"
"$B/tests/bench" --write-fleet "$dir/fleet" || exit 1
"$B/tests/bench" --write-distinct "$dir/distinct" idreg || exit 1
# run_peers FILES WHAT: a fresh cpregd, FILES dropped into its peers directory at once.
run_peers() {
	local files=$1 what=$2 t0 t1 i judged rss ping
	rm -rf "$dir/peers" "$dir/state" "$dir/s"
	mkdir -p "$dir/peers" "$dir/state"
	"$B/tests/cpregd" --socket "$dir/s" --state-dir "$dir/state" --no-qemu \
		--replay "$S/tests/data/dumps/neoverse-n1_linux-6.12.json" --peers "$dir/peers" 2>"$dir/log" &
	pid=$!
	i=0; while [ ! -S "$dir/s" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.5
	"$B/tests/sockhelper" ping "$dir/s" 300 >"$dir/ping" &
	ping=$!
	t0=$(date +%s%N)
	cp "$files"/*.json "$dir/peers/"
	# Not "curl | jq -e": jq 1.6 exits 0 on no input, and a refused connect would end the wait.
	until r=$(curl -s --unix-socket "$dir/s" http://cpregd/v1/peers) && [ -n "$r" ] &&
		jq -e '.pending == 0 and .files == 1000' <<<"$r" >/dev/null 2>&1; do
		sleep 0.05
		[ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 300 ] && { echo "peers bench: not settled in 300 s" >&2; break; }
	done
	t1=$(date +%s%N)
	kill -INT "$ping" 2>/dev/null
	judged=$(curl -s --unix-socket "$dir/s" http://cpregd/metrics | sed -n 's/^cpregd_peer_judgements_total //p')
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	wait "$ping" 2>/dev/null
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	printf 'cpregd --peers  1000 files, %-24s settled in %5.0f ms, %s judgements (trial included), peak RSS %s KiB (goal under 65536)\n' \
		"$what:" "$(( (t1 - t0) / 1000000 ))" "$judged" "$rss"
	printf '                meanwhile GET /v1/health on one connection: %s\n' "$(cat "$dir/ping")"
}
run_peers "$dir/fleet" "50 distinct hosts"
run_peers "$dir/distinct" "1000 distinct judged"
