#!/bin/sh
# build.sh: builds the library, mnist-train and the benchmark programs
# (CMake targets of bench/CMakeLists.txt, into $BUILD/bench/) into $BUILD
# (default build/). Run by the other bench scripts; benchmarks are never
# part of the test run.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target mnist-train gemm_bench train_bench infer_bench >/dev/null
