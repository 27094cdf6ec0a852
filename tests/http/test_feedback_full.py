"""A full disk: the SQLite feedback store on a small filesystem of its own
(a 1 MiB tmpfs in a private mount namespace: `unshare -rm`, root or not).
Once a filler file takes the last byte, feedback posts get 507
insufficient_storage and store nothing, while predictions and health go
on; once the space is back, feedback is stored again. Every acknowledged
record is there and integrity_check says ok. Fails, never skips, when the
namespace or the mount cannot be had."""

import base64
import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

if os.environ.get("MNIST_FULL_NS") != "1":
    env = dict(os.environ, MNIST_FULL_NS="1")
    try:
        os.execvpe("unshare", ["unshare", "-rm", "--", sys.executable, os.path.abspath(__file__)], env)
    except OSError as e:
        print("FAIL: cannot run unshare for a private mount namespace: %s\n0 passed, 1 failed" % e)
        sys.exit(1)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import Server, check, expect_error, finish, mnist_test, png, request  # noqa: E402

digits = mnist_test(20)
mnt = tempfile.mkdtemp(prefix="mnist-full-")
r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], capture_output=True, text=True)
if r.returncode != 0:
    print("FAIL: cannot mount a 1 MiB tmpfs on %s: %s\n0 passed, 1 failed" % (mnt, r.stderr.strip()))
    sys.exit(1)
db = os.path.join(mnt, "feedback.db")
filler = os.path.join(mnt, "filler")


def post(port, k):
    px, lab = digits[k % len(digits)]
    doc = {"image": "data:image/png;base64," + base64.b64encode(png(28, 28, px)).decode(), "label": lab}
    return request(port, "POST", "/v1/feedback", json.dumps(doc).encode(), content_type="application/json")


def fill():
    """Writes the filler until the filesystem is full."""
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        check(e.errno == errno.ENOSPC, "the filler stops at ENOSPC: %s" % e)
    finally:
        os.close(fd)


srv = Server("--feedback-db", db, "--feedback-rate", "0")
port = srv.port
acked = []
for k in range(5):
    r = post(port, k)
    if check(r.status == 201, "post %d with space: %d %r" % (k, r.status, r.body[:120])):
        acked.append(r.json()["id"])

fill()
statuses = []
for k in range(5, 400):
    r = post(port, k)
    statuses.append(r.status)
    if r.status == 201:
        acked.append(r.json()["id"])
    elif r.status == 507:
        expect_error("post on a full disk", r, 507, "insufficient_storage")
        break
check(507 in statuses, "a full disk gets 507 (statuses %r)" % sorted(set(statuses)))
check(all(s in (201, 507) for s in statuses), "only 201 or 507 while filling: %r" % sorted(set(statuses)))
expect_error("another post, still full", post(port, 0), 507, "insufficient_storage")
px, lab = digits[3]
r = request(port, "POST", "/predict", bytes(px), content_type="application/octet-stream")
check(r.status == 200 and r.json()["prediction"] == lab, "predictions go on with the disk full: %d" % r.status)
check(request(port, "GET", "/healthz").status == 200, "healthy with the disk full")
check(request(port, "GET", "/v1/feedback?limit=1").status == 200, "the listing works with the disk full")
text = request(port, "GET", "/metrics").body.decode()
m = re.search(r'^mnist_feedback_refused_total\{reason="full"\} (\d+)$', text, re.M)
check(m and int(m.group(1)) >= 2, "metrics count the 507s: %r" % (m and m.group(0)))

os.unlink(filler)
for k in range(3):
    r = post(port, 100 + k)
    if check(r.status == 201, "post %d once space is back: %d %r" % (k, r.status, r.body[:120])):
        acked.append(r.json()["id"])
check(srv.stop() == 0, "SIGTERM after a full disk: exit 0")

c = sqlite3.connect(db)
ids = [row[0] for row in c.execute("SELECT id FROM feedback ORDER BY id")]
integrity = c.execute("PRAGMA integrity_check").fetchall()
c.close()
check(sorted(acked) == ids, "the store holds exactly the %d acknowledged posts, none of the 507s: %d rows" %
      (len(acked), len(ids)))
check(integrity == [("ok",)], "integrity_check: %r" % integrity)
subprocess.run(["umount", mnt])
finish()
