-- wrk script for the benchmark harness (bench/loadgen.py writes the item file).
-- wrk --latency -s bench.lua URL -- paths ITEMS        GET one path per line, round robin
-- wrk --latency -s bench.lua URL -- post ITEMS PATH ID POST form bodies: "cookie<TAB>body" lines;
--   in a body, __E__ becomes a unique e-mail local part and __P__ seven unique phone digits.
--   A last argument, if any, is sent as Accept-Encoding (as a phone's browser does).
-- done() prints one line "BENCH_JSON {...}" with the counts, latencies (µs) and status codes.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  items = {}
  for line in io.lines(args[2]) do
    if #line > 0 then table.insert(items, line) end
  end
  if mode == "paths" then
    encoding = args[3]
  else
    path = args[3]
    run_id = args[4] or "x"
    encoding = args[5]
  end
  if encoding and #encoding > 0 then wrk.headers["Accept-Encoding"] = encoding end
  statuses = {}
  counter = 0
  -- threads start at different places in the list so they do not ask for the same thing
  index = math.floor(tid * #items / 8)
end

function request()
  index = index + 1
  local item = items[(index % #items) + 1]
  if mode == "paths" then
    return wrk.format("GET", item)
  end
  counter = counter + 1
  local cookie, body = item:match("^([^\t]*)\t(.*)$")
  local unique = string.format("%s-t%d-%d", run_id, tid, counter)
  local digits = string.format("%d%06d", tid % 10, counter % 1000000)
  body = body:gsub("__E__", unique):gsub("__P__", digits)
  return wrk.format("POST", path, {
    ["Cookie"] = cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for code, n in pairs(counts) do total[code] = (total[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(total) do table.insert(parts, string.format('"%d": %d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
end
