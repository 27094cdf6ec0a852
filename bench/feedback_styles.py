"""feedback_styles.py: digits drawn synthetically in handwriting styles that
MNIST has few of, as the page's users might draw them: strokes on a
280x280 canvas (dark ink on white, as the page sends), each sample jittered
in size, slant, position, stroke width and shape.

  1flag   a 1 with a long flag and a base
  7bar    a 7 with a crossbar
  4open   a 4 open at the top
  9curl   a 9 whose tail curls back left
  2loop   a 2 with a loop at the bottom left
  0slash, 3flat, 1serif: a slashed zero, a flat-topped 3, a 1 with serifs
  4seg, 7seg, 9seg, 5seg, 2seg: seven-segment digits
  hollow-STYLE: drawn in outline ("bubble" digits); circled-STYLE: in a ring

The bundled models read the plain styles well (measured: 98-100%); the
outlined and circled ones they mostly read as 8 or 0.

usage: feedback_styles.py OUT_DIR STYLE[,STYLE...] COUNT SEED
writes OUT_DIR/<style>-<i>.png and prints "<file> <digit>" per line."""

import math
import os
import random
import sys

from PIL import Image, ImageDraw

DIGIT = {"1flag": 1, "7bar": 7, "4open": 4, "9curl": 9, "2loop": 2, "0slash": 0, "3flat": 3,
         "1serif": 1, "4seg": 4, "7seg": 7, "9seg": 9, "5seg": 5, "2seg": 2}

# seven-segment digits: segments a (top), b (top right), c (bottom right),
# d (bottom), e (bottom left), f (top left), g (middle)
SEGMENTS = {"4seg": "fgbc", "7seg": "abc", "9seg": "abcdfg", "5seg": "afgcd", "2seg": "abged"}


def arc(cx, cy, rx, ry, a0, a1, n=24):
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


def strokes(style, r):
    """The strokes of one sample in a unit box (x, y in [0, 1], y down)."""
    j = lambda s: r.uniform(-s, s)  # noqa: E731
    if style == "1flag":
        top = (0.52 + j(0.04), 0.12 + j(0.03))
        return [[(0.22 + j(0.06), 0.38 + j(0.08)), top],          # long flag
                [top, (0.50 + j(0.04), 0.88 + j(0.03))],          # stem
                [(0.28 + j(0.05), 0.88 + j(0.02)), (0.74 + j(0.05), 0.88 + j(0.02))]]  # base
    if style == "7bar":
        tl, tr = (0.22 + j(0.05), 0.15 + j(0.03)), (0.80 + j(0.05), 0.15 + j(0.03))
        bottom = (0.42 + j(0.08), 0.90 + j(0.03))
        mid = ((tr[0] + bottom[0]) / 2, (tr[1] + bottom[1]) / 2)
        return [[tl, tr, bottom],
                [(mid[0] - 0.20 + j(0.04), mid[1] + j(0.04)), (mid[0] + 0.20 + j(0.04), mid[1] + j(0.04))]]
    if style == "4open":
        lx, rx = 0.25 + j(0.05), 0.62 + j(0.05)
        bar = 0.58 + j(0.05)
        return [[(lx + j(0.03), 0.12 + j(0.04)), (lx, bar), (0.85 + j(0.04), bar)],  # open left arm
                [(rx, 0.10 + j(0.04)), (rx + j(0.03), 0.90 + j(0.03))]]
    if style == "9curl":
        cx, cy, rr = 0.50 + j(0.04), 0.30 + j(0.03), 0.20 + j(0.03)
        head = arc(cx, cy, rr, rr * (0.9 + j(0.1)), 0, 360)
        x0 = cx + rr
        tail = [(x0, cy), (x0 - 0.02, 0.65 + j(0.04))] + arc(x0 - 0.22, 0.70 + j(0.03), 0.20, 0.18, 0, 160, 12)
        return [head, tail]
    if style == "2loop":
        top = arc(0.50 + j(0.03), 0.30 + j(0.03), 0.22, 0.18, 190, 370, 16)
        end = top[-1]
        loop = arc(0.30 + j(0.03), 0.80 + j(0.02), 0.09, 0.08, -90, 270, 16)
        return [top, [end, (0.30, 0.72)], loop, [(0.36, 0.84), (0.82 + j(0.05), 0.86 + j(0.03))]]
    if style == "0slash":
        ring = arc(0.5 + j(0.03), 0.5 + j(0.03), 0.24 + j(0.03), 0.38 + j(0.03), 0, 360, 32)
        return [ring, [(0.70 + j(0.04), 0.12 + j(0.04)), (0.30 + j(0.04), 0.88 + j(0.04))]]
    if style == "3flat":
        return [[(0.25 + j(0.04), 0.12 + j(0.03)), (0.75 + j(0.04), 0.12 + j(0.03)), (0.45 + j(0.04), 0.42 + j(0.03))],
                arc(0.47 + j(0.03), 0.64 + j(0.03), 0.26, 0.24, -100, 150, 20)]
    if style == "1serif":
        x = 0.5 + j(0.04)
        return [[(x, 0.12), (x + j(0.03), 0.88)], [(x - 0.2 + j(0.03), 0.12 + j(0.02)), (x + 0.2 + j(0.03), 0.12 + j(0.02))],
                [(x - 0.2 + j(0.03), 0.88 + j(0.02)), (x + 0.2 + j(0.03), 0.88 + j(0.02))]]
    if style in SEGMENTS:
        lx, rx, ty, my, by = 0.28 + j(0.03), 0.72 + j(0.03), 0.12 + j(0.03), 0.5 + j(0.03), 0.88 + j(0.03)
        seg = {"a": [(lx, ty), (rx, ty)], "b": [(rx, ty), (rx, my)], "c": [(rx, my), (rx, by)],
               "d": [(lx, by), (rx, by)], "e": [(lx, my), (lx, by)], "f": [(lx, ty), (lx, my)],
               "g": [(lx, my), (rx, my)]}
        return [seg[k] for k in SEGMENTS[style]]
    raise ValueError("unknown style %r (%s)" % (style, ", ".join(DIGIT)))


