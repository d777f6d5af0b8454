-- wrk script: POSTs one GitLab body to /hooks, as GitLab does, with a fresh Idempotency-Key on every
-- request (a repeated key would measure the duplicate path). Arguments after `--`:
--   <body file> <token> <X-Gitlab-Event> <ms between requests on one connection, 0 = as fast as it can> <run nonce>
-- Prints one JSON line with the totals and latency percentiles (microseconds).

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
  pause = tonumber(args[4]) or 0
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
  return pause
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
