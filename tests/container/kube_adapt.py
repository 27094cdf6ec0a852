#!/usr/bin/python3
"""Turns deploy/k8s/deployment.yaml into a copy `podman kube play` can run
with no network, so the container test exercises the Deployment's own pod
spec (replicas, user, read-only root, /tmp and database volumes, limits,
MNIST_* env).
Changes only what podman needs: the names (unique per run, the claim's
too: podman makes it a named volume), the image (the
one just built), no declared ports (podman publishes them, which a pod with
no network refuses) and probe ports as numbers.

Usage: kube_adapt.py DEPLOYMENT_YAML OUT_YAML IMAGE NAME
Prints "REPLICAS MEMORY_LIMIT_BYTES CPU_LIMIT_NANOCPUS RUN_AS_USER".
"""
import os
import re
import sys

import yaml


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: kube_adapt.py DEPLOYMENT_YAML OUT_YAML IMAGE NAME")
    src, out, image, name = sys.argv[1:]
    with open(src) as f:
        dep = next(d for d in yaml.safe_load_all(f) if d and d.get("kind") == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    ct = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in ct.pop("ports", []) if "name" in p}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = ct.get(probe, {}).get("httpGet")
        if get and isinstance(get.get("port"), str):
            get["port"] = ports[get["port"]]
    dep["metadata"]["name"] = name
    ct["image"] = image
    # podman makes each emptyDir a named volume: give it this run's name.
    renamed = {v["name"]: f"{name}-{v['name']}" for v in pod.get("volumes", [])}
    for v in pod.get("volumes", []):
        v["name"] = renamed[v["name"]]
    for m in ct.get("volumeMounts", []):
        m["name"] = renamed[m["name"]]
    # podman's volume for a claim is the named volume of the claim's name.
    for v in pod.get("volumes", []):
        if "persistentVolumeClaim" in v:
            v["persistentVolumeClaim"]["claimName"] = f"{name}-{v['persistentVolumeClaim']['claimName']}"

    tmp = f"{out}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        yaml.safe_dump(dep, f)
    os.rename(tmp, out)

    lim = ct["resources"]["limits"]
    mem = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi)?", str(lim["memory"]))
    mem_bytes = int(mem.group(1)) * {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, None: 1}[mem.group(2)]
    cpu = str(lim["cpu"])
    nanocpus = int(float(cpu[:-1]) * 1e6) if cpu.endswith("m") else int(float(cpu) * 1e9)
    uid = ct.get("securityContext", {}).get("runAsUser", pod.get("securityContext", {}).get("runAsUser", ""))
    print(dep["spec"].get("replicas", 1), mem_bytes, nanocpus, uid)


if __name__ == "__main__":
    main()
