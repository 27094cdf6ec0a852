#!/usr/bin/python3
"""Checks the deployment files: the Kubernetes manifests in deploy/k8s, the
compose file and the Dockerfile hold the fields the service relies on
(probes, limits, non-root, read-only root, drain time, MNIST_* settings).
Static checks only: no cluster or container engine is involved.

Usage: check_manifests.py SOURCE_DIR    (Debian python3 + python3-yaml)
"""
import copy
import json
import re
import sys

import yaml

# The MNIST_* variables of the server's configuration table (API contract).
KNOWN_VARS = {
    "MNIST_HOST", "MNIST_PORT", "MNIST_MODEL", "MNIST_THREADS", "MNIST_MAX_BODY",
    "MNIST_MAX_PIXELS", "MNIST_MAX_BATCH", "MNIST_TIMEOUT", "MNIST_CORS_ORIGIN",
    "MNIST_API_KEY", "MNIST_LOG_FORMAT", "MNIST_DATA_DIR",
}
# The fields of a Kubernetes core/v1 Container: a misspelt probe name would
# otherwise be ignored by the API server, and the probe silently missing.
CONTAINER_FIELDS = {
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env",
    "resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices",
    "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
    "securityContext", "stdin", "stdinOnce", "tty",
}
# MNIST_TIMEOUT's default: the idle-connection bound of the drain.
DEFAULT_TIMEOUT = 30


def cpu_cores(quantity):
    """Kubernetes CPU quantity ("2", "500m", 1.5) -> cores as float."""
    s = str(quantity)
    return float(s[:-1]) / 1000 if s.endswith("m") else float(s)


def mem_bytes(quantity):
    """Kubernetes memory quantity ("64Mi", "1G", 1024) -> bytes."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"([0-9.]+)([KMG]i?)?", str(quantity))
    if not m:
        raise ValueError(f"bad memory quantity {quantity!r}")
    return float(m.group(1)) * units.get(m.group(2) or "", 1)


def duration_s(value):
    """Compose duration ("20s", "1m30s", 20) -> seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    total, found = 0.0, False
    for num, unit in re.findall(r"([0-9.]+)(h|m|s|ms)", str(value)):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
        found = True
    if not found:
        raise ValueError(f"bad duration {value!r}")
    return total


class Checker:
    """Collects failed assertions as messages instead of stopping at the first."""

    def __init__(self):
        self.errors = []

    def check(self, cond, msg):
        if not cond:
            self.errors.append(msg)
        return bool(cond)


def by_kind(docs):
    out = {}
    for d in docs:
        if isinstance(d, dict) and "kind" in d:
            out.setdefault(d["kind"], []).append(d)
    return out


def resolve_port(container, port):
    """A probe/Service port (number or name) -> containerPort, or None."""
    for p in container.get("ports", []):
        if port == p.get("containerPort") or port == p.get("name"):
            return p.get("containerPort")
    return None


