#!/usr/bin/env bash
# Installs what is missing, builds, and starts mnist-server on the bundled
# model. Extra arguments go to the server, e.g. scripts/run.sh --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
BUILD_DIR=build scripts/build.sh
exec build/mnist-server "$@"
