#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The offline check against real migrations, in every build (no emulation):
# tests/vm/migrate-expected.txt holds what real QEMU did between emulated
# hosts (tests/vm/vm-migrate.sh, CPREG_RECORD=1), tests/data/migrate/ the
# inventories those hosts' cpregd exported in the same run.  For every
# recorded pair, cpregctl's offline verdict and the registers it predicts
# KVM to refuse must equal the real outcome, or the pair must be listed in
# tests/vm/migrate-known-issues.txt with its cause (reported as TODO).
# A chain's last hop is judged from the VM's passport (born on the first
# host, after its hop to the second by the kernel model).
set -u
. "$top_srcdir/tests/verdict.sh"
EXPECTED=$top_srcdir/tests/vm/migrate-expected.txt
KNOWN=$top_srcdir/tests/vm/migrate-known-issues.txt
INV=$top_srcdir/tests/data/migrate
CTL=$top_builddir/daemon/cpregctl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0; pairs=0; fail=0; agree=0; agree_set=0
while read -r src dst opts res refused rest; do
	case $src in '#'* | '') continue ;; esac
	refused=${refused#refused=}
	name="$src -> $dst"
	[ "$opts" = - ] || name="$name [$opts]"
	n=$((n + 1)); pairs=$((pairs + 1))
	# A chain's last hop, "A>B": the VM born on A (its passport, cpregctl
	# passport), after its hop to B by the kernel model (passport --hop),
	# judged for C by that passport alone (it carries the VM's options).
	born=${src%%>*}; via=${src#*>}; [ "$via" = "$src" ] && via=""
	if [ ! -f "$INV/$born.json" ] || [ ! -f "$INV/$dst.json" ] || { [ -n "$via" ] && [ ! -f "$INV/$via.json" ]; }; then
		echo "not ok $n - $name: the hosts' inventories are in tests/data/migrate"
		fail=$((fail + 1))
		continue
	fi
	v=$tmp/v.json
	if [ -n "$via" ]; then
		# shellcheck disable=SC2046
		"$CTL" passport $(ctl_opts "$opts") "$INV/$born.json" >"$tmp/born.json" &&
			"$CTL" passport --hop "$INV/$via.json" "$tmp/born.json" >"$tmp/src.json"
		if [ $? != 0 ]; then
			echo "not ok $n - $name: the VM's passport born on $born and after its hop to $via"
			fail=$((fail + 1))
			continue
		fi
		"$CTL" --json check "$tmp/src.json" "$INV/$dst.json" >"$v" 2>"$tmp/err"
	else
		# shellcheck disable=SC2046
		"$CTL" --json $(ctl_opts "$opts") check "$INV/$src.json" "$INV/$dst.json" >"$v" 2>"$tmp/err"
	fi
	rc=$?
	if ! [ -s "$v" ] || ! jq -e .result "$v" >/dev/null 2>&1; then
		echo "not ok $n - $name: cpregctl answered (exit $rc: $(head -c 200 "$tmp/err"))"
		fail=$((fail + 1))
		continue
	fi
	got=$(jq -r .result "$v"); set=$(predicted "$v")
	[ "$got" = "$res" ] && agree=$((agree + 1))
	# "?": QEMU before 10.0 does not say which registers KVM refused.
	sok=1; { [ "$refused" = "?" ] || [ "$set" = "$refused" ]; } && sok=0
	[ $sok = 0 ] && agree_set=$((agree_set + 1))
	# The exit status follows the verdict (0 compatible, 1 otherwise).
	want_rc=1; [ "$got" = compatible ] && want_rc=0
	known=$(grep "^$src $dst $opts " "$KNOWN" 2>/dev/null | sed 's/^[^ ]* [^ ]* [^ ]* //' | head -n 1)
	if [ "$got" = "$res" ] && [ $sok = 0 ] && [ $rc = $want_rc ]; then
		echo "ok $n - $name: $got as real QEMU; refused $(names "$set" "$v")"
	elif [ -n "$known" ]; then
		echo "not ok $n - $name: cpregctl $got (refused $(names "$set" "$v")), real $res (refused $(names "$refused" "$v")) # TODO known issue: $known"
	else
		echo "not ok $n - $name: cpregctl $got (refused $(names "$set" "$v")), real $res (refused $(names "$refused" "$v")), exit $rc"
		fail=$((fail + 1))
	fi
	# The destination's check with a trial whose kernel refuses what the real one did.
	if [ "$refused" != "?" ] && [ -z "$via" ]; then
		psci=-; dis=-
		for o in ${opts//,/ }; do
			case $o in -) ;; kvm-psci-version=*) psci=${o#kvm-psci-version=} ;; *) dis=$o ;; esac
		done
		"$top_builddir/tests/replay-check" "$INV/$src.json" "$INV/$dst.json" "$refused" "$psci" "$dis" >"$tmp/t.json" 2>"$tmp/err"
		tgot=$(jq -r .result "$tmp/t.json" 2>/dev/null); tset=$(predicted "$tmp/t.json" 2>/dev/null)
		n=$((n + 1))
		if [ "$tgot" = "$res" ] && [ "$tset" = "$refused" ]; then
			echo "ok $n - $name: the trial merge with the real kernel's refusals replayed gives $tgot as real QEMU"
		else
			echo "not ok $n - $name: with the real refusals replayed cpregd says $tgot (refused $tset), real $res ($(head -c 200 "$tmp/err"))"
			fail=$((fail + 1))
		fi
	fi
done <"$EXPECTED"
echo "# offline verdicts equal real migrations on $agree of $pairs pairs; refused registers on $agree_set of $pairs"
echo "1..$n"
[ $pairs -gt 0 ] && [ $fail = 0 ]
