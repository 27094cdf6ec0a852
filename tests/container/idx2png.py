#!/usr/bin/python3
"""Writes MNIST test images as PNG files the way a user's scan or drawing
looks (dark ink on a white page, enlarged), plus their labels, so the
container test can POST real encoded images. PNG chunks are written by hand
with zlib: no imaging library needed.

Usage: idx2png.py DATA_DIR OUT_DIR FIRST COUNT [SCALE]
Prints one line per image: "PATH LABEL".
"""
import os
import struct
import sys
import zlib


def read_idx(path, magic):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or struct.unpack(">I", data[:4])[0] != magic:
        sys.exit(f"{path}: not an IDX file with magic {magic:#x}")
    return data


def png_chunk(kind, payload):
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def write_png(path, rows, width, height):
    """rows: list of bytes, one greyscale byte a pixel (8-bit, colour type 0)."""
    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 on every row
    png = (b"\x89PNG\r\n\x1a\n"
           + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + png_chunk(b"IDAT", zlib.compress(raw, 9))
           + png_chunk(b"IEND", b""))
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(png)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: idx2png.py DATA_DIR OUT_DIR FIRST COUNT [SCALE]")
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    first, count = int(sys.argv[3]), int(sys.argv[4])
    scale = int(sys.argv[5]) if len(sys.argv) == 6 else 4
    images = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte"), 0x803)
    labels = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte"), 0x801)
    n, h, w = struct.unpack(">III", images[4:16])
    if (h, w) != (28, 28) or first < 0 or count < 1 or first + count > n:
        sys.exit(f"images {first}..{first + count - 1} not in {n} images of {h}x{w}")
    os.makedirs(out_dir, exist_ok=True)
    for i in range(first, first + count):
        px = images[16 + i * 784:16 + (i + 1) * 784]
        rows = []
        for y in range(28):
            # Invert (ink dark on white) and enlarge by pixel repetition.
            row = bytes(255 - px[y * 28 + x] for x in range(28) for _ in range(scale))
            rows += [row] * scale
        path = os.path.join(out_dir, f"digit-{i}.png")
        write_png(path, rows, 28 * scale, 28 * scale)
        print(path, labels[8 + i])


if __name__ == "__main__":
    main()
