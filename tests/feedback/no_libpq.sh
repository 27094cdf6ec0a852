#!/usr/bin/env bash
# Runs test_feedback_nolibpq with libpq.so.5 hidden, as in the image built
# without PostgreSQL support: in a private mount namespace (root, as in CI)
# /dev/null is mounted over every libpq.so.5 the loader could find.
# Usage: tests/feedback/no_libpq.sh TEST_BINARY SQLITE_PATH
set -euo pipefail
bin=${1:?usage: no_libpq.sh TEST_BINARY SQLITE_PATH}
db=${2:?usage: no_libpq.sh TEST_BINARY SQLITE_PATH}
if ldd "$bin" | grep -q libpq; then
  echo "FAIL: $bin is linked with libpq" >&2
  exit 1
fi
exec unshare --mount -- bash -euc '
  mount --make-rprivate /
  hidden=0
  for lib in $(ldconfig -p | awk "/libpq\\.so\\.5 /{print \$NF}"); do
    mount --bind /dev/null "$(readlink -f "$lib")"
    hidden=$((hidden + 1))
  done
  [ "$hidden" -gt 0 ] || { echo "FAIL: no libpq.so.5 found to hide" >&2; exit 1; }
  exec "$0" "$1"' "$bin" "$db"
