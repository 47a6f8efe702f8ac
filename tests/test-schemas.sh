#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The documents cpregctl and the library write, checked by a JSON Schema
# validator (Debian's python3-jsonschema) against docs/schemas/: verdicts
# offline and with a trial, pools, profiles (offered or not) and plans,
# produced from the real fixtures.
set -u
CTL=$top_builddir/daemon/cpregctl
P=$top_srcdir/tests/data/probed
S=$top_srcdir/docs/schemas
V=$top_srcdir/tests/validate-json.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$top_srcdir/tests/tap.sh"
if ! /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	echo "1..0 # SKIP python3-jsonschema is not installed (tests/install-deps.sh installs it)"
	exit 0
fi
i=0
for pair in "neoverse-n1_linux-6.12 neoverse-n1_linux-7.2" "neoverse-n1_linux-7.2 neoverse-n1_linux-6.12" \
	"neoverse-n1_linux-6.12 cortex-a57_linux-6.12" "max_linux-6.12 a64fx_linux-6.12" "neoverse-n1_linux-6.1 neoverse-n1_linux-6.12"; do
	set -- $pair
	i=$((i + 1))
	"$CTL" --json check "$P/$1.json" "$P/$2.json" >"$tmp/v$i.json"
	"$CTL" --json -p qemu-11.1 --psci-version 1.1 --disable pmu=off check "$P/$1.json" "$P/$2.json" >"$tmp/w$i.json"
	"$top_builddir/tests/replay-check" "$P/$1.json" "$P/$2.json" - - - >"$tmp/t$i.json"
done
/usr/bin/python3 "$V" "$S/cpreg-verdict-1.schema.json" "$tmp"/v*.json "$tmp"/w*.json "$tmp"/t*.json >"$tmp/err" 2>&1
ok $? "cpreg-verdict/1: $i pairs offline, with VM options, and with a trial merged ($(head -c 300 "$tmp/err"))"
"$CTL" --json pools "$P" >"$tmp/pools.json"
"$CTL" --json -p qemu-11.1 profile "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$tmp/prof-yes.json"
"$CTL" --json profile "$P/neoverse-n1_linux-6.12.json" "$P/cortex-a57_linux-6.12.json" >"$tmp/prof-no.json"
"$CTL" --json plan --before "$P/neoverse-n1_linux-6.12.json" "$P/cortex-a57_linux-6.12.json" \
	--after "$P/neoverse-n1_linux-7.2.json" >"$tmp/plan.json"
# The VM as the unit: a plan's lineages, and a passport among the pools' and the profile's files.
"$CTL" --json plan --before "$P/neoverse-n1_linux-6.1.json" --after "$P/a64fx_linux-6.1.json" >"$tmp/plan-ne.json"
"$CTL" passport "$P/neoverse-n1_linux-6.12.json" >"$tmp/vm.json"
"$CTL" --json pools "$P" "$tmp/vm.json" >"$tmp/pools-vm.json"
"$CTL" --json -p qemu-11.1 profile "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" "$tmp/vm.json" >"$tmp/prof-vm.json"
for f in pools prof-yes prof-no plan plan-ne pools-vm prof-vm; do
	/usr/bin/python3 "$V" "$S/cpreg-pools-1.schema.json" "$tmp/$f.json" >"$tmp/err" 2>&1
	ok $? "$f: valid against cpreg-pools-1.schema.json ($(head -c 300 "$tmp/err"))"
