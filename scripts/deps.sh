#!/usr/bin/env bash
# Installs the Debian packages the project needs, one list for the README,
# .ci/run and the Dockerfile's build stage. Usage: scripts/deps.sh [build|test|container]
#   build:     compiler, CMake and the -dev libraries (what the image builds with)
#   test:      build + what the tests and benchmarks drive (npm, chromium, podman...)
#   container: only what the container tests drive (podman, debootstrap, yamllint...)
set -euo pipefail
what=${1:-build}
build_pkgs=(build-essential cmake pkg-config ca-certificates
  libmicrohttpd-dev libcjson-dev libstb-dev zlib1g-dev)
test_pkgs=(npm nodejs chromium curl wrk)
# Build and run the image with podman (runc: crun refuses hybrid cgroups),
# catatonit for the pods of "podman kube play", make the base image with
# debootstrap, lint the manifests with yamllint + PyYAML.
container_pkgs=(podman runc catatonit debootstrap fuse-overlayfs curl util-linux
  yamllint python3-yaml)
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
