-- PUT /values/<random key> with a 100-byte body: each answer waits until the write is applied.
-- report.lua sits beside this script (BENCH_WRK_DIR, which the bench sets, may say otherwise).
dofile((os.getenv("BENCH_WRK_DIR") or debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".") .. "/report.lua")
local keys = tonumber(os.getenv("BENCH_KEYS") or "100000")
local pool = {}
local size = 20000

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  local body = string.rep("p", 100)
  for i = 1, size do
    pool[i] = wrk.format("PUT", string.format("/values/put:%08d", math.random(1, keys)), { ["Content-Type"] = "text/plain" }, body)
  end
end

function request()
  return pool[math.random(1, size)]
end
