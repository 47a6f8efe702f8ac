#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cpregctl's offline commands on the real fixtures: exit codes, JSON and
# table output, diff by field, explain with remedies, matrix pools, the
# VM's pinned PSCI version, bad input.  Expectations come from BRIEF
# sections 5 and 6 and from the trial on real kernels (tests/vm).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
C=$top_builddir/daemon/cpregctl
P=$top_srcdir/tests/data/probed
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$top_srcdir/tests/tap.sh"

"$C" check -p qemu-11.1 "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$T/out"; rc=$?
[ $rc = 0 ] && grep -q 'compatible' "$T/out" && grep -q 'trial: offline check: no trial ran' "$T/out"
ok $? "offline check 6.12 -> 7.2 under qemu-11.1: exit 0, and it says no trial ran"
"$C" check -p qemu-legacy "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$T/out"; rc=$?
[ $rc = 1 ] && grep -q 'count-exceeded' "$T/out"
ok $? "the same under qemu-legacy: exit 1, count-exceeded"
"$C" --json check -p qemu-11.1 "$P/neoverse-n1_linux-7.2.json" "$P/neoverse-n1_linux-6.12.json" >"$T/v.json"; rc=$?
[ $rc = 1 ] && jqe '.schema == "cpreg-verdict/1" and .trial.ran == false and
	(.trial.summary | startswith("offline check: no trial ran"))' "$T/v.json" >/dev/null
ok $? "--json: a cpreg-verdict/1 document that says no trial ran offline"
"$C" check -p qemu-11.1 --psci-version 1.1 "$P/neoverse-n1_linux-7.2.json" "$P/neoverse-n1_linux-6.12.json" >/dev/null
ok $? "7.2 -> 6.12 with the VM pinning PSCI 1.1: compatible (measured with real QEMU: it loads)"

"$C" check -p qemu-11.1 "$P/max_linux-6.12.json" "$P/neoverse-n1_linux-6.12.json" >"$T/out"; rc=$?
[ $rc = 1 ] && grep -q 'APIAKEYLO_EL1' "$T/out"
ok $? "max -> n1 on 6.12: the pointer-auth keys are unknown on n1"
"$C" check -p qemu-11.1 --disable pauth=off,sve=off "$P/max_linux-6.12.json" "$P/neoverse-n1_linux-6.12.json" >"$T/out"
! grep -q 'APIAKEYLO_EL1\|ZCR_EL1' "$T/out"
ok $? "  with the VM's pauth=off,sve=off the keys and ZCR_EL1 leave the source (KVM hides them from such a vCPU)"
"$C" explain -p qemu-11.1 "$P/neoverse-n1_linux-7.2.json" "$P/neoverse-n1_linux-6.12.json" >"$T/explain"; rc=$?
[ $rc = 1 ] && grep -q '^NO: incompatible' "$T/explain" && grep -q 'kvm-psci-version=1.1' "$T/explain"
ok $? "explain 7.2 -> 6.12: NO, and names -cpu host,kvm-psci-version=1.1 as the remedy"
"$C" explain -p qemu-11.1 "$P/neoverse-n1_linux-6.12.json" "$P/cortex-a57_linux-6.12.json" >"$T/explain2"
grep -q 'ID_AA64ISAR0_EL1.Atomic (FEAT_LSE): 2 -> 0' "$T/explain2" && grep -q 'MIDR_EL1.PartNum: 0xd0c -> 0xd07' "$T/explain2"
ok $? "explain n1 -> a57: failing fields by name (Atomic FEAT_LSE 2 -> 0, MIDR PartNum in hex: 0xd0c (Neoverse N1) -> 0xd07 (Cortex-A57))"
[ "$(grep -n '^ *[0-9]*\. ' "$T/explain2" | head -n 1 | grep -c fail)" = 1 ] &&
	! awk '/^ *[0-9]+\. / { if ($2 != "fail") seen = 1; else if (seen) bad = 1 } END { exit !bad }' "$T/explain2"