def draw(style, r):
    """One sample; "hollow-" before a style draws its strokes in outline,
    "circled-" puts a ring around it."""
    for pre in ("hollow-", "circled-"):
        if style.startswith(pre):
            return draw_strokes(style[len(pre):], r, pre[:-1])
    return draw_strokes(style, r, "")


def draw_strokes(style, r, how):
    size = 280
    img = Image.new("L", (size, size), 255)
    d = ImageDraw.Draw(img)
    scale = size * r.uniform(0.55, 0.85)
    slant = r.uniform(-0.25, 0.25)
    ox = size / 2 - scale / 2 + r.uniform(-25, 25)
    oy = size / 2 - scale / 2 + r.uniform(-25, 25)
    width = int(r.uniform(12, 26))
    passes = [(0, width)]
    if how == "hollow":
        width = int(r.uniform(30, 40))
        passes = [(0, width), (255, width - int(r.uniform(10, 14)))]
    lines = [[(ox + (x + slant * (0.5 - y)) * scale, oy + y * scale) for x, y in s] for s in strokes(style, r)]
    for ink, w in passes:
        for pts in lines:
            d.line(pts, fill=ink, width=w, joint="curve")
            for p in (pts[0], pts[-1]):
                d.ellipse([p[0] - w / 2, p[1] - w / 2, p[0] + w / 2, p[1] + w / 2], fill=ink)
    if how == "circled":
        c, rr = (ox + scale / 2, oy + scale / 2), scale * r.uniform(0.62, 0.72)
        d.ellipse([c[0] - rr, c[1] - rr, c[0] + rr, c[1] + rr], outline=0, width=int(r.uniform(8, 14)))
    return img


def main():
    out, styles, count, seed = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(out, exist_ok=True)
    r = random.Random(seed)
    for style in styles:
        for i in range(count):
            path = os.path.join(out, "%s-%d.png" % (style, i))
            draw(style, r).save(path)
            print(path, DIGIT[style.split("-")[-1]])


if __name__ == "__main__":
    main()
