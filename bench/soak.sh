#!/bin/sh
# soak.sh: the server under a long mixed load. wrk drives mnist-server on
# loopback at 64 connections for DURATION seconds (default 600) with a mix
# of valid and invalid /predict requests (bench/soak_mix.lua). It checks:
# no crash, no 5xx, every valid request answered 200, and the server's RSS
# and open descriptors flat (sampled every minute; start and end printed).
# Exits non-zero if a check fails. Not part of the test run.
#
# usage: DURATION=60 bench/soak.sh   (a shorter try)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DURATION=${DURATION:-600}
CONNS=${CONNS:-64}
MODEL=${MODEL:-$ROOT/models/mnist-cnn.bin}
command -v wrk >/dev/null || { echo "soak: wrk not installed (scripts/deps.sh test)" >&2; exit 2; }
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target mnist-server >/dev/null
export SOAK_DIR
SOAK_DIR=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$SOAK_DIR"
}
trap cleanup EXIT INT TERM

# One MNIST test digit as raw bytes, PNG (dark ink on white) and JSON.
/usr/bin/python3 - "$ROOT" "$SOAK_DIR" <<'PY'
import json, os, struct, sys, zlib
root, out = sys.argv[1], sys.argv[2]
data = os.environ.get("MNIST_DATA_DIR", os.path.join(root, "data", "mnist"))
imgs = open(os.path.join(data, "t10k-images-idx3-ubyte"), "rb").read()
px = imgs[16:16 + 784]
open(os.path.join(out, "digit.raw"), "wb").write(px)
inv = bytes(255 - v for v in px)
raw = b"".join(b"\x00" + inv[y * 28:(y + 1) * 28] for y in range(28))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)) +
       chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(os.path.join(out, "digit.png"), "wb").write(png)
open(os.path.join(out, "digit.json"), "w").write(json.dumps({"pixels": list(px)}))
PY

nice -n 10 "$BUILD/mnist-server" --host 127.0.0.1 --port 0 --model "$MODEL" \
    --log-format off >"$SOAK_DIR/server.out" 2>"$SOAK_DIR/server.err" &
SERVER_PID=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$SOAK_DIR/server.out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "soak: server did not start"; cat "$SOAK_DIR/server.err"; exit 1; }

rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
fds() { ls "/proc/$SERVER_PID/fd" | wc -l; }
# A short warm-up so the first sample sees the steady state (workers'
# scratch, connection pool, allocator arenas).
nice -n 10 wrk -t2 -c"$CONNS" -d5s -s "$ROOT/bench/soak_mix.lua" "http://127.0.0.1:$port" >/dev/null
sleep 1
rss0=$(rss) fd0=$(fds)
echo "soak: $DURATION s, $CONNS connections, server pid $SERVER_PID on port $port"
echo "start: RSS $rss0 kB, open fds $fd0 (idle, after warm-up)"
(
    t=0
    while sleep 60; do
        t=$((t + 60))
        [ -d "/proc/$SERVER_PID" ] || exit 0
        echo "  t=${t}s: RSS $(rss) kB, open fds $(fds)"
    done
) &
sampler=$!
nice -n 10 wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/soak_mix.lua" \
    "http://127.0.0.1:$port" | tee "$SOAK_DIR/wrk.out"
kill "$sampler" 2>/dev/null || true
sleep 2 # connections close, workers go idle
fail=0
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "FAIL: the server died"; cat "$SOAK_DIR/server.err"; exit 1
fi
rss1=$(rss) fd1=$(fds)
echo "end:   RSS $rss1 kB, open fds $fd1 (idle, after the load)"
line=$(grep '^SOAK sent_valid' "$SOAK_DIR/wrk.out" || true)
[ -n "$line" ] || { echo "FAIL: wrk did not run the request mix"; exit 1; }
val() { echo "$line" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
sv=$(val sent_valid) g2=$(val got_2xx) g5=$(val got_5xx) si=$(val sent_invalid) g4=$(val got_4xx)
[ "$g5" -eq 0 ] || { echo "FAIL: $g5 answers were 5xx"; fail=1; }
# Requests still in flight when wrk stops are sent but never counted.
[ "$g2" -ge $((sv - CONNS)) ] || { echo "FAIL: $sv valid requests sent, only $g2 got 200"; fail=1; }
[ "$g4" -le "$si" ] || { echo "FAIL: $g4 4xx answers for $si invalid requests"; fail=1; }
# Flat: descriptors back to where they were, RSS within 10% + 8 MiB.
[ "$fd1" -le $((fd0 + 2)) ] || { echo "FAIL: open fds grew $fd0 -> $fd1"; fail=1; }
[ "$rss1" -le $((rss0 + rss0 / 10 + 8192)) ] || { echo "FAIL: RSS grew $rss0 -> $rss1 kB"; fail=1; }
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "FAIL: /healthz after the soak"; fail=1; }
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && rc=0 || rc=$?
SERVER_PID=
[ "$rc" -eq 0 ] || { echo "FAIL: server exit $rc on SIGTERM"; fail=1; }
[ "$fail" -eq 0 ] && echo "soak: PASS (no crash, no 5xx, RSS $rss0 -> $rss1 kB, fds $fd0 -> $fd1)"
exit "$fail"
