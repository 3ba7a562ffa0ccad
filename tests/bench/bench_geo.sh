#!/usr/bin/env bash
# Issue 7: geolocated event intake.
#   1. POST /event/submit/ at BENCH_CONN connections, each request from
#      another public address, while the geo stand-in stalls 10% of its
#      answers for 5 s, against cairn's own /healthz in the same run
#      (target: at least 0.5x, p99 under 10 ms), and against the most this
#      machine allows a route that runs the same INSERT (the database alone
#      running it, tests/bench/db-rate).
#   2. The queue drain rate for unique, uncached addresses against geo.rate
#      (target: 0.95x to 1.0x): the provider's first to last call as the
#      stand-in saw them, and the most calls in any second.
# Sourced by tests/bench/run (which sources tests/bench/lib.sh), or alone:
# bash tests/bench/bench_geo.sh [SECONDS].  BENCH_DRAIN_TASKS (150) sets
# the drain's task count.  Nothing asserts; numbers taken on a busy machine
# mean little.
here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
# tests/bench/run sources this file with its own arguments (bench names)
[[ ${1:-} =~ ^[0-9]+$ ]] && export BENCH_SECONDS=$1
[ "$(type -t bench_wrk)" = function ] || . "$here/lib.sh"
tasks=${BENCH_DRAIN_TASKS:-150}

CAIRN_TRUST_REALIP=1 bench_stack_start
url=$CAIRN_URL
standin=$GEO_STANDIN_URL
key=$(curl -sS -H "Authorization: Bearer $CAIRN_ADMIN_KEY" -H 'Content-Type: application/json' \
	-d '{"name":"bench","scopes":["geo:write","geo:read"]}' "$url/admin/api-keys" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

echo "== 1. submit vs /healthz"
bench_wrk cairn-healthz "$url/healthz"
GEO_KEY=$key bench_wrk submit "$url/event/submit/" -s "$here/geo_submit.lua"
# The statement of lib/geo_store.c (q_insert), cairn-worker paused (its
# rows are set aside below, unclaimed).
kill -STOP "$(cat "$CAIRN_WORKER_PIDFILE")"
bench_db db-insert "INSERT INTO geo_tasks (task_id, name, status_code, ip, state,
 next_attempt_at, submitted_at) VALUES (?, ?, ?, ?, 'queued', NOW(6), NOW(6))" \
	'{n}' 'bench {n}' 200 $'\x7f\x01\x01\x01'
kill -CONT "$(cat "$CAIRN_WORKER_PIDFILE")"
bench_bound "submit / healthz" submit cairn-healthz db-insert 0.5
awk -v p="${P99[submit]}" 'BEGIN {
	printf "%-44s %6.2f ms  (target < 10 ms: %s)\n", "submit p99", p, (p < 10) ? "met" : "NOT met" }'

echo "== 2. queue drain for $tasks unique addresses"
# forget the submit run's backlog, so only the drain tasks are queued
bench_mysql -e "UPDATE geo_tasks SET state = 'skipped', last_error = 'bench backlog' WHERE state = 'queued'"
curl -sS -o /dev/null "$standin/control?mode=ok&stall_pct=10&stall_ms=5000"
sleep 7   # calls of the backlog still in flight come back
curl -sS -o /dev/null "$standin/reset"
rate=$(awk -F' *= *' '$1 == "geo.rate" { r = $2 } END { print r ? r : 5 }' "$BENCH_DIR/cairn.conf")
for ((i = 0; i < tasks; i++)); do
	printf '{"name":"drain %d"}' "$i" |
		curl -sS -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			-H "X-Real-IP: 46.$((i / 250)).$((i % 250 + 1)).7" --data-binary @- "$url/event/submit/"
done
deadline=$((SECONDS + tasks / rate * 3 + 60))
while (($(bench_mysql -e "SELECT COUNT(*) FROM geo_tasks WHERE state = 'queued'") > 0)); do
	((SECONDS < deadline)) || { echo "  the queue did not drain in time" >&2; exit 1; }
	sleep 1
done
curl -sS "$standin/stats" >"$BENCH_DIR/standin-stats.json"
python3 - "$rate" "$BENCH_DIR/standin-stats.json" <<'PY'
import json, sys
rate = float(sys.argv[1])
s = json.load(open(sys.argv[2]))
span = s["last_s"] - s["first_s"]
drain = (s["count"] - 1) / span if span > 0 else 0.0
verdict = "ok" if 0.95 <= drain / rate <= 1.0 else "OUT"
print(f"  {s['count']} calls in {span:.1f} s: {drain:.2f} calls/s = {drain / rate:.3f} x geo.rate"
      f" {rate:g} (goal 0.95 to 1.0): {verdict}")
print(f"  most calls in any second: {s['max_in_any_second']} (limit {rate:g});"
      f" 429s: {s['too_many']}; stalled: {s['stalled']}")
PY
