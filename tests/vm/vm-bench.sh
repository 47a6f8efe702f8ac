#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make bench-vm: cpregd's probe and live trial against a bare loop of the
# same KVM ioctls (tests/vm/kvm-reglist --time / --trial-time: scratch VM
# and vCPU, KVM_GET_REG_LIST, KVM_GET_ONE_REG of each register, for the
# trial KVM_SET_ONE_REG of each value, closing it all), on the same
# emulated host (neoverse-n1, Linux 6.12) with real KVM.  The probe's and
# the trial's own durations include closing their scratch VM.  Figures,
# not pass/fail; issue 12's goal is a ratio of at most 1.2.
set -u
: "${top_srcdir:?run through make bench-vm}" "${top_builddir:?run through make bench-vm}"
. "$top_srcdir/tests/vm/lib.sh"
vm_setup
N=${CPREG_BENCH_RUNS:-20}
out=$top_builddir/tests/vm-out/bench
rm -rf "$out"; mkdir -p "$out"
script=$(mktemp)
trap 'rm -f "$script"' EXIT
# The bare loops run before and after cpregd's, on the same boot: the emulated host's speed drifts.
cat >"$script" <<T
section bare kvm-reglist --time $N
section threaded kvm-reglist --time-threaded $N
section probespaced kvm-reglist --time-probe-spaced $N
section baretrial kvm-reglist --trial-time $N
cpregd --socket /run/b.sock --state-dir /tmp --no-qemu --timeout 300 >/tmp/cpregd.log 2>&1 &
pid=\$!
i=0; while [ ! -S /run/b.sock ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
# The daemon's own probes, warm as on a long-running host: SIGHUP re-probes; the health says how long it took
# (asked a second later, so that asking does not compete with the probe on the emulated CPUs).
section probes sh -c 'hf() { cpregctl --timeout 600 -s /run/b.sock health | sed -n "s/.*\"\$1\": *\([0-9]*\).*/\\1/p"; }
	i=0; while [ "\$(hf probes_ok)" -lt 1 ] 2>/dev/null; do sleep 0.1; done
	while [ \$i -lt $N ]; do kill -HUP '\$pid'; sleep 1; while [ "\$(hf probes_ok)" -lt \$((i + 2)) ]; do sleep 0.5; done
	hf inventory_probe_ms; i=\$((i + 1)); done'
cpregctl --timeout 600 -s /run/b.sock inventory >/tmp/p.json
section trials sh -c 'i=0; while [ \$i -lt $N ]; do cpregctl --timeout 600 -s /run/b.sock --json check /tmp/p.json | sed -n "s/.*\"trial\": {\"ran\": true, \"duration_ms\": \([0-9]*\).*/\\1/p"; i=\$((i + 1)); done'
kill \$pid
section bare2 kvm-reglist --time $N
section threaded2 kvm-reglist --time-threaded $N
section baretrial2 kvm-reglist --trial-time $N
T
if ! boot neoverse-n1 trixie bench "$script" "$out"; then
	echo "bench-vm: the emulated host did not finish (see $out/console.log)"
	exit 1
fi
# median FILE...: of the numbers, one per line; bare runs are "run MS" lines, each batch's first (cold) left out.
median() {
	for f in "$@"; do
		if grep -q '^run ' "$f"; then sed -n 's/^run //p' "$f" | tail -n +2; else grep -E '^[0-9.]+$' "$f"; fi
	done | sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "?"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
bare=$(median "$out/bare" "$out/bare2"); baret=$(median "$out/baretrial" "$out/baretrial2")
probe=$(median "$out/probes"); trial=$(median "$out/trials"); threaded=$(median "$out/threaded" "$out/threaded2")
sed -n 's/.*(its own \([0-9]*\)).*/\1/p' "$out/probespaced" >"$out/probespaced.ms"
inproc=$(median "$out/probespaced.ms")
echo "bench-vm: neoverse-n1, $(cat "$out/kernel"), emulated (TCG) with real KVM, medians of $N runs (bare loops: $((2 * N - 2)) warm runs, before and after):"
echo "  probe: cpregd $probe ms (a running daemon's re-probes, health's inventory_probe_ms, whole ms), bare loop $bare ms: ratio $(echo "scale=2; $probe / $bare" | bc 2>/dev/null)"
echo "  the bare loop in a process shaped like cpregd's (its own thread beside two idle ones, ~130 mappings): $threaded ms: ratio to the bare loop $(echo "scale=2; $threaded / $bare" | bc 2>/dev/null)"
echo "  libcpreg's cpreg_probe() in a bare process, each after a second idle: $inproc ms (its own duration): ratio to the bare loop $(echo "scale=2; $inproc / $bare" | bc 2>/dev/null)"
echo "  trial: cpregd $trial ms (the verdict's trial.duration_ms, whole ms; a self-check writing every value), bare loop $baret ms: ratio $(echo "scale=2; $trial / $baret" | bc 2>/dev/null)"
