#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cpregd --libvirt URI as a process (issue 24: passports stamped with no one
# asking), against libvirt's own "test" driver (test:///FILE: an in-process
# libvirt that runs the domains of FILE): the thread connects, finds the
# running domains, waits for the first probe, stamps the host-passthrough one
# as born here (virDomainSetMetadata) and leaves the one it cannot judge.  A
# libvirt that is not there: cpregd serves on and says so.  The real libvirtd
# (lifecycle events, save/restore, live migration) is tests/vm/vm-system.sh.
set -u
TEST_NAME=libvirt
. "$top_srcdir/tests/lib-daemon.sh"
M=$top_srcdir/tests/data/migrate
if ! "$B/tests/cpregd" --help | grep -q -- --libvirt || ! pkg-config --exists libvirt 2>/dev/null; then
	echo "1..0 # SKIP cpregd built without libvirt"
	exit 0
fi
# Two running domains: one host-passthrough (the test driver knows x86_64
# guests only; cpregd reads the <cpu> and the options, not the arch), one not.
domain() { # domain NAME N CPU-MODE [EXTRA]
	cat <<XML
  <domain type='test'>
    <name>$1</name>
    <uuid>0b8f8b9e-7a57-4c34-9a0f-1f6b3a2d9c0$2</uuid>
    <memory>65536</memory>
    <os><type arch='x86_64'>hvm</type></os>
    <cpu mode='$3'/>${4:-}
  </domain>
XML
}
{ echo '<node>'; domain vm1 1 host-passthrough "<features><pmu state='off'/></features>"; domain vm2 2 host-model
  echo '</node>'; } >"$T/node.xml"
metric() { curl -s --unix-socket "$SOCK" http://cpregd/metrics | awk -v k="$1" '$1 == k { print $2 }'; }
start_daemon "$T/log" --replay "$M/n1-612-q11.json" --libvirt "test://$T/node.xml"
wait_for 20 test -S "$SOCK"
domains() { [ "$(metric "cpregd_libvirt_domains_total{passport=\"$1\"}")" = "$2" ]; } # domains FATE N
wait_for 30 domains born 1
ok "$([ "$(metric 'cpregd_libvirt_domains_total{passport="born"}')" = 1 ] && [ "$(metric cpregd_libvirt_connected)" = 1 ]; echo $?)" \
	"--libvirt test:///FILE: connected, the running host-passthrough domain stamped as born here (cpregd_libvirt_domains_total{passport=\"born\"} 1)"
wait_for 10 domains not-judged 1
ok "$([ "$(metric 'cpregd_libvirt_domains_total{passport="not-judged"}')" = 1 ] && grep -q 'domain vm2 gets no passport: .*host-passthrough' "$T/log"; echo $?)" \
	"  the host-model domain gets none, and the log says why ($(grep -o 'domain vm2 gets no passport[^\"]*' "$T/log" | head -n 1 | cut -c1-120))"
grep -q 'domain vm1 is born on this host: passport sha256:[0-9a-f]\{64\}' "$T/log"
ok $? "  the log names the domain and its passport's digest"
curl -s --unix-socket "$SOCK" http://cpregd/metrics >"$T/metrics.txt"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1
	ok $? "  promtool check metrics accepts the libvirt metrics"
fi
kill "$PID"; wait "$PID"
ok $? "  SIGTERM stops it cleanly, the libvirt thread with it (exit 0)"

# No libvirt there: cpregd starts, serves, and keeps trying.
start_daemon "$T/log2" --replay "$M/n1-612-q11.json" --libvirt "qemu+unix:///system?socket=$T/no-such.sock"
wait_for 20 test -S "$SOCK"
wait_for 20 curl -sf --unix-socket "$SOCK" http://cpregd/v1/health -o /dev/null
ok "$([ "$(metric cpregd_libvirt_connected)" = 0 ] && grep -q "libvirt: cannot connect to qemu+unix:///system?socket=$T/no-such.sock: .*trying every 5 s" "$T/log2"; echo $?)" \
	"libvirt not there: cpregd serves (health answers), cpregd_libvirt_connected 0, the log says what it cannot reach"
kill "$PID"; wait "$PID"
ok $? "  and stops cleanly"
"$B/tests/cpregd" --socket "$T/x.sock" --state-dir "$T/state" --no-qemu --replay "$M/n1-612-q11.json" --libvirt 2>"$T/err"
rc=$?
ok "$([ $rc != 0 ] && grep -q -- "'--libvirt' requires an argument" "$T/err" && [ ! -e "$T/x.sock" ]; echo $?)" \
	"--libvirt without a URI is refused before anything starts ($(head -n 1 "$T/err"))"
done_testing
