-- wrk script: one form-encoded POST with HTTP Basic client authentication, repeated.
--
-- bench/run.sh sets the request through the environment, so the same script drives every
-- target and both request shapes:
--   BENCH_BASIC         the Authorization header value, "Basic base64(client_id:secret)"
--   BENCH_BODY          the form-encoded body, already url-encoded
--   BENCH_CHECK_STATUS  "1" to count responses by status in Lua (costs wrk some CPU per
--                       response; by default run.sh reads wrk's own "Non-2xx" line instead)
-- The path comes from the URL given to wrk.

local basic = os.getenv("BENCH_BASIC")
local body = os.getenv("BENCH_BODY")
if basic == nil or body == nil then
  io.stderr:write("form_post.lua: BENCH_BASIC and BENCH_BODY must be set\n")
  os.exit(2)
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = basic
wrk.headers["Accept"] = "application/json"

if os.getenv("BENCH_CHECK_STATUS") == "1" then
  local threads = {}

  function setup(thread)
    table.insert(threads, thread)
  end

  function init(args)
    non200 = 0
    first_bad = ""
  end

  function response(status, headers, resp_body)
    if status ~= 200 then
      non200 = non200 + 1
      if first_bad == "" then
        first_bad = status .. " " .. string.sub(resp_body or "", 1, 200)
      end
    end
  end

  function done(summary, latency, requests)
    local total, example = 0, ""
    for _, t in ipairs(threads) do
      total = total + t:get("non200")
      if example == "" then
        example = t:get("first_bad")
      end
    end
    io.write(string.format("Lua non-200 responses: %d\n", total))
    if example ~= "" then
      io.write("Lua first non-200: " .. example .. "\n")
    end
  end
end
