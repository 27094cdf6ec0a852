#!/usr/bin/python3
"""Turns deploy/compose.yaml into a copy podman-compose can run in a test:
the image just built instead of a build (no second build), no published
port, and the project's default network made internal (podman-compose
1.0.3 always attaches one, so "network_mode: none" is refused): no host
port can clash, nothing is routed out, and the test reaches the server on
the container's own loopback with nsenter. Everything else (user,
read-only root, tmpfs, capabilities, limits, MNIST_* environment, stop
signal and grace period) is the file's own.

Usage: compose_adapt.py COMPOSE_YAML OUT_YAML IMAGE
Prints the service's user.
"""
import os
import sys

import yaml


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: compose_adapt.py COMPOSE_YAML OUT_YAML IMAGE")
    src, out, image = sys.argv[1:]
    with open(src) as f:
        doc = yaml.safe_load(f)
    svc = doc["services"]["server"]
    svc.pop("build", None)
    svc.pop("ports", None)
    svc["image"] = image
    doc["networks"] = {"default": {"internal": True}}
    doc.pop("name", None)  # the test names the project itself (-p)
    tmp = f"{out}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        yaml.safe_dump(doc, f)
    os.rename(tmp, out)
    print(svc.get("user", ""))


if __name__ == "__main__":
    main()
