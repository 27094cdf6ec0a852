#!/usr/bin/env bash
# serve_wrk.sh: drives mnist-server with wrk on loopback for a bounded time:
# GET /healthz (the HTTP floor, the baseline of this run), raw 784-byte and
# PNG predictions, at 16 and 64 connections. Prints req/s, p50, p99, the
# ratio to the baseline, and the server's resident memory (now and peak).
# Usage: bench/serve_wrk.sh [seconds per run, default 5]
# Env: BUILD_DIR (default build), SERVER_ARGS (extra server flags),
#      WRK_THREADS (default 1), MNIST_DATA_DIR (default data/mnist).
# Not a pass/fail test: figures depend on the machine and its load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
server=$build/mnist-server
data=${MNIST_DATA_DIR:-$root/data/mnist}
secs=${1:-5}
wrk_threads=${WRK_THREADS:-1}
py=/usr/bin/python3
[ -x "$py" ] || py=python3

[ -x "$server" ] || { echo "serve_wrk: $server not built (cmake --build $build)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "serve_wrk: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -f "$data/t10k-images-idx3-ubyte" ] || { echo "serve_wrk: no MNIST in $data (scripts/fetch-mnist.sh)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Inputs: the first test digit as 784 raw bytes, and as a 112x112
# black-on-white PNG (what a drawing page or a phone photo crop sends).
"$py" - "$data/t10k-images-idx3-ubyte" "$tmp" <<'PY'
import struct, sys, zlib
img = open(sys.argv[1], "rb").read()[16:16 + 784]
open(sys.argv[2] + "/digit.raw", "wb").write(img)
s, n = 4, 112
rows = b"".join(b"\x00" + bytes(255 - img[(y // s) * 28 + x // s] for x in range(n)) for y in range(n))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 0, 0, 0, 0)) +
       chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(sys.argv[2] + "/digit.png", "wb").write(png)
PY

# shellcheck disable=SC2086
"$server" --host 127.0.0.1 --port 0 --log-format off ${SERVER_ARGS:-} >"$tmp/out" 2>"$tmp/err" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$tmp/out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "serve_wrk: server did not start" >&2; cat "$tmp/err" >&2; exit 1; }
url=http://127.0.0.1:$port

rss_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
echo "mnist-server $(grep -o 'model .*' "$tmp/err" | head -1)"
echo "wrk: ${secs}s per run, $wrk_threads thread(s); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-8s %5s %9s %9s %9s %8s %8s %8s\n" kind conns req/s p50_ms p99_ms vs_base rss_MB peak_MB
for conns in 16 64; do
  base=
  for kind in healthz raw png; do
    case $kind in
      healthz) body= ; ctype= ; path=/healthz ;;
      raw) body=$tmp/digit.raw ; ctype=application/octet-stream ; path=/predict ;;
      png) body=$tmp/digit.png ; ctype=image/png ; path=/predict ;;
    esac
    line=$(BODY_FILE=$body CONTENT_TYPE=$ctype wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" \
             -s "$root/bench/serve_wrk.lua" "$url$path" | grep '^RESULT')
    rps=$(sed 's/.*rps=\([0-9]*\).*/\1/' <<<"$line")
    p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
    p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
    bad=$(sed 's/.*non2xx=\([0-9]*\) errors=\([0-9]*\).*/\1+\2/' <<<"$line")
    [ -z "$base" ] && base=$rps
    ratio=$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.3f", b ? a / b : 0 }')
    printf "%-8s %5d %9s %9s %9s %8s %8.1f %8.1f" "$kind" "$conns" "$rps" "$p50" "$p99" "$ratio" \
      "$(awk -v k="$(rss_kb VmRSS)" 'BEGIN { print k / 1024 }')" \
      "$(awk -v k="$(rss_kb VmHWM)" 'BEGIN { print k / 1024 }')"
    [ "$bad" != "0+0" ] && printf "   (non-2xx+socket errors: %s)" "$bad"
    printf "\n"
  done
done
