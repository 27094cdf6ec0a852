"""Hostile bodies against the real mnist-server: JSON nested 10,000 deep,
a million numbers in pixels, NaN, Infinity, negative and huge numbers,
base64 and data URLs with garbage, multipart without a boundary or with
an unterminated part. Each gets the right status and a JSON error, and the
server keeps serving."""

import base64
import json

import hostile_images as hi
from hostile_kit import (check, expect_error, expect_prediction, finish, mnist_test, predict,
                         rss_kb, still_serving, stop_cleanly, Server)

J = "application/json"
srv = Server("--threads", "2")
port = srv.port
pid = srv.proc.pid
px, label = mnist_test(1)[0]
good = list(px)
expect_prediction("valid pixels", predict(port, json.dumps({"pixels": good}).encode(), J), label)
rss0 = rss_kb(pid)

# --- deep nesting: refused by depth, not by the stack
deep = 10000
cases = [
    ("arrays nested %d deep" % deep, b"[" * deep + b"]" * deep),
    ("objects nested %d deep" % deep, b'{"a":' * deep + b"1" + b"}" * deep),
    ("pixels nested %d deep" % deep, b'{"pixels":' + b"[" * deep + b"0" + b"]" * deep + b"}"),
    ("instances nested %d deep" % deep, b'{"instances":' + b"[" * deep + b"]" * deep + b"}"),
    ("100000 open brackets", b"[" * 100000),
]
for what, body in cases:
    expect_error(what, predict(port, body, J), 400, "invalid_json")
still_serving(srv, "deep JSON")

# --- a million numbers where 784 belong: refused before any work
million = b'{"pixels":[' + b",".join([b"0"] * 1000000) + b"]}"
expect_error("a million numbers in pixels", predict(port, million, J), (400, 413),
             ("invalid_pixels", "payload_too_large"))
rows = b'{"pixels":[' + b",".join([b"[" + b",".join([b"1"] * 28) + b"]"] * 40000) + b"]}"
expect_error("40000 rows of 28 in pixels", predict(port, rows, J), (400, 413),
             ("invalid_pixels", "payload_too_large"))
many = b'{"instances":[' + b",".join([json.dumps(good).encode()] * 300) + b"]}"
expect_error("300 instances (limit 256)", predict(port, many, J), 413, "payload_too_large")
still_serving(srv, "huge arrays")

# --- numbers that are not pixels
for tok, code in [(b"NaN", "invalid_json"), (b"Infinity", "invalid_json"), (b"-Infinity", "invalid_json"),
                  (b"nan", "invalid_json"), (b"0x10", "invalid_json"), (b"-1", "invalid_pixels"),
                  (b"256", "invalid_pixels"), (b"1e400", "invalid_pixels"), (b"-1e400", "invalid_pixels"),
                  (b"1e308", "invalid_pixels"), (b"-1e-400", None), (b"99999999999999999999999", "invalid_pixels"),
                  (b'"7"', "invalid_pixels"), (b"null", "invalid_pixels"), (b"true", "invalid_pixels"),
                  (b"[]", "invalid_pixels"), (b"{}", "invalid_pixels")]:
    for pos in (0, 783):
        items = [b"0"] * 784
        items[pos] = tok
        body = b'{"pixels":[' + b",".join(items) + b"]}"
        r = predict(port, body, J)
        if code is None:  # -1e-400 is -0: a valid (if odd) zero
            check(r.status in (200, 400), "pixel %s: 200 or 400, got %d" % (tok, r.status))
            if r.status != 200:
                expect_error("pixel %s at %d" % (tok.decode(), pos), r, 400, "invalid_pixels")
        else:
            expect_error("pixel %s at %d" % (tok.decode(), pos), r, 400, code)
