"""The trainer's side of honest answers, end to end through the real
binaries: scripts/make-nondigits.py and make-digits.py make small sets;
mnist-train learns a background class from the non-digits, takes the
extra digits, and fits the calibration on its held-out images; the file
carries it; mnist-eval reports the ECE, the reliability table and the
share answered "digit"; mnist-train --calibrate refits an existing model;
a bad --nondigits file is refused with a message naming it."""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testkit import check, finish, run  # noqa: E402

build = os.environ["MNIST_BUILD_DIR"]
source = os.environ["MNIST_SOURCE_DIR"]
data = os.environ["MNIST_DATA_DIR"]
py = sys.executable
tmp = tempfile.mkdtemp(prefix="honest-train-")


nd = os.path.join(tmp, "nd.idx")
dg = os.path.join(tmp, "dg")
rc, out, err = run(py, os.path.join(source, "scripts/make-nondigits.py"), "--count", "600", "--seed", "3",
                   "--side", "56", "--out", nd)
check(rc == 0 and os.path.getsize(nd) == 16 + 600 * 56 * 56, "make-nondigits: %d %s" % (rc, err[-300:]))
rc, out, err = run(py, os.path.join(source, "scripts/make-digits.py"), "--count", "300", "--seed", "3",
                   "--side", "56", "--mnist", data, "--mnist-count", "2000", "--out", dg)
check(rc == 0 and os.path.getsize(dg + "-labels-idx1-ubyte") == 8 + 300, "make-digits: %d %s" % (rc, err[-300:]))

model = os.path.join(tmp, "m.bin")
rc, out, err = run(os.path.join(build, "mnist-train"), "--data", data, "--limit", "3000", "--val", "500",
                   "--epochs", "2", "--threads", "2", "--nondigits", nd, "--more-digits", dg, "--out", model)
check(rc == 0, "mnist-train with a background class: %d %s" % (rc, err[-500:]))
m = re.search(r"temperature ([0-9.]+) \(NLL ([0-9.]+) -> ([0-9.]+)\)", out)
check(m is not None, "the run ends with the calibration fit: %r" % out[-600:])
if m:
    check(float(m.group(3)) <= float(m.group(2)) + 1e-4, "the fit does not raise the held-out NLL: %s" % m.group(0))
m = re.search(r"non-digits: ([0-9]+) from .* \(([0-9]+) more held out\)", out)
check(m is not None and int(m.group(2)) == (int(m.group(1)) + int(m.group(2))) // 10,
      "non-digits used, their tenth held out: %r" % out[:300])
# The digit threshold lets 0.2% of held-out digits fall below it; even two
# short epochs put far more of the held-out non-digits there.
m = re.search(r"held-out synthetic non-digits answered other than \"digit\": ([0-9.]+)", out)
check(m is not None and float(m.group(1)) > 0.2, "held-out non-digits rejected: %r" % (m and m.group(0)))

rc, out, err = run(os.path.join(build, "mnist-eval"), model, "--data", data, "--threads", "2")
check(rc == 0, "mnist-eval: %d %s" % (rc, err[-300:]))
check(re.search(r"calibration: temperature [0-9.]+, fitted on 530 held-out", out) is not None,
      "mnist-eval names the calibration (500 MNIST + 30 extra digits held out): %r" % out[-900:])
check(re.search(r"test set: expected calibration error 0\.[0-9]+ \(10000 answers\)", out) is not None,
      "ECE on the test set: %r" % out[-400:])
rows = re.findall(r"^  [01]\.[0-9]{3}-[01]\.[0-9]{3} +([0-9]+) ", out, re.M)
check(rows and sum(int(r) for r in rows) == 10000, "the reliability table covers every test image: %r" % rows)
check(re.search(r'test set: answered "digit" [0-9.]+', out) is not None, "verdict coverage printed")
header = out.split("confusion matrix")[1].splitlines()[1].split()
check(header == [str(k) for k in range(10)], "the background class is not served: %r" % header)

# --calibrate refits a model (here: the same one) without training
re_model = os.path.join(tmp, "re.bin")
rc, out, err = run(os.path.join(build, "mnist-train"), "--calibrate", "--init", model, "--data", data,
                   "--limit", "3000", "--val", "500", "--threads", "2", "--out", re_model)
check(rc == 0 and "temperature" in out and os.path.exists(re_model), "--calibrate: %d %s %s" % (rc, out[-300:], err[-300:]))
rc, out, err = run(os.path.join(build, "mnist-train"), "--calibrate", "--init", model, "--data", data,
                   "--limit", "3000", "--threads", "2", "--out", re_model)
check(rc != 0 and "--val" in err, "--calibrate without held-out images is refused: %r" % err)

# a bad non-digit file: refused, the message names it, no output left behind
bad = os.path.join(tmp, "bad.idx")
with open(bad, "wb") as f:
    f.write(b"\x00\x00\x08\x03\x00\x00\x00\x05\x00\x00\x00\x10")
out_bad = os.path.join(tmp, "never.bin")
rc, out, err = run(os.path.join(build, "mnist-train"), "--data", data, "--limit", "500", "--epochs", "1",
                   "--nondigits", bad, "--out", out_bad)
check(rc != 0 and bad in err, "bad --nondigits refused naming the file: %r" % err)
check(not os.path.exists(out_bad), "no model written from a bad run")
finish()