ok $? "explain lists failures first"
"$C" explain -p qemu-legacy "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$T/explain3"
grep -q 'QEMU 11.1 or later has no count check' "$T/explain3" && grep -q 'QEMU 11.1 or later tolerates TCR2_EL1' "$T/explain3"
ok $? "explain under qemu-legacy: QEMU 11.1 named as the remedy for the count and TCR2_EL1"
# explain --json: each failing finding's reason and structured remedies, and each remedy proven by
# checking again with it applied (the outcome it promises is the library's own rule, BRIEF 5).
M=$top_srcdir/tests/data/migrate
"$C" --json explain "$M/a57-72-q11.json" "$M/a57-612-q10.json" >"$T/ex.json"
psci=$(jq -r '[.findings[] | select(.reason == "psci-version") | .remedies[] | select(.kind == "vm-option") | .qemu][0]' "$T/ex.json")
[ "$psci" = "kvm-psci-version=1.1" ]
ok $? "explain --json a57 7.2 -> 6.12: the PSCI finding's remedy is the VM option $psci"
"$C" --json --psci-version "${psci#kvm-psci-version=}" check "$M/a57-72-q11.json" "$M/a57-612-q10.json" >"$T/ex2.json"
jqe '[.findings[] | select(.reason == "psci-version" and .outcome == "fail")] | length == 0' "$T/ex2.json" >/dev/null
ok $? "  and with it applied (--psci-version ${psci#kvm-psci-version=}) no PSCI finding fails"
"$C" --json explain "$M/a64fx-61-q72.json" "$M/a57-612-q10.json" >"$T/ex3.json"
jqe '[.findings[] | select(.reason == "feature-missing" and .name == "sve") | .remedies[] | select(.kind == "vm-option")][0]
	| .qemu == "sve=off" and .libvirt == "<cpu><feature policy='"'disable'"' name='"'sve'"'/></cpu>"' "$T/ex3.json" >/dev/null
ok $? "explain --json a64fx -> a57: SVE missing, the remedy is sve=off, with its libvirt element"
"$C" --json --disable sve=off check "$M/a64fx-61-q72.json" "$M/a57-612-q10.json" >"$T/ex4.json"
jqe '[.findings[] | select(.reason == "feature-missing" and .name == "sve")] | length == 0' "$T/ex4.json" >/dev/null
ok $? "  and with sve=off no SVE finding is left"
"$C" --json explain -p qemu-legacy "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$T/ex5.json"
jqe '[.findings[] | select(.reason == "count-exceeded") | .remedies[] | select(.kind == "qemu")][0].min_version == "11.1"' \
	"$T/ex5.json" >/dev/null
ok $? "explain --json under qemu-legacy: the count's remedy is a QEMU of at least 11.1"
"$C" --json check -p qemu-11.1 "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$T/ex6.json"; rc=$?
[ $rc = 0 ] && jqe '[.findings[] | select(.reason == "count-exceeded")] | length == 0' "$T/ex6.json" >/dev/null
ok $? "  and under QEMU 11.1's policy there is no count check: compatible"
jqe -s '[.[].findings[]] | ([.[] | select((.outcome == "fail" or .outcome == "unknown") and (.remedies | length) == 0)] | length == 0)
	and ([.[] | select((.outcome == "ok" or .outcome == "tolerated") and (.remedies | length) > 0)] | length == 0)
	and ([.[] | select(.outcome == "fail")] | length > 10)' "$T/ex.json" "$T/ex3.json" "$T/ex5.json" >/dev/null
ok $? "every fail or unknown finding has a remedy, and no ok or tolerated one has any"
grep -q 'remedy (vm-option): pin the VM.s PSCI version' <("$C" explain "$M/a57-72-q11.json" "$M/a57-612-q10.json")
ok $? "explain's text prints the same remedies, with their kind"
COLUMNS=80 "$C" explain "$M/a57-72-q11.json" "$M/a57-612-q10.json" >"$T/ex80"
COLUMNS=80 "$C" check "$M/a57-72-q11.json" "$M/a57-612-q10.json" >>"$T/ex80"
! awk 'length($0) > 80 { bad = 1 } END { exit !bad }' "$T/ex80" && grep -q 'kvm-psci-version=1.1' "$T/ex80"
ok $? "on an 80-column terminal (COLUMNS=80) explain and check wrap every line to 80 characters"

"$C" explain -p qemu-11.1 "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-6.1.json" >"$T/explain4"
grep -q 'does not list CNTP_CTL_EL0' "$T/explain4"
ok $? "explain 6.12 -> 6.1: the physical timer unknown to the older kernel"

