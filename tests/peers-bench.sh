#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, peers part: cpregd --peers on 1,000 inventory files of 50
# distinct hosts (written by tests/bench --write-fleet), dropped into the
# watched directory at once.  Printed: the wall time until every source is
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
mkdir -p "$dir/fleet" "$dir/peers" "$dir/state"
"$B/tests/bench" --write-fleet "$dir/fleet" || exit 1
"$B/tests/cpregd" --socket "$dir/s" --state-dir "$dir/state" --no-qemu \
	--replay "$S/tests/data/dumps/neoverse-n1_linux-6.12.json" --peers "$dir/peers" 2>"$dir/log" &
pid=$!
i=0; while [ ! -S "$dir/s" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
"$B/tests/sockhelper" ping "$dir/s" 120 >"$dir/ping" &
ping=$!
t0=$(date +%s%N)
cp "$dir"/fleet/*.json "$dir/peers/"
until curl -s --unix-socket "$dir/s" http://cpregd/v1/peers | jq -e '.pending == 0 and .files == 1000' >/dev/null 2>&1; do
	sleep 0.02
	[ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 100 ] && { echo "peers bench: not settled in 100 s" >&2; break; }
done
t1=$(date +%s%N)
kill -INT "$ping" 2>/dev/null
judged=$(curl -s --unix-socket "$dir/s" http://cpregd/metrics | sed -n 's/^cpregd_peer_judgements_total //p')
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
wait "$ping" 2>/dev/null
printf 'cpregd --peers  1000 files, 50 distinct hosts: settled in %5.0f ms, %s judgements (trial included), peak RSS %s KiB\n' \
	"$(( (t1 - t0) / 1000000 ))" "$judged" "$rss"
printf '                meanwhile GET /v1/health on one connection: %s\n' "$(cat "$dir/ping")"
