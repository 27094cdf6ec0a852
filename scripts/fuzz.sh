#!/usr/bin/env bash
# Builds the libFuzzer binaries with clang (address + undefined sanitizers)
# into build-fuzz/ and fuzzes one target for a bounded time, growing its
# corpus in fuzz/corpus/<target>/ (new inputs and any crash land there, so
# the normal test run replays them from then on).
# Usage: scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags]
#   e.g. scripts/fuzz.sh image 600 -fork=1 -ignore_crashes=1  (go on after a crash)
#        scripts/fuzz.sh list
# Targets: idx weights, and the server's when it is built (see tests/fuzz.cmake).
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${FUZZ_CC:-$(command -v clang-14 || command -v clang)}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
server=ON
[ -f server/CMakeLists.txt ] || server=OFF
cmake -S . -B "$build_dir" -DCMAKE_C_COMPILER="$CC" -DMNIST_BUILD_SERVER=$server -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$flags" -DMNIST_FUZZ=ON \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
if [ "${1:-}" = list ] || [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags]"
  echo "targets:" $(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')
  exit 2
fi
target=$1 seconds=$2
shift 2
cmake --build "$build_dir" -j 2 --target "fuzz_$target" >/dev/null
corpus=fuzz/corpus/$target
mkdir -p "$corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# New interesting inputs go to a scratch directory first and are merged
# into the kept corpus at the end, so it holds a minimal covering set.
# Crashes are written straight into the corpus (artifact_prefix).
set +e
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build_dir/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=${FUZZ_MAX_LEN:-65536} -print_final_stats=1 -artifact_prefix="$corpus/" \
  "$@" "$work" "$corpus" 2>&1 | tee "$work.log" | grep -v '^#[0-9]*.*\(NEW\|REDUCE\|pulse\)'
status=${PIPESTATUS[0]}
set -e
stats=$(grep -E '^stat::|DONE|^Done' "$work.log" | tail -n 12)
# Merge the new inputs into the kept corpus (only those adding coverage).
# It runs in the scratch directory: its child processes write any crash
# files into their working directory, whatever -artifact_prefix says.
bin=$(cd "$build_dir" && pwd)/fuzz_$target
kept=$(cd "$corpus" && pwd)
(cd "$work" && "$bin" -merge=1 -artifact_prefix="$work/" "$kept" "$work" >/dev/null 2>&1) || true
rm -f "$work.log"
echo "== fuzz_$target: exit $status, $(ls "$corpus" | wc -l) corpus files, crash inputs kept: $(ls "$corpus" | grep -c '^crash-' || true)"
echo "$stats" | grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|DONE|^Done' || true
exit $status
