# Issue 8: soak.  SOAK_REQUESTS (default 1,000,000) mixed requests through
# nginx -- GET /healthz, GET /keys/<k>, PUT /keys/<k>, /update?tag=,
# /get?tag=, POST /add_event -- with the stack's admin key, and the RSS of
# every pool worker before and after (the bar: no growth beyond a few
# hundred KiB per worker, and zero 5xx).  wrk runs by duration, so the
# requests are sent in several wrk runs whose length comes from the rate
# measured in the first; the real total is reported.  The Lua script keeps
# a status histogram per wrk thread and prints it from done().
#   SOAK_REQUESTS (1000000), SOAK_CHUNK_SECONDS (longest wrk run, 60),
#   BENCH_CONN, BENCH_THREADS
bench_stack_start
soak_total=${SOAK_REQUESTS:-1000000}
soak_chunk=${SOAK_CHUNK_SECONDS:-60}
soak_lua=$BENCH_DIR/soak_mix.lua
cat >"$soak_lua" <<'EOF'
-- The mix, by request number modulo 10: 2 healthz, 2 GET /keys, 1 PUT
-- /keys, 2 /update, 2 /get, 1 /add_event.  Keys soak-0..99 exist before
-- the run, so a GET answers 200.
local key = os.getenv("BENCH_KEY") or ""
local auth = {["Authorization"] = "Bearer " .. key}
local put_h = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "text/plain"}
local json_h = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
local threads = {}
local n = 0

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	statuses = {}
	n = math.random(0, 9)
end

request = function()
	n = n + 1
	local m = n % 10
	if m == 0 or m == 5 then
		return wrk.format("GET", "/healthz")
	elseif m == 1 or m == 6 then
		return wrk.format("GET", "/keys/soak-" .. (n % 100), auth)
	elseif m == 2 then
		return wrk.format("PUT", "/keys/soak-" .. (n % 100), put_h, "soak value " .. n)
	elseif m == 3 or m == 7 then
		return wrk.format("GET", "/update?tag=soak-" .. (n % 10), auth)
	elseif m == 4 or m == 8 then
		return wrk.format("GET", "/get?tag=soak-" .. (n % 10), auth)
	else
		return wrk.format("POST", "/add_event", json_h,
			string.format('{"tags": ["soak", "s%d"], "start_epoch": %d}', n % 100, 1650000000 + n % 1000000))
	end
end

