"""mnist-server under abuse: bodies split at every byte, slow and silent
clients against the idle timeout, bodies over the limit (announced,
chunked, endless), truncated uploads, malformed requests, concurrent
clients (answers identical to one at a time) and a full queue (503 with
Retry-After). After each, the server must still answer correctly."""

import json
import os
import socket
import sys
import threading
import time
import base64

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import Conn, Server, check, finish, mnist_test, png, predict, request, transform  # noqa: E402

digits = mnist_test(16)
raw, label = digits[0]
# One worker, so concurrent requests queue up and get batched together.
srv = Server("--timeout", "2", "--max-body", "10000", "--threads", "1")
port = srv.port


def healthy(what):
    r = predict(port, raw, "application/octet-stream")
    check(r.status == 200 and r.json()["prediction"] == label, "still serving after %s" % what)


def strip(a):
    a = dict(a)
    a.pop("elapsed_ms", None)
    return a


ref = predict(port, raw, "application/octet-stream").json()

# --- a request written one byte at a time (headers and body)
c = Conn(port)
req = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Length: 784\r\n\r\n" + raw)
for i in range(len(req)):
    c.send(req[i:i + 1])
    if i % 50 == 0:
        time.sleep(0.001)
r = c.read_response()
check(r.status == 200 and strip(r.json()) == strip(ref), "byte-at-a-time request answered like one write")
c.close()

# --- slow client: headers never finished -> closed after the idle timeout
c = Conn(port, timeout=10)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
t0 = time.time()
try:
    data = c.sock.recv(1000)
except (ConnectionResetError, socket.timeout):
    data = b""
dt = time.time() - t0
check(data == b"" and 1.0 < dt < 8, "silent client dropped after the 2 s timeout (%.1f s)" % dt)
c.close()
# body started, then silence
c = Conn(port, timeout=10)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Length: 784\r\n\r\n" + raw[:100])
t0 = time.time()
try:
    data = c.sock.recv(1000)
except (ConnectionResetError, socket.timeout):
    data = b""
dt = time.time() - t0
check(data == b"" and 1.0 < dt < 8, "stalled upload dropped after the timeout (%.1f s)" % dt)
c.close()
# a slow but steady client is not cut off: the timeout is for idleness
c = Conn(port)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Length: 784\r\n\r\n")
for i in range(0, 784, 196):
    time.sleep(1.0)
    c.send(raw[i:i + 196])
r = c.read_response()
check(r.status == 200, "a slow steady upload (4 s, 1 s gaps) is answered: %d" % r.status)
c.close()
healthy("slow clients")

# --- announced body over the limit: 413 at once, body never read
c = Conn(port, timeout=5)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000000000\r\n\r\n")
try:
    r = c.read_response()
    check(r.status == 413 and r.json()["error"]["code"] == "payload_too_large",
          "Content-Length over the limit: 413 before the body")
except (socket.timeout, ConnectionError) as e:
    check(False, "no 413 for an announced huge body: %r" % e)
c.close()
c = Conn(port, timeout=5)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 20000\r\n"
       b"Expect: 100-continue\r\n\r\n")
r = c.read_response()
check(r.status == 413, "Expect: 100-continue over the limit gets 413, not 100 (%d)" % r.status)
c.close()

# --- chunked upload over the limit: cut at the limit
c = Conn(port, timeout=10)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Transfer-Encoding: chunked\r\n\r\n")
for _ in range(15):
    c.send(b"3e8\r\n" + b"\x01" * 1000 + b"\r\n")
c.send(b"0\r\n\r\n")
r = c.read_response()
check(r.status == 413 and "10000" in r.json()["error"]["message"], "chunked body over the limit: 413")
c.close()
c = Conn(port, timeout=10)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Transfer-Encoding: chunked\r\n\r\n")
cut = False
try:
    for _ in range(2000):  # 2 MB, far past the limit
        c.send(b"3e8\r\n" + b"\x01" * 1000 + b"\r\n")
except (BrokenPipeError, ConnectionResetError):
    cut = True
if not cut:
    # Everything fitted in socket buffers: the server must have hung up
    # (or answered 413) rather than kept reading.
    try:
        c.sock.settimeout(5)
        data = c.sock.recv(100)
        cut = data == b"" or data.startswith(b"HTTP/1.1 413")
    except ConnectionResetError:
        cut = True
    except socket.timeout:
        cut = False
