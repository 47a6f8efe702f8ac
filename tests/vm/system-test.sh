#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the real Debian arm64 system (systemd as PID 1, real KVM) as
# /payload/run.sh, started by cpregd-test.service (tests/vm/system.sh).  What
# an operator does with the package: install it, use the socket, the group,
# reload, the watchdog, the journal, systemd-analyze security, a QEMU upgrade,
# restart, remove, reinstall, purge.  Prints TAP to /payload/out/tap.
set -u
P=/payload
OUT=$P/out/tap
# The second boot (issue 26): publishing was configured before the reboot.
[ -e "$P/out/reboot-pending" ] && OUT=$P/out/tap2
exec 3>"$OUT"
TAP_FD=3
. "$P/tap.sh"
SOCK=/run/cpregd/cpregd.sock
get() { curl -s -m 120 --unix-socket "$SOCK" "$@"; }
code() { curl -s -m 120 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.5; done; }
metric() { get http://cpregd/metrics | sed -n "s/^$1 //p"; }
diag "kernel $(uname -r), systemd $(systemctl --version | head -n 1)"

# Second boot: no client has asked anything yet; cpregd must have started
# with the system and written the NFD file on its own.
if [ -e "$P/out/reboot-pending" ]; then
	rm -f "$P/out/reboot-pending"
	nfd=/etc/kubernetes/node-feature-discovery/features.d/cpregd
	boot=$(date -d "$(uptime -s)" +%s)
	wait_for 180 test -s "$nfd"
	ok $? "after a reboot with publishing configured, the NFD file is written with no client asking ($(ls -l --time-style=+%T "$nfd" 2>&1))"
	[ "$(stat -c %Y "$nfd" 2>/dev/null || echo 0)" -ge "$boot" ]
	ok $? "  written during this boot (booted $(uptime -s))"
	exp=$(sed -n 's/^# +expiry-time=//p' "$nfd")
	[ -n "$exp" ] && [ "$(date -d "$exp" +%s)" -gt "$(date +%s)" ] && grep -q '/digest=' "$nfd"
	ok $? "  its labels are there and its expiry-time ($exp) lies ahead"
	systemctl is-active --quiet cpregd.service && systemctl list-dependencies --plain multi-user.target | grep -q cpregd.service
	ok $? "  cpregd.service runs, wanted by multi-user.target (the generator)"
	done_testing
	exit 0
fi

# QEMU as a package would put it: /usr/bin/qemu-system-aarch64, first trixie's (10.0).
install_qemu() { # install_qemu REL: the wrapper replaced atomically, as dpkg does
	printf '#!/bin/sh\nexec %s/qemu-%s/lib/ld-linux-aarch64.so.1 --library-path %s/qemu-%s/lib %s/qemu-%s/bin/qemu-system-aarch64 "$@"\n' \
		"$P" "$1" "$P" "$1" "$P" "$1" >/usr/bin/.qemu-system-aarch64.new
	chmod 755 /usr/bin/.qemu-system-aarch64.new
	mv /usr/bin/.qemu-system-aarch64.new /usr/bin/qemu-system-aarch64
}
install_qemu trixie
diag "$(qemu-system-aarch64 --version | head -n 1)"

dpkg -i "$P"/debs/libcpreg0_*.deb "$P"/debs/cpregd_*.deb >"$P/out/dpkg-install.log" 2>&1
ok $? "dpkg -i libcpreg0 cpregd (the arm64 packages)"
getent passwd cpregd >/dev/null && getent group cpregd >/dev/null
ok $? "  sysusers created the cpregd user and group"
[ "$(systemctl is-enabled cpregd.socket)" = enabled ] && systemctl is-active --quiet cpregd.socket
ok $? "  cpregd.socket is enabled and listening (systemctl status cpregd.socket)"
systemctl status cpregd.socket >"$P/out/socket-status" 2>&1
[ "$(systemctl is-enabled cpregd-qemu.path)" = enabled ] && systemctl is-active --quiet cpregd-qemu.path
ok $? "  cpregd-qemu.path is enabled and watching QEMU"
! systemctl is-active --quiet cpregd.service
ok $? "  the service itself is not running yet (socket activation)"

c=$(code http://cpregd/v1/health)
ok "$([ "$c" = 200 ] && get http://cpregd/v1/health | jqe '.status == "ok"' >/dev/null; echo $?)" \
	"the first request (curl as root, GET /v1/health) starts the service and it answers ok after probing real KVM (got $c)"
systemctl is-active --quiet cpregd.service
ok $? "  cpregd.service is active now"
inv=$(get http://cpregd/v1/inventory)
digest=$(echo "$inv" | jq -r .digest)
ok "$(echo "$inv" | jqe '(.registers | length) > 100 and (.host.qemu_version | startswith("10.0"))' >/dev/null; echo $?)" \
	"  the inventory: $(echo "$inv" | jq '.registers | length') registers, QEMU $(echo "$inv" | jq -r .host.qemu_version) found on PATH"
[ "$(stat -c '%U %a' /var/lib/cpregd/inventory.json 2>/dev/null)" = "cpregd 600" ]
ok $? "  persisted in /var/lib/cpregd/inventory.json, owned by cpregd, mode 600 ($(stat -c '%U %a' /var/lib/cpregd/inventory.json 2>/dev/null))"

useradd -m -G cpregd alice && useradd -m bob
c=$(runuser -u alice -- curl -s -m 60 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://cpregd/v1/inventory)
ok "$([ "$c" = 200 ]; echo $?)" "a member of group cpregd reads the inventory (200)"
c=$(runuser -u alice -- curl -s -m 60 -o /dev/null -w '%{http_code}' -X POST --unix-socket "$SOCK" http://cpregd/v1/refresh)
ok "$([ "$c" = 403 ]; echo $?)" "  and gets 403 on refresh ($c)"
runuser -u bob -- curl -s -m 60 -o /dev/null --unix-socket "$SOCK" http://cpregd/v1/health; rc=$?
ok "$([ $rc = 7 ]; echo $?)" "a user outside the group cannot connect (curl exit $rc: permission denied on the socket)"

p0=$(metric 'cpregd_probes_total{result="success"}')
systemctl reload cpregd
wait_for 60 test "$(metric 'cpregd_probes_total{result="success"}')" -gt "${p0:-0}"
ok $? "systemctl reload cpregd re-probes (probes $p0 -> $(metric 'cpregd_probes_total{result="success"}'))"
[ "$(systemctl show cpregd.service -p WatchdogUSec --value)" = 30s ] && journalctl -u cpregd -o cat | grep -q 'watchdog every 15'
ok $? "the watchdog is armed (WatchdogUSec=$(systemctl show cpregd.service -p WatchdogUSec --value), cpregd pings every 15 s)"

get -X POST --data-binary "$inv" http://cpregd/v1/check >"$P/out/check.json"
journalctl -u cpregd -o json >"$P/out/journal.json"
jqe -s --arg d "$digest" 'map(select(.MESSAGE_ID == "d959cd9b52424405a904f017244a9b71" and .PRIORITY == "6" and .CPREGD_DIGEST == $d)) | length > 0' \
	"$P/out/journal.json" >/dev/null
ok $? "journalctl -u cpregd: probe done carries MESSAGE_ID, PRIORITY 6 and CPREGD_DIGEST"
jqe -s --arg d "$digest" 'map(select(.MESSAGE_ID == "466fb01cdfd045888faab75bed98eed5" and .CPREGD_PEER_UID == "0" and .CPREGD_DIGEST == $d and .CPREGD_RESULT == "compatible")) | length > 0' \
	"$P/out/journal.json" >/dev/null
ok $? "  a check answered: MESSAGE_ID, the client's uid (0), the source digest and the verdict"
journalctl -u cpregd -p warning -o cat >"$P/out/warnings" 2>&1
diag "warnings in the journal: $(wc -l <"$P/out/warnings")"

systemd-analyze security cpregd.service --no-pager >"$P/out/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for cpregd.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' "$P/out/security")
ok "$([ -n "$score" ] && awk -v s="${score% *}" 'BEGIN { exit !(s <= 2.0) }'; echo $?)" \
	"systemd-analyze security cpregd.service on this host: $score"

# A QEMU upgrade: the path unit has cpregd re-probe, and the new version decides the policy.
install_qemu sid
qemu_is() { get http://cpregd/v1/inventory | jqe ".host.qemu_version | startswith(\"$1\")"; }
wait_for 60 qemu_is 11.1
ok $? "replacing qemu-system-aarch64 (10.0 -> $(get http://cpregd/v1/inventory | jq -r .host.qemu_version)) makes cpregd re-probe through cpregd-qemu.path"
get -X POST --data-binary "$inv" 'http://cpregd/v1/check?trial=0' | jqe '.policy == "qemu-11.1"' >/dev/null
ok $? "  and checks now use QEMU 11.1's policy"
digest=$(get http://cpregd/v1/inventory | jq -r .digest)

since=$(date '+%Y-%m-%d %H:%M:%S')
systemctl restart cpregd
c=$(code http://cpregd/v1/inventory -H "If-None-Match: \"$digest\"")
journalctl -u cpregd --since "$since" -o cat | grep -q 'serving persisted inventory'
ok "$([ $? = 0 ] && [ "$c" = 304 ]; echo $?)" "systemctl restart: the persisted inventory is served at once (same digest, 304 on If-None-Match)"

dpkg -r cpregd >"$P/out/dpkg-remove.log" 2>&1
ok "$([ $? = 0 ] && [ -f /var/lib/cpregd/inventory.json ] && ! systemctl is-active --quiet cpregd.socket; echo $?)" \
	"dpkg -r cpregd: the socket is gone, /var/lib/cpregd is kept"
dpkg -i "$P"/debs/cpregd_*.deb >"$P/out/dpkg-reinstall.log" 2>&1
c=$(code http://cpregd/v1/inventory -H "If-None-Match: \"$digest\"")
ok "$([ "$c" = 304 ]; echo $?)" "  reinstalled: socket activation again, and the kept state is served (304 for the same digest)"
dpkg -P cpregd >"$P/out/dpkg-purge.log" 2>&1
ok "$([ $? = 0 ] && [ ! -e /var/lib/cpregd ]; echo $?)" "dpkg -P cpregd: purge removes /var/lib/cpregd"

# Publishing starts cpregd at boot (issue 26): configured as man cpregd shows,
# then the system reboots (vm-system.sh boots it again) and the second boot
# above checks that the file is rewritten with no client asking.
dpkg -i "$P"/debs/cpregd_*.deb >"$P/out/dpkg-reinstall2.log" 2>&1
systemctl list-dependencies --plain multi-user.target | grep -q cpregd.service
ok "$([ $? != 0 ]; echo $?)" "without publishing, cpregd.service is not started at boot (socket activation only)"
mkdir -p /etc/kubernetes/node-feature-discovery/features.d /etc/systemd/system/cpregd.service.d
chown cpregd /etc/kubernetes/node-feature-discovery/features.d
echo 'CPREGD_OPTS="--nfd-file /etc/kubernetes/node-feature-discovery/features.d/cpregd"' >/etc/default/cpregd
printf '[Service]\nReadWritePaths=/etc/kubernetes/node-feature-discovery/features.d\n' \
	>/etc/systemd/system/cpregd.service.d/nfd.conf
systemctl daemon-reload
systemctl list-dependencies --plain multi-user.target | grep -q cpregd.service
ok $? "with --nfd-file in /etc/default/cpregd, the generator has multi-user.target want cpregd.service"
systemctl stop cpregd.service 2>/dev/null
touch "$P/out/reboot-pending"
done_testing
