"""testkit: what every Python test shares: the pass/fail counter that ends
with "N passed, N failed", the paths ctest hands over in the environment,
and running a program to its end. httpkit adds starting mnist-server and
talking HTTP to it."""

import os
import subprocess
import sys

passed = 0
failed = 0


def check(cond, what):
    """Counts cond; a failure is written to stderr with what."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        sys.stderr.write("FAIL: %s\n" % what)
        sys.stderr.flush()
    return cond


def finish():
    """Prints the counts and exits non-zero on any failure, or when
    nothing was checked."""
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    sys.exit(0 if failed == 0 and passed > 0 else 1)


def env_path(name):
    """The path ctest put in the environment variable name; a clear
    failure when the test runs outside ctest."""
    v = os.environ.get(name)
    if not v:
        sys.stderr.write("%s is not set: run this test through ctest\n" % name)
        print("0 passed, 1 failed")
        sys.exit(1)
    return v


def run(*args, timeout=900, env=None):
    """Runs a program to its end: (exit status, stdout, stderr)."""
    p = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr
