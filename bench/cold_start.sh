#!/usr/bin/env bash
# cold_start.sh: how long a fresh container takes to serve. For ROUNDS runs
# of IMAGE (no network but its own loopback, read-only root, as the tests
# run it) it measures, in ms:
#   run->ready:   from calling "podman run -d" to the first 200 of /readyz
#   start->ready: from the container process's start (podman's StartedAt)
#                 to that 200; polling starts when "podman run -d" returns,
#                 so a server ready sooner shows podman's own return time
# and, as the baseline, the same server binary started natively on the host
# (BUILD/mnist-server, same model): process spawn -> first 200 of /readyz.
# Prints every round and the medians. /readyz is polled through nsenter
# with curl, one poll every few ms, so figures carry that granularity.
# Needs root and a built image (tests/container/run.sh builds one; or
# podman build --format docker -t mnist-digits .).
# usage: bench/cold_start.sh [IMAGE] [ROUNDS]     (default mnist-digits, 7)
#   MODEL=/usr/share/mnist/models/mnist-cnn.bin bench/cold_start.sh ...: another
#   of the image's models than its default (MNIST_MODEL)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
IMAGE=${1:-mnist-digits}
ROUNDS=${2:-7}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$("$ROOT/scripts/container-conf.sh" "$BUILD/containers.conf")}
podman image exists "$IMAGE" || { echo "cold_start: no image $IMAGE (build it first)" >&2; exit 2; }
MODEL=${MODEL:-$(podman image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed -n 's/^MNIST_MODEL=//p')}
name=mnist-cold-$$
pidfile=$(mktemp /tmp/mnist-cold.XXXXXX)
native_pid=
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  rm -f "$pidfile"
  [ -n "$native_pid" ] && kill "$native_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

run_ready=() start_ready=() native_ready=()
for r in $(seq 1 "$ROUNDS"); do
  t0=$(now)
  # --pidfile, not "podman inspect": polling starts as soon as podman returns.
  rm -f "$pidfile"
  podman run -d --name "$name" --pidfile "$pidfile" --network none --read-only \
    --tmpfs /tmp:size=16m -e "MNIST_MODEL=$MODEL" "$IMAGE" > /dev/null 2>&1
  pid=$(cat "$pidfile")
  until nsenter -t "$pid" -n curl -s -o /dev/null --max-time 1 -f http://127.0.0.1:8080/readyz; do
    kill -0 "$pid" 2>/dev/null || { podman logs "$name" >&2; exit 1; }
  done
  t1=$(now)
  started=$(podman inspect -f '{{.State.StartedAt}}' "$name")
  ts=$(/usr/bin/python3 -c 'import sys, datetime, re
s = sys.argv[1]  # e.g. 2026-12-05 04:49:13.123456789 +0000 UTC
m = re.match(r"(\S+ \S+?)(?:\.(\d+))? ([+-]\d{4})", s)
t = datetime.datetime.strptime(m.group(1) + " " + m.group(3), "%Y-%m-%d %H:%M:%S %z")
print(int(t.timestamp()) * 10**9 + int((m.group(2) or "0").ljust(9, "0")[:9]))' "$started")
  podman rm -f -t 0 "$name" > /dev/null 2>&1
  run_ready+=("$(ms "$t0" "$t1")") start_ready+=("$(ms "$ts" "$t1")")

  # Native baseline: the same binary and model straight on the host.
  if [ -x "$BUILD/mnist-server" ]; then
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    t0=$(now)
    "$BUILD/mnist-server" --host 127.0.0.1 --port "$port" --model "$ROOT/models/$(basename "$MODEL")" \
      --log-format off > /dev/null 2>&1 &
    native_pid=$!
    until curl -s -o /dev/null --max-time 1 -f "http://127.0.0.1:$port/readyz"; do
      kill -0 "$native_pid" 2>/dev/null || { echo "cold_start: native server died" >&2; exit 1; }
    done
    t1=$(now)
    kill "$native_pid"; wait "$native_pid" 2>/dev/null || true; native_pid=
    native_ready+=("$(ms "$t0" "$t1")")
  fi
  echo "round $r: podman run->ready ${run_ready[-1]} ms, container start->ready ${start_ready[-1]} ms${native_ready:+, native spawn->ready ${native_ready[-1]} ms}"
done
echo "median of $ROUNDS ($IMAGE, model $(basename "$MODEL")):"
echo "  podman run -> /readyz 200:       $(printf '%s\n' "${run_ready[@]}" | median) ms"
echo "  container start -> /readyz 200:  $(printf '%s\n' "${start_ready[@]}" | median) ms"
[ ${#native_ready[@]} -gt 0 ] && echo "  native spawn -> /readyz 200:     $(printf '%s\n' "${native_ready[@]}" | median) ms (baseline)"
exit 0
