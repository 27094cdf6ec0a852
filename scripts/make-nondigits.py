#!/usr/bin/python3
"""make-nondigits.py: synthetic images that are not digits, the negatives
the verdict's digit score is fitted on (mnist-train --calibrate).

Draws letters and short words (Hershey stroke fonts and TrueType fonts,
print and handwriting), symbols, scribbles, shapes and textures, each
with random pen, size, slant and position, as greyscale images with ink
high (MNIST convention) in an IDX3 file. Nothing here could fairly be read
as a digit: no O, I, l, S, Z, B, G, q, T, L, Y, t, f, g, b, z, o, no lone
circles, bars, dots or slashes.

Usage: scripts/make-nondigits.py --count N --seed S --out FILE [--side 112]
Needs Debian's python3-pil, python3-numpy, hershey-fonts-data and the fonts
listed in FONT_DIRS (scripts/deps.sh installs them).
"""
import argparse
import glob
import math
import os
import random
import struct
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Letters that do not look like a digit in some hand or font.
LETTERS = "ACDEFHJKMNPRUVWXacdehkmnprsuvwxy"
SYMBOLS = ("+=#@&%*?$<>~^€£¥§©®±÷×≠≈∞√∑∏∂∆Ω→←↑↓↔⇒★☆♥♦♣♠☺☹✓✗♀♂☀☁☂☎✈✂✉⚓♪♫⌂"
           "αβγδεζηλμπρσφψωΓΔΘΛΞΠΣΦΨ")
HERSHEY_DIR = "/usr/share/hershey-fonts"
HERSHEY_FONTS = ["futural", "futuram", "rowmans", "rowmand", "rowmant", "timesr", "timesi",
                 "scripts", "scriptc", "cursive", "gothiceng", "timesrb", "timesib"]
FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/fifthhorseman",
             "/usr/share/fonts/truetype/rufscript", "/usr/share/fonts/truetype/breip",
             "/usr/share/fonts/truetype/femkeklaver", "/usr/share/fonts/truetype/liberation2"]


def load_hershey(name):
    """A Hershey .jhf font: glyphs in ASCII order from 32, as lists of strokes."""
    path = os.path.join(HERSHEY_DIR, name + ".jhf")
    glyphs = []
    # One glyph a line, in ASCII order from 32: a 5-char id, a 3-char vertex
    # count, then 2 chars a vertex (the first pair: left and right margins).
    for line in open(path, encoding="latin-1").read().splitlines():
        body = line[8:]
        strokes, cur = [], []
        for i in range(2, len(body) - 1, 2):
            if body[i:i + 2] == " R":
                if cur:
                    strokes.append(cur)
                cur = []
            else:
                cur.append((ord(body[i]) - ord("R"), ord(body[i + 1]) - ord("R")))
        if cur:
            strokes.append(cur)
        glyphs.append((strokes, ord(body[0]) - ord("R"), ord(body[1]) - ord("R")))
    return glyphs


class Pen:
    """Draws polylines on a supersampled canvas, then shrinks (anti-aliasing)."""

    def __init__(self, side, ss=3):
        self.side, self.ss = side, ss
        self.im = Image.new("L", (side * ss, side * ss), 0)
        self.d = ImageDraw.Draw(self.im)

    def line(self, pts, width):
        s = self.ss
        p = [(x * s, y * s) for x, y in pts]
        w = max(1, int(round(width * s)))
        if len(p) > 1:
            self.d.line(p, fill=255, width=w, joint="curve")
        r = w / 2
        for x, y in (p[0], p[-1]):
            self.d.ellipse([x - r, y - r, x + r, y + r], fill=255)

    def image(self):
        return self.im.resize((self.side, self.side), Image.LANCZOS)


def fit_strokes(strokes, side, rng, fill=(0.45, 0.9)):
    """Scales, slants, rotates and places strokes inside side x side."""
    pts = [p for s in strokes for p in s]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    w, h = max(xs) - min(xs) or 1, max(ys) - min(ys) or 1
    scale = side * rng.uniform(*fill) / max(w, h)
    shear, rot = rng.uniform(-0.3, 0.3), math.radians(rng.uniform(-15, 15))
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    ox = side / 2 + rng.uniform(-0.08, 0.08) * side
    oy = side / 2 + rng.uniform(-0.08, 0.08) * side
    out = []
    for s in strokes:
        q = []
        for x, y in s:
            x, y = (x - cx) * scale, (y - cy) * scale
            x += shear * y
            x, y = x * math.cos(rot) - y * math.sin(rot), x * math.sin(rot) + y * math.cos(rot)
            q.append((x + ox, y + oy))
        out.append(q)
    return out


def wobble(strokes, rng, amount):
    """Hand-drawn jitter: a smooth random displacement along each stroke."""
    out = []
    for s in strokes:
        dense = []
        for (x0, y0), (x1, y1) in zip(s, s[1:] or s):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / 3))
            dense += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(n)]
        dense.append(s[-1])
        ph = [rng.uniform(0, 6.3) for _ in range(4)]
        out.append([(x + amount * math.sin(i * 0.11 + ph[0]) + amount * 0.5 * math.sin(i * 0.23 + ph[1]),
                     y + amount * math.sin(i * 0.13 + ph[2]) + amount * 0.5 * math.sin(i * 0.19 + ph[3]))
                    for i, (x, y) in enumerate(dense)])
    return out


