#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fleet answers on the real fixtures (cpregd's probes of emulated hosts,
# tests/data/probed): pools, VM profiles, rolling-upgrade plans, the VM's
# options from libvirt domain XML, and bad input.  Each expectation says
# where it comes from (BRIEF sections, or real migrations in
# tests/vm/migrate-expected.txt).  Outputs are read with jq, never by bytes.
set -u
CTL=$top_builddir/daemon/cpregctl
P=$top_srcdir/tests/data/probed
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$top_srcdir/tests/tap.sh"
t() { "$@" >/dev/null 2>&1; echo $?; }

# --- pools ---
"$CTL" --json pools "$P" >"$tmp/all.json"; rc=$?
ok "$(t jqe '.schema == "cpreg-pools/1"' "$tmp/all.json")" "pools over a directory of 15 probed hosts answers cpreg-pools/1"
ok "$([ $rc = 1 ] && [ "$(jq '.groups | length' "$tmp/all.json")" = 15 ]; echo $?)" \
	"  15 distinct hosts, 15 groups; more than one pool: exit 1"
# Hosts of one CPU on three kernels are never one pool without options (BRIEF 6: 7.2's PSCI 1.3, counts).
ok "$([ "$(jq '[.pools[] | select((.groups | length) > 1)] | length' "$tmp/all.json")" = 0 ]; echo $?)" \
	"  no two of them form a pool for a plain -cpu host VM (each destination's own policy: QEMU unknown, legacy)"
"$CTL" --json -p qemu-11.1 pools "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$tmp/n1.json"
# BRIEF 6 and the real migrations: 6.12 -> 7.2 loads under QEMU 11.1, 7.2 -> 6.12 fails on PSCI 1.3.
ok "$(t jqe '.one_way == [{"from": 1, "to": 2}] and (.pools | length) == 2' "$tmp/n1.json")" \
	"n1 6.12 and 7.2 under QEMU 11.1: two pools, one way from 6.12 to 7.2"
ok "$(t jqe '.apart[] | select(.from == 2 and .to == 1) | .deciding == ["PSCI_VERSION"]' "$tmp/n1.json")" \
	"  apart because of PSCI_VERSION alone (7.2 -> 6.12)"
# Identical hosts share a group: the same file twice under two names.
cp "$P/neoverse-n1_linux-6.12.json" "$tmp/twin-a.json"; cp "$P/neoverse-n1_linux-6.12.json" "$tmp/twin-b.json"
"$CTL" --json pools "$tmp/twin-a.json" "$tmp/twin-b.json" >"$tmp/twins.json"; rc=$?
ok "$([ $rc = 0 ] && jqe '(.groups | length) == 1 and (.pools[0].members | length) == 2' "$tmp/twins.json" >/dev/null; echo $?)" \
	"two identical hosts: one group, one pool of two, exit 0"

# --- profiles ---
"$CTL" --json -p qemu-11.1 profile "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$tmp/prof.json"; rc=$?
# BRIEF 5, measured with real QEMU: a 7.2 VM pinned to PSCI 1.1 loads on 6.12.
ok "$([ $rc = 0 ] && jqe '.profile.offered and .profile.qemu_cpu == "host,kvm-psci-version=1.1"' "$tmp/prof.json" >/dev/null; echo $?)" \
	"profile n1 6.12 + 7.2 under QEMU 11.1: one pool with -cpu host,kvm-psci-version=1.1 (exit 0)"
jq -r .profile.libvirt_xml "$tmp/prof.json" >"$tmp/prof.xml"
ok "$(t grep -q "host-arm-cpu.kvm-psci-version=1.1" "$tmp/prof.xml")" "  its libvirt XML passes the PSCI version through <qemu:commandline>"
# The XML read back with --domain gives the same verdict: compatible both ways.
"$CTL" --domain "$tmp/prof.xml" -p qemu-11.1 check "$P/neoverse-n1_linux-7.2.json" "$P/neoverse-n1_linux-6.12.json" >/dev/null 2>&1
ok $? "  that XML given as --domain makes 7.2 -> 6.12 compatible (the profile reads back)"
"$CTL" --json profile "$P/neoverse-n1_linux-6.12.json" "$P/neoverse-n1_linux-7.2.json" >"$tmp/prof-legacy.json"; rc=$?
ok "$([ $rc = 1 ] && jqe '(.profile.offered | not) and (.profile.psci_note | test("11.1"))' "$tmp/prof-legacy.json" >/dev/null; echo $?)" \
	"  without QEMU 11.1 no PSCI pin exists: not offered, and it says why (exit 1)"
