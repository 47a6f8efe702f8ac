#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cpregd as a process over its real socket, on the replay backend: every
# endpoint and error status, bad and oversized bodies, a stalled client,
# many clients, the connection limit, SIGHUP, SIGTERM, a failing probe, a
# restart from the persisted inventory, stale and live sockets, socket
# activation, sd_notify readiness/status/watchdog on a real NOTIFY_SOCKET,
# and the units under systemd-analyze verify.
TEST_NAME=daemon
. "$top_srcdir/tests/lib-daemon.sh"
D=$top_srcdir/tests/data/dumps
REPLAY=$T/replay.json
cp "$D/neoverse-n1_linux-6.12.json" "$REPLAY"
DIGEST=$(sed -n 's/^  "digest": "\(.*\)",$/\1/p' "$REPLAY")

# http METHOD PATH [curl args...]: status code on stdout, body in $T/body, headers in $T/headers
http() {
	local m=$1 p=$2; shift 2
	rm -f "$T/body" "$T/headers"
	curl -s -m 20 --unix-socket "$SOCK" -X "$m" -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "http://cpregd$p"
}
mkdir -p "$T/state"
"$B/tests/sockhelper" notify "$T/notify" 300 >"$T/notify.log" &
PIDS+=($!)
wait_for 5 test -S "$T/notify"
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=400000 start_daemon "$T/log1" --replay "$REPLAY" --timeout 2
wait_for 10 grep -q '^READY=1' "$T/notify.log"
ok $? "READY=1 arrives on NOTIFY_SOCKET after the first probe"
grep -q '^STATUS=Serving 333 registers' "$T/notify.log"
ok $? "STATUS= tells what is served"
wait_for 3 grep -q '^WATCHDOG=1' "$T/notify.log"
ok $? "WATCHDOG=1 at half of WATCHDOG_USEC"
[ "$(stat -c %a "$SOCK")" = 660 ]
ok $? "the socket is created with mode 0660"

code=$(http GET /v1/health)
[ "$code" = 200 ] && jqe '.status == "ok" and has("inventory_age_seconds")' "$T/body" >/dev/null &&
	grep -q '"probe_duration_ms"' "$T/body" && grep -q '"uptime_seconds"' "$T/body" && grep -q '"version"' "$T/body"
ok $? "GET /v1/health: 200 ok with age, probe duration, uptime, version"
code=$(http GET /v1/inventory)
[ "$code" = 200 ] && grep -qi "^ETag: \"$DIGEST\"" "$T/headers"
ok $? "GET /v1/inventory: 200 with the digest as ETag"
"$B/tests/invinfo" "$T/body" >/dev/null && [ "$("$B/tests/invinfo" "$T/body" | sed -n 's/^digest=//p')" = "$DIGEST" ]
ok $? "  the body is a valid inventory of the replayed host"
code=$(http GET /v1/inventory -H "If-None-Match: \"$DIGEST\"")
[ "$code" = 304 ] && [ ! -s "$T/body" ]
ok $? "If-None-Match with the ETag: 304 and no body"
code=$(http GET /v1/inventory -H 'If-None-Match: "sha256:other"')
[ "$code" = 200 ]
ok $? "If-None-Match with another digest: 200"

code=$(http POST '/v1/check?policy=qemu-11.1' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 200 ] && jqe '.result == "incompatible" and
	any(.findings[]; .name == "PSCI_VERSION" and .kind == "value-differs" and .outcome == "fail")' "$T/body" >/dev/null
ok $? "POST /v1/check 7.2 -> here (6.12): incompatible on PSCI_VERSION (BRIEF 5)"
code=$(http POST '/v1/check?policy=qemu-11.1' --data-binary @"$D/cortex-a57_linux-6.12.json")
jqe '.result == "incompatible"' "$T/body" >/dev/null
ok $? "POST /v1/check from another CPU: incompatible"
code=$(http POST /v1/check --data-binary @"$D/neoverse-n1_linux-6.12.json")
[ "$code" = 200 ] && jqe '.result == "compatible" and .policy == "qemu-legacy"' "$T/body" >/dev/null
ok $? "POST /v1/check of an identical host: compatible; no QEMU known here, so qemu-legacy"

