# Issue 4: usage tags.
#   1. /update on ONE hot tag, BENCH_CONN connections (32), against cairn's
#      own /healthz in the same run (target: at least 0.5x).  Every
#      increment is durably committed (innodb_flush_log_at_trx_commit = 1):
#      one UPDATE of the tag row + one history INSERT per transaction.
#   2. For comparison: /update spread over 1,000 tags (no hot row), /get on
#      the hot tag, and a 60-bucket hourly series of the hot tag.
#   3. Afterwards the counter must equal the sum of its history rows.
# Sourced by tests/bench/run (tests/bench/lib.sh gives bench_stack_start,
# bench_wrk, bench_ratio); runs on its own too (bash tests/bench/bench_tags.sh),
# with the small fallbacks below when lib.sh is absent.  Nothing asserts;
# numbers taken on a busy machine mean little.
here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
CAIRN_SRC_DIR=${CAIRN_SRC_DIR:-$(cd "$here/../.." && pwd)}
CAIRN_BUILD_DIR=${CAIRN_BUILD_DIR:-$CAIRN_SRC_DIR}
if [ "$(type -t bench_wrk)" != function ] && [ -f "$here/lib.sh" ]; then
	# shellcheck disable=SC1091
	. "$here/lib.sh"
fi
if [ "$(type -t bench_wrk)" != function ]; then
	BENCH_CONN=${BENCH_CONN:-32}
	BENCH_THREADS=${BENCH_THREADS:-2}
	BENCH_SECONDS=${BENCH_SECONDS:-10}
	declare -A RPS P99
	bench_stack_start() {
		BENCH_DIR=$CAIRN_BUILD_DIR/tests/tmp/bench-$$
		CAIRN_WORKERS=${CAIRN_BENCH_WORKERS:-} "$CAIRN_SRC_DIR/tests/tools/stack" start "$BENCH_DIR" >&2
		# shellcheck disable=SC1091
		. "$BENCH_DIR/stack.env"
		trap '"$CAIRN_SRC_DIR/tests/tools/stack" stop "$BENCH_DIR" >&2; rm -rf "$BENCH_DIR"' EXIT
	}
	bench_wrk() {
		local name=$1 url=$2 out non2xx
		shift 2
		out=$(wrk -t"$BENCH_THREADS" -c"$BENCH_CONN" -d"${BENCH_SECONDS}s" --latency "$@" "$url")
		RPS[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
		P99[$name]=$(awk '$1 == "99%" {print $2}' <<<"$out")
		non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
		printf '%-28s %10s req/s   p99 %8s%s\n' "$name" "${RPS[$name]}" "${P99[$name]}" \
			"${non2xx:+   NON-2xx: $non2xx}"
	}
	bench_ratio() {
		awk -v l="$1" -v a="${RPS[$2]}" -v b="${RPS[$3]}" -v t="${4:-}" 'BEGIN {
			r = (b > 0) ? a / b : 0
			if (t != "") printf "%-44s %6.3f  (target >= %s: %s)\n", l, r, t, (r >= t) ? "met" : "NOT met"
			else printf "%-44s %6.3f\n", l, r }'
	}
fi

bench_mysql() {
	mariadb --no-defaults -S "$CAIRN_DB_SOCKET" -u "$CAIRN_DB_USER" -p"$CAIRN_DB_PASSWORD" \
		-N -B "$CAIRN_DB_NAME" "$@"
}

bench_stack_start
export BENCH_KEY=$CAIRN_ADMIN_KEY
auth="Authorization: Bearer $BENCH_KEY"
curl -fsS -o /dev/null -H "$auth" "$CAIRN_URL/create?tag=hot" ||
	{ echo "bench: /create does not answer" >&2; exit 1; }
bench_mysql -e "INSERT INTO tags (name, count, created_at)
	SELECT CONCAT('spread', seq - 1), 0, NOW(6) FROM seq_1_to_1000"
curl -fsS -o /dev/null -H "$auth" "$CAIRN_URL/update?tag=hot" ||
	{ echo "bench: /update does not answer" >&2; exit 1; }

bench_wrk cairn-healthz "$CAIRN_URL/healthz"
bench_wrk update-hot-tag "$CAIRN_URL/update?tag=hot" -H "$auth"
bench_wrk update-1000-tags "$CAIRN_URL/" -s "$here/tags_update_spread.lua"
bench_wrk get-hot-tag "$CAIRN_URL/get?tag=hot" -H "$auth"
bench_wrk series-hour-60 "$CAIRN_URL/history?tag=hot&bucket=hour" -H "$auth"
bench_ratio "update (one hot tag) / healthz" update-hot-tag cairn-healthz 0.5
bench_ratio "update (1000 tags) / healthz" update-1000-tags cairn-healthz
bench_ratio "update hot / update spread" update-hot-tag update-1000-tags
bench_ratio "get / healthz" get-hot-tag cairn-healthz

count=$(curl -fsS -H "$auth" "$CAIRN_URL/get?tag=hot")
rows=$(bench_mysql -e "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM tag_history h
	JOIN tags t ON t.id = h.tag_id WHERE t.name = 'hot'")
read -r sum nrows <<<"$rows"
if [ "$count" = "$sum" ] && [ "$count" = "$nrows" ]; then
	echo "hot tag: count $count = history rows $nrows (consistent)"
else
	echo "hot tag: count $count, history sum $sum, rows $nrows: INCONSISTENT"
fi
