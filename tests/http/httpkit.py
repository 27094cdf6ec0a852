"""httpkit: what the HTTP tests share: testkit's counter and helpers, starting and
stopping the real mnist-server on 127.0.0.1 port 0, a small HTTP client on
raw sockets (so tests control every byte and the connection) that checks
every answer of a request it sends against the OpenAPI document
(web/openapi.json), MNIST test digits, and encoders that turn a digit into
the images users send (PNG, GIF, PGM/PPM here; JPEG and BMP through the
imgwrite helper)."""

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testkit import check, env_path, finish, run  # noqa: E402,F401  (re-exported to the tests)


SERVER = env_path("MNIST_SERVER")
IMGWRITE = env_path("MNIST_IMGWRITE")
SOURCE = env_path("MNIST_SOURCE_DIR")
DATA = env_path("MNIST_DATA_DIR")
MODEL = os.path.join(SOURCE, "models", "mnist-cnn.bin")


# ---------------------------------------------------------------- server

class Server:
    """The real binary, on 127.0.0.1 and a free port, its output captured."""

    def __init__(self, *args, env=None, expect_start=True):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("MNIST_") and k not in ("MNIST_DATA_DIR", "MNIST_SOURCE_DIR"):
                del e[k]
        if env:
            e.update(env)
        cmd = [SERVER, "--host", "127.0.0.1", "--port", "0"]
        if "--model" not in args and "MNIST_MODEL" not in (env or {}):
            cmd += ["--model", MODEL]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.out_lines = []
        self.err_lines = []
        self.port = None
        self._ready = threading.Event()
        self._t1 = threading.Thread(target=self._read, args=(self.proc.stdout, self.out_lines, True))
        self._t2 = threading.Thread(target=self._read, args=(self.proc.stderr, self.err_lines, False))
        self._t1.daemon = self._t2.daemon = True
        self._t1.start()
        self._t2.start()
        if expect_start:
            if not self._ready.wait(20) or self.port is None:
                self.kill()
                raise RuntimeError("server did not start: %s" % "".join(self.err_lines))

    def _read(self, f, lines, is_out):
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if is_out and line.startswith("listening on http://127.0.0.1:"):
                self.port = int(line.strip().rsplit(":", 1)[1])
                self._ready.set()
        self._ready.set()

    def wait(self, timeout=30):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self._t1.join(5)
        self._t2.join(5)
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stdout(self):
        return "".join(self.out_lines)

    def stderr(self):
        return "".join(self.err_lines)

    def wait_output(self, text, timeout=5):
        """Whether text shows in the server's stdout or stderr within
        timeout seconds: its start-up lines are written after it starts
        answering, and read by a thread."""
        end = time.time() + timeout
        while text not in self.stdout() + self.stderr():
            if time.time() > end:
                return False
            time.sleep(0.02)
        return True


# ---------------------------------------------------------------- OpenAPI

class OpenAPI:
    """web/openapi.json, and the check of one answer against it: the
    operation of its path and method (a known path with another method:
    405; an unknown path: 404), a declared status (or "default"), a
    declared Content-Type, and a JSON body valid under its schema."""

    def __init__(self, path):
        import json
        import re
        import jsonschema
        self.doc = json.load(open(path))
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.validator = jsonschema.Draft202012Validator
        self.paths = []
        for template, item in self.doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.paths.append((re.compile(rx), template, item))
        # literal paths before templates: /v2/repository/index is not a model
        self.paths.sort(key=lambda p: "{" in p[1])

    def _schema_errors(self, schema, value):
        v = self.validator(schema, resolver=self.resolver)
        return [e.message for e in v.iter_errors(value)][:3]

    def _error_schema(self, path):
        return {"$ref": "#/components/schemas/" + ("OipError" if path.startswith("/v2") else "Error")}

    def problems(self, method, target, r):
        """What is wrong with answer r to method target ([] if nothing)."""
        import json
        path = target.split("?", 1)[0]
        ctype = (r.header("content-type") or "").split(";")[0].strip().lower()
        if method == "OPTIONS" and r.status == 204:
            return []
        found = next(((t, item) for rx, t, item in self.paths if rx.match(path)), None)
        op = None
        if found:
            item = found[1]
            op = item.get("get" if method == "HEAD" else method.lower())
        if op is None:
            # unknown path (404), another method (405), or refused before routing
            if r.status < 400:
                return ["%s %s answered %d but the document has no such operation" % (method, path, r.status)]
            if found and r.status == 405 and not r.header("allow"):
                return ["405 without an Allow header"]
            schema = self._error_schema(path)
        else:
            responses = op["responses"]
            resp = responses.get(str(r.status)) or responses.get("default")
            if resp is None:
                return ["%s %s: status %d is not declared" % (method, found[0], r.status)]
            while "$ref" in resp:
                resp = self.doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
            content = resp.get("content")
            if method == "HEAD" or not content:
                return []
            if ctype not in content:
                return ["%s %s %d: Content-Type %r, the document says %s" % (method, found[0], r.status, ctype,
                                                                            sorted(content))]
            schema = content[ctype].get("schema", {})
            if ctype != "application/json":
                return []
        if method == "HEAD" or r.status == 204:
            return []
        if ctype != "application/json":
            return ["%s %s %d: an error as %r, not JSON" % (method, path, r.status, ctype)]
        try:
            body = json.loads(r.body.decode("utf-8"))
        except ValueError as e:
            return ["%s %s %d: the body is not JSON: %s" % (method, path, r.status, e)]
        return ["%s %s %d: %s" % (method, found[0] if found else path, r.status, m)
                for m in self._schema_errors(schema, body)]


