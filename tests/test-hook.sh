#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The libvirt hook without libvirt (issue 24, the parts that need none):
# cpregctl libvirt-hook run as libvirt runs /etc/libvirt/hooks/qemu.d/*
# (NAME OP SUBOP EXTRA, the domain XML on stdin) against a cpregd over its
# real socket, and cpregctl passport --domain-xml.  The VMs are the chains'
# real cases (tests/vm/migrate-expected.txt): born on 7.2 without a pinned
# PSCI, refused on 6.12; born on 7.2 with kvm-psci-version=1.1, accepted.
# The XML is read back with xmllint and python (the guest ABI unchanged).
set -u
TEST_NAME=hook
. "$top_srcdir/tests/lib-daemon.sh"
C=$B/daemon/cpregctl
M=$top_srcdir/tests/data/migrate
if ! "$C" --help | grep -q libvirt-hook || ! command -v xmllint >/dev/null; then
	echo "1..0 # SKIP cpregctl without libxml2, or no xmllint"
	exit 0
fi
cat >"$T/vm.xml" <<'XML'
<domain type='kvm'>
  <name>vm1</name>
  <uuid>5f0c1a2e-8f35-4e39-9a3c-7d1b2c3e4f50</uuid>
  <metadata>
    <app1:foo xmlns:app1="http://app1.example/"><x>kept</x></app1:foo>
  </metadata>
  <memory unit='MiB'>64</memory>
  <os><type arch='aarch64' machine='virt-7.2'>hvm</type></os>
  <cpu mode='host-passthrough' check='none'/>
</domain>
XML
# The same domain as QEMU 11.1 runs it with the PSCI version pinned.
sed "s|<cpu mode='host-passthrough' check='none'/>|<cpu mode='host-passthrough' check='none'/>\n  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='-global'/><qemu:arg value='host-arm-cpu.kvm-psci-version=1.1'/></qemu:commandline>|" \
	"$T/vm.xml" >"$T/vm-pinned.xml"
abi() { # the domain without <metadata>, canonical: what the guest sees must not change
	python3 -c 'import sys, xml.etree.ElementTree as E
d = E.parse(sys.argv[1]).getroot()
for m in d.findall("metadata"): d.remove(m)
print(E.canonicalize(E.tostring(d), strip_text=True))' "$1"
}
"$C" passport --domain-xml "$T/vm.xml" "$M/n1-72-q11.json" >"$T/born.xml"
ok "$(xmllint --noout "$T/born.xml" 2>&1 && [ "$(abi "$T/born.xml")" = "$(abi "$T/vm.xml")" ] &&
	xmllint --xpath 'string(//*[local-name()="passport" and namespace-uri()="urn:cpregd:passport:1"])' "$T/born.xml" |
	jqe --slurpfile h "$M/n1-72-q11.json" '.schema == "cpreg-passport/1" and .born.digest == $h[0].digest' >/dev/null &&
	grep -q '<x>kept</x>' "$T/born.xml"; echo $?)" \
	"passport --domain-xml: the domain XML with a passport born on 7.2 in <metadata>, the rest as it was"
"$C" passport --domain-xml "$T/vm-pinned.xml" "$M/n1-72-q11.json" >"$T/born-pinned.xml"
xmllint --xpath 'string(//*[local-name()="passport"])' "$T/born-pinned.xml" >"$T/pp.json"
ok "$(jqe '.options.psci_version == "1.1"' "$T/pp.json" >/dev/null; echo $?)" \
	"  the VM's options come from the domain (kvm-psci-version=1.1 through <qemu:commandline>)"
"$C" passport --domain-xml "$T/born.xml" "$T/pp.json" >"$T/again.xml"
ok "$([ "$(grep -c 'urn:cpregd:passport:1' "$T/again.xml")" = 1 ]; echo $?)" "  a second passport replaces the first"

