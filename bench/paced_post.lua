-- wrk script: the requests of form_post.lua, paced to a fixed total rate (wrk2 is not in
-- Debian). Each wrk thread owns a schedule of send slots BENCH_THREADS * 1e6 / BENCH_RATE
-- microseconds apart; before every request `delay()` waits for the thread's next free slot.
-- wrk takes delays in whole milliseconds, so a request may leave up to 1 ms before its slot,
-- but slots are used once each, so the achieved rate never exceeds BENCH_RATE on average. A
-- thread that falls behind (the server is slower than the rate) does not burst to catch up:
-- its schedule restarts from now.
--
-- Latency is wrk's: from the request's write to its response. Unlike wrk2 there is no
-- correction for coordinated omission; at half of peak load queues stay short, which is the
-- point of the run.
--
--   BENCH_BASIC, BENCH_BODY  as for form_post.lua
--   BENCH_RATE               requests per second, all threads together
--   BENCH_THREADS            wrk's -t
--   BENCH_TOKENS             optional: a file of tokens, one a line; then the body is
--                            "token=<next token>" (round robin, a different start per thread)

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1e6 + tonumber(tv.tv_usec)
end

local basic = os.getenv("BENCH_BASIC")
local body = os.getenv("BENCH_BODY")
local rate = tonumber(os.getenv("BENCH_RATE") or "")
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
local token_file = os.getenv("BENCH_TOKENS")
if token_file == "" then
  token_file = nil
end
if basic == nil or rate == nil or rate <= 0 or (body == nil and token_file == nil) then
  io.stderr:write("paced_post.lua: BENCH_BASIC, BENCH_RATE and BENCH_BODY or BENCH_TOKENS must be set\n")
  os.exit(2)
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = basic
wrk.headers["Accept"] = "application/json"

local thread_index = 0
function setup(thread)
  thread:set("index", thread_index)
  thread_index = thread_index + 1
end

local interval = threads * 1e6 / rate
local next_slot = 0
local bodies = nil
local cursor = 0

function init(args)
  next_slot = now_us()
  if token_file ~= nil then
    bodies = {}
    for line in io.lines(token_file) do
      if line ~= "" then
        -- Tokens are base62 and "_": nothing to url-encode.
        table.insert(bodies, "token=" .. line)
      end
    end
    cursor = (tonumber(index) or 0) * 7919 % #bodies
  end
end

function delay()
  local now = now_us()
  if next_slot < now - interval then
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + interval
  if wait <= 0 then
    return 0
  end
  return math.floor(wait / 1000)
end

if token_file ~= nil then
  function request()
    cursor = cursor % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[cursor])
  end
end
