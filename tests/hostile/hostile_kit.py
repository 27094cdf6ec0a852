"""hostile_kit: what the hostile-input tests share, on top of the HTTP
tests' httpkit (the real server on 127.0.0.1 port 0, a raw-socket client,
the pass/fail counter): checking that an answer is the JSON error API.md
promises, and watching the server process (alive, memory, descriptors,
no sanitizer report)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
import httpkit  # noqa: E402
from httpkit import Conn, Server, check, finish, mnist_test, predict, request  # noqa: E402,F401


def expect_error(what, r, statuses, codes=None):
    """r is a JSON error with a status in statuses (an int or a tuple),
    whose error object repeats that status, a code in codes (if given) and
    a message. Returns the message."""
    if isinstance(statuses, int):
        statuses = (statuses,)
    if isinstance(codes, str):
        codes = (codes,)
    if not check(r.status in statuses, "%s: status %d, expected %s: %r" % (what, r.status, statuses, r.body[:300])):
        return ""
    ctype = r.header("content-type") or ""
    check(ctype.startswith("application/json"), "%s: Content-Type %r, expected JSON" % (what, ctype))
    try:
        err = json.loads(r.body.decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        check(False, "%s: the body is not a JSON error: %r" % (what, r.body[:300]))
        return ""
    check(err.get("status") == r.status, "%s: error.status %r vs HTTP %d" % (what, err.get("status"), r.status))
    if codes:
        check(err.get("code") in codes, "%s: code %r, expected %s (%s)" % (what, err.get("code"), codes, err.get("message")))
    msg = err.get("message") or ""
    check(isinstance(msg, str) and len(msg) > 0, "%s: an error message" % what)
    return msg


def expect_prediction(what, r, label=None):
    """r is a 200 prediction (of label, if given)."""
    if not check(r.status == 200, "%s: status %d, expected 200: %r" % (what, r.status, r.body[:300])):
        return None
    try:
        j = r.json()
    except ValueError:
        check(False, "%s: the body is not JSON" % what)
        return None
    if label is not None:
        check(j.get("prediction") == label, "%s: predicted %r, expected %d" % (what, j.get("prediction"), label))
    return j.get("prediction")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def still_serving(srv, what):
    """The process is alive and answers GET /healthz."""
    alive = srv.proc.poll() is None
    ok = False
    if alive:
        try:
            ok = request(srv.port, "GET", "/healthz").status == 200
        except OSError:
            ok = False
    return check(alive and ok, "server still serving after %s (exit %r)\n%s" % (what, srv.proc.poll(), srv.stderr()[-2000:]))


def stop_cleanly(srv):
    """SIGTERM: exit 0, and no sanitizer or libc report on stderr."""
    rc = srv.stop()
    err = srv.stderr()
    check(rc == 0, "server exits 0 on SIGTERM (got %r)\n%s" % (rc, err[-2000:]))
    for bad in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer", "double free", "stack smashing"):
        check(bad not in err, "no %r in the server's stderr\n%s" % (bad, err[-3000:]))


def timed(fn, *args):
    t = time.monotonic()
    r = fn(*args)
    return r, time.monotonic() - t
