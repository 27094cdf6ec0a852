#!/bin/sh
# train_bench.sh: seconds per epoch of the reference recipe (batch 128,
# Adam), ours against PyTorch on the same machine in the same run (same
# model, batch and threads; PyTorch's allocator tuned as its users tune it),
# plus the fraction of the FMA peak we reach. Ratios hold on a shared
# machine where absolute times drift.
#
# usage: bench/train_bench.sh [--threads N] [--images N]
#   --images N   time the first N images of the epoch (default 60000)
#                and scale to 60,000; --images 12800 is a quick look.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DATA=${MNIST_DATA_DIR:-$ROOT/data/mnist}
THREADS=$(nproc)
IMAGES=60000
while [ $# -gt 0 ]; do
    case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --images) IMAGES=$2; shift 2 ;;
    *) echo "usage: $0 [--threads N] [--images N]" >&2; exit 2 ;;
    esac
done
"$ROOT/bench/build.sh"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== ours: library training loop, $THREADS threads, batch 128"
nice -n 10 "$BUILD/bench/train_bench" --data "$DATA" --threads "$THREADS" --images "$IMAGES" \
    | tee "$OUT/ours"

echo "== ours: mnist-train --epochs 1 (the real trainer, incl. shuffling and checkpoint)"
nice -n 10 "$BUILD/mnist-train" --data "$DATA" --epochs 1 --threads "$THREADS" \
    --limit "$IMAGES" --out "$OUT/m.bin" 2>&1 | grep -E '^epoch' | tee "$OUT/trainer" || true

have_torch=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    have_torch=1
    echo "== PyTorch: same model, batch, threads; allocator tuned"
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 \
    MALLOC_TOP_PAD_=268435456 OMP_NUM_THREADS=$THREADS \
        nice -n 10 /usr/bin/python3 "$ROOT/bench/torch_ref.py" train --data "$DATA" \
        --threads "$THREADS" --images "$IMAGES" | tee "$OUT/torch"
else
    echo "== PyTorch: not installed (apt-get install python3-torch); no baseline"
fi

get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
echo "== summary"
printf 'ours:    %8.2f s/epoch  %8.0f images/s  %6.1f GFLOP/s = %.1f%% of the %s FMA peak (%.0f GFLOP/s, %d threads)\n' \
    "$(get "$OUT/ours" s_per_epoch)" "$(get "$OUT/ours" images_per_s)" \
    "$(get "$OUT/ours" gflops)" "$(awk "BEGIN{print 100*$(get "$OUT/ours" fraction_of_peak)}")" \
    "$(get "$OUT/ours" fma_peak_isa)" "$(get "$OUT/ours" fma_peak_gflops)" "$THREADS"
if [ $have_torch = 1 ]; then
    printf 'PyTorch: %8.2f s/epoch  %8.0f images/s  (OPENBLAS_CORETYPE=%s)\n' \
        "$(get "$OUT/torch" s_per_epoch)" "$(get "$OUT/torch" images_per_s)" \
        "${OPENBLAS_CORETYPE:-unset}"
    awk -v o="$(get "$OUT/ours" s_per_epoch)" -v t="$(get "$OUT/torch" s_per_epoch)" \
        'BEGIN { printf "ratio ours/PyTorch time per epoch: %.3f  (target <= 0.5)\n", o / t }'
fi
awk -v f="$(get "$OUT/ours" fraction_of_peak)" \
    'BEGIN { printf "fraction of FMA peak: %.3f  (target >= 0.25)\n", f }'
