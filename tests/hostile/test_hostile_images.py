"""Hostile images against the real mnist-server: declared sizes far over
the pixel limit, decompression bombs, 16-bit PNG, CMYK and progressive
JPEG, an animated GIF, BMPs whose headers lie, and every format cut short
at several points. Each gets the right status and a JSON error (or the
right digit when the file is valid), and the server keeps serving with
bounded memory."""

import hostile_images as hi
from hostile_kit import (check, expect_error, expect_prediction, finish, mnist_test, predict,
                         rss_kb, still_serving, stop_cleanly, Server)

srv = Server("--threads", "2")
port = srv.port
pid = srv.proc.pid

px, label = mnist_test(1)[0]
paper = bytes(255 - v for v in px)  # dark ink on white, as photographed digits come
base = expect_prediction("the reference PNG", predict(port, hi.png_grey(28, 28, paper), "image/png"), label)
rss0 = rss_kb(pid)

# --- sizes declared over the limit: refused from the header alone (a
# decode would need gigabytes and fail differently)
for w, h in ((100000, 100000), (50000, 50000), (65536, 65536), (16777217, 1)):
    r = predict(port, hi.png_declared(w, h), "image/png")
    expect_error("PNG declaring %dx%d" % (w, h), r, 413, "payload_too_large")
r = predict(port, hi.bmp(28, 28, paper, declared_w=2 ** 31 - 1), "image/bmp")
expect_error("BMP declaring 2^31-1 x 28", r, 413, "payload_too_large")
check(rss_kb(pid) < rss0 + 64 * 1024, "no memory taken by refused headers: %d -> %d kB" % (rss0, rss_kb(pid)))

# --- decompression bombs
bomb = hi.png_bomb(512 << 20)  # 1x1 image, IDAT inflating to 512 MiB
check(len(bomb) < 1 << 20, "the bomb is small on the wire (%d bytes)" % len(bomb))
expect_error("1x1 PNG inflating to 512 MiB", predict(port, bomb, "image/png"), 400, "invalid_image")
big = hi.png_bomb(64 << 20, w=4096, h=4096)  # in the limit, but more data than 4096 rows need
expect_error("4096x4096 PNG with 64 MiB of IDAT", predict(port, big, "image/png"), 400, "invalid_image")
blank = hi.png_fill(4096, 4096)  # legal, 16 Mpx of nothing
msg = expect_error("blank 4096x4096 PNG", predict(port, blank, "image/png"), 400, "invalid_image")
check("ink" in msg, "a blank image says it has no ink: %s" % msg)
check(rss_kb(pid) < rss0 + 512 * 1024, "memory bounded after the bombs: %d -> %d kB" % (rss0, rss_kb(pid)))
still_serving(srv, "decompression bombs")

# --- unusual but valid encodings give the same digit
expect_prediction("16-bit greyscale PNG", predict(port, hi.png_grey(28, 28, paper, depth=16), "image/png"), base)
expect_prediction("interlaced-free 16-bit PNG scaled up", predict(
    port, hi.png_grey(56, 56, bytes(paper[(y // 2) * 28 + x // 2] for y in range(56) for x in range(56)), depth=16),
    "image/png"), base)
for mode in ("L", "RGB", "CMYK"):
    for prog in (False, True):
        what = "%s%s JPEG" % ("progressive " if prog else "", mode)
        expect_prediction(what, predict(port, hi.jpeg(28, 28, paper, mode, prog), "image/jpeg"), base)
other = mnist_test(2)[1]
second = bytes(255 - v for v in other[0])
anim = hi.gif_animated(28, 28, [paper, second, bytes(784)])
expect_prediction("animated GIF (its first frame)", predict(port, anim, "image/gif"), base)
expect_prediction("BMP", predict(port, hi.bmp(28, 28, paper), "image/bmp"), base)
# A negative height is a valid top-down BMP: rows come first-row-first.
flipped = bytes(paper[(27 - y) * 28 + x] for y in range(28) for x in range(28))
r = predict(port, hi.bmp(28, 28, flipped, declared_h=-28), "image/bmp")
expect_prediction("top-down BMP (negative height)", r, base)

# --- BMP headers that lie
lies = [
    ("declares 1000x1000, holds 28x28", dict(declared_w=1000, declared_h=1000)),
    ("declares 28x2000, holds 28x28", dict(declared_h=2000)),
    ("pixel data offset past the end", dict(offset=10 ** 6)),
    ("pixel data offset inside the header", dict(offset=10)),
    ("7 bits a pixel", dict(bpp=7)),
    ("height -2^31", dict(declared_h=-2 ** 31)),
    ("width 0", dict(declared_w=0)),
]
for what, kw in lies:
    expect_error("BMP " + what, predict(port, hi.bmp(28, 28, paper, **kw), "image/bmp"), (400, 413),
                 ("invalid_image", "payload_too_large"))
still_serving(srv, "lying BMPs")

# --- every format cut short: refused, never guessed from zero-filled data
files = [
    ("PNG", "image/png", hi.png_grey(28, 28, paper)),
    ("JPEG", "image/jpeg", hi.jpeg(28, 28, paper)),
    ("progressive JPEG", "image/jpeg", hi.jpeg(28, 28, paper, progressive=True)),
    ("GIF", "image/gif", hi.gif_animated(28, 28, [paper])),
    ("BMP", "image/bmp", hi.bmp(28, 28, paper)),
    ("PGM", "image/x-portable-graymap", hi.pgm(28, 28, paper)),
]
for name, ctype, data in files:
    n = len(data)
    for cut in sorted({1, 2, 8, 16, 30, n // 4, n // 2, 3 * n // 4, n - 20}):
        if cut <= 0 or cut >= n - 12:
            continue
        msg = expect_error("%s cut to %d of %d bytes" % (name, cut, n), predict(port, data[:cut], ctype),
                           400, "invalid_image")
        check("no ink" not in msg, "%s cut to %d bytes: reported as truncated, not blank: %s" % (name, cut, msg))
    expect_error("%s, empty" % name, predict(port, b"", ctype), 400, "empty_body")
still_serving(srv, "truncated images")

check(rss_kb(pid) < rss0 + 512 * 1024, "memory bounded at the end: %d -> %d kB" % (rss0, rss_kb(pid)))
stop_cleanly(srv)
finish()
