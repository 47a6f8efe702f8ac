#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The main job, end to end: build cpregd, boot two emulated aarch64 KVM hosts
# (neoverse-n1 on Linux 6.12 and on 7.x, each with Debian sid's QEMU 11.1),
# run cpregd on each over real KVM, show the first host's inventory, ask
# each host's cpregd whether a VM on the other can migrate to it, and then
# migrate for real with QEMU, both ways: cpregd's prediction next to what
# QEMU did.  The failing direction is explained, and the VM option that
# fixes it (kvm-psci-version=1.1) is proven by a real migration.
#
# Usage: tests/vm/demo.sh [BUILDDIR]   (default: build-demo)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-demo}
[ -x "$src/configure" ] || (cd "$src" && ./autogen.sh >/dev/null)
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && "$src/configure" -q)
fi
make -s -C "$build" -j"$(nproc)" >/dev/null
export top_srcdir=$src top_builddir=$build
. "$src/tests/vm/lib.sh"
echo "== fetching kernels, QEMU and an arm64 sysroot, cross-building (cached in $VM_CACHE)"
vm_setup
out=$build/demo
rm -rf "$out"; mkdir -p "$out"
script=$src/tests/vm/migrate-host.sh
M=virt-7.2
export CPREG_VM_QEMU=sid

real() { # what real QEMU did: "loaded", or "failed: <its error>"
	if grep -q '^result loaded' "$1"; then
		echo "loaded (the VM is paused on the destination, ready to run)"
	else
		echo "FAILED: $(grep 'qemu-system-aarch64:' "$1" | grep -v deprecated | sed 's/qemu-system-aarch64: //' | uniq | head -n 2 | paste -sd' ' -)"
	fi
}
predicted() { # the verdict in one line: result, and the failing registers
	jq -r '"\(.result) (\(.policy); trial: \(if .trial.ran then "ran" else "no" end)); fails: \([.findings[] | select(.outcome == "fail") | .name] | if length == 0 then "none" else join(", ") end)"' "$1"
}

echo "== host A: neoverse-n1, Linux 6.12 (trixie), QEMU 11.1: cpregd on real KVM; QEMU saves a VM"
printf 'save a %s host\nsave a-pinned %s host,kvm-psci-version=1.1\n' "$M" "$M" >"$out/plan"
boot neoverse-n1 trixie host-a "$script" "$out/a" "$out/plan"
"$build/tests/invinfo" "$out/a/inventory" | sed 's/^/   /'
echo "   first registers of the inventory served by cpregd:"
grep -m 6 '"name": "\(MIDR_EL1\|ID_AA64PFR0_EL1\|ID_AA64ISAR0_EL1\|CTR_EL0\|CLIDR_EL1\|PSCI_VERSION\)"' "$out/a/inventory" | sed 's/^ */     /'
cp "$out/a/inventory" "$out/host-a.json"
base64 -d "$out/a/state-a" >"$out/a.st.gz"

echo "== host B: neoverse-n1, Linux 7.x (sid), QEMU 11.1: its cpregd checks A, then QEMU loads A's VM"
printf 'check a host-a.json\nload a %s host\nsave b %s host\nsave b-pinned %s host,kvm-psci-version=1.1\n' "$M" "$M" "$M" >"$out/plan"
boot neoverse-n1 sid host-b "$script" "$out/b" "$out/plan" "$out/host-a.json" "$out/a.st.gz"
cp "$out/b/inventory" "$out/host-b.json"
base64 -d "$out/b/state-b" >"$out/b.st.gz"
base64 -d "$out/b/state-b-pinned" >"$out/b-pinned.st.gz"
echo "   A -> B  cpregd predicts: $(predicted "$out/b/check-a")"
echo "   A -> B  real migration:  $(real "$out/b/load-a")"

echo "== back on host A: its cpregd checks B, QEMU loads B's VM, plain and pinned"
printf 'check b host-b.json\ncheck b-pinned host-b.json --psci-version 1.1\nload b %s host\nload b-pinned %s host,kvm-psci-version=1.1\n' \
	"$M" "$M" >"$out/plan"
boot neoverse-n1 trixie host-a "$script" "$out/a2" "$out/plan" "$out/host-b.json" "$out/b.st.gz" "$out/b-pinned.st.gz"
echo "   B -> A  cpregd predicts: $(predicted "$out/a2/check-b")"
echo "   B -> A  real migration:  $(real "$out/a2/load-b")"
echo "== the policy: the destination's QEMU decides by default; forced, the older rules say otherwise (offline)"
for pair in "a b" "b a"; do
	set -- $pair
	"$build/daemon/cpregctl" --json check "$out/host-$1.json" "$out/host-$2.json" >"$out/auto-$1$2.json" || true
	"$build/daemon/cpregctl" --json -p qemu-legacy check "$out/host-$1.json" "$out/host-$2.json" >"$out/legacy-$1$2.json" || true
	echo "   ${1^^} -> ${2^^}  default:              $(predicted "$out/auto-$1$2.json")"
	echo "   ${1^^} -> ${2^^}  forced qemu-legacy:   $(predicted "$out/legacy-$1$2.json")"
done
echo "== why B -> A fails, and what would change it (cpregctl explain, offline)"
"$build/daemon/cpregctl" explain "$out/host-b.json" "$out/host-a.json" | sed 's/^/   /' || true
echo "== the remedy, proven: the VM pins kvm-psci-version=1.1 on both hosts"
echo "   B -> A  cpregd predicts: $(predicted "$out/a2/check-b-pinned")"
echo "   B -> A  real migration:  $(real "$out/a2/load-b-pinned")"
echo "== everything is in $out"