"$C" diff "$P/neoverse-n1_linux-6.12.json" "$P/cortex-a57_linux-6.12.json" >"$T/diff"; rc=$?
[ $rc = 1 ] && grep -q '^ID_AA64ISAR0_EL1 ' "$T/diff" && grep -q '^    ID_AA64ISAR0_EL1.Atomic (FEAT_LSE): 2 -> 0$' "$T/diff" &&
	! grep -q 'CNTVCT_EL0' "$T/diff"
ok $? "diff: exit 1, by name, fields under ID registers, counters left out"
"$C" diff "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-6.12.json" >"$T/diff2"; rc=$?
[ $rc = 0 ] && grep -q '^0 differences' "$T/diff2"
ok $? "diff of a host with itself: exit 0"
"$C" --json diff "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$T/diff.json"
jqe '.differences[] | select(.name == "TCR2_EL1") | .a == "0x0" and .b == null' "$T/diff.json" >/dev/null
ok $? "diff --json: a register on one side only has null on the other"
cp "$P/neoverse-n1_linux-6.12.json" "$T/we\"ird\\name.json"
"$C" --json diff "$T/we\"ird\\name.json" "$P/neoverse-n1_linux-7.2.json" | jqe --arg f "$T/we\"ird\\name.json" '.a == $f' >/dev/null
ok $? "diff --json with a quote and a backslash in a file name: valid JSON that names the file"

"$C" --json matrix "$P"/neoverse-n1_linux-6.12.json "$P"/neoverse-n1_linux-6.12.json "$P"/neoverse-n1_linux-7.2.json \
	"$P"/cortex-a57_linux-6.12.json -p qemu-11.1 >"$T/m.json"; rc=$?
[ $rc = 1 ] && jqe '(.pools | length) == 3 and (.pairs | length) == 9 and
	(.pairs[] | select(.source == 0 and .destination == 1) | .result == "compatible")' "$T/m.json" >/dev/null
ok $? "matrix: 4 hosts in 3 pools (identical digests pooled), 9 pool pairs, 6.12 -> 7.2 compatible"

