-- wrk script for the once-proxy benchmark: a JSON POST, with an Idempotency-Key chosen by
-- the mode given after "--": "none" (no key), "hit" (one key for every request: after the first,
-- each is a replay), "unique" (a new key for every request: each is a first request).
-- Prints one line, "RESULT <requests/s> <p50 ms> <p99 ms> <requests> <errors>", for run-wrk.sh.

local threads = {}
local counter = 0
local mode = "none"
local prefix = "k"

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "none"
  prefix = args[2] or tostring(os.time())
  wrk.method = "POST"
  wrk.body = '{"amount":100,"currency":"EUR"}'
  wrk.headers["Content-Type"] = "application/json"
  if mode == "hit" then
    wrk.headers["Idempotency-Key"] = prefix .. "-hit"
  end
end

function request()
  if mode == "unique" then
    counter = counter + 1
    -- headers given to wrk.format replace wrk.headers, so they are all given here
    return wrk.format(nil, nil, {
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = prefix .. "-" .. id .. "-" .. counter,
    })
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n",
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      summary.requests, errors))
end
