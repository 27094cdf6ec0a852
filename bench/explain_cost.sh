#!/bin/sh
# explain_cost.sh: server CPU time per request of POST /v1/explain against
# POST /predict of the same image, in the same run: mnist-server with one
# worker thread under wrk (1 thread, 8 connections by default, D seconds each),
# CPU read from /proc/PID/stat (user + system) before and after. The
# image is a raw 784-byte MNIST test digit. Prints microseconds per
# request and the ratio to /predict for: /predict, /v1/explain with every
# feature map (the default), with the page's two (?layers=0,1), and with
# none (?layers=none: the saliency alone).
#
# usage: [CONNS=N] bench/explain_cost.sh [MODEL] [D]   (default: the bundled model,
# 8 s, 8 connections; CONNS=1: one request at a time, nothing to batch)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DATA=${MNIST_DATA_DIR:-$ROOT/data/mnist}
MODEL=${1:-$ROOT/models/mnist-cnn-ensemble.bin}
DUR=${2:-8}
CONNS=${CONNS:-8}
command -v wrk >/dev/null || { echo "explain_cost.sh: wrk not installed (apt-get install wrk)" >&2; exit 1; }
OUT=$(mktemp -d)
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$OUT"' EXIT INT TERM

# The first test digit (a 7), as the body of every request.
tail -c +17 "$DATA/t10k-images-idx3-ubyte" | head -c 784 > "$OUT/digit.raw"
cat > "$OUT/post.lua" <<EOF
local f = io.open("$OUT/digit.raw", "rb")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = f:read("*a")
f:close()
EOF

"$BUILD/mnist-server" --host 127.0.0.1 --port 0 --model "$MODEL" --threads 1 --log-format off \
    > "$OUT/log" 2>&1 &
SRV=$!
i=0
until grep -q listening "$OUT/log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || { cat "$OUT/log" >&2; exit 1; }
    sleep 0.1
done
PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/log" | head -n 1)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SRV/stat"; }
HZ=$(getconf CLK_TCK)

# us_per_request PATH: server CPU microseconds per answered request.
us_per_request() {
    curl -sf -o /dev/null -H 'Content-Type: application/octet-stream' --data-binary @"$OUT/digit.raw" \
        "http://127.0.0.1:$PORT$1" || { echo "explain_cost.sh: $1 failed" >&2; exit 1; }
    t0=$(cpu_ticks)
    n=$(wrk -t1 -c"$CONNS" -d"${DUR}s" -s "$OUT/post.lua" "http://127.0.0.1:$PORT$1" |
        awk '/requests in/ { print $1 }')
    t1=$(cpu_ticks)
    awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }'
}

base=$(us_per_request /predict)
echo "server CPU per request, $(basename "$MODEL"), one worker, wrk $CONNS connections, ${DUR} s each"
printf '%-34s %12s %8s\n' request "us/request" ratio
printf '%-34s %12s %8s\n' "POST /predict" "$base" 1.00
for path in /v1/explain "/v1/explain?layers=0,1" "/v1/explain?layers=none"; do
    us=$(us_per_request "$path")
    printf '%-34s %12s %8.2f\n' "POST $path" "$us" "$(awk -v a="$us" -v b="$base" 'BEGIN { print a / b }')"
done
