# SPDX-License-Identifier: GPL-2.0-or-later
# Run inside an emulated host (sourced by /init, see run-vm.sh) for
# tests/vm/vm-matrix.sh: cpregd on real KVM judges every source inventory in
# /data under both QEMU policies, with its live trial; each verdict lists
# where the trial contradicts the kernel model.
cpregd --socket /run/cpregd.sock --state-dir /var/lib/cpregd --no-qemu --timeout 300 >/tmp/cpregd.log 2>&1 &
pid=$!
i=0
while [ ! -S /run/cpregd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
section inventory cpregctl --timeout 600 -s /run/cpregd.sock inventory
for f in /data/*.json; do
	n=$(basename "$f" .json)
	for p in qemu-legacy qemu-11.1; do
		section "m-$n-$p" cpregctl --timeout 600 -s /run/cpregd.sock --json -p "$p" check "$f"
	done
done
kill -TERM $pid
wait $pid
