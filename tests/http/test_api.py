"""HTTP contract of mnist-server, route by route (API.md): health,
readiness, metrics, /v1/model, the page, 404/405/OPTIONS, every error code
of POST /predict, the API key, CORS and the access log."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import (SOURCE, Conn, Server, check, finish, mnist_test, png, predict, request)  # noqa: E402

digits = mnist_test(20)
raw7, label7 = digits[0]

srv = Server("--max-body", "200000", "--max-pixels", "1000000", "--max-batch", "4")
port = srv.port

# --- health, readiness
r = request(port, "GET", "/healthz")
check(r.status == 200 and r.json() == {"status": "ok"}, "healthz: %d %r" % (r.status, r.body))
check(r.header("content-type").startswith("application/json"), "healthz content type")
r = request(port, "GET", "/readyz")
check(r.status == 200 and r.json() == {"status": "ready"}, "readyz: %d %r" % (r.status, r.body))
r = request(port, "HEAD", "/healthz")
check(r.status == 200 and r.body == b"", "HEAD healthz")

# --- the page
r = request(port, "GET", "/")
check(r.status in (200, 404), "GET / answers 200 (page built in) or 404 (not built in)")
if r.status == 200:
    check(r.header("content-type").startswith("text/html"), "GET / is text/html")
    check(b"<html" in r.body.lower() or b"<!doctype html" in r.body.lower(), "GET / is a page")
else:
    check(r.json()["error"]["code"] == "not_found", "GET / without page: not_found error")

# --- /v1/model
r = request(port, "GET", "/v1/model")
check(r.status == 200, "v1/model status %d" % r.status)
m = r.json()
check(m.get("name") == "mnist-cnn", "model name %r" % m.get("name"))
check(isinstance(m.get("version"), str) and len(m["version"]) == 8, "model version %r" % m.get("version"))
check(isinstance(m.get("parameters"), int) and m["parameters"] > 1000, "parameter count")
arch = m.get("architecture") or {}
check(arch.get("input") == [1, 28, 28], "architecture input shape")
layers = arch.get("layers") or []
check(len(layers) >= 3 and layers[-1]["type"] == "softmax", "architecture layers")
check(all("output" in l and "parameters" in l for l in layers), "every layer has shape and params")
check(sum(l["parameters"] for l in layers) == m["parameters"], "layer params add up")
check(m.get("labels") == [str(i) for i in range(10)], "labels %r" % m.get("labels"))
check(m.get("input", {}).get("shape") == [1, 28, 28], "input spec")
check("application/json" in m.get("input", {}).get("content_types", []), "input content types")
check("recipe" in m and "test_accuracy" in m, "recipe and test accuracy present")
check(m.get("test_accuracy") is None or 0 < m["test_accuracy"] <= 1, "test accuracy value")

# --- a prediction, and the version agrees with /v1/model
r = predict(port, raw7, "application/octet-stream")
check(r.status == 200, "raw predict %d %r" % (r.status, r.body[:200]))
p = r.json()
check(p["prediction"] == label7, "raw digit predicted %d, label %d" % (p["prediction"], label7))
check(len(p["probabilities"]) == 10 and abs(sum(p["probabilities"]) - 1) < 1e-3, "probabilities sum to 1")
check(p["probabilities"].index(max(p["probabilities"])) == p["prediction"], "prediction is argmax")
check(p["confidence"] == max(p["probabilities"]), "confidence is the max")
check(p["model"] == {"name": m["name"], "version": m["version"]}, "model in answer %r" % p["model"])
check(isinstance(p["elapsed_ms"], (int, float)) and p["elapsed_ms"] >= 0, "elapsed_ms")
check("input" not in p, "no input without ?input=1")
# what the answer says about its input (API.md): every answer has a verdict
check(p.get("verdict") in ("digit", "unsure", "not_a_digit", "several_digits"), "verdict %r" % p.get("verdict"))
check(isinstance(p.get("digit_score"), (int, float)) and 0 <= p["digit_score"] <= 1,
      "digit_score %r" % p.get("digit_score"))
cal, ver = m.get("calibration"), m.get("verdict") or {}
check(cal is None or (cal.get("method") == "temperature" and all(t > 0 for t in cal.get("temperature", [0]))),
      "calibration in /v1/model: %r" % cal)
check(all(isinstance(ver.get(k), (int, float)) and 0 <= ver[k] <= 1 for k in ("not_a_digit_below", "unsure_below")),
      "verdict thresholds in /v1/model: %r" % ver)
want = ("not_a_digit" if p["digit_score"] < ver.get("not_a_digit_below", 0)
        else "unsure" if p["confidence"] < ver.get("unsure_below", 0) else "digit")
check(p["verdict"] == want, "verdict %r follows the reported thresholds (%r)" % (p["verdict"], want))

# --- 404, 405 with Allow, OPTIONS
r = request(port, "GET", "/nope")
check(r.status == 404 and r.json()["error"]["code"] == "not_found", "404 %d" % r.status)
check(r.json()["error"]["status"] == 404 and "/nope" in r.json()["error"]["message"], "404 message")
r = request(port, "POST", "/nope", b"x", content_type="text/plain")
check(r.status == 404, "POST unknown path 404")
r = request(port, "GET", "/predict")
check(r.status == 405 and r.json()["error"]["code"] == "method_not_allowed", "GET /predict 405")
check("POST" in (r.header("allow") or ""), "405 Allow header %r" % r.header("allow"))
r = request(port, "POST", "/healthz", b"{}", content_type="application/json")
check(r.status == 405 and "GET" in (r.header("allow") or ""), "POST /healthz 405 + Allow")
r = request(port, "DELETE", "/metrics")
check(r.status == 405, "DELETE /metrics 405")
r = request(port, "OPTIONS", "/predict")
check(r.status == 204 and "POST" in (r.header("allow") or ""), "OPTIONS /predict 204 + Allow")
check(r.header("access-control-allow-origin") is None, "no CORS headers when not configured")


def err_of(r):
    try:
        e = r.json()["error"]
        return e["status"], e["code"], e["message"]
    except Exception:
        return None, None, r.body[:200]


# --- every error code of /predict
st, code, msg = err_of(predict(port, b"", "application/octet-stream"))
check((st, code) == (400, "empty_body"), "empty body: %r %r %r" % (st, code, msg))
st, code, msg = err_of(predict(port, b"\x00" * 100, "application/octet-stream"))
check((st, code) == (400, "invalid_pixels") and "784" in msg and "100" in msg, "short raw: %r" % msg)
st, code, msg = err_of(predict(port, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"))
check((st, code) == (400, "invalid_image") and "PNG" in msg, "bad PNG: %r %r" % (code, msg))
st, code, msg = err_of(predict(port, b"hello world", "image/png"))
check((st, code) == (400, "invalid_image") and "unrecognised" in msg, "not an image: %r" % msg)
st, code, msg = err_of(predict(port, b'{"pixels": [1, 2', "application/json"))
check((st, code) == (400, "invalid_json") and "byte" in msg, "bad JSON: %r" % msg)
st, code, msg = err_of(predict(port, b'{"pixels": [1, 2, 3]}', "application/json"))
check((st, code) == (400, "invalid_pixels") and "784" in msg, "3 pixels: %r" % msg)
bad = [0] * 784
bad[5] = 300
st, code, msg = err_of(predict(port, json.dumps({"pixels": bad}).encode(), "application/json"))
check((st, code) == (400, "invalid_pixels") and "pixels[5]" in msg and "300" in msg, "300: %r" % msg)
bad[5] = "x"
st, code, msg = err_of(predict(port, json.dumps({"pixels": bad}).encode(), "application/json"))
check((st, code) == (400, "invalid_pixels") and "string" in msg, "string pixel: %r" % msg)
rows = [[0] * 28 for _ in range(28)]
rows[3] = [0] * 27
st, code, msg = err_of(predict(port, json.dumps({"pixels": rows}).encode(), "application/json"))
check((st, code) == (400, "invalid_pixels") and "pixels[3]" in msg, "short row: %r" % msg)
st, code, msg = err_of(predict(port, b'{"foo": 1}', "application/json"))
check((st, code) == (400, "bad_request") and "pixels" in msg, "no known key: %r" % msg)
st, code, msg = err_of(predict(port, b'[1, 2]', "application/json"))
check((st, code) == (400, "bad_request"), "JSON array body: %r" % msg)
st, code, msg = err_of(predict(port, b'{"image": "!!!notbase64"}', "application/json"))
check((st, code) == (400, "invalid_image") and "base64" in msg, "bad base64: %r" % msg)
st, code, msg = err_of(predict(port, b'{"image": "data:image/png,abc"}', "application/json"))
check((st, code) == (400, "invalid_image") and "base64" in msg, "non-base64 data URL: %r" % msg)
st, code, msg = err_of(predict(port, b'{"instances": []}', "application/json"))
check((st, code) == (400, "bad_request") and "empty" in msg, "empty batch: %r" % msg)
body = json.dumps({"instances": [list(raw7)] * 5}).encode()
st, code, msg = err_of(predict(port, body, "application/json"))
check((st, code) == (413, "payload_too_large") and "5" in msg and "4" in msg, "batch over limit: %r" % msg)
body = json.dumps({"instances": [list(raw7), [1, 2]]}).encode()
st, code, msg = err_of(predict(port, body, "application/json"))
check((st, code) == (400, "invalid_pixels") and "instances[1]" in msg, "bad batch item: %r" % msg)
st, code, msg = err_of(predict(port, b"--x\r\n\r\n", "multipart/form-data"))
check((st, code) == (400, "invalid_multipart") and "boundary" in msg, "multipart no boundary: %r" % msg)
st, code, msg = err_of(predict(port, b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--\r\n",
                              "multipart/form-data; boundary=b"))
check((st, code) == (400, "invalid_multipart") and "image" in msg, "multipart no file: %r" % msg)
st, code, msg = err_of(predict(port, b"x", "text/plain"))
check((st, code) == (415, "unsupported_media_type") and "image/png" in msg and "application/json" in msg,
      "415 lists accepted types: %r" % msg)
st, code, msg = err_of(request(port, "POST", "/predict", b"x"))
check((st, code) == (415, "unsupported_media_type") and "missing" in msg, "no content type: %r" % msg)
st, code, msg = err_of(predict(port, b"\x00" * 200001, "application/octet-stream"))
check((st, code) == (413, "payload_too_large") and "200000" in msg, "413 body: %r" % msg)
big = png(1001, 1000, b"\x00" * (1001 * 1000))
st, code, msg = err_of(predict(port, big, "image/png"))
check((st, code) == (413, "payload_too_large") and "1001x1000" in msg, "413 pixels: %r" % msg)
blank = png(50, 50, b"\xff" * 2500)
st, code, msg = err_of(predict(port, blank, "image/png"))
check((st, code) == (400, "invalid_image") and "no ink" in msg, "blank image: %r %r" % (code, msg))
st, code, msg = err_of(predict(port, raw7, "application/octet-stream", "?preprocess=weird"))
check((st, code) == (400, "bad_request") and "preprocess" in msg, "bad preprocess: %r" % msg)
st, code, msg = err_of(predict(port, raw7, "application/octet-stream", "?input=maybe"))
check((st, code) == (400, "bad_request") and "input" in msg, "bad input flag: %r" % msg)

# --- keep-alive survives errors on one connection
c = Conn(port)
r1 = c.request("POST", "/predict", b"garbage", content_type="image/png")
r2 = c.request("POST", "/predict", raw7, content_type="application/octet-stream")
r3 = c.request("POST", "/predict", b"{", content_type="application/json")
r4 = c.request("GET", "/healthz")
c.close()
check((r1.status, r2.status, r3.status, r4.status) == (400, 200, 400, 200),
      "keep-alive after errors: %r" % ((r1.status, r2.status, r3.status, r4.status),))

# --- metrics
r = request(port, "GET", "/metrics")
check(r.status == 200 and r.header("content-type").startswith("text/plain; version=0.0.4"),
      "metrics content type %r" % r.header("content-type"))
t = r.body.decode()
check('mnist_http_requests_total{route="/predict",status="200"}' in t, "requests by route+status")
check('mnist_http_requests_total{route="/predict",status="400"}' in t, "400s counted")
check('mnist_http_requests_total{route="other",status="404"}' in t, "404s counted")
check('mnist_http_request_duration_seconds_bucket{route="/predict",le="+Inf"}' in t, "latency histogram")
check('mnist_predictions_total{class="%d"' % label7 in t, "predictions by class")
check(sum(int(l.rsplit(" ", 1)[1]) for l in t.splitlines() if l.startswith("mnist_verdicts_total{")) > 0,
      "verdicts counted")
check("mnist_http_requests_in_flight 1" in t, "in-flight gauge (this request)")
check('mnist_model_info{name="mnist-cnn",version="%s"' % m["version"] in t, "model info")
rss = [l for l in t.splitlines() if l.startswith("process_resident_memory_bytes ")]
check(len(rss) == 1 and int(rss[0].split()[1]) > 1000000, "process RSS %r" % rss)
bad_lines = []
for line in t.splitlines():
    if line and not line.startswith("#"):
        name_labels, _, value = line.rpartition(" ")
        try:
            float(value)
        except ValueError:
            bad_lines.append(line)
        if not name_labels:
            bad_lines.append(line)
check(not bad_lines, "every metrics sample line parses: %r" % bad_lines[:3])

# --- access log (text): one line a request with method, path, status, bytes, duration
check(srv.stop() == 0, "server exits 0 on SIGTERM")
log = [l for l in srv.stdout().splitlines() if " /predict " in l]
check(len(log) > 20, "access log has the predict lines (%d)" % len(log))
check(any(" POST /predict 200 " in l and l.endswith("ms") for l in log), "text log line format: %r" % log[:1])

# --- API key, CORS, JSON log
srv = Server("--api-key", "s3cret", "--cors-origin", "https://example.org", "--log-format", "json")
port = srv.port
st, code, msg = err_of(predict(port, raw7, "application/octet-stream"))
check((st, code) == (401, "unauthorized"), "no key: 401 %r" % code)
r = request(port, "POST", "/predict", raw7, {"Authorization": "Bearer wrong"}, "application/octet-stream")
check(r.status == 401 and "bearer" in (r.header("www-authenticate") or "").lower(), "wrong key 401")
r = request(port, "POST", "/predict", raw7, {"Authorization": "Bearer s3cret"}, "application/octet-stream")
check(r.status == 200 and r.json()["prediction"] == label7, "right key 200")
check(r.header("access-control-allow-origin") == "https://example.org", "CORS origin on answers")
r = request(port, "GET", "/v1/model")
check(r.status == 401, "v1/model needs the key")
r = request(port, "GET", "/v1/model", headers={"Authorization": "Bearer s3cret"})
check(r.status == 200, "v1/model with key")
for path in ("/healthz", "/readyz", "/metrics"):
    check(request(port, "GET", path).status == 200, "%s stays open with an API key" % path)
r = request(port, "GET", "/")
check(r.status != 401, "/ stays open with an API key")
# the OpenAPI document this suite checks every answer against, served as is
r = request(port, "GET", "/openapi.json")
kept = open(os.path.join(SOURCE, "web", "openapi.json"), "rb").read()
check(r.status == 200 and r.header("content-type") == "application/json" and r.body == kept and
      json.loads(r.body)["openapi"] == "3.1.0", "GET /openapi.json: %d, %d bytes" % (r.status, len(r.body)))
r = request(port, "OPTIONS", "/predict", headers={"Origin": "https://example.org",
                                                  "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "content-type"})
check(r.status == 204, "preflight 204 without a key")
check(r.header("access-control-allow-origin") == "https://example.org", "preflight origin")
check("POST" in (r.header("access-control-allow-methods") or ""), "preflight methods")
check("content-type" in (r.header("access-control-allow-headers") or "").lower(), "preflight headers")
check(srv.stop() == 0, "exit 0")
lines = [l for l in srv.stdout().splitlines() if l.startswith("{")]
try:
    entries = [json.loads(l) for l in lines]
except ValueError:
    entries = []
check(len(entries) >= 8 and len(entries) == len(lines), "json log lines parse (%d)" % len(lines))
e = [x for x in entries if x.get("path") == "/predict" and x.get("status") == 200]
check(len(e) == 1 and e[0]["method"] == "POST" and e[0]["bytes"] > 0 and "duration_ms" in e[0]
      and "time" in e[0], "json log entry %r" % (e[:1],))

finish()
