#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gzip-compressed inventories and passports (issue 26): a Kubernetes
# ConfigMap holds 1 MiB, about 30 inventories of 31 kB but some 230
# compressed ones (3.3 kB each, base64 in binaryData).  Read everywhere a
# file is read (cpregctl, cpregd --peers), and GET /v1/inventory answers
# Accept-Encoding: gzip.  Compared parsed (jq), never by bytes.
set -u
TEST_NAME=gzip
. "$top_srcdir/tests/lib-daemon.sh"
C=$B/daemon/cpregctl
M=$top_srcdir/tests/data/migrate

for h in n1-612-q11 n1-72-q11; do gzip -9 -c "$M/$h.json" >"$T/$h.json.gz"; done
"$C" --json check "$T/n1-72-q11.json.gz" "$T/n1-612-q11.json.gz" >"$T/gz.json"; r1=$?
"$C" --json check "$M/n1-72-q11.json" "$M/n1-612-q11.json" >"$T/plain.json"; r2=$?
ok "$([ $r1 = $r2 ] && jqe --slurpfile p "$T/plain.json" '.result == $p[0].result and .findings == $p[0].findings' "$T/gz.json" >/dev/null; echo $?)" \
	"cpregctl check of two *.json.gz: the verdict of the plain files (exit $r1)"
"$C" passport "$T/n1-612-q11.json.gz" >"$T/p.json" && gzip -9 -k "$T/p.json" &&
	"$C" check "$T/p.json.gz" "$T/n1-72-q11.json.gz" >/dev/null
ok $? "a passport born from a .json.gz, itself gzip-compressed, is a source like any other"
"$C" -p qemu-11.1 pools "$T/n1-612-q11.json.gz" "$M/n1-72-q11.json" >/dev/null; rc=$?
ok "$([ $rc = 1 ]; echo $?)" "  and the fleet commands read them (pools: exit $rc, two pools)"
head -c 1500 "$T/n1-612-q11.json.gz" >"$T/cut.json.gz"
"$C" check "$T/cut.json.gz" "$M/n1-612-q11.json" >/dev/null 2>"$T/err"; rc=$?
ok "$([ $rc = 2 ] && grep -q 'cut.json.gz.*gzip data is cut short' "$T/err"; echo $?)" \
	"a truncated .json.gz: exit 2, the file named ($(cat "$T/err"))"
head -c 20000000 /dev/zero | gzip -1 >"$T/bomb.json.gz"
"$C" check "$T/bomb.json.gz" "$M/n1-612-q11.json" >/dev/null 2>"$T/err"; rc=$?
ok "$([ $rc = 2 ] && grep -q 'once decompressed' "$T/err"; echo $?)" \
	"20 MB of zeros in 20 kB of gzip: refused past the 16 MiB bound ($(cat "$T/err"))"

# The daemon: a gzip-compressed answer for clients that accept one, a source file compressed.
start_daemon "$T/log" --replay "$M/n1-612-q11.json" --peers "$T/peers"
mkdir -p "$T/peers"
wait_for 20 test -S "$SOCK"
curl -s --unix-socket "$SOCK" -H 'Accept-Encoding: gzip' -D "$T/h1" -o "$T/inv.gz" http://cpregd/v1/inventory
curl -s --unix-socket "$SOCK" -D "$T/h2" -o "$T/inv" http://cpregd/v1/inventory
grep -qi '^Content-Encoding: gzip' "$T/h1" && grep -qi '^Vary: Accept-Encoding' "$T/h1" && ! grep -qi '^Content-Encoding' "$T/h2" &&
	gunzip -c "$T/inv.gz" | jqe --slurpfile p "$T/inv" '. == $p[0]' >/dev/null
ok $? "GET /v1/inventory with Accept-Encoding: gzip: the same document gzip-encoded ($(stat -c %s "$T/inv.gz") of $(stat -c %s "$T/inv") bytes), Vary says so"
curl -s --unix-socket "$SOCK" -H 'Accept-Encoding: gzip;q=0, identity' -D "$T/h3" -o /dev/null http://cpregd/v1/inventory
ok "$(! grep -qi '^Content-Encoding' "$T/h3"; echo $?)" "  gzip;q=0: the plain document"
CPREGD_SOCKET=$SOCK "$C" --json check "$T/n1-72-q11.json.gz" >"$T/d.json"
ok "$(jqe '.result == "incompatible" and .trial.ran' "$T/d.json" >/dev/null; echo $?)" \
	"cpregctl check FILE.json.gz through the daemon: judged with the trial"
cp "$T/n1-72-q11.json.gz" "$T/peers/"
wait_for 30 api_is /v1/peers ".pending == 0 and .files == 1 and ([.sources[].files[]] == [\"n1-72-q11.json.gz\"])"
ok $? "cpregd --peers reads a *.json.gz peer file"
done_testing
