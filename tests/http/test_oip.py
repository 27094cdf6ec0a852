"""The Open Inference Protocol (v2, REST) of the real mnist-server:
server and model metadata, health and readiness, and inference with JSON
tensors and with the binary tensor data extension, in requests shaped
byte for byte as Triton's Python HTTP client (tritonclient.http, on
geventhttpclient) sends them: compact JSON, no Content-Type,
Inference-Header-Content-Length when binary data follows, parameters
after inputs and outputs, binary_data_output when no output is named.
Answers equal /predict's for the same 28x28; every error is the spec's
{"error": "..."} with its status; the API key; /metrics counts the routes."""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import Conn, Server, check, finish, mnist_test, predict, request  # noqa: E402

MODELS = os.path.join(os.environ.get("MNIST_SOURCE_DIR", "."), "models")
NAME = "mnist-cnn-large"
digits = mnist_test(8)


def dumps(obj):
    """JSON as rapidjson.dumps writes it: no spaces."""
    return json.dumps(obj, separators=(",", ":")).encode()


def triton_infer(port, model, inputs, outputs=None, request_id="", version="", headers=None):
    """POST an inference as tritonclient.http's InferenceServerClient.infer
    does (see _get_inference_request): inputs is a list of (name, shape,
    datatype, raw bytes or None, JSON data or None)."""
    req = {}
    if request_id:
        req["id"] = request_id
    req["inputs"] = []
    blobs = []
    for name, shape, dtype, raw, data in inputs:
        t = {"name": name, "shape": shape, "datatype": dtype}
        if raw is not None:
            t["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            t["data"] = data
        req["inputs"].append(t)
    params = {}
    if outputs:
        req["outputs"] = [{"name": n, "parameters": {"binary_data": b}} for n, b in outputs]
    else:
        params["binary_data_output"] = True
    if params:
        req["parameters"] = params
    js = dumps(req)
    body = js + b"".join(blobs)
    h = {"User-Agent": "python/gevent-http-client-2.0.11"}
    if blobs:
        h["Inference-Header-Content-Length"] = str(len(js))
    if headers:
        h.update(headers)
    path = "/v2/models/%s%s/infer" % (model, "/versions/" + version if version else "")
    c = Conn(port)
    try:
        return c.request("POST", path, body, headers=h)  # no Content-Type, as geventhttpclient
    finally:
        c.close()


def outputs_of(r):
    """{name: (shape, values)} of an answer, JSON or binary."""
    n = int(r.header("inference-header-content-length") or len(r.body))
    head = json.loads(r.body[:n])
    blob = r.body[n:]
    got = {}
    for o in head["outputs"]:
        size = o.get("parameters", {}).get("binary_data_size")
        if size is None:
            got[o["name"]] = (o["shape"], o["data"])
            continue
        fmt = "<%d%s" % (size // (4 if o["datatype"] == "FP32" else 8), "f" if o["datatype"] == "FP32" else "q")
        got[o["name"]] = (o["shape"], list(struct.unpack(fmt, blob[:size])))
        blob = blob[size:]
    check(not blob, "no bytes after the binary outputs (%d)" % len(blob))
    return head, got


def expect_error(what, r, status):
    ok = check(r.status == status, "%s: status %d, expected %d: %r" % (what, r.status, status, r.body[:200]))
    if ok:
        try:
            e = json.loads(r.body)
        except ValueError:
            e = {}
        check(set(e) == {"error"} and isinstance(e["error"], str) and e["error"],
              "%s: the spec's error object: %r" % (what, r.body[:200]))


srv = Server("--model", os.path.join(MODELS, NAME + ".bin"), "--max-batch", "16")
port = srv.port

# --- metadata, health, readiness
r = request(port, "GET", "/v2")
j = r.json()
check(r.status == 200 and j.get("name") == "mnist-server" and "binary_tensor_data" in j.get("extensions", []),
      "GET /v2: %r" % r.body)
check(request(port, "GET", "/v2/health/live").json() == {"live": True}, "live")
check(request(port, "GET", "/v2/health/ready").json() == {"ready": True}, "ready")
for path in ("/v2/models/" + NAME, "/v2/models/%s/versions/1" % NAME):
    r = request(port, "GET", path)
    j = r.json()
    check(r.status == 200 and j["name"] == NAME and j["versions"] == ["1"] and
          j["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 784]}] and
          {o["name"]: o["shape"] for o in j["outputs"]} == {"probabilities": [-1, 10], "prediction": [-1]},
          "%s: %r" % (path, r.body))
for path in ("/v2/models/%s/ready" % NAME, "/v2/models/%s/versions/1/ready" % NAME):
    check(request(port, "GET", path).json() == {"name": NAME, "ready": True}, path)
expect_error("unknown model", request(port, "GET", "/v2/models/resnet50"), 404)
expect_error("unknown version", request(port, "GET", "/v2/models/%s/versions/2" % NAME), 404)
expect_error("unknown model ready", request(port, "GET", "/v2/models/resnet50/ready"), 404)
expect_error("no such /v2 path", request(port, "GET", "/v2/repository"), 404)
expect_error("POST metadata", request(port, "POST", "/v2/models/" + NAME, b"{}"), 405)
expect_error("GET infer", request(port, "GET", "/v2/models/%s/infer" % NAME), 405)

# --- what /predict answers for the same 28x28 (raw bytes: no normalisation)
ref = [predict(port, raw, "application/octet-stream").json() for raw, _ in digits]
batch = b"".join(raw for raw, _ in digits)
N = len(digits)


def same_as_predict(what, got, first=0):
    shape, probs = got["probabilities"]
    pshape, preds = got["prediction"]
    n = len(preds)
    ok = shape == [n, 10] and pshape == [n]
    for i in range(n):
        want = ref[first + i]
        ok = ok and preds[i] == want["prediction"]
        ok = ok and all(abs(a - b) <= 2e-6 * max(1.0, abs(b)) + 1e-9 for a, b in
                        zip(probs[10 * i:10 * i + 10], want["probabilities"]))
    check(ok, "%s: the /predict answers: %r vs %r" % (what, preds, [w["prediction"] for w in ref[first:first + n]]))


# Triton's client by default: binary input, every output binary.
fp32 = struct.pack("<%df" % (784 * N), *[b / 255.0 for b in batch])
r = triton_infer(port, NAME, [("input", [N, 784], "FP32", fp32, None)])
if check(r.status == 200 and r.header("inference-header-content-length"),
         "binary FP32: %d %r" % (r.status, r.body[:200])):
    check(r.header("content-type") == "application/octet-stream", "binary answer type %r" % r.header("content-type"))
    head, got = outputs_of(r)
    check(head["model_name"] == NAME and head["model_version"] == "1" and "id" not in head, "answer head %r" % head)
    same_as_predict("binary FP32 [N,784]", got)
# UINT8 in [N,1,28,28], binary, JSON outputs, an id.
r = triton_infer(port, NAME, [("input", [N, 1, 28, 28], "UINT8", batch, None)],
                 outputs=[("prediction", False), ("probabilities", False)], request_id="req-42", version="1")
if check(r.status == 200 and not r.header("inference-header-content-length"),
         "binary UINT8, JSON outputs: %d %r" % (r.status, r.body[:200])):
    head, got = outputs_of(r)
    check(head.get("id") == "req-42", "the request's id comes back: %r" % head.get("id"))
    check([o["name"] for o in head["outputs"]] == ["probabilities", "prediction"], "outputs in the model's order")
    same_as_predict("binary UINT8 [N,1,28,28]", got)
# JSON data, [N,28,28] nested as rows, one output, binary.
rows = [[list(raw[28 * y:28 * y + 28]) for y in range(28)] for raw, _ in digits[:2]]
r = triton_infer(port, NAME, [("input", [2, 28, 28], "UINT8", None, rows)], outputs=[("probabilities", True)])
if check(r.status == 200, "JSON UINT8 rows: %d %r" % (r.status, r.body[:200])):
    head, got = outputs_of(r)
    check(list(got) == ["probabilities"], "only the requested output: %r" % list(got))
    got["prediction"] = ([2], [max(range(10), key=lambda k: got["probabilities"][1][10 * i + k]) for i in range(2)])
    same_as_predict("JSON [N,28,28]", got)
# Plain JSON, as curl users send it: a Content-Type, flat FP32 data.
body = dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                          "data": [b / 255.0 for b in digits[3][0]]}]})
r = request(port, "POST", "/v2/models/%s/infer" % NAME, body, content_type="application/json")
if check(r.status == 200 and r.header("content-type") == "application/json", "plain JSON: %d %r" % (r.status, r.body[:200])):
    head, got = outputs_of(r)
    same_as_predict("plain JSON", got, first=3)