done
# The profile and the plan against their own schemas too (issue 26).
/usr/bin/python3 "$V" "$S/cpreg-profile-1.schema.json" "$tmp/prof-yes.json" "$tmp/prof-no.json" "$tmp/prof-vm.json" >"$tmp/err" 2>&1
ok $? "profiles (offered, not offered, with a passport): valid against cpreg-profile-1.schema.json ($(head -c 300 "$tmp/err"))"
/usr/bin/python3 "$V" "$S/cpreg-plan-1.schema.json" "$tmp/plan.json" "$tmp/plan-ne.json" >"$tmp/err" 2>&1
ok $? "plans: valid against cpreg-plan-1.schema.json ($(head -c 300 "$tmp/err"))"
! /usr/bin/python3 "$V" "$S/cpreg-plan-1.schema.json" "$tmp/pools.json" >/dev/null 2>&1
ok $? "  and a pools document is not a plan"
# Site policies: the one docs/policy.md shows, one that cpregctl reads and uses, and a wrong one.
sed -n '/^## Site policy file/,$p' "$top_srcdir/docs/policy.md" | sed -n '/^```json$/,/^```$/p' | sed '1d;$d' >"$tmp/pol-doc.json"
printf '{"schema": "cpreg-policy/1", "name": "t", "base": "qemu-11.1", "tolerances": [{"register": "CNTP_CTL_EL0", "type": "NotOnBothEnds"}]}\n' >"$tmp/pol.json"
"$CTL" -p "$tmp/pol-doc.json" check "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >/dev/null 2>"$tmp/err"
r1=$?
/usr/bin/python3 "$V" "$S/cpreg-policy-1.schema.json" "$tmp/pol.json" "$tmp/pol-doc.json" >"$tmp/err2" 2>&1
r2=$?
printf '{"schema": "cpreg-policy/1", "tolerances": [{"register": "X", "type": "Sometimes"}]}\n' >"$tmp/pol-bad.json"
! /usr/bin/python3 "$V" "$S/cpreg-policy-1.schema.json" "$tmp/pol-bad.json" >/dev/null 2>&1
r3=$?
ok "$([ $r1 -le 1 ] && [ $r2 = 0 ] && [ $r3 = 0 ] && [ -s "$tmp/pol-doc.json" ]; echo $?)" \
	"site policies (docs/policy.md's example, one cpregctl uses): valid against cpreg-policy-1.schema.json; an unknown type is not ($(head -c 200 "$tmp/err2"))"
# Inventories: every fixture (converted dumps, cpregd's own probes, the real-migration hosts' exports).
# cpregctl diff and matrix, on pairs that differ in values, in listed registers, and not at all.
"$CTL" --json diff "$P/neoverse-n1_linux-6.12.json" "$P/cortex-a57_linux-6.12.json" >"$tmp/d1.json"
"$CTL" --json diff "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$tmp/d2.json"
"$CTL" --json diff "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-6.12.json" >"$tmp/d3.json"
"$CTL" --json diff "$P/a64fx_linux-6.12.json" "$P/max_linux-6.12.json" >"$tmp/d4.json"   # SVE's wide registers
/usr/bin/python3 "$V" "$S/cpreg-diff-1.schema.json" "$tmp"/d[1234].json >"$tmp/err" 2>&1 &&
	jqe '.count == (.differences | length) and .count > 0' "$tmp/d1.json" >/dev/null &&
	jqe '[.differences[] | select(.b == null)] | length > 0' "$tmp/d2.json" >/dev/null && jqe '.count == 0' "$tmp/d3.json" >/dev/null &&
	jqe '.schema == "cpreg-diff/1"' "$tmp/d1.json" >/dev/null
ok $? "cpregctl diff --json: valid against cpreg-diff-1.schema.json (schema cpreg-diff/1), counts agree, registers on one side only are null on the other ($(head -c 300 "$tmp/err"))"
"$CTL" --json matrix "$P"/neoverse-n1_linux-6.12.json "$P"/cortex-a57_linux-6.12.json "$P"/neoverse-n1_linux-7.2.json \
	"$P"/neoverse-n1_linux-6.12.json >"$tmp/m.json"
/usr/bin/python3 "$V" "$S/cpreg-matrix-1.schema.json" "$tmp/m.json" >"$tmp/err" 2>&1 &&
	jqe '(.pools | length) == 3 and (.pairs | length) == 9 and ([.pools[].members | length] | add) == 4' "$tmp/m.json" >/dev/null &&
	jqe '.schema == "cpreg-matrix/1"' "$tmp/m.json" >/dev/null
