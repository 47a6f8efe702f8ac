#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The live trial on real KVM: 16 ordered host pairs across five emulated
# CPUs and three kernels.  Each destination boots once, runs cpregd, and
# checks every source inventory (cpregd's own probes of the source hosts,
# tests/data/probed) under QEMU 11.1 rules with the trial.
#
# tests/vm/trial-expected.txt holds the outcomes seen on real kernels: the
# result and the registers that fail, per pair.  The suite asserts them.
# Record them again with CPREG_RECORD=1 (after checking the diff).
#
# The static model is compared with the trial register by register (the
# daemon lists every contradiction); the agreement is printed, and every
# disagreement must be listed in tests/vm/known-limitations.txt with its reason.
set -u
. "$top_srcdir/tests/vm/lib.sh"
vm_setup
P=$top_srcdir/tests/data/probed
OUT=$top_builddir/tests/vm-out/trial
rm -rf "$OUT"; mkdir -p "$OUT"
EXPECTED=$top_srcdir/tests/vm/trial-expected.txt
LIMITS=$top_srcdir/tests/vm/known-limitations.txt
RECORD=${CPREG_RECORD:-0}
[ "$RECORD" = 1 ] && : >"$OUT/expected.new"

# destination (cpu:series) -> sources
PLAN="neoverse-n1:6.12=neoverse-n1_linux-7.2,cortex-a57_linux-6.12,cortex-a72_linux-6.12,a64fx_linux-6.12,neoverse-n1_linux-6.1,max_linux-6.12
cortex-a57:6.12=neoverse-n1_linux-6.12,cortex-a72_linux-6.12
neoverse-n1:7=neoverse-n1_linux-6.12,cortex-a57_linux-7.2,max_linux-7.2
neoverse-n1:6.1=neoverse-n1_linux-6.12,cortex-a57_linux-6.1
max:6.12=neoverse-n1_linux-6.12,a64fx_linux-6.12
a64fx:6.12=max_linux-6.12"

fails_of() { # the failing findings' names, sorted, comma-separated
	grep -o '"name": "[^"]*", "kind": "[a-z-]*", "outcome": "fail"' "$1" | sed 's/"name": "\([^"]*\)".*/\1/' |
		sort | paste -sd, - | sed 's/^$/-/'
}
result_of() { sed -n 's/^  "result": "\(.*\)",$/\1/p' "$1"; }

pairs=0; agree_regs=0; total_regs=0
while IFS== read -r dst srcs; do
	cpu=${dst%%:*}; series=${dst#*:}; rel=$(release_of "$series")
	files=()
	for s in ${srcs//,/ }; do files+=("$P/$s.json"); done
	d=$OUT/$cpu-$rel
	if ! boot "$cpu" "$rel" "$cpu-$rel" "$top_srcdir/tests/vm/host.sh" "$d" "${files[@]}"; then
		ok 1 "destination $cpu on $rel boots (see $d/console.log)"
		continue
	fi
	dkernel=$(cat "$d/kernel")
	for s in ${srcs//,/ }; do
		v=$d/check-$s-qemu-11.1
		pairs=$((pairs + 1))
		name="$s -> $cpu $dkernel"
		grep -q '"trial": {"ran": true' "$v"
		ok $? "$name: the trial ran on real KVM ($(sed -n 's/.*"summary": "\([^"]*\)".*/\1/p' "$v" | head -n 1))"
		res=$(result_of "$v"); fl=$(fails_of "$v")
		line="$cpu:$series $s $res fail=$fl"
		if [ "$RECORD" = 1 ]; then
			echo "$line" >>"$OUT/expected.new"
		else
			exp=$(grep "^$cpu:$series $s " "$EXPECTED" | head -n 1)
			[ "$exp" = "$line" ]
			ok $? "$name: $res, as recorded$( [ "$exp" = "$line" ] || echo " (expected: ${exp:-nothing recorded}; got: $line)")"
		fi
		# Static model against the trial, register by register.
		n=$(grep -c '"kind": "value-differs"' "$v")
		c=$(grep -o '{"id": "0x[0-9a-f]*", "name": "[^"]*", "static": "[a-z]*", "trial": "[a-z]*"}' "$v" |
			sed 's/.*"name": "\([^"]*\)", "static": "\([a-z]*\)", "trial": "\([a-z]*\)".*/\1 static=\2 trial=\3/')
		nc=$( [ -n "$c" ] && echo "$c" | wc -l || echo 0)
		total_regs=$((total_regs + n)); agree_regs=$((agree_regs + n - nc))
		diag "$name: static and trial agree on $((n - nc)) of $n differing registers"
		unlisted=0
		while read -r reg rest; do
			[ -n "$reg" ] || continue
			if ! grep -q "^$cpu:$series $s $reg $rest " "$LIMITS" 2>/dev/null; then
				unlisted=$((unlisted + 1)); diag "  not in known-limitations.txt: $cpu:$series $s $reg $rest"
			fi
		done <<<"$c"
		ok $unlisted "$name: every disagreement of the static model with the trial is a listed known limitation"
	done
done <<<"$PLAN"
diag "static model vs live trial: agreement on $agree_regs of $total_regs differing registers over $pairs pairs"
echo "$agree_regs $total_regs $pairs" >"$OUT/agreement"
[ "$RECORD" = 1 ] && cp "$OUT/expected.new" "$EXPECTED" && diag "recorded $EXPECTED"
done_testing