def hershey_text(fonts, text, rng):
    font = fonts[rng.choice(list(fonts))]
    strokes, x = [], 0
    for ch in text:
        g = font[ord(ch) - 32] if 0 <= ord(ch) - 32 < len(font) else font[0]
        gs, left, right = g
        strokes += [[(px - left + x, py) for px, py in s] for s in gs]
        x += right - left
    return [s for s in strokes if s]


def draw_strokes(strokes, side, rng):
    pen = Pen(side)
    width = side * rng.uniform(0.03, 0.12)
    for s in wobble(fit_strokes(strokes, side, rng), rng, rng.uniform(0, side * 0.01)):
        pen.line(s, width)
    return pen.image()


def font_text(fonts, text, side, rng):
    path = rng.choice(fonts)
    size = side * 2
    f = ImageFont.truetype(path, size)
    im = Image.new("L", (size * (len(text) + 1), size * 2), 0)
    ImageDraw.Draw(im).text((size // 2, size // 3), text, fill=255, font=f)
    box = im.getbbox()
    if not box:
        return None
    im = im.crop(box)
    im = im.transform(im.size, Image.AFFINE, (1, rng.uniform(-0.25, 0.25), 0, 0, 1, 0),
                      resample=Image.BILINEAR)
    im = im.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR, expand=True)
    box = im.getbbox()
    if not box:
        return None
    im = im.crop(box)
    fill = rng.uniform(0.45, 0.9)
    k = side * fill / max(im.size)
    im = im.resize((max(1, int(im.size[0] * k)), max(1, int(im.size[1] * k))), Image.LANCZOS)
    out = Image.new("L", (side, side), 0)
    out.paste(im, ((side - im.size[0]) // 2 + rng.randint(-side // 12, side // 12),
                   (side - im.size[1]) // 2 + rng.randint(-side // 12, side // 12)))
    return out


def word(rng, alphabet):
    n = rng.choice([1, 1, 1, 2, 2, 3])
    return "".join(rng.choice(alphabet) for _ in range(n))


def scribble(rng):
    kind = rng.randrange(6)
    pts = []
    if kind == 0:  # tangle: a random walk with smoothly turning heading
        x, y, a = 0.0, 0.0, rng.uniform(0, 6.3)
        turn = 0.0
        for _ in range(rng.randint(80, 220)):
            turn = 0.85 * turn + rng.uniform(-0.5, 0.5)
            a += turn
            x, y = x + math.cos(a), y + math.sin(a)
            pts.append((x, y))
        return [pts]
    if kind == 1:  # zig-zag
        n = rng.randint(4, 12)
        amp = rng.uniform(0.3, 1.2)
        return [[(i, amp * (i % 2)) for i in range(n)]]
    if kind == 2:  # wave
        n, f = rng.randint(2, 5), rng.uniform(0.2, 0.6)
        return [[(t / 10, math.sin(t / 10 * f * 6.3)) for t in range(n * 30)]]
    if kind == 3:  # loops (a coil)
        r, k = rng.uniform(0.6, 1.2), rng.randint(3, 7)
        return [[(t / 40 * k * 0.6 + r * math.cos(t / 40 * 6.3), r * math.sin(t / 40 * 6.3))
                 for t in range(k * 40)]]
    if kind == 4:  # spiral, at least two turns
        turns = rng.uniform(2, 4)
        return [[(t * math.cos(t * 6.3), t * math.sin(t * 6.3)) for t in np.linspace(0.05, turns, 300)]]
    # hatching: parallel or crossed strokes
    n, strokes = rng.randint(3, 7), []
    for i in range(n):
        strokes.append([(i, 0), (i + rng.uniform(-0.5, 1.5), 4)])
    if rng.random() < 0.5:
        strokes += [[(-0.5, j * 0.8 + 0.3), (n, j * 0.8 + rng.uniform(0, 0.8))] for j in range(n - 1)]
    return strokes


def shape(rng):
    kind = rng.randrange(9)
    if kind == 0:  # regular polygon, 3 to 6 sides
        n = rng.choice([3, 4, 4, 5, 6])
        return [[(math.cos(6.283 * i / n + 0.3), math.sin(6.283 * i / n + 0.3)) for i in range(n + 1)]]
    if kind == 1:  # star
        n = rng.choice([5, 6])
        return [[((1 if i % 2 == 0 else 0.45) * math.cos(3.1416 * i / n),
                  (1 if i % 2 == 0 else 0.45) * math.sin(3.1416 * i / n)) for i in range(2 * n + 1)]]
    if kind == 2:  # heart
        return [[(16 * math.sin(t) ** 3, -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t)
                                          - math.cos(4 * t))) for t in np.linspace(0, 6.283, 80)]]
    if kind == 3:  # arrow
        a = [(0, 0), (3, 0)]
        return [a, [(2.2, -0.7), (3, 0), (2.2, 0.7)]]
    if kind == 4:  # box with a cross
        b = [(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)]
        return [b, [(0.3, 0.3), (1.7, 1.7)], [(1.7, 0.3), (0.3, 1.7)]]
    if kind == 5:  # box with a tick
        b = [(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)]
        return [b, [(0.4, 1.0), (0.9, 1.5), (1.7, 0.4)]]
    if kind == 6:  # smiley
        c = [(math.cos(t), math.sin(t)) for t in np.linspace(0, 6.283, 60)]
        m = [(0.55 * math.cos(t), 0.55 * math.sin(t)) for t in np.linspace(0.5, 2.6, 20)]
        return [c, m, [(-0.35, -0.35), (-0.33, -0.3)], [(0.35, -0.35), (0.33, -0.3)]]
    if kind == 7:  # cross or X
        return [[(0, -1), (0, 1)], [(-1, 0), (1, 0)]] if rng.random() < 0.5 else \
            [[(-1, -1), (1, 1)], [(1, -1), (-1, 1)]]
    # a rectangle or rhombus with a diagonal
    return [[(0, 0), (3, 0), (3, 1.6), (0, 1.6), (0, 0)], [(0, 0), (3, 1.6)]]


def texture(side, rng):
    """Photo-like pictures without writing: gradients, blobs, noise, fabric,
    ruled and squared paper, each on a background of random level, with
    grain and a random blur, light on dark or dark on light."""
    kind = rng.randrange(6)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    y, x = np.mgrid[0:side, 0:side] / side
    if kind <= 1:  # blobs of several sizes and strengths (bokeh, stains)
        img = np.zeros((side, side))
        for _ in range(rng.randint(3, 14)):
            cx, cy, r = rng.random(), rng.random(), rng.uniform(0.02, 0.25)
            img += rng.uniform(0.2, 1) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
    elif kind == 2:  # noise at some scale
        small = max(2, int(side / rng.choice([1, 2, 4, 8, 16])))
        img = np.asarray(Image.fromarray((nrng.random((small, small)) * 255).astype(np.uint8))
                         .resize((side, side), Image.BICUBIC), dtype=float) / 255
    elif kind == 3:  # ruled or squared paper
        p = rng.uniform(0.06, 0.2)
        img = (np.abs(((y / p) % 1) - 0.5) > 0.45).astype(float)
        if rng.random() < 0.5:
            img = np.maximum(img, (np.abs(((x / p) % 1) - 0.5) > 0.45).astype(float))
    elif kind == 4:  # fabric: crossed gratings, or swirls
        f1, f2 = rng.uniform(5, 20), rng.uniform(5, 20)
        img = np.sin(x * f1 * 6.28 + rng.uniform(0, 3) * np.sin(y * 6.28 * rng.uniform(1, 3))) \
            + np.sin(y * f2 * 6.28 + x * rng.uniform(0, 6))
    else:  # gradient
        img = x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1)
    img = (img - img.min()) / (np.ptp(img) or 1)
    img = rng.uniform(0, 0.4) + img * rng.uniform(0.2, 0.6)
    img += nrng.normal(0, rng.uniform(0, 0.06), img.shape)
    if rng.random() < 0.5:
        img = 1 - img
    im = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, side / 20)))
    return im


