#!/usr/bin/env bash
# End-to-end test of the container image: builds the real Dockerfile with
# podman, runs the image with no network but its own loopback (reached via
# nsenter), and checks what users rely on: readiness, a right prediction for
# a PNG, the HEALTHCHECK, non-root, a clean SIGTERM exit, the size (a
# FROM scratch image: no shell, so the container is inspected from the host
# through /proc/PID),
# training, evaluating and serving a model inside the container, the
# PostgreSQL variant (libpq and its libraries there, and only there), the
# Kubernetes Deployment's pod spec run by "podman kube play" and
# deploy/compose.yaml run by podman-compose (each with its writable
# database volume), and the arm64 image run under emulation.
# Needs root and a Debian mirror; makes the base image locally when absent.
# Usage: tests/container/run.sh SOURCE_DIR WORK_DIR   (MNIST_DATA_DIR: IDX files)
set -uo pipefail
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
data=${MNIST_DATA_DIR:-$src/data/mnist}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
# One fixed tag, so each run replaces the last run's images (runtime and
# build stages) instead of leaving ~1.5 GB behind per clone; two build
# trees testing at once take turns through a lock.
image=localhost/mnist-digits:ctest
exec 9> /run/lock/mnist-digits-ctest.lock
flock 9
name=mnist-ctest-$$
max_bytes=25000000 # the runtime image's budget: 25 MB

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; return 1; fi; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0 || exit 1
}
cleanup() {
  podman rm -f -t 0 "$name-serve" "$name-trained" "$name-repo" "$name-arm64" >/dev/null 2>&1
  [ -f "$work/kube.yaml" ] && podman kube down "$work/kube.yaml" >/dev/null 2>&1
  if [ -f "$work/compose.yaml" ]; then
    (cd "$work" && timeout 60 podman-compose -p "$name-compose" -f compose.yaml down) >/dev/null 2>&1
    podman network rm -f "$name-compose_default" >/dev/null 2>&1
  fi
  podman volume rm -f "$name-tmp" "$name-mnist-digits-feedback" "$name-compose_feedback" >/dev/null 2>&1
  # A manifest list left behind would name images the next run replaces
  # (and then break "podman images").
  podman manifest rm "$image-list" >/dev/null 2>&1
  rm -rf "$work/out" "$work/png" "$work/$name-"*.err "$work/kube.yaml" "$work/compose.yaml"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- tools, configuration, base image -----------------------------------
if [ "$(id -u)" -ne 0 ]; then
  fail "needs root (rootful podman)"; finish
fi
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte train-images-idx3-ubyte train-labels-idx1-ubyte; do
  [ -r "$data/$f" ] || { fail "MNIST data missing: $data/$f (scripts/fetch-mnist.sh)"; finish; }
done
[ -r "$src/models/mnist-cnn.bin" ] || { fail "bundled model missing: models/mnist-cnn.bin"; finish; }
"$src/scripts/deps.sh" container || { fail "installing the container tools"; finish; }
CONTAINERS_CONF=$("$src/scripts/container-conf.sh" "$work/containers.conf") || { fail "containers.conf"; finish; }
export CONTAINERS_CONF
"$src/scripts/container-base.sh" || { fail "making the debian:bookworm-slim base image"; finish; }

# --- build ----------------------------------------------------------------
images=("$image" "$image-build" "$image-postgresql" "$image-arm64" "$image-build-arm64")
old_ids=$(podman image inspect -f '{{.Id}}' "${images[@]}" 2>/dev/null)
t0=$(date +%s)
if nice -n 10 podman build --format docker --pull=never --network host \
     -t "$image" -f "$src/Dockerfile" "$src" > "$work/build.log" 2>&1; then
  ok "podman build of the Dockerfile ($(( $(date +%s) - t0 )) s, log in $work/build.log)"
else
  tail -30 "$work/build.log"
  fail "podman build of the Dockerfile (log in $work/build.log)"; finish
fi
# Tag the build stage too (its last step's id, from the log): then the
# previous run's images, runtime and build stage, can be removed by id
# instead of piling up untagged, while the cache layers they share stay.
# (The build stage is the first: its id is the last one before the first
# step of another stage; podman skips the stages a target does not use.)
build_id=$(awk '/^\[[0-9]+\/[0-9]+\] STEP 1\// && !/^\[1\//{ print last; exit } /^--> [0-9a-f]+$/{ last = $2 }' "$work/build.log")
[ -n "$build_id" ] && podman tag "$build_id" "$image-build"

# The PostgreSQL variant (amd64 only here): the default image plus libpq.
t0=$(date +%s)
if nice -n 10 podman build --format docker --pull=never --network host --target runtime-postgresql \
     -t "$image-postgresql" -f "$src/Dockerfile" "$src" > "$work/build-postgresql.log" 2>&1; then
  ok "podman build --target runtime-postgresql ($(( $(date +%s) - t0 )) s, log in $work/build-postgresql.log)"
else
  tail -30 "$work/build-postgresql.log"
  fail "podman build --target runtime-postgresql (log in $work/build-postgresql.log)"
fi

# The same Dockerfile for arm64: the build stage runs natively and
# cross-compiles (podman 4.3 does not set BUILDPLATFORM itself).
host_arch=$(dpkg --print-architecture)
arm64_built=
t0=$(date +%s)
if nice -n 10 podman build --format docker --pull=never --network host --platform linux/arm64 \
     --build-arg "BUILDPLATFORM=linux/$host_arch" \
     -t "$image-arm64" -f "$src/Dockerfile" "$src" > "$work/build-arm64.log" 2>&1; then
  ok "podman build --platform linux/arm64 of the Dockerfile ($(( $(date +%s) - t0 )) s, log in $work/build-arm64.log)"
  arm64_built=1
else
  tail -30 "$work/build-arm64.log"
  fail "podman build --platform linux/arm64 of the Dockerfile (log in $work/build-arm64.log)"
fi
build_id=$(awk '/^\[[0-9]+\/[0-9]+\] STEP 1\// && !/^\[1\//{ print last; exit } /^--> [0-9a-f]+$/{ last = $2 }' "$work/build-arm64.log")
[ -n "$build_id" ] && podman tag "$build_id" "$image-build-arm64"
new_ids=$(podman image inspect -f '{{.Id}}' "${images[@]}" 2>/dev/null)
for id in $old_ids; do
  grep -q "$id" <<< "$new_ids" || podman rmi "$id" >/dev/null 2>&1
done

size=$(podman image inspect -f '{{.Size}}' "$image")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
check "runtime image $(mb "$size") <= $(mb $max_bytes)" test "$size" -le "$max_bytes"
size_pg=$(podman image inspect -f '{{.Size}}' "$image-postgresql" 2>/dev/null)
echo "     PostgreSQL variant: $(mb "${size_pg:-0}") (the runtime image + $(mb $(( ${size_pg:-0} - size ))))"
arch=$(podman image inspect -f '{{.Architecture}}' "$image-arm64" 2>/dev/null)
size_arm=$(podman image inspect -f '{{.Size}}' "$image-arm64" 2>/dev/null)
check "arm64 image: architecture ${arch:-none}, $(mb "${size_arm:-0}") <= $(mb $max_bytes)" \
  test "$arch" = arm64 -a "${size_arm:-99999999999}" -le "$max_bytes"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' --filter "reference=$image*"

# A manifest list holding both, as a registry would serve them.
podman manifest rm "$image-list" >/dev/null 2>&1
if podman manifest create "$image-list" >/dev/null 2>&1 \
   && podman manifest add "$image-list" "containers-storage:$image" >/dev/null 2>&1 \
   && podman manifest add "$image-list" "containers-storage:$image-arm64" >/dev/null 2>&1; then
  archs=$(podman manifest inspect "$image-list" 2>/dev/null \
    | /usr/bin/python3 -c 'import json,sys; print(*sorted(m["platform"]["architecture"] for m in json.load(sys.stdin)["manifests"]))')
  check "manifest list $image-list holds: ${archs:-nothing}" test "$archs" = "amd64 arm64"
else
  fail "podman manifest create/add of both images"
fi

# The image's own configuration, as podman stored it (docker format keeps HEALTHCHECK).
podman image inspect "$image" > "$work/image.json"
cfg_out=$(/usr/bin/python3 - "$work/image.json" <<'EOF'
import json, sys
img = json.load(open(sys.argv[1]))[0]
cfg = img.get("Config", {})
hc = img.get("Healthcheck") or cfg.get("Healthcheck") or {}
user = (cfg.get("User") or "").split(":")[0]
checks = [
    ('ENTRYPOINT is exec-form ["mnist-server"]', cfg.get("Entrypoint") == ["mnist-server"]),
    ("HEALTHCHECK runs mnist-server --healthcheck", hc.get("Test") == ["CMD", "mnist-server", "--healthcheck"]),
    ("USER %r is numeric and not root" % user, user.isdigit() and user != "0"),
    ("EXPOSE 8080/tcp", "8080/tcp" in (cfg.get("ExposedPorts") or {})),
    ("MNIST_PORT=8080 in the environment", "MNIST_PORT=8080" in (cfg.get("Env") or [])),
]
for what, good in checks:
    print(("ok   " if good else "FAIL ") + "image config: " + what)
EOF
)
echo "$cfg_out"
passed=$((passed + $(grep -c '^ok' <<< "$cfg_out")))
failed=$((failed + $(grep -c '^FAIL' <<< "$cfg_out")))
[ -n "$cfg_out" ] || fail "reading the image configuration"

# --- what each image holds: libpq in the variant alone; the database directory
# Read from the images' mounted trees (no shell inside to ask).
libs_in() { # libs_in IMAGE -> the paths of libpq.so.5 in it
  local mnt
  mnt=$(podman image mount "$1" 2>/dev/null) || return 1
  (cd "$mnt" && find . -name 'libpq.so.5*' | sed 's/^\.//')
  podman image umount "$1" >/dev/null 2>&1
}
if pq_default=$(libs_in "$image"); then
  check "the runtime image holds no libpq (${pq_default:-none found})" test -z "$pq_default"
else
  fail "podman image mount $image"
fi
pq_variant=$(libs_in "$image-postgresql")
check "the PostgreSQL variant holds ${pq_variant:-no libpq.so.5}" test -n "$pq_variant"
mnt=$(podman image mount "$image")
loader=$(readelf -l "$mnt/usr/local/bin/mnist-server" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
owner=$(stat -c '%u:%g %a' "$mnt/var/lib/mnist" 2>/dev/null)
podman image umount "$image" >/dev/null 2>&1
check "the image's /var/lib/mnist is owned by 10001:10001, mode 750 (has: ${owner:-no such directory})" \
  test "$owner" = "10001:10001 750"
# The dynamic loader resolves libpq's own needs inside the variant, as a
# dlopen would: "not found" names a library the image lacks.
if [ -n "$pq_variant" ]; then
  out=$(podman run --rm --network none --entrypoint "$loader" "$image-postgresql" --list "${pq_variant%%$'\n'*}" 2>&1)
  check "every library libpq.so.5 needs is in the variant ($(grep -c '=>' <<< "$out") resolved)" \
    bash -c '[ -n "$1" ] && ! grep -q "not found" <<< "$1" && grep -q "=>" <<< "$1"' _ "$out" || echo "$out"
  out=$(podman run --rm --network none "$image-postgresql" --help 2>&1 | grep -v systemd)
  check "mnist-server --help runs in the PostgreSQL variant" grep -q "^usage: mnist-server " <<< "$out" || echo "$out"
fi

# --- the binaries start: the loader finds every library they link ---------
# (a missing library stops the loader before main, with no usage line)
for b in mnist-server mnist-train mnist-eval; do
  out=$(podman run --rm --network none --entrypoint "$b" "$image" --help 2>&1 | grep -v systemd)
  check "$b --help runs in the image (every shared library found)" grep -q "^usage: $b " <<< "$out" || echo "$out"
done
check "the image holds no shell (FROM scratch)" \
  bash -c '! podman run --rm --network none --entrypoint sh "$1" -c true >/dev/null 2>&1' _ "$image"

# --- serve: run as a Deployment would (read-only root, no capabilities) ------
probe() { # probe PID PATH [curl args...] -> prints "STATUS BODY"
  local pid=$1 path=$2; shift 2
  local body
  body=$(nsenter -t "$pid" -n curl -s --max-time 10 -w '\n%{http_code}' "$@" "http://127.0.0.1:8080$path" 2>&1)
  echo "$(tail -n1 <<< "$body") $(sed '$d' <<< "$body")"
}
wait_ready() { # wait_ready NAME -> prints the PID when /readyz answers 200
  local pid i
  for i in $(seq 1 150); do
    pid=$(podman inspect -f '{{.State.Pid}}' "$1" 2>/dev/null)
    if [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$(probe "$pid" /readyz | cut -d' ' -f1)" = 200 ]; then
      echo "$pid"; return 0
    fi
    [ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || return 1
    sleep 0.2
  done
  return 1
}
proc_uid() { # proc_uid PID -> the process's real uid, as the host sees it
  awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
db_dir_writable() { # db_dir_writable PID -> the server's user can create a file in /var/lib/mnist
  setpriv --reuid "$(proc_uid "$1")" --regid "$(proc_uid "$1")" --clear-groups \
    touch "/proc/$1/root/var/lib/mnist/probe" && rm -f "/proc/$1/root/var/lib/mnist/probe"
}
feedback_stored() { # feedback_stored PID -> a correction posted is answered 201 and lands in the volume's database
  local r zeros
  zeros=$(printf '0,%.0s' $(seq 783))
  r=$(probe "$1" /v1/feedback -H 'Content-Type: application/json' --data-binary "{\"pixels\":[${zeros}0],\"label\":7}")
  [ "${r%% *}" = 201 ] && [ -s "/proc/$1/root/var/lib/mnist/feedback.db" ] || { echo "    feedback: $r"; return 1; }
}
run_server() { # run_server NAME [podman run args...]   (img: another image than $image)
  local n=$1; shift
  # Without systemd podman cannot schedule the periodic healthcheck and says
  # so on stderr; "podman healthcheck run" below runs it on demand instead.
  podman run -d --name "$n" --network none --read-only --tmpfs /tmp:size=16m \
    --cap-drop ALL --security-opt no-new-privileges "$@" "${img:-$image}" > /dev/null 2> "$work/$n.err" \
    || { cat "$work/$n.err"; return 1; }
}

if ! run_server "$name-serve"; then
  fail "podman run"; finish
fi
if pid=$(wait_ready "$name-serve"); then
  ok "container starts and /readyz answers 200"
else
  fail "container starts and /readyz answers 200"
  podman logs "$name-serve" 2>&1 | tail -20
  finish
fi
r=$(probe "$pid" /healthz)
check "/healthz answers 200 {\"status\":\"ok\"}" test "${r%% *}" = 200 -a "$(grep -c '"ok"' <<< "$r")" = 1

# PNGs of real MNIST test digits, dark ink on white and enlarged 4x, as a
# user's drawing would be; the server must normalise and classify them.
mapfile -t digits < <(/usr/bin/python3 "$here/idx2png.py" "$data" "$work/png" 0 5 4)
[ ${#digits[@]} -eq 5 ] || fail "writing PNG digits"
for d in "${digits[@]}"; do
  file=${d% *} label=${d##* }
  r=$(probe "$pid" /predict -H 'Content-Type: image/png' --data-binary "@$file")
  got=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prediction"])' "${r#* }" 2>/dev/null)
  check "POST $(basename "$file") (image/png, label $label) -> 200, prediction $got" \
    test "${r%% *}" = 200 -a "$got" = "$label"
done
d=${digits[0]}
r=$(probe "$pid" /predict -F "image=@${d% *}")
got=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prediction"])' "${r#* }" 2>/dev/null)
check "POST multipart $(basename "${d% *}") (label ${d##* }) -> prediction $got" test "${r%% *}" = 200 -a "$got" = "${d##* }"
version() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["version"])' "$1" 2>/dev/null; }
r=$(probe "$pid" /v1/model)
bundled=$(version "${r#* }")
check "/v1/model describes the bundled model (version ${bundled:-none})" test "${r%% *}" = 200 -a -n "$bundled"

check "podman healthcheck run passes" podman healthcheck run "$name-serve"
check "the health probe fails where no server listens" \
  bash -c '! podman exec -e MNIST_PORT=1 "$1" mnist-server --healthcheck >/dev/null 2>&1' _ "$name-serve"
uid=$(proc_uid "$pid")
check "server runs as a non-root user (uid $uid)" test -n "$uid" -a "$uid" != 0
ro=$(touch "/proc/$pid/root/probe" 2>&1)
check "root filesystem is read-only (even for uid 0)" grep -q 'Read-only file system' <<< "$ro"

t0=$(date +%s%N)
podman stop -t 10 "$name-serve" > /dev/null 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
code=$(podman inspect -f '{{.State.ExitCode}}' "$name-serve")
check "podman stop (SIGTERM) -> exit code $code in $ms ms, before the 10 s kill" test "$code" = 0 -a "$ms" -lt 10000
podman logs "$name-serve" > "$work/server.log" 2>&1

# --- train, evaluate and serve a model inside the container ---------------
mkdir -p "$work/out" && chown 10001:10001 "$work/out"
t0=$(date +%s)
if podman run --rm --network none -v "$data:/data:ro" -v "$work/out:/out" --entrypoint mnist-train \
     "$image" --epochs 1 --limit 3000 --threads 2 --out /out/small.bin > "$work/train.log" 2>&1 \
   && [ -s "$work/out/small.bin" ]; then
  ok "mnist-train in the container: 1 epoch on 3000 mounted images ($(( $(date +%s) - t0 )) s)"
else
  tail -20 "$work/train.log"; fail "mnist-train in the container (log $work/train.log)"
fi
acc() { sed -n 's/^accuracy: //p' "$1"; }
podman run --rm --network none -v "$data:/data:ro" -v "$work/out:/out:ro" --entrypoint mnist-eval \
  "$image" /out/small.bin --threads 2 > "$work/eval-small.log" 2>&1
a=$(acc "$work/eval-small.log")
check "mnist-eval of that model on the 10000 test images: accuracy ${a:-none} > 0.80" \
  awk -v a="${a:-0}" 'BEGIN { exit !(a > 0.80) }'
podman run --rm --network none -v "$data:/data:ro" --entrypoint mnist-eval \
  "$image" --threads 2 > "$work/eval-bundled.log" 2>&1
a=$(acc "$work/eval-bundled.log")
check "mnist-eval of the bundled model: accuracy ${a:-none} >= 0.98" \
  awk -v a="${a:-0}" 'BEGIN { exit !(a >= 0.98) }'

if run_server "$name-trained" -v "$work/out:/models:ro" -e MNIST_MODEL=/models/small.bin \
   && pid=$(wait_ready "$name-trained"); then
  r=$(probe "$pid" /v1/model)
  trained=$(version "${r#* }")
  check "the trained model serves (MNIST_MODEL=/models/small.bin): version ${trained:-none}, not the bundled one" \
    test "${r%% *}" = 200 -a -n "$trained" -a "$trained" != "$bundled"
else
  podman logs "$name-trained" 2>&1 | tail -10
  fail "the trained model serves (MNIST_MODEL=/models/small.bin)"
fi

# --- the bundled models as a model repository (links to the files) ---------
if run_server "$name-repo" -e MNIST_MODEL= -e MNIST_MODEL_REPOSITORY=/usr/share/mnist/models/repository \
   && pid=$(wait_ready "$name-repo"); then
  r=$(probe "$pid" /v1/models)
  names=$(/usr/bin/python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(m["default"], *sorted(x["name"] for x in m["models"]))' "${r#* }" 2>/dev/null)
  check "the image's model repository serves: ${names:-nothing}" \
    test "$names" = "mnist fashion-mnist mnist mnist-reference"
  d=${digits[2]}
  r=$(probe "$pid" "/predict?model=mnist-reference" -H 'Content-Type: image/png' --data-binary "@${d% *}")
  got=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prediction"])' "${r#* }" 2>/dev/null)
  check "?model=mnist-reference predicts ${got:-nothing} for a ${d##* }" test "$got" = "${d##* }"
else
  podman logs "$name-repo" 2>&1 | tail -10
  fail "the image's model repository serves"
fi

# --- the arm64 image, run under emulation ------------------------------------
# qemu-user-static's interpreter registered with binfmt_misc (flag F: it
# works inside a container's root); the kernel runs the aarch64 binaries
# through it, so this is the arm64 image's own code answering.
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null
[ -e "$binfmt/qemu-aarch64" ] || cat /usr/lib/binfmt.d/qemu-aarch64.conf > "$binfmt/register" 2>/dev/null
if [ -z "$arm64_built" ]; then
  fail "arm64 container: no arm64 image was built"
elif ! grep -q '^enabled' "$binfmt/qemu-aarch64" 2>/dev/null; then
  fail "qemu-aarch64 registered with binfmt_misc (needs qemu-user-static and a writable $binfmt/register)"
elif img=$image-arm64 run_server "$name-arm64" -e MNIST_THREADS=2 \
     && pid=$(wait_ready "$name-arm64"); then
  exe=$(readlink "/proc/$pid/exe")
  check "arm64 container ready, run by $(basename "$exe")" grep -q 'qemu-aarch64' <<< "$exe"
  for d in "${digits[@]}"; do
    file=${d% *} label=${d##* }
    r=$(probe "$pid" /predict -H 'Content-Type: image/png' --data-binary "@$file")
    got=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prediction"])' "${r#* }" 2>/dev/null)
    check "arm64: POST $(basename "$file") (label $label) -> prediction ${got:-none}" test "${r%% *}" = 200 -a "$got" = "$label"
  done
  check "arm64: podman healthcheck run passes" podman healthcheck run "$name-arm64"
  podman stop -t 10 "$name-arm64" > /dev/null 2>&1
  code=$(podman inspect -f '{{.State.ExitCode}}' "$name-arm64")
  check "arm64: podman stop (SIGTERM) -> exit code $code" test "$code" = 0
else
  podman logs "$name-arm64" 2>&1 | tail -10
  fail "arm64 container starts under emulation and /readyz answers 200"
fi

# --- the Deployment's pod spec, run by podman kube play ----------------------
# Not a cluster: no Service, HPA, scheduler or probes run here (podman needs
# systemd to schedule probes). What runs is the manifest's pod template with
# its replicas, user, read-only root, /tmp volume, limits and environment.
if spec=$(/usr/bin/python3 "$here/kube_adapt.py" "$src/deploy/k8s/deployment.yaml" \
            "$work/kube.yaml" "$image" "$name"); then
  read -r replicas mem nanocpus runas <<< "$spec"
  if podman kube play --network none "$work/kube.yaml" > "$work/$name-kube.err" 2>&1; then
    ok "podman kube play deploy/k8s/deployment.yaml ($replicas replicas)"
    for i in $(seq 0 $((replicas - 1))); do
      c=$name-pod-$i-server
      if pid=$(wait_ready "$c"); then
        d=${digits[1]}
        r=$(probe "$pid" /predict -H 'Content-Type: image/png' --data-binary "@${d% *}")
        got=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prediction"])' "${r#* }" 2>/dev/null)
        check "replica $i: ready, and predicts ${got:-nothing} for a ${d##* }" test "$got" = "${d##* }"
      else
        fail "replica $i: ready"; podman logs "$c" 2>&1 | tail -10
        continue
      fi
      hc=$(podman inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.ReadonlyRootfs}}' "$c")
      check "replica $i: memory limit $mem B, CPU limit $nanocpus nCPU, read-only root (has: $hc)" \
        test "$hc" = "$mem $nanocpus true"
      uid=$(proc_uid "$pid")
      check "replica $i: runs as uid ${uid:-?} (runAsUser $runas)" test "$uid" = "$runas"
      check "replica $i: /tmp volume writable under the read-only root" touch "/proc/$pid/root/tmp/probe"
      check "replica $i: the database volume (the PersistentVolumeClaim) writable by uid $uid" db_dir_writable "$pid"
      check "replica $i: POST /v1/feedback stored in the volume's SQLite database (201)" feedback_stored "$pid"
    done
    t0=$(date +%s%N)
    pods=$(for i in $(seq 0 $((replicas - 1))); do echo "$name-pod-$i"; done)
    # shellcheck disable=SC2086
    podman pod stop -t 10 $pods > /dev/null 2>&1
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    codes=$(for i in $(seq 0 $((replicas - 1))); do podman inspect -f '{{.State.ExitCode}}' "$name-pod-$i-server"; done | sort -u | tr '\n' ' ')
    check "pods stopped (SIGTERM) in $ms ms, every replica exits ${codes% }" test "${codes% }" = 0
  else
    cat "$work/$name-kube.err"
    fail "podman kube play deploy/k8s/deployment.yaml"
  fi
else
  fail "adapting deploy/k8s/deployment.yaml for podman kube play"
fi

# --- deploy/compose.yaml, run by podman-compose -----------------------------
# The file's own service (user, read-only root, tmpfs, capabilities, limits,
# environment, stop signal) with the image just built, no published port,
# and an internal network (compose_adapt.py); bounded by timeout.
proj=$name-compose
if user=$(/usr/bin/python3 "$here/compose_adapt.py" "$src/deploy/compose.yaml" "$work/compose.yaml" "$image"); then
  if (cd "$work" && timeout 120 podman-compose -p "$proj" -f compose.yaml up -d) > "$work/$name-compose.err" 2>&1 \
     && c=$(podman ps -q --filter "label=io.podman.compose.project=$proj" | head -1) && [ -n "$c" ] \
     && pid=$(wait_ready "$c"); then
    ok "podman-compose up -d deploy/compose.yaml: the server is ready"
    d=${digits[3]}
    r=$(probe "$pid" /predict -H 'Content-Type: image/png' --data-binary "@${d% *}")
    got=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prediction"])' "${r#* }" 2>/dev/null)
    check "compose: predicts ${got:-nothing} for a ${d##* }" test "$got" = "${d##* }"
    uid=$(proc_uid "$pid")
    check "compose: runs as uid ${uid:-?} (user $user)" test "$uid" = "${user%%:*}"
    check "compose: POST /v1/feedback stored in the named volume's SQLite database (201)" feedback_stored "$pid"
    check "compose: the database volume writable by uid $uid under the read-only root" db_dir_writable "$pid"
    check "compose: the image's HEALTHCHECK passes" podman healthcheck run "$c"
    (cd "$work" && timeout 60 podman-compose -p "$proj" -f compose.yaml stop) > /dev/null 2>&1
    code=$(podman inspect -f '{{.State.ExitCode}}' "$c")
    check "compose: podman-compose stop (SIGTERM) -> exit code $code" test "$code" = 0
  else
    tail -20 "$work/$name-compose.err"
    fail "podman-compose up -d deploy/compose.yaml: the server is ready"
  fi
else
  fail "adapting deploy/compose.yaml for podman-compose"
fi

finish
