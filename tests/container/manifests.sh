#!/usr/bin/env bash
# Static test of the deployment files: yamllint on deploy/, the field checks
# of check_manifests.py, and a syntax lint of the Dockerfile. Fast; starts no
# container and needs no cluster.
# Usage: tests/container/manifests.sh SOURCE_DIR WORK_DIR
set -uo pipefail
src=${1:?source dir}
work=${2:?work dir}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

# Debian's yamllint and PyYAML (for /usr/bin/python3), installed when missing.
need=()
command -v yamllint >/dev/null || need+=(yamllint)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 &&
       DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
         --no-install-recommends "${need[@]}" >/dev/null 2>&1; }
fi

if out=$(yamllint --strict -c "$here/yamllint.yaml" "$src/deploy" 2>&1); then
  ok "yamllint --strict deploy/ ($(find "$src/deploy" -name '*.yaml' | wc -l) files)"
else
  fail "yamllint deploy/:"; echo "$out"
fi

# The field checks print their own ok/FAIL lines and a summary we add up.
out=$(/usr/bin/python3 "$here/check_manifests.py" "$src" 2>&1)
echo "$out" | grep -v ' passed, .* failed$'
summary=$(echo "$out" | tail -1)
if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  fail "check_manifests.py did not finish: $summary"
fi

# Dockerfile syntax and flags: dockerfile-utils from npm, cached in WORK_DIR.
lint=$work/dockerfile-utils/node_modules/.bin/dockerfile-utils
if [ ! -x "$lint" ] && command -v npm >/dev/null; then
  mkdir -p "$work/dockerfile-utils"
  (cd "$work/dockerfile-utils" && npm install --no-save --no-audit --no-fund --silent dockerfile-utils@0.16.3 >/dev/null 2>&1)
fi
if [ -x "$lint" ]; then
  if out=$("$lint" lint "$src/Dockerfile" 2>&1) && [ -z "$out" ]; then
    ok "dockerfile-utils lint Dockerfile"
  else
    fail "dockerfile-utils lint Dockerfile:"; echo "$out"
  fi
else
  fail "dockerfile-utils unavailable (npm install dockerfile-utils failed)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
