#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, fleet part: cpregctl pools, profile and plan on 1,000
# inventory files of 50 distinct hosts (written by tests/bench), wall time
# and peak memory of each, printed.  Figures, not pass/fail.
set -u
B=${1:?usage: fleet-bench.sh BUILDDIR}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/fleet"
"$B/tests/bench" --write-fleet "$dir/fleet" || exit 1
run() { # run NAME CMD...
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	/usr/bin/time -f '%M' -o "$dir/mem" "$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	printf 'cpregctl %-8s 1000 files, 50 distinct hosts: %6.0f ms (goal under 200), peak %6s KiB\n' "$name" \
		"$(echo "($t1 - $t0) * 1000" | bc)" "$(tail -n 1 "$dir/mem")"
}
run pools "$B/daemon/cpregctl" --json pools "$dir/fleet"
run profile "$B/daemon/cpregctl" --json profile "$dir/fleet"
run plan "$B/daemon/cpregctl" --json plan --before "$dir"/fleet/a-*.json --after "$dir"/fleet/b-*.json
