-- serve_oip_json.lua: wrk request of the serving comparison's Open
-- Inference Protocol run: POST /v2/models/NAME/infer (NAME from the
-- OIP_MODEL environment variable) with the same ring as
-- serve_compare_post.lua as a JSON UINT8 tensor [1,784].
local px = {}
for y = 0, 27 do
  for x = 0, 27 do
    local r2 = (x - 13.5) ^ 2 + (y - 13.5) ^ 2
    px[#px + 1] = (r2 > 36 and r2 < 81) and "255" or "0"
  end
end
wrk.method = "POST"
wrk.path = "/v2/models/" .. (os.getenv("OIP_MODEL") or "mnist-cnn") .. "/infer"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"input","shape":[1,784],"datatype":"UINT8","data":[' ..
  table.concat(px, ",") .. ']}]}'