_openapi = None


def openapi():
    global _openapi
    if _openapi is None:
        _openapi = OpenAPI(os.path.join(SOURCE, "web", "openapi.json"))
    return _openapi


def check_openapi(method, target, r):
    """Records a failure for each way answer r breaks the document."""
    for p in openapi().problems(method, target, r):
        check(False, "OpenAPI: " + p)


# ---------------------------------------------------------------- client

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body

    def json(self):
        import json
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        return self.headers.get(name.lower())


class Conn:
    """One keep-alive connection; requests are written byte for byte."""

    def __init__(self, port, timeout=None):
        # A server under memcheck runs ~50x slower: its runner raises this.
        if timeout is None:
            timeout = float(os.environ.get("MNIST_TEST_IO_TIMEOUT", "30"))
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self.buf += chunk

    def read_response(self, head=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        hdr, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = hdr.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        if head or status in (204, 304) or 100 <= status < 200:
            pass
        elif "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                line, self.buf = self.buf.split(b"\r\n", 1)
                n = int(line.split(b";")[0], 16)
                while len(self.buf) < n + 2:
                    self._fill()
                body += self.buf[:n]
                self.buf = self.buf[n + 2:]
                if n == 0:
                    break
        else:
            try:
                while True:
                    self._fill()
            except ConnectionError:
                pass
            body, self.buf = self.buf, b""
        return Response(status, reason, headers, body)

    def request(self, method, path, body=None, headers=None, content_type=None):
        h = {"Host": "127.0.0.1"}
        if content_type:
            h["Content-Type"] = content_type
        if body is not None:
            h["Content-Length"] = str(len(body))
        if headers:
            h.update(headers)
        req = "%s %s HTTP/1.1\r\n" % (method, path)
        req += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        self.send(req.encode("latin-1") + (body or b""))
        r = self.read_response(head=(method == "HEAD"))
        check_openapi(method, path, r)
        return r


def expect_error(what, r, status, code):
    """Checks r is API.md's error object with this status and code."""
    ok = check(r.status == status, "%s: status %d, expected %d: %r" % (what, r.status, status, r.body[:200]))
    if ok:
        e = r.json().get("error", {})
        check(e.get("status") == status and e.get("code") == code and e.get("message"),
              "%s: error %r" % (what, e))


def request(port, method, path, body=None, headers=None, content_type=None):
    c = Conn(port)
    try:
        return c.request(method, path, body, headers, content_type)
    finally:
        c.close()


def predict(port, body, content_type, query=""):
    return request(port, "POST", "/predict" + query, body, content_type=content_type)


# ---------------------------------------------------------------- data

def mnist_test(count):
    """The first `count` t10k digits: list of (784-byte bytes, label)."""
    def find(base):
        for name in (base, base.replace("-idx", ".idx")):
            p = os.path.join(DATA, name)
            if os.path.exists(p):
                return open(p, "rb").read()
            if os.path.exists(p + ".gz"):
                import gzip
                return gzip.open(p + ".gz").read()
        raise FileNotFoundError("MNIST %s not found in %s" % (base, DATA))
    imgs = find("t10k-images-idx3-ubyte")
    labs = find("t10k-labels-idx1-ubyte")
    out = []
    for i in range(count):
        out.append((imgs[16 + 784 * i:16 + 784 * (i + 1)], labs[8 + i]))
    return out


# ---------------------------------------------------------------- images

def transform(px, scale=1, invert=False, pad=0, shift=(0, 0)):
    """A 28x28 digit scaled up (bilinear), padded, shifted, optionally
    black on white: returns (w, h, grey bytes)."""
    n = 28 * scale
    w = h = n + 2 * pad
    out = bytearray(w * h)
    for y in range(n):
        sy = (y + 0.5) / scale - 0.5
        y0 = min(max(int(sy // 1), 0), 27)
        y1 = min(y0 + 1, 27)
        fy = min(max(sy - y0, 0.0), 1.0)
        for x in range(n):
            sx = (x + 0.5) / scale - 0.5
            x0 = min(max(int(sx // 1), 0), 27)
            x1 = min(x0 + 1, 27)
            fx = min(max(sx - x0, 0.0), 1.0)
            v = (px[y0 * 28 + x0] * (1 - fx) * (1 - fy) + px[y0 * 28 + x1] * fx * (1 - fy) +
                 px[y1 * 28 + x0] * (1 - fx) * fy + px[y1 * 28 + x1] * fx * fy)
            ty, tx = y + pad + shift[1], x + pad + shift[0]
            if 0 <= ty < h and 0 <= tx < w:
                out[ty * w + tx] = int(v + 0.5)
    if invert:
        out = bytearray(255 - v for v in out)
    return w, h, bytes(out)


def grey_to(grey, channels, ink=(0, 0, 255), alpha_ink=False):
    """Grey (ink high) to 2/3/4 channels: RGB(A) ink colour on white, or
    transparent background with the ink only in alpha."""
    out = bytearray()
    for v in grey:
        if channels == 2:
            out += bytes((0, v)) if alpha_ink else bytes((255 - v, 255))
        elif channels == 3:
            out += bytes(int(255 + (c - 255) * v / 255) for c in ink)
        elif channels == 4:
            if alpha_ink:
                out += bytes((ink[0], ink[1], ink[2], v))
            else:
                out += bytes(int(255 + (c - 255) * v / 255) for c in ink) + b"\xff"
    return bytes(out)


def png(w, h, px, channels=1):
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    stride = w * channels
    raw = b"".join(b"\x00" + px[y * stride:(y + 1) * stride] for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pgm(w, h, px):
    return b"P5\n%d %d\n255\n" % (w, h) + px


def ppm(w, h, rgb):
    return b"P6\n%d %d\n255\n" % (w, h) + rgb


def gif(w, h, grey):
    """A GIF with a 256-grey palette, LZW codes kept at 9 bits by a clear
    code every 250 pixels (valid, if not small)."""
    palette = b"".join(bytes((i, i, i)) for i in range(256))
    codes = []
    for i in range(0, len(grey), 250):
        codes.append(256)
        codes.extend(grey[i:i + 250])
    codes.append(257)
    bits = 0
    nbits = 0
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
    blocks = b"".join(bytes((len(data[i:i + 255]),)) + bytes(data[i:i + 255])
                      for i in range(0, len(data), 255)) + b"\x00"
    return (b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + palette +
            b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x08" + blocks + b"\x3b")


_tmp = tempfile.mkdtemp(prefix="mnist-http-")


def via_helper(fmt, w, h, px, channels=1, quality=90):
    src = os.path.join(_tmp, "in.raw")
    dst = os.path.join(_tmp, "out." + fmt)
    with open(src, "wb") as f:
        f.write(px)
    subprocess.run([IMGWRITE, fmt, str(w), str(h), str(channels), src, dst, str(quality)],
                   check=True)
    with open(dst, "rb") as f:
        return f.read()


def jpeg(w, h, px, channels=1, quality=90):
    return via_helper("jpg", w, h, px, channels, quality)


def bmp(w, h, px, channels=1):
    return via_helper("bmp", w, h, px, channels)


def multipart(fields, boundary="----mnistTestBoundary7MA4YWxk"):
    """fields: list of (name, filename or None, content-type or None, bytes)."""
    out = b""
    for name, filename, ctype, data in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        disp = 'Content-Disposition: form-data; name="%s"' % name
        if filename is not None:
            disp += '; filename="%s"' % filename
        out += disp.encode() + b"\r\n"
        if ctype:
            out += ("Content-Type: %s\r\n" % ctype).encode()
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary
