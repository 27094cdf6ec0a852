#!/usr/bin/env bash
# Makes the debian:bookworm-slim base image locally with debootstrap, for
# hosts that reach a Debian mirror but no container registry. Does nothing
# when the image is already in podman's store (the store is the cache).
# Usage: scripts/container-base.sh        (root; needs podman and debootstrap)
set -euo pipefail
name=localhost/debian:bookworm-slim
alias=docker.io/library/debian:bookworm-slim

# Two builds starting at once must not debootstrap twice.
exec 9>/run/lock/mnist-container-base.lock
flock 9

if podman image exists "$alias"; then
  echo "base: $alias present"
  exit 0
fi
if podman image exists "$name"; then
  podman tag "$name" "$alias"
  echo "base: tagged $name as $alias"
  exit 0
fi

# The mirror the host itself uses (deb822 format first, then the classic list).
mirror=
src=/etc/apt/sources.list.d/debian.sources
if [ -r "$src" ]; then
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$src")
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/mnist-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base: debootstrap bookworm from $mirror (1-2 minutes)"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.log" 2>&1 || {
  tail -20 "$root.log"; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# What the official slim image does: no docs, man pages or locales, now or
# in later apt-get installs, and no apt caches left in layers.
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/docker-no-languages"
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,info,groff,lintian,linda,locale}/* \
  "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/*.log \
  "$root"/var/log/apt/* "$root"/tmp/*
# Inside the image apt uses the same sources as the host that made it.
rm -f "$root/etc/apt/sources.list"
if [ -r "$src" ]; then
  cp "$src" "$root/etc/apt/sources.list.d/debian.sources"
else
  echo "deb $mirror bookworm main" > "$root/etc/apt/sources.list"
fi

tar --numeric-owner -C "$root" -c . | podman import -q --change 'CMD ["bash"]' - "$name" >/dev/null
podman tag "$name" "$alias"
echo "base: made $name ($(podman image inspect -f '{{.Size}}' "$name") bytes), tagged $alias"