row_nan = b'{"pixels":[' + b",".join([b"[" + b",".join([b"0"] * 28) + b"]"] * 27 + [b"[" + b",".join([b"-5"] * 28) + b"]"]) + b"]}"
expect_error("a negative row in 28x28 pixels", predict(port, row_nan, J), 400, "invalid_pixels")
short = b'{"pixels":[[' + b",".join([b"0"] * 28) + b"]" + b",[0]" * 27 + b"]}"
expect_error("ragged 28x28 rows", predict(port, short, J), 400, "invalid_pixels")

# --- base64 and data URLs with garbage
png = hi.png_grey(28, 28, bytes(255 - v for v in px))
b64 = base64.b64encode(png).decode()
expect_prediction("valid data URL", predict(port, json.dumps({"image": "data:image/png;base64," + b64}).encode(), J), label)
garbage = [
    ("base64 with '*' and '%'", b64[:40] + "***%%%" + b64[40:]),
    ("base64 with a NUL escape", b64[:40] + "\u0000" + b64[40:]),
    ("base64 with non-ASCII", b64[:40] + "\u00e9\u4e2d" + b64[40:]),
    ("base64 cut mid-quantum", b64[:41]),
    ("base64 of text", base64.b64encode(b"hello, this is not an image").decode()),
    ("base64 of a truncated PNG", base64.b64encode(png[:60]).decode()),
    ("data URL without a comma", "data:image/png;base64"),
    ("data URL not base64", "data:image/png," + b64),
    ("data URL with garbage payload", "data:image/png;base64,!!!!"),
    ("padding in the middle", b64[:8] + "==" + b64[8:]),
    ("only padding", "===="),
    ("empty string", ""),
]
for what, s in garbage:
    expect_error(what, predict(port, json.dumps({"image": s}).encode(), J), 400,
                 ("invalid_image", "empty_body"))
expect_error("image is a number", predict(port, b'{"image": 12}', J), 400, ("invalid_image", "bad_request", "invalid_json"))
r = predict(port, json.dumps({"instances": [good, "not base64 ***", good]}).encode(), J)
msg = expect_error("batch with one bad item", r, 400, "invalid_image")
check("instances[1]" in msg or "1" in msg, "the message names the bad item: %s" % msg)
still_serving(srv, "bad base64")

# --- multipart without a boundary, with an unterminated part, and worse
B = "hostileBoundary42"
part = (b"--" + B.encode() + b"\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
        b"Content-Type: image/png\r\n\r\n" + png)
whole = part + b"\r\n--" + B.encode() + b"--\r\n"
expect_prediction("valid multipart", predict(port, whole, "multipart/form-data; boundary=" + B), label)
mp = [
    ("no boundary parameter", whole, "multipart/form-data"),
    ("empty boundary", whole, "multipart/form-data; boundary="),
    ("boundary of 200 characters", whole, "multipart/form-data; boundary=" + "x" * 200),
    ("unterminated part", part, "multipart/form-data; boundary=" + B),
    ("part headers never end", b"--" + B.encode() + b"\r\nContent-Disposition: form-data; name=\"image\"",
     "multipart/form-data; boundary=" + B),
    ("boundary never appears", b"just some bytes\r\n" * 100, "multipart/form-data; boundary=" + B),
    ("only the closing boundary", b"--" + B.encode() + b"--\r\n", "multipart/form-data; boundary=" + B),
    ("10000 empty parts", (b"--" + B.encode() + b"\r\n\r\n\r\n") * 10000 + b"--" + B.encode() + b"--\r\n",
     "multipart/form-data; boundary=" + B),
]
for what, body, ctype in mp:
    expect_error("multipart: " + what, predict(port, body, ctype), 400, ("invalid_multipart", "empty_body"))
bad_img = whole.replace(png, png[:50])
expect_error("multipart holding a truncated PNG", predict(port, bad_img, "multipart/form-data; boundary=" + B),
             400, "invalid_image")
still_serving(srv, "broken multipart")

check(rss_kb(pid) < rss0 + 256 * 1024, "memory bounded: %d -> %d kB" % (rss0, rss_kb(pid)))
stop_cleanly(srv)
finish()
