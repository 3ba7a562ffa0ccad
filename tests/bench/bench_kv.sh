#!/usr/bin/env bash
# bench_kv: the key-value store against cairn's own /healthz, in one run
# (issue 6): GET /keys/<key> should reach 0.85x and PUT /keys/<key> 0.4x
# of /healthz's requests/s at 32 connections.  Optionally, Webdis in front
# of Redis serving GET of the same key, for comparison.
#
#   tests/bench/bench_kv.sh [-d SECONDS] [-c CONNECTIONS] [-t THREADS]
#
# Without CAIRN_URL it starts a private stack (tests/tools/stack, under
# $CAIRN_BUILD_DIR/tests/tmp) and stops it at the end; with CAIRN_URL and
# CAIRN_ADMIN_KEY (or a key holding kv:read kv:write) it benchmarks that
# stack.  CAIRN_WORKERS sets the pool size of a stack it starts (the
# stack's default is 4).  Needs wrk.  Webdis runs when `webdis` and
# `redis-server` are installed (scripts/install-deps installs both);
# otherwise it says so and skips it.  Numbers mean something only on a
# quiet machine.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${CAIRN_BUILD_DIR:-$src}
duration=10
conns=32
threads=2

while getopts "d:c:t:h" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	c) conns=$OPTARG ;;
	t) threads=$OPTARG ;;
	*) sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 2 ;;
	esac
done

command -v wrk >/dev/null || { echo "bench_kv: wrk not found (apt-get install wrk)" >&2; exit 1; }

stackdir=
redis_pid=
webdis_pid=
tmp=$(mktemp -d)
cleanup() {
	[[ -n $webdis_pid ]] && kill "$webdis_pid" 2>/dev/null || true
	[[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null || true
	if [[ -n $stackdir ]]; then
		"$src/tests/tools/stack" stop "$stackdir" >/dev/null 2>&1 || true
		rm -rf "$stackdir"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -z ${CAIRN_URL:-} ]]; then
	stackdir=$build/tests/tmp/bench-kv-$$
	mkdir -p "$build/tests/tmp"
	echo "bench_kv: starting a stack in $stackdir" >&2
	CAIRN_BUILD_DIR=$build "$src/tests/tools/stack" start "$stackdir" >"$tmp/stack.log" 2>&1 ||
		{ cat "$tmp/stack.log" >&2; exit 1; }
	CAIRN_URL=$(sed -n 's/^CAIRN_URL=//p' "$stackdir/stack.env")
	CAIRN_ADMIN_KEY=$(sed -n 's/^CAIRN_ADMIN_KEY=//p' "$stackdir/stack.env")
fi
: "${CAIRN_ADMIN_KEY:?set CAIRN_ADMIN_KEY (a key with kv:read kv:write) with CAIRN_URL}"
auth="Authorization: Bearer $CAIRN_ADMIN_KEY"
value="bench value 0123456789abcdef"

code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "$auth" -H 'Content-Type: text/plain' \
	--data-binary "$value" "$CAIRN_URL/keys/bench")
[[ $code == 200 || $code == 201 ]] || { echo "bench_kv: PUT /keys/bench answered $code" >&2; exit 1; }

# run NAME URL [wrk args...]: prints NAME and requests/s, checks for errors
declare -A rps
run() {
	local name=$1 url=$2 out
	shift 2
	out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" "$@" "$url" 2>&1)
	rps[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	if grep -q "Non-2xx" <<<"$out"; then
		echo "bench_kv: $name had non-2xx answers:" >&2
		grep -E "Non-2xx|Socket errors" <<<"$out" >&2
	fi
	printf '%-28s %12s req/s\n' "$name" "${rps[$name]:-?}"
}

echo "bench_kv: ${duration}s per target, $conns connections, $threads threads"
run healthz "$CAIRN_URL/healthz"
run "GET /keys/bench" "$CAIRN_URL/keys/bench" -H "$auth"
run "GET /keys/bench?raw=1" "$CAIRN_URL/keys/bench?raw=1" -H "$auth"
run "PUT /keys/bench-N" "$CAIRN_URL" -H "$auth" -s "$here/kv_put.lua"

ratio() {
	awk -v a="${rps[$1]:-0}" -v b="${rps[$2]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'
}
echo "GET /keys/<key> / healthz:       $(ratio "GET /keys/bench" healthz)  (goal >= 0.85)"
echo "GET ?raw=1 / healthz:            $(ratio "GET /keys/bench?raw=1" healthz)"
echo "PUT /keys/<key> / healthz:       $(ratio "PUT /keys/bench-N" healthz)  (goal >= 0.40)"

if command -v webdis >/dev/null && command -v redis-server >/dev/null; then
	rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	wport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	cat >"$tmp/webdis.json" <<JSON
{"redis_host": "127.0.0.1", "redis_port": $rport, "http_host": "127.0.0.1",
 "http_port": $wport, "threads": 2, "pool_size": 16, "daemonize": false,
 "verbosity": 0, "logfile": "$tmp/webdis.log"}
JSON
	webdis "$tmp/webdis.json" >/dev/null 2>&1 &
	webdis_pid=$!
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$wport/SET/bench/$(printf %s "$value" | sed 's/ /%20/g')" >/dev/null && break
		sleep 0.1
	done
	run "webdis GET/bench" "http://127.0.0.1:$wport/GET/bench"
	echo "GET /keys/<key> / webdis GET:    $(ratio "GET /keys/bench" "webdis GET/bench")  (goal: match)"
else
	echo "webdis: skipped (webdis and redis-server are not installed;" \
		"apt-get install webdis redis-server to compare)"
fi
