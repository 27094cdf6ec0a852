"""POST /v1/read of the real mnist-server (API.md): numbers made of MNIST
test digits side by side (PNG, JPEG, JSON base64 and data URL, multipart)
read left to right with boxes where the digits were drawn; raw bytes and
pixels as one digit; every error (400, 401, 405, 413, 415); --max-digits
and MNIST_MAX_DIGITS; the answer's shape and its /metrics route."""

import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import (SERVER, Server, check, expect_error, finish, jpeg, mnist_test, multipart, png,  # noqa: E402
                     request, transform)

SCALE = 3
digits = mnist_test(60)


def number(idx, gaps, dy):
    """Dark ink on white: digits[idx] scaled by SCALE side by side, gaps[i]
    pixels after digit i, digit i shifted down dy[i]. Returns (w, h, grey,
    text, ink boxes)."""
    side = 28 * SCALE
    cells = [transform(digits[i][0], scale=SCALE)[2] for i in idx]
    w = 20 + sum(side + g for g in gaps[:len(idx) - 1]) + side + 20
    h = side + 40
    img = bytearray(w * h)
    boxes = []
    x = 20
    for k, cell in enumerate(cells):
        y = 20 + dy[k]
        xs = [i % side for i, v in enumerate(cell) if v > 64]
        ys = [i // side for i, v in enumerate(cell) if v > 64]
        boxes.append((x + min(xs), y + min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1))
        for j in range(side):
            row = cell[j * side:(j + 1) * side]
            o = (y + j) * w + x
            img[o:o + side] = bytes(max(a, b) for a, b in zip(img[o:o + side], row))
        x += side + (gaps[k] if k < len(gaps) else 0)
    text = "".join(str(digits[i][1]) for i in idx)
    return w, h, bytes(255 - v for v in img), text, boxes


def read(port, body, ctype, headers=None, query=""):
    return request(port, "POST", "/v1/read" + query, body, headers=headers, content_type=ctype)


srv = Server("--max-digits", "5", "--max-pixels", "4000000", "--threads", "2")
port = srv.port

# --- numbers of 2-5 digits, in order, boxed where they were drawn
exact = 0
cases = [([0, 1], [10], [0, 0]), ([2, 3, 4], [4, 30, 0], [6, 0, 10]),
         ([5, 6, 7, 8], [12, 6, 20], [0, 8, 3, 0]), ([9, 10, 11, 12, 13], [8, 8, 8, 8], [0, 4, 8, 4, 0]),
         ([14, 15, 16], [25, 5], [10, 0, 5]), ([17, 18], [3], [0, 9]),
         ([19, 20, 21, 22], [15, 15, 15], [2, 2, 2, 2]), ([23, 24, 25, 26, 27], [5, 20, 5, 20], [0, 0, 9, 9, 0]),
         ([28, 29, 30], [9, 9], [4, 4, 4]), ([31, 32, 33, 34], [6, 7, 8, 9], [8, 0, 8, 0])]
for n, (idx, gaps, dy) in enumerate(cases):
    w, h, grey, text, boxes = number(idx, gaps, dy)
    r = read(port, png(w, h, grey), "image/png")
    if not check(r.status == 200, "number %d: status %d %r" % (n, r.status, r.body[:200])):
        continue
    j = r.json()
    got = j.get("text", "")
    check(len(got) == len(text) and len(j["digits"]) == len(text),
          "number %d: %d digits read (%r), %d drawn (%s)" % (n, len(got), got, len(text), text))
    exact += got == text
    if len(j["digits"]) == len(text):
        for k, (d, b) in enumerate(zip(j["digits"], boxes)):
            got_b = d.get("box")
            check(isinstance(got_b, list) and len(got_b) == 4 and
                  all(abs(got_b[i] - b[i]) <= 2 * SCALE for i in range(4)),
                  "number %d digit %d: box %r, drawn %r" % (n, k, got_b, b))
        xs = [d["box"][0] for d in j["digits"]]
        check(xs == sorted(xs), "number %d: digits left to right: %r" % (n, xs))
check(exact >= 9, "exact text on %d of %d numbers" % (exact, len(cases)))

# --- the answer's shape
w, h, grey, text, boxes = number([0, 1, 2], [12, 12], [0, 0, 0])
r = read(port, png(w, h, grey), "image/png")
j = r.json()
check(set(j) == {"text", "digits", "model", "elapsed_ms"}, "read answer keys %r" % sorted(j))
check(isinstance(j["elapsed_ms"], (int, float)) and j["elapsed_ms"] >= 0, "elapsed_ms")
check(set(j["model"]) == {"name", "version"}, "model %r" % j["model"])
for d in j["digits"]:
    check(isinstance(d.get("prediction"), int) and str(d["prediction"]) == d.get("label"), "prediction and label %r" % d)
    p = d.get("probabilities", [])
    check(len(p) == 10 and abs(sum(p) - 1) < 1e-3 and d["confidence"] == max(p), "probabilities of a digit")
    check(all(isinstance(v, int) and v >= 0 for v in d["box"]), "box of integers %r" % d["box"])
    check("input" not in d, "no input without ?input=1")
check(j["text"] == "".join(str(d["prediction"]) for d in j["digits"]), "text is the predictions")
r = read(port, png(w, h, grey), "image/png", query="?input=1")
check(r.status == 200 and all(len(d.get("input", [])) == 784 for d in r.json()["digits"]),
      "?input=1 gives each digit's 28x28")

# --- the other input forms read the same number
base = j["text"]
b64 = base64.b64encode(png(w, h, grey)).decode()
for what, body, ctype in (
        ("JSON base64", json.dumps({"image": b64}).encode(), "application/json"),
        ("JSON data URL", json.dumps({"image": "data:image/png;base64," + b64}).encode(), "application/json"),
        ("JPEG", jpeg(w, h, grey, quality=95), "image/jpeg")):
    r = read(port, body, ctype)
    check(r.status == 200 and r.json().get("text") == base, "%s: %d %r" % (what, r.status, r.body[:120]))
body, ctype = multipart([("image", "n.png", "image/png", png(w, h, grey))])
r = read(port, body, ctype)
check(r.status == 200 and r.json().get("text") == base, "multipart: %d %r" % (r.status, r.body[:120]))

# --- raw 784 bytes and pixels: one 28x28 digit
raw, label = digits[0]
r = read(port, raw, "application/octet-stream")
check(r.status == 200 and r.json()["text"] == str(label) and r.json()["digits"][0]["box"] == [0, 0, 28, 28],
      "raw 784 bytes: one digit: %r" % r.body[:200])
r = read(port, json.dumps({"pixels": list(raw)}).encode(), "application/json")
check(r.status == 200 and r.json()["text"] == str(label), "pixels: one digit: %r" % r.body[:200])

# --- errors
expect_error("batch", read(port, json.dumps({"instances": [list(raw), list(raw)]}).encode(),
                           "application/json"), 400, "bad_request")
expect_error("blank image", read(port, png(200, 80, bytes([255]) * 16000), "image/png"), 400, "invalid_image")
expect_error("empty body", read(port, b"", "image/png"), 400, "empty_body")
expect_error("not an image", read(port, b"hello", "image/png"), 400, "invalid_image")
w6, h6, grey6, _, _ = number([0, 1, 2, 3, 4, 5], [10] * 5, [0] * 6)
expect_error("6 digits over --max-digits 5", read(port, png(w6, h6, grey6), "image/png"), 413,
             "payload_too_large")
expect_error("text/plain", read(port, b"12", "text/plain"), 415, "unsupported_media_type")
expect_error("no Content-Type", read(port, b"12", None), 415, "unsupported_media_type")
r = request(port, "GET", "/v1/read")
expect_error("GET /v1/read", r, 405, "method_not_allowed")
check("POST" in (r.header("allow") or ""), "405 Allow header %r" % r.header("allow"))
expect_error("/v1/reads", request(port, "POST", "/v1/reads", b"x", content_type="image/png"), 404, "not_found")

# --- /metrics counts the route on its own
m = request(port, "GET", "/metrics").body.decode()
check('mnist_http_requests_total{route="/v1/read",status="200"}' in m, "metrics route /v1/read 200")
check('mnist_http_requests_total{route="/v1/read",status="413"} 1' in m, "metrics route /v1/read 413")
srv.stop()

# --- the API key, and MNIST_MAX_DIGITS
srv = Server("--api-key", "s3cret", env={"MNIST_MAX_DIGITS": "2"})
w3, h3, grey3, _, _ = number([0, 1, 2], [10, 10], [0, 0, 0])
expect_error("no key", read(srv.port, png(w3, h3, grey3), "image/png"), 401, "unauthorized")
expect_error("3 digits over MNIST_MAX_DIGITS 2",
             read(srv.port, png(w3, h3, grey3), "image/png", headers={"Authorization": "Bearer s3cret"}),
             413, "payload_too_large")
w2, h2, grey2, _, _ = number([0, 1], [10], [0, 0])
r = read(srv.port, png(w2, h2, grey2), "image/png", headers={"Authorization": "Bearer s3cret"})
check(r.status == 200 and len(r.json()["text"]) == 2, "with the key: %d %r" % (r.status, r.body[:100]))
srv.stop()

h = subprocess.run([SERVER, "--help"], capture_output=True, text=True).stdout
check("--max-digits" in h and "MNIST_MAX_DIGITS" in h, "--help lists --max-digits")
finish()
