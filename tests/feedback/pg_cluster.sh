#!/usr/bin/env bash
# Runs a test against a PostgreSQL server of its own: a
# temporary cluster (fsync on) listening only on a unix socket in a
# temporary directory, run by an unprivileged user when started as root
# (initdb refuses root). The server is stopped and the directory removed
# on every exit. Fails, never skips, when PostgreSQL cannot be started.
# The test gets the database's postgresql:// URL as its last argument.
# Usage: tests/feedback/pg_cluster.sh TEST [ARG...]
#   e.g. tests/feedback/pg_cluster.sh build/tests/test_feedback_store
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: pg_cluster.sh TEST [ARG...]" >&2; exit 2; }
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
for tool in initdb pg_ctl postgres; do
  [ -x "$pgbin/$tool" ] || { echo "FAIL: $pgbin/$tool missing (scripts/deps.sh test installs postgresql)" >&2; exit 1; }
done

# /tmp, not $TMPDIR: a unix socket path must stay under 108 bytes.
dir=$(mktemp -d /tmp/fb-pg-XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown nobody: "$dir"
  as_owner=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
started=0
cleanup() {
  if [ "$started" = 1 ]; then
    "${as_owner[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cd "$dir" # the unprivileged owner must be able to stand in the working directory
"${as_owner[@]}" "$pgbin/initdb" -D "$dir/data" -U fbtest --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; echo "FAIL: initdb" >&2; exit 1; }
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
CONF
started=1
"${as_owner[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
  || { cat "$dir/server.log" >&2; echo "FAIL: the PostgreSQL server did not start" >&2; exit 1; }
"${as_owner[@]}" "$pgbin/createdb" -h "$dir" -U fbtest feedback \
  || { echo "FAIL: createdb" >&2; exit 1; }

"$@" "postgresql:///feedback?host=$dir&user=fbtest"
