#!/usr/bin/env bash
# The arm64 build's tests on this (x86-64) machine: cross-compiles the
# library, mnist-eval and the kernels' tests with Debian's
# gcc-aarch64-linux-gnu (MNIST_CORE_ONLY) and runs them under qemu-user,
# which ctest puts before each test binary (CMAKE_CROSSCOMPILING_EMULATOR):
# every kernel of the generic and NEON levels against its reference, a
# training run's determinism, mnist-eval's accuracy on the bundled models.
# Emulated time is not a speed: nothing here is timed.
# Usage: scripts/test-arm64.sh   (root the first time: installs the cross
#        compiler and the arm64 -dev libraries through dpkg multiarch)
set -euo pipefail
cd "$(dirname "$0")/.."
triplet=aarch64-linux-gnu
libs=(zlib1g-dev:arm64 libcjson-dev:arm64 libstb-dev:arm64 libgomp1:arm64)
missing=()
for p in gcc-$triplet qemu-user-static "${libs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "arm64: installing ${missing[*]}"
  SUDO=
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export MNIST_DATA_DIR=${MNIST_DATA_DIR:-$PWD/data/mnist}
# The native mnist-eval the emulated one is compared with.
BUILD_DIR=build BUILD_TARGETS=mnist-eval scripts/build.sh >/dev/null
PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig \
  BUILD_DIR=${BUILD_DIR:-build-arm64} scripts/build.sh \
  -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 -DCMAKE_C_COMPILER=$triplet-gcc \
  "-DCMAKE_CROSSCOMPILING_EMULATOR=qemu-aarch64-static;-L;/usr/$triplet" \
  -DMNIST_CORE_ONLY=ON -DMNIST_WERROR=ON -DMNIST_DATA_DIR="$MNIST_DATA_DIR" \
  -DMNIST_NATIVE_EVAL="$PWD/build/mnist-eval"
cd "${BUILD_DIR:-build-arm64}"
ctest --output-on-failure --timeout 1800 -j "$(nproc)"
