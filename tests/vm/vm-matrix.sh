#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The kernel model against the live trial over the whole test-bed matrix
# (issue 25): every host kind of migrate-pairs.txt (CPU and kernel) boots
# once, and its cpregd judges every recorded inventory of tests/data/migrate
# under both QEMU policies with its live trial (matrix-host.sh).  A verdict
# lists each register where the trial contradicts the kernel model; this
# counts them, per destination and in all.  make check-matrix; not in CI
# (12 boots, each judging 28 sources).
set -u
. "$top_srcdir/tests/vm/lib.sh"
vm_setup
OUT=$top_builddir/tests/vm-out/matrix
rm -rf "$OUT"; mkdir -p "$OUT"
total=0 contra=0 regs=0
while read -r kw name cpu krel qrel; do
	[ "$kw" = host ] || continue
	key="$cpu $krel"
	case " ${seen:-} " in *" $key "*) continue ;; esac
	seen="${seen:-} $key"
	boot "$cpu" "$krel" "$name" "$top_srcdir/tests/vm/matrix-host.sh" "$OUT/$name" "$top_srcdir"/tests/data/migrate/*.json
	ok $? "destination $name ($cpu, $krel kernel) boots and judges every source"
	nv=0 c=0 r=0   # (n is tap.sh's test counter)
	for v in "$OUT/$name"/m-*; do
		case $v in *.rc) continue ;; esac
		jqe '.trial.ran == true' "$v" >/dev/null 2>&1 || { diag "$name: $(basename "$v"): no trial"; continue; }
		nv=$((nv + 1))
		k=$(jq '.trial.contradictions | length' "$v")
		[ "$k" -gt 0 ] && { c=$((c + 1)); r=$((r + k)); diag "$name: $(basename "$v"): $(jq -c '[.trial.contradictions[] | .name + " " + .static + "->" + .trial]' "$v")"; }
	done
	diag "$name: $nv verdicts with the trial, $c contradicting the model ($r registers)"
	total=$((total + nv)) contra=$((contra + c)) regs=$((regs + r))
done <"$top_srcdir/tests/vm/migrate-pairs.txt"
diag "in all: $total verdicts with the trial, $contra contradicting the kernel model ($regs registers)"
ok "$([ "$total" -gt 0 ] && [ "$contra" = 0 ]; echo $?)" "the kernel model and the trial never contradict each other ($contra of $total verdicts do)"
done_testing
