"""Nothing acknowledged is lost: four clients post feedback as fast as they
can while the server is killed with SIGKILL at random moments, several
times; after each restart every record that got a 201 is there with the
content it was posted with (label, prediction, version, and for SQLite the
stored image and original upload to the byte), ids are never reused, and
for SQLite PRAGMA integrity_check says ok.

usage: test_feedback_crash.py [LOCATION]   (default: a SQLite file in a
temporary directory; a postgresql:// URL runs the same test against it, the
content checked through GET /v1/feedback)"""

import json
import os
import random
import socket
import sqlite3
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import Server, check, finish, mnist_test, request  # noqa: E402

ROUNDS = 5
digits = mnist_test(40)
location = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(prefix="mnist-crash-"), "fb.db")
is_sqlite = "://" not in location
rng = random.Random(20261205)

acked = {}          # id -> (label, prediction, version, digit index)
acked_lock = threading.Lock()
posted = [0]


def post_raw(port, body):
    """One POST on a fresh connection; (status, body) or None when the
    server went away mid-request (not acknowledged: may or may not be stored)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"POST /v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, payload = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, payload
    except (OSError, ValueError, IndexError):
        return None


def client(port, stop, cid):
    n = 0
    while not stop.is_set():
        k = (cid * 1000 + n) % len(digits)
        px, lab = digits[k]
        version = "c%d-%d" % (cid, n)
        pred = (lab + 1 + cid) % 10
        body = json.dumps({"pixels": list(px), "label": lab, "prediction": pred, "version": version}).encode()
        r = post_raw(port, body)
        n += 1
        if r is None:
            continue
        status, payload = r
        if status == 201:
            rid = json.loads(payload)["id"]
            with acked_lock:
                check(rid not in acked, "id %d acknowledged twice" % rid)
                acked[rid] = (lab, pred, version, k)
        with acked_lock:
            posted[0] += 1


def stored_records():
    """id -> (label, prediction, version, image floats, original) as stored."""
    out = {}
    if is_sqlite:
        c = sqlite3.connect(location)
        for rid, lab, pred, ver, img, orig in c.execute(
                "SELECT id, label, prediction, model_version, image, original FROM feedback"):
            out[rid] = (lab, pred, ver, img, orig)
        c.close()
        return out
    srv = Server("--feedback-db", location, "--feedback-rate", "0")
    after = 0
    while True:
        page = request(srv.port, "GET", "/v1/feedback?limit=1000&after=%d" % after).json()
        for x in page["records"]:
            out[x["id"]] = (x["label"], x["prediction"], x["version"], None, None)
        if not page["records"]:
            break
        after = page["next_after"]
    srv.stop()
    return out


def verify(round_no):
    stored = stored_records()
    missing = [i for i in acked if i not in stored]
    check(not missing, "round %d: %d of %d acknowledged records missing: %r" %
          (round_no, len(missing), len(acked), missing[:10]))
    wrong = 0
    for rid, (lab, pred, ver, k) in acked.items():
        if rid not in stored:
            continue
        s = stored[rid]
        ok = s[0] == lab and s[1] == pred and s[2] == ver
        if ok and is_sqlite:
            px = digits[k][0]
            ok = json.loads(s[4]) == {"pixels": list(px), "label": lab, "prediction": pred, "version": ver}
            # the server's normalisation of a 28x28 MNIST digit: its model view
            ok = ok and len(s[3]) == 784 * 4 and all(0.0 <= v <= 1.0 for v in struct.unpack("<784f", s[3]))
        wrong += not ok
    check(wrong == 0, "round %d: %d acknowledged records differ from what was posted" % (round_no, wrong))
    if is_sqlite:
        c = sqlite3.connect(location)
        res = c.execute("PRAGMA integrity_check").fetchall()
        c.close()
        check(res == [("ok",)], "round %d: integrity_check %r" % (round_no, res))


for rnd in range(1, ROUNDS + 1):
    srv = Server("--feedback-db", location, "--feedback-rate", "0")
    before = len(acked)
    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(srv.port, stop, c)) for c in range(4)]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.3, 1.5))
    srv.kill()  # SIGKILL, mid-commit for all we know
    stop.set()
    for t in threads:
        t.join(30)
    check(len(acked) > before, "round %d: posts were acknowledged before the kill (%d)" % (rnd, len(acked) - before))
    verify(rnd)

print("%d posts answered, %d acknowledged, %d kills" % (posted[0], len(acked), ROUNDS))
finish()
