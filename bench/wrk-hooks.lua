-- wrk script: POSTs one GitLab body to /hooks, as GitLab does, with a fresh Idempotency-Key on every
-- request (a repeated key would measure the duplicate path). Arguments after `--`:
--   <body file> <token> <X-Gitlab-Event> <requests per second per thread, 0 = as fast as it can> <run nonce>
-- With a rate, requests follow a schedule (one every 1/rate s per thread) rather than a fixed
-- pause after each answer, so that slower answers do not lower the offered load: the rate is met
-- as long as the thread's connections can carry it.
-- Prints one JSON line with the totals and latency percentiles (microseconds).

local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_usec; } timeval;
  int gettimeofday(timeval *tv, void *tz);
]]
local tv = ffi.new("timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  body = file:read("*a")
  file:close()
  token = args[2]
  event = args[3]
  local rate = tonumber(args[4]) or 0
  interval = rate > 0 and 1000 / rate or 0
  next_slot = nil
  nonce = args[5] or tostring(os.time())
  counter = 0
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/hooks", {
    ["Content-Type"] = "application/json",
    ["X-Gitlab-Event"] = event,
    ["X-Gitlab-Token"] = token,
    ["Idempotency-Key"] = "wrk-" .. nonce .. "-" .. thread_id .. "-" .. counter,
  }, body)
end

function delay()
  if interval == 0 then return 0 end
  local now = now_ms()
  next_slot = next_slot and next_slot + interval or now
  return math.max(0, math.floor(next_slot - now))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
