-- wrk script for bench_kv.sh: PUT /keys/bench-<n> with a small raw body,
-- cycling over 10,000 keys (replacements after the first pass) so that
-- writers do not all queue on one row lock.  The Authorization header
-- comes from wrk's -H option (wrk.headers).
local n = 0
wrk.method = "PUT"
wrk.body = "bench value 0123456789abcdef"
wrk.headers["Content-Type"] = "text/plain"

request = function()
	n = n + 1
	return wrk.format("PUT", "/keys/bench-" .. (n % 10000))
end
