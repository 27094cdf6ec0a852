"""A model repository served by the real mnist-server: models by name and
version (/predict?model=, the Open Inference Protocol, KServe's explain,
GET /v1/models), Triton's repository API (index, load, unload, with the
admin key), reloads on SIGHUP and --poll-seconds, a file that fails the
check leaving the served version in place (its reason in the index, the
metrics and the log), the fall back when the newest version goes, and
start-up refusals. Then the served version changes 20 times under 64
connections of load: no request fails, every answer names a version that
was served while it was in flight, and once a switch is reported done no
later request gets an older version."""

import hashlib
import json
import os
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import Conn, Server, check, expect_error, finish, mnist_test, request, SOURCE  # noqa: E402

MODELS = os.path.join(SOURCE, "models")
REFERENCE = os.path.join(MODELS, "mnist-cnn.bin")
LARGE = os.path.join(MODELS, "mnist-cnn-large.bin")
FASHION = os.path.join(MODELS, "fashion-mnist-cnn.bin")
ADMIN = {"Authorization": "Bearer adm1n"}
RAW = "application/octet-stream"
digits = mnist_test(4)
seven = digits[0][0]


def file_version(path):
    """A weights file's version: the first 8 hex digits of its checksum."""
    return open(path, "rb").read()[-32:].hex()[:8]


def variant(src, dst, k):
    """A copy of weights file src whose metadata differs in one byte (so
    its version does too), with its checksum recomputed."""
    b = bytearray(open(src, "rb").read())
    n_layers, n_tensors, meta_len = struct.unpack("<III", b[16:28])
    meta = 64 + 20 * n_layers + 64 * n_tensors
    at = bytes(b[meta:meta + meta_len]).index(b'"description":"') + meta + len('"description":"')
    b[at] = ord("0") + k % 10  # the description starts with a letter
    b[at + 1] = ord("0") + k // 10 % 10
    b[-32:] = hashlib.sha256(bytes(b[:-32])).digest()
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst + ".tmp", "wb") as f:
        f.write(b)
    os.rename(dst + ".tmp", dst)  # a reader never sees half a file
    return file_version(dst)


def put(repo, name, version, src):
    d = os.path.join(repo, name, str(version))
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(src, os.path.join(d, "model.bin.tmp"))
    os.rename(os.path.join(d, "model.bin.tmp"), os.path.join(d, "model.bin"))


def served(port, query=""):
    r = request(port, "POST", "/predict" + query, seven, content_type=RAW)
    return r.status, (r.json().get("model", {}) if r.status == 200 else r.json())


def index(port, body=b"{}"):
    r = request(port, "POST", "/v2/repository/index", body, headers=ADMIN, content_type="application/json")
    return r.status, (r.json() if r.body else None)


def start(repo, *extra, expect_start=True):
    # MNIST_MODEL="" keeps httpkit from adding --model
    return Server("--model-repository", repo, "--admin-key", "adm1n", "--threads", "2", *extra,
                  env={"MNIST_MODEL": ""}, expect_start=expect_start)


tmp = tempfile.mkdtemp(prefix="mnist-repo-")
repo = os.path.join(tmp, "models")
put(repo, "digits", 1, REFERENCE)
put(repo, "fashion", 1, FASHION)
os.makedirs(os.path.join(repo, "empty"))  # a name without versions

srv = start(repo, "--default-model", "digits")
port = srv.port

# --- models by name
r = request(port, "GET", "/v1/models")
m = r.json()
names = sorted(x["name"] for x in m["models"])
check(r.status == 200 and m["default"] == "digits" and names == ["digits", "fashion"],
      "GET /v1/models: %r" % m)
st, model = served(port)
check(st == 200 and model == {"name": "digits", "version": file_version(REFERENCE)}, "default: %r" % model)
r = request(port, "POST", "/predict?model=fashion", seven, content_type=RAW)
check(r.status == 200 and r.json()["model"]["name"] == "fashion" and r.json()["label"] in
      ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
      "?model=fashion: %r" % r.body[:200])
expect_error("?model=nope", request(port, "POST", "/predict?model=nope", seven, content_type=RAW), 404,
             "model_not_found")
expect_error("?model=empty (no version)", request(port, "POST", "/v1/read?model=empty", seven, content_type=RAW),
             503, "not_ready")
r = request(port, "GET", "/v1/model?model=fashion")
check(r.status == 200 and r.json()["name"] == "fashion" and r.json()["labels"][0] == "T-shirt/top",
      "GET /v1/model?model=fashion: %r" % r.body[:120])
r = request(port, "GET", "/v1/model?name=digits")
check(r.status == 200 and r.json()["name"] == "digits" and r.json()["version"] == file_version(REFERENCE),
      "GET /v1/model?name=digits: %r" % r.body[:120])
r = request(port, "POST", "/v1/models/fashion:explain?layers=none", seven, content_type=RAW)
check(r.status == 200 and r.json()["model"]["name"] == "fashion" and len(r.json()["saliency"]) == 784,
      "KServe explain of fashion: %d" % r.status)

# --- the Open Inference Protocol addresses name and version
infer = json.dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8",
                                "data": list(seven)}]}).encode()
