-- feedback_post.lua: wrk request of bench/feedback_rate.sh: POST
-- /v1/feedback with a drawn ring (a zero) as 784 pixels, labelled 0, and
-- what the user was shown. Counts the answers by status.
local px = {}
for y = 0, 27 do
  for x = 0, 27 do
    local r2 = (x - 13.5) ^ 2 + (y - 13.5) ^ 2
    px[#px + 1] = ((r2 > 36 and r2 < 81) and "255" or "0")
  end
end
wrk.method = "POST"
wrk.path = "/v1/feedback"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"pixels":[' .. table.concat(px, ",") .. '],"label":0,"prediction":6,"version":"bench"}'

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  created, other = 0, 0
end
function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  io.write(string.format("created %d other %d\n", c, o))
end
