#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The main job, end to end: build cpregd, boot two emulated aarch64 KVM hosts
# (neoverse-n1 on Linux 6.12 and on 7.x), run cpregd on each over real KVM,
# show the first host's inventory, and ask the second host's cpregd whether
# a VM on the first can migrate to it, and back.
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
echo "== fetching kernels and an arm64 sysroot, cross-building (cached in $VM_CACHE)"
vm_setup
out=$build/demo
rm -rf "$out"; mkdir -p "$out"

echo "== host A: neoverse-n1, Linux 6.12 (trixie), cpregd on real KVM"
boot neoverse-n1 trixie host-a "$src/tests/vm/host.sh" "$out/a"
"$build/tests/invinfo" "$out/a/inventory" | sed 's/^/   /'
echo "   first registers of the inventory served by cpregd:"
grep -m 6 '"name": "\(MIDR_EL1\|ID_AA64PFR0_EL1\|ID_AA64ISAR0_EL1\|CTR_EL0\|CLIDR_EL1\|PSCI_VERSION\)"' "$out/a/inventory" | sed 's/^ */     /'
cp "$out/a/inventory" "$out/host-a.json"

echo "== host B: neoverse-n1, Linux 7.x (sid), checks host A through its cpregd"
boot neoverse-n1 sid host-b "$src/tests/vm/host.sh" "$out/b" "$out/host-a.json"
echo "   $(cat "$out/b/kernel"): cpregctl check host-a.json (destination QEMU 11.1 rules)"
sed 's/^/   /' "$out/b/show-host-a"
cp "$out/b/inventory" "$out/host-b.json"

echo "== and back: host A checks host B"
boot neoverse-n1 trixie host-a "$src/tests/vm/host.sh" "$out/a2" "$out/host-b.json"
sed 's/^/   /' "$out/a2/show-host-b"
echo "== offline, on this machine: cpregctl diff host-a.json host-b.json"
"$build/daemon/cpregctl" diff "$out/host-a.json" "$out/host-b.json" | sed 's/^/   /' || true
echo "== everything is in $out"
