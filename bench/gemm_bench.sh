#!/bin/sh
# gemm_bench.sh: GFLOP/s of each GEMM kernel on the model's shapes, as a
# fraction of the one-core FMA peak measured in the same run.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
"$ROOT/bench/build.sh"
nice -n 10 "$BUILD/bench/gemm_bench"
