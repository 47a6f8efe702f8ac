#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench-serve: cpregd's HTTP serving against nginx (Debian's
# nginx-light with Debian's sendfile on, one worker) serving the very bytes of cpregd's
# GET /v1/inventory as a static file over its own UNIX socket, both driven by
# tests/loadgen (epoll, keep-alive, every body read and compared).  Rounds
# alternate between the two servers; printed per connection count: requests
# per second, p99 latency and CPU per request (the server's utime+stime from
# /proc over the round), each as cpregd/nginx with min-max over the rounds,
# and the servers' RSS at the highest count.  Then POST /v1/check?trial=0
# with a real inventory of another host at 32 connections.  Figures, not
# pass/fail (issue 12's goals: ratios of requests/s >= 1, p99 and CPU <= 1).
set -u
B=${1:?usage: bench-serve.sh BUILDDIR [ROUNDS] [SECONDS]}
ROUNDS=${2:-3}
SECS=${3:-3}
S=$(cd "$(dirname "$0")/.." && pwd)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "bench-serve: nginx is not installed (tests/install-deps.sh installs nginx-light)"; exit 0; }
dir=$(mktemp -d "$PWD/bench-serve.XXXXXX")
chmod 0755 "$dir"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.2; rm -rf "$dir"' EXIT
mkdir -p "$dir/state" "$dir/www/v1" "$dir/ng"

"$B/tests/cpregd" --socket "$dir/cpregd.sock" --state-dir "$dir/state" --no-qemu --max-connections 1024 \
	--replay "$S/tests/data/migrate/n1-612-q11.json" 2>"$dir/cpregd.log" &
cpid=$!; pids+=("$cpid")
i=0; until curl -s -o "$dir/www/v1/inventory" -f --unix-socket "$dir/cpregd.sock" http://x/v1/inventory 2>/dev/null; do
	sleep 0.1; i=$((i + 1)); [ $i -lt 100 ] || { echo "bench-serve: cpregd did not start"; exit 1; }
done
chmod -R a+rX "$dir/www"
# nginx as Debian ships it (/etc/nginx/nginx.conf: sendfile on, tcp_nopush on), with one worker, no
# access log and keep-alive without a request cap: the peer as its users run it.
cat >"$dir/ng/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $dir/ng/nginx.pid;
error_log $dir/ng/error.log;
events { worker_connections 2048; }
http {
	sendfile on;
	tcp_nopush on;
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 600;
	default_type application/json;
	client_body_temp_path $dir/ng/body;
	proxy_temp_path $dir/ng/proxy;
	fastcgi_temp_path $dir/ng/fastcgi;
	uwsgi_temp_path $dir/ng/uwsgi;
	scgi_temp_path $dir/ng/scgi;
	server { listen unix:$dir/nginx.sock; root $dir/www; }
}
EOF
"$NGINX" -c "$dir/ng/nginx.conf" -e "$dir/ng/error.log" 2>"$dir/ng/start.log" &
npid=$!; pids+=("$npid")
i=0; until [ -S "$dir/nginx.sock" ]; do sleep 0.1; i=$((i + 1)); [ $i -lt 100 ] || { echo "bench-serve: nginx did not start"; cat "$dir/ng/start.log"; exit 1; }; done
sleep 0.3
nworker=$(pgrep -P "$npid" | head -n 1)

ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# "N KiB (anon A, file F)": the libraries' pages (file) and the server's own memory (anon) apart.
rss_parts() { awk '/^VmRSS/ { t = $2 } /^RssAnon/ { a = $2 } /^RssFile/ { f = $2 } /^RssShmem/ { s = $2 }
	END { printf "%d KiB (anon %d, file %d, shmem %d)", t, a, f, s }' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)

# run SOCKET CONNS PIDS...: one round; prints "rps p99_us cpu_us_per_request"
run() {
	local sock=$1 conns=$2; shift 2
	local t0 t1 out
	t0=$(ticks "$@")
	out=$("$B/tests/loadgen" "$sock" --conns "$conns" --seconds "$SECS" --path /v1/inventory --expect "$dir/www/v1/inventory") ||
		{ echo "bench-serve: $out" >&2; echo "0 0 0"; return; }
	t1=$(ticks "$@")
	echo "$out" | awk -v t=$((t1 - t0)) -v hz="$HZ" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%s %s %.1f\n", v["rps"], v["p99_us"], v["requests"] ? t / hz * 1e6 / v["requests"] : 0 }'
}

echo "bench-serve: GET /v1/inventory ($(wc -c <"$dir/www/v1/inventory") bytes), cpregd vs nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') (1 worker), $ROUNDS rounds of ${SECS} s, $(nproc) CPUs"
printf '  %-6s %-28s %-28s %-28s\n' conns "req/s cpregd/nginx" "p99 cpregd/nginx" "CPU/req cpregd/nginx"
for conns in 1 32 256; do
	rr=(); pr=(); cr=(); cpregd_line=""; nginx_line=""
	for r in $(seq 1 "$ROUNDS"); do
		read -r crps cp99 ccpu <<<"$(run "$dir/cpregd.sock" "$conns" "$cpid")"
		read -r nrps np99 ncpu <<<"$(run "$dir/nginx.sock" "$conns" "$npid" "$nworker")"
		rr+=("$(awk -v a="$crps" -v b="$nrps" 'BEGIN { printf "%.2f", b ? a / b : 0 }')")
		pr+=("$(awk -v a="$cp99" -v b="$np99" 'BEGIN { printf "%.2f", b ? a / b : 0 }')")
		cr+=("$(awk -v a="$ccpu" -v b="$ncpu" 'BEGIN { printf "%.2f", b ? a / b : 0 }')")
		cpregd_line="$crps req/s, p99 ${cp99} us, ${ccpu} us CPU"
		nginx_line="$nrps req/s, p99 ${np99} us, ${ncpu} us CPU"
	done
	mm() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
	printf '  %-6s %-28s %-28s %-28s\n' "$conns" "$(mm "${rr[@]}")" "$(mm "${pr[@]}")" "$(mm "${cr[@]}")"
	echo "         last round: cpregd $cpregd_line; nginx $nginx_line"
done
# RSS with 256 connections open on each.
"$B/tests/loadgen" "$dir/cpregd.sock" --conns 256 --seconds 2 --expect "$dir/www/v1/inventory" >/dev/null &
lg=$!; sleep 1; crss=$(rss_parts "$cpid"); wait "$lg"
"$B/tests/loadgen" "$dir/nginx.sock" --conns 256 --seconds 2 --expect "$dir/www/v1/inventory" >/dev/null &
lg=$!; sleep 1; nrss=$(rss_parts "$nworker"); wait "$lg"
echo "  RSS under 256 connections: cpregd $crss; nginx worker $nrss"

# Checks: a real inventory of another host (neoverse-n1, Linux 7.2) against this one, no trial.
src=$S/tests/data/migrate/n1-72-q11.json
[ -f "$src" ] || src=$(ls "$S"/tests/data/migrate/*.json | head -n 1)
t0=$(ticks "$cpid")
out=$("$B/tests/loadgen" "$dir/cpregd.sock" --conns 32 --seconds "$SECS" --path '/v1/check?trial=0' --post "$src")
t1=$(ticks "$cpid")
echo "$out" | awk -v t=$((t1 - t0)) -v hz="$HZ" -v f="$(basename "$src")" '{
	for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	printf "  POST /v1/check?trial=0 (%s), 32 connections: %s checks/s, p99 %s us, %.0f us CPU per check, errors %s\n",
		f, v["rps"], v["p99_us"], v["requests"] ? t / hz * 1e6 / v["requests"] : 0, v["errors"] }'

# Issue 11's target: 500 idle and 500 slow connections and 64 busy clients
# held open while a fresh client asks for health, connection by connection.
"$B/tests/sockhelper" crowd "$dir/cpregd.sock" idle 500 12 >"$dir/c-idle" &
c1=$!
"$B/tests/sockhelper" crowd "$dir/cpregd.sock" slow 500 12 >"$dir/c-slow" &
c2=$!
"$B/tests/loadgen" "$dir/cpregd.sock" --conns 64 --seconds 9 --path /v1/health >"$dir/c-busy" &
c3=$!
sleep 2
fresh=$("$B/tests/sockhelper" fresh "$dir/cpregd.sock" 5)
peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$cpid/status")
now=$(awk '/^VmRSS/ { print $2 }' "/proc/$cpid/status")
open=$(ls "/proc/$cpid/fd" | wc -l)
wait "$c3"; kill "$c1" "$c2" 2>/dev/null; wait "$c1" "$c2" 2>/dev/null
echo "  1,000 idle or slow connections and 64 busy clients ($open descriptors open): a fresh client's health: $fresh"
echo "    busy clients meanwhile: $(cat "$dir/c-busy"); cpregd RSS $((now / 1024)) MiB (peak $((peak / 1024)) MiB)"
