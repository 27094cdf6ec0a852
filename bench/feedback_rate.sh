#!/bin/sh
# feedback_rate.sh: acknowledged POST /v1/feedback a second with the
# SQLite store (WAL, synchronous=FULL: every 201 is synced to disk first),
# wrk on loopback (2 threads, N connections, S seconds), the rate limit off.
# Then checks the store holds every record that got a 201 (and perhaps a
# few more: posts stored while wrk was hanging up at the end), and
# reports the posts per commit the writer grouped. The baseline, in the
# same run: POST /predict of the same body (the same parse and
# normalisation, no store). Target: at least 2,000 acknowledged posts/s.
# usage: bench/feedback_rate.sh [--duration S] [--connections N] [--dir DIR]
#   DIR: where the database goes (default: a temporary directory under
#   /var/tmp, a disk rather than a tmpfs, so the syncs are real)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DUR=10
CONNS=64
BASE=/var/tmp
while [ $# -gt 0 ]; do
    case $1 in
    --duration) DUR=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --dir) BASE=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--connections N] [--dir DIR]" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "feedback_rate.sh: wrk not installed (apt-get install wrk)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "feedback_rate.sh: sqlite3 not installed (apt-get install sqlite3)" >&2; exit 1; }
cmake --build "$BUILD" -j2 --target mnist-server >/dev/null
OUT=$(mktemp -d "$BASE/mnist-feedback-rate.XXXXXX")
. "$ROOT/bench/serve_local.sh"
cleanup() {
    [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
    rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

serve --feedback-db "$OUT/feedback.db" --feedback-rate 0

# The same body to /predict: what the post costs without the store.
sed 's|wrk.path = "/v1/feedback"|wrk.path = "/predict"|; s/status == 201/status == 200/' \
    "$ROOT/bench/feedback_post.lua" > "$OUT/predict.lua"
wrk -t2 -c"$CONNS" -d2s -s "$OUT/predict.lua" "$URL" > /dev/null 2>&1 || true
wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s "$OUT/predict.lua" "$URL" > "$OUT/predict.txt"
wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s "$ROOT/bench/feedback_post.lua" "$URL" > "$OUT/feedback.txt"

commits=$(curl -s "$URL/metrics" | sed -n 's/^mnist_feedback_commits_total //p')
unserve
created=$(sed -n 's/^created \([0-9]*\) other.*/\1/p' "$OUT/feedback.txt")
other=$(sed -n 's/^created [0-9]* other \([0-9]*\)/\1/p' "$OUT/feedback.txt")
rows=$(sqlite3 "$OUT/feedback.db" "SELECT count(*) FROM feedback")
integrity=$(sqlite3 "$OUT/feedback.db" "PRAGMA integrity_check")
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$1"; }
p99() { sed -n 's/^ *99% *\([0-9.]*[a-z]*\)/\1/p' "$1"; }
fb=$(rps "$OUT/feedback.txt") pr=$(rps "$OUT/predict.txt")
echo "POST /predict (same body, no store): $pr req/s, p99 $(p99 "$OUT/predict.txt")"
echo "POST /v1/feedback (SQLite, synced):  $fb req/s, p99 $(p99 "$OUT/feedback.txt"); $created answered 201, $other other"
echo "acknowledged feedback posts/s: $(awk -v c="$created" -v d="$DUR" 'BEGIN { printf "%.0f", c / d }') (target >= 2000); $(awk -v a="$fb" -v b="$pr" 'BEGIN { printf "%.2f", a / b }')x /predict's rate"
echo "commits: $commits, $(awk -v c="$created" -v n="$commits" 'BEGIN { printf "%.1f", n ? c / n : 0 }') posts per commit"
echo "store: $rows rows (201s: $created; the rest were stored as wrk hung up), integrity_check: $integrity"
[ "$rows" -ge "$created" ] && [ "$integrity" = ok ] || { echo "feedback_rate.sh: the store lacks acknowledged posts, or is damaged" >&2; exit 1; }