def check_k8s(c, docs):
    kinds = by_kind(docs)
    for k in ("Deployment", "Service", "HorizontalPodAutoscaler"):
        c.check(len(kinds.get(k, [])) == 1, f"expected exactly one {k}, found {len(kinds.get(k, []))}")
    if c.errors:
        return
    dep, svc, hpa = kinds["Deployment"][0], kinds["Service"][0], kinds["HorizontalPodAutoscaler"][0]

    c.check(dep.get("apiVersion") == "apps/v1", "Deployment: apiVersion must be apps/v1")
    spec = dep.get("spec", {})
    pod = spec.get("template", {})
    pod_labels = pod.get("metadata", {}).get("labels", {})
    sel = spec.get("selector", {}).get("matchLabels", {})
    c.check(sel and all(pod_labels.get(k) == v for k, v in sel.items()),
            "Deployment: selector.matchLabels must match the pod template labels")
    ps = pod.get("spec", {})
    containers = ps.get("containers", [])
    if not c.check(len(containers) == 1, "Deployment: expected one container"):
        return
    ct = containers[0]
    env = {e.get("name"): e.get("value") for e in ct.get("env", [])}
    c.check(ct.get("image"), "Deployment: container has no image")
    unknown = sorted(set(ct) - CONTAINER_FIELDS)
    c.check(not unknown, f"Deployment: unknown container fields {unknown}")

    # Probes: liveness on /healthz, readiness on /readyz, on the served port.
    port = int(env.get("MNIST_PORT", 8080))
    c.check(resolve_port(ct, port) == port, f"Deployment: containerPort {port} (MNIST_PORT) not declared")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = ct.get(probe, {}).get("httpGet", {})
        c.check(get.get("path") == path, f"Deployment: {probe} must GET {path}, has {get.get('path')!r}")
        c.check(resolve_port(ct, get.get("port")) == port,
                f"Deployment: {probe} port {get.get('port')!r} is not the served port {port}")

    # Resources: requests and limits for CPU and memory, requests <= limits.
    res = ct.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    for r in ("cpu", "memory"):
        if c.check(r in req and r in lim, f"Deployment: resources need requests and limits for {r}"):
            conv = cpu_cores if r == "cpu" else mem_bytes
            c.check(conv(req[r]) <= conv(lim[r]), f"Deployment: {r} request exceeds its limit")
    if "cpu" in lim:
        threads = env.get("MNIST_THREADS")
        c.check(threads is not None and 1 <= int(threads) <= max(1, int(cpu_cores(lim["cpu"]) + 0.999)),
                "Deployment: MNIST_THREADS must be set and not exceed the CPU limit "
                "(the default, the node's CPU count, oversubscribes the quota)")

    # Non-root, read-only root filesystem, no privilege escalation.
    psc, csc = ps.get("securityContext", {}), ct.get("securityContext", {})
    c.check(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True,
            "Deployment: runAsNonRoot must be true")
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    c.check(uid is None or uid != 0, "Deployment: runAsUser must not be 0")
    c.check(csc.get("readOnlyRootFilesystem") is True, "Deployment: readOnlyRootFilesystem must be true")
    c.check(csc.get("allowPrivilegeEscalation") is False, "Deployment: allowPrivilegeEscalation must be false")
    c.check("ALL" in csc.get("capabilities", {}).get("drop", []), "Deployment: capabilities must drop ALL")
    mounts = {m.get("mountPath") for m in ct.get("volumeMounts", [])}
    c.check("/tmp" in mounts, "Deployment: a read-only root needs a writable /tmp volume")

    # Drain: the grace period covers the preStop pause plus the drain, which
    # the idle-connection timeout bounds.
    grace = ps.get("terminationGracePeriodSeconds", 30)
    pre = ct.get("lifecycle", {}).get("preStop", {})
    pre_s = 0
    if "exec" in pre:
        cmd = pre["exec"].get("command", [])
        if len(cmd) == 2 and cmd[0] == "sleep":
            pre_s = float(cmd[1])
    elif "sleep" in pre:
        pre_s = float(pre["sleep"].get("seconds", 0))
    timeout = float(env.get("MNIST_TIMEOUT", DEFAULT_TIMEOUT))
    c.check(grace >= pre_s + timeout + 5,
            f"Deployment: terminationGracePeriodSeconds {grace} < preStop {pre_s:g} s + "
            f"MNIST_TIMEOUT {timeout:g} s + 5 s margin")

    for name in env:
        c.check(name in KNOWN_VARS or not name.startswith("MNIST_"), f"Deployment: unknown setting {name}")
        c.check(name.startswith("MNIST_"), f"Deployment: {name} is not an MNIST_* setting")
    for name, value in env.items():
        c.check(isinstance(value, str), f"Deployment: env {name} must be a string, is {value!r}")

    # Service: selects the pods, targets the served port.
    c.check(svc.get("apiVersion") == "v1", "Service: apiVersion must be v1")
    ssel = svc.get("spec", {}).get("selector", {})
    c.check(ssel and all(pod_labels.get(k) == v for k, v in ssel.items()),
            "Service: selector does not match the Deployment's pods")
    sports = svc.get("spec", {}).get("ports", [])
    c.check(sports and all(resolve_port(ct, p.get("targetPort", p.get("port"))) == port for p in sports),
            "Service: targetPort must be the served port")

    # HPA: autoscaling/v2, on this Deployment, on CPU utilisation.
    c.check(hpa.get("apiVersion") == "autoscaling/v2", "HPA: apiVersion must be autoscaling/v2")
    hs = hpa.get("spec", {})
    ref = hs.get("scaleTargetRef", {})
    c.check(ref.get("kind") == "Deployment" and ref.get("name") == dep["metadata"]["name"]
            and ref.get("apiVersion") == "apps/v1", "HPA: scaleTargetRef must name the Deployment")
    lo, hi = hs.get("minReplicas", 1), hs.get("maxReplicas", 0)
    c.check(1 <= lo <= hi, f"HPA: need 1 <= minReplicas ({lo}) <= maxReplicas ({hi})")
    cpu = [m for m in hs.get("metrics", []) if m.get("type") == "Resource"
           and m.get("resource", {}).get("name") == "cpu"]
    c.check(cpu and cpu[0]["resource"].get("target", {}).get("type") == "Utilization"
            and 0 < cpu[0]["resource"]["target"].get("averageUtilization", 0) <= 100,
            "HPA: needs a CPU Utilization target between 1 and 100 %")
    c.check("cpu" in req, "HPA: CPU utilisation needs a CPU request on the container")

    for pdb in kinds.get("PodDisruptionBudget", []):
        psel = pdb.get("spec", {}).get("selector", {}).get("matchLabels", {})
        c.check(psel and all(pod_labels.get(k) == v for k, v in psel.items()),
                "PodDisruptionBudget: selector does not match the Deployment's pods")


