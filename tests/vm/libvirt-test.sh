#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The libvirt tests of issue 24, inside two real Debian trixie hosts that run
# at the same time (tests/vm/vm-system.sh boots them; systemd as PID 1, real
# KVM, Debian's libvirtd and QEMU 10.0), linked by a QEMU socket network on
# the build machine's loopback with link-local addresses.  Host a runs
# Debian's 6.12 kernel, host b the 6.1 kernel (the test bed's
# n1-612-q10 -> n1-61-q72 pair fails in real QEMU, the other way loads).
# Each runs this script as /payload/run.sh with its role in /payload/role:
#
#   both   install the packages; cpregd --libvirt qemu:///system; libvirtd
#          on TCP for the peer; a VM defined and started: its passport
#          (born here) in the live and the persistent definition
#   a      started afresh with an earlier life's passport planted in its
#          definition: born again here
#   b      live-migrates its VM to a (6.1 -> 6.12): the hook accepts it
#   a      live-migrates its VM to b (6.12 -> 6.1): the hook refuses, and b
#          shows no QEMU was started for it
#   a      migrates b's VM back to b: born on 6.1, but its QEMU on 6.12
#          sends 6.12's register list, so b's hook refuses it, and so does
#          real QEMU on b without the hook (the test bed's chain
#          n1-61 > n1-612 > n1-61 fails the same way)
#   a      saves its VM and sends the file to b; b restores it with the hook
#          (refused) and without (what QEMU does); b saves a VM born there
#          and sends it to a, which restores it (accepted, passport one hop
#          longer)
#   b      a VM started while cpregd is stopped: stamped when it is back
#   a      the hook while cpregd does not answer: the policy, in time
#
# The two scripts wait for each other through libvirt itself: a step done is
# an inactive domain named mark-STEP defined on the host that did it, which
# the other sees over qemu+tcp.  TAP goes to /payload/out/tap.
set -u
P=/payload
ROLE=$(cat "$P/role")
exec 3>"$P/out/tap"
TAP_FD=3
. "$P/tap.sh"
NS=urn:cpregd:passport:1
SOCK=/run/cpregd/cpregd.sock
if [ "$ROLE" = a ]; then ME=169.254.77.1 PEER=169.254.77.2 PEER_ROLE=b; else ME=169.254.77.2 PEER=169.254.77.1 PEER_ROLE=a; fi
PEER_URI=qemu+tcp://$PEER/system
vsh() { virsh -q "$@"; }
rvsh() { virsh -q -c "$PEER_URI" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 1; done; }
domain_xml() { # domain_xml NAME: a VM with no guest OS (QEMU runs it all the same), host-passthrough
	cat <<XML
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='aarch64' machine='virt'>hvm</type></os>
  <cpu mode='host-passthrough' check='none'/>
  <devices>
    <emulator>/usr/bin/qemu-system-aarch64</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}
