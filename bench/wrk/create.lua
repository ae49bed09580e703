-- wrk workload "create": POST of a new service, a name never used before on every request.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
setup, init, response, done = common.setup, common.init, common.response, common.done

local n = 0

function request()
  n = n + 1
  local body = string.format('{"name":"svc-%s-%d","serviceType":"Mlflow","connection":%s}',
    common.tag, n, common.connection)
  return wrk.format("POST", common.collection, nil, body)
end
