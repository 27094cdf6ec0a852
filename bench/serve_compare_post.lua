-- serve_compare_post.lua: wrk request of the serving comparison: POST
-- /predict with a raw 784-byte 28x28 image (a ring, like a drawn zero).
local px = {}
for y = 0, 27 do
  for x = 0, 27 do
    local r2 = (x - 13.5) ^ 2 + (y - 13.5) ^ 2
    px[#px + 1] = string.char((r2 > 36 and r2 < 81) and 255 or 0)
  end
end
wrk.method = "POST"
wrk.path = "/predict"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = table.concat(px)
