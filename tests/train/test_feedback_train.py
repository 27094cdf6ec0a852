"""Users' corrections into training, end to end through the real binaries:
make_feedback_db stores MNIST test images through fb_store_insert;
mnist-feedback stats counts them and export writes PNG, CSV and IDX files
that decode back to the stored pixels; mnist-train --init MODEL --feedback
DB fine-tunes on them and records what it was trained on in the metadata;
a missing store, an ensemble file and a store without usable records are
refused with the file named and nothing written."""

import csv
import json
import os
import sys
import tempfile

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testkit import check, finish, run  # noqa: E402

build = os.environ["MNIST_BUILD_DIR"]
source = os.environ["MNIST_SOURCE_DIR"]
data = os.environ["MNIST_DATA_DIR"]
tmp = tempfile.mkdtemp(prefix="feedback-train-")
train = os.path.join(build, "mnist-train")
fbtool = os.path.join(build, "mnist-feedback")
model = os.path.join(source, "models", "mnist-cnn.bin")


def metadata(path):
    raw = open(path, "rb").read()
    at = raw.index(b'{"name"')
    return json.JSONDecoder().raw_decode(raw[at:].decode("utf-8", "replace"))[0]


def test_image(i):
    """Bytes of MNIST test image i, as make_feedback_db stored it."""
    with open(os.path.join(data, "t10k-images-idx3-ubyte"), "rb") as f:
        f.seek(16 + i * 784)
        return f.read(784)


db = os.path.join(tmp, "fb.db")
rc, out, err = run(os.path.join(build, "make_feedback_db"), db, data, "0", "60", "5")
check(rc == 0, "make_feedback_db: %d %s" % (rc, err))

# stats
rc, out, err = run(fbtool, "stats", db)
check(rc == 0 and "records: 65" in out and "ids: 1-65" in out, "stats counts: %d %r %s" % (rc, out[:200], err))
check("  not_a_digit: 5" in out, "stats counts not_a_digit labels: %r" % out)
check("by model version:" in out and "v1a2b3c4: 32" in out and "v5d6e7f8: 33" in out, "stats by version: %r" % out)
check(" -> " in out and "created: " in out, "stats has the confusion and the dates: %r" % out)

# export
exp = os.path.join(tmp, "exp")
rc, out, err = run(fbtool, "export", db, exp)
check(rc == 0, "export: %d %s" % (rc, err))
names = sorted(os.listdir(exp)) if os.path.isdir(exp) else []
check(len([n for n in names if n.endswith(".png")]) == 65, "65 PNG files: %r" % names[:5])
check(not [n for n in names if ".tmp" in n], "no temporary file left: %r" % names)
for i in (0, 7, 59):
    with Image.open(os.path.join(exp, "%d.png" % (i + 1))) as im:
        check(im.mode == "L" and im.size == (28, 28) and im.tobytes() == test_image(i),
              "%d.png decodes to the stored pixels" % (i + 1))
rows = list(csv.reader(open(os.path.join(exp, "labels.csv"))))
check(rows[0] == ["id", "label", "prediction", "version", "created"] and len(rows) == 66, "CSV header and rows")
with open(os.path.join(data, "t10k-labels-idx1-ubyte"), "rb") as f:
    truth = f.read()[8:68]
check(rows[1][0] == "1" and rows[1][1] == str(truth[0]) and rows[1][2] == str((truth[0] + 1) % 10),
      "CSV row 1: %r" % rows[1])
check(rows[2][2] == rows[2][1] and rows[2][3] == "v1a2b3c4", "CSV row 2: %r" % rows[2])
check(rows[65][1] == "not_a_digit" and rows[65][4].endswith("Z"), "CSV last row: %r" % rows[65])
idx3 = open(os.path.join(exp, "images-idx3-ubyte"), "rb").read()
idx1 = open(os.path.join(exp, "labels-idx1-ubyte"), "rb").read()
check(idx3[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 65, 0, 0, 0, 28, 0, 0, 0, 28]) and len(idx3) == 16 + 65 * 784,
      "IDX3 header")
