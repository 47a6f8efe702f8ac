#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# VM passports from the outside: tests/vmstate-cpregs on a real migration
# stream (tests/data/streams), cpregctl passport and its errors, a passport
# wherever a source goes, and cpregd's GET /v1/passport and POST /v1/check
# of a passport (passport_after), over its socket.  Documents are checked by
# the JSON Schema validator against docs/schemas, and compared parsed (jq).
set -u
. "$top_srcdir/tests/tap.sh"
CTL=$top_builddir/daemon/cpregctl
VS=$top_builddir/tests/vmstate-cpregs
M=$top_srcdir/tests/data/migrate
S=$top_srcdir/docs/schemas
V=$top_srcdir/tests/validate-json.py
T=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
schema() { # schema NAME FILE...: valid against docs/schemas/NAME.schema.json (skipped without the validator)
	local s=$1
	shift
	/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || return 0
	/usr/bin/python3 "$V" "$S/$s.schema.json" "$@" >"$T/verr" 2>&1
}

# ---- the decoder, on what real QEMU 11.1 sent from n1-612-q11 (tests/data/streams/README) ----
gunzip -c "$top_srcdir/tests/data/streams/n1-612-q11.st.gz" >"$T/s.st"
"$VS" "$T/s.st" >"$T/s.json"
ok $? "vmstate-cpregs reads the cpu section of a real QEMU 11.1 stream"
# Its cpreg list is the one the same host's cpregd exported as migrated (ids, ascending), and
# the ID registers and firmware values it sent are that inventory's.
jq -r '.registers[].id' "$T/s.json" >"$T/s.ids"
"$top_builddir/tests/invinfo" --migrated-ids "$M/n1-612-q11.json" >"$T/inv.ids"
[ "$(wc -l <"$T/s.ids")" = 258 ] && cmp -s "$T/s.ids" "$T/inv.ids"
ok $? "  its 258 register ids are the host inventory's migration view"
"$CTL" passport "$M/n1-612-q11.json" >"$T/born.json"
"$VS" --passport "$T/born.json" "$T/s.st" >"$T/cmp" 2>&1
ok $? "  a passport born from that inventory equals it, every carried value too ($(tail -n 1 "$T/cmp"))"
"$CTL" passport "$M/n1-72-q11.json" >"$T/born72.json"
"$VS" --passport "$T/born72.json" "$T/s.st" >"$T/cmp" 2>&1
[ $? = 1 ] && grep -q '^value differs: 0x6030000000140000 PSCI_VERSION' "$T/cmp" && grep -q '^only in the stream:' "$T/cmp"
ok $? "  another host's passport does not: exit 1, the registers named ($(tail -n 1 "$T/cmp"))"
head -c 400000 "$T/s.st" >"$T/cut.st"
"$VS" "$T/cut.st" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'no device description' "$T/err"
ok $? "  a truncated stream: exit 2, saying what is missing ($(cat "$T/err"))"
# cpreg_vmstate_array_len must say what the description says: one changed byte is refused.
/usr/bin/python3 - "$T/s.st" "$T/bad.st" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
at = b.find(b"\x03cpu\x00\x00\x00\x00") - 5    # SECTION_FULL, section id, "cpu", instance 0
assert at >= 0 and b[at] == 4
# The header (17 bytes), then the fields before the array length: 568 bytes in QEMU 11.1's vmstate_arm_cpu.
b[at + 17 + 568] ^= 0x05
open(sys.argv[2], "wb").write(b)
PY
"$VS" "$T/bad.st" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'cpreg_vmstate_array_len' "$T/err"
ok $? "  a stream whose cpreg array length is not its description's: exit 2 ($(cat "$T/err"))"
echo "not a stream" >"$T/no.st"
"$VS" "$T/no.st" >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q 'QEVM' "$T/err"
ok $? "  not a stream at all: exit 2"

# ---- cpregctl passport ----
schema cpreg-passport-1 "$T/born.json" "$T/born72.json"
ok $? "cpregctl passport HOST.json: valid against cpreg-passport-1.schema.json $(head -c 300 "$T/verr")"
jqe --slurpfile h "$M/n1-612-q11.json" '.born.digest == $h[0].digest and .hops == [] and .options.qemu_cpu == "host"' \
	"$T/born.json" >/dev/null
