#!/usr/bin/env bash
# Issue 3: log intake and queries (API.md §1).  Run by tests/bench/run
# (which sources lib.sh first), or alone: bash tests/bench/bench_logs.sh.
#
#   1. /intake with batches of 1,000 records (~100-byte bodies): rows/s,
#      against mariadb-slap inserting the same rows with 1,000-row
#      multi-row INSERTs (4 clients) into the same server, same run, just
#      before and just after (target >= 0.8 of their mean).
#   2. /intake with single-record batches against cairn's /healthz
#      (target >= 0.5 of its requests/s), and against the most this
#      machine allows a route that runs the same one-row INSERT (the
#      database alone running it, tests/bench/db-rate).
#   3. A compat query returning 10,000 rows: RSS of every pool worker
#      before and after, so memory that grew with the row count shows.
# Nothing here asserts; numbers are only meaningful on a quiet machine.
set -euo pipefail

[ "$(type -t bench_wrk)" = function ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || { echo "bench_logs: wrk is missing" >&2; exit 1; }
command -v mariadb-slap >/dev/null || { echo "bench_logs: mariadb-slap is missing" >&2; exit 1; }

bench_stack_start
here=$CAIRN_SRC_DIR/tests/bench
work=$BENCH_DIR/logs-bench
mkdir -p "$work"
# A service for the benchmark, its key in the batches (compat: key in the body).
key=$(env -u CAIRN_DB_SOCKET "$CAIRN_BUILD_DIR/bin/cairnctl" --config "$CAIRN_CONF" \
	service add bench 2>/dev/null | tail -n 1)
sid=$(bench_mysql -e "SELECT id FROM log_services WHERE name = 'bench'")
body=$(printf 'x%.0s' $(seq 1 100))
python3 - "$work" "$key" "$body" <<'PY'
import json, sys
work, key, body = sys.argv[1:]
recs = [{"level": ["info", "error", "debug", "warning"][i % 4],
         "timestamp": f"2026-11-22 14:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}",
         "body": body[:90] + f" {i:08d}"} for i in range(1000)]
with open(f"{work}/batch1000.json", "w") as f:
    json.dump({"key": key, "data": recs}, f)
with open(f"{work}/batch1.json", "w") as f:
    json.dump({"key": key, "data": recs[:1]}, f)
PY
for f in batch1000 batch1; do
	code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "@$work/$f.json" "$CAIRN_URL/intake")
	[ "$code" = 200 ] || { echo "bench_logs: /intake answered $code for $f" >&2; exit 1; }
done

# The same 1,000 rows as one multi-row INSERT, for mariadb-slap.
python3 - "$work" "$sid" "$body" <<'PY'
import sys
work, sid, body = sys.argv[1:]
levels = [2, 4, 1, 3]
rows = ",".join(
    f"({sid},{levels[i % 4]},'2026-11-22 14:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}',NOW(6),"
    f"'{body[:90]} {i:08d}')" for i in range(1000))
with open(f"{work}/insert1000.sql", "w") as f:
    f.write("INSERT INTO log_records (service_id, level, ts, received_at, body) VALUES " + rows)
PY

echo "-- 1. batches of 1,000 records vs mariadb-slap (4 clients, 1,000-row INSERTs)"
# Inserts slow down as the table grows, so the intake run is bracketed by
# two slap runs and compared with their mean: run first on an empty
# table, slap alone would be measured on a smaller table than intake.
slap_queries=$((BENCH_SECONDS * 40))
slap_run() {
	local out s
	out=$(mariadb-slap --no-defaults -S "$CAIRN_DB_SOCKET" -u "$CAIRN_DB_USER" \
		-p"$CAIRN_DB_PASSWORD" --create-schema="$CAIRN_DB_NAME" --concurrency=4 --iterations=1 \
		--number-of-queries="$slap_queries" --query="$work/insert1000.sql" 2>&1)
	s=$(awk '/Average number of seconds to run all queries/ {print $(NF-1)}' <<<"$out")
	RPS[$1]=$(awk -v q="$slap_queries" -v s="$s" 'BEGIN { printf "%.0f", (s > 0) ? q * 1000 / s : 0 }')
	printf '%-28s %10s rows/s  (%s INSERTs of 1,000 rows in %s s, %s rows stored)\n' "$1" "${RPS[$1]}" \
		"$slap_queries" "$s" "$(bench_mysql -e 'SELECT COUNT(*) FROM log_records')"
}
slap_run slap-before
BENCH_BODY_FILE=$work/batch1000.json bench_wrk intake-1000 "$CAIRN_URL/intake" -s "$here/logs_post.lua"
RPS[intake-rows]=$(awk -v r="${RPS[intake-1000]}" 'BEGIN { printf "%.0f", r * 1000 }')
printf '%-28s %10s rows/s\n' intake-1000-rows "${RPS[intake-rows]}"
slap_run slap-after
RPS[slap-rows]=$(( (RPS[slap-before] + RPS[slap-after]) / 2 ))
printf '%-28s %10s rows/s\n' mariadb-slap-mean "${RPS[slap-rows]}"
bench_ratio "intake rows/s / mariadb-slap rows/s" intake-rows slap-rows 0.8

echo "-- 2. single-record batches vs /healthz"
bench_wrk healthz "$CAIRN_URL/healthz"
BENCH_BODY_FILE=$work/batch1.json bench_wrk intake-1 "$CAIRN_URL/intake" -s "$here/logs_post.lua"
bench_db db-insert-1 "INSERT INTO log_records (service_id, level, ts, received_at, body)
 VALUES (?, ?, ?, NOW(6), ?)" "$sid" 2 '2026-11-22 14:00:00.000000' "${body:0:90} {n}"
bench_bound "intake-1 req/s / healthz req/s" intake-1 healthz db-insert-1 0.5

echo "-- 3. worker RSS around a 10,000-row compat query"
# 10,000 records of one service on one day
rss_key=$(bench_mysql -e "CALL log_service_create('bench-rss', FALSE, NULL, NULL)" | cut -f2)
python3 - "$work" "$rss_key" "$body" <<'PY'
import json, sys
work, key, body = sys.argv[1:]
recs = [{"level": "info", "timestamp": f"2020-02-02 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
         "body": body} for i in range(10000)]
with open(f"{work}/day.json", "w") as f:
    json.dump({"key": key, "data": recs}, f)
PY
curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$work/day.json" \
	"$CAIRN_URL/intake"
rss() {
	local total=0 max=0 r p
	for p in $(pgrep -P "$(cat "$CAIRN_POOL_PIDFILE")"); do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")
		total=$((total + r))
		((r > max)) && max=$r
	done
	printf 'max %6d KiB per worker, %7d KiB in all' "$max" "$total"
}
workers=$(pgrep -P "$(cat "$CAIRN_POOL_PIDFILE")" | wc -l)
for ((i = 0; i < workers * 4; i++)); do
	curl -fsS -o /dev/null -H "Authorization: Bearer $CAIRN_SERVICE_KEY" \
		"$CAIRN_URL/query/service/bench-rss/2020-02-02?limit=10"
done
echo "after 10-row queries:     $(rss)"
bytes=0
for ((i = 0; i < workers * 4; i++)); do
	bytes=$(curl -fsS -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $CAIRN_SERVICE_KEY" \
		"$CAIRN_URL/query/service/bench-rss/2020-02-02?limit=10000")
done
echo "after 10,000-row queries: $(rss)   (each response $bytes bytes)"
