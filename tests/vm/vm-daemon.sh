#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cpregd on real KVM: emulated hosts each run the daemon, export their
# inventory through it, and check other hosts' inventories against
# themselves through it.  The verdicts must be the ones the library tests
# expect for the same pairs from the recorded dumps (tests/test-check.c):
#   neoverse-n1 6.12 -> 7.2: qemu-legacy fails (count), qemu-11.1 compatible
#   neoverse-n1 7.2 -> 6.12: PSCI_VERSION fails, VENDOR_HYP_BMAP_2 tolerated
#   neoverse-n1 -> cortex-a57 on 6.12: MIDR_EL1 and WORKAROUND_1/3 fail
set -u
. "$top_srcdir/tests/vm/lib.sh"
vm_setup
OUT=$top_builddir/tests/vm-out/daemon
rm -rf "$OUT"; mkdir -p "$OUT"
script=$top_srcdir/tests/vm/host.sh

# field FILE FINDING-NAME: that finding's outcome in a verdict
outcome() { jq -r --arg n "$2" '[.findings[] | select(.name == $n) | .outcome][0] // empty' "$1" 2>/dev/null; }
result() { jq -r '.result // empty' "$1" 2>/dev/null; }

# Host A: neoverse-n1 on 6.12, alone.
boot neoverse-n1 trixie n1-612 "$script" "$OUT/a"
ok $? "host A (neoverse-n1, 6.12) boots and runs cpregd"
ok "$(cat "$OUT/a/inventory.rc" 2>/dev/null || echo 1)" "host A: cpregctl inventory through the daemon on real KVM"
"$top_builddir/tests/invinfo" "$OUT/a/inventory" >/dev/null
ok $? "host A: the daemon's inventory is valid"
[ "$(info "$OUT/a/inventory" hostname)" = n1-612 ]
ok $? "host A: the inventory names the host"
jqe '.status == "ok"' "$OUT/a/health" >/dev/null
ok $? "host A: health ok"
[ "$(info "$OUT/a/persisted" digest)" = "$(info "$OUT/a/inventory" digest)" ]
ok $? "host A: the inventory is persisted in the state directory"
grep -q 'exited with 0' "$OUT/a/stopped"
ok $? "host A: SIGTERM stops cpregd cleanly"
grep -q 'is not a hex\|malformed JSON' "$OUT/a/bad-input" && [ "$(cat "$OUT/a/bad-input.rc")" = 2 ]
ok $? "host A: a non-JSON file is refused with exit 2 and the reason"
cp "$OUT/a/inventory" "$OUT/n1-612.json"

# Host B: neoverse-n1 on 7.2, checks A.
boot neoverse-n1 sid n1-72 "$script" "$OUT/b" "$OUT/n1-612.json"
ok $? "host B (neoverse-n1, 7.x) boots and runs cpregd"
cp "$OUT/b/inventory" "$OUT/n1-72.json"
v=$OUT/b/check-n1-612
[ "$(result "$v")" = incompatible ] && jqe 'any(.findings[]; .kind == "count-exceeded" and .outcome == "fail")' "$v" >/dev/null
ok $? "A -> B, qemu-legacy (no QEMU on B): incompatible, the count check fails"
v=$OUT/b/check-n1-612-qemu-11.1
[ "$(result "$v")" = compatible ] && [ "$(outcome "$v" TCR2_EL1)" = tolerated ] &&
	[ "$(outcome "$v" PIRE0_EL1)" = tolerated ] && [ "$(outcome "$v" PIR_EL1)" = tolerated ]
ok $? "A -> B, qemu-11.1: compatible, TCR2_EL1/PIRE0_EL1/PIR_EL1 tolerated"
diag "$(grep -c '"id"' "$v") findings; show: $(tail -n 2 "$OUT/b/show-n1-612" | head -n 1)"

# Host A again, now checking B: backwards.
boot neoverse-n1 trixie n1-612 "$script" "$OUT/a2" "$OUT/n1-72.json"
ok $? "host A boots again with B's inventory"
v=$OUT/a2/check-n1-72-qemu-11.1
[ "$(result "$v")" = incompatible ] && [ "$(outcome "$v" PSCI_VERSION)" = fail ] &&
	[ "$(outcome "$v" VENDOR_HYP_BMAP_2)" = tolerated ] &&
	grep -q 'Could not set register fw reg 0 to 10003 (is 10001)' "$v"
ok $? "B -> A, qemu-11.1: PSCI_VERSION fails (10003 on 6.12), VENDOR_HYP_BMAP_2 tolerated"
jqe '.trial.ran == true and any(.findings[]; .message | test("refused it in the trial \\(EINVAL\\)"))' "$v" >/dev/null
ok $? "B -> A: the live trial ran on real KVM and the 6.12 kernel refused PSCI 1.3 with EINVAL"
v=$OUT/a2/check-n1-72-psci-1.1
[ "$(result "$v")" = compatible ] && jqe '.trial.ran == true' "$v" >/dev/null
ok $? "B -> A with the VM pinning kvm-psci-version=1.1: compatible, trial included (as measured with real QEMU)"
[ "$(info "$OUT/a2/inventory" digest)" = "$(info "$OUT/n1-612.json" digest)" ]
ok $? "host A's digest is the same on its second boot"

# Host C: cortex-a57 on 6.12, checks A.
boot cortex-a57 trixie a57-612 "$script" "$OUT/c" "$OUT/n1-612.json"
ok $? "host C (cortex-a57, 6.12) boots and runs cpregd"
v=$OUT/c/check-n1-612-qemu-11.1
[ "$(result "$v")" = incompatible ] && [ "$(outcome "$v" MIDR_EL1)" = fail ] &&
	[ "$(outcome "$v" SMCCC_ARCH_WORKAROUND_1)" = fail ] && [ "$(outcome "$v" SMCCC_ARCH_WORKAROUND_3)" = fail ]
ok $? "A -> C: incompatible, MIDR_EL1 and SMCCC_ARCH_WORKAROUND_1/3 fail (BRIEF 5)"
done_testing
