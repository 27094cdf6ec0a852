-- soak_mix.lua: wrk script for bench/soak.sh. Each connection sends a
-- rotating mix of valid /predict requests (raw 784 bytes, PNG, JSON
-- pixels) and invalid ones (broken JSON, a truncated PNG, an unsupported
-- type, an unknown path); it counts what was sent and what came back by
-- status class, so done() can tell whether any request met a 5xx.
local dir = os.getenv("SOAK_DIR")
local function slurp(name)
  local f = assert(io.open(dir .. "/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local raw, png, jpix = slurp("digit.raw"), slurp("digit.png"), slurp("digit.json")
local reqs = {
  {true, wrk.format("POST", "/predict", {["Content-Type"] = "application/octet-stream"}, raw)},
  {true, wrk.format("POST", "/predict", {["Content-Type"] = "image/png"}, png)},
  {true, wrk.format("POST", "/predict?input=1", {["Content-Type"] = "application/json"}, jpix)},
  {true, wrk.format("POST", "/predict", {["Content-Type"] = "image/png"}, png)},
  {false, wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, '{"pixels":[1,2,')},
  {false, wrk.format("POST", "/predict", {["Content-Type"] = "image/png"}, png:sub(1, math.floor(#png / 2)))},
  {false, wrk.format("POST", "/predict", {["Content-Type"] = "text/plain"}, "seven")},
  {false, wrk.format("GET", "/no/such/path", {}, nil)},
}

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local i, sent_valid, sent_invalid = 0, 0, 0
local got = {s2 = 0, s4 = 0, s5 = 0, other = 0}

function request()
  i = i % #reqs + 1
  if reqs[i][1] then sent_valid = sent_valid + 1 else sent_invalid = sent_invalid + 1 end
  return reqs[i][2]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then got.s2 = got.s2 + 1
  elseif status >= 400 and status < 500 then got.s4 = got.s4 + 1
  elseif status >= 500 then got.s5 = got.s5 + 1
  else got.other = got.other + 1 end
  -- publish for done(); cheap enough at this request rate
  sv, si, g2, g4, g5, go = sent_valid, sent_invalid, got.s2, got.s4, got.s5, got.other
end

function done(summary, latency, requests)
  local t = {sv = 0, si = 0, g2 = 0, g4 = 0, g5 = 0, go = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
  end
  io.write(string.format("SOAK sent_valid=%d sent_invalid=%d got_2xx=%d got_4xx=%d got_5xx=%d got_other=%d\n",
    t.sv, t.si, t.g2, t.g4, t.g5, t.go))
  io.write(string.format("SOAK errors connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
  io.write(string.format("SOAK latency_ms p50=%.2f p99=%.2f max=%.2f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