# The man pages name every option each program's --help lists (so the two cannot drift apart).
r=0; missing=""
for prog in cpregctl:1 cpregd:8; do
	name=${prog%:*}; sec=${prog#*:}
	for o in $("$top_builddir/daemon/$name" --help | grep -o -- '--[a-z][a-z-]*' | sort -u) --help --version; do
		grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$top_srcdir/man/$name.$sec" || { r=1; missing="$missing $name:$o"; }
	done
done
ok $r "man pages: cpregctl.1 and cpregd.8 name every option --help lists${missing:+ (missing:$missing)}"
echo '{"schema": "cpreg-inventory/1", "registers": [{"id": "0x603000000013c000", "value": "0x1"}, {"id": "0x603000000013c000", "value": "0x2"}]}' >"$T/dup.json"
"$C" check "$T/dup.json" "$P/neoverse-n1_linux-6.12.json" 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'dup.json:registers\[1\].id: duplicate register' "$T/err"
ok $? "a bad file: exit 2, naming file and JSON path"
"$C" check -p qemu-9 "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-6.12.json" 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'neither qemu-legacy' "$T/err"
ok $? "an unknown policy: exit 2"
"$C" --psci-version one check "$P/neoverse-n1_linux-6.12.json" 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'psci-version' "$T/err"
ok $? "a malformed PSCI version: exit 2"
"$C" frobnicate 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'unknown command' "$T/err"
ok $? "an unknown command: exit 2"
"$top_builddir/tests/cpregctl" probe --replay "$P/max_linux-7.2.json" >"$T/p.json" && "$top_builddir/tests/invinfo" "$T/p.json" | grep -q '^count=360$'
ok $? "probe --replay: the whole probe path on a recorded host, 360 registers"

if command -v qemu-system-aarch64 >/dev/null; then
	want=$(qemu-system-aarch64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
	"$top_builddir/tests/cpregctl" probe --replay "$P/neoverse-n1_linux-6.12.json" --qemu qemu-system-aarch64 >"$T/q.json"
	grep -q "\"qemu_version\": \"$want\"" "$T/q.json"
	ok $? "probe --qemu records the installed QEMU's version ($want)"
else
	n=$((n + 1)); echo "ok $n # SKIP qemu-system-aarch64 not installed"
fi

# Every kind of bad input file, for every command that reads inventories:
# exit 2, the file (and where known the JSON path) named on stderr, nothing on
# stdout, never a crash (the ASan+UBSan build runs this too).
GOOD=$P/neoverse-n1_linux-6.12.json
mkdir "$T/dir"
mkfifo "$T/fifo"
head -c 5000 "$GOOD" >"$T/truncated.json"
head -c 4096 /dev/urandom >"$T/random.json"
{ printf '{"schema": "cpreg-inventory/1", "pad": "'; head -c 52000000 /dev/zero | tr '\0' 'x'; printf '", "registers": []}'; } >"$T/huge.json"
sed 's/"cpreg-inventory\/1"/"cpreg-inventory\/9"/' "$GOOD" >"$T/schema.json"
jq '.registers[3].id = "0x1234"' "$GOOD" >"$T/badid.json"
for bad in missing.json dir fifo /dev/null truncated.json random.json huge.json schema.json badid.json; do
	case $bad in /*) f=$bad ;; *) f=$T/$bad ;; esac
	for cmd in "check $f $GOOD" "check $GOOD $f" "diff $f $GOOD" "matrix $GOOD $f" "explain $f $GOOD" \
		"pools $GOOD $f" "profile $f $GOOD" "plan --before $GOOD --after $f"; do
		# A FIFO nobody writes to must not hang the command: a writer that closes at once.  The writer
		# opens it read-write, which never blocks: cpregctl may have opened, read EOF and exited before
		# it (a write-only open would then wait for a reader for ever).
		[ "$bad" = fifo ] && { (exec 3<>"$T/fifo"; sleep 0.2) & }
		timeout 60 "$C" $cmd >"$T/out" 2>"$T/err"; rc=$?
		[ "$bad" = fifo ] && wait
		r=0
		[ $rc = 2 ] || r=1
		[ -s "$T/out" ] && r=1
		grep -q "$(basename "$f")" "$T/err" || r=1
		ok $r "bad input $bad, cpregctl ${cmd%% *}: exit 2 ($rc), named: $(head -c 150 "$T/err")"
	done
done
# Standard input is bounded like files: 20 MB of zeros piped in are refused while being read.
head -c 20000000 /dev/zero | "$C" -s "$T/nosock" check - >"$T/out" 2>"$T/err"; rc=$?
ok "$([ $rc = 2 ] && grep -q 'larger than 16777216 bytes' "$T/err"; echo $?)" "cpregctl check - with 20 MB on stdin: exit 2 ($rc), $(head -c 80 "$T/err")"
# bash completion: commands first, then inventory files; policy names after -p.
comp() { # comp WORD...: what completing the last word offers
	bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cpregctl; printf "%s\n" "${COMPREPLY[@]}"' \
		"$top_srcdir/daemon/cpregctl.bash-completion" "$@"
}
[ "$(comp cpregctl pr | sort | paste -sd' ')" = "probe profile" ]
ok $? "bash completion: cpregctl pr<TAB> offers probe and profile"
[ "$(comp cpregctl -p qemu- | sort | paste -sd' ')" = "qemu-11.1 qemu-legacy" ]
ok $? "bash completion: -p qemu-<TAB> offers the built-in policies"
(cd "$P" && comp cpregctl check neoverse-n1_linux-6.1 | grep -qx 'neoverse-n1_linux-6.12.json')
ok $? "bash completion: after a command, inventory files"
cmds=$("$C" --help | sed -n '/^Commands:/,/^$/p' | awk '/^  [a-z]/ { print $1 }' | sort -u | paste -sd' ')
[ -n "$cmds" ] && [ "$(comp cpregctl '' | sort | paste -sd' ')" = "$cmds" ]
ok $? "bash completion: cpregctl <TAB> offers every command --help lists ($cmds)"
# The installed programs ship no test double (tests/README): the replay backend is linked into
# tests/cpregd and tests/cpregctl only.
! strings "$top_builddir/daemon/cpregd" "$top_builddir/daemon/cpregctl" | grep -qi replay
ok $? "the installed cpregd and cpregctl carry no replay backend (no \"replay\" in their strings)"
"$top_builddir/daemon/cpregctl" probe --replay "$P/max_linux-7.2.json" >/dev/null 2>"$T/err"; rc=$?
"$top_builddir/daemon/cpregd" --replay "$P/max_linux-7.2.json" --socket "$T/no.sock" >/dev/null 2>>"$T/err"; rc2=$?
[ $rc = 2 ] && [ $rc2 = 2 ] && grep -q "unrecognized option '--replay'" "$T/err"
ok $? "  and refuse --replay as an unknown option (exit 2)"
done_testing
