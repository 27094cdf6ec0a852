-- serve_oip_binary.lua: the same inference with the binary tensor data
-- extension, as Triton's client sends it: the JSON header, then the 784
-- bytes, Inference-Header-Content-Length saying where the JSON ends, and
-- the outputs asked back as binary data.
local px = {}
for y = 0, 27 do
  for x = 0, 27 do
    local r2 = (x - 13.5) ^ 2 + (y - 13.5) ^ 2
    px[#px + 1] = string.char((r2 > 36 and r2 < 81) and 255 or 0)
  end
end
local h = '{"inputs":[{"name":"input","shape":[1,784],"datatype":"UINT8",' ..
  '"parameters":{"binary_data_size":784}}],"parameters":{"binary_data_output":true}}'
wrk.method = "POST"
wrk.path = "/v2/models/" .. (os.getenv("OIP_MODEL") or "mnist-cnn") .. "/infer"
wrk.headers["Inference-Header-Content-Length"] = tostring(#h)
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = h .. table.concat(px)
