#!/usr/bin/env bash
# Checks that the Fashion-MNIST IDX files (Debian's dataset-fashion-mnist
# package, /usr/share/datasets/fashion-mnist) are present and match
# scripts/fashion-mnist.sha256; installs the package when they are missing
# and this runs as root. FASHION_MNIST_DIR=/path checks that directory
# instead. Prints the directory to pass to mnist-train --data.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sums=$root/scripts/fashion-mnist.sha256
dir=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}

verify() { # dir
  (cd "$1" && sha256sum --quiet -c "$sums") >/dev/null 2>&1
}

if [ -d "$dir" ] && verify "$dir"; then
  echo "fashion-mnist: $dir is present and verified"
  exit 0
fi
if [ -n "${FASHION_MNIST_DIR:-}" ]; then
  echo "fashion-mnist: FASHION_MNIST_DIR=$dir does not hold the four gzipped IDX files with the" >&2
  echo "               expected checksums (scripts/fashion-mnist.sha256); sha256sum -c says:" >&2
  (cd "$dir" && sha256sum -c "$sums") >&2 || true
  exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "fashion-mnist: installing Debian's dataset-fashion-mnist"
  apt-get -o DPkg::Lock::Timeout=600 install -y dataset-fashion-mnist >/dev/null
fi
if [ -d "$dir" ] && verify "$dir"; then
  echo "fashion-mnist: $dir is present and verified"
  exit 0
fi
echo "fashion-mnist: the data is missing or does not match scripts/fashion-mnist.sha256." >&2
echo "               Install it with: sudo apt-get install dataset-fashion-mnist" >&2
echo "               (or set FASHION_MNIST_DIR to a directory holding the four .gz IDX files)" >&2
exit 1