ok $? "cpregctl matrix --json: valid against cpreg-matrix-1.schema.json (schema cpreg-matrix/1); 4 files, 3 distinct hosts, 9 ordered pairs ($(head -c 300 "$tmp/err"))"
/usr/bin/python3 "$V" "$S/cpreg-inventory-1.schema.json" "$top_srcdir"/tests/data/*/*.json >"$tmp/err" 2>&1
ok $? "cpreg-inventory/1: all $(ls "$top_srcdir"/tests/data/*/*.json | wc -l) inventories in tests/data ($(head -c 300 "$tmp/err"))"
# Health, as a running daemon answers it: ok, and degraded (its probe fails).
"$top_builddir/tests/cpregd" --socket "$tmp/s" --state-dir "$tmp/st" --no-qemu --replay "$P/neoverse-n1_linux-6.12.json" 2>/dev/null &
d1=$!
"$top_builddir/tests/cpregd" --socket "$tmp/s2" --state-dir "$tmp/st2" --no-qemu --replay "$tmp/missing.json" 2>/dev/null &
d2=$!
for s in "$tmp/s" "$tmp/s2"; do k=0; while [ ! -S "$s" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done; done
curl -s --unix-socket "$tmp/s" http://x/v1/health >"$tmp/h-ok.json"
curl -s --unix-socket "$tmp/s2" http://x/v1/health >"$tmp/h-bad.json"
curl -s --unix-socket "$tmp/s" http://x/v1/inventory >"$tmp/inv.json"
curl -s --unix-socket "$tmp/s" --data-binary @"$P/neoverse-n1_linux-7.2.json" http://x/v1/check >"$tmp/dv.json"
kill "$d1" "$d2"; wait "$d1" "$d2" 2>/dev/null
/usr/bin/python3 "$V" "$S/cpreg-verdict-1.schema.json" "$tmp/dv.json" >"$tmp/err" 2>&1 &&
	jqe '.destination_state.inventory_source == "probe" and (.trial.ran == true)' "$tmp/dv.json" >/dev/null
ok $? "the daemon's verdict (trial and destination_state included) is valid cpreg-verdict/1 ($(head -c 300 "$tmp/err"))"
/usr/bin/python3 "$V" "$S/health.schema.json" "$tmp/h-ok.json" "$tmp/h-bad.json" >"$tmp/err" 2>&1 &&
	jqe '.status == "ok"' "$tmp/h-ok.json" >/dev/null && jqe '.status == "degraded"' "$tmp/h-bad.json" >/dev/null
ok $? "health: the daemon's ok and degraded answers are valid ($(head -c 300 "$tmp/err"))"
/usr/bin/python3 "$V" "$S/cpreg-inventory-1.schema.json" "$tmp/inv.json" >"$tmp/err" 2>&1
ok $? "GET /v1/inventory is valid cpreg-inventory/1 ($(head -c 300 "$tmp/err"))"
# The validator must see a broken document as broken (the schema is no rubber stamp).
jq '.registers[0].value = 17 | .digest = "md5:x"' "$tmp/inv.json" >"$tmp/broken-inv.json"
/usr/bin/python3 "$V" "$S/cpreg-inventory-1.schema.json" "$tmp/broken-inv.json" >"$tmp/err" 2>&1
ok "$([ $? = 1 ] && grep -q 'registers/0' "$tmp/err" && grep -q 'digest' "$tmp/err"; echo $?)" \
	"an inventory with a numeric value and a bad digest is refused, the paths named"
jq '.findings[0].outcome = "maybe" | .source.digest = "sha1:0"' "$tmp/v1.json" >"$tmp/broken.json"
/usr/bin/python3 "$V" "$S/cpreg-verdict-1.schema.json" "$tmp/broken.json" >"$tmp/err" 2>&1
r=$?
ok "$([ $r = 1 ] && grep -q 'findings/0/outcome' "$tmp/err" && grep -q 'source/digest' "$tmp/err"; echo $?)" \
	"a verdict with a bad outcome and digest is refused, the paths named"
done_testing
