#!/usr/bin/env bash
# bench_geo.sh: the geo capability's benchmark (issue 7, "Speed").
#
#   tests/bench/bench_geo.sh [SECONDS]      (default 10 s per wrk run)
#
# Starts a private stack (tests/tools/stack, the geo stand-in stalling 10%
# of answers for 5 s) and measures, in the same run:
#   1. POST /event/submit/ with 32 connections vs GET /healthz: requests/s,
#      the ratio (goal >= 0.5) and the submit p99 latency (goal < 10 ms);
#   2. the queue drain rate for unique, uncached addresses vs geo.rate
#      (goal 0.95x to 1.0x): N queued tasks, the provider's first to last
#      call as the stand-in saw them, and the most calls in any second.
# Numbers are only meaningful on a quiet machine.  Needs wrk.
# Environment: CAIRN_BUILD_DIR (default: the repository), CAIRN_WORKERS (the
# pool size, see tests/tools/stack), BENCH_DRAIN_TASKS (default 150),
# CAIRN_BENCH_KEEP=1 leaves the stack running.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export CAIRN_BUILD_DIR=${CAIRN_BUILD_DIR:-$root}
# tests/bench/run sources this file with its own arguments (bench names)
secs=${BENCH_SECONDS:-10}
[[ ${1:-} =~ ^[0-9]+$ ]] && secs=$1
tasks=${BENCH_DRAIN_TASKS:-150}
dir=$CAIRN_BUILD_DIR/tests/tmp/bench-geo-$$
command -v wrk >/dev/null || { echo "bench_geo: wrk not found (scripts/install-deps)" >&2; exit 1; }

cleanup() {
	if [[ ${CAIRN_BENCH_KEEP:-0} != 1 ]]; then
		"$root/tests/tools/stack" stop "$dir" >/dev/null 2>&1 || true
		rm -rf "$dir"
	else
		echo "stack left running in $dir"
	fi
}
trap cleanup EXIT

CAIRN_TRUST_REALIP=1 "$root/tests/tools/stack" start "$dir" >/dev/null
env_get() { sed -n "s/^$1=//p" "$dir/stack.env"; }
url=$(env_get CAIRN_URL)
admin=$(env_get CAIRN_ADMIN_KEY)
standin=$(env_get GEO_STANDIN_URL)
sql() {
	mariadb --no-defaults -S "$(env_get CAIRN_DB_SOCKET)" -u cairn -p"$(env_get CAIRN_DB_PASSWORD)" \
		-N -B cairn -e "$1"
}
key=$(curl -sS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
	-d '{"name":"bench","scopes":["geo:write","geo:read"]}' "$url/admin/api-keys" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

# wrk's "Requests/sec:" and the 99% latency (in ms) of a --latency run
wrk_run() {
	wrk -t2 -c32 -d"${secs}s" --latency "$@" 2>&1
}
rps() { awk '/^Requests\/sec:/ { print $2 }'; }
p99_ms() {
	awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
	      else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
	      print v }'
}

echo "== 1. submit vs /healthz (32 connections, ${secs}s each)"
health=$(wrk_run "$url/healthz")
submit=$(GEO_KEY=$key wrk_run -s "$here/geo_submit.lua" "$url/event/submit/")
h_rps=$(rps <<<"$health")
s_rps=$(rps <<<"$submit")
s_p99=$(p99_ms <<<"$submit")
non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$submit")
printf '  /healthz            %10.1f req/s\n' "$h_rps"
printf '  POST /event/submit/ %10.1f req/s  p99 %.2f ms  non-2xx %s\n' "$s_rps" "$s_p99" "${non2xx:-0}"
python3 - "$s_rps" "$h_rps" "$s_p99" <<'PY'
import sys
s, h, p99 = map(float, sys.argv[1:])
print(f"  ratio submit/healthz {s / h:.2f} (goal >= 0.5): {'ok' if s / h >= 0.5 else 'BELOW'}")
print(f"  submit p99 {p99:.2f} ms (goal < 10 ms): {'ok' if p99 < 10 else 'ABOVE'}")
PY

echo "== 2. queue drain for $tasks unique addresses"
# forget the submit run's backlog, so only the drain tasks are queued
sql "UPDATE geo_tasks SET state = 'skipped', last_error = 'bench backlog' WHERE state = 'queued'"
curl -sS -o /dev/null "$standin/control?mode=ok&stall_pct=10&stall_ms=5000"
sleep 7   # calls of the backlog still in flight come back
curl -sS -o /dev/null "$standin/reset"
rate=$(awk -F' *= *' '$1 == "geo.rate" { r = $2 } END { print r ? r : 5 }' "$dir/cairn.conf")
for ((i = 0; i < tasks; i++)); do
	printf '{"name":"drain %d"}' "$i" |
		curl -sS -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			-H "X-Real-IP: 46.$((i / 250)).$((i % 250 + 1)).7" --data-binary @- "$url/event/submit/"
done
deadline=$((SECONDS + tasks / rate * 3 + 60))
while (($(sql "SELECT COUNT(*) FROM geo_tasks WHERE state = 'queued'") > 0)); do
	((SECONDS < deadline)) || { echo "  the queue did not drain in time" >&2; exit 1; }
	sleep 1
done
curl -sS "$standin/stats" >"$dir/standin-stats.json"
python3 - "$rate" "$dir/standin-stats.json" <<'PY'
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
