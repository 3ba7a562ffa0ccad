#!/usr/bin/env bash
# Issue 6: the key-value store.
#   1. GET /keys/<key> (target: at least 0.85x of cairn's own /healthz
#      requests/s at BENCH_CONN connections, same run) and PUT /keys/<key>
#      over 10,000 keys (target: 0.4x), each also against the most this
#      machine allows a route that runs the same statement (bench_bound:
#      the database alone running it, tests/bench/db-rate).
#   2. For comparison: GET ?raw=1, and Webdis in front of Redis serving GET
#      of the same key when `webdis` and `redis-server` are installed
#      (scripts/install-deps installs both).
# Sourced by tests/bench/run (which sources tests/bench/lib.sh), or alone:
# bash tests/bench/bench_kv.sh.  Nothing asserts; numbers taken on a busy
# machine mean little.
here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
[ "$(type -t bench_wrk)" = function ] || . "$here/lib.sh"

bench_stack_start
auth="Authorization: Bearer $CAIRN_ADMIN_KEY"
value="bench value 0123456789abcdef"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "$auth" -H 'Content-Type: text/plain' \
	--data-binary "$value" "$CAIRN_URL/keys/bench")
[[ $code == 200 || $code == 201 ]] || { echo "bench_kv: PUT /keys/bench answered $code" >&2; exit 1; }

# The statements of lib/kv_store.c (q_get, q_upsert), as the routes bind them.
live="(expires_at IS NULL OR expires_at > NOW(6))"
sql_get="SELECT v, content_type, version, expires_at FROM kv_keys WHERE k = ? AND $live"
sql_upsert="INSERT INTO kv_keys (k, v, content_type, version, expires_at, created_at, updated_at)
 VALUES (?, ?, ?, ?, NOW(6) + INTERVAL ? SECOND, NOW(6), NOW(6)) ON DUPLICATE KEY UPDATE
 version = LAST_INSERT_ID(IF($live, version + 1, VALUES(version))),
 created_at = IF($live, created_at, VALUES(created_at)), v = VALUES(v),
 content_type = VALUES(content_type), updated_at = VALUES(updated_at),
 expires_at = VALUES(expires_at)"

bench_wrk cairn-healthz "$CAIRN_URL/healthz"
bench_wrk get-key "$CAIRN_URL/keys/bench" -H "$auth"
bench_wrk get-key-raw "$CAIRN_URL/keys/bench?raw=1" -H "$auth"
bench_wrk put-10000-keys "$CAIRN_URL" -H "$auth" -s "$here/kv_put.lua"
bench_db db-get "$sql_get" bench
bench_db db-upsert "$sql_upsert" 'bench-{k}' "$value" text/plain '{n}' '\N'
bench_bound "GET /keys/<key> / healthz" get-key cairn-healthz db-get 0.85
bench_ratio "GET ?raw=1 / healthz" get-key-raw cairn-healthz
bench_bound "PUT /keys/<key> / healthz" put-10000-keys cairn-healthz db-upsert 0.4

if command -v webdis >/dev/null && command -v redis-server >/dev/null; then
	rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	wport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
		>"$BENCH_DIR/redis.log" 2>&1 &
	echo $! >"$BENCH_DIR/redis.bench-pid"
	cat >"$BENCH_DIR/webdis.json" <<JSON
{"redis_host": "127.0.0.1", "redis_port": $rport, "http_host": "127.0.0.1",
 "http_port": $wport, "threads": 2, "pool_size": 16, "daemonize": false,
 "verbosity": 0, "logfile": "$BENCH_DIR/webdis.log"}
JSON
	webdis "$BENCH_DIR/webdis.json" >/dev/null 2>&1 &
	echo $! >"$BENCH_DIR/webdis.bench-pid"
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$wport/SET/bench/$(printf %s "$value" | sed 's/ /%20/g')" >/dev/null && break
		sleep 0.1
	done
	bench_wrk webdis-get "http://127.0.0.1:$wport/GET/bench"
	bench_ratio "GET /keys/<key> / webdis GET (goal: match)" get-key webdis-get
else
	echo "webdis: skipped (webdis and redis-server are not installed;" \
		"apt-get install webdis redis-server to compare)"
fi
