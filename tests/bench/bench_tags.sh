# shellcheck shell=bash
# Issue 4: usage tags.
#   1. /update on ONE hot tag, BENCH_CONN connections (32), against cairn's
#      own /healthz in the same run (target: at least 0.5x).  Every
#      increment is durably committed (innodb_flush_log_at_trx_commit = 1):
#      one CALL tag_increment, an UPDATE of the tag row and a history
#      INSERT in one transaction.
#   2. For comparison: /update spread over 1,000 tags (no hot row), /get on
#      the hot tag, and a 60-bucket hourly series of the hot tag.
#   3. Afterwards the counter must equal the sum of its history rows.
# Each /update is also compared with the most this machine allows a route
# that runs the same CALL (bench_bound: the database alone running it).
# Sourced by tests/bench/run (which sources tests/bench/lib.sh), or alone:
# bash tests/bench/bench_tags.sh.  Nothing asserts; numbers taken on a busy
# machine mean little.
here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
[ "$(type -t bench_wrk)" = function ] || . "$here/lib.sh"

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
hot_id=$(bench_mysql -e "SELECT id FROM tags WHERE name = 'hot'")
spread_id=$(bench_mysql -e "SELECT MIN(id) FROM tags WHERE name LIKE 'spread%'")
bench_db db-increment-hot 'CALL tag_increment(?, 1)' "$hot_id"
bench_db db-increment-1000 'CALL tag_increment(? % 1000 + ?, 1)' '{n}' "$spread_id"
bench_bound "update (one hot tag) / healthz" update-hot-tag cairn-healthz db-increment-hot 0.5
bench_bound "update (1000 tags) / healthz" update-1000-tags cairn-healthz db-increment-1000 0.5
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
