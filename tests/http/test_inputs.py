"""Every input form of POST /predict (API.md) with real MNIST test digits:
raw bytes, JSON pixels (flat and 28x28), encoded images (PNG, JPEG, GIF,
BMP, PGM, PPM; grey, grey+alpha, RGB, RGBA; scaled, inverted, coloured,
transparent, off-centre), multipart, base64 and data URLs, batches,
?input=1 and ?preprocess=. Forms that carry the same pixels must give the
same probabilities; encoded images must be classified correctly."""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import (Server, bmp, check, finish, gif, grey_to, jpeg, mnist_test, multipart, pgm,  # noqa: E402
                     png, ppm, predict, transform)

N = 20
digits = mnist_test(N)
srv = Server()
port = srv.port


def ok(r, what):
    if not check(r.status == 200, "%s: status %d %r" % (what, r.status, r.body[:300])):
        return None
    return r.json()


# --- raw bytes: the reference answers
ref = []
for px, label in digits:
    ref.append(ok(predict(port, px, "application/octet-stream"), "raw"))
correct = sum(1 for a, (_, l) in zip(ref, digits) if a and a["prediction"] == l)
check(correct >= N - 1, "raw MNIST digits: %d/%d correct" % (correct, N))

# --- JSON pixels, flat and 28 rows: same pixels, same probabilities
for i in range(5):
    px, label = digits[i]
    a = ok(predict(port, json.dumps({"pixels": list(px)}).encode(), "application/json"), "flat")
    check(a and a["probabilities"] == ref[i]["probabilities"], "flat pixels == raw (%d)" % i)
    rows = [list(px[r * 28:(r + 1) * 28]) for r in range(28)]
    a = ok(predict(port, json.dumps({"pixels": rows}).encode(), "application/json; charset=utf-8"), "rows")
    check(a and a["probabilities"] == ref[i]["probabilities"], "28x28 pixels == raw (%d)" % i)
a = ok(predict(port, json.dumps({"pixels": [min(v + 0.25, 255) for v in digits[0][0]]}).encode(),
               "application/json"), "fractional pixels")
check(a and a["prediction"] == ref[0]["prediction"], "fractional pixel values accepted")

# --- ?input=1 shows what the model saw
a = ok(predict(port, digits[0][0], "application/octet-stream", "?input=1"), "input=1")
check(a and a.get("input") == list(digits[0][0]), "?input=1 on raw echoes the 784 pixels")
a = ok(predict(port, png(28, 28, digits[0][0]), "image/png", "?preprocess=none&input=1"), "png none")
check(a and a.get("input") == list(digits[0][0]), "28x28 PNG with preprocess=none is the raw image")
check(a and a["probabilities"] == ref[0]["probabilities"], "PNG preprocess=none == raw probabilities")
w, h, inv = transform(digits[0][0], invert=True)
a = ok(predict(port, png(w, h, inv), "image/png", "?preprocess=none&input=1"), "inverted none")
check(a and a.get("input") == list(digits[0][0]), "preprocess=none still inverts black-on-white")
r = predict(port, png(56, 56, b"\x00" * 3136), "image/png", "?preprocess=none")
check(r.status == 400 and "28x28" in r.json()["error"]["message"], "preprocess=none needs 28x28")
a = ok(predict(port, digits[1][0], "application/octet-stream", "?preprocess=mnist&input=1"), "raw mnist")
check(a and len(a.get("input", [])) == 784 and a["prediction"] == digits[1][1],
      "raw with preprocess=mnist renormalises and still predicts %d" % digits[1][1])
shifted = bytes(784)
sx = bytearray(784)
for y in range(28):
    for x in range(28):
        if y + 4 < 28 and x + 5 < 28:
            sx[(y + 4) * 28 + x + 5] = digits[2][0][y * 28 + x]