def make_one(rng, hershey, ttfs, side):
    kind = rng.random()
    if kind < 0.22:
        return draw_strokes(hershey_text(hershey, word(rng, LETTERS), rng), side, rng)
    if kind < 0.40:
        return font_text(ttfs, word(rng, LETTERS), side, rng)
    if kind < 0.55:
        s = rng.choice(SYMBOLS)
        if ord(s) > 126 or rng.random() < 0.5:
            return font_text(ttfs, s + (rng.choice(SYMBOLS) if rng.random() < 0.2 else ""), side, rng)
        return draw_strokes(hershey_text(hershey, s, rng), side, rng)
    if kind < 0.70:
        return draw_strokes(scribble(rng), side, rng)
    if kind < 0.85:
        return draw_strokes(shape(rng), side, rng)
    return texture(side, rng)


def truetype_fonts():
    fonts = sorted(p for d in FONT_DIRS for p in glob.glob(d + "/*.ttf")
                   if "Math" not in p and "ExtraLight" not in p)
    if not fonts:
        sys.exit("make-nondigits: no TrueType fonts found in " + ", ".join(FONT_DIRS))
    return fonts


def write_idx(path, data):
    """Writes data to path atomically: a temporary file, fsync, rename."""
    tmp = path + ".tmp-%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--side", type=int, default=112)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    hershey = {n: load_hershey(n) for n in HERSHEY_FONTS}
    ttfs = truetype_fonts()
    data = bytearray()
    made = 0
    while made < a.count:
        im = make_one(rng, hershey, ttfs, a.side)
        if im is None or not im.getbbox():
            continue
        data += im.tobytes()
        made += 1
    write_idx(a.out, struct.pack(">IIII", 0x803, a.count, a.side, a.side) + data)


if __name__ == "__main__":
    main()
