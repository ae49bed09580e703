-- Shared wrk hooks: unique name prefixes per thread, status counts, one JSON summary line.
local M = {}

M.collection = "/api/v1/services/mlmodelServices"
M.connection = '{"config":{"trackingUri":"http://localhost:5000","registryUri":"http://localhost:8080"}}'

-- Main Lua state only: the threads, kept so done() can read their counters.
local threads = {}

local function random_hex(bytes)
  local urandom = assert(io.open("/dev/urandom", "rb"))
  local raw = urandom:read(bytes)
  urandom:close()
  return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- Each thread gets its own index and a random prefix, so names never collide, even across runs.
function M.setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
  thread:set("prefix", random_hex(4))
  thread:set("statuses", {})
  thread:set("bad_bodies", 0)
  thread:set("first_failure", "")
end

-- args: token [target-name]
function M.init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  M.target = args[2]
  M.tag = prefix .. "-" .. tid
end

-- Counts every status, and keeps the first failed response of the thread as an example.
function M.count(status, body, failed)
  statuses[status] = (statuses[status] or 0) + 1
  if failed and first_failure == "" then
    first_failure = status .. " " .. (body or ""):sub(1, 400)
  end
end

function M.response(status, headers, body)
  M.count(status, body, status >= 300)
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function encode_counts(counts)
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- Main Lua state, after the run: one line that bench/run.py parses.
function M.done(summary, latency, requests)
  local counts, bad, example = {}, 0, ""
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    bad = bad + thread:get("bad_bodies")
    if example == "" then
      example = thread:get("first_failure")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"statuses":%s,'
      .. '"bad_bodies":%d,"socket_errors":%d,"first_failure":%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    encode_counts(counts), bad, e.connect + e.read + e.write + e.timeout, json_string(example)))
end

return M
