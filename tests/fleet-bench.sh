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

# Issue 27's fleets: 1,000 files of 1,000 distinct hosts (tests/bench
# --write-distinct), under QEMU 11.1: differing only in vCPU state (one
# judged state), and each with its own lowered ID_AA64ISAR0/1 (1,000 judged
# states: a million ordered pairs).  The plan is a canary upgrade: 990 hosts
# before, 10 after.  One run each: wall time and peak memory.
once() { # once NAME WHAT CMD...
	local name=$1 what=$2 t0 t1
	shift 2
	t0=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$dir/mem" "$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	printf 'cpregctl %-8s 1000 files, %-30s %6d ms (goal under %s), peak %6s KiB (goal under 65536)\n' "$name" "$what" \
		"$(((t1 - t0) / 1000000))" "$([ "$what" = "1000 hosts, one judged state:" ] && [ "$name" = pools ] && echo 2000 || echo 10000)" \
		"$(tail -n 1 "$dir/mem")"
}
for kind in state idreg; do
	mkdir -p "$dir/$kind"
	"$B/tests/bench" --write-distinct "$dir/$kind" "$kind" || exit 1
	what="1000 hosts, one judged state:"
	[ "$kind" = idreg ] && what="1000 distinct judged states:"
	once pools "$what" "$B/daemon/cpregctl" --json -p qemu-11.1 pools "$dir/$kind"
	once profile "$what" "$B/daemon/cpregctl" --json -p qemu-11.1 profile "$dir/$kind"
	once plan "$what" "$B/daemon/cpregctl" --json -p qemu-11.1 plan \
		--before "$dir/$kind"/host0[0-8]*.json "$dir/$kind"/host09[0-8]*.json --after "$dir/$kind"/host099*.json
done
