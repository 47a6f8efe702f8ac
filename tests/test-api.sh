#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# docs/api.yaml against a running cpregd: the description parses as YAML
# (Debian's python3-yaml) and says OpenAPI 3; every documented path, method
# and status is requested here (the table below must list exactly what the
# description lists, so neither can drift), each answer has the documented
# status, content type and required keys, and every error body is valid
# against docs/schemas/error.schema.json.
TEST_NAME=api
. "$top_srcdir/tests/lib-daemon.sh"
D=$top_srcdir/tests/data/probed

if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
	echo "1..0 # SKIP python3-yaml is not installed (tests/install-deps.sh installs it)"
	exit 0
fi
# METHOD PATH STATUS REQUIRED-JSON-KEYS (or -) SCHEMA-FILE (or -) for every
# documented response.  OpenAPI 3.1: a body's schema is a $ref to a JSON
# Schema file of docs/schemas (2020-12), read here for its required keys.
/usr/bin/python3 - "$top_srcdir/docs/api.yaml" >"$T/documented" 2>"$T/yerr" <<'EOF'
import json, os, sys, yaml
api = yaml.safe_load(open(sys.argv[1]))
assert str(api["openapi"]).startswith("3.1"), "not OpenAPI 3.1"
base = os.path.dirname(sys.argv[1])
comps = api.get("components", {}).get("responses", {})
for path, ops in api["paths"].items():
    for method, op in ops.items():
        for status, resp in op["responses"].items():
            if "$ref" in resp:
                resp = comps[resp["$ref"].split("/")[-1]]
            content = resp.get("content", {})
            keys, ref = "-", "-"
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                if "$ref" in schema:
                    ref = os.path.join(base, schema["$ref"])
                    schema = json.load(open(ref))
                    assert schema["$schema"].endswith("2020-12/schema"), ref
                keys = ",".join(schema.get("required", [])) or "-"
            print(method.upper(), path, status, keys, ref)
EOF
ok $? "docs/api.yaml parses as YAML and is OpenAPI 3.1; every body schema it references is a JSON Schema 2020-12 file ($(head -c 200 "$T/yerr"))"
sort -o "$T/documented" "$T/documented"

SOCK=$T/s
mkdir -p "$T/peers" && cp "$D/neoverse-n1_linux-7.2.json" "$T/peers/"
"$B/tests/cpregd" --socket "$SOCK" --state-dir "$T/state" --no-qemu --replay "$D/neoverse-n1_linux-6.12.json" \
	--peers "$T/peers" 2>"$T/log" &
PIDS+=($!)
# A second daemon whose probe fails: degraded health, no inventory to check against.
"$B/tests/cpregd" --socket "$T/bad" --state-dir "$T/state-bad" --no-qemu --replay "$T/missing.json" 2>"$T/log-bad" &
PIDS+=($!)
for s in "$SOCK" "$T/bad"; do
	i=0; while [ ! -S "$s" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
done
DIGEST=$(jq -r .digest "$D/neoverse-n1_linux-6.12.json")
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big"
rm -f "$T/body"

# request METHOD PATH STATUS: the request that gives that documented status.
request() {
	local sock=$SOCK args=()
	case "$1 $2 $3" in
	"GET /v1/inventory 304") args=(-H "If-None-Match: \"$DIGEST\"") ;;
	"GET /v1/inventory 405") set -- DELETE "$2" "$3" ;;
	"GET /v1/health 503" | "GET /v1/inventory 503") sock=$T/bad ;;
	# The second daemon has no peers directory.
	"GET /v1/peers 404") sock=$T/bad ;;
	"POST /v1/check 200") args=(--data-binary @"$D/neoverse-n1_linux-7.2.json") ;;
	"GET /v1/passport 400") set -- GET "/v1/passport?polcy=auto" "$3" ;;
	"GET /v1/passport 503") sock=$T/bad ;;
	"POST /v1/check 400") args=(--data-binary '{"schema": "cpreg-inventory/1"}') ;;
	"POST /v1/check 413") args=(--data-binary @"$T/big") ;;
	"POST /v1/check 503") sock=$T/bad; args=(--data-binary @"$D/neoverse-n1_linux-7.2.json") ;;
	"POST /v1/refresh 403")
		if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then echo skip; return; fi
		# Another user may reach the socket here (the unit's group does that in production).
		mkdir -p "$T/other"; chmod 0711 "$T"; chmod 0777 "$T/other"; chmod 0666 "$sock"
		setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -m 30 --unix-socket "$sock" -X POST \
			-o "$T/other/out" -D "$T/other/hdr" -w '%{http_code}' "http://cpregd$2"
		chmod 0660 "$sock"; chmod 0700 "$T"
		cp "$T/other/out" "$T/body"; cp "$T/other/hdr" "$T/headers"
		return ;;
	"POST /v1/refresh 200")
		# Only root and the daemon's own user may; as another user the daemon's user is this one.
		;;
	esac
	curl -s -m 30 --unix-socket "$sock" -X "$1" -o "$T/body" -D "$T/headers" -w '%{http_code}' "${args[@]}" "http://cpregd$2"
}

tested=$T/tested
: >"$tested"
while read -r method path status keys ref; do
	echo "$method $path $status $keys" >>"$tested"
	code=$(request "$method" "$path" "$status")
	if [ "$code" = skip ]; then
		skip "$method $path $status needs root to switch users"
		continue
	fi
	r=0
	[ "$code" = "$status" ] || r=1
	# Every answer, the HTTP layer's own 413 included, says its API version.
	grep -qi '^API-Version: 1' "$T/headers" || r=1
	if [ "$keys" != - ]; then
		grep -qi '^Content-Type: application/json; charset=utf-8' "$T/headers" || r=1
		for k in ${keys//,/ }; do jqe --arg k "$k" 'has($k)' "$T/body" >/dev/null || r=1; done
	fi
	# The body against the schema the description references.
	if [ "$ref" != - ] && /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
		/usr/bin/python3 "$top_srcdir/tests/validate-json.py" "$ref" "$T/body" >"$T/verr" 2>&1 || r=1
	fi
	ok $r "$method $path: $status as documented (got $code; keys ${keys//,/ }; ${ref##*/}) $(head -c 150 "$T/verr" 2>/dev/null)"
	rm -f "$T/verr"
done <"$T/documented"
# Every documented response was requested (the loop above walks the
# description itself); and no endpoint the daemon serves is undocumented.
missing=0
for p in $(sed -n '/^const char \*const ep_names/,/};/p' "$top_srcdir/daemon/api.c" | grep -o '"/[^"]*"' | tr -d '"'); do
	grep -q " $p " "$T/documented" || { echo "# undocumented: $p"; missing=1; }
done
ok $missing "every path cpregd serves (daemon/api.c ep_names) is documented, and was requested above"
done_testing
