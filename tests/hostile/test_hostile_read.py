"""Hostile images against POST /v1/read of the real mnist-server: a
4096x4096 PNG of noise, 4096x4096 of sparse specks and an image of a
million one-pixel specks each get a bounded answer (a few digits) or an
error (400 no ink, 413 too many pieces) quickly, never a hang; the server
keeps serving with bounded memory and exits cleanly."""

import os
import zlib

import hostile_images as hi
from hostile_kit import (check, expect_error, finish, request, rss_kb, still_serving,
                         stop_cleanly, timed, Server)

# Generous for the sanitizer build; a normal build answers each in well
# under a second.
BOUND_S = 20

srv = Server("--threads", "2", "--max-body", "40m", "--timeout", "120")
port = srv.port
pid = srv.proc.pid


def read(body):
    return request(port, "POST", "/v1/read", body, content_type="image/png")


def png_rows(w, h, row_fn):
    z = zlib.compressobj(1)
    parts = [z.compress(b"\x00" + row_fn(y)) for y in range(h)]
    parts.append(z.flush())
    return hi.png_raw(w, h, b"".join(parts))


def bounded(what, r, secs):
    check(secs < BOUND_S, "%s: answered in %.1f s (bound %d s)" % (what, secs, BOUND_S))
    if r.status == 200:
        j = r.json()
        check(len(j.get("digits", [])) <= 32 and len(j.get("text", "")) <= 32,
              "%s: at most --max-digits digits: %r" % (what, j.get("text")))
    else:
        expect_error(what, r, (400, 413), ("invalid_image", "payload_too_large"))


rss0 = rss_kb(pid)
noise = png_rows(4096, 4096, lambda y: os.urandom(4096))
r, secs = timed(read, noise)
bounded("4096x4096 PNG of noise", r, secs)

# Sparse specks on white: clearly ink, in about 840,000 pieces.
rnd = os.urandom(4096 * 4096)
sparse = png_rows(4096, 4096, lambda y: bytes(0 if b < 13 else 255 for b in rnd[y * 4096:(y + 1) * 4096]))
r, secs = timed(read, sparse)
bounded("4096x4096 PNG of sparse specks", r, secs)

# A million one-pixel specks, every other pixel of every other row.
dots = bytes(0 if x % 2 == 0 else 255 for x in range(2000))
white = bytes((255,)) * 2000
million = png_rows(2000, 2000, lambda y: dots if y % 2 == 0 else white)
r, secs = timed(read, million)
bounded("a million specks", r, secs)
check(r.status == 413, "a million specks is too many pieces: %d %r" % (r.status, r.body[:200]))

check(rss_kb(pid) < rss0 + 768 * 1024, "memory bounded: %d -> %d kB" % (rss0, rss_kb(pid)))
still_serving(srv, "noise and specks on /v1/read")
stop_cleanly(srv)
finish()