ok $? "  born on that host (its digest), no hops, no options"
"$CTL" --psci-version 1.1 passport "$M/n1-72-q11.json" >"$T/p72.json"
jqe '.options.psci_version == "1.1" and .options.qemu_cpu == "host,kvm-psci-version=1.1" and
	(.registers[] | select(.id == "0x6030000000140000") | .value) == "0x10001"' "$T/p72.json" >/dev/null
ok $? "  with --psci-version 1.1: the option, and PSCI_VERSION pinned to 1.1"
# The rollback (migrate-expected.txt: n1-612-q11>n1-72-q11 n1-612-q11 compatible; the host pair incompatible).
"$CTL" passport --hop "$M/n1-72-q11.json" "$T/born.json" >"$T/hop.json"
ok $? "passport --hop: born on 6.12, after a hop to 7.2"
schema cpreg-passport-1 "$T/hop.json"
ok $? "  valid against cpreg-passport-1.schema.json $(head -c 300 "$T/verr")"
jqe --slurpfile b "$T/born.json" --slurpfile d "$M/n1-72-q11.json" '(.hops | length) == 1 and
	.hops[0].from == $b[0].born.digest and .hops[0].to == $d[0].digest and .born == $b[0].born' "$T/hop.json" >/dev/null
ok $? "  one hop, from the birth host to 7.2's digest"
"$CTL" check "$M/n1-72-q11.json" "$M/n1-612-q11.json" >/dev/null; r1=$?
"$CTL" check "$T/hop.json" "$M/n1-612-q11.json" >/dev/null; r2=$?
[ $r1 = 1 ] && [ $r2 = 0 ]
ok $? "  the host pair 7.2 -> 6.12 is refused (exit $r1), the VM's rollback by its passport is not (exit $r2)"
"$CTL" --json explain "$T/hop.json" "$M/n1-612-q11.json" >"$T/v.json"; r=$?
[ $r = 0 ] && jqe '.result == "compatible"' "$T/v.json" >/dev/null && schema cpreg-verdict-1 "$T/v.json"
ok $? "  explain takes the passport too (cpreg-verdict/1) $(head -c 300 "$T/verr")"
"$CTL" --json diff "$T/hop.json" "$M/n1-612-q11.json" >"$T/d.json"
jqe '[.differences[].name] | index("PSCI_VERSION") == null' "$T/d.json" >/dev/null
ok $? "  diff: the VM's PSCI is 6.12's again, so it shows no PSCI difference"
"$CTL" passport --hop "$M/n1-612-q11.json" "$T/born72.json" >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] && [ ! -s "$T/out" ] && grep -q 'cannot hop' "$T/err"
ok $? "passport --hop to a host it cannot reach (7.2's PSCI 1.3 on 6.12): exit 1, nothing printed"
"$CTL" --disable pmu=off check "$T/hop.json" "$M/n1-612-q11.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'carries the VM' "$T/err"
ok $? "options with a passport: exit 2, the passport carries them ($(cat "$T/err"))"
"$CTL" check "$M/n1-612-q11.json" "$T/hop.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'never a destination' "$T/err"
ok $? "a passport as the destination: exit 2 ($(head -c 200 "$T/err"))"
jq '.registers[0].value = "0x3"' "$T/hop.json" >"$T/tampered.json"
"$CTL" check "$T/tampered.json" "$M/n1-612-q11.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'tampered.json:digest: ' "$T/err"
ok $? "a passport whose content is not its digest's: exit 2 naming the file and field ($(head -c 200 "$T/err"))"
jq '.hops[0].from = .hops[0].to' "$T/hop.json" >"$T/chain.json"
"$CTL" check "$T/chain.json" "$M/n1-612-q11.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'hops\[0\].from' "$T/err"
ok $? "hops that do not chain: exit 2 naming hops[0].from"
jq '.options.smt = false' "$T/hop.json" >"$T/opt.json"
"$CTL" passport --hop "$M/n1-612-q11.json" "$T/opt.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'options.smt: unknown VM option' "$T/err"
ok $? "an option the table does not know: exit 2 naming options.smt"

