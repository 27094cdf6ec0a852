#!/usr/bin/env bash
# read_tesseract.sh: exact-text rate of reading numbers of several digits,
# per kind, ours against Tesseract in the same run on the same images.
# Ours: mnist-eval --numbers (POST /v1/read's path: mn_segment_image, the
# model, left to right). Tesseract: Debian's tesseract-ocr 5, one text
# line (--psm 7), digits only (tessedit_char_whitelist=0123456789).
# usage: bench/read_tesseract.sh DIR [MODEL]   (DIR/labels.csv: file,text,kind,...)
# Needs: apt-get install tesseract-ocr; a build (BUILD, default build/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DIR=${1:?usage: bench/read_tesseract.sh DIR [MODEL]}
MODEL=${2:-$ROOT/models/mnist-cnn-ensemble.bin}
command -v tesseract >/dev/null || { echo "read_tesseract: tesseract not found (apt-get install tesseract-ocr)" >&2; exit 1; }
[ -x "$BUILD/mnist-eval" ] || { echo "read_tesseract: $BUILD/mnist-eval not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Ours: "kind: correct/total (rate)" lines.
nice -n 10 "$BUILD/mnist-eval" "$MODEL" --numbers "$DIR" > "$tmp/ours"

# Tesseract, image by image: kind and 1/0 for an exact text.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
         { print $col["file"] "," $col["text"] "," $col["kind"] }' "$DIR/labels.csv" |
while IFS=, read -r file text kind; do
  got=$(nice -n 10 tesseract "$DIR/$file" - --psm 7 -c tessedit_char_whitelist=0123456789 2>/dev/null |
        tr -d ' \n\r\f')
  [ "$got" = "$text" ] && echo "$kind 1" || echo "$kind 0"
done > "$tmp/tess"

printf '%-20s %6s %14s %14s\n' kind images ours tesseract
awk -v ours="$tmp/ours" '
  BEGIN { while ((getline l < ours) > 0) if (split(l, a, /[:\/ ]+/) >= 3 && l !~ /^model/) {
            k = (a[1] == "exact" ? "all" : a[1]); oc[k] = a[2] + 0; if (a[1] == "exact") oc[k] = a[3] + 0 } }
  { n[$1]++; c[$1] += $2; N++; C += $2 }
  END { for (k in n) printf "%-20s %6d %13.1f%% %13.1f%%\n", k, n[k], 100 * oc[k] / n[k], 100 * c[k] / n[k] | "sort"
        close("sort")
        printf "%-20s %6d %13.1f%% %13.1f%%\n", "all", N, 100 * oc["all"] / N, 100 * C / N }' "$tmp/tess"
