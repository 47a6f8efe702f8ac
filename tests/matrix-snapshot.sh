#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# matrix-snapshot.sh CPREGCTL OUTDIR: every answer cpregctl gives over the
# test bed's recorded inventories, one file each, for a refactor to prove
# that it changed no verdict and no output: run it with the old and the new
# cpregctl and compare the two directories with diff -r.
#
# Covered: check (text and JSON), explain and diff for every ordered pair of
# tests/data/probed and tests/data/migrate, under both built-in policies and
# the destination's own QEMU, with no VM options and with each kind of
# option (PSCI pinned, PMU off, SVE off with a vector-length bound, pointer
# auth off); matrix, pools, profile and plan over the fleets.  Exit codes are
# recorded with the output.
#
# matrix-snapshot.sh --compare OLD NEW: the files that differ in bytes, and
# of those the ones whose JSON parses to another value (or whose text or
# exit code differs): the second list must be empty.
set -u
if [ "${1:-}" = --compare ]; then
	exec python3 - "$2" "$3" <<'PY'
import json, os, sys
old, new = sys.argv[1:3]
names = sorted(set(os.listdir(old)) | set(os.listdir(new)))
bytes_differ = values_differ = 0
for n in names:
    try:
        a, b = open(os.path.join(old, n)).read(), open(os.path.join(new, n)).read()
    except OSError:
        print("only on one side:", n); values_differ += 1; continue
    if a == b:
        continue
    bytes_differ += 1
    (ja, ea), (jb, eb) = a.rsplit("exit ", 1), b.rsplit("exit ", 1)
    try:
        same = ea == eb and json.loads(ja) == json.loads(jb)
    except ValueError:
        same = False
    if not same:
        values_differ += 1
        print("differs:", n)
print(f"{len(names)} files, {bytes_differ} differ in bytes, {values_differ} in value")
sys.exit(1 if values_differ else 0)
PY
fi
ctl=$1
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"

run() { # run NAME ARGS...: stdout, stderr and the exit code into OUTDIR/NAME
	name=$1
	shift
	"$ctl" "$@" >"$out/$name.out" 2>"$out/$name.err"
	echo "exit $?" >>"$out/$name.out"
}

files="$top/tests/data/probed/*.json $top/tests/data/migrate/*.json"
for a in $files; do
	for b in $files; do
		[ "$a" = "$b" ] && continue
		pa=$(basename "$(dirname "$a")")-$(basename "$a" .json)
		pb=$(basename "$(dirname "$b")")-$(basename "$b" .json)
		for pol in auto qemu-legacy qemu-11.1; do
			run "check-$pa-$pb-$pol" --json --no-trial -p "$pol" check "$a" "$b"
		done
		run "explain-$pa-$pb" explain "$a" "$b"
		run "explainj-$pa-$pb" --json explain "$a" "$b"
		run "checkt-$pa-$pb" --no-trial check "$a" "$b"
		run "diff-$pa-$pb" diff "$a" "$b"
		run "diffj-$pa-$pb" --json diff "$a" "$b"
		run "check-psci-$pa-$pb" --json --no-trial --psci-version 1.1 check "$a" "$b"
		run "check-off-$pa-$pb" --json --no-trial --disable pmu=off,sve=off,pauth=off check "$a" "$b"
		run "check-vq-$pa-$pb" --json --no-trial --sve-max-vq 2 check "$a" "$b"
		run "explain-vm-$pa-$pb" --disable pauth=off --psci-version 1.0 explain "$a" "$b"
	done
done
p="$top/tests/data/probed"
for pol in auto qemu-11.1; do
	run "matrix-$pol" -p "$pol" matrix $p/*.json
	run "matrixj-$pol" --json -p "$pol" matrix $p/*.json
	run "pools-$pol" -p "$pol" pools "$p"
	run "poolsj-$pol" --json -p "$pol" pools "$p"
	run "profile-$pol" -p "$pol" profile "$p"
	run "profilej-$pol" --json -p "$pol" profile "$p"
	run "plan-$pol" -p "$pol" plan --before $p/*6.12.json --after $p/*7.2.json
	run "planj-$pol" --json -p "$pol" plan --before $p/*6.1.json --after $p/*6.12.json
done
run "pools-vm" --disable pmu=off --psci-version 1.0 pools "$p"
run "profile-n1" profile $p/neoverse-n1*.json
run "profilej-a64fx" --json profile $p/a64fx*.json
