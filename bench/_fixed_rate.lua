-- wrk script for bench/serve.py: sends the API key; with WRK_RATE set, paces each
-- request on one fixed schedule (WRK_RATE requests/s over all the thread's connections), measured
-- with clock_gettime through LuaJIT's ffi, so slow answers do not lower the offered rate.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } timespec;
int clock_gettime(int clk_id, timespec *tp);
]]
local ts = ffi.new("timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local key = os.getenv("WRK_KEY")
local rate = tonumber(os.getenv("WRK_RATE") or "0")
local interval = 0
local next_at = 0

function init(args)
  wrk.headers["X-API-Key"] = key
  if rate > 0 then -- one schedule for the thread's connections: one slot per request
    interval = 1000 / rate
  end
end

function delay()
  if interval == 0 then return 0 end
  local t = now_ms()
  if next_at == 0 then next_at = t + math.random() * interval end
  next_at = next_at + interval
  local wait = next_at - t
  if wait < 0 then return 0 end
  return wait
end

function done(summary, latency, requests)
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("rps=%.1f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50=%.1f\n", latency:percentile(50)))
  io.write(string.format("p99=%.1f\n", latency:percentile(99)))
  io.write(string.format("non2xx=%d\n", summary.errors.status))
  io.write(string.format("errors=%d\n",
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
