# serve_local.sh: sourced by the benches that drive mnist-server over HTTP.
# Needs BUILD (the build directory) and OUT (a scratch directory).
#   serve [FLAGS...]: starts $BUILD/mnist-server on 127.0.0.1, a free port,
#                     access log off; sets PID and URL once it listens
#   unserve:          stops it (SIGTERM) and waits
PID=
serve() {
    "$BUILD/mnist-server" --host 127.0.0.1 --port 0 --log-format off "$@" > "$OUT/server.out" 2>&1 &
    PID=$!
    i=0
    until port=$(sed -n 's/^listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$OUT/server.out") && [ -n "$port" ]; do
        i=$((i + 1)); [ $i -lt 300 ] || { cat "$OUT/server.out"; exit 1; }; sleep 0.1
    done
    URL=http://127.0.0.1:$port
}
unserve() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
