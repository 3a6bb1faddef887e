-- The requests of a load for wrk (bench/common.py: wrk_load). Arguments after wrk's "--":
--   1. a file of requests, one a line: method TAB accept TAB path TAB form-encoded body (may be empty);
--   2. the statuses that count as success, comma-separated (200,303);
--   3. the number of wrk threads (its -t).
-- Each wrk thread walks the file from its own line, one thread's step apart, and starts again at the top when
-- it reaches the end. When wrk stops, one line starting "WRKJSON " reports the totals of all threads.

local threads = {}

function setup(thread)
  thread:set("number", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  methods, accepts, paths, bodies = {}, {}, {}, {}
  for line in io.lines(args[1]) do
    local method, accept, path, body = line:match("^(%u+)\t([^\t]+)\t([^\t]+)\t(.*)$")
    if not method then
      error("bad request line: " .. line)
    end
    local n = #paths + 1
    methods[n], accepts[n], paths[n], bodies[n] = method, accept, path, body
  end
  success = {}
  for status in args[2]:gmatch("%d+") do
    success[tonumber(status)] = true
  end
  step = tonumber(args[3])
  next_line = number
  failed, by_status = 0, {}
end

function request()
  local i = next_line % #paths + 1
  next_line = next_line + step
  local headers, body = {Accept = accepts[i]}, nil
  if bodies[i] ~= "" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = bodies[i]
  end
  return wrk.format(methods[i], paths[i], headers, body)
end

function response(status, headers, body)
  if not success[status] then
    failed = failed + 1
    by_status[status] = (by_status[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local failures, statuses = 0, {}
  for _, thread in ipairs(threads) do
    failures = failures + thread:get("failed")
    for status, count in pairs(thread:get("by_status")) do
      statuses[status] = (statuses[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(statuses) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"responses": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "failed": %d, ' ..
    '"statuses": {%s}, "socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), failures,
    table.concat(parts, ", "), e.connect + e.read + e.write, e.timeout))
end