r = request(port, "POST", "/v2/models/digits/versions/1/infer", infer, content_type="application/json")
check(r.status == 200 and r.json()["model_name"] == "digits" and r.json()["model_version"] == "1",
      "OIP infer digits v1: %d %r" % (r.status, r.body[:200]))
r = request(port, "POST", "/v2/models/digits/versions/2/infer", infer, content_type="application/json")
check(r.status == 404 and "error" in r.json(), "OIP version 2 not served: %d %r" % (r.status, r.body[:200]))
r = request(port, "GET", "/v2/models/fashion")
check(r.status == 200 and r.json()["versions"] == ["1"], "OIP metadata of fashion: %r" % r.body[:200])

# --- the repository API needs the admin key
r = request(port, "POST", "/v2/repository/index", b"", content_type="application/json")
check(r.status == 401 and "error" in r.json(), "index without the admin key: %d" % r.status)
st, idx = index(port)
check(st == 200 and {(x["name"], x["version"], x["state"]) for x in idx} ==
      {("digits", "1", "READY"), ("fashion", "1", "READY")}, "index: %r" % idx)

# --- a file that fails the check leaves the served version in place
d2 = os.path.join(repo, "digits", "2")
os.makedirs(d2)
with open(os.path.join(d2, "model.bin"), "wb") as f:
    f.write(open(LARGE, "rb").read()[:5000])
r = request(port, "POST", "/v2/repository/models/digits/load", b"", headers=ADMIN)
check(r.status == 400 and "truncated" in r.json().get("error", "") and "version 1 is still served" in
      r.json()["error"], "load of a truncated version 2: %d %r" % (r.status, r.body[:300]))
st, model = served(port)
check(model.get("version") == file_version(REFERENCE), "version 1 still answers: %r" % model)
st, idx = index(port)
v2 = [x for x in idx if x["name"] == "digits" and x["version"] == "2"]
check(v2 and v2[0]["state"] == "UNAVAILABLE" and "truncated" in v2[0].get("reason", ""),
      "index shows version 2's reason: %r" % v2)
st, ready = index(port, b'{"ready": true}')
check(st == 200 and all(x["state"] == "READY" for x in ready) and len(ready) == 2, "ready index: %r" % ready)
metrics = request(port, "GET", "/metrics").body.decode()
check('mnist_model_loads_total{result="failed"} 1' in metrics, "the failed load counted")
check('mnist_model_served{model="digits",version="1",hash="%s",default="true"} 1' % file_version(REFERENCE)
      in metrics and 'mnist_model_served{model="fashion",version="1"' in metrics, "each served model in /metrics")
fashion_answers = sum(int(l.rsplit(" ", 1)[1]) for l in metrics.splitlines()
                      if l.startswith('mnist_model_predictions_total{model="fashion"'))
check(fashion_answers == 2, "fashion's own answers counted: %d (the ?model= predict and the explain)" %
      fashion_answers)
check(any("digits version 2 not loaded" in l for l in srv.err_lines), "the failed load logged")

# --- SIGHUP: a good version 3 is served; removing it falls back past the bad 2
put(repo, "digits", 3, LARGE)
srv.proc.send_signal(signal.SIGHUP)
deadline = time.time() + 10
while time.time() < deadline and served(port)[1].get("version") != file_version(LARGE):
    time.sleep(0.05)
check(served(port)[1].get("version") == file_version(LARGE), "SIGHUP serves version 3")
r = request(port, "POST", "/v2/models/digits/versions/3/infer", infer, content_type="application/json")
check(r.status == 200 and r.json()["model_version"] == "3", "OIP addresses version 3: %r" % r.body[:120])
shutil.rmtree(os.path.join(repo, "digits", "3"))
srv.proc.send_signal(signal.SIGHUP)
deadline = time.time() + 10
while time.time() < deadline and served(port)[1].get("version") != file_version(REFERENCE):
    time.sleep(0.05)
check(served(port)[1].get("version") == file_version(REFERENCE), "version 3 removed: back to version 1")
shutil.rmtree(d2)

# --- unload and load
r = request(port, "POST", "/v2/repository/models/fashion/unload", b"", headers=ADMIN)
check(r.status == 200, "unload fashion: %d" % r.status)
expect_error("an unloaded model", request(port, "POST", "/predict?model=fashion", seven, content_type=RAW),
             503, "not_ready")
st, idx = index(port)
check([x.get("reason") for x in idx if x["name"] == "fashion"] == ["unloaded"], "index: unloaded: %r" % idx)
srv.proc.send_signal(signal.SIGHUP)  # a reload does not bring it back
time.sleep(0.3)
check(served(port, "?model=fashion")[0] == 503, "still unloaded after a reload")
r = request(port, "POST", "/v2/repository/models/fashion/load", b"", headers=ADMIN)
check(r.status == 200 and served(port, "?model=fashion")[0] == 200, "load fashion again: %d" % r.status)
r = request(port, "POST", "/v2/repository/models/nope/load", b"", headers=ADMIN)
check(r.status == 400 and "nope" in r.json().get("error", ""), "load of an unknown model: %r" % r.body)
check(request(port, "POST", "/v2/repository/models/digits/load", b"").status == 401, "load needs the admin key")

