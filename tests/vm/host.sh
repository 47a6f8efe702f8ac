# SPDX-License-Identifier: GPL-2.0-or-later
# Run inside an emulated host (sourced by /init, see run-vm.sh): start cpregd
# on real KVM, export this host's inventory, check every source inventory in
# /data against this host through the daemon, then stop it.
# Emulated hosts can be ~1000x slower than hardware (max on 7.x: 12 s a probe).
cpregd --socket /run/cpregd.sock --state-dir /var/lib/cpregd --no-qemu --timeout 300 >/tmp/cpregd.log 2>&1 &
pid=$!
i=0
while [ ! -S /run/cpregd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
section inventory cpregctl --timeout 600 -s /run/cpregd.sock inventory
section health cpregctl --timeout 600 -s /run/cpregd.sock health
for f in /data/*.json; do
	[ -f "$f" ] || continue
	n=$(basename "$f" .json)
	section "check-$n" cpregctl --timeout 600 -s /run/cpregd.sock --json check "$f"
	section "check-$n-qemu-11.1" cpregctl --timeout 600 -s /run/cpregd.sock --json -p qemu-11.1 check "$f"
	section "check-$n-psci-1.1" cpregctl --timeout 600 -s /run/cpregd.sock --json -p qemu-11.1 --psci-version 1.1 check "$f"
	section "show-$n" cpregctl --timeout 600 -s /run/cpregd.sock -p qemu-11.1 check "$f"
done
section bad-input cpregctl --timeout 600 -s /run/cpregd.sock check /test.sh
section persisted cat /var/lib/cpregd/inventory.json
kill -TERM $pid
wait $pid
section stopped echo "cpregd exited with $?"
section log cat /tmp/cpregd.log
