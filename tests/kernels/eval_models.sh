#!/bin/sh
# eval_models.sh: mnist-eval on bundled models on the kernel level in
# force (MNIST_ISA, set by ctest).
# Natively it must reproduce, on the 10,000 test images, each model's test
# accuracy as its training run recorded it in the weights file. Under an
# emulator (the arm64 build under qemu-user, a few hundred times slower)
# it reads the first MNIST_EVAL_SUBSET test images and must give the
# answers the native build's mnist-eval (MNIST_EVAL_NATIVE, on level
# MNIST_EVAL_NATIVE_ISA) gives them: the same confusion matrix and
# accuracy.
# Usage: eval_models.sh MODELS_DIR DATA_DIR WORK_DIR MODEL... -- COMMAND...
#   COMMAND: mnist-eval, after the emulator when cross-compiled.
set -u
dir=$1 data=$2 work=$3
shift 3
models=
while [ "$1" != -- ]; do
    models="$models $1"
    shift
done
shift
level=${MNIST_ISA:-the best level}
threads=2
# Under the emulator one thread: OpenMP's spinning threads cost a
# thousand times more emulated.
[ -n "${MNIST_EVAL_SUBSET:-}" ] && threads=1
if [ -n "${MNIST_EVAL_SUBSET:-}" ]; then
    # The first N images and labels, with the count in the headers (big
    # endian, bytes 4-7) set to N.
    mkdir -p "$work"
    /usr/bin/python3 - "$data" "$work" "$MNIST_EVAL_SUBSET" <<'PY' || exit 1
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for name, head, size in (("t10k-images-idx3-ubyte", 16, 784), ("t10k-labels-idx1-ubyte", 8, 1)):
    b = open(f"{src}/{name}", "rb").read()
    open(f"{dst}/{name}", "wb").write(b[:4] + n.to_bytes(4, "big") + b[8:head] + b[head:head + n * size])
PY
    data=$work
fi
# The confusion matrix and the accuracy of mnist-eval's output on stdin.
answers() {
    awk '/^confusion matrix/ { on = 1 } on && /^$/ { on = 0 } on || /^accuracy: / { print }'
}
passed=0
failed=0
for m in $models; do
    if [ -n "${MNIST_EVAL_SUBSET:-}" ]; then
        want=$(MNIST_ISA=$MNIST_EVAL_NATIVE_ISA "$MNIST_EVAL_NATIVE" "$dir/$m" --data "$data" \
            --threads 2 2>&1 | answers)
        what="the native build's on $MNIST_EVAL_NATIVE_ISA, first $MNIST_EVAL_SUBSET images"
    else
        want=$(grep -a -o '"test_accuracy":[0-9.]*' "$dir/$m" | head -n 1 | cut -d: -f2)
        what="as its training recorded"
    fi
    out=$("$@" "$dir/$m" --data "$data" --threads $threads 2>&1)
    if [ -n "${MNIST_EVAL_SUBSET:-}" ]; then
        got=$(printf '%s\n' "$out" | answers)
    else
        got=$(printf '%s\n' "$out" | sed -n 's/^accuracy: //p')
    fi
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        passed=$((passed + 1))
        echo "ok   $m on $level: $(printf '%s\n' "$got" | tail -n 1), $what"
    else
        failed=$((failed + 1))
        printf '%s\n' "$out" >&2
        printf 'FAIL %s on %s: got\n%s\n%s:\n%s\n' "$m" "$level" "$got" "$what" "$want" >&2
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
