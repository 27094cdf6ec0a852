"""make_server_seeds.py: writes the seed corpora of the server's fuzz
targets (image, json, multipart, predict, read, explain, oip) into fuzz/corpus/: small valid
inputs of every accepted form and broken variants, built with the
hostile-input tests' image builders. Run with Debian's python3 (Pillow for
the JPEGs): python3 fuzz/make_server_seeds.py [CORPUS_DIR]"""

import base64
import json
import struct
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "hostile"))
import hostile_images as hi  # noqa: E402

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# A small "digit": a dark stroke on white, 12x12 and 28x28.
def stroke(n):
    px = bytearray(b"\xff" * n * n)
    for y in range(n // 6, n - n // 6):
        for x in range(n // 2 - 1, n // 2 + 1):
            px[y * n + x] = 0
    return bytes(px)


s12, s28 = stroke(12), stroke(28)
images = {
    "png-8": hi.png_grey(12, 12, s12),
    "png-16": hi.png_grey(12, 12, s12, depth=16),
    "png-28": hi.png_grey(28, 28, s28),
    "png-declared-huge": hi.png_declared(100000, 100000),
    "png-bomb": hi.png_bomb(1 << 20),
    "jpeg": hi.jpeg(12, 12, s12),
    "jpeg-progressive": hi.jpeg(12, 12, s12, progressive=True),
    "jpeg-cmyk": hi.jpeg(12, 12, s12, mode="CMYK"),
    "jpeg-rgb-progressive": hi.jpeg(12, 12, s12, mode="RGB", progressive=True),
    "gif-animated": hi.gif_animated(12, 12, [s12, bytes(144)]),
    "bmp": hi.bmp(12, 12, s12),
    "bmp-top-down": hi.bmp(12, 12, s12, declared_h=-12),
    "bmp-lying": hi.bmp(12, 12, s12, declared_w=1000, declared_h=1000),
    "bmp-offset": hi.bmp(12, 12, s12, offset=4000),
    "pgm": hi.pgm(12, 12, s12),
    "pgm-16bit": b"P5\n4 4\n65535\n" + bytes(32),
    "ppm": b"P6\n4 4\n255\n" + bytes(range(48)),
}
for name, data in list(images.items()):
    put("image", name, data)
    if name in ("png-8", "jpeg", "gif-animated", "bmp", "pgm"):
        put("image", name + "-truncated", data[:len(data) // 2])

pixels = list(s28)
rows = [pixels[i * 28:(i + 1) * 28] for i in range(28)]
b64 = base64.b64encode(images["png-8"]).decode()
bodies = {
    "pixels-flat": {"pixels": pixels},
    "pixels-rows": {"pixels": rows},
    "image-b64": {"image": b64},
    "image-dataurl": {"image": "data:image/png;base64," + b64},
    "instances": {"instances": [pixels, "data:image/png;base64," + b64, rows]},
    "pixels-bad": {"pixels": [1, 2, 3]},
    "pixels-range": {"pixels": [300] * 784},
    "image-garbage": {"image": "iVBOR***"},
    "unknown-key": {"pixel": pixels},
}
for name, obj in bodies.items():
    put("json", name, json.dumps(obj).encode())
put("json", "nested", b"[" * 2000 + b"]" * 2000)
put("json", "truncated", json.dumps(bodies["instances"]).encode()[:300])
put("json", "not-json", b"NaN")

B = "fuzzBoundary"


def multipart(parts, boundary=B):
    out = b""
    for name, filename, ctype, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        disp = 'Content-Disposition: form-data; name="%s"' % name
        if filename:
            disp += '; filename="%s"' % filename
        out += disp.encode() + b"\r\n"
        if ctype:
            out += ("Content-Type: %s\r\n" % ctype).encode()
        out += b"\r\n" + data + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


ct = ("multipart/form-data; boundary=" + B).encode()
png = images["png-8"]
mps = {
    "image-part": (ct, multipart([("image", "d.png", "image/png", png)])),
    "first-file": (ct, multipart([("note", None, None, b"hello"), ("upload", "d.png", "image/png", png)])),
    "quoted-boundary": (b'multipart/form-data; boundary="' + B.encode() + b'"', multipart([("image", "d.png", None, png)])),
    "no-boundary": (b"multipart/form-data", multipart([("image", "d.png", None, png)])),
    "unterminated": (ct, multipart([("image", "d.png", None, png)])[:-20]),
    "no-file": (ct, multipart([("a", None, None, b"1"), ("b", None, None, b"2")])),
}
for name, (c, body) in mps.items():
    put("multipart", name, c + b"\n" + body)

raw = bytes(s28)
reqs = {
    "png": (b"image/png", b"", png),
    "png-input": (b"image/png", b"input=1", png),
    "png-none": (b"image/png", b"preprocess=none", images["png-28"]),
    "jpeg": (b"image/jpeg", b"", images["jpeg"]),
    "gif": (b"image/gif", b"", images["gif-animated"]),
    "bmp": (b"image/bmp", b"", images["bmp"]),
    "pgm": (b"image/x-portable-graymap", b"", images["pgm"]),
    "raw": (b"application/octet-stream", b"", raw),
    "raw-mnist": (b"application/octet-stream", b"preprocess=mnist&input=1", raw),
    "raw-short": (b"application/octet-stream", b"", raw[:100]),
    "json-pixels": (b"application/json; charset=utf-8", b"", json.dumps(bodies["pixels-flat"]).encode()),
    "json-batch": (b"application/json", b"input=1", json.dumps(bodies["instances"]).encode()),
    "multipart": (ct, b"", mps["image-part"][1]),
    "unsupported": (b"text/plain", b"", b"7"),
    "no-type": (b"", b"", png),
    "bad-query": (b"image/png", b"input=maybe&preprocess=odd", png),
    "empty": (b"image/png", b"", b""),
}
for name, (c, q, body) in reqs.items():
    put("predict", name, c + b"\n" + q + b"\n" + body)
    put("read", name, c + b"\n" + q + b"\n" + body)
    put("explain", name, c + b"\n" + q + b"\n" + body)
# /v1/explain's own query: a class by index and by label, a choice of
# feature maps, and values it must refuse.
for name, q in (("class-index", b"class=1"), ("class-label", b"class=7&layers=0"),
                ("layers-none", b"layers=none"), ("layers-list", b"layers=1,0&input=1"),
                ("bad-class", b"class=10"), ("bad-layers", b"layers=0,9"), ("odd-layers", b"layers=,")):
    put("explain", name, b"image/png\n" + q + b"\n" + png)


# /v1/read: a number of three strokes (the middle one in two pieces),
# more digits than the fuzz driver's limit of 6, and a field of specks.
def strokes(w, h, xs, gap_rows=()):
    px = bytearray(b"\xff" * w * h)
    for x0 in xs:
        for y in range(h // 6, h - h // 6):
            if y in gap_rows and x0 == xs[len(xs) // 2]:
                continue
            for x in range(x0, x0 + 2):
                px[y * w + x] = 0
    return bytes(px)


line = strokes(48, 16, [6, 22, 38], gap_rows=(7, 8))
many = strokes(80, 12, list(range(4, 76, 9)))
specks = bytes(0 if x % 2 == 0 and y % 2 == 0 else 255 for y in range(40) for x in range(40))
for name, data in (("line", hi.png_grey(48, 16, line)), ("many", hi.png_grey(80, 12, many)),
                   ("specks", hi.png_grey(40, 40, specks))):
    put("read", name, b"image/png\n\n" + data)
    put("read", name + "-input", b"image/png\ninput=1\n" + data)

# /v2 inference: the Content-Type line (ignored), the
# Inference-Header-Content-Length line ("" for none), then the body.
def oip(name, header, body):
    put("oip", name, b"application/json\n" + header + b"\n" + body)


pix = list(s28)
tensor = {"name": "input", "shape": [1, 784], "datatype": "UINT8", "data": pix}
oip("json-uint8", b"", json.dumps({"inputs": [tensor]}).encode())
oip("json-fp32-rows", b"", json.dumps({"id": "a", "inputs": [{"name": "input", "shape": [1, 28, 28], "datatype": "FP32",
                                                            "data": [[v / 255 for v in pix[r * 28:r * 28 + 28]] for r in range(28)]}],
                                       "outputs": [{"name": "prediction"}]}).encode())
head = json.dumps({"inputs": [{"name": "input", "shape": [2, 1, 28, 28], "datatype": "UINT8",
                               "parameters": {"binary_data_size": 1568}}],
                   "parameters": {"binary_data_output": True}}).encode()
oip("binary-uint8", str(len(head)).encode(), head + bytes(pix) * 2)
head = json.dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                               "parameters": {"binary_data_size": 3136}}],
                   "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}, {"name": "prediction"}]}).encode()
oip("binary-fp32", str(len(head)).encode(), head + struct.pack("<784f", *[v / 255 for v in pix]))
oip("bad-count", b"", json.dumps({"inputs": [dict(tensor, shape=[2, 784])]}).encode())
oip("bad-header", b"5", json.dumps({"inputs": [tensor]}).encode())
oip("not-json", b"", b"{\"inputs\": [")
print("seeds written to", root)
