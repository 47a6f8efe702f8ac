#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Regenerate tests/data/probed/*.json: cpregd's own probe on real KVM in
# every emulated host of the test bed (5 CPUs x 3 kernels), each file
# recording where it came from.  Usage: tests/vm/regen-fixtures.sh BUILDDIR
set -euo pipefail
export top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
export top_builddir=$(cd "${1:?usage: regen-fixtures.sh BUILDDIR}" && pwd)
. "$top_srcdir/tests/vm/lib.sh"
vm_setup
dest=$top_srcdir/tests/data/probed
mkdir -p "$dest"
qemu=$(qemu-system-aarch64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
for rel in bookworm trixie sid; do
	for cpu in neoverse-n1 cortex-a57 cortex-a72 a64fx max; do
		out=$top_builddir/tests/vm-out/regen-$cpu-$rel
		rm -rf "$out"; mkdir -p "$out"
		script=$out.sh
		printf 'section probe cpregctl probe --provenance "%s"\n' \
			"cpregctl probe on real KVM: qemu-system-aarch64 $qemu TCG -M virt,virtualization=on,gic-version=3 -cpu $cpu, Debian $rel kernel (tests/vm/regen-fixtures.sh)" >"$script"
		boot "$cpu" "$rel" "$cpu" "$script" "$out"
		[ "$(cat "$out/probe.rc")" = 0 ] || { echo "regen: $cpu on $rel failed, see $out" >&2; exit 1; }
		series=$(series_of "$(cat "$out/kernel")")
		cp "$out/probe" "$dest/${cpu}_linux-$series.json"
		echo "tests/data/probed/${cpu}_linux-$series.json ($(cat "$out/kernel"), $(info "$out/probe" count) registers)"
	done
done