# Across CPUs: MIDR differs and QEMU cannot make it writable (BRIEF 5); no option fixes it.
"$CTL" --json -p qemu-11.1 profile "$P/neoverse-n1_linux-6.12.json" "$P/cortex-a57_linux-6.12.json" >"$tmp/x.json"
ok "$(t jqe '(.profile.offered | not) and ([.apart[].deciding[]] | index("MIDR_EL1") != null)' "$tmp/x.json")" \
	"profile n1 + a57: not offered, MIDR_EL1 among what keeps them apart"
# max has SVE and pointer auth, a64fx SVE only: the profile turns pointer auth off and bounds SVE.
"$CTL" --json profile "$P/max_linux-6.12.json" "$P/a64fx_linux-6.12.json" >"$tmp/ma.json"
ok "$(t jqe '.profile.qemu_cpu | test("pauth=off") and test("sve-max-vq=") and (test("sve=off") | not)' "$tmp/ma.json")" \
	"profile max + a64fx: pauth=off (a64fx lacks it), SVE kept with a common sve-max-vq"

# --- plans ---
"$CTL" --json plan --before "$P/neoverse-n1_linux-6.12.json" --after "$P/neoverse-n1_linux-7.2.json" >"$tmp/plan.json"; rc=$?
ok "$(t jqe '.schema == "cpreg-plan/1" and (.moves | length) == 3' "$tmp/plan.json")" \
	"plan 6.12 -> 7.2: one evacuation and two roll-back rows (VMs born after, VMs evacuated)"
# BRIEF 6: evacuating needs QEMU 11.1's tolerances; rolling back needs it and the PSCI pin.
ok "$(t jqe '.moves[] | select(.direction == "evacuate") | .works | test("QEMU 11.1")' "$tmp/plan.json")" \
	"  evacuate works with QEMU 11.1 at the destination (TCR2/PIR tolerances)"
ok "$(t jqe '.moves[] | select(.direction == "roll-back" and .vms == "born-on-source") | .tries[-1].qemu_cpu == "host,kvm-psci-version=1.1" and .tries[-1].result == "compatible"' "$tmp/plan.json")" \
	"  roll back works with QEMU 11.1 and kvm-psci-version=1.1"
ok "$([ $rc = 0 ]; echo $?)" "  every move has a way: exit 0"
"$CTL" --json plan --before "$P/neoverse-n1_linux-6.1.json" --after "$P/a64fx_linux-6.1.json" >"$tmp/plan2.json"; rc=$?
ok "$([ $rc = 1 ] && jqe '[.moves[].works] == [null, null, null] and .moves[2].tries[0].result == "not-evacuated"' "$tmp/plan2.json" >/dev/null; echo $?)" \
	"plan n1 -> a64fx on 6.1: neither way moves (MIDR, invariant ID registers), exit 1"

# --- libvirt domain XML ---
cat >"$tmp/vm.xml" <<'EOF'
<domain type='kvm' xmlns:qq='http://libvirt.org/schemas/domain/qemu/1.0'>
  <features><pmu state='off'/></features>
  <cpu mode='host-passthrough' check='none'>
    <feature policy='disable' name='sve'/>
  </cpu>
  <qq:commandline><qq:arg value='-cpu'/><qq:arg value='host,pauth=off'/></qq:commandline>
</domain>
EOF
"$CTL" --json --domain "$tmp/vm.xml" pools "$P/max_linux-6.12.json" >"$tmp/d.json"
ok "$(t jqe '.vm_options.pmu == false and .vm_options.sve == false and .vm_options.pauth == false' "$tmp/d.json")" \
	"--domain: <pmu state='off'>, sve disabled, pauth=off through -cpu (namespace by URI, any prefix)"
