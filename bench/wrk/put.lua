-- wrk workload "put": PUT of one existing service with a new description on every request.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
setup, init, response, done = common.setup, common.init, common.response, common.done

local n = 0

-- The description differs from every earlier one, so each request is a real update (a new
-- version on the service) whatever order concurrent connections reach the server in.
function request()
  n = n + 1
  local body = string.format(
    '{"name":"%s","serviceType":"Mlflow","description":"rev %s-%d","connection":%s}',
    common.target, common.tag, n, common.connection)
  return wrk.format("PUT", common.collection, nil, body)
end