def check_compose(c, doc):
    services = doc.get("services", {}) if isinstance(doc, dict) else {}
    server = [s for s in services.values() if "build" in s or "image" in s]
    if not c.check(server, "compose: no service with build or image"):
        return
    s = server[0]
    # The image's HEALTHCHECK (mnist-server --healthcheck) applies; podman-compose
    # 1.0.3 runs a compose healthcheck, even a CMD list, through /bin/sh,
    # which the FROM scratch image does not have.
    c.check("healthcheck" not in s, f"compose: must not override the image's HEALTHCHECK, has {s.get('healthcheck')!r}")
    user = str(s.get("user", "")).split(":")[0]
    c.check(user not in ("", "0", "root"), "compose: user must be non-root")
    c.check(s.get("read_only") is True, "compose: read_only must be true")
    c.check(any(str(t).split(":")[0] == "/tmp" for t in s.get("tmpfs", [])), "compose: read_only needs a /tmp tmpfs")
    env = s.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    for name in env:
        c.check(name in KNOWN_VARS, f"compose: unknown setting {name}")
    timeout = float(env.get("MNIST_TIMEOUT", DEFAULT_TIMEOUT))
    grace = duration_s(s.get("stop_grace_period", 10))
    c.check(grace >= timeout + 5, f"compose: stop_grace_period {grace:g} s < MNIST_TIMEOUT {timeout:g} s + 5 s")
    port = str(env.get("MNIST_PORT", 8080))
    c.check(any(str(p).endswith(":" + port) for p in s.get("ports", [])), f"compose: no published port maps to {port}")


def check_dockerfile(c, text):
    lines = [l.strip() for l in text.splitlines()]
    c.check(not any(re.match(r"#\s*syntax\s*=", l, re.I) for l in lines),
            "Dockerfile: a '# syntax=' line makes BuildKit pull its frontend")
    # Join continuation lines into instructions.
    instr, cur = [], ""
    for l in lines:
        if not cur and (not l or l.startswith("#")):
            continue
        cur += " " + l.rstrip("\\").strip() if cur else l.rstrip("\\").strip()
        if not l.endswith("\\"):
            instr.append(cur)
            cur = ""
    # The image of each FROM, past flags such as --platform=$BUILDPLATFORM.
    froms = [next(w for w in i.split()[1:] if not w.startswith("--"))
             for i in instr if i.upper().startswith("FROM ")]
    c.check(len(froms) >= 2, "Dockerfile: must be multi-stage")
    c.check(froms and all(f == "debian:bookworm-slim" for f in froms[:-1]),
            f"Dockerfile: build stages must be debian:bookworm-slim, are {froms[:-1]}")
    c.check(froms and froms[-1] == "scratch", f"Dockerfile: runtime stage must be FROM scratch, is {froms[-1:]}")
    last = max(i for i, x in enumerate(instr) if x.upper().startswith("FROM "))
    build, final = instr[:last], instr[last:]
    c.check(any("scripts/deps.sh build" in i for i in build), "Dockerfile: build stage must install with scripts/deps.sh build")
    c.check(any("scripts/build.sh" in i for i in build), "Dockerfile: build stage must build with scripts/build.sh")

    def one(word):
        found = [i[len(word) + 1:].strip() for i in final if i.upper().startswith(word + " ")]
        return found[-1] if found else None

    user = one("USER")
    c.check(user is not None and user.split(":")[0] not in ("0", "root"), f"Dockerfile: runtime USER must be non-root, is {user!r}")
    c.check(user is not None and user.split(":")[0].isdigit(), "Dockerfile: USER must be numeric for runAsNonRoot")
    c.check(one("EXPOSE") == "8080", "Dockerfile: must EXPOSE 8080")
    ep = one("ENTRYPOINT")
    try:
        ep_json = json.loads(ep) if ep else None
    except ValueError:
        ep_json = None
    c.check(ep_json == ["mnist-server"], f"Dockerfile: ENTRYPOINT must be exec form [\"mnist-server\"], is {ep!r}")
    hc = one("HEALTHCHECK") or ""
    m = re.search(r"CMD\s+(\[.*\])\s*$", hc)
    c.check(m and json.loads(m.group(1)) == ["mnist-server", "--healthcheck"],
            f"Dockerfile: HEALTHCHECK must be CMD [\"mnist-server\", \"--healthcheck\"], is {hc!r}")
    # The runtime stage is the tree scripts/container-rootfs.sh assembles.
    rootfs = " ".join(i for i in build if "scripts/container-rootfs.sh /rootfs" in i)
    for b in ("mnist-server", "mnist-train", "mnist-eval", "mnist-cnn-ensemble.bin"):
        c.check(b in rootfs, f"Dockerfile: the runtime tree (container-rootfs.sh) lacks {b}")
    c.check(any(re.match(r"COPY --from=build /rootfs/? /$", i) for i in final),
            "Dockerfile: runtime stage must copy the build stage's /rootfs/")
    c.check(not any(re.search(r"\b(build-essential|-dev\b|cmake|gcc)", i) for i in final),
            "Dockerfile: runtime stage installs build tools")


