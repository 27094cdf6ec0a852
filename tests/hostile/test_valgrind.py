"""Valgrind memcheck over server sessions of the integration tests: the
API and input tests and the hostile images and bodies run against
mnist-server under memcheck (through valgrind_server.sh); each session
must run to its end, and every memcheck log must report 0 errors and no
definite leak."""

import glob
import os
import re
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
real = os.environ.get("MNIST_SERVER")
real = os.path.abspath(real) if real else real
if not real:
    print("MNIST_SERVER is not set: run this test through ctest\n0 passed, 1 failed")
    sys.exit(1)
sys.path.insert(0, os.path.dirname(here))
import testkit  # noqa: E402
from testkit import check, finish  # noqa: E402


logs = tempfile.mkdtemp(prefix="mnist-valgrind-")
env = dict(os.environ)
env.update({"MNIST_SERVER": os.path.join(here, "valgrind_server.sh"),
            "MEMCHECK_SERVER": real, "MEMCHECK_LOG_DIR": logs,
            "MNIST_TEST_IO_TIMEOUT": "600"})
sessions = [os.path.join(here, "..", "http", "test_api.py"),
            os.path.join(here, "..", "http", "test_inputs.py"),
            os.path.join(here, "test_hostile_bodies.py"),
            os.path.join(here, "test_hostile_images.py")]
for script in sessions:
    r = subprocess.run([sys.executable, script], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=1500)
    out = r.stdout.decode("utf-8", "replace")
    last = out.strip().splitlines()[-1] if out.strip() else ""
    # Whether each check of a session passes is its own test's business
    # (run without memcheck); here the session must run to its end, so
    # that memcheck has seen all of it.
    print("%s under memcheck: %s (exit %d)" % (os.path.basename(script), last, r.returncode))
    check(re.match(r"\d+ passed, \d+ failed$", last) is not None,
          "%s ran to its end with the server under memcheck:\n%s" % (script, out[-3000:]))

reports = sorted(glob.glob(os.path.join(logs, "memcheck.*.log")))
check(len(reports) >= len(sessions), "one memcheck log per server started (%d)" % len(reports))
for path in reports:
    text = open(path, encoding="utf-8", errors="replace").read()
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    check(m is not None, "%s: memcheck finished (no ERROR SUMMARY):\n%s" % (path, text[-2000:]))
    if m:
        check(m.group(1) == "0", "%s: %s memcheck errors:\n%s" % (path, m.group(1), text[:6000]))
    dl = re.search(r"definitely lost: ([\d,]+) bytes", text)
    check(dl is None or dl.group(1) == "0", "%s: definitely lost %s bytes" % (path, dl.group(1) if dl else "?"))
    if m:
        print("%s: %s errors, definitely lost %s bytes" % (os.path.basename(path), m.group(1),
                                                           dl.group(1) if dl else "0"))
if testkit.failed == 0:
    subprocess.run(["rm", "-rf", logs])
else:
    print("memcheck logs kept in %s" % logs)
finish()
