"""hostile_images: builders of malformed, extreme and unusual image files
for the hostile-input tests and the fuzz seed corpora. PNG, BMP and GIF
are written byte by byte with the standard library, so every header field
can lie; the JPEG variants (progressive, CMYK) come from Pillow."""

import io
import struct
import zlib


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png_raw(w, h, idat, depth=8, ctype=0, interlace=0, extra=b""):
    """A PNG whose IHDR says w x h and whose IDAT holds idat (already
    deflated): nothing forces the two to agree."""
    return (b"\x89PNG\r\n\x1a\n" +
            png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)) +
            extra + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def png_grey(w, h, px, depth=8):
    """A greyscale PNG of w x h bytes px, at 8 or 16 bits a sample."""
    rows = []
    for y in range(h):
        row = px[y * w:(y + 1) * w]
        if depth == 16:
            row = b"".join(bytes((v, v)) for v in row)  # v * 257: the same grey
        rows.append(b"\x00" + row)
    return png_raw(w, h, zlib.compress(b"".join(rows), 9), depth=depth)


def png_declared(w, h):
    """A tiny PNG that declares w x h: refused on its header alone."""
    return png_raw(w, h, zlib.compress(b"\x00" * 64))


def png_bomb(inflated_bytes, w=1, h=1):
    """A small PNG (w x h) whose IDAT inflates to inflated_bytes of zeros:
    far more than the image can need."""
    z = zlib.compressobj(9)
    chunk = b"\x00" * (1 << 20)
    out = []
    left = inflated_bytes
    while left > 0:
        n = min(left, len(chunk))
        out.append(z.compress(chunk[:n]))
        left -= n
    out.append(z.flush())
    return png_raw(w, h, b"".join(out))


def png_fill(w, h, value=0):
    """A w x h greyscale PNG of one value: large when decoded, small on the
    wire (a legal decompression bomb within the pixel limit)."""
    z = zlib.compressobj(9)
    row = b"\x00" + bytes((value,)) * w
    parts = [z.compress(row) for _ in range(h)]
    parts.append(z.flush())
    return png_raw(w, h, b"".join(parts))


def bmp(w, h, px, declared_w=None, declared_h=None, offset=None, bpp=24, size_field=None):
    """A bottom-up 24-bit BMP of greyscale px whose header may lie about the
    dimensions, the pixel data offset, the bit depth or the file size."""
    dw = w if declared_w is None else declared_w
    dh = h if declared_h is None else declared_h
    stride = (w * 3 + 3) & ~3
    data = bytearray()
    for y in range(h - 1, -1, -1):
        row = b"".join(bytes((v, v, v)) for v in px[y * w:(y + 1) * w])
        data += row + b"\x00" * (stride - len(row))
    off = 54 if offset is None else offset
    total = 54 + len(data)
    head = b"BM" + struct.pack("<IHHI", total if size_field is None else size_field, 0, 0, off)
    info = struct.pack("<IiiHHIIiiII", 40, dw, dh, 1, bpp, 0, len(data), 2835, 2835, 0, 0)
    return head + info + bytes(data)


def gif_animated(w, h, frames):
    """An animated GIF89a (NETSCAPE loop) of greyscale frames, each w*h bytes,
    LZW at 9 bits with a clear code every 250 pixels."""
    palette = b"".join(bytes((i, i, i)) for i in range(256))

    def lzw(grey):
        codes = []
        for i in range(0, len(grey), 250):
            codes.append(256)
            codes.extend(grey[i:i + 250])
        codes.append(257)
        bits = nbits = 0
        data = bytearray()
        for c in codes:
            bits |= c << nbits
            nbits += 9
            while nbits >= 8:
                data.append(bits & 0xff)
                bits >>= 8
                nbits -= 8
        if nbits:
            data.append(bits & 0xff)
        return b"".join(bytes((len(data[i:i + 255]),)) + bytes(data[i:i + 255])
                        for i in range(0, len(data), 255)) + b"\x00"
    out = b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + palette
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for f in frames:
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # 0.1 s a frame
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x08" + lzw(f)
    return out + b"\x3b"


def jpeg(w, h, px, mode="L", progressive=False, quality=90):
    """A JPEG of greyscale px through Pillow: mode L (grey), RGB or CMYK
    (Adobe's inverted CMYK, as Photoshop writes it)."""
    from PIL import Image
    im = Image.frombytes("L", (w, h), bytes(px))
    if mode == "RGB":
        im = im.convert("RGB")
    elif mode == "CMYK":
        im = im.convert("CMYK")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, progressive=progressive)
    return buf.getvalue()


def pgm(w, h, px, maxval=255):
    return b"P5\n%d %d\n%d\n" % (w, h, maxval) + bytes(px)
