"""POST /v1/explain of the real mnist-server: the /predict answer of the
same image plus the saliency of a class (gradient x input: on the ink,
positive for the predicted class on most of it) and the feature maps of
every convolution (shapes of the model, bytes that match them); ?class=
by index and by label, ?layers=; KServe's /v1/models/{name}:explain; an
ensemble's saliency is the mean of its members'; every error (400, 401,
404, 405, 413, 415); /metrics counts the route."""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import (Server, check, expect_error, finish, mnist_test, png, predict, request,  # noqa: E402
                     transform)

MODELS = os.path.join(os.environ.get("MNIST_SOURCE_DIR", "."), "models")
digits = mnist_test(20)


def explain(port, body, ctype, query="", headers=None, path="/v1/explain"):
    return request(port, "POST", path + query, body, headers=headers, content_type=ctype)


def image(i, scale=4):
    """MNIST test digit i as dark ink on white, scale x larger, as a PNG."""
    side = 28 * scale
    grey = bytes(255 - v for v in transform(digits[i][0], scale=scale)[2])
    return png(side, side, grey)


srv = Server("--model", os.path.join(MODELS, "mnist-cnn-large.bin"), "--threads", "2")
port = srv.port
PRED_KEYS = {"prediction", "label", "confidence", "probabilities", "verdict", "digit_score"}