# --- errors, in the spec's form
one = digits[0][0]
bad = [
    ("not JSON", b"{inputs", {}),
    ("no inputs", dumps({"outputs": []}), {}),
    ("two inputs", dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8", "data": list(one)}] * 2}), {}),
    ("unknown input", dumps({"inputs": [{"name": "x", "shape": [1, 784], "datatype": "UINT8", "data": list(one)}]}), {}),
    ("datatype", dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "INT8", "data": list(one)}]}), {}),
    ("shape", dumps({"inputs": [{"name": "input", "shape": [1, 783], "datatype": "UINT8", "data": list(one)[:783]}]}), {}),
    ("count", dumps({"inputs": [{"name": "input", "shape": [2, 784], "datatype": "UINT8", "data": list(one)}]}), {}),
    ("UINT8 over 255", dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8", "data": [256] * 784}]}), {}),
    ("a string in data", dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": ["x"] * 784}]}), {}),
    ("unknown output", dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8", "data": list(one)}],
                              "outputs": [{"name": "logits"}]}), {}),
    ("binary size", dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8",
                                       "parameters": {"binary_data_size": 100}}]}) + one, None),
    ("header past the body", b"{}", {"Inference-Header-Content-Length": "99"}),
    ("header not a number", b"{}", {"Inference-Header-Content-Length": "x"}),
]
for what, body, h in bad:
    if h is None:  # the header counts the JSON
        h = {"Inference-Header-Content-Length": str(len(body) - len(one))}
    r = request(port, "POST", "/v2/models/%s/infer" % NAME, body, headers=h)
    expect_error(what, r, 400)