mark() { domain_xml "mark-$1" >/tmp/mark.xml && vsh define /tmp/mark.xml >/dev/null; }
wait_mark() { # wait_mark STEP [SECONDS]: the peer has done STEP
	wait_for "${2:-900}" sh -c "virsh -q -c '$PEER_URI' list --all --name | grep -qx 'mark-$1'" ||
		{ diag "host $ROLE: gave up waiting for host $PEER_ROLE's step $1"; return 1; }
}
passport() { # passport VM --live|--config: the passport JSON of the VM's definition, or nothing
	vsh metadata "$1" "$NS" "$2" 2>/dev/null | xmllint --xpath 'string(/*)' - 2>/dev/null
}
digest() { curl -s -m 60 --unix-socket "$SOCK" http://cpregd/v1/inventory | jq -r .digest; }
metric() { curl -s -m 60 --unix-socket "$SOCK" http://cpregd/metrics | awk -v k="$1" '$1 == k { print $2 }'; }
diag "host $ROLE: kernel $(uname -r), $(virsh --version 2>/dev/null | sed 's/^/libvirt /'), $(qemu-system-aarch64 --version | head -n 1)"

# ---- both: the host ----
hostname "cpregd-$ROLE" && echo "cpregd-$ROLE" >/etc/hostname
printf '169.254.77.1 cpregd-a\n169.254.77.2 cpregd-b\n' >>/etc/hosts
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip addr add "$ME/16" dev "$nic" && ip link set "$nic" up
ok $? "host $ROLE: $ME on $nic, the link to the other host"
dpkg -i "$P"/debs/libcpreg0_*.deb "$P"/debs/cpregd_*.deb >"$P/out/dpkg-install.log" 2>&1
ok $? "host $ROLE: dpkg -i libcpreg0 cpregd"
[ -x /etc/libvirt/hooks/qemu.d/cpregd ]
ok $? "host $ROLE:   the hook is installed as /etc/libvirt/hooks/qemu.d/cpregd"
# libvirtd as an operator would set it up for migrations: TCP for the peer
# (no auth: the link carries nothing else), its own host UUID.  The local
# socket stays as Debian ships it: cpregd (group libvirt) gets in through
# polkit and Debian's rule for that group.
cat >>/etc/libvirt/libvirtd.conf <<CONF
auth_tcp = "none"
host_uuid = "00000000-0000-4000-8000-0000000000$([ "$ROLE" = a ] && echo a1 || echo b2)"
CONF
# The operator's two lines (README, "Refusing migrations that would fail").
echo 'CPREGD_OPTS="--libvirt qemu:///system"' >>/etc/default/cpregd
adduser --quiet cpregd libvirt && systemctl daemon-reload
systemctl stop libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket 2>/dev/null
systemctl start libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd-tcp.socket && systemctl start libvirtd.service
ok $? "host $ROLE: libvirtd listens on TCP ($(systemctl is-active libvirtd.service))"
systemctl restart cpregd.service
connected() { [ "$(metric cpregd_libvirt_connected)" = 1 ]; }
wait_for 300 connected
rc=$?
ok $rc "host $ROLE: cpregd --libvirt qemu:///system is connected (cpregd_libvirt_connected $(metric cpregd_libvirt_connected); started at boot from now: $(systemctl is-enabled cpregd.service 2>&1); groups: $(ps -o supgrp= -C cpregd))"
[ $rc = 0 ] || journalctl -u cpregd.service -u libvirtd.service -u polkit.service --no-pager | tail -n 15 | sed 's/^/# /' >&3
DIGEST=$(digest)
mark ready
wait_mark ready

# ---- both: a VM born here ----
VM=vm-$ROLE
domain_xml "$VM" >"/tmp/$VM.xml"
vsh define "/tmp/$VM.xml" >/dev/null && vsh start "$VM" >"$P/out/start-$VM.log" 2>&1
ok $? "host $ROLE: $VM defined and started (host-passthrough, real KVM)"
wait_for 120 sh -c "virsh -q metadata $VM $NS --live 2>/dev/null | grep -q schema"
live=$(passport "$VM" --live) conf=$(passport "$VM" --config)
ok "$(echo "$live" | jqe --arg d "$DIGEST" '.schema == "cpreg-passport/1" and .born.digest == $d and (.hops | length) == 0' >/dev/null &&
	[ "$(echo "$conf" | jq -r .digest)" = "$(echo "$live" | jq -r .digest)" ]; echo $?)" \
	"host $ROLE: with no one asking, $VM has its passport, born here ($(echo "$live" | jq -r .born.kernel)), in the running and the persistent definition"
if [ "$ROLE" = a ]; then
	vsh destroy "$VM" >/dev/null
	no_passport() { [ -z "$(passport "$1" --config)" ]; }
	wait_for 60 no_passport "$VM"
	ok $? "host a: $VM stopped: its definition keeps no passport (a stopped VM has no registers)"
	# An earlier life's passport planted in the definition (a VM born elsewhere).
	old=$(echo "$live" | jq -c '.born.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"')
	vsh metadata "$VM" "$NS" --config --key cpregd --set "<passport>$old</passport>" >/dev/null
	vsh start "$VM" >/dev/null
	wait_for 120 sh -c "virsh -q metadata $VM $NS --live 2>/dev/null | grep -q '$DIGEST'"
	ok "$(passport "$VM" --live | jqe --arg d "$DIGEST" '.born.digest == $d' >/dev/null && passport "$VM" --config | jqe --arg d "$DIGEST" '.born.digest == $d' >/dev/null; echo $?)" \
		"host a: started afresh with an earlier life's passport in its definition: born again here, the old one gone"
else
	# A VM that was running before cpregd: stamped when cpregd connects.
	systemctl stop cpregd.service cpregd.socket
	domain_xml vm-pre >/tmp/vm-pre.xml
	vsh create /tmp/vm-pre.xml >/dev/null
	systemctl start cpregd.socket cpregd.service
	wait_for 300 sh -c "virsh -q metadata vm-pre $NS --live 2>/dev/null | grep -q schema"
	ok "$(passport vm-pre --live | jqe --arg d "$DIGEST" '.born.digest == $d' >/dev/null; echo $?)" \
		"host b: a VM started while cpregd was stopped (transient) gets its passport when cpregd is back"
	vsh destroy vm-pre >/dev/null
fi
mark born

# ---- live migration ----
receive() { # receive FILE: listen for one file from the peer
	rm -f "$1"
	systemd-socket-activate --accept --inetd -l "$ME:7001" sh -c "cat >'$1.part' && mv '$1.part' '$1'" >/dev/null 2>&1 &
	RECV=$!
}
send() { cat "$1" >"/dev/tcp/$PEER/7001"; }
hook_off() { chmod -x /etc/libvirt/hooks/qemu.d/cpregd; }
hook_on() { chmod +x /etc/libvirt/hooks/qemu.d/cpregd; }
if [ "$ROLE" = b ]; then
	wait_mark born
	virsh migrate --live --persistent --undefinesource --verbose vm-b "$PEER_URI" --migrateuri "tcp://$PEER" >"$P/out/migrate-b-a.log" 2>&1
	ok $? "host b: virsh migrate --live vm-b to host a (6.1 -> 6.12): accepted, migrated ($(tail -n 1 "$P/out/migrate-b-a.log"))"
	mark migrated
	wait_mark refused
	[ ! -e /var/log/libvirt/qemu/vm-a.log ] && ! pgrep -f 'guest=vm-a' >/dev/null
	ok $? "host b: no QEMU was started for the refused vm-a (no /var/log/libvirt/qemu/vm-a.log, no process)"
	journalctl -t cpregd-hook --no-pager -o cat >"$P/out/hook-journal-b" 2>&1
	grep -q 'domain vm-a refused' "$P/out/hook-journal-b"
	ok $? "host b:   the journal has the hook's refusal ($(grep 'vm-a' "$P/out/hook-journal-b" | head -n 1))"
	mark checked-refusal
	# vm-b back home: its passport lists the registers of 6.12's QEMU now.
	wait_mark rollback-refused
	hook_off
	mark hook-off
	wait_mark rollback-nohook
	hook_on
	mark hook-on
else
	wait_mark migrated
	live=$(passport vm-b --live)
	same_conf() { [ "$(passport vm-b --config | jq -r .digest)" = "$(passport vm-b --live | jq -r .digest)" ]; }
	wait_for 60 same_conf
	ok "$(echo "$live" | jqe --arg d "$DIGEST" '(.hops | length) == 1 and .hops[0].to == $d and (.born.kernel | startswith("6.1."))' >/dev/null &&
		[ "$(vsh domstate vm-b)" = running ] && same_conf; echo $?)" \
		"host a: vm-b runs here after the live migration, its passport born on 6.1 with the hop to this host (live and persistent; state $(vsh domstate vm-b), hops $(echo "$live" | jq -c '[.hops[].to[7:19]]'), born $(echo "$live" | jq -r .born.kernel), definition's $(passport vm-b --config | jq -c '[.hops[].to[7:19]]'))"
	virsh migrate --live --persistent --undefinesource vm-a "$PEER_URI" --migrateuri "tcp://$PEER" >"$P/out/migrate-a-b.log" 2>&1
	rc=$?
	ok "$([ $rc != 0 ] && grep -q 'cpregd: domain vm-a cannot run on this host' "$P/out/migrate-a-b.log" && [ "$(vsh domstate vm-a)" = running ]; echo $?)" \
		"host a: virsh migrate --live vm-a to host b (6.12 -> 6.1): refused by b's hook with its reason, vm-a runs on here ($(grep -o 'cpregd: .*' "$P/out/migrate-a-b.log" | head -n 1 | cut -c1-300))"
	mark refused
	wait_mark checked-refusal
	# vm-b was born on 6.1, but on 6.12 its QEMU migrates 6.12's register
	# list: back on 6.1 it fails as the chain n1-61 > n1-612 > n1-61 of the
	# test bed does (migrate-expected.txt); judged, then tried without the hook.
	virsh migrate --live --persistent --undefinesource vm-b "$PEER_URI" --migrateuri "tcp://$PEER" >"$P/out/migrate-rollback.log" 2>&1
	rc=$?
	ok "$([ $rc != 0 ] && grep -q 'cpregd: domain vm-b cannot run on this host' "$P/out/migrate-rollback.log" && [ "$(vsh domstate vm-b)" = running ]; echo $?)" \
		"host a: vm-b back to b (born on 6.1, carrying 6.12's register list now): refused by b's hook ($(grep -o 'cpregd: .*' "$P/out/migrate-rollback.log" | head -n 1 | cut -c1-160))"
	mark rollback-refused
	wait_mark hook-off
	virsh migrate --live --persistent --undefinesource vm-b "$PEER_URI" --migrateuri "tcp://$PEER" >"$P/out/migrate-rollback-nohook.log" 2>&1
	rc=$?
	ok "$([ $rc != 0 ] && [ "$(vsh domstate vm-b)" = running ]; echo $?)" \
		"host a:   without b's hook, real QEMU on b fails to load it too, and vm-b runs on here ($(grep -v '^$' "$P/out/migrate-rollback-nohook.log" | tail -n 1 | cut -c1-240))"
	mark rollback-nohook
	wait_mark hook-on
fi

# ---- save and restore across hosts ----
if [ "$ROLE" = a ]; then
	wait_mark listening
	vsh save vm-a /var/tmp/vm-a.sav >/dev/null && send /var/tmp/vm-a.sav
	ok $? "host a: virsh save vm-a (born on 6.12), the file sent to b"
	receive /var/tmp/vm-c.sav
	mark listening
	wait_mark sent-b
	wait_for 120 test -s /var/tmp/vm-c.sav; kill "$RECV" 2>/dev/null
	vsh restore /var/tmp/vm-c.sav >"$P/out/restore-a.log" 2>&1
	rc=$?
	live=$(passport vm-c --live)
	ok "$([ $rc = 0 ] && echo "$live" | jqe --arg d "$DIGEST" '(.hops | length) == 1 and .hops[0].to == $d and (.born.kernel | startswith("6.1."))' >/dev/null; echo $?)" \
		"host a: virsh restore of vm-c (born on 6.1, saved on 6.1): accepted by the hook, real QEMU loads it, its passport one hop longer"
else
	receive /var/tmp/vm-a.sav
	mark listening
	wait_for 900 test -s /var/tmp/vm-a.sav; kill "$RECV" 2>/dev/null
	vsh restore /var/tmp/vm-a.sav >"$P/out/restore-b-hook.log" 2>&1
	rc=$?
	ok "$([ $rc != 0 ] && grep -q 'cpregd: domain vm-a cannot run on this host' "$P/out/restore-b-hook.log" && [ ! -e /var/log/libvirt/qemu/vm-a.log ]; echo $?)" \
		"host b: virsh restore of vm-a (born on 6.12): refused by the hook before QEMU starts ($(grep -o 'cpregd: .*' "$P/out/restore-b-hook.log" | head -n 1 | cut -c1-200))"
	hook_off
	vsh restore /var/tmp/vm-a.sav >"$P/out/restore-b-nohook.log" 2>&1
	rc=$?
	hook_on
	ok "$([ $rc != 0 ]; echo $?)" \
		"host b:   without the hook, real QEMU fails to load it too ($(grep -v '^$' "$P/out/restore-b-nohook.log" | tail -n 1 | cut -c1-300))"
	# A VM born here for the other direction.
	domain_xml vm-c >/tmp/vm-c.xml && vsh define /tmp/vm-c.xml >/dev/null && vsh start vm-c >/dev/null
	wait_for 120 sh -c "virsh -q metadata vm-c $NS --live 2>/dev/null | grep -q schema"
	wait_mark listening
	vsh save vm-c /var/tmp/vm-c.sav >/dev/null && send /var/tmp/vm-c.sav
	ok $? "host b: vm-c born here, saved (virsh save), the file sent to a"
	mark sent-b
fi

# ---- a: the hook when cpregd does not answer ----
if [ "$ROLE" = a ]; then
	# Frozen for one restore at a time: longer, and its watchdog (30 s) would
	# have systemd restart it, as it should.
	vsh destroy vm-c >/dev/null
	systemctl kill -s STOP cpregd.service
	t0=$(date +%s%N)
	vsh restore /var/tmp/vm-c.sav >"$P/out/restore-stopped.log" 2>&1
	rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	systemctl kill -s CONT cpregd.service
	ok "$([ $rc = 0 ] && journalctl -t cpregd-hook --no-pager -o cat | grep -q 'did not answer.*policy allow'; echo $?)" \
		"host a: cpregd frozen (SIGSTOP): the hook lets the restore go on by the default policy, logged ($ms ms in all)"
	vsh destroy vm-c >/dev/null
	echo 'CPREGD_HOOK_POLICY=refuse' >>/etc/default/cpregd
	systemctl kill -s STOP cpregd.service
	t0=$(date +%s%N)
	vsh restore /var/tmp/vm-c.sav >"$P/out/restore-refuse.log" 2>&1
	rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	systemctl kill -s CONT cpregd.service
	ok "$([ $rc != 0 ] && grep -q 'refused by policy' "$P/out/restore-refuse.log" && [ $ms -lt 15000 ]; echo $?)" \
		"host a:   with CPREGD_HOOK_POLICY=refuse it is refused, within the deadline ($ms ms; $(grep -o 'cpregd: .*' "$P/out/restore-refuse.log" | head -n 1 | cut -c1-160))"
	sed -i '/CPREGD_HOOK_POLICY=refuse/d' /etc/default/cpregd
	wait_for 60 curl -sf -m 5 --unix-socket "$SOCK" http://cpregd/v1/health -o /dev/null
	m=$(curl -s -m 60 --unix-socket "$SOCK" http://cpregd/metrics)
	echo "$m" >"$P/out/metrics-a"
	ok "$(echo "$m" | grep -q '^cpregd_hook_decisions_total{operation="restore",decision="allowed",reason="unanswered"} 1$' &&
		echo "$m" | grep -q '^cpregd_hook_decisions_total{operation="restore",decision="refused",reason="unanswered"} 1$' &&
		echo "$m" | grep -q '^cpregd_hook_decisions_total{operation="migrate",decision="allowed",reason="compatible"} 1$' &&
		echo "$m" | grep -q '^cpregd_hook_decisions_total{operation="restore",decision="allowed",reason="compatible"} 1$'; echo $?)" \
		"host a: /metrics counts the hook's decisions, those made while cpregd was frozen included ($(echo "$m" | sed -n 's/^cpregd_hook_decisions_total{\(.*\)}/\1/p' | tr '\n' ' '); restarts $(systemctl show -p NRestarts --value cpregd.service))"
	ok "$([ "$(echo "$m" | awk '$1 == "cpregd_libvirt_domains_total{passport=\"born\"}" { print $2 }')" -ge 2 ] &&
		[ "$(echo "$m" | awk '$1 == "cpregd_libvirt_domains_total{passport=\"failed\"}" { print $2 }')" = 0 ]; echo $?)" \
		"host a:   and the VMs it stamped (cpregd_libvirt_domains_total born $(echo "$m" | awk '$1 == "cpregd_libvirt_domains_total{passport=\"born\"}" { print $2 }'))"
fi
journalctl -u cpregd.service -t cpregd-hook --no-pager >"$P/out/journal-$ROLE" 2>&1
mark done
wait_mark done 600
# The VMs have no guest OS to shut down: libvirt-guests would wait minutes at power-off.
for d in $(virsh list --name); do vsh destroy "$d" >/dev/null; done
done_testing
