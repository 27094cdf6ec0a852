#!/bin/sh
# predict_cost.sh: server CPU time per POST /predict while wrk (1 thread,
# 8 connections, D seconds) sends the digit images of a folder in turn
# (the shared samples of what users send), for mnist-server with one
# worker and each model given, alternated over R rounds; CPU read from
# /proc/PID/stat (user + system) before and after. Prints each run and
# the median per model. A server built from another commit joins as
# BEFORE=path/to/mnist-server:path/to/model.bin (how issue figures
# compare "before and after").
#
# usage: [BEFORE=BIN:MODEL] bench/predict_cost.sh [DIR] [D] [R]
#        (default: ../shared/data/samples, 8 s, 3 rounds; models: the
#        cascade and its first member alone)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DIR=$(cd "${1:-$ROOT/../shared/data/samples}" && pwd)
DUR=${2:-8}
ROUNDS=${3:-3}
command -v wrk >/dev/null || { echo "predict_cost.sh: wrk not installed (apt-get install wrk)" >&2; exit 1; }
OUT=$(mktemp -d)
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$OUT"' EXIT INT TERM

cat > "$OUT/mix.lua" <<EOF
local files = {}
local p = io.popen('find "$DIR" -name "*.png" -o -name "*.jpg" | sort')
for f in p:lines() do
  local h = io.open(f, "rb"); local b = h:read("*a"); h:close()
  files[#files + 1] = {b, f:match("%.png$") and "image/png" or "image/jpeg"}
end
p:close()
local i = 0
request = function()
  i = i % #files + 1
  return wrk.format("POST", "/predict", {["Content-Type"] = files[i][2]}, files[i][1])
end
EOF

# cost NAME BIN MODEL: one run; appends "NAME us" to $OUT/runs.
cost() {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$2" --port "$port" --model "$3" --threads 1 --log-format off >/dev/null 2>&1 &
    SRV=$!
    i=0
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "predict_cost.sh: $1 did not start" >&2; exit 1; }
        sleep 0.05
    done
    t0=$(awk '{print $14 + $15}' /proc/$SRV/stat)
    n=$(wrk -t1 -c8 -d"${DUR}s" -s "$OUT/mix.lua" "http://127.0.0.1:$port/" | awk '/requests in/ {print $1}')
    t1=$(awk '{print $14 + $15}' /proc/$SRV/stat)
    kill $SRV; wait $SRV 2>/dev/null || true; SRV=
    us=$(awk -v d=$((t1 - t0)) -v n="$n" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", d * 1e6 / t / n }')
    echo "$1 $us" >> "$OUT/runs"
    echo "$1: $n requests, $us us of CPU a request"
}

set -- "cascade:$BUILD/mnist-server:$ROOT/models/mnist-cnn-ensemble.bin" \
       "first-member:$BUILD/mnist-server:$ROOT/models/mnist-cnn-large.bin"
[ -n "${BEFORE:-}" ] && set -- "$@" "before:$BEFORE"
echo "server CPU per /predict, images of $DIR in turn, one worker, wrk 8 connections, ${DUR} s, $ROUNDS rounds"
r=0
while [ $r -lt "$ROUNDS" ]; do
    for spec in "$@"; do
        name=${spec%%:*}; rest=${spec#*:}
        cost "$name" "${rest%%:*}" "${rest#*:}"
    done
    r=$((r + 1))
done
echo "medians:"
for spec in "$@"; do
    name=${spec%%:*}
    awk -v n="$name" '$1 == n {print $2}' "$OUT/runs" | sort -n |
        awk -v n="$name" '{v[NR] = $1} END {printf "  %-14s %8.1f us\n", n, v[int((NR + 1) / 2)]}'
done