a = ok(predict(port, bytes(sx), "application/octet-stream", "?preprocess=mnist&input=1"), "shifted")
if a:
    inp = a["input"]
    mass = sum(inp)
    cx = sum((i % 28) * v for i, v in enumerate(inp)) / mass
    cy = sum((i // 28) * v for i, v in enumerate(inp)) / mass
    check(abs(cx - 13.5) < 1.5 and abs(cy - 13.5) < 1.5,
          "preprocess=mnist recentres an off-centre digit (centre %.1f,%.1f)" % (cx, cy))
r = predict(port, bytes(784), "application/octet-stream", "?preprocess=mnist")
check(r.status == 400 and "no ink" in r.json()["error"]["message"], "blank raw with preprocess=mnist")


# --- encoded images in the forms users send
def kinds(px):
    out = []
    w, h, g = transform(px, scale=4, invert=True)
    out.append(("png grey black-on-white x4", png(w, h, g), "image/png"))
    w, h, g = transform(px, scale=3)
    out.append(("png RGBA ink only in alpha", png(w, h, grey_to(g, 4, ink=(20, 20, 20), alpha_ink=True), 4),
                "image/png"))
    out.append(("png grey+alpha transparent", png(w, h, grey_to(g, 2, alpha_ink=True), 2), "image/png"))
    out.append(("png RGB blue ink", png(w, h, grey_to(g, 3, ink=(0, 0, 200)), 3), "image/png"))
    out.append(("jpeg RGB q75 black-on-white", jpeg(w, h, grey_to(g, 3, ink=(0, 0, 0)), 3, 75), "image/jpeg"))
    out.append(("jpeg grey white-on-black", jpeg(w, h, g, 1, 90), "image/jpeg"))
    w2, h2, g2 = transform(px, scale=2, invert=True)
    out.append(("gif black-on-white x2", gif(w2, h2, g2), "image/gif"))
    w5, h5, g5 = transform(px, scale=5, invert=True)
    out.append(("bmp RGB x5", bmp(w5, h5, grey_to(g5, 3, ink=(10, 10, 10)), 3), "image/bmp"))
    out.append(("pgm white-on-black x2", pgm(w2, h2, transform(px, scale=2)[2]), "image/x-portable-graymap"))
    out.append(("ppm red ink", ppm(w2, h2, grey_to(transform(px, scale=2)[2], 3, ink=(200, 0, 0))),
                "image/x-portable-pixmap"))
    wo, ho, go = transform(px, scale=2, invert=True, pad=60, shift=(-40, 25))
    out.append(("png small off-centre digit in 176px", png(wo, ho, go), "image/png"))
    return out


per_kind = {}
for i, (px, label) in enumerate(digits):
    for name, data, ctype in kinds(px):
        r = predict(port, data, ctype)
        good = r.status == 200 and r.json()["prediction"] == label
        if r.status != 200:
            check(False, "%s digit %d: %d %r" % (name, i, r.status, r.body[:200]))
        per_kind.setdefault(name, []).append(good)
for name, res in per_kind.items():
    print("  %-40s %d/%d" % (name, sum(res), len(res)))
    check(sum(res) >= len(res) - 2, "%s: %d/%d correct" % (name, sum(res), len(res)))

# --- images cut short are refused, never decoded into partly blank pixels
w, h, g = transform(digits[0][0], scale=3, invert=True)
whole = {"png": (png(w, h, g), "image/png"), "jpeg": (jpeg(w, h, g), "image/jpeg"),
         "gif": (gif(w, h, g), "image/gif"), "bmp": (bmp(w, h, g), "image/bmp"),
         "pgm": (pgm(w, h, g), "image/x-portable-graymap")}
for name, (data, ctype) in whole.items():
    for cut in (len(data) // 2, len(data) - 10, 30):
        r = predict(port, data[:cut], ctype)
        e = r.json().get("error", {}) if r.status != 200 else {}
        check(r.status == 400 and e.get("code") == "invalid_image" and e.get("message", "").split(": ", 1)[-1],
              "%s cut to %d of %d bytes: %d %r" % (name, cut, len(data), r.status, e.get("message")))
    check(predict(port, data, ctype).status == 200, "%s whole is fine" % name)
big_claim = bytearray(bmp(28, 28, digits[0][0]))
big_claim[18:22] = (1000).to_bytes(4, "little")
big_claim[22:26] = (1000).to_bytes(4, "little")
r = predict(port, bytes(big_claim), "image/bmp")
check(r.status == 400 and "truncated" in r.json()["error"]["message"], "BMP claiming 1000x1000 with 28x28 data")

# --- content types: case and parameters ignored; declared type vs. bytes
data = png(*transform(digits[3][0], scale=2, invert=True)[:2], transform(digits[3][0], scale=2, invert=True)[2])
a = ok(predict(port, data, "IMAGE/PNG; foo=bar"), "upper-case content type")
check(a and a["prediction"] == digits[3][1], "IMAGE/PNG with a parameter")
a = ok(predict(port, data, "image/jpeg"), "PNG sent as image/jpeg")
check(a and a["prediction"] == digits[3][1], "the decoder goes by the bytes, not the declared type")

# --- multipart
body, ctype = multipart([("note", None, None, b"hello"), ("image", "digit.png", "image/png", data)])
a = ok(predict(port, body, ctype), "multipart image")
check(a and a["prediction"] == digits[3][1], "multipart part named image")
body, ctype = multipart([("file", "digit.png", "image/png", data)])
a = ok(predict(port, body, ctype), "multipart first file")
check(a and a["prediction"] == digits[3][1], "multipart first file part")
body, ctype = multipart([("image", "d.png", "image/png", data)], boundary="quoted boundary")
a = ok(predict(port, body, 'multipart/form-data; boundary="quoted boundary"'), "quoted boundary")
check(a and a["prediction"] == digits[3][1], "multipart with a quoted boundary")
r = predict(port, body[:len(body) // 2], 'multipart/form-data; boundary="quoted boundary"')
check(r.status == 400 and r.json()["error"]["code"] == "invalid_multipart", "truncated multipart")

# --- base64, data URL
b64 = base64.b64encode(data).decode()
a = ok(predict(port, json.dumps({"image": b64}).encode(), "application/json"), "base64")
check(a and a["prediction"] == digits[3][1], "JSON image base64")
a = ok(predict(port, json.dumps({"image": "data:image/png;base64," + b64}).encode(), "application/json"),
       "data URL")
check(a and a["prediction"] == digits[3][1], "JSON image data URL")
wrapped = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
a = ok(predict(port, json.dumps({"image": wrapped}).encode(), "application/json"), "wrapped base64")
check(a and a["prediction"] == digits[3][1], "base64 with line breaks")
a = ok(predict(port, json.dumps({"image": b64.rstrip("=")}).encode(), "application/json"), "unpadded")
check(a and a["prediction"] == digits[3][1], "base64 without padding")

# --- batches: items answered in order, each as if sent alone
items = [list(digits[0][0]),
         [list(digits[1][0][r * 28:(r + 1) * 28]) for r in range(28)],
         "data:image/png;base64," + base64.b64encode(png(28, 28, digits[2][0])).decode(),
         base64.b64encode(png(28, 28, digits[4][0])).decode(),
         {"pixels": list(digits[5][0])}]
a = ok(predict(port, json.dumps({"instances": items}).encode(), "application/json"), "batch")
if a:
    preds = a.get("predictions", [])
    check(len(preds) == 5, "batch answers 5 items")
    check(preds[0]["probabilities"] == ref[0]["probabilities"], "batch item 0 == single raw")
    check(preds[1]["probabilities"] == ref[1]["probabilities"], "batch item 1 (rows) == single raw")
    single2 = ok(predict(port, png(28, 28, digits[2][0]), "image/png"), "single png")
    check(single2 and preds[2]["probabilities"] == single2["probabilities"], "batch data URL == single PNG")
    check([p["prediction"] for p in preds] == [digits[i][1] for i in (0, 1, 2, 4, 5)],
          "batch predictions %r" % [p["prediction"] for p in preds])
    check(a.get("model", {}).get("version") and "elapsed_ms" in a, "batch has model and elapsed_ms")
    check(all("input" not in p for p in preds), "no inputs in batch without ?input=1")
a = ok(predict(port, json.dumps({"instances": items[:2]}).encode(), "application/json", "?input=1"), "batch input")
check(a and a["predictions"][0]["input"] == list(digits[0][0]), "batch ?input=1 per item")
full = {"instances": [list(digits[i % N][0]) for i in range(256)]}
a = ok(predict(port, json.dumps(full).encode(), "application/json"), "batch of 256")
check(a and len(a["predictions"]) == 256, "a batch of 256 (the default limit)")
check(a and all(a["predictions"][i]["probabilities"] == ref[i % N]["probabilities"] for i in range(256)),
      "a batch of 256 gives each item's single answer")
r = predict(port, json.dumps({"instances": [list(digits[0][0])] * 257}).encode(), "application/json")
check(r.status == 413, "257 instances: 413")

check(srv.stop() == 0, "exit 0")
finish()
