-- wrk script: POST /event/submit/ with a geo:write key (GEO_KEY), each
-- request from another public address (X-Real-IP, trusted by the stack's
-- nginx), so the worker has real provider calls to make meanwhile.
local key = os.getenv("GEO_KEY") or ""
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

function request()
  counter = counter + 1
  local n = counter * 16 + thread_id
  local ip = string.format("45.%d.%d.%d", 100 + math.floor(n / 65536) % 100, math.floor(n / 256) % 256, n % 256)
  local body = string.format('{"name":"bench %d","status_code":%d}', n, n % 600)
  return wrk.format("POST", "/event/submit/", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["X-Real-IP"] = ip,
  }, body)
end
