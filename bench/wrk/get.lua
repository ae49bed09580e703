-- wrk workload "get": GET of one existing service by name.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
setup, response, done = common.setup, common.response, common.done

function init(args)
  common.init(args)
  wrk.method = "GET"
  wrk.path = common.collection .. "/name/" .. common.target
  wrk.headers["Content-Type"] = nil
end
