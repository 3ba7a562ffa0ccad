# shellcheck shell=bash
# Shared by the benchmarks (sourced by tests/bench/run).  Starts a private
# stack, runs wrk, keeps the figures, prints ratios.  Nothing here asserts:
# benchmarks report; the suite never times anything.
CAIRN_SRC_DIR=${CAIRN_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CAIRN_BUILD_DIR=${CAIRN_BUILD_DIR:-$CAIRN_SRC_DIR}
BENCH_CONN=${BENCH_CONN:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_SECONDS=${BENCH_SECONDS:-10}
declare -A RPS P99 BUSY

bench_stack_start() {
	BENCH_DIR=$CAIRN_BUILD_DIR/tests/tmp/bench-$$
	CAIRN_WORKERS=${CAIRN_BENCH_WORKERS:-} CAIRN_DEBUG_ROUTES=1 \
		"$CAIRN_SRC_DIR/tests/tools/stack" start "$BENCH_DIR" >&2
	# shellcheck disable=SC1091
	. "$BENCH_DIR/stack.env"
	trap bench_stack_stop EXIT
}

bench_stack_stop() {
	local f
	for f in "$BENCH_DIR"/*.bench-pid; do
		[ -e "$f" ] && xargs -r kill <"$f" 2>/dev/null
	done
	"$CAIRN_SRC_DIR/tests/tools/stack" stop "$BENCH_DIR" >&2 || true
	rm -rf "$BENCH_DIR"
}

# Adds nginx locations (server level) and http-level lines, then restarts nginx.
bench_nginx_extra() {
	printf '%s\n' "$1" >"$BENCH_DIR/nginx/extra/bench.conf"
	printf '%s\n' "${2:-}" >"$BENCH_DIR/nginx/extra/bench.http"
	"$CAIRN_SRC_DIR/tests/tools/stack" nginx-restart "$BENCH_DIR" >&2
}

# The machine's CPU counters: busy and total jiffies, all cores.
cpu_jiffies() {
	awk '$1 == "cpu" { for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# bench_busy NAME BEFORE: the busy fraction of all cores since BEFORE (a
# cpu_jiffies reading) into BUSY[NAME].
bench_busy() {
	local now
	now=$(cpu_jiffies)
	BUSY[$1]=$(awk -v a="$2" -v b="$now" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%.2f", (y[2] > x[2]) ? (y[1] - x[1]) / (y[2] - x[2]) : 1 }')
}

# bench_wrk NAME URL [wrk args...]: requests/s and p99 (ms) into RPS/P99,
# the cores' busy fraction into BUSY.
bench_wrk() {
	local name=$1 url=$2 out before
	shift 2
	before=$(cpu_jiffies)
	out=$(wrk -t"$BENCH_THREADS" -c"$BENCH_CONN" -d"${BENCH_SECONDS}s" --latency "$@" "$url")
	bench_busy "$name" "$before"
	RPS[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	P99[$name]=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
	local non2xx
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
	printf '%-28s %10s req/s   p99 %8s ms%s\n' "$name" "${RPS[$name]}" "${P99[$name]}" \
		"${non2xx:+   NON-2xx: $non2xx}"
}

# bench_ratio LABEL A B [TARGET]: prints A/B against the target.
bench_ratio() {
	local label=$1 a=${RPS[$2]} b=${RPS[$3]} target=${4:-}
	awk -v l="$label" -v a="$a" -v b="$b" -v t="$target" 'BEGIN {
		r = (b > 0) ? a / b : 0
		if (t != "") printf "%-44s %6.3f  (target >= %s: %s)\n", l, r, t, (r >= t) ? "met" : "NOT met"
		else printf "%-44s %6.3f\n", l, r }'
}

# bench_mysql [mariadb args...]: the stack's database as cairn's user,
# tab-separated rows without a header (e.g. bench_mysql -e "SELECT ...").
bench_mysql() {
	mariadb --no-defaults -S "$CAIRN_DB_SOCKET" -u "$CAIRN_DB_USER" -p"$CAIRN_DB_PASSWORD" \
		-N -B "$CAIRN_DB_NAME" "$@"
}

# The pool size of the running stack.
bench_pool_size() {
	awk -F' *= *' '$1 == "workers" { print $2 }' "$CAIRN_CONF"
}

# bench_db NAME SQL [PARAM...]: the database alone running one prepared
# statement, the one a route runs, from as many connections as the pool
# has workers (tests/bench/db-rate; "{n}" and "{k}" in a PARAM vary per
# execution, "\N" is NULL): statements/s into RPS[NAME], the cores' busy
# fraction into BUSY[NAME].
bench_db() {
	local name=$1 out before
	shift
	before=$(cpu_jiffies)
	out=$("$CAIRN_BUILD_DIR/tests/bench/db-rate" -S "$CAIRN_DB_SOCKET" -u "$CAIRN_DB_USER" \
		-p "$CAIRN_DB_PASSWORD" -D "$CAIRN_DB_NAME" -c "$(bench_pool_size)" \
		-s "$BENCH_SECONDS" "$@") || { echo "bench: db-rate failed for $name" >&2; return 1; }
	bench_busy "$name" "$before"
	RPS[$name]=${out%% *}
	printf '%-28s %10s stmt/s  (the database alone, %s connections, cores %s busy)\n' \
		"$name" "${RPS[$name]}" "$(bench_pool_size)" "${BUSY[$name]}"
}

# bench_bound LABEL ROUTE HEALTHZ DB TARGET: the ratio ROUTE/HEALTHZ against
# TARGET and against the most this machine allows, with this pool, a route
# that makes DB's round trip.  Such a request costs at least a /healthz
# request's CPU plus the statement's, both measured here as busy fraction
# of the cores / rate, so
#   ROUTE/HEALTHZ <= 1 / (busy(HEALTHZ) + busy(DB) * HEALTHZ / DB)
# and no more than DB/HEALTHZ either: the pool's connections run the
# statement no faster than the database alone does.
bench_bound() {
	local label=$1
	awk -v l="$label" -v r="${RPS[$2]}" -v h="${RPS[$3]}" -v d="${RPS[$4]}" \
		-v bh="${BUSY[$3]}" -v bd="${BUSY[$4]}" -v t="$5" -v w="$(bench_pool_size)" 'BEGIN {
		ratio = (h > 0) ? r / h : 0
		cpu = (d > 0) ? 1 / (bh + bd * h / d) : 0
		conn = (h > 0) ? d / h : 0
		bound = (cpu < conn) ? cpu : conn
		printf "%-44s %6.3f  (target >= %s: %s; at most %.3f with %d workers: %s)\n", l, ratio, t,
			(ratio >= t) ? "met" : "NOT met", bound, w,
			(bound < t) ? "out of reach" : "within reach" }'
}
