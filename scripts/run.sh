#!/usr/bin/env bash
# Installs what is missing, builds, and starts mnist-server on the bundled
# models (models/repository: the default cascade "mnist", with the large,
# reference and Fashion-MNIST models to pick on the page). Extra arguments
# go to the server, e.g. scripts/run.sh --port 9000; --model PATH serves
# that model alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
# Only what serving needs: the tests and fuzz drivers are scripts/test.sh's.
BUILD_DIR=build BUILD_TARGETS=mnist-server scripts/build.sh
for a in "$@"; do
    case $a in --model|--model=*|--model-repository|--model-repository=*) exec build/mnist-server "$@" ;; esac
done
if [ -n "${MNIST_MODEL:-}${MNIST_MODEL_REPOSITORY:-}" ]; then
    exec build/mnist-server "$@"
fi
exec build/mnist-server --model-repository models/repository --default-model mnist "$@"
