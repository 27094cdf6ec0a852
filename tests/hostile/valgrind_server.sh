#!/bin/sh
# Runs the real mnist-server under valgrind memcheck, so the HTTP tests can
# drive it unchanged (MNIST_SERVER points here; the binary is MEMCHECK_SERVER,
# named outside MNIST_* because the tests clear those). One log a process
# in MEMCHECK_LOG_DIR; exit 99 on a memcheck error or a definite leak.
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
  --show-leak-kinds=definite --errors-for-leak-kinds=definite --track-origins=no \
  --num-callers=30 --log-file="${MEMCHECK_LOG_DIR:?}/memcheck.%p.log" \
  "${MEMCHECK_SERVER:?}" "$@"
