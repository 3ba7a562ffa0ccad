# Shared by the benchmarks (sourced by tests/bench/run).  Starts a private
# stack, runs wrk, keeps the figures, prints ratios.  Nothing here asserts:
# benchmarks report; the suite never times anything.
BENCH_CONN=${BENCH_CONN:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_SECONDS=${BENCH_SECONDS:-10}
declare -A RPS P99

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

# bench_wrk NAME URL [wrk args...]: requests/s and p99 (ms) into RPS/P99.
bench_wrk() {
	local name=$1 url=$2 out
	shift 2
	out=$(wrk -t"$BENCH_THREADS" -c"$BENCH_CONN" -d"${BENCH_SECONDS}s" --latency "$@" "$url")
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