response = function(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
	local all = {}
	for _, t in ipairs(threads) do
		local s = t:get("statuses")
		if s then
			for k, v in pairs(s) do
				all[k] = (all[k] or 0) + v
			end
		end
	end
	for k, v in pairs(all) do
		io.write(string.format("soak-status %d %d\n", k, v))
	end
end
EOF

soak_rss() {
	local p
	for p in $(pgrep -P "$(cat "$CAIRN_POOL_PIDFILE")" | sort -n); do
		printf '%s %s\n' "$p" "$(ps -o rss= -p "$p" | tr -d ' ')"
	done
}

soak_restarts() {
	curl -fsS "$CAIRN_URL/metrics" | awk '$1 == "cairn_worker_restarts_total" {print $2}'
}

# soak_run SECONDS: one wrk run; adds to soak_sent, soak_non2xx, soak_hist
declare -A soak_hist
soak_sent=0
soak_non2xx=0
soak_secs=0
soak_run() {
	local out n secs bad
	out=$(BENCH_KEY=$CAIRN_ADMIN_KEY wrk -t"$BENCH_THREADS" -c"$BENCH_CONN" -d"${1}s" \
		-s "$soak_lua" "$CAIRN_URL")
	n=$(awk '/ requests in / {print $1}' <<<"$out")
	secs=$(awk '/ requests in / {sub(/,$/, "", $4); v = $4;
		if (v ~ /ms$/) {sub(/ms/, "", v); v /= 1000} else if (v ~ /m$/) {sub(/m/, "", v); v *= 60}
		else sub(/s$/, "", v); print v}' <<<"$out")
	bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
	soak_sent=$((soak_sent + ${n:-0}))
	soak_non2xx=$((soak_non2xx + ${bad:-0}))
	soak_secs=$(awk -v a="$soak_secs" -v b="${secs:-0}" 'BEGIN {print a + b}')
	while read -r _ code count; do
		soak_hist[$code]=$(( ${soak_hist[$code]:-0} + count ))
	done < <(grep '^soak-status ' <<<"$out")
	soak_last_rate=$(awk -v n="${n:-0}" -v s="${secs:-1}" 'BEGIN {printf "%d", (s > 0) ? n / s : 0}')
}

# setup: ten tags, a hundred keys (so GETs hit), and a short warm-up, so
# that "before" is a worker that has served every route already
auth=(-H "Authorization: Bearer $CAIRN_ADMIN_KEY")
for i in $(seq 0 9); do
	curl -sS -o /dev/null "${auth[@]}" "$CAIRN_URL/create?tag=soak-$i"
done
for i in $(seq 0 99); do
	curl -fsS -o /dev/null "${auth[@]}" -X PUT -H "Content-Type: text/plain" \
		--data-binary "soak value $i" "$CAIRN_URL/keys/soak-$i"
done
BENCH_KEY=$CAIRN_ADMIN_KEY wrk -t"$BENCH_THREADS" -c"$BENCH_CONN" -d3s -s "$soak_lua" "$CAIRN_URL" >/dev/null

declare -A rss_before
while read -r p r; do rss_before[$p]=$r; done < <(soak_rss)
restarts_before=$(soak_restarts)
echo "pool workers: ${#rss_before[@]}; target: $soak_total requests, $BENCH_CONN connections"

# a short run to measure the rate, then runs of at most soak_chunk seconds
# sized from the rate of the last one, until the total is reached
soak_run 5
while [ "$soak_sent" -lt "$soak_total" ]; do
	left=$((soak_total - soak_sent))
	d=$(awk -v l="$left" -v r="$soak_last_rate" -v c="$soak_chunk" \
		'BEGIN {d = (r > 0) ? int(l / r + 0.999) : c; if (d > c) d = c; if (d < 1) d = 1; print d}')
	soak_run "$d"
	echo "  sent $soak_sent of $soak_total (${soak_last_rate} req/s in the last run)"
done
restarts_after=$(soak_restarts)

echo "sent $soak_sent requests in ${soak_secs}s; non-2xx/3xx (wrk): $soak_non2xx"
n5xx=0
for code in $(printf '%s\n' "${!soak_hist[@]}" | sort -n); do
	printf '  status %s: %s\n' "$code" "${soak_hist[$code]}"
	if [ "$code" -ge 500 ]; then n5xx=$((n5xx + soak_hist[$code])); fi
done
echo "5xx: $n5xx$([ "$n5xx" -eq 0 ] && echo '  (bar: zero, met)' || echo '  (bar: zero, NOT met)')"
echo "worker restarts during the soak: $(( ${restarts_after:-0} - ${restarts_before:-0} ))"
printf '%-8s %12s %12s %12s\n' pid "RSS before" "RSS after" growth
worst=0
while read -r p r; do
	if [ -n "${rss_before[$p]:-}" ]; then
		g=$((r - rss_before[$p]))
		if [ "$g" -gt "$worst" ]; then worst=$g; fi
		printf '%-8s %9s KiB %9s KiB %8s KiB\n' "$p" "${rss_before[$p]}" "$r" "$g"
		unset "rss_before[$p]"
	else
		printf '%-8s %12s %9s KiB %12s\n' "$p" "(new)" "$r" "-"
	fi
done < <(soak_rss)
for p in "${!rss_before[@]}"; do
	printf '%-8s %9s KiB %12s %12s\n' "$p" "${rss_before[$p]}" "(gone)" "-"
done
echo "largest growth per worker: $worst KiB$([ "$worst" -le 512 ] && echo '  (bar: a few hundred KiB, met)' || echo '  (bar: a few hundred KiB, NOT met)')"
