#!/usr/bin/env bash
# Configures and builds the project into BUILD_DIR (default: build/).
# Extra arguments go to CMake, e.g. scripts/build.sh -DMNIST_SANITIZE=ON.
# BUILD_TARGETS (space-separated) limits the build to those targets, as the
# Dockerfile does for the binaries it ships; default: everything.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