# --- the answer: /predict's, plus the explanation
drops = []  # (removing the most salient tenth of the ink, removing the least salient tenth)
for i in range(10):
    body = image(i)
    r = explain(port, body, "image/png")
    if not check(r.status == 200, "digit %d: status %d %r" % (i, r.status, r.body[:200])):
        continue
    j = r.json()
    p = predict(port, body, "image/png", query="?input=1").json()
    check(all(j[k] == p[k] for k in PRED_KEYS), "digit %d: the /predict answer: %r vs %r" %
          (i, {k: j.get(k) for k in PRED_KEYS}, {k: p.get(k) for k in PRED_KEYS}))
    check(j["explained_class"] == j["prediction"] and j["explained_label"] == j["label"],
          "digit %d: the predicted class explained by default" % i)
    check(j["saliency_method"] == "gradient_x_input", "method %r" % j.get("saliency_method"))
    s = j["saliency"]
    if not check(len(s) == 784 and all(isinstance(v, (int, float)) for v in s), "784 saliencies"):
        continue
    ink = p["input"]
    check(all(v == 0 for v, x in zip(s, ink) if x == 0), "digit %d: gradient x input is 0 off the ink" % i)
    # Faithful: the model's own input without its most salient tenth of
    # ink believes its answer less than without its least salient tenth.
    on = sorted((k for k in range(784) if ink[k]), key=lambda k: -s[k])
    tenth = max(1, len(on) // 10)
    probs = []
    for gone in (on[:tenth], on[-tenth:]):
        px = list(ink)
        for k in gone:
            px[k] = 0
        q = predict(port, bytes(px), "application/octet-stream").json()
        probs.append(q["probabilities"][j["prediction"]])
    drops.append((j["confidence"] - probs[0], j["confidence"] - probs[1]))
    maps = j["feature_maps"]
    check([m["name"] for m in maps] == ["conv 32@3x3", "conv 32@3x3", "conv 64@3x3", "conv 64@3x3"],
          "the default model's four convolutions: %r" % [m.get("name") for m in maps])
    check([m["shape"] for m in maps] == [[32, 26, 26], [32, 24, 24], [64, 10, 10], [64, 8, 8]],
          "their shapes %r" % [m.get("shape") for m in maps])
    for m in maps:
        c, h, w = m["shape"]
        data = base64.b64decode(m["data"])
        check(len(data) == c * h * w and len(m["max"]) == c, "%s: %d bytes for %r" % (m["name"], len(data), m["shape"]))
        for ch in range(c):
            plane = data[ch * h * w:(ch + 1) * h * w]
            check(max(plane) == (255 if m["max"][ch] > 0 else 0), "%s channel %d scaled to its maximum" % (m["name"], ch))
top = sum(d[0] for d in drops) / max(len(drops), 1)
bottom = sum(d[1] for d in drops) / max(len(drops), 1)
print("confidence drop: most salient tenth %.3f, least salient %.3f" % (top, bottom))
check(top > bottom + 0.05, "removing the most salient ink drops the confidence by %.3f, the least by %.3f" % (top, bottom))

# --- the maps follow the drawing: another digit, other first-layer maps
a = explain(port, image(0), "image/png", "?layers=0").json()["feature_maps"]
b = explain(port, image(1), "image/png", "?layers=0").json()["feature_maps"]
check(len(a) == 1 and a[0]["index"] == 0 and a[0]["data"] != b[0]["data"], "?layers=0: the first maps, per image")

# --- ?class= by index and by label, ?layers=
body = image(0)  # a 7
r = explain(port, body, "image/png", "?class=1&layers=none")
j = r.json()
check(r.status == 200 and j["explained_class"] == 1 and j["prediction"] == digits[0][1] and j["feature_maps"] == [],
      "?class=1&layers=none: %r" % {k: j.get(k) for k in ("explained_class", "prediction", "feature_maps")})
s7 = explain(port, body, "image/png").json()["saliency"]
check(j["saliency"] != s7, "class 1's saliency is not class 7's")
r = explain(port, body, "image/png", "?class=3&layers=1,3")
check(r.status == 200 and r.json()["explained_class"] == 3 and [m["index"] for m in r.json()["feature_maps"]] == [1, 3],
      "?layers=1,3: %r" % r.body[:200])
for q in ("?class=10", "?class=-1", "?class=seven", "?class=", "?layers=4", "?layers=0,,1", "?layers=x"):
    expect_error("explain%s" % q, explain(port, body, "image/png", q), 400, "bad_request")

# --- the other input forms explain the same image
b64 = base64.b64encode(body).decode()
ref = explain(port, body, "image/png").json()["saliency"]
for what, data, ctype in (("JSON base64", json.dumps({"image": b64}).encode(), "application/json"),
                          ("JSON data URL", json.dumps({"image": "data:image/png;base64," + b64}).encode(),
                           "application/json")):
    r = explain(port, data, ctype)
    check(r.status == 200 and r.json()["saliency"] == ref, "%s: %d" % (what, r.status))
raw = digits[0][0]
r = explain(port, raw, "application/octet-stream")
check(r.status == 200 and r.json()["prediction"] == digits[0][1], "raw 784 bytes: %r" % r.body[:120])

# --- KServe's path
r = explain(port, body, "image/png", path="/v1/models/mnist-cnn-large:explain")
check(r.status == 200 and r.json()["saliency"] == ref, "/v1/models/mnist-cnn-large:explain: %d" % r.status)
expect_error("another model's name", explain(port, body, "image/png", path="/v1/models/resnet:explain"),
             404, "model_not_found")

# --- errors
expect_error("batch", explain(port, json.dumps({"instances": [list(raw), list(raw)]}).encode(), "application/json"),
             400, "bad_request")
expect_error("blank image", explain(port, png(60, 60, bytes([255]) * 3600), "image/png"), 400, "invalid_image")
expect_error("empty body", explain(port, b"", "image/png"), 400, "empty_body")
expect_error("text/plain", explain(port, b"7", "text/plain"), 415, "unsupported_media_type")
expect_error("too many pixels", explain(port, png(5000, 5000, bytes([255]) * 25000000), "image/png"), 413,
             "payload_too_large")
r = request(port, "GET", "/v1/explain")
expect_error("GET /v1/explain", r, 405, "method_not_allowed")
m = request(port, "GET", "/metrics").body.decode()
check('mnist_http_requests_total{route="/v1/explain",status="200"}' in m, "metrics route /v1/explain 200")
srv.stop()

# --- an ensemble's saliency is the mean of its members'
a, b = os.path.join(MODELS, "mnist-cnn.bin"), os.path.join(MODELS, "mnist-cnn-small-s2.bin")
members = []
for path in (a, b):
    srv = Server("--model", path)
    members.append(explain(srv.port, body, "image/png").json())
    srv.stop()
srv = Server("--model", a + "," + b, "--api-key", "s3cret")
expect_error("no key", explain(srv.port, body, "image/png"), 401, "unauthorized")
r = explain(srv.port, body, "image/png", headers={"Authorization": "Bearer s3cret"})
if check(r.status == 200, "ensemble: %d %r" % (r.status, r.body[:200])):
    s = r.json()["saliency"]
    worst = max(abs(v - (x + y) / 2) for v, x, y in zip(s, members[0]["saliency"], members[1]["saliency"]))
    scale = max(abs(v) for v in s)
    check(worst <= 1e-4 * scale + 1e-6, "ensemble saliency = the members' mean (worst %.3g of %.3g)" % (worst, scale))
    check(r.json()["feature_maps"][0]["data"] == members[0]["feature_maps"][0]["data"],
          "an ensemble's feature maps are its first member's")
srv.stop()
finish()