check(idx3[16:16 + 784] == test_image(0) and idx3[16 + 59 * 784:16 + 60 * 784] == test_image(59), "IDX3 pixels")
check(idx1[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 65]) and idx1[8:68] == truth and idx1[68:] == bytes([10] * 5),
      "IDX1 labels (not_a_digit = 10)")
rc, out, err = run(fbtool, "export", os.path.join(tmp, "none.db"), os.path.join(tmp, "exp2"))
check(rc == 1 and "none.db" in err and not os.path.exists(os.path.join(tmp, "none.db")),
      "export of a missing store: %d %s" % (rc, err))
rc, out, err = run(fbtool, "frobnicate", db)
check(rc == 2 and "usage" in err, "bad usage exits 2")

# fine-tuning
new = os.path.join(tmp, "new.bin")
rc, out, err = run(train, "--init", model, "--feedback", db, "--data", data, "--limit", "2000",
                   "--threads", "2", "--out", new)
check(rc == 0 and os.path.exists(new), "mnist-train --feedback: %d %s" % (rc, err[-500:]))
check("48 to train on, 12 held out" in out and "5 not_a_digit skipped" in out, "split and skips: %r" % out[:400])
check("before: held-out feedback accuracy" in out and "after: held-out feedback accuracy" in out,
      "before/after figures printed: %r" % out)
if os.path.exists(new):
    fb = metadata(new).get("feedback", {})
    check(fb.get("db") == db and fb.get("records") == 65 and fb.get("first_id") == 1 and fb.get("last_id") == 65,
          "metadata: store and records: %r" % fb)
    check(fb.get("train_records") == 48 and fb.get("held_out_records") == 12 and fb.get("skipped_not_a_digit") == 5
          and fb.get("held_out_rule") == "id % 5 == 0", "metadata: split: %r" % fb)
    check(fb.get("mnist_replay_images") == 2000 and fb.get("epochs") == 1 and len(fb.get("base_version", "")) == 8,
          "metadata: replay, epochs, base version: %r" % fb)
    for k in ("held_out_accuracy_before", "held_out_accuracy_after", "mnist_test_accuracy_before",
              "mnist_test_accuracy_after"):
        check(isinstance(fb.get(k), (int, float)) and 0 < fb[k] <= 1, "metadata %s: %r" % (k, fb.get(k)))
    check(metadata(new)["recipe"]["lr"] < 0.001 + 1e-9 and abs(metadata(new)["recipe"]["lr"] - 0.0001) < 1e-9,
          "the lower default learning rate")

# refusals: nothing written
for args, name, what in (
        (["--feedback", os.path.join(tmp, "missing.db"), "--init", model], "missing.db", "a missing store"),
        (["--feedback", db, "--init", os.path.join(source, "models", "mnist-cnn-ensemble.bin")],
         "mnist-cnn-ensemble.bin", "an ensemble file"),
        (["--feedback", db], "--init", "no --init")):
    bad = os.path.join(tmp, "bad.bin")
    rc, out, err = run(train, *args, "--data", data, "--out", bad)
    check(rc != 0 and name in err and not os.path.exists(bad) and not os.path.exists(bad + ".ckpt"),
          "%s is refused naming %s: %d %s" % (what, name, rc, err))
check(not os.path.exists(os.path.join(tmp, "missing.db")), "a missing store is not created")
empty = os.path.join(tmp, "empty.db")
rc, out, err = run(os.path.join(build, "make_feedback_db"), empty, data, "0", "0", "3")
rc, out, err = run(train, "--init", model, "--feedback", empty, "--data", data, "--out", os.path.join(tmp, "e.bin"))
check(rc == 1 and "empty.db" in err and "no usable feedback records" in err
      and not os.path.exists(os.path.join(tmp, "e.bin")), "a store of only not_a_digit records: %d %s" % (rc, err))

finish()
