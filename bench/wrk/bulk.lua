-- wrk workload "bulk": PUT /bulk of 100 new services per request.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
setup, init, done = common.setup, common.init, common.done

local ITEMS = 100
local n = 0

function request()
  local items = {}
  for i = 1, ITEMS do
    n = n + 1
    items[i] = string.format('{"name":"bulk-%s-%d","serviceType":"Mlflow","connection":%s}',
      common.tag, n, common.connection)
  end
  local body = "[" .. table.concat(items, ",") .. "]"
  return wrk.format("PUT", common.collection .. "/bulk", nil, body)
end

-- A 200 can still carry failed items (BulkOperationResult.status "partialSuccess"/"failure").
function response(status, headers, body)
  local bad_body = status < 300 and not body:find('"status"%s*:%s*"success"')
  if bad_body then
    bad_bodies = bad_bodies + 1
  end
  common.count(status, body, status >= 300 or bad_body)
end