def run_all(k8s_docs, compose_doc, dockerfile):
    c = Checker()
    check_k8s(c, k8s_docs)
    check_compose(c, compose_doc)
    check_dockerfile(c, dockerfile)
    return c.errors


def mutations(k8s_docs, compose_doc, dockerfile):
    """Broken variants that the checks must reject: proof that they can fail."""
    def dep(docs):
        return next(d for d in docs if d.get("kind") == "Deployment")

    def ct(docs):
        return dep(docs)["spec"]["template"]["spec"]["containers"][0]

    def edit_k8s(f):
        docs = copy.deepcopy(k8s_docs)
        f(docs)
        return docs, compose_doc, dockerfile

    yield "readOnlyRootFilesystem false", edit_k8s(lambda d: ct(d)["securityContext"].update(readOnlyRootFilesystem=False))
    yield "liveness on /readyz", edit_k8s(lambda d: ct(d)["livenessProbe"]["httpGet"].update(path="/readyz"))
    yield "no memory limit", edit_k8s(lambda d: ct(d)["resources"]["limits"].pop("memory"))
    yield "short grace period", edit_k8s(lambda d: dep(d)["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=5))
    yield "runAsUser 0", edit_k8s(lambda d: dep(d)["spec"]["template"]["spec"]["securityContext"].update(runAsUser=0))
    yield "HPA v1", edit_k8s(lambda d: next(x for x in d if x["kind"] == "HorizontalPodAutoscaler").update(apiVersion="autoscaling/v1"))
    yield "Service selects nothing", edit_k8s(lambda d: next(x for x in d if x["kind"] == "Service")["spec"].update(selector={"app": "other"}))
    yield "misspelt probe field", edit_k8s(lambda d: ct(d).update(readinesProbe=ct(d).pop("readinessProbe")))
    yield "misspelt setting", edit_k8s(lambda d: ct(d)["env"].append({"name": "MNIST_THREAD", "value": "2"}))
    bad = copy.deepcopy(compose_doc)
    next(iter(bad["services"].values()))["user"] = "0"
    yield "compose as root", (k8s_docs, bad, dockerfile)
    yield "shell-form ENTRYPOINT", (k8s_docs, compose_doc, dockerfile.replace('ENTRYPOINT ["mnist-server"]', "ENTRYPOINT mnist-server"))
    yield "root USER", (k8s_docs, compose_doc, re.sub(r"^USER .*$", "USER root", dockerfile, flags=re.M))
    yield "syntax line", (k8s_docs, compose_doc, "# syntax=docker/dockerfile:1\n" + dockerfile)
    yield "runtime stage on Debian", (k8s_docs, compose_doc, dockerfile.replace("FROM scratch", "FROM debian:bookworm-slim"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_manifests.py SOURCE_DIR")
    src = sys.argv[1]
    passed = failed = 0
    k8s = []
    for name in ("deployment", "service", "hpa", "pdb"):
        with open(f"{src}/deploy/k8s/{name}.yaml") as f:
            k8s += [d for d in yaml.safe_load_all(f) if d]
    with open(f"{src}/deploy/compose.yaml") as f:
        compose = yaml.safe_load(f)
    with open(f"{src}/Dockerfile") as f:
        dockerfile = f.read()

    errors = run_all(k8s, compose, dockerfile)
    for e in errors:
        print(f"FAIL {e}")
    if errors:
        failed += 1
    else:
        passed += 1
        print("ok   deploy/k8s, deploy/compose.yaml and Dockerfile hold every required field")

    for what, variant in mutations(k8s, compose, dockerfile):
        if run_all(*variant):
            passed += 1
            print(f"ok   rejects a variant with {what}")
        else:
            failed += 1
            print(f"FAIL accepts a variant with {what}")

    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