start_daemon "$T/log" --replay "$M/n1-612-q11.json"
wait_for 20 test -S "$SOCK"
export CPREGD_SOCKET=$SOCK
# Where the hook counts its decisions: the daemon's state directory, as /var/lib/cpregd is packaged.
export CPREGD_HOOK_SPOOL=$T/state/hook-decisions
# decisions OP DECISION REASON: cpregd_hook_decisions_total with those labels, from /metrics (0 when absent)
decisions() {
	curl -s --unix-socket "$SOCK" http://cpregd/metrics | awk -v want="{operation=\"$1\",decision=\"$2\",reason=\"$3\"}" '
		$1 == "cpregd_hook_decisions_total" want { v = $2 } END { print v + 0 }'
}
hook() { "$C" libvirt-hook "$@" <"$XMLIN" >"$T/out" 2>"$T/err"; }
XMLIN=$T/born-pinned.xml
hook vm1 migrate begin -; rc=$?
ok "$([ $rc = 0 ] && xmllint --noout "$T/out" 2>/dev/null &&
	xmllint --xpath 'string(//*[local-name()="passport"])' "$T/out" |
	jqe --slurpfile h "$M/n1-612-q11.json" '(.hops | length) == 1 and .hops[0].to == $h[0].digest and .options.psci_version == "1.1"' >/dev/null; echo $?)" \
	"migrate begin, a VM that 6.12 takes (born on 7.2, PSCI pinned): exit 0, the XML with its passport after this hop"
ok "$([ "$(abi "$T/out")" = "$(abi "$T/born-pinned.xml")" ]; echo $?)" "  only <metadata> changed"
XMLIN=$T/born.xml
hook vm1 migrate begin -; rc=$?
ok "$([ $rc = 1 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q 'PSCI_VERSION' "$T/err" && grep -q 'kvm-psci-version' "$T/err"; echo $?)" \
	"migrate begin, a VM born on 7.2 unpinned: exit 1, one line naming PSCI_VERSION and the remedy ($(cat "$T/err"))"
hook vm1 restore begin -; rc=$?
ok "$([ $rc = 1 ] && grep -q 'PSCI_VERSION' "$T/err"; echo $?)" "restore begin: judged the same way"
for op in "prepare begin" "start begin" "started begin" "migrate end" "release end"; do
	hook vm1 $op -; rc=$?
	[ $rc = 0 ] && [ ! -s "$T/out" ] || break
done
ok "$([ $rc = 0 ] && [ ! -s "$T/out" ]; echo $?)" "every other operation: exit 0, nothing printed"
XMLIN=$T/vm.xml
hook vm1 migrate begin -; rc=$?
ok "$([ $rc = 0 ] && [ ! -s "$T/out" ]; echo $?)" "a VM without a passport: allowed by default (exit 0, the XML left as it is)"
CPREGD_HOOK_POLICY=refuse hook vm1 migrate begin -; rc=$?
ok "$([ $rc = 1 ] && grep -q 'refused by policy' "$T/err"; echo $?)" "  refused with CPREGD_HOOK_POLICY=refuse ($(cat "$T/err"))"
ok "$([ "$(decisions migrate allowed compatible)" = 1 ] && [ "$(decisions migrate refused unknown)$(decisions migrate refused incompatible)" != 00 ] &&
	[ "$(decisions restore refused unknown)$(decisions restore refused incompatible)" != 00 ] &&
	[ "$(decisions migrate allowed no-passport)" = 1 ] && [ "$(decisions migrate refused no-passport)" = 1 ]; echo $?)" \
	"/metrics counts each decision by operation, decision and reason (cpregd_hook_decisions_total)"
curl -s --unix-socket "$SOCK" http://cpregd/metrics >"$T/metrics.txt"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1
	ok $? "  promtool check metrics accepts them ($(head -n 2 "$T/promtool.out" | tr '\n' ' '))"
fi
kill "$PID"; wait "$PID" 2>/dev/null
XMLIN=$T/born-pinned.xml
t0=$(date +%s%N); hook vm1 migrate begin -; rc=$?; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "$([ $rc = 0 ] && [ $ms -lt 5500 ]; echo $?)" "cpregd stopped: the default policy allows, within the deadline ($ms ms)"
CPREGD_HOOK_POLICY=refuse hook vm1 migrate begin -; rc=$?
ok "$([ $rc = 1 ] && grep -q 'did not answer' "$T/err"; echo $?)" "  and the refuse policy refuses, saying why"
start_daemon "$T/log2" --replay "$M/n1-612-q11.json"
wait_for 20 test -S "$SOCK"
wait_for 20 curl -sf --unix-socket "$SOCK" http://cpregd/v1/health -o /dev/null
ok "$([ "$(decisions migrate allowed unanswered)" = 1 ] && [ "$(decisions migrate refused unanswered)" = 1 ] &&
	[ "$(decisions migrate allowed compatible)" = 0 ] && [ ! -e "$CPREGD_HOOK_SPOOL" ]; echo $?)" \
	"the decisions made while cpregd was stopped are counted when it is back (a new process: the earlier counts are not)"
done_testing
