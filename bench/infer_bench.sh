#!/bin/sh
# infer_bench.sh: one-image latency and batch-256 throughput, ours against
# PyTorch on the same machine in the same run (same model shapes and
# thread count), printed as ratios.
#
# usage: bench/infer_bench.sh [--threads N] [--model PATH]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
THREADS=$(nproc)
MODEL=$ROOT/models/mnist-cnn.bin
while [ $# -gt 0 ]; do
    case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    *) echo "usage: $0 [--threads N] [--model PATH]" >&2; exit 2 ;;
    esac
done
"$ROOT/bench/build.sh"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== ours"
nice -n 10 "$BUILD/bench/infer_bench" --model "$MODEL" --threads "$THREADS" | tee "$OUT/ours"
have_torch=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    have_torch=1
    echo "== PyTorch (inference_mode, $THREADS threads; allocator tuned)"
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 \
    MALLOC_TOP_PAD_=268435456 OMP_NUM_THREADS=$THREADS \
        nice -n 10 /usr/bin/python3 "$ROOT/bench/torch_ref.py" infer --threads "$THREADS" \
        | tee "$OUT/torch"
else
    echo "== PyTorch: not installed (apt-get install python3-torch); no baseline"
fi

get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
echo "== summary"
printf 'ours:    one image %7.1f us median (p99 %.1f us); batch 256: %8.0f images/s (%d threads), %8.0f (1 thread)\n' \
    "$(get "$OUT/ours" latency_us_median)" "$(get "$OUT/ours" latency_us_p99)" \
    "$(get "$OUT/ours" batch256_images_per_s)" "$THREADS" \
    "$(get "$OUT/ours" batch256_images_per_s_1thread)"
if [ $have_torch = 1 ]; then
    printf 'PyTorch: one image %7.1f us median; batch 256: %8.0f images/s (OPENBLAS_CORETYPE=%s)\n' \
        "$(get "$OUT/torch" latency_us_median)" "$(get "$OUT/torch" batch256_images_per_s)" \
        "${OPENBLAS_CORETYPE:-unset}"
    awk -v o="$(get "$OUT/ours" latency_us_median)" -v t="$(get "$OUT/torch" latency_us_median)" \
        'BEGIN { printf "latency ratio ours/PyTorch: %.3f  (target <= 0.2; and <= 60 us: %s)\n", o / t, o <= 60 ? "yes" : "no" }'
    awk -v o="$(get "$OUT/ours" batch256_images_per_s)" -v t="$(get "$OUT/torch" batch256_images_per_s)" \
        'BEGIN { printf "batch-256 throughput ratio ours/PyTorch: %.2f  (target >= 3)\n", o / t }'
fi
