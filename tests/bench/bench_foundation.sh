# Issue 2: the framework's overhead.  Three ceilings behind the same nginx:
# a static nginx answer, the smallest libfcgi responder (tests/bench/fcgi-hello,
# as many processes as the pool has workers), and cairn's /healthz (which
# touches no database).  Also fastcgi_keep_conn on vs off for both.
bench_stack_start
workers=$(pgrep -P "$(cat "$CAIRN_POOL_PIDFILE")" | wc -l)
spawn-fcgi -s "$BENCH_DIR/hello.sock" -M 0600 -F "$workers" -- \
	"$CAIRN_BUILD_DIR/tests/bench/fcgi-hello" >/dev/null
pgrep -f "$CAIRN_BUILD_DIR/tests/bench/fcgi-hello" >"$BENCH_DIR/hello.bench-pid"
bench_nginx_extra "
location = /__bench/static { default_type application/json; return 200 '{\"status\":\"ok\"}'; }
location = /__bench/hello { fastcgi_pass unix:$BENCH_DIR/hello.sock; }
location = /__bench/hello-keepconn {
	fastcgi_pass bench_hello_keep; fastcgi_keep_conn on;
	fastcgi_param REQUEST_METHOD \$request_method;
}
location = /__bench/healthz-keepconn {
	fastcgi_pass bench_cairn_keep; fastcgi_keep_conn on;
	fastcgi_param REQUEST_METHOD \$request_method; fastcgi_param PATH_INFO /healthz;
	fastcgi_param QUERY_STRING \"\"; fastcgi_param REQUEST_ID \$request_id;
}" "
upstream bench_hello_keep { server unix:$BENCH_DIR/hello.sock; keepalive 1; }
upstream bench_cairn_keep { server unix:$CAIRN_POOL_SOCKET; keepalive 1; }"
echo "pool workers: $workers; nginx worker_processes: 2"
for u in /__bench/static /__bench/hello /healthz; do
	curl -fsS -o /dev/null "$CAIRN_URL$u" || { echo "bench: $u does not answer" >&2; exit 1; }
done
bench_wrk nginx-static "$CAIRN_URL/__bench/static"
bench_wrk fcgi-hello "$CAIRN_URL/__bench/hello"
bench_wrk cairn-healthz "$CAIRN_URL/healthz"
bench_wrk fcgi-hello-keepconn "$CAIRN_URL/__bench/hello-keepconn"
bench_wrk cairn-healthz-keepconn "$CAIRN_URL/__bench/healthz-keepconn"
bench_ratio "healthz / minimal responder" cairn-healthz fcgi-hello 0.90
bench_ratio "healthz / nginx static" cairn-healthz nginx-static
bench_ratio "keep_conn on / off (healthz)" cairn-healthz-keepconn cairn-healthz
bench_ratio "keep_conn on / off (minimal responder)" fcgi-hello-keepconn fcgi-hello
