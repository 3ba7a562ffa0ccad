-- wrk script: POSTs the JSON body in the file named by BENCH_BODY_FILE
-- (an /intake batch) on every request.
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local bad = 0
function response(status, headers, body)
	if status ~= 200 then
		bad = bad + 1
		if bad <= 3 then io.stderr:write("intake answered " .. status .. ": " .. body .. "\n") end
	end
end
