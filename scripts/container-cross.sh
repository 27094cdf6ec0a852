#!/usr/bin/env bash
# In the image's build stage: when the target architecture (a Debian name:
# amd64, arm64...) differs from the build machine's, installs the cross
# compiler and the target's -dev libraries through dpkg multiarch, then
# prints the CMake arguments that cross-compile for it. Prints nothing for a
# native build.
# Usage: scripts/container-cross.sh ARCH     (root, in a Debian build stage)
set -euo pipefail
arch=${1:?target architecture}
[ "$arch" = "$(dpkg --print-architecture)" ] && exit 0
triplet=$(dpkg-architecture -a "$arch" -qDEB_HOST_MULTIARCH 2>/dev/null)
cpu=$(dpkg-architecture -a "$arch" -qDEB_HOST_GNU_CPU 2>/dev/null)
if ! command -v "$triplet-gcc" >/dev/null \
   || ! dpkg-query -W -f='${Status}' "libpq-dev:$arch" 2>/dev/null | grep -q "install ok installed"; then
  # libpq-dev: the feedback store's libpq-fe.h and the test's libpq.pc (the
  # binaries load libpq with dlopen, not linked). It is not multi-arch, so
  # the target's copy replaces the build machine's in this stage.
  dpkg --add-architecture "$arch"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "gcc-$triplet" "libc6-dev:$arch" "libmicrohttpd-dev:$arch" "libcjson-dev:$arch" \
    "libstb-dev:$arch" "zlib1g-dev:$arch" "libsqlite3-dev:$arch" "libpq-dev:$arch" "libgomp1:$arch" >&2
  rm -rf /var/lib/apt/lists/*
fi
# (The caller points PKG_CONFIG_LIBDIR at the target's .pc files.)
echo "-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$cpu -DCMAKE_C_COMPILER=$triplet-gcc"