"$CTL" --domain "$tmp/vm.xml" passport "$P/max_linux-6.12.json" >"$tmp/dp.json"
ok "$(t jqe '.options.qemu_cpu == "host,pmu=off,sve=off,pauth=off" and (.vcpu_features | index("sve") == null) and
	([.registers[].name] | index("PMCR_EL0") == null and index("ZCR_EL1") == null)' "$tmp/dp.json")" \
	"passport --domain: a VM born with the domain's options, their registers gone"
printf "<domain type='kvm'><cpu mode='host-model'/></domain>\n" >"$tmp/hm.xml"
"$CTL" --domain "$tmp/hm.xml" pools "$P" >"$tmp/out" 2>"$tmp/err"; rc=$?
ok "$([ $rc = 2 ] && grep -q "hm.xml:1: <cpu mode='host-model'>" "$tmp/err" && [ ! -s "$tmp/out" ]; echo $?)" \
	"--domain host-model: exit 2 naming the element and line, no answer"
printf "<domain>\n  <cpu mode='host-passthrough'>\n    <feature name='sve' policy='disable'>\n</domain>\n" >"$tmp/broken.xml"
"$CTL" --domain "$tmp/broken.xml" pools "$P" >/dev/null 2>"$tmp/err"; rc=$?
ok "$([ $rc = 2 ] && grep -q 'broken.xml:[0-9]*: not well-formed XML' "$tmp/err"; echo $?)" \
	"--domain not well-formed: exit 2 with the line ($(head -c 120 "$tmp/err"))"
printf "<domain><cpu mode='host-passthrough'><feature policy='require' name='mte'/></cpu></domain>\n" >"$tmp/mte.xml"
"$CTL" --domain "$tmp/mte.xml" pools "$P" >/dev/null 2>"$tmp/err"; rc=$?
ok "$([ $rc = 2 ] && grep -q "feature name='mte'" "$tmp/err"; echo $?)" "--domain with a feature cpregd does not understand: named, exit 2"

# --- bad input among many: named, exit 2, no partial answer ---
echo '{"schema": "cpreg-inventory/1", "registers": [{"id": "0xzz"}]}' >"$tmp/bad.json"
for cmd in pools profile; do
	"$CTL" $cmd "$P/neoverse-n1_linux-6.12.json" "$tmp/bad.json" "$P/cortex-a57_linux-6.12.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
	ok "$([ $rc = 2 ] && grep -q "bad.json" "$tmp/err" && [ ! -s "$tmp/out" ]; echo $?)" \
		"$cmd with one malformed file among three: exit 2, the file named ($(head -c 100 "$tmp/err")), no partial answer"
	"$CTL" $cmd "$P/neoverse-n1_linux-6.12.json" "$tmp/missing.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
	ok "$([ $rc = 2 ] && grep -q "missing.json" "$tmp/err" && [ ! -s "$tmp/out" ]; echo $?)" "$cmd with a missing file: exit 2, named"
done
"$CTL" plan --before "$P/neoverse-n1_linux-6.12.json" >/dev/null 2>&1
ok "$([ $? = 2 ]; echo $?)" "plan without --after: usage error, exit 2"

# --- the VM is the unit: lineages and passports (real outcomes: tests/vm/migrate-expected.txt) ---
M=$top_srcdir/tests/data/migrate
"$CTL" --json plan --before "$M/n1-612-q11.json" --after "$M/n1-72-q11.json" >"$tmp/lin.json"
# n1-72-q11 n1-612-q11 -: incompatible (PSCI_VERSION); n1-612-q11>n1-72-q11 n1-612-q11 -: compatible.
ok "$(t jqe '[.moves[] | select(.direction == "roll-back") | {vms, r: .tries[0].result}] ==
	[{"vms": "born-on-source", "r": "incompatible"}, {"vms": "evacuated-from-destination", "r": "compatible"}]' "$tmp/lin.json")" \
	"plan 6.12 -> 7.2 (QEMU 11.1): VMs born on 7.2 cannot roll back as given, the VMs evacuated from 6.12 can (as real QEMU)"