# --- 20 switches under 64 connections
N_CONN, SWITCHES = 64, 20
versions = {1: file_version(REFERENCE)}
files = {}
for i in range(2, SWITCHES + 2):
    files[i] = os.path.join(tmp, "v%d.bin" % i)
    versions[i] = variant(REFERENCE, files[i], i)
check(len(set(versions.values())) == SWITCHES + 1, "%d distinct versions" % (SWITCHES + 1))
by_hash = {h: i for i, h in versions.items()}
stop = threading.Event()
answers = []  # (t_send, t_recv, status, repository version or None)
lock = threading.Lock()


def load():
    c = Conn(port)
    mine = []
    try:
        while not stop.is_set():
            t0 = time.monotonic()
            r = c.request("POST", "/predict", seven, content_type=RAW)
            t1 = time.monotonic()
            v = by_hash.get(r.json().get("model", {}).get("version")) if r.status == 200 else None
            mine.append((t0, t1, r.status, v))
    except Exception as e:  # noqa: BLE001 - a failed request is what is checked
        mine.append((0, 0, str(e), None))
    finally:
        c.close()
    with lock:
        answers.extend(mine)


threads = [threading.Thread(target=load) for _ in range(N_CONN)]
for t in threads:
    t.start()
time.sleep(0.3)
start_of = {1: 0.0}
done_of = {1: 0.0}
load_ok = 0
for i in range(2, SWITCHES + 2):
    d = os.path.join(repo, "digits", str(i))
    os.makedirs(d)
    shutil.copyfile(files[i], os.path.join(d, "model.bin"))
    start_of[i] = time.monotonic()
    r = request(port, "POST", "/v2/repository/models/digits/load", b"", headers=ADMIN)
    done_of[i] = time.monotonic()
    load_ok += r.status == 200
    time.sleep(0.1)
stop.set()
for t in threads:
    t.join(60)
done_of[SWITCHES + 2] = start_of[SWITCHES + 2] = float("inf")
check(load_ok == SWITCHES, "%d of %d switches reported done" % (load_ok, SWITCHES))
failed = [a for a in answers if a[2] != 200]
check(len(answers) > 1000 and not failed, "%d answers under load, %d failed: %r" % (len(answers), len(failed),
                                                                                   failed[:3]))
unknown = [a for a in answers if a[2] == 200 and a[3] is None]
check(not unknown, "every answer names a known version (%d do not)" % len(unknown))
# served from within its load request until the next switch was done
overlap = [a for a in answers if a[3] and not (a[0] <= done_of[a[3] + 1] and a[1] >= start_of[a[3]])]
check(not overlap, "every answer's version was served while it was in flight: %d were not, e.g. %r" %
      (len(overlap), overlap[:2]))
stale = [a for a in answers if a[3] and any(a[0] > done_of[i] and a[3] < i for i in range(2, SWITCHES + 2))]
check(not stale, "no older version after a switch was reported done: %d, e.g. %r" % (len(stale), stale[:2]))
seen = {a[3] for a in answers if a[3]}
check(len(seen) >= SWITCHES // 2, "the load saw %d of the %d versions" % (len(seen), SWITCHES + 1))
print("under load: %d answers over %d switches, versions seen %d" % (len(answers), SWITCHES, len(seen)))
check(srv.stop() == 0, "SIGTERM exits 0")

# --- --poll-seconds
repo2 = os.path.join(tmp, "polled")
put(repo2, "mnist", 1, REFERENCE)
srv = start(repo2, "--poll-seconds", "1")
check(served(srv.port)[1].get("name") == "mnist", "the only model is the default")
put(repo2, "mnist", 2, LARGE)
deadline = time.time() + 10
while time.time() < deadline and served(srv.port)[1].get("version") != file_version(LARGE):
    time.sleep(0.1)
check(served(srv.port)[1].get("version") == file_version(LARGE), "--poll-seconds 1 found version 2")
check(srv.stop() == 0, "SIGTERM exits 0")

# --- start-up refusals
bad = os.path.join(tmp, "bad")
os.makedirs(os.path.join(bad, "mnist", "1"))
with open(os.path.join(bad, "mnist", "1", "model.bin"), "wb") as f:
    f.write(b"MNISTCNN" + b"\0" * 100)
s = start(bad, expect_start=False)
rc = s.wait(20)
check(rc == 1 and "default model \"mnist\" has no version that loads" in s.stderr(),
      "a default model that does not load stops start-up: %r %r" % (rc, s.stderr()))
s = Server("--model-repository", repo2, "--model", REFERENCE, expect_start=False)
rc = s.wait(20)
check(rc == 2 and "give one" in s.stderr(), "--model with --model-repository: %r %r" % (rc, s.stderr()))
s = Server("--model-repository", os.path.join(tmp, "none"), env={"MNIST_MODEL": ""}, expect_start=False)
rc = s.wait(20)
check(rc == 1 and "not a directory" in s.stderr(), "a missing repository: %r %r" % (rc, s.stderr()))

shutil.rmtree(tmp)
finish()
