-- GET /values/<random key> over BENCH_KEYS keys, BENCH_PIPELINE requests per write.
-- Requests are prepared in init: generating them per request would make wrk the bottleneck.
-- report.lua sits beside this script (BENCH_WRK_DIR, which the bench sets, may say otherwise).
dofile((os.getenv("BENCH_WRK_DIR") or debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".") .. "/report.lua")
local keys = tonumber(os.getenv("BENCH_KEYS") or "100000")
local depth = tonumber(os.getenv("BENCH_PIPELINE") or "1")
local pool = {}
local size = 0

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  size = math.max(1024, math.floor(100000 / depth))
  for i = 1, size do
    local parts = {}
    for j = 1, depth do
      parts[j] = wrk.format("GET", string.format("/values/bench:%08d", math.random(1, keys)))
    end
    pool[i] = table.concat(parts)
  end
end

function request()
  return pool[math.random(1, size)]
end