"$CTL" plan --before "$M/n1-612-q11.json" --after "$M/n1-72-q11.json" >"$tmp/lin.txt"
ok "$(t grep -q 'VMs evacuated from before (born there, one hop)' "$tmp/lin.txt")" "  said in words too"
# n1-61-q72 n1-612-q11 -: compatible; n1-61-q72>n1-612-q11 n1-61-q72 -: incompatible.
"$CTL" --json plan --before "$M/n1-61-q72.json" --after "$M/n1-612-q11.json" >"$tmp/lin2.json"
ok "$(t jqe '(.moves[0].tries[0].result == "compatible") and
	([.moves[] | select(.vms == "evacuated-from-destination") | .tries[0].result] == ["incompatible"])' "$tmp/lin2.json")" \
	"plan 6.1 -> 6.12: the evacuation works, the evacuated VMs cannot roll back as given (as real QEMU)"
"$CTL" passport "$M/n1-612-q11.json" >"$tmp/vm0.json" && "$CTL" passport --hop "$M/n1-72-q11.json" "$tmp/vm0.json" >"$tmp/vm1.json"
"$CTL" --json -p qemu-11.1 pools "$M/n1-612-q11.json" "$M/n1-72-q11.json" "$M/a57-612-q10.json" "$tmp/vm1.json" >"$tmp/pv.json"; rc=$?
ok "$(t jqe --arg f "$tmp/vm1.json" '(.groups | length) == 3 and (.vms | length) == 1 and .vms[0].file == $f and .vms[0].hops == 1 and
	([.vms[0].groups[].result] == ["compatible", "compatible", "incompatible"]) and .vms[0].pools == [1, 2]' "$tmp/pv.json")" \
	"pools with a passport among the files: the VM to place, taken by both n1 hosts (pools 1 and 2), not by the a57"
"$CTL" --json -p qemu-11.1 profile "$M/n1-612-q11.json" "$M/n1-72-q11.json" "$tmp/vm1.json" >"$tmp/prv.json"
ok "$(t jqe '.profile.offered and (.vms[0].pools == [1]) and (.groups | length) == 2' "$tmp/prv.json")" \
	"profile with a passport: the hosts' profile, and where the running VM (its own options) may go"
"$CTL" plan --before "$tmp/vm1.json" --after "$M/n1-72-q11.json" >/dev/null 2>"$tmp/err"
ok "$([ $? = 2 ] && grep -q 'never a destination or a host of a fleet' "$tmp/err"; echo $?)" \
	"plan takes hosts only: a passport there is exit 2, said"
# The fleet answers are written as they are walked (daemon/jsonw.c): a full
# disk must still say so and exit 2, never end with exit 0 and half a document.
for cmd in "pools $P" "profile $P" "plan --before $P/neoverse-n1_linux-6.12.json --after $P/neoverse-n1_linux-7.2.json"; do
	"$CTL" --json $cmd >/dev/full 2>"$tmp/err"; rc=$?
	ok "$([ $rc = 2 ] && grep -q 'cannot write the answer' "$tmp/err"; echo $?)" \
		"${cmd%% *} --json to a full disk: exit 2, said ($(head -c 100 "$tmp/err"))"
done
# Hosts with SVE whose inventories list no vector lengths: the profile offers no length at all
# (QEMU takes sve-max-vq 1 to 16; the QEMU and libvirt forms of one profile say the same).
for k in 6.12 7.2; do jq 'del(.kvm.sve_vector_lengths)' "$P/a64fx_linux-$k.json" >"$tmp/novls-$k.json"; done
"$CTL" --json profile "$tmp/novls-6.12.json" "$tmp/novls-7.2.json" >"$tmp/novls.json" 2>"$tmp/novls.err"
ok "$(t jqe '(.profile.qemu_cpu | test("sve-max-vq") | not) and .vm_options.sve_max_vq == null' "$tmp/novls.json")" \
	"profile of SVE hosts that list no vector lengths: no sve-max-vq ($(jq -r .profile.qemu_cpu "$tmp/novls.json" 2>/dev/null))"
done_testing
