-- wrk script for bench_events.sh: POST /add_event with three tags (one of
-- them varying), the key from BENCH_KEY.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "")
local n = 0
request = function()
	n = n + 1
	local body = string.format('{"tags": ["bench", "x", "t%d"], "start_epoch": %d.%06d}',
		n % 1000, 1650000000 + n, n % 1000000)
	return wrk.format(nil, nil, nil, body)
end
