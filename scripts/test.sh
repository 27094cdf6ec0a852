#!/usr/bin/env bash
# Installs what the tests need, fetches MNIST, builds, and runs every test:
# the normal build's full suite, then the same suite under AddressSanitizer
# and UndefinedBehaviorSanitizer, then the arm64 build's kernel tests under
# qemu-user (scripts/test-arm64.sh). Exits non-zero when anything fails.
# Usage: scripts/test.sh            (what .ci/run and the README run)
#        SANITIZE=0 scripts/test.sh (skip the sanitizer pass)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
scripts/fetch-mnist.sh
export MNIST_DATA_DIR=${MNIST_DIR:-$PWD/data/mnist}

BUILD_DIR=build scripts/build.sh -DMNIST_WERROR=ON -DMNIST_DATA_DIR="$MNIST_DATA_DIR"
(cd build && ctest --output-on-failure --timeout 1800)

if [ "${SANITIZE:-1}" != 0 ]; then
  echo "== sanitizer build (address, undefined)"
  BUILD_DIR=build-sanitize scripts/build.sh -DMNIST_WERROR=ON -DMNIST_SANITIZE=ON \
    -DMNIST_DATA_DIR="$MNIST_DATA_DIR"
  # The container and browser tests exercise the normal build's binaries
  # (and the OpenAPI lint runs none); the sanitizer pass covers everything
  # that runs our code directly.
  (cd build-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure --timeout 1800 -LE 'container|browser|openapi')
fi
# The arm64 build: cross-compiled, its kernels' tests run under qemu-user.
echo "== arm64 build (cross-compiled; tests under qemu-user)"
scripts/test-arm64.sh
echo "all tests passed"