check(cut, "an endless chunked upload is cut off")
c.close()
# a chunked body within the limit works
c = Conn(port)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(b"%x\r\n" % 98 + raw[i:i + 98] + b"\r\n"
                                                      for i in range(0, 784, 98)) + b"0\r\n\r\n")
r = c.read_response()
check(r.status == 200 and r.json()["prediction"] == label, "chunked upload within the limit")
c.close()
healthy("oversized bodies")

# --- truncated upload, then the client hangs up
c = Conn(port)
c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Length: 784\r\n\r\n" + raw[:300])
c.close()
# --- malformed requests
for junk in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
             b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 100000 + b"\r\n\r\n"):
    c = Conn(port, timeout=5)
    try:
        c.send(junk)
        c.sock.recv(4096)
    except OSError:
        pass
    c.close()
healthy("truncated and malformed requests")

# --- pipelined requests on one connection are answered in order
c = Conn(port)
one = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Length: 784\r\n\r\n")
c.send(one + digits[1][0] + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + one + digits[2][0])
r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
check(r1.status == 200 and r1.json()["prediction"] == digits[1][1], "pipelined 1")
check(r2.status == 200 and r2.json() == {"status": "ok"}, "pipelined 2")
check(r3.status == 200 and r3.json()["prediction"] == digits[2][1], "pipelined 3")
c.close()

# --- concurrent clients get exactly what they get one at a time
forms = []
for px, _ in digits:
    forms.append((px, "application/octet-stream"))
    w, h, g = transform(px, scale=2, invert=True)
    forms.append((png(w, h, g), "image/png"))
solo = [strip(predict(port, b, t).json()) for b, t in forms]
results = {}
errors = []


def client(k):
    try:
        c = Conn(port)
        for rep in range(3):
            for j in range(len(forms)):
                i = (j + k) % len(forms)
                r = c.request("POST", "/predict", forms[i][0], content_type=forms[i][1])
                results.setdefault(i, []).append(strip(r.json()) if r.status == 200 else r.status)
        c.close()
    except Exception as e:  # reported below
        errors.append(repr(e))


threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
check(not errors, "concurrent clients: %r" % errors[:3])
same = all(all(x == solo[i] for x in results.get(i, [])) for i in range(len(forms)))
check(same and sum(len(v) for v in results.values()) == 8 * 3 * len(forms),
      "8 concurrent clients x %d requests: every answer identical to one at a time" % (3 * len(forms)))
metrics = request(port, "GET", "/metrics").body.decode()
val = {l.split()[0]: float(l.split()[1]) for l in metrics.splitlines()
       if l.startswith("mnist_batch_requests_sum") or l.startswith("mnist_batch_requests_count")}
check(val.get("mnist_batch_requests_sum", 0) > val.get("mnist_batch_requests_count", 0),
      "some concurrent requests were run through the model together: %r" % val)
check(srv.stop() == 0, "exit 0")

# --- a full queue answers 503 overloaded with Retry-After, and recovers
srv = Server("--threads", "1", "--queue", "1", "--batch", "1")
port = srv.port
big = png(*transform(digits[0][0], scale=12, invert=True)[:2], transform(digits[0][0], scale=12, invert=True)[2])
heavy = json.dumps({"instances": [base64.b64encode(big).decode()] * 48}).encode()
statuses = []
lock = threading.Lock()


def blast():
    try:
        r = predict(port, heavy, "application/json")
        with lock:
            statuses.append((r.status, r.header("retry-after"),
                             r.json().get("error", {}).get("code") if r.status != 200 else None))
    except Exception as e:
        with lock:
            statuses.append((0, repr(e), None))


threads = [threading.Thread(target=blast) for _ in range(12)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
over = [s for s in statuses if s[0] == 503]
check(len(statuses) == 12 and all(s[0] in (200, 503) for s in statuses), "burst answers: %r" % statuses)
check(len(over) >= 1, "a full queue gives 503 (got %r)" % [s[0] for s in statuses])
check(all(s[1] and s[2] == "overloaded" for s in over), "503 has Retry-After and code overloaded")
check(any(s[0] == 200 for s in statuses), "queued requests are still answered")
r = predict(port, raw, "application/octet-stream")
check(r.status == 200 and r.json()["prediction"] == label, "serving again after overload")
check(srv.stop() == 0, "exit 0")
finish()
