#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The probe on real KVM: emulated aarch64 hosts (neoverse-n1 and cortex-a57
# on 6.1, 6.12 and 7.x, a64fx with SVE on 6.12), each probed twice.  The
# inventory must be valid, list what the kernel lists (counted by an
# independent raw-ioctl witness), match the fixture recorded from the same
# host where the kernels are the same, and give the same digest twice.
set -u
. "$top_srcdir/tests/vm/lib.sh"
vm_setup

script=$(mktemp)
cat >"$script" <<'T'
section probe1 cpregctl probe
section probe2 cpregctl probe
section witness kvm-reglist
T
for host in neoverse-n1:6.1 neoverse-n1:6.12 neoverse-n1:7 cortex-a57:6.1 cortex-a57:6.12 cortex-a57:7 a64fx:6.12; do
	cpu=${host%%:*}; series=${host#*:}
	rel=$(release_of "$series")
	out=$top_builddir/tests/vm-out/probe-$cpu-$rel
	rm -rf "$out"; mkdir -p "$out"
	if ! boot "$cpu" "$rel" "$cpu-$rel" "$script" "$out"; then
		ok 1 "$cpu on $rel: the emulated host boots and runs the probe (see $out/console.log)"
		continue
	fi
	kernel=$(cat "$out/kernel")
	diag "$cpu on $kernel: booted and probed in $(cat "$out/seconds") s"
	ok "$(cat "$out/probe1.rc")" "$cpu $kernel: cpregctl probe succeeds on real KVM"
	"$top_builddir/tests/invinfo" "$out/probe1" >/dev/null
	ok $? "$cpu $kernel: the inventory passes the library's strict reader"
	count=$(info "$out/probe1" count)
	witness=$(cat "$out/witness")
	[ -n "$count" ] && [ "$count" = "$witness" ]
	ok $? "$cpu $kernel: $count registers, as many as KVM_GET_REG_LIST lists (witness: $witness)"
	[ "$(info "$out/probe1" unreadable)" = 0 ]
	ok $? "$cpu $kernel: every register of 64 bits or less was read"
	[ "$(info "$out/probe1" digest)" = "$(info "$out/probe2" digest)" ]
	ok $? "$cpu $kernel: two probes of the same host give the same digest"
	[ "$(info "$out/probe1" kernel)" = "$kernel" ]
	ok $? "$cpu $kernel: the inventory records the running kernel"
	if [ "$cpu" = a64fx ]; then
		[ "$(info "$out/probe1" sve_vls)" = yes ] && [ $(( $(info "$out/probe1" features) & 0x10 )) -ne 0 ]
		ok $? "$cpu $kernel: SVE enabled and its vector lengths recorded"
	fi
	fixture=$top_srcdir/tests/data/dumps/${cpu}_linux-$(series_of "$kernel").json
	if [ ! -f "$fixture" ]; then
		skip "$cpu $kernel: no fixture recorded for this kernel series"
	elif [ "$(info "$fixture" kernel)" != "$kernel" ]; then
		skip "$cpu: the fixture was recorded on $(info "$fixture" kernel), the test bed booted $kernel: not compared"
	else
		[ "$(info "$out/probe1" digest)" = "$(info "$fixture" digest)" ]
		ok $? "$cpu $kernel: migration view (ids and values, counters aside) equals the recorded dump's"
		[ "$(info "$out/probe1" count)" = "$(info "$fixture" count)" ]
		ok $? "$cpu $kernel: same register count as the recorded dump ($(info "$fixture" count))"
	fi
done
rm -f "$script"

# A VM's own options: a probe with features off (what the VM's vCPU is) must
# equal the full probe adjusted offline by cpreg_inventory_apply_vm_options().
cat >"$script" <<'T'
section full cpregctl probe
section nopmu cpregctl probe --disable pmu=off
section none cpregctl probe --disable pmu=off,sve=off,pauth=off
T
out=$top_builddir/tests/vm-out/probe-options
rm -rf "$out"; mkdir -p "$out"
if boot max trixie max-612 "$script" "$out"; then
	for spec in "nopmu 0x8 pmu=off" "none 0x78 pmu=off,sve=off,pauth=off"; do
		set -- $spec
		a=$("$top_builddir/tests/invinfo" "$out/$1" | grep -E '^(count|digest|features)=' | tr '\n' ' ')
		b=$("$top_builddir/tests/invinfo" --disable-bits "$2" "$out/full" | grep -E '^(count|digest|features)=' | tr '\n' ' ')
		[ -n "$a" ] && [ "$a" = "$b" ]
		ok $? "max on 6.12, VM option $3: the adjusted full probe equals a probe with it ($a)"
	done
else
	ok 1 "max on 6.12 boots for the VM-option probes"
fi
rm -f "$script"
done_testing
