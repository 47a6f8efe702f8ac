#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cpregd --peers over its real socket: a directory of the other hosts'
# inventories (the real ones the test bed's hosts exported,
# tests/data/migrate), judged once per distinct digest, and published as
# NFD labels, Nova traits and a Prometheus textfile.  The expectations are
# cpregctl's own answers for each pair (offline for the static check, the
# daemon's /v1/check for the trial), so one verdict decides everything; the
# files are read back with the tools that consume them (promtool, a YAML
# parser, the Kubernetes label grammar).
TEST_NAME=peers
. "$top_srcdir/tests/lib-daemon.sh"
CTL=$B/tests/cpregctl
M=$top_srcdir/tests/data/migrate
t() { "$@" >/dev/null 2>&1; echo $?; }

DST=$M/n1-612-q11.json   # this host: neoverse-n1, Linux 6.12, QEMU 11.1 (a real probe)
PEERS=$T/peers
OUT=$T/out
mkdir -p "$PEERS" "$OUT" "$T/state"

http() { curl -s -m 20 --unix-socket "$SOCK" -o "$T/body" -w '%{http_code}' "$@"; }
peers() { curl -s -m 20 --unix-socket "$SOCK" http://cpregd/v1/peers; }
settled() { peers | jqe '.pending == 0' >/dev/null; }
start_daemon() { # start_daemon LOG ARGS...
	local log=$1; shift
	"$B/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu --replay "$DST" --peers "$PEERS" \
		--nfd-file "$OUT/cpregd.features" --nova-provider-file "$OUT/cpregd.yaml" --textfile "$OUT/cpregd.prom" \
		"$@" 2>"$log" &
	PID=$!
	PIDS+=("$PID")
	wait_for 20 test -S "$SOCK" && wait_for 60 settled
}
stop_daemon() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -f "$SOCK"; }
short() { jq -r .digest "$1" | sed 's/^sha256://' | cut -c1-16; }
# The label grammar (Kubernetes: prefix a DNS subdomain <= 253, name <= 63, value <= 63).
labels_valid() {
	python3 - "$1" <<'PY'
import re, sys
name = re.compile(r'^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$')
value = re.compile(r'^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')
sub = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
bad = 0
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if not line or line.startswith('#'):
        continue
    key, _, val = line.partition('=')
    prefix, _, nm = key.rpartition('/')
    ok = (prefix and len(prefix) <= 253 and sub.match(prefix) and
          (prefix == 'feature.node.kubernetes.io' or prefix.endswith('.feature.node.kubernetes.io')) and
          name.match(nm) and len(val) <= 63 and value.match(val))
    if not ok:
        print('invalid label:', line); bad = 1
sys.exit(bad)
PY
}
nfd_accepts() { sed -n 's|^cpregd\.feature\.node\.kubernetes\.io/accepts-\([0-9a-f]*\)=true$|\1|p' "$OUT/cpregd.features" | sort; }
nova_accepts() {
	python3 -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
for t in d["providers"][0]["traits"]["additional"]:
    if t.startswith("CUSTOM_CPREG_ACCEPTS_"): print(t[len("CUSTOM_CPREG_ACCEPTS_"):].lower())' "$OUT/cpregd.yaml" | sort
}
api_accepts() { peers | jq -r '.sources[] | select(.accepted) | .short_digest' | sort -u; }

