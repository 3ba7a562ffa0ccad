-- /update spread over 1,000 tags (spread0 .. spread999), for bench_tags.sh.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")

request = function()
	return wrk.format("GET", "/update?tag=spread" .. math.random(0, 999))
end
