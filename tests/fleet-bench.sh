#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, fleet part: cpregctl pools, profile and plan on 1,000
# inventory files of 50 distinct hosts (written by tests/bench), each run
# five times: the fastest and the median wall time (a shared machine's
# neighbours add tens of milliseconds to single runs), and peak memory.
# Figures, not pass/fail.
set -u
B=${1:?usage: fleet-bench.sh BUILDDIR}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/fleet"
"$B/tests/bench" --write-fleet "$dir/fleet" || exit 1
run() { # run NAME CMD...
	local name=$1 t0 t1 ms=()
	shift
	for _ in 1 2 3 4 5; do
		t0=$(date +%s%N)
		/usr/bin/time -f '%M' -o "$dir/mem" "$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		ms+=($(((t1 - t0) / 1000000)))
	done
	mapfile -t ms < <(printf '%s\n' "${ms[@]}" | sort -n)
	printf 'cpregctl %-8s 1000 files, 50 distinct hosts: %4d ms fastest, %4d median of 5 (goal under 200), peak %6s KiB\n' \
		"$name" "${ms[0]}" "${ms[2]}" "$(tail -n 1 "$dir/mem")"
}
run pools "$B/daemon/cpregctl" --json pools "$dir/fleet"
run profile "$B/daemon/cpregctl" --json profile "$dir/fleet"
run plan "$B/daemon/cpregctl" --json plan --before "$dir"/fleet/a-*.json --after "$dir"/fleet/b-*.json
