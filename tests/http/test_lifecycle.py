"""mnist-server start-up and shutdown: every flag and variable of the
configuration table (flags win), --help, bad values and unloadable models
(message naming them, non-zero exit), --port 0, the ensemble list,
--healthcheck, and the SIGTERM/SIGINT drain: /readyz turns 503, no new
connections, the request in flight is answered, exit 0."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpkit import MODEL, SERVER, Conn, Server, check, finish, mnist_test, predict, request  # noqa: E402

digits = mnist_test(4)
raw, label = digits[0]
clean_env = {k: v for k, v in os.environ.items() if not k.startswith("MNIST_")}


def run(args, env=None, timeout=20):
    e = dict(clean_env)
    e.update(env or {})
    p = subprocess.run([SERVER] + args, capture_output=True, text=True, env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# --- --help lists every flag and variable
rc, out, err = run(["--help"])
check(rc == 0, "--help exits 0")
for flag, var in [("--host", "MNIST_HOST"), ("--port", "MNIST_PORT"), ("--model", "MNIST_MODEL"),
                  ("--threads", "MNIST_THREADS"), ("--max-body", "MNIST_MAX_BODY"),
                  ("--max-pixels", "MNIST_MAX_PIXELS"), ("--max-batch", "MNIST_MAX_BATCH"),
                  ("--timeout", "MNIST_TIMEOUT"), ("--cors-origin", "MNIST_CORS_ORIGIN"),
                  ("--api-key", "MNIST_API_KEY"), ("--log-format", "MNIST_LOG_FORMAT")]:
    check(flag in out and var in out, "--help lists %s and %s" % (flag, var))
check("--healthcheck" in out, "--help lists --healthcheck")

# --- bad flags and values: a message naming them, non-zero exit
for args, env, name in [(["--port", "abc"], None, "--port"), (["--port", "70000"], None, "--port"),
                        (["--bogus"], None, "--bogus"), (["--threads", "0"], None, "--threads"),
                        (["--log-format", "xml"], None, "--log-format"),
                        (["--max-body", "12q"], None, "--max-body"),
                        (["--timeout"], None, "--timeout"),
                        ([], {"MNIST_MAX_BATCH": "many"}, "MNIST_MAX_BATCH"),
                        (["--host", "not-an-address", "--port", "0"], None, "--host")]:
    rc, out, err = run(args, env)
    check(rc != 0 and name in err, "bad %s: exit %d, message %r" % (name, rc, err.strip()[:200]))

# --- unloadable models
rc, out, err = run(["--port", "0", "--model", "/nonexistent/model.bin"])
check(rc != 0 and "/nonexistent/model.bin" in err, "missing model: %d %r" % (rc, err.strip()[:200]))
with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
    f.write(b"not a weights file" * 10)
    junk = f.name
rc, out, err = run(["--port", "0", "--host", "127.0.0.1", "--model", junk])
check(rc != 0 and junk in err, "garbage model: %d %r" % (rc, err.strip()[:200]))
rc, out, err = run(["--port", "0", "--host", "127.0.0.1"], {"MNIST_MODEL": junk})
check(rc != 0 and junk in err, "garbage model from MNIST_MODEL: %d" % rc)
os.unlink(junk)

# --- variables are used; flags beat variables
s = Server(env={"MNIST_MODEL": MODEL, "MNIST_MAX_BATCH": "1", "MNIST_API_KEY": "k1",
                "MNIST_LOG_FORMAT": "json", "MNIST_CORS_ORIGIN": "*", "MNIST_TIMEOUT": "5",
                "MNIST_MAX_BODY": "20000", "MNIST_MAX_PIXELS": "100", "MNIST_THREADS": "1"},
           *["--max-batch", "2"])
inst = json.dumps({"instances": [list(raw)] * 2}).encode()
r = request(s.port, "POST", "/predict", inst, {"Authorization": "Bearer k1"}, "application/json")
check(r.status == 200 and len(r.json()["predictions"]) == 2, "--max-batch 2 beats MNIST_MAX_BATCH=1")
check(r.header("access-control-allow-origin") == "*", "MNIST_CORS_ORIGIN used")
check(request(s.port, "POST", "/predict", raw, content_type="application/octet-stream").status == 401,
      "MNIST_API_KEY used")
r = request(s.port, "POST", "/predict", b"\x00" * 25000, {"Authorization": "Bearer k1"},
            "application/octet-stream")
check(r.status == 413, "MNIST_MAX_BODY used")
from httpkit import png  # noqa: E402
r = request(s.port, "POST", "/predict", png(11, 10, b"\x80" * 110), {"Authorization": "Bearer k1"}, "image/png")
check(r.status == 413 and "100" in r.json()["error"]["message"], "MNIST_MAX_PIXELS used")
m = request(s.port, "GET", "/metrics").body.decode()
check("mnist_workers 1" in m, "MNIST_THREADS used")
check(s.stop() == 0, "exit 0")
check(s.stdout().count('{"time"') >= 4, "MNIST_LOG_FORMAT=json used")

# --- --port 0 prints the port; --healthcheck probes it
s = Server()
check(s.port and s.port > 0, "--port 0 printed the bound port %r" % s.port)
rc, out, err = run(["--healthcheck", "--port", str(s.port)])
check(rc == 0, "--healthcheck on a live server: %d %r" % (rc, err))
rc, out, err = run(["--healthcheck"], {"MNIST_PORT": str(s.port)})
check(rc == 0, "--healthcheck with MNIST_PORT: %d" % rc)
check(s.stop() == 0, "exit 0")
rc, out, err = run(["--healthcheck", "--port", str(s.port)])
check(rc == 1 and err.strip(), "--healthcheck with no server: exit 1, %r" % err.strip()[:100])

# --- an ensemble of the same model twice answers like the model
single = Server()
a1 = predict(single.port, raw, "application/octet-stream").json()
v1 = request(single.port, "GET", "/v1/model").json()
single.stop()
ens = Server("--model", MODEL + "," + MODEL)
a2 = predict(ens.port, raw, "application/octet-stream").json()
v2 = request(ens.port, "GET", "/v1/model").json()
check(a2["probabilities"] == a1["probabilities"], "ensemble of one model twice == the model")
check(v2.get("ensemble") is True and len(v2.get("members", [])) == 2, "/v1/model describes the ensemble")
check(v2["version"] != v1["version"] and a2["model"]["version"] == v2["version"], "ensemble has its own version")
check(v2["parameters"] == 2 * v1["parameters"], "ensemble parameter count")
check(ens.stop() == 0, "exit 0")

# --- SIGTERM with a request in flight
for sig in (signal.SIGTERM, signal.SIGINT):
    s = Server("--timeout", "10")
    idle = Conn(s.port)
    check(idle.request("GET", "/healthz").status == 200, "keep-alive connection open")
    busy = Conn(s.port)
    busy.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Length: 784\r\n\r\n" + raw[:400])
    time.sleep(0.5)
    s.proc.send_signal(sig)
    time.sleep(0.5)
    r = idle.request("GET", "/readyz")
    check(r.status == 503 and r.json()["error"]["code"] == "not_ready", "%s: /readyz 503 while draining" % sig.name)
    idle.close()
    refused = False
    try:
        c = socket.create_connection(("127.0.0.1", s.port), timeout=2)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        refused = c.recv(100) == b""
        c.close()
    except (ConnectionRefusedError, ConnectionResetError, socket.timeout, BrokenPipeError):
        refused = True
    check(refused, "%s: new connections are not served while draining" % sig.name)
    check(s.proc.poll() is None, "%s: still running while a request is in flight" % sig.name)
    busy.send(raw[400:])
    r = busy.read_response()
    check(r.status == 200 and r.json()["prediction"] == label, "%s: the request in flight is answered" % sig.name)
    busy.close()
    rc = s.wait(20)
    check(rc == 0, "%s: exit 0 after the drain (rc %r)" % (sig.name, rc))

finish()