# ---- cpregd: GET /v1/passport, POST /v1/check with a passport ----
SOCK=$T/sock
"$top_builddir/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu --replay "$M/n1-612-q11.json" 2>"$T/log" &
PIDS+=($!)
i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
get() { curl -s -m 30 --unix-socket "$SOCK" -o "$T/body" -w '%{http_code}' "$@"; }
code=$(get 'http://cpregd/v1/passport?pmu=off')
[ "$code" = 200 ] && schema cpreg-passport-1 "$T/body" &&
	jqe --slurpfile h "$M/n1-612-q11.json" '.born.digest == $h[0].digest and .options.pmu == false and
		([.registers[].name] | index("PMCR_EL0") == null)' "$T/body" >/dev/null
ok $? "GET /v1/passport?pmu=off: born here, without the PMU's registers (HTTP $code) $(head -c 200 "$T/verr")"
CPREGD_SOCKET=$SOCK "$CTL" passport >"$T/here.json"
jqe --slurpfile b "$T/born.json" '.registers == $b[0].registers' "$T/here.json" >/dev/null
ok $? "cpregctl passport (no file) asks the local cpregd: the same registers as offline"
code=$(get 'http://cpregd/v1/passport?policy=auto')
[ "$code" = 400 ] && jqe '.error.message | test("policy")' "$T/body" >/dev/null
ok $? "GET /v1/passport with a parameter it does not take: 400 naming it"
code=$(get -X POST --data-binary @"$T/p72.json" 'http://cpregd/v1/check')
cp "$T/body" "$T/pv.json"
[ "$code" = 200 ] && jqe '.result == "compatible" and .trial.ran == true and .passport_after.schema == "cpreg-passport/1"' \
	"$T/pv.json" >/dev/null && schema cpreg-verdict-1 "$T/pv.json"
ok $? "POST /v1/check of a passport (7.2, PSCI pinned): compatible with the trial, passport_after (HTTP $code) $(head -c 200 "$T/verr")"
jq .passport_after "$T/pv.json" >"$T/after.json"
schema cpreg-passport-1 "$T/after.json"
ok $? "  passport_after: valid against cpreg-passport-1.schema.json $(head -c 200 "$T/verr")"
"$CTL" passport --hop "$M/n1-612-q11.json" "$T/p72.json" >"$T/model.json"
jqe --slurpfile m "$T/model.json" --slurpfile h "$M/n1-612-q11.json" --slurpfile p "$T/p72.json" \
	'.registers == $m[0].registers and .hops[-1].to == $h[0].digest and .hops[-1].from == $p[0].born.digest' \
	"$T/after.json" >/dev/null
ok $? "  its registers (the trial's vCPU read back) equal the kernel model's hop, its last hop ends here"
"$CTL" check "$T/after.json" "$M/n1-72-q11.json" >/dev/null
ok $? "  and with it the VM may go back to 7.2"
CPREGD_SOCKET=$SOCK "$CTL" --json check "$T/born72.json" >"$T/inc.json"; rc=$?
[ $rc = 1 ] && jqe '.result == "incompatible" and has("passport_after") == false' "$T/inc.json" >/dev/null
ok $? "a passport this host refuses (PSCI 1.3): incompatible, no passport_after (exit $rc)"
code=$(get -X POST --data-binary @"$T/p72.json" 'http://cpregd/v1/check?pmu=off')
[ "$code" = 400 ] && jqe '.error.message | test("passport carries")' "$T/body" >/dev/null
ok $? "a passport with VM options in the query: 400 (HTTP $code)"
code=$(get -X POST --data-binary @"$T/tampered.json" 'http://cpregd/v1/check')
[ "$code" = 400 ] && jqe '.error.message | test("^body: digest: ")' "$T/body" >/dev/null
ok $? "a passport whose digest is not its content's: 400 naming the field (HTTP $code)"
code=$(get 'http://cpregd/v1/health')
[ "$code" = 200 ]
ok $? "  and the daemon keeps serving"
done_testing