jqe '.trial.ran == true and (.trial.summary | test("^[0-9]+ writes in"))' "$T/body" >/dev/null
ok $? "  the verdict includes the live trial (replay backend: a modelled kernel; tests/vm runs real ones)"
code=$(http POST '/v1/check?policy=qemu-11.1&trial=0' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 200 ] && jqe '.trial == null' "$T/body" >/dev/null
ok $? "?trial=0: the static answer alone"
d72=$(jq -r .digest "$D/neoverse-n1_linux-7.2.json")
for i in 1 2 3; do http POST '/v1/check?policy=qemu-11.1&trial=0' --data-binary @"$D/neoverse-n1_linux-7.2.json" >/dev/null; done
[ "$(grep -c "check from uid $(id -u): source $d72 is incompatible" "$T/log1")" = 1 ]
ok $? "five alike checks (one client, source and result) are logged once, not five times (the journal would flood)"
code=$(http POST '/v1/check?policy=qemu-11.1&psci=1.1' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 200 ] && jqe '.result == "compatible"' "$T/body" >/dev/null
ok $? "?psci=1.1 (the VM pins kvm-psci-version=1.1): 7.2 -> 6.12 is compatible"
code=$(http POST '/v1/check?policy=qemu-11.1&pauth=off&sve=off' --data-binary @"$D/max_linux-6.12.json")
[ "$code" = 200 ] && ! grep -q 'APIAKEYLO_EL1\|"name": "ZCR_EL1"\|"name": "sve"' "$T/body"
ok $? "?pauth=off&sve=off: the VM's options adjust the source (no key registers, ZCR_EL1 or SVE feature)"
# Sources already read are kept by their bytes (the source cache): a check with VM options adjusts
# a copy, so the same source checked plain before and after gives the same verdict.
http POST '/v1/check?policy=qemu-11.1&trial=0' --data-binary @"$D/max_linux-6.12.json" >/dev/null
jq 'del(.destination_state)' "$T/body" >"$T/plain1"
http POST '/v1/check?policy=qemu-11.1&trial=0&pauth=off&sve=off' --data-binary @"$D/max_linux-6.12.json" >/dev/null
http POST '/v1/check?policy=qemu-11.1&trial=0' --data-binary @"$D/max_linux-6.12.json" >/dev/null
jq 'del(.destination_state)' "$T/body" >"$T/plain2"
hits=$(curl -s --unix-socket "$SOCK" http://cpregd/metrics | sed -n 's/^cpregd_source_cache_total{result="hit"} //p')
grep -q APIAKEYLO_EL1 "$T/plain1" && cmp -s "$T/plain1" "$T/plain2" && [ "${hits:-0}" -ge 3 ]
ok $? "a source read again from the cache ($hits hits) is not changed by a check with VM options in between"
code=$(http POST '/v1/check?pmu=maybe' --data-binary @"$D/max_linux-6.12.json")
[ "$code" = 400 ] && grep -q 'pmu: expected on or off' "$T/body"
ok $? "?pmu=maybe: 400"
code=$(http POST '/v1/check?psci=one' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 400 ] && grep -q 'psci' "$T/body"
ok $? "?psci=one: 400"
# A PSCI version pinned on a source that has no PSCI_VERSION register to pin: named, 400, nothing kept.
jq 'del(.digest) | .registers |= map(select(.name != "PSCI_VERSION"))' "$D/neoverse-n1_linux-7.2.json" >"$T/nopsci.json"
code=$(http POST '/v1/check?psci=1.1&trial=0' --data-binary @"$T/nopsci.json")
[ "$code" = 400 ] && jqe '.error.code == 400 and (.error.message | test("^psci: .*no PSCI_VERSION to pin"))' "$T/body" >/dev/null
ok $? "?psci=1.1 on a source without PSCI_VERSION: 400 at psci ($(head -c 120 "$T/body"))"
# The query is decoded as RFC 3986 and HTML forms encode it (daemon/http.c http_query_parse).
code=$(http POST '/v1/check?policy=qemu%2D11.1&psci=1%2e1&trial=0' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 200 ] && jqe '.result == "compatible" and .policy == "qemu-11.1"' "$T/body" >/dev/null
ok $? "a percent-encoded query (policy=qemu%2D11.1&psci=1%2e1) means what it encodes: compatible, as ?psci=1.1"
for bad in 'trial' 'trial=%zz' 'trial=0&=1' 'psci=1%00' "$(printf 'a%d=1&' $(seq 1 16))a17=1"; do
	code=$(http POST "/v1/check?$bad" --data-binary @"$D/neoverse-n1_linux-7.2.json")
	[ "$code" = 400 ] && jqe '.error.message | test("^malformed query string: ")' "$T/body" >/dev/null
	ok $? "?$bad: 400, malformed query string ($(jq -r .error.message "$T/body" 2>/dev/null))"
done
code=$(http POST '/v1/check?trial=maybe' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 400 ]
ok $? "?trial=maybe: 400"
# HEAD says the length GET would send, and a keep-alive connection goes on after it.
curl -s -m 20 --unix-socket "$SOCK" -I http://cpregd/v1/inventory -o "$T/head" --next -s -m 20 --unix-socket "$SOCK" \
	http://cpregd/v1/inventory -o "$T/get" -w '%{num_connects}\n' >"$T/conns"
len=$(tr -d '\r' <"$T/head" | sed -n 's/^Content-Length: //Ip')
[ -n "$len" ] && [ "$len" = "$(wc -c <"$T/get")" ] && jqe .schema "$T/get" >/dev/null && [ "$(cat "$T/conns")" = 0 ]
ok $? "HEAD /v1/inventory: Content-Length $len as GET's body, and the same connection serves the GET next"
code=$(http GET /_ping)
[ "$code" = 200 ] && [ "$(cat "$T/body")" = OK ] && grep -qi '^API-Version: 1' "$T/headers"
ok $? "GET /_ping: 200 OK, with API-Version"
code=$(http GET /v1/version)
[ "$code" = 200 ] && jqe '.api_version == "1" and .schemas.inventory == "cpreg-inventory/1" and (.version | length > 0)' "$T/body" >/dev/null
ok $? "GET /v1/version: the daemon's version, API version and document schemas"
# Unknown and repeated parameters are refused, naming the parameter (a typo must not run the default).
code=$(http POST '/v1/check?polcy=qemu-11.1&trail=0' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 400 ] && [ "$(jq -r .error.message "$T/body")" != null ] && jq -r .error.message "$T/body" | grep -q '"polcy" is unknown'
ok $? "?polcy=...: 400 naming the unknown parameter"
code=$(http POST '/v1/check?trial=0&trial=1' --data-binary @"$D/neoverse-n1_linux-7.2.json")
[ "$code" = 400 ] && jq -r .error.message "$T/body" | grep -q '"trial" is given more than once'
ok $? "?trial=0&trial=1: 400, a repeated parameter"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	/usr/bin/python3 "$top_srcdir/tests/validate-json.py" "$top_srcdir/docs/schemas/error.schema.json" "$T/body" >"$T/verr" 2>&1
	ok $? "  the error body is valid against docs/schemas/error.schema.json ($(head -c 200 "$T/verr"))"
	code=$(http POST '/v1/check' --data-binary @"$D/neoverse-n1_linux-7.2.json")
	[ "$code" = 200 ] && jqe '.trial.ran' "$T/body" >/dev/null &&
		/usr/bin/python3 "$top_srcdir/tests/validate-json.py" "$top_srcdir/docs/schemas/cpreg-verdict-1.schema.json" "$T/body" >"$T/verr" 2>&1
	ok $? "POST /v1/check with the trial: valid cpreg-verdict/1 ($(head -c 200 "$T/verr"))"
	code=$(http POST '/v1/check?trial=0&polcy=x' --data-binary @"$D/neoverse-n1_linux-7.2.json")
else
	skip "python3-jsonschema is not installed"
	skip "python3-jsonschema is not installed"
fi
grep -qi '^HTTP/1.1 400 Bad Request' "$T/headers" && grep -qi '^API-Version: 1' "$T/headers" &&
	grep -qi '^Content-Type: application/json; charset=utf-8' "$T/headers"
ok $? "  reason phrase Bad Request, API-Version and a JSON content type with its charset"
CPREGD_SOCKET=$SOCK "$B/tests/cpregctl" --json check "$D/neoverse-n1_linux-7.2.json" >"$T/out"; rc=$?
[ $rc = 1 ] && jqe '.result == "incompatible"' "$T/out" >/dev/null
ok $? "cpregctl check SOURCE (local daemon): exit 1 when incompatible"
"$B/tests/cpregctl" -s "$SOCK" check "$D/neoverse-n1_linux-6.12.json" >/dev/null
ok $? "cpregctl check SOURCE: exit 0 when compatible"
printf '{"schema": "cpreg-policy/1", "name": "site", "base": "qemu-11.1", "tolerances": []}\n' >"$T/pol.json"
"$B/tests/cpregctl" -s "$SOCK" -p "$T/pol.json" check "$D/neoverse-n1_linux-6.12.json" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'own policies only' "$T/err" && grep -q 'DESTINATION.json' "$T/err"
ok $? "cpregctl -p FILE check SOURCE against the daemon: exit 2, it says the daemon takes policy names and how to check offline"
"$B/tests/cpregctl" -s "$SOCK" -p qemu-11.1 check "$D/neoverse-n1_linux-6.12.json" >/dev/null
ok $? "  while -p qemu-11.1 goes to the daemon (exit 0)"
"$B/tests/cpregctl" -s "$SOCK" inventory >"$T/inv.json" && cmp -s "$T/inv.json" <(curl -s --unix-socket "$SOCK" http://x/v1/inventory)
ok $? "cpregctl inventory prints the daemon's inventory"
"$B/tests/cpregctl" -s "$SOCK" health | jqe '.status == "ok"' >/dev/null
ok $? "cpregctl health"
"$B/tests/cpregctl" -s "$T/nope.sock" health 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q 'is cpregd running' "$T/err"
ok $? "cpregctl against no daemon: exit 2 and a hint"

# Bad input: a clear error naming what and where, and the daemon keeps serving.
code=$(http POST /v1/check --data-binary '{"schema": "cpreg-inventory/1", "registers": [')
[ "$code" = 400 ] && jqe '.error.code == 400 and (.error.message | test("malformed JSON"))' "$T/body" >/dev/null
ok $? "malformed JSON: 400 {\"error\": {\"code\": 400, \"message\": \"...malformed JSON...\"}}"
code=$(http POST /v1/check --data-binary '{"schema": "cpreg-inventory/9", "registers": []}')
[ "$code" = 400 ] && grep -q 'unknown schema' "$T/body"
ok $? "wrong schema: 400 naming the schema"
code=$(http POST /v1/check --data-binary '{"schema": "cpreg-inventory/1", "registers": [{"id": "0x6030000000139999", "value": "0x1"}, {"id": "0x42", "value": "0x0"}]}')
[ "$code" = 400 ] && grep -q 'registers\[1\].id' "$T/body"
ok $? "an id that is no arm64 register: 400 naming registers[1].id"
code=$(http POST /v1/check --data-binary '{"schema": "cpreg-inventory/1", "registers": [{"id": "0x603000000013c000", "value": 1}]}')
[ "$code" = 400 ] && grep -q 'registers\[0\].value' "$T/body" && grep -q 'hex string' "$T/body"
ok $? "a value as a JSON number: 400 naming registers[0].value"
code=$(http POST /v1/check)
[ "$code" = 400 ] && grep -q 'empty body' "$T/body"
ok $? "empty body: 400"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/big"
code=$(http POST /v1/check --data-binary @"$T/big")
[ "$code" = 413 ]
ok $? "a 2 MiB body: 413 (limit 1 MiB)"
code=$(http POST '/v1/check?policy=qemu-99' --data-binary @"$D/neoverse-n1_linux-6.12.json")
[ "$code" = 400 ] && grep -q 'unknown' "$T/body"
ok $? "unknown policy: 400"
code=$(http GET /v2/nothing)
[ "$code" = 404 ] && jqe '.error.code == 404' "$T/body" >/dev/null
ok $? "unknown path: 404 as JSON"
code=$(http DELETE /v1/inventory)
[ "$code" = 405 ] && grep -qi '^Allow: GET' "$T/headers"
ok $? "wrong method: 405 with Allow"
code=$(http GET /v1/check)
[ "$code" = 405 ] && grep -qi '^Allow: POST' "$T/headers"
ok $? "GET on /v1/check: 405 with Allow: POST"
code=$(http GET /v1/health -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)")
[ "$code" = 413 ] || [ "$code" = 400 ] || [ "$code" = 431 ]
ok $? "a 20 kB header is refused ($code)"
out=$("$B/tests/sockhelper" stall "$SOCK" 8)
echo "$out" | grep -q '^closed after'
ok $? "a client that stalls mid-request is disconnected after the 2 s timeout ($out)"
code=$(http GET /v1/health)
[ "$code" = 200 ]
ok $? "and the daemon still serves"

# Many clients at once.
for i in $(seq 1 40); do
	curl -s -m 20 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}\n' http://x/v1/inventory >>"$T/many" &
done
wait_for 30 test "$(wc -l <"$T/many" 2>/dev/null)" -ge 40
[ "$(grep -c '^200$' "$T/many")" = 40 ]
ok $? "40 clients at once: all 200"

# Incompatible checks so far: eleven (three the log test's, three the source cache test's), and one more when the schema checks above ran.
inc=11; /usr/bin/python3 -c 'import jsonschema' 2>/dev/null && inc=12
code=$(http GET /metrics)
[ "$code" = 200 ] && grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/headers" &&
	grep -q '^cpregd_build_info{version="' "$T/body" && grep -q '^cpregd_probe_success 1$' "$T/body" &&
	grep -q '^cpregd_probe_duration_seconds ' "$T/body" && grep -q '^cpregd_last_probe_timestamp_seconds ' "$T/body" &&
	grep -q '^cpregd_registers 333$' "$T/body" && grep -q "^cpregd_inventory_info{digest=\"$DIGEST\",kernel=\"6.12.117+deb13-cloud-arm64\"" "$T/body" &&
	grep -q '^cpregd_requests_total{endpoint="/v1/inventory",code="200"} 4[0-9]$' "$T/body" &&
	grep -q '^cpregd_requests_total{endpoint="/v1/check",code="400"} ' "$T/body" &&
	grep -q "^cpregd_checks_total{result=\"incompatible\"} $inc\$" "$T/body" && grep -q '^cpregd_trials_total [1-9]' "$T/body" &&
	grep -q '^cpregd_checks_total{result="compatible"} [1-9]' "$T/body"
ok $? "GET /metrics: Prometheus text with build info, probe, registers, digest, requests and checks"

# (checks so far: 7.2 (twice, one without trial), a57 and max (pauth/sve off) by curl, 7.2 by cpregctl: 5 incompatible)
# Refresh: the peer's credentials decide.
code=$(http POST /v1/refresh)
[ "$code" = 200 ] && jqe '.probes_ok == 2' "$T/body" >/dev/null
ok $? "POST /v1/refresh by the daemon's own user: 200, probed again"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0711 "$T"; chmod 0666 "$SOCK"
	body=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s --unix-socket "$SOCK" -X POST -w '\n%{http_code}' http://x/v1/refresh)
	[ "${body##*$'\n'}" = 403 ] && echo "$body" | grep -q 'uid 65534'

	ok $? "POST /v1/refresh by another user (uid 65534): 403"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$B/tests/cpregctl" -s "$SOCK" refresh >"$T/out" 2>"$T/err"; rc=$?
	[ "$rc" = 2 ] && [ ! -s "$T/out" ] && grep -q 'POST /v1/refresh: HTTP 403' "$T/err" && grep -q '"refresh is allowed to root and to the daemon.s own user, not uid 65534"' "$T/err"
	ok $? "  cpregctl refresh by that user: exit 2, the refusal on stderr"
	chmod 0660 "$SOCK"; chmod 0700 "$T"
else
	skip "refresh by another user needs root to switch users"
fi

# SIGHUP: RELOADING=1, a new probe, READY=1.
kill -HUP "$PID"
wait_for 5 grep -q '^RELOADING=1' "$T/notify.log"
ok $? "SIGHUP: RELOADING=1"
wait_for 5 sh -c "grep -c '^READY=1' '$T/notify.log' | grep -q 2"
ok $? "  then READY=1 again"
http GET /v1/health >/dev/null; jqe '.probes_ok == 3' "$T/body" >/dev/null
ok $? "  and the host was probed again"
# cpregctl refresh waits for the probe it started: the health it prints already counts it.
"$B/tests/cpregctl" -s "$SOCK" refresh >"$T/out"; rc=$?
[ "$rc" = 0 ] && jqe '.status == "ok" and .probes_ok == 4 and .probes_failed == 0 and .digest == "'"$DIGEST"'"' "$T/out" >/dev/null
ok $? "cpregctl refresh: exit 0, the health after the new probe (probes_ok 4)"

# A failing probe keeps the last good inventory and says why.
echo '{"schema": "cpreg-inventory/1", "registers": [' >"$REPLAY"
code=$(http POST /v1/refresh)
[ "$code" = 503 ] && jqe '.status == "degraded" and (.reason | test("replay.json"))' "$T/body" >/dev/null &&
	grep -q 'serving the last good inventory' "$T/body"
ok $? "a failed re-probe: 503 degraded, the reason names the failure"
code=$(http GET /v1/inventory)
[ "$code" = 200 ] && grep -qi "^ETag: \"$DIGEST\"" "$T/headers"
ok $? "  the last good inventory is still served"
code=$(http GET /v1/health)
[ "$code" = 503 ]
ok $? "  GET /v1/health: 503 while degraded"
http GET /metrics >/dev/null; grep -q '^cpregd_probe_success 0$' "$T/body" && grep -q '^cpregd_probes_total{result="failure"} 1$' "$T/body"
ok $? "  metrics show the failure"
"$B/tests/cpregctl" -s "$SOCK" refresh >"$T/out"; rc=$?
[ "$rc" = 1 ] && jqe '.status == "degraded" and .probes_failed == 2 and (.reason | test("replay.json"))' "$T/out" >/dev/null
ok $? "  cpregctl refresh while the probe fails: exit 1, the health names the failure"
code=$(http POST '/v1/check?trial=0' --data-binary @"$D/neoverse-n1_linux-6.12.json")
[ "$code" = 200 ] && jqe '.destination_state.inventory_source == "probe" and .destination_state.inventory_age_seconds >= 0
	and (.destination_state.warning | test("probe failed"))' "$T/body" >/dev/null
ok $? "  a check's verdict says the destination is degraded: its inventory's source and age, and the failure"

[ -f "$T/state/inventory.json" ] && [ "$("$B/tests/invinfo" "$T/state/inventory.json" | sed -n 's/^digest=//p')" = "$DIGEST" ]
ok $? "the last good inventory is persisted in the state directory"

kill -TERM "$PID"; wait "$PID"; rc=$?
[ $rc = 0 ] && [ ! -e "$SOCK" ]
ok $? "SIGTERM: exit 0 and the socket is removed"
grep -q '^STOPPING=1' "$T/notify.log"
ok $? "  STOPPING=1 was sent"
grep -q '^<3>' "$T/log1" && grep -q '^<6>' "$T/log1"
ok $? "logs carry sd-daemon priority prefixes"

# Restart with a kernel that cannot be probed: serve the persisted inventory at once.
start_daemon "$T/log2" --replay "$REPLAY"
wait_for 10 test -S "$SOCK"
code=$(http GET /v1/inventory)
[ "$code" = 200 ] && grep -qi "^ETag: \"$DIGEST\"" "$T/headers"
ok $? "after a restart the persisted inventory is served although the probe fails"
code=$(http POST '/v1/check?trial=0' --data-binary @"$D/neoverse-n1_linux-6.12.json")
[ "$code" = 200 ] && jqe '.destination_state.inventory_source == "state-dir" and (.destination_state.warning | length > 0)' \
	"$T/body" >/dev/null
ok $? "  and a check's verdict says it judged with the persisted inventory ($(jq -c .destination_state "$T/body" 2>/dev/null | head -c 160))"

code=$(http GET /v1/health)
[ "$code" = 503 ] && jqe '.inventory_source == "state-dir" and .inventory_age_seconds >= 0' "$T/body" >/dev/null
ok $? "  and health says it is degraded, where the data is from and how old it is"

# A live socket is not taken over; a stale one is replaced.
"$B/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu --replay "$REPLAY" 2>"$T/log3"; rc=$?
[ $rc != 0 ] && grep -q 'in use' "$T/log3"
ok $? "a second daemon refuses a live socket"
kill -9 "$PID"; wait "$PID" 2>/dev/null
[ -S "$SOCK" ]
ok $? "a killed daemon leaves a stale socket"
cp "$D/neoverse-n1_linux-6.12.json" "$REPLAY"
start_daemon "$T/log4" --replay "$REPLAY"
wait_for 10 api_is /v1/health ".status == \"ok\""
ok $? "the stale socket is replaced and the daemon serves"
grep -q 'removed stale socket' "$T/log4"
ok $? "  and it says so"

# The connection limit: idle keep-alive connections make room (the oldest
# is evicted); connections still owing their request do not, and a new
# client is told 503, not left waiting.
kill -TERM "$PID"; wait "$PID"
start_daemon "$T/log5" --replay "$REPLAY" --max-connections 3
wait_for 10 test -S "$SOCK"
"$B/tests/sockhelper" hold "$SOCK" 3 4 >"$T/hold" &
HOLD=$!
wait_for 30 grep -q holding "$T/hold"
code=$(http GET /v1/health)
[ "$code" = 200 ] && curl -s --unix-socket "$SOCK" http://x/metrics | grep -q '^cpregd_connections_evicted_total [1-9]'
ok $? "over --max-connections with idle keep-alive connections: one is evicted, the new client is served"
wait "$HOLD"
"$B/tests/sockhelper" crowd "$SOCK" silent 3 4 >"$T/hold" &
HOLD=$!
wait_for 5 grep -q ready "$T/hold"
code=$(http GET /v1/health)
[ "$code" = 503 ] && jqe '.error.code == 503 and (.error.message | test("too many connections"))' "$T/body" >/dev/null &&
	grep -qi '^Retry-After:' "$T/headers"
ok $? "over --max-connections with every slot owing its request: 503 (JSON) with Retry-After"
kill "$HOLD"; wait "$HOLD"
wait_for 5 sh -c "curl -s -o /dev/null -w '%{http_code}' --unix-socket '$SOCK' http://x/v1/health | grep -q 200"
ok $? "  and served again once the held connections close"
kill -TERM "$PID"; wait "$PID"

# Missing /dev/kvm: the daemon runs, degraded, and says why.
start_daemon "$T/log6" --dev "$T/no-kvm" --state-dir "$T/empty"
wait_for 10 test -S "$SOCK"
code=$(http GET /v1/health)
[ "$code" = 503 ] && grep -q 'no KVM device' "$T/body"
ok $? "no KVM device: health 503 says so"
code=$(http GET /v1/inventory)
[ "$code" = 503 ] && grep -q 'no inventory' "$T/body"
ok $? "  and the inventory is 503 with the reason"
kill -TERM "$PID"; wait "$PID"

# State-directory faults (the daemon serves on through each, and loses nothing it had).
# A FIFO where the persisted inventory belongs: never opened for reading, READY all the same.
mkdir -p "$T/fifo-state" && mkfifo "$T/fifo-state/inventory.json"
start_daemon "$T/log8" --replay "$REPLAY" --state-dir "$T/fifo-state"
wait_for 10 sh -c "curl -s -o /dev/null -w '%{http_code}' --unix-socket '$SOCK' http://x/v1/health | grep -q 200"
ok $? "a FIFO at state/inventory.json: the daemon starts and serves (it is refused as not a regular file, never opened)"
grep -q 'not a regular file' "$T/log8"
ok $? "  and says so in its log"
kill -TERM "$PID"; wait "$PID"
# A read-only state directory: each persist fails, health stays 200 with a warning, metrics count it, no fd leaks.
mkdir -p "$T/ro-state" && chmod 0555 "$T/ro-state"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	RO_RUN=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod 0777 "$T"; chmod 0644 "$REPLAY"
else
	RO_RUN=()
fi
"${RO_RUN[@]}" "$B/tests/cpregd" --socket "$T/ro.sock" --state-dir "$T/ro-state" --no-qemu --replay "$REPLAY" 2>"$T/log9" &
PID=$!; PIDS+=("$PID")
wait_for 10 test -S "$T/ro.sock"
ro() { curl -s -m 20 --unix-socket "$T/ro.sock" "$@"; }
wait_for 10 sh -c "curl -s --unix-socket '$T/ro.sock' http://x/v1/health | grep -q warnings"
code=$(ro -o "$T/body" -w '%{http_code}' http://x/v1/health)
[ "$code" = 200 ] && jqe '.status == "ok" and (.warnings | length) == 1 and (.warnings[0] | test("ro-state"))' "$T/body" >/dev/null
ok $? "read-only state directory: health 200 with a warning naming it ($(jq -r '.warnings[0]' "$T/body" 2>/dev/null | head -c 100))"
fds0=$(ls "/proc/$PID/fd" | wc -l)
for i in $(seq 1 20); do kill -HUP "$PID"; sleep 0.05; done
wait_for 10 sh -c "[ \$(curl -s --unix-socket '$T/ro.sock' http://x/metrics | sed -n 's/^cpregd_persist_failures_total //p') -ge 10 ]"
m=$(ro http://x/metrics)
echo "$m" | grep -q '^cpregd_persist_success 0$'
ok $? "  metrics: cpregd_persist_success 0, failures $(echo "$m" | sed -n 's/^cpregd_persist_failures_total //p') after repeated re-probes"
fds1=$(ls "/proc/$PID/fd" | wc -l)
ok "$([ "$fds1" -le "$fds0" ]; echo $?)" "  no descriptor leaks across failed persists ($fds0 -> $fds1 open)"
ok "$(ls -A "$T/ro-state" | grep -q .; [ $? = 1 ]; echo $?)" "  and no temporary file is left behind"
kill -TERM "$PID"; wait "$PID"
[ ${#RO_RUN[@]} = 0 ] || { chmod 0700 "$T"; }

# Socket activation.
if command -v systemd-socket-activate >/dev/null; then
	systemd-socket-activate -l "$T/act.sock" "$B/tests/cpregd" --state-dir "$T/state" --no-qemu --replay "$REPLAY" 2>"$T/log7" &
	SA=$!; PIDS+=("$SA")
	wait_for 5 test -S "$T/act.sock"
	code=$(curl -s -m 20 --unix-socket "$T/act.sock" -o "$T/body" -w '%{http_code}' http://x/v1/health)
	[ "$code" = 200 ] && grep -q 'using the socket passed by systemd' "$T/log7"
	ok $? "socket activation: systemd-socket-activate hands the socket over and requests are served"
	kill -TERM "$SA"; wait "$SA" 2>/dev/null
else
	skip "systemd-socket-activate not installed"
fi

# The units.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	sed "s|@sbindir@|$B/daemon|" "$top_srcdir/systemd/cpregd.service.in" >"$T/units/cpregd.service"
	cp "$top_srcdir/systemd/cpregd.socket" "$top_srcdir/systemd/cpregd-qemu.path" "$top_srcdir/systemd/cpregd-reprobe.service" "$T/units/"
	(cd "$T/units" && systemd-analyze verify --man=no cpregd.socket cpregd.service cpregd-qemu.path cpregd-reprobe.service) >"$T/verify" 2>&1
	ok $? "systemd-analyze verify accepts cpregd.socket, cpregd.service, cpregd-qemu.path and cpregd-reprobe.service"
	[ -s "$T/verify" ] && sed 's/^/#   /' "$T/verify"
	(cd "$T/units" && systemd-analyze security --offline=yes --no-pager ./cpregd.service) >"$T/security" 2>&1
	score=$(sed -n 's/.*Overall exposure level for cpregd.service: \([0-9.]*\).*/\1/p' "$T/security")
	ok "$([ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; echo $?)" \
		"systemd-analyze security --offline=yes on the unit (from systemd/cpregd.service.in): exposure ${score:-?} (at most 2.0)"
else
	skip "systemd-analyze not installed"
fi
# The sysusers.d file as systemd-sysusers reads it (a ':' in the GECOS field once broke the package's postinst).
if command -v systemd-sysusers >/dev/null; then
	systemd-sysusers --dry-run "$top_srcdir/systemd/cpregd.sysusers" >"$T/sysusers" 2>&1 &&
		! grep -qi 'not a valid\|failed\|ignoring' "$T/sysusers"
	ok $? "systemd-sysusers --dry-run accepts cpregd.sysusers ($(grep -i "user 'cpregd'\|valid" "$T/sysusers" | head -n 1))"
else
	skip "systemd-sysusers not installed"
fi

done_testing
