# The mnist-digits container image: a build stage that compiles the project
# with the same scripts as CI and the README, and a FROM scratch runtime
# stage holding only the three binaries, the exact shared libraries they
# load, the dynamic loader, the non-root user and three models (about 18 MB).
# Build: podman build --format docker -t mnist-digits .   (or docker build)
# The default target (the last stage) has no PostgreSQL client library: the
# server loads libpq.so.5 only for a postgresql:// feedback store. The image
# that can use one adds it and its libraries (7.9 MB more):
#        podman build --format docker --target runtime-postgresql -t mnist-digits:postgresql .
# arm64 from an amd64 machine: podman build --format docker --platform linux/arm64 ...
# (the build stage runs natively and cross-compiles; nothing is emulated).

FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS build
WORKDIR /src
# The package lists alone first, so their layers survive source edits; the
# native tools before the target is named, so every architecture shares them.
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh build
ARG TARGETARCH
COPY scripts/container-cross.sh scripts/container-cross.sh
RUN scripts/container-cross.sh "${TARGETARCH:-$(dpkg --print-architecture)}" > /dev/null
COPY . .
# Only the shipped binaries, stripped; pkg-config sees the target's .pc files
# alone; then the runtime tree in /rootfs.
RUN set -eu; arch=${TARGETARCH:-$(dpkg --print-architecture)}; \
    triplet=$(dpkg-architecture -a "$arch" -qDEB_HOST_MULTIARCH 2>/dev/null); \
    PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig \
    BUILD_DIR=/build BUILD_TARGETS="mnist-server mnist-train mnist-eval" \
      scripts/build.sh $(scripts/container-cross.sh "$arch"); \
    "$triplet-strip" /build/mnist-server /build/mnist-train /build/mnist-eval; \
    scripts/container-rootfs.sh /rootfs "/lib/$triplet:/usr/lib/$triplet" \
      /build/mnist-server /build/mnist-train /build/mnist-eval -- models \
      mnist=mnist-cnn-ensemble.bin mnist-reference=mnist-cnn.bin fashion-mnist=fashion-mnist-cnn.bin

# libpq.so.5 and the libraries it needs that /rootfs lacks, for the
# PostgreSQL variant (a layer over the default tree).
FROM build AS build-postgresql
ARG TARGETARCH
RUN set -eu; arch=${TARGETARCH:-$(dpkg --print-architecture)}; \
    triplet=$(dpkg-architecture -a "$arch" -qDEB_HOST_MULTIARCH 2>/dev/null); \
    if [ "$arch" != "$(dpkg --print-architecture)" ]; then \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "libpq5:$arch" && rm -rf /var/lib/apt/lists/*; \
    fi; \
    scripts/container-rootfs.sh --libs /rootfs-postgresql /rootfs "/lib/$triplet:/usr/lib/$triplet" libpq.so.5

FROM scratch AS runtime
LABEL org.opencontainers.image.title="mnist-digits" \
      org.opencontainers.image.description="Handwritten-digit recognition over HTTP: a CNN trained from scratch on MNIST, served by mnist-server"
COPY --from=build /rootfs/ /

# Every setting is an MNIST_* variable (see mnist-server --help); these are
# the ones a container needs to differ from a workstation. MNIST_DATA_DIR is
# where mnist-train and mnist-eval look for a mounted MNIST directory. The
# feedback store is off until MNIST_FEEDBACK_DB is set: a SQLite file on a
# volume mounted at /var/lib/mnist (owned by uid 10001 here, so a new volume
# is too), or a postgresql:// URL with the runtime-postgresql target.
ENV PATH=/usr/local/bin \
    MNIST_HOST=0.0.0.0 \
    MNIST_PORT=8080 \
    MNIST_MODEL=/usr/share/mnist/models/mnist-cnn-ensemble.bin \
    MNIST_DATA_DIR=/data
# Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8080
# No shell and no curl in the image: the server binary probes /healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["mnist-server", "--healthcheck"]
STOPSIGNAL SIGTERM
# Exec form: the server is PID 1 and receives SIGTERM itself, drains and exits 0.
ENTRYPOINT ["mnist-server"]

# The variant whose feedback store can be a postgresql:// URL.
FROM runtime AS runtime-postgresql
COPY --from=build-postgresql /rootfs-postgresql/ /

# The default target: the image without libpq.
FROM runtime