# Every real host's inventory once, and the 6.1 n1 host three times over (three hosts, one digest).
for f in "$M"/*.json; do cp "$f" "$PEERS/$(basename "$f")"; done
cp "$M/n1-61-q72.json" "$PEERS/n1-61-twin1.json"
cp "$M/n1-61-q72.json" "$PEERS/n1-61-twin2.json"
ndistinct=$(for f in "$PEERS"/*.json; do jq -r .digest "$f"; done | sort -u | wc -l)

# ---- the static check alone: the accept set is cpregctl check's ----
start_daemon "$T/log1" --peer-trial 0
ok $? "cpregd with 16 peer files settles: every distinct source judged"
peers >"$T/p1.json"
ok "$(t jqe --argjson n "$ndistinct" '(.sources | length) == $n and .files == 16 and (.errors | length) == 0' "$T/p1.json")" \
	"  one source per distinct digest ($ndistinct), 16 files, no errors"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	/usr/bin/python3 "$top_srcdir/tests/validate-json.py" "$top_srcdir/docs/schemas/cpreg-peers-1.schema.json" "$T/p1.json" >&2
	ok $? "  GET /v1/peers is valid cpreg-peers/1 (docs/schemas)"
else
	skip "python3-jsonschema is not installed"
fi
ok "$(t jqe '[.sources[] | select(.short_digest == "'"$(short "$M/n1-61-q72.json")"'")] | length == 1 and (.[0].hosts | length) == 3 and (.[0].files | length) == 3' "$T/p1.json")" \
	"  three files of one digest are one source with three hosts"
judged=$(curl -s --unix-socket "$SOCK" http://cpregd/metrics | sed -n 's/^cpregd_peer_judgements_total //p')
ok "$([ "$judged" = "$ndistinct" ]; echo $?)" "  $ndistinct judgements for 16 files (metrics: $judged)"
mism=0
for f in "$M"/*.json; do
	"$CTL" --no-trial check "$f" "$DST" >/dev/null 2>&1; rc=$?
	want=$([ $rc = 0 ] && echo true || echo false)
	got=$(jq -r --arg s "$(short "$f")" '.sources[] | select(.short_digest == $s) | .accepted' "$T/p1.json")
	[ "$got" = "$want" ] || { diag "$(basename "$f"): cpregctl check exit $rc, accepted $got"; mism=$((mism + 1)); }
done
ok $mism "  each source's acceptance is cpregctl check's verdict for that pair (14 real hosts)"
ok "$([ "$(nfd_accepts)" = "$(api_accepts)" ] && [ -n "$(nfd_accepts)" ]; echo $?)" \
	"  the NFD accepts- labels are exactly the accepted sources ($(nfd_accepts | wc -l))"
labels_valid "$OUT/cpregd.features" >&2
ok $? "  every NFD line is a valid Kubernetes label in an NFD-allowed namespace"
grep -q '^# +expiry-time=20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]*Z$' "$OUT/cpregd.features"
ok $? "  the NFD file carries an RFC 3339 expiry-time directive"
ok "$([ "$(sed -n 's|^cpregd.feature.node.kubernetes.io/digest=||p' "$OUT/cpregd.features")" = "$(short "$DST")" ] &&
	grep -qx 'cpregd.feature.node.kubernetes.io/kernel=6.12' "$OUT/cpregd.features" &&
	grep -qx 'cpregd.feature.node.kubernetes.io/policy=qemu-11.1' "$OUT/cpregd.features"; echo $?)" \
	"  this host's own labels: short digest, kernel series 6.12, policy qemu-11.1"
ok "$([ "$(nova_accepts)" = "$(api_accepts)" ]; echo $?)" "  provider.yaml parses (YAML) and its ACCEPTS traits are the same set"
grep -qx '        - CUSTOM_CPREG_JUDGED_COMPLETE' "$OUT/cpregd.yaml"
ok $? "  provider.yaml says every peer is judged (CUSTOM_CPREG_JUDGED_COMPLETE, as NFD's judged=complete)"
grep -q '^cpregd_start_time_seconds [0-9]' "$OUT/cpregd.prom" && ! grep -q '^cpregd_uptime_seconds' "$OUT/cpregd.prom" &&
	curl -s --unix-socket "$SOCK" http://cpregd/metrics | grep -q '^cpregd_uptime_seconds'
ok $? "  the textfile carries cpregd_start_time_seconds, not an uptime that goes stale (/metrics has both)"
python3 -c 'import sys, yaml, re
d = yaml.safe_load(open(sys.argv[1]))
assert d["meta"]["schema_version"] == "1.0"
p = d["providers"]
assert len(p) == 1 and p[0]["identification"] == {"uuid": "$COMPUTE_NODE"}
assert all(re.fullmatch(r"CUSTOM_[A-Z0-9_]+", t) and len(t) <= 255 for t in p[0]["traits"]["additional"])' "$OUT/cpregd.yaml"
ok $? "  provider.yaml: schema 1.0, \$COMPUTE_NODE, only CUSTOM_ traits"
if command -v promtool >/dev/null; then
	promtool check metrics <"$OUT/cpregd.prom" >"$T/promtool.out" 2>&1
	ok $? "  promtool check metrics passes on the textfile"
	curl -s --unix-socket "$SOCK" http://cpregd/metrics | promtool check metrics >/dev/null 2>&1
	ok $? "  and on /metrics"
else
	skip "promtool is not installed (package prometheus)"
	skip "promtool is not installed (package prometheus)"
fi
ok "$([ "$(grep -c '^cpregd_peer_accepted{.*} 1$' "$OUT/cpregd.prom")" = "$(api_accepts | wc -l)" ]; echo $?)" \
	"  one cpregd_peer_accepted series per source, 1 for each accepted one"
ok "$(find "$OUT" -name '.*' | grep -q .; [ $? = 1 ]; echo $?)" "  no temporary dot-files are left behind"
ok "$([ "$(stat -c %a "$OUT/cpregd.features" "$OUT/cpregd.yaml" "$OUT/cpregd.prom" | sort -u)" = 644 ] &&
	[ "$(stat -c %a "$T/state/inventory.json")" = 600 ]; echo $?)" \
	"  published files are 0644 (nfd-worker, nova-compute, node_exporter read them), the state file 0600"
stop_daemon

# ---- with the live trial (replay kernel): the accept set is the daemon's own /v1/check's ----
start_daemon "$T/log2" --peer-vm-options "kvm-psci-version=1.1"
ok $? "with the trial and the site's VM options (kvm-psci-version=1.1): settles"
peers >"$T/p2.json"
ok "$(t jqe '.vm_options == "host,kvm-psci-version=1.1" and ([.sources[] | select(.trial.ran | not)] | length) == 0' "$T/p2.json")" \
	"  every source was judged with the trial, under the configured VM options"
mism=0
for f in "$M"/*.json; do
	CPREGD_SOCKET=$SOCK "$CTL" --psci-version 1.1 check "$f" >/dev/null 2>&1; rc=$?
	want=$([ $rc = 0 ] && echo true || echo false)
	got=$(jq -r --arg s "$(short "$f")" '.sources[] | select(.short_digest == $s) | .accepted' "$T/p2.json")
	[ "$got" = "$want" ] || { diag "$(basename "$f"): /v1/check exit $rc, accepted $got"; mism=$((mism + 1)); }
done
ok $mism "  each source's acceptance is the daemon's /v1/check verdict with the trial and the same options"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	/usr/bin/python3 "$top_srcdir/tests/validate-json.py" "$top_srcdir/docs/schemas/cpreg-peers-1.schema.json" "$T/p2.json" >&2
	ok $? "  GET /v1/peers with findings and trials is valid cpreg-peers/1"
else
	skip "python3-jsonschema is not installed"
fi
ok "$([ "$(nfd_accepts)" = "$(api_accepts)" ]; echo $?)" "  the NFD labels follow ($(nfd_accepts | wc -l) accepted)"
CPREGD_SOCKET=$SOCK "$CTL" peers >"$T/peers.txt"; rc=$?
ok "$([ $rc = 0 ] && [ "$(awk '$2 == "yes"' "$T/peers.txt" | wc -l)" = "$(api_accepts | wc -l)" ] &&
	grep -q 'kvm-psci-version=1.1 and the live trial' "$T/peers.txt"; echo $?)" \
	"cpregctl peers: a table with one ACCEPTED yes row per accepted source, and the options judged with"

# ---- changes on disk reach every output within a second or two ----
# time_to CMD: how long until CMD holds (ms on stdout); fails after 5 s.
time_to() { local t0; t0=$(date +%s%N); wait_for 5 "$@" || return 1; echo $((($(date +%s%N) - t0) / 1000000)); }
a64=$(short "$M/a64fx-612-q11.json")
rm "$PEERS/a64fx-612-q11.json"
# Gone from the published files, and /v1/peers answers without it (an answer, not a refused connect).
gone() { ! grep -q "accepts-$1\\|ACCEPTS_${1^^}" "$OUT/cpregd.features" "$OUT/cpregd.yaml" &&
	api_is /v1/peers "all(.sources[]; .short_digest != \"$1\")"; }
ms=$(time_to gone "$a64")
ok "$([ -n "$ms" ] && [ "$ms" -lt 1000 ]; echo $?)" "a peer file removed: its source leaves /v1/peers and the published files (${ms:-never} ms)"
# A new file (written in place, not renamed): the a64fx host just removed, back under another name.
cp "$M/a64fx-612-q11.json" "$PEERS/new.json"
a61=$a64
ms=$(time_to api_is /v1/peers ".sources[] | select(.short_digest == \"$a61\" and .state == \"judged\")")
ok "$([ -n "$ms" ] && [ "$ms" -lt 1000 ]; echo $?)" "a peer file added: judged within ${ms:-never} ms"
got=$(peers | jq -r --arg s "$a61" '.sources[] | select(.short_digest == $s) | .accepted')
CPREGD_SOCKET=$SOCK "$CTL" --psci-version 1.1 check "$M/a64fx-612-q11.json" >/dev/null 2>&1; rc=$?
ok "$([ "$got" = "$([ $rc = 0 ] && echo true || echo false)" ]; echo $?)" "  and its verdict is /v1/check's (accepted $got)"
# Changed: the file now holds the max host's inventory, renamed into place like a CM tool does.
cp "$M/max-612-q11.json" "$PEERS/.new.json.tmp" && mv "$PEERS/.new.json.tmp" "$PEERS/new.json"
mx=$(short "$M/max-612-q11.json")
ms=$(time_to api_is /v1/peers ".sources[] | select(.short_digest == \"$mx\" and (.files | index(\"new.json\")))")
ok "$([ -n "$ms" ] && [ "$ms" -lt 1000 ]; echo $?)" "a peer file changed (renamed over): re-read within ${ms:-never} ms"
ok "$(peers | jqe --arg s "$a61" '[.sources[] | select(.short_digest == $s)] | length == 0' >/dev/null; echo $?)" \
	"  and the digest it held before is gone with it"
# Broken: garbage in a file; it is reported with its name and reason, and the rest stays.
before=$(api_accepts)
printf '{"schema": "cpreg-inventory/1", "registers": [' >"$PEERS/new.json"
ms=$(time_to api_is /v1/peers ".errors[] | select(.file == \"new.json\")")
ok "$([ -n "$ms" ] && [ "$ms" -lt 1000 ]; echo $?)" "a peer file broken: reported within ${ms:-never} ms"
peers | jqe '.errors[] | select(.file == "new.json") | .reason | test("JSON|parse|unexpected|truncated"; "i")' >/dev/null
ok $? "  /v1/peers names the file and why ($(peers | jq -r '.errors[0].reason'))"
curl -s --unix-socket "$SOCK" http://cpregd/metrics | grep -q '^cpregd_peer_file_invalid{file="new.json"} 1$'
ok $? "  /metrics has cpregd_peer_file_invalid{file=\"new.json\"}"
wait_for 2 bash -c "grep -q 'cpregd_peer_file_invalid{file=\"new.json\"} 1' '$OUT/cpregd.prom'"
ok $? "  and so does the textfile"
ok "$([ "$(api_accepts)" = "$(echo "$before" | grep -v "^$mx\$")" ]; echo $?)" \
	"  the other sources keep their verdicts (only the max host, whose one file broke, left)"
# Not a regular file: a FIFO named like an inventory never blocks the daemon.
mkfifo "$PEERS/fifo.json"
wait_for 3 api_is /v1/peers ".errors[] | select(.file == \"fifo.json\" and .reason == \"not a regular file\")"
ok $? "a FIFO in the directory: reported as not a regular file, never opened"
code=$(http http://cpregd/v1/health)
ok "$([ "$code" = 200 ]; echo $?)" "  health still answers 200"
rm -f "$PEERS/fifo.json" "$PEERS/new.json"

# ConfigMap layout: *.json are symlinks into ..data, which is swapped atomically.
mkdir -p "$PEERS/..2026_1" "$PEERS/..2026_2"
cp "$M/a72-61-q72.json" "$PEERS/..2026_1/cm.json"
cp "$M/a57-72-q11.json" "$PEERS/..2026_2/cm.json"
ln -s ..2026_1 "$PEERS/..data" && ln -s ..data/cm.json "$PEERS/cm.json"
a72=$(short "$M/a72-61-q72.json"); a57=$(short "$M/a57-72-q11.json")
wait_for 3 api_is /v1/peers ".sources[] | select(.short_digest == \"$a72\" and (.files | index(\"cm.json\")))"
ok $? "a ConfigMap-style symlink is followed"
ln -sfn ..2026_2 "$PEERS/..data.tmp" && mv -T "$PEERS/..data.tmp" "$PEERS/..data"
ms=$(time_to api_is /v1/peers ".sources[] | select(.short_digest == \"$a57\" and (.files | index(\"cm.json\")))")
ok "$([ -n "$ms" ] && [ "$ms" -lt 1000 ]; echo $?)" "  and the ..data swap of a ConfigMap update is seen within ${ms:-never} ms"

# A peer file whose name is not UTF-8 (byte 0xff; anyone who may write into
# the directory can do that): every document, label and log line stays valid
# UTF-8, the name written with \xff, so it is still identifiable (issue 26).
bad=$(printf 'n1-\xff.json'); broken=$(printf 'broken-\xfe.json')
cp "$M/n1-612-q10.json" "$PEERS/$bad"
echo '{"schema": "cpreg-inventory/1",' >"$PEERS/$broken"
wait_for 10 api_is /v1/peers "[.sources[].files[]] | index(\"n1-\\\\xff.json\")"
ok $? "a peer file named with byte 0xff is judged and listed as n1-\\xff.json"
peers >"$T/pbad.json"
curl -s --unix-socket "$SOCK" http://cpregd/metrics >"$T/mbad.prom"
wait_for 10 grep -q 'n1-\\\\xff.json' "$OUT/cpregd.prom"
python3 -c 'import sys, json
for f in sys.argv[1:]:
    b = open(f, "rb").read()
    b.decode("utf-8")          # strict: an invalid byte raises
json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' "$T/pbad.json" "$T/mbad.prom" "$OUT/cpregd.prom" "$T/log2"
ok $? "  /v1/peers, /metrics, the textfile and the daemon's log are valid UTF-8"
grep -q 'broken-\\xfe.json' "$T/log2" && jqe '[.errors[].file] | index("broken-\\xfe.json")' "$T/pbad.json" >/dev/null
ok $? "  a malformed one is named broken-\\xfe.json in the log and in /v1/peers' errors"
if command -v promtool >/dev/null; then
	promtool check metrics <"$OUT/cpregd.prom" >/dev/null 2>&1 && promtool check metrics <"$T/mbad.prom" >/dev/null 2>&1
	ok $? "  promtool check metrics passes on the textfile and /metrics"
else
	skip "promtool is not installed (package prometheus)"
fi
"$top_builddir/daemon/cpregctl" --json matrix "$PEERS/$bad" "$M/n1-72-q11.json" >"$T/mxbad.json"
python3 -c 'import sys, json; d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8")); assert any("n1-\\xff.json" in m for p in d["pools"] for m in p["members"])' "$T/mxbad.json"
ok $? "  cpregctl matrix --json with that file: valid UTF-8, the name as n1-\\xff.json"
rm -f "$PEERS/$bad" "$PEERS/$broken"

# A re-probe re-judges every source.
j0=$(curl -s --unix-socket "$SOCK" http://cpregd/metrics | sed -n 's/^cpregd_peer_judgements_total //p')
kill -HUP "$PID"
wait_for 10 bash -c "[ \$(curl -s --unix-socket '$SOCK' http://cpregd/metrics | sed -n 's/^cpregd_peer_judgements_total //p') -ge \$(($j0 + $(peers | jq '.sources | length'))) ]"
ok $? "SIGHUP (re-probe): every source is judged again"
stop_daemon
ok "$(grep -c 'ERROR: AddressSanitizer\|runtime error' "$T"/log* | awk -F: '{s += $2} END {print s}')" "no sanitizer report in the daemon's logs"

# ---- configuration errors ----
rm -rf "$T/nodir"
"$B/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu --replay "$DST" --peers "$T/nodir" 2>"$T/log3" &
PID=$!; PIDS+=("$PID")
wait_for 20 test -S "$SOCK"
peers | jqe '.directory_error | test("nodir")' >/dev/null
ok $? "a missing peers directory is reported in /v1/peers, and cpregd serves on"
mkdir "$T/nodir" && cp "$M/n1-72-q11.json" "$T/nodir/"
wait_for 8 api_is /v1/peers ".directory_error == null and .files == 1"
ok $? "  and is watched once it appears"
stop_daemon
"$B/tests/cpregd" --socket "$SOCK" --no-qemu --nfd-prefix 'Bad_Prefix' 2>"$T/log4"
ok "$([ $? = 2 ] && grep -q 'nfd-prefix' "$T/log4"; echo $?)" "--nfd-prefix that is not a DNS subdomain: exit 2 naming the option"
"$B/tests/cpregd" --socket "$SOCK" --no-qemu --peer-vm-options 'pmu=maybe' 2>"$T/log5"
ok "$([ $? = 2 ] && grep -q 'pmu' "$T/log5"; echo $?)" "--peer-vm-options with a bad value: exit 2 naming it"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://cpregd/v1/peers 2>/dev/null)
"$B/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu --replay "$DST" 2>"$T/log6" &
PID=$!; PIDS+=("$PID")
wait_for 20 test -S "$SOCK"
ok "$([ "$(http http://cpregd/v1/peers)" = 404 ] && jqe '.error.message | test("peers")' "$T/body" >/dev/null; echo $?)" \
	"without --peers, GET /v1/peers is 404 saying how to configure it"
stop_daemon

# ---- NFD's 64 KiB limit (issue 26): 1,200 accepted peers ----
# NFD ignores a features.d file over 65,536 bytes whole (MaxFeatureFileSize in
# NFD's source/local).  1,200 hosts like this one but for SCTLR_EL1 (vCPU
# state: each its own digest, every one accepted) need more than one file.
rm -rf "$PEERS" "$OUT" && mkdir -p "$PEERS" "$OUT"
python3 - "$DST" "$PEERS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.pop("digest", None)
sctlr = next(r for r in d["registers"] if r["name"] == "SCTLR_EL1")
for k in range(1200):
    sctlr["value"] = "0x%016x" % (0x30d00800 + 0x10000 * (k + 1))
    d["host"]["hostname"] = "twin%04d" % k
    json.dump(d, open("%s/twin%04d.json" % (sys.argv[2], k), "w"))
PY
"$B/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu --replay "$DST" --peers "$PEERS" \
	--nfd-file "$OUT/cpregd.features" 2>"$T/log7" &
PID=$!; PIDS+=("$PID")
wait_for 20 test -S "$SOCK" && wait_for 240 api_is /v1/peers ".pending == 0 and .files == 1200"
ok $? "cpregd with 1,200 peer files settles"
nfiles() { ls "$OUT" | grep -c '^cpregd\.features\(-[0-9]*\)\?$'; }
wait_for 10 bash -c "[ \$(cat '$OUT'/cpregd.features* | grep -c '/accepts-') -ge 1201 ]"
acc_files=$(cat "$OUT"/cpregd.features* | sed -n 's|^cpregd\.feature\.node\.kubernetes\.io/accepts-\([0-9a-f]*\)=true$|\1|p' | sort)
ok "$([ "$acc_files" = "$(api_accepts)" ] && [ "$(echo "$acc_files" | wc -l)" = 1201 ]; echo $?)" \
	"  the 1,201 accepts- labels (1,200 peers and this host) are all published, each once"
big=0; for f in "$OUT"/cpregd.features*; do [ "$(stat -c %s "$f")" -le 65536 ] || big=1; labels_valid "$f" >&2 || big=1
	grep -q '^# +expiry-time=' "$f" || big=1; done
ok "$([ $big = 0 ] && [ "$(nfiles)" -ge 2 ]; echo $?)" \
	"  in $(nfiles) files, each within NFD's 65,536 bytes, valid labels, each with its expiry-time"
curl -s --unix-socket "$SOCK" http://cpregd/metrics >"$T/m7"
ok "$(grep -qx "cpregd_nfd_files $(nfiles)" "$T/m7" && grep -qx 'cpregd_nfd_labels_dropped 0' "$T/m7"; echo $?)" \
	"  /metrics counts the files and no dropped label"
rm -f "$PEERS"/twin0*.json "$PEERS"/twin10*.json
wait_for 60 bash -c "[ \$(ls '$OUT' | grep -c '^cpregd\.features') = 1 ]"
ok "$([ "$(nfiles)" = 1 ] && [ "$(grep -c '/accepts-' "$OUT/cpregd.features")" = 101 ]; echo $?)" \
	"  with 100 peers left, one file again: the parts no longer needed are removed"
stop_daemon

done_testing