big = dumps({"inputs": [{"name": "input", "shape": [17, 784], "datatype": "UINT8", "data": list(one) * 17}]})
expect_error("batch over --max-batch", request(port, "POST", "/v2/models/%s/infer" % NAME, big), 413)
expect_error("infer an unknown model", triton_infer(port, "resnet50", [("input", [1, 784], "UINT8", one, None)]), 404)

m = request(port, "GET", "/metrics").body.decode()
check('mnist_http_requests_total{route="/v2/models/infer",status="200"}' in m, "metrics: /v2 infer 200")
check('mnist_http_requests_total{route="/v2/models/infer",status="400"}' in m, "metrics: /v2 infer 400")
check('mnist_http_requests_total{route="/v2",status="200"}' in m, "metrics: /v2 metadata 200")
srv.stop()

# --- the API key guards inference and model metadata, not the probes
srv = Server("--model", os.path.join(MODELS, NAME + ".bin"), "--api-key", "s3cret")
expect_error("infer without the key", triton_infer(srv.port, NAME, [("input", [1, 784], "UINT8", one, None)]), 401)
expect_error("metadata without the key", request(srv.port, "GET", "/v2/models/" + NAME), 401)
check(request(srv.port, "GET", "/v2/health/ready").status == 200, "readiness needs no key")
r = triton_infer(srv.port, NAME, [("input", [1, 784], "UINT8", one, None)], headers={"Authorization": "Bearer s3cret"})
check(r.status == 200, "with the key: %d" % r.status)
srv.stop()
finish()
