#!/usr/bin/python3
"""eval-samples: POSTs every image under a directory to mnist-server and
reports accuracy, overall and per kind. The label of a file is the digit
it is filed under: a directory named after it (samples/7/x.png,
samples/photos/7/x.jpg) or the digit that starts its name (7.png, 7_b.png,
7-photo.jpg) or follows "label" in it (img_label7.png). The kind is the
first directory below the root when the label is not that directory, else
the file's format. Each file is sent as-is with the Content-Type of its
extension, the way `curl --data-binary @file` would.

usage: scripts/eval-samples.py DIR [--url http://127.0.0.1:8080] [--server BUILD/mnist-server]
Without --url it starts the server binary (default build/mnist-server) on
127.0.0.1, port 0, and stops it afterwards. Exits 1 if DIR is missing or
holds no labelled image, 2 on usage errors."""

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".bmp": "image/bmp", ".pgm": "image/x-portable-graymap", ".ppm": "image/x-portable-pixmap",
         ".pnm": "image/x-portable-anymap", ".raw": "application/octet-stream",
         ".json": "application/json"}


def label_of(rel):
    parts = rel.split(os.sep)
    for i, d in enumerate(parts[:-1]):
        if re.fullmatch(r"\d", d):
            kind = parts[0] if i > 0 else os.path.splitext(parts[-1])[1].lstrip(".").lower()
            return int(d), kind
    name = parts[-1]
    m = re.match(r"(\d)(?:[^0-9]|$)", name) or re.search(r"label[_-]?(\d)(?:\D|$)", name, re.I)
    if not m:
        return None, None
    kind = parts[0] if len(parts) > 1 else os.path.splitext(name)[1].lstrip(".").lower()
    return int(m.group(1)), kind


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--url")
    ap.add_argument("--server", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "..", "build", "mnist-server"))
    ap.add_argument("--model")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    a = ap.parse_args()
    if not os.path.isdir(a.dir):
        sys.exit("eval-samples: %s is not a directory: nothing to evaluate" % a.dir)
    files = []
    for root, _, names in os.walk(a.dir):
        for n in sorted(names):
            ext = os.path.splitext(n)[1].lower()
            if ext in TYPES:
                rel = os.path.relpath(os.path.join(root, n), a.dir)
                label, kind = label_of(rel)
                if label is not None:
                    files.append((rel, label, kind, TYPES[ext]))
    if not files:
        sys.exit("eval-samples: no labelled image (%s) under %s" % (", ".join(sorted(TYPES)), a.dir))

    proc = None
    url = a.url
    if not url:
        cmd = [a.server, "--host", "127.0.0.1", "--port", "0", "--log-format", "off"]
        if a.model:
            cmd += ["--model", a.model]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            sys.exit("eval-samples: %s did not start" % a.server)
        url = line.split()[-1]
    try:
        per = {}
        for rel, label, kind, ctype in sorted(files):
            with open(os.path.join(a.dir, rel), "rb") as f:
                body = f.read()
            req = urllib.request.Request(url.rstrip("/") + "/predict", body, {"Content-Type": ctype})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    got = json.load(r)["prediction"]
                    why = ""
            except urllib.error.HTTPError as e:
                got = None
                why = json.load(e).get("error", {}).get("message", str(e))
            good = got == label
            per.setdefault(kind, []).append(good)
            if a.verbose and not good:
                print("  miss %-50s label %d got %s %s" % (rel, label, got, why))
    finally:
        if proc:
            proc.terminate()
            proc.wait()
    total = sum(len(v) for v in per.values())
    right = sum(sum(v) for v in per.values())
    for kind in sorted(per):
        v = per[kind]
        print("%-20s %4d/%-4d %6.1f%%" % (kind, sum(v), len(v), 100.0 * sum(v) / len(v)))
    print("%-20s %4d/%-4d %6.1f%%" % ("all", right, total, 100.0 * right / total))


if __name__ == "__main__":
    main()
