#!/usr/bin/env bash
# Installs the Debian packages the project needs, one list for the README,
# .ci/run and the Dockerfile's build stage. Usage: scripts/deps.sh [build|test|container]
#   build:     compiler, CMake and the -dev libraries (what the image builds with)
#   test:      build + what the tests and benchmarks drive (npm, chromium, podman...)
#   container: only what the container tests drive (podman, debootstrap, yamllint...)
set -euo pipefail
what=${1:-build}
# python3: configuring the project looks for it (the test fragments drive
# Python scripts), even when only the binaries are built.
build_pkgs=(build-essential cmake pkg-config ca-certificates
  libmicrohttpd-dev libcjson-dev libstb-dev zlib1g-dev python3)
# The feedback store's SQLite backend, and libpq's header for its
# PostgreSQL backend, which loads libpq.so.5 with dlopen only for a
# postgresql:// store (the image's PostgreSQL variant copies libpq5 from
# the build stage).
build_pkgs+=(libsqlite3-dev libpq-dev libpq5)
test_pkgs=(chromium curl wrk valgrind python3 python3-pil dataset-fashion-mnist)
# The HTTP tests validate every answer against web/openapi.json.
test_pkgs+=(python3-jsonschema)
# The feedback store's test starts a temporary PostgreSQL 15 server.
test_pkgs+=(postgresql-15)
# scripts/make-nondigits.py and make-digits.py (the training-side data of
# the verdict, which a test drives): numpy, the Hershey stroke fonts and
# TrueType print and handwriting fonts.
test_pkgs+=(python3-numpy hershey-fonts-data fonts-dejavu-core fonts-liberation2
  fonts-dkg-handwriting fonts-breip fonts-femkeklaver fonts-rufscript)
# Node.js and npm drive the browser test. A machine that already has them
# (from another repository, which Debian's npm would conflict with) keeps
# its own.
command -v npm >/dev/null 2>&1 || test_pkgs+=(nodejs npm)
# Build and run the image with podman (runc: crun refuses hybrid cgroups),
# catatonit for the pods of "podman kube play", make the base image with
# debootstrap, lint the manifests with yamllint + PyYAML, run the arm64
# image under emulation (qemu-user-static), run deploy/compose.yaml.
container_pkgs=(podman runc catatonit debootstrap fuse-overlayfs curl util-linux
  yamllint python3-yaml qemu-user-static podman-compose)
case "$what" in
  build) pkgs=("${build_pkgs[@]}") ;;
  test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}" "${container_pkgs[@]}") ;;
  container) pkgs=("${container_pkgs[@]}") ;;
  *) echo "usage: scripts/deps.sh [build|test|container]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
