# The mnist-digits container image: a build stage that compiles the project
# with the same scripts as CI and the README, and a slim runtime stage with
# only the runtime libraries, the three binaries and the bundled model.
# Build: podman build --format docker -t mnist-digits .   (or docker build)

FROM debian:bookworm-slim AS build
WORKDIR /src
# The package list alone first, so its layer survives source edits.
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh build
COPY . .
# Only the shipped binaries, without debug info (the image stays small).
RUN BUILD_DIR=/build BUILD_TARGETS="mnist-server mnist-train mnist-eval" scripts/build.sh \
 && strip --strip-debug /build/mnist-server /build/mnist-train /build/mnist-eval

FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="mnist-digits" \
      org.opencontainers.image.description="Handwritten-digit recognition over HTTP: a CNN trained from scratch on MNIST, served by mnist-server"
# Runtime libraries only: what ldd shows the binaries need.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libcjson1 zlib1g libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mnist \
 && useradd --system --uid 10001 --gid mnist --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin mnist
COPY --from=build /build/mnist-server /build/mnist-train /build/mnist-eval /usr/local/bin/
COPY --from=build /src/models/*.bin /usr/share/mnist/models/
# the same models as a model repository (symbolic links to the files above)
COPY --from=build /src/models/repository /usr/share/mnist/models/repository

# Every setting is an MNIST_* variable (see mnist-server --help); these are
# the ones a container needs to differ from a workstation. MNIST_DATA_DIR is
# where mnist-train and mnist-eval look for a mounted MNIST directory.
ENV MNIST_HOST=0.0.0.0 \
    MNIST_PORT=8080 \
    MNIST_MODEL=/usr/share/mnist/models/mnist-cnn-ensemble.bin \
    MNIST_DATA_DIR=/data
# Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8080
# The slim image has no curl: the server binary probes /healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["mnist-server", "--healthcheck"]
STOPSIGNAL SIGTERM
# Exec form: the server is PID 1 and receives SIGTERM itself, drains and exits 0.
ENTRYPOINT ["mnist-server"]
