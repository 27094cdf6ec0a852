#!/bin/sh
# serve_compare.sh: requests/s and latency of raw 784-byte POSTs to
# /predict (wrk on loopback, 2 threads, 64 connections, 10 s each), in the
# same run: mnist-server (and the same image through its Open Inference
# Protocol path, JSON and binary tensors); FastAPI + uvicorn (2 workers) + PyTorch serving
# the same model (the baseline); and a libmicrohttpd server answering a
# fixed JSON without any work (the ceiling). Prints our ratios to both.
# Both libmicrohttpd servers use its default 32 KiB connection pool.
# mnist-server also runs a one-epoch linear model, whose forward pass costs
# next to nothing: the ceiling of its HTTP path.
# wrk shares the machine's cores with the server under test.
#
# usage: bench/serve_compare.sh [--duration S] [--connections N] [--model PATH]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DUR=10
CONNS=64
MODEL=$ROOT/models/mnist-cnn.bin
while [ $# -gt 0 ]; do
    case $1 in
    --duration) DUR=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--connections N] [--model PATH]" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "serve_compare.sh: wrk not installed (apt-get install wrk)" >&2; exit 1; }
OUT=$(mktemp -d)
PIDS=""
# stop PID: stops a server we started and waits for it to exit.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

cleanup() {
    for p in $PIDS; do stop "$p"; done
    rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target mnist-server mnist-train serve_compare_fixed >/dev/null 2>&1 || true
DATA=${MNIST_DATA_DIR:-$ROOT/data/mnist}

# port_in FILE: the port a server printed into FILE, if it has yet.
port_in() {
    sed -n 's/^port \([0-9]*\)$/\1/p; s/^listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$1" | head -n 1
}

# wait_port FILE: the port a server printed into FILE, waiting up to 30 s.
wait_port() {
    i=0
    while [ $i -lt 300 ]; do
        p=$(port_in "$1")
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.1
        i=$((i + 1))
    done
    echo "serve_compare.sh: no port in $1:" >&2
    cat "$1" >&2
    return 1
}

# wait_ready PORT: until /predict answers a raw image with 200 (up to 90 s:
# PyTorch's workers take a while to import).
wait_ready() {
    i=0
    while [ $i -lt 900 ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 -X POST \
            -H 'Content-Type: application/octet-stream' --data-binary @"$OUT/body" \
            "http://127.0.0.1:$1/predict" || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "serve_compare.sh: server on port $1 never answered 200" >&2
    return 1
}

# bench NAME PORT [LUA]: warm up, then the measured wrk run into $OUT/NAME;
# LUA is the request (default: POST /predict of serve_compare_post.lua).
bench() {
    wait_ready "$2"
    lua=${3:-$ROOT/bench/serve_compare_post.lua}
    url="http://127.0.0.1:$2/"
    wrk -t2 -c"$CONNS" -d2s -s "$lua" "$url" >/dev/null 2>&1 || true
    echo "== $1"
    wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s "$lua" "$url" | tee "$OUT/$1"
}
rps() { awk '$1 == "Requests/sec:" { print $2 }' "$OUT/$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$OUT/$1"; }

command -v curl >/dev/null || { echo "serve_compare.sh: curl not installed" >&2; exit 1; }
head -c 784 /dev/zero >"$OUT/body"
THREADS=$(nproc)
"$BUILD/bench/serve_compare_fixed" "$THREADS" >"$OUT/fixed.port" &
FIXED=$!
PIDS="$PIDS $FIXED"
bench fixed "$(wait_port "$OUT/fixed.port")"
stop "$FIXED"

if [ -x "$BUILD/mnist-server" ]; then
    # Start-up: from the exec to the first 200 from /readyz (polled without
    # pause; each poll's curl start-up counts against us).
    t0=$(date +%s%N)
    # The reference model by default, as the FastAPI baseline serves
    # (--model: another, e.g. the default cascade).
    "$BUILD/mnist-server" --host 127.0.0.1 --port 0 --model "$MODEL" \
        >"$OUT/ours.port" 2>"$OUT/ours.log" &
    OURS=$!
    PIDS="$PIDS $OURS"
    code=
    while [ "$code" != 200 ] && [ $(( $(date +%s%N) - t0 )) -lt 10000000000 ]; do
        p=$(port_in "$OUT/ours.port")
        [ -n "$p" ] && code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/readyz" || true)
    done
    echo "server ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms (start to first /readyz 200; target <= 100)"
    port=$(wait_port "$OUT/ours.port")
    bench ours "$port"
    # The same model through the Open Inference Protocol: JSON tensors,
    # then binary tensor data (what Triton's client sends by default).
    OIP_MODEL=$(basename "$MODEL" .bin) bench ours_oip_json "$port" "$ROOT/bench/serve_oip_json.lua"
    OIP_MODEL=$(basename "$MODEL" .bin) bench ours_oip_binary "$port" "$ROOT/bench/serve_oip_binary.lua"
    echo "server RSS after the load: $(awk '/^VmRSS/ { print $2, $3 }' /proc/$OURS/status)"
    echo "server peak RSS: $(awk '/^VmHWM/ { print $2, $3 }' /proc/$OURS/status)"
    stop "$OURS"
    # The server's own ceiling: the same path with a model that costs
    # next to nothing (784 -> 10 linear, one epoch; 0.016 MFLOP an image
    # against the reference model's 5.26), so the gap to the fixed-JSON
    # server can be split into HTTP handling and the model.
    if "$BUILD/mnist-train" --data "$DATA" --arch "flatten,dense10,softmax" --epochs 1 \
        --threads "$THREADS" --out "$OUT/linear.bin" --name linear >"$OUT/linear.log" 2>&1; then
        "$BUILD/mnist-server" --host 127.0.0.1 --port 0 --model "$OUT/linear.bin" \
            >"$OUT/linear.port" 2>>"$OUT/linear.log" &
        OURS=$!
        PIDS="$PIDS $OURS"
        bench ours_linear "$(wait_port "$OUT/linear.port")"
        stop "$OURS"
    else
        echo "== ours_linear: mnist-train failed ($DATA): $(tail -1 "$OUT/linear.log")"
    fi
else
    echo "== ours: $BUILD/mnist-server not built"
fi

if /usr/bin/python3 -c 'import fastapi, uvicorn, torch' 2>/dev/null; then
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 \
    MALLOC_TOP_PAD_=268435456 \
        /usr/bin/python3 "$ROOT/bench/serve_compare_fastapi.py" 2 >"$OUT/fastapi.port" 2>"$OUT/fastapi.log" &
    FASTAPI=$!
    PIDS="$PIDS $FASTAPI"
    bench fastapi "$(wait_port "$OUT/fastapi.port")"
    stop "$FASTAPI"
else
    echo "== FastAPI baseline: needs python3-fastapi python3-uvicorn python3-torch"
fi

echo "== summary (requests/s, p99)"
for n in ours ours_oip_json ours_oip_binary ours_linear fastapi fixed; do
    [ -f "$OUT/$n" ] && printf '%-12s %10s req/s  p99 %s\n' "$n" "$(rps $n)" "$(p99 $n)"
done
if [ -f "$OUT/ours" ]; then
    [ -f "$OUT/fastapi" ] && awk -v o="$(rps ours)" -v f="$(rps fastapi)" \
        'BEGIN { printf "ours / FastAPI+PyTorch: %.1fx  (target >= 8)\n", o / f }'
    [ -f "$OUT/ours_oip_json" ] && awk -v o="$(rps ours)" -v j="$(rps ours_oip_json)" -v b="$(rps ours_oip_binary)" \
        'BEGIN { printf "Open Inference Protocol / POST /predict: JSON %.2f, binary %.2f\n", j / o, b / o }'
    awk -v o="$(rps ours)" -v f="$(rps fixed)" \
        'BEGIN { printf "ours / fixed-JSON libmicrohttpd: %.2f  (target >= 0.35)\n", o / f }'
    if [ -f "$OUT/ours_linear" ]; then
        awk -v l="$(rps ours_linear)" -v f="$(rps fixed)" \
            'BEGIN { printf "ours with a linear model / fixed-JSON libmicrohttpd: %.2f  (the ceiling of our HTTP path)\n", l / f }'
        # wrk and the server fill the CPUs, so CPU-us per request is
        # CPUs * 1e6 / rate: the two mnist-server runs differ by the model's
        # cost, and the target leaves the model what 0.25 of the fixed
        # server's rate allows beyond the linear run.
        awk -v o="$(rps ours)" -v l="$(rps ours_linear)" -v f="$(rps fixed)" -v c="$(nproc)" \
            'BEGIN { printf "CPU-us a request: ours %.1f, linear model %.1f; the model costs %.1f, 0.25 of fixed-JSON leaves it %.1f\n", c * 1e6 / o, c * 1e6 / l, c * 1e6 / o - c * 1e6 / l, c * 1e6 / (0.25 * f) - c * 1e6 / l }'
    fi
fi
