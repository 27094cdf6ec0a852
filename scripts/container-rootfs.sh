#!/usr/bin/env bash
# Assembles the runtime file tree of the FROM scratch image: the binaries,
# exactly the shared libraries they load (followed through DT_NEEDED, so it
# works for a cross-compiled binary that cannot run here, unlike ldd), the
# dynamic loader they name, /etc/passwd and /etc/group for the non-root user
# 10001, an empty /tmp, /var/lib/mnist owned by 10001 (where a volume for
# the feedback database is mounted: a new volume copies the ownership of
# the directory it covers), and the given models with a model repository of
# those models alone.
# Usage: scripts/container-rootfs.sh ROOTFS LIBDIRS BIN... -- MODEL_DIR NAME=FILE...
#        scripts/container-rootfs.sh --libs OUT ROOTFS LIBDIRS SONAME...
#   LIBDIRS: colon-separated directories searched for the libraries
#   NAME=FILE: a repository entry NAME/1/model.bin linked to MODEL_DIR/FILE
#   --libs: copies each SONAME (a library the binaries dlopen, so no
#     DT_NEEDED names it) and the libraries it needs into OUT, leaving out
#     those ROOTFS already holds: a layer to add on top of ROOTFS.
set -euo pipefail

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
interp() { readelf -l "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p'; }
# find_lib DIRS NAME: the first DIR/NAME that exists (DIRS colon-separated), or nothing.
find_lib() {
  local d dirs
  IFS=: read -r -a dirs <<< "$1"
  for d in "${dirs[@]}"; do
    if [ -e "$d/$2" ]; then echo "$d/$2"; return 0; fi
  done
  return 0
}

# copy_closure DEST HAVE LIBDIRS FILE...: breadth-first over the DT_NEEDED
# entries of FILE...; each library found in LIBDIRS copied once,
# dereferenced, into DEST under the directory it was found in (the loader's
# default search path holds it), unless HAVE (a tree, or empty) holds it.
copy_closure() {
  local dest=$1 have=$2 libdirs=$3 f lib found
  shift 3
  local -A seen=()
  local queue=("$@")
  while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    for lib in $(needed "$f"); do
      [ -n "${seen[$lib]:-}" ] && continue
      seen[$lib]=1
      found=$(find_lib "$libdirs" "$lib")
      [ -n "$found" ] || { echo "container-rootfs: $lib (needed by $f) not found in $libdirs" >&2; exit 1; }
      [ -n "$have" ] && [ -e "$have$found" ] && continue
      mkdir -p "$dest$(dirname "$found")"
      cp -L "$found" "$dest$found"
      queue+=("$found")
    done
  done
}

if [ "${1:-}" = --libs ]; then
  out=${2:?out} have=${3:?rootfs} libdirs=${4:?library directories}
  shift 4
  [ $# -gt 0 ] || { echo "container-rootfs: --libs needs a SONAME" >&2; exit 2; }
  # No binary names them: resolve each here, then follow its own needs.
  files=()
  for lib in "$@"; do
    found=$(find_lib "$libdirs" "$lib")
    [ -n "$found" ] || { echo "container-rootfs: $lib not found in $libdirs" >&2; exit 1; }
    if [ ! -e "$have$found" ]; then
      mkdir -p "$out$(dirname "$found")"
      cp -L "$found" "$out$found"
      files+=("$found")
    fi
  done
  [ ${#files[@]} -eq 0 ] || copy_closure "$out" "$have" "$libdirs" "${files[@]}"
  exit 0
fi

root=${1:?rootfs}
libdirs=${2:?library directories}
shift 2
bins=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do bins+=("$1"); shift; done
[ "${1:-}" = -- ] || { echo "container-rootfs: missing -- MODEL_DIR NAME=FILE..." >&2; exit 2; }
shift
models=${1:?model dir}
shift

mkdir -p "$root/usr/local/bin" "$root/etc" "$root/usr/share/mnist/models/repository"
install -d -m 1777 "$root/tmp"
install -d -m 0750 -o 10001 -g 10001 "$root/var/lib/mnist"
install -m 0755 "${bins[@]}" "$root/usr/local/bin/"

copy_closure "$root" "" "$libdirs" "${bins[@]}"
loader=$(interp "${bins[0]}")
[ -n "$loader" ] || { echo "container-rootfs: ${bins[0]} names no interpreter" >&2; exit 1; }
found=$(find_lib "$libdirs:$(dirname "$loader")" "$(basename "$loader")")
[ -n "$found" ] || { echo "container-rootfs: loader $loader not found" >&2; exit 1; }
mkdir -p "$root$(dirname "$loader")"
# libc names the loader too: then the path the binaries ask for is a link.
if [ -e "$root$found" ] && [ "$found" != "$loader" ]; then
  ln -s "$found" "$root$loader"
else
  cp -L "$found" "$root$loader"
fi

cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
mnist:x:10001:10001:mnist-digits:/nonexistent:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
mnist:x:10001:
EOF

for entry in "$@"; do
  name=${entry%%=*} file=${entry#*=}
  install -m 0644 "$models/$file" "$root/usr/share/mnist/models/$file"
  mkdir -p "$root/usr/share/mnist/models/repository/$name/1"
  ln -s "../../../$file" "$root/usr/share/mnist/models/repository/$name/1/model.bin"
done
