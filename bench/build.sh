#!/bin/sh
# build.sh: builds the library (CMake, into $BUILD, default build/) and the
# benchmark programs against it (into $BUILD/bench/). Sourced or run by the
# other bench scripts; benchmarks are never part of the test run.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target mnist mnist-train >/dev/null
mkdir -p "$BUILD/bench"
CC=${CC:-cc}
for prog in gemm_bench train_bench infer_bench; do
    $CC -std=c11 -O2 -g -Wall -Wextra -fopenmp -I"$ROOT/include" -I"$ROOT/core" -I"$ROOT/core/kernels" \
        "$ROOT/bench/$prog.c" "$ROOT/bench/fma_peak.c" "$BUILD/core/libmnist.a" \
        -lz -lm -o "$BUILD/bench/$prog"
done
