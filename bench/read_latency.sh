#!/usr/bin/env bash
# read_latency.sh: server-side time (elapsed_ms) of POST /v1/read on a
# five-digit 1000x280 PNG made of MNIST test digits, grey and as a
# transparent RGBA canvas, with one worker thread; baseline in the same
# run: POST /predict of the same image (decode + one normalisation).
# usage: bench/read_latency.sh [N]   (N requests each, default 200)
# Needs: a build (BUILD, default build/), MNIST (MNIST_DATA_DIR or
# data/mnist), Debian's python3 with PIL, curl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DATA=${MNIST_DATA_DIR:-$ROOT/data/mnist}
N=${1:-200}
tmp=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$DATA" "$tmp" <<'PY'
import sys
from PIL import Image
data, out = sys.argv[1], sys.argv[2]
raw = open(data + "/t10k-images-idx3-ubyte", "rb").read()
line = Image.new("L", (1000, 280), 0)
for k in range(5):  # digits 7 2 1 0 4, 180 px high, 190 px apart
    d = Image.frombytes("L", (28, 28), raw[16 + 784 * k:16 + 784 * (k + 1)]).resize((180, 180), Image.BILINEAR)
    line.paste(d, (30 + 190 * k, 50 + 8 * (k % 2)))
line.point(lambda v: 255 - v).save(out + "/grey.png")
rgba = Image.new("RGBA", (1000, 280), (0, 0, 0, 0))
rgba.putalpha(line)
rgba.save(out + "/canvas.png")
PY

nice -n 10 "$BUILD/mnist-server" --host 127.0.0.1 --port 0 --threads 1 --log-format off > "$tmp/log" 2>&1 &
srv=$!
for _ in $(seq 50); do grep -q listening "$tmp/log" && break; sleep 0.1; done
port=$(grep -o '127.0.0.1:[0-9]*' "$tmp/log" | cut -d: -f2)

# Median and 90th percentile of elapsed_ms over N requests.
measure() {
  for _ in $(seq "$N"); do
    curl -s --data-binary @"$2" -H 'Content-Type: image/png' "localhost:$port$1" |
      grep -o '"elapsed_ms":[0-9.]*' | cut -d: -f2
  done | sort -n | awk '{ a[NR] = $1 } END { printf "%s %s\n", a[int(NR / 2) + 1], a[int(NR * 0.9)] }'
}
text=$(curl -s --data-binary @"$tmp/grey.png" -H 'Content-Type: image/png' "localhost:$port/v1/read" |
       grep -o '"text":"[^"]*"')
echo "five-digit 1000x280 PNG, $text, $N requests each, one worker"
printf '%-10s %22s %22s %8s\n' image "/v1/read median p90" "/predict median p90" ratio
for img in grey canvas; do
  read -r rm r9 < <(measure /v1/read "$tmp/$img.png")
  read -r pm p9 < <(measure /predict "$tmp/$img.png")
  printf '%-10s %14s %7s %14s %7s %8.2f\n' "$img" "$rm ms" "$r9" "$pm ms" "$p9" "$(echo "$rm / $pm" | bc -l)"
done
