#!/usr/bin/python3
"""make-digits.py: digits in the forms users send that MNIST lacks, as
more labelled training images for mnist-train --more-digits: typeset
digits (TrueType print and handwriting fonts, Hershey stroke fonts) and
MNIST training digits degraded the way low-resolution scans are (shrunk
to a few pixels a side and blown up again, blurred, thickened, some as
thick as a felt marker writes them).

Writes PREFIX-images-idx3-ubyte (greyscale, ink high, SIDE x SIDE) and
PREFIX-labels-idx1-ubyte. The MNIST images it degrades are the first
--mnist-count of the training set, so a validation tail held out of
training (mnist-train --val N, the last N) is never among them.

Usage: scripts/make-digits.py --count N --seed S --out PREFIX --mnist DIR
       [--mnist-count 55000] [--side 112]
Needs python3-pil, python3-numpy, hershey-fonts-data and the fonts of
make-nondigits.py.
"""
import argparse
import os
import random
import struct
import sys

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
nd = __import__("make-nondigits")


def read_idx(path):
    data = open(path, "rb").read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def degraded(img28, side, rng):
    """An MNIST digit as a blurry low-resolution scan shows it."""
    im = Image.fromarray(img28).resize((side, side), Image.BILINEAR)
    low = rng.choice([8, 8, 10, 12, 16])
    im = im.resize((low, low), Image.BOX).resize((side, side), Image.BICUBIC)
    if rng.random() < 0.3:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(1, side / 32)))
    r = rng.random()
    if r < 0.2:  # a felt marker: strokes a quarter of the digit's height, soft-edged
        size = rng.choice([9, 13, 17]) * side // 112  # in proportion to the image
        im = im.filter(ImageFilter.MaxFilter(max(3, size | 1)))
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(1, side / 24)))
    elif r < 0.5:
        im = im.filter(ImageFilter.MaxFilter(rng.choice([3, 5, 7])))
    a = np.asarray(im, dtype=np.float32)
    if rng.random() < 0.7:  # an inked scan: a hard edge at a random level
        t = rng.uniform(0.25, 0.6) * a.max()
        a = np.clip((a - t) * rng.uniform(4, 12), 0, 255)
    return Image.fromarray(a.astype(np.uint8))


def typeset(digit, hershey, ttfs, side, rng):
    if rng.random() < 0.3:
        return nd.draw_strokes(nd.hershey_text(hershey, str(digit), rng), side, rng)
    return nd.font_text(ttfs, str(digit), side, rng)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--side", type=int, default=112)
    ap.add_argument("--mnist", required=True, help="directory of the MNIST IDX files")
    ap.add_argument("--mnist-count", type=int, default=55000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    hershey = {n: nd.load_hershey(n) for n in nd.HERSHEY_FONTS}
    ttfs = nd.truetype_fonts()
    images = read_idx(os.path.join(a.mnist, "train-images-idx3-ubyte"))[:a.mnist_count]
    labels = read_idx(os.path.join(a.mnist, "train-labels-idx1-ubyte"))[:a.mnist_count]
    pix, lab = bytearray(), bytearray()
    while len(lab) < a.count:
        if rng.random() < 0.5:
            i = rng.randrange(len(images))
            im, d = degraded(images[i], a.side, rng), int(labels[i])
        else:
            d = rng.randrange(10)
            im = typeset(d, hershey, ttfs, a.side, rng)
        if im is None or not im.getbbox():
            continue
        pix += im.tobytes()
        lab.append(d)
    nd.write_idx(a.out + "-images-idx3-ubyte", struct.pack(">IIII", 0x803, a.count, a.side, a.side) + pix)
    nd.write_idx(a.out + "-labels-idx1-ubyte", struct.pack(">II", 0x801, a.count) + lab)


if __name__ == "__main__":
    main()
