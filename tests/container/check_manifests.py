#!/usr/bin/python3
"""Checks the deployment files: the Kubernetes manifests of both shapes
(deploy/k8s: one replica, feedback in SQLite on a volume; deploy/k8s-postgresql:
several replicas sharing PostgreSQL), the compose file and the Dockerfile hold
the fields the service relies on (probes, limits, non-root, read-only root,
drain time, MNIST_* settings, a writable volume for the feedback database,
libpq only in the PostgreSQL image). Static checks only: no cluster or
container engine is involved.

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
    "MNIST_API_KEY", "MNIST_LOG_FORMAT", "MNIST_DATA_DIR", "MNIST_FEEDBACK_DB",
}
# The image's directory for the feedback database, owned by its user.
FEEDBACK_DIR = "/var/lib/mnist"
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


def check_k8s(c, docs, shape):
    """shape: "sqlite" (one replica, the database on a PersistentVolumeClaim)
    or "postgresql" (several replicas, the database URL from a Secret)."""
    kinds = by_kind(docs)
    for k in ("Deployment", "Service"):
        c.check(len(kinds.get(k, [])) == 1, f"expected exactly one {k}, found {len(kinds.get(k, []))}")
    if c.errors:
        return
    dep, svc = kinds["Deployment"][0], kinds["Service"][0]

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
    env = {e.get("name"): e.get("value") for e in ct.get("env", []) if "valueFrom" not in e}
    env_from = {e.get("name"): e["valueFrom"] for e in ct.get("env", []) if "valueFrom" in e}
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

    for name in list(env) + list(env_from):
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

    # The feedback store, as the shape has it.
    volumes = {v.get("name"): v for v in ps.get("volumes", [])}
    claims = {v["persistentVolumeClaim"].get("claimName") for v in volumes.values() if "persistentVolumeClaim" in v}
    hpas = kinds.get("HorizontalPodAutoscaler", [])
    replicas = spec.get("replicas", 1)
    if shape == "sqlite":
        c.check(replicas == 1, f"one SQLite file serves one replica, replicas is {replicas!r}")
        c.check(spec.get("strategy", {}).get("type") == "Recreate",
                "strategy must be Recreate (two pods must never hold the database at once)")
        c.check(not hpas, "a HorizontalPodAutoscaler would scale past the one replica SQLite allows")
        c.check(psc.get("fsGroup") == 10001, "pod securityContext.fsGroup must be 10001 (the volume writable)")
        db = env.get("MNIST_FEEDBACK_DB")
        c.check(isinstance(db, str) and db.startswith("/"), f"MNIST_FEEDBACK_DB must be a file path, is {db!r}")
        pvcs = {p.get("metadata", {}).get("name"): p for p in kinds.get("PersistentVolumeClaim", [])}
        c.check(len(pvcs) == 1, f"expected one PersistentVolumeClaim, found {len(pvcs)}")
        mount = next((m for m in ct.get("volumeMounts", [])
                      if isinstance(db, str) and db.rsplit("/", 1)[0] == str(m.get("mountPath")).rstrip("/")), None)
        if c.check(mount, f"no volume mounted on the directory of MNIST_FEEDBACK_DB {db!r}"):
            c.check(not mount.get("readOnly"), "the database volume must be mounted writable")
            claim = volumes.get(mount.get("name"), {}).get("persistentVolumeClaim", {}).get("claimName")
            c.check(claim in pvcs, f"the database volume must be the PersistentVolumeClaim, is {claim!r}")
            c.check(str(mount.get("mountPath")).rstrip("/") == FEEDBACK_DIR,
                    f"mount the database volume on {FEEDBACK_DIR} (owned by the image's user)")
        for p in pvcs.values():
            ps_ = p.get("spec", {})
            c.check(set(ps_.get("accessModes", [])) & {"ReadWriteOnce", "ReadWriteOncePod"},
                    "the PersistentVolumeClaim must be ReadWriteOnce")
            c.check("storage" in ps_.get("resources", {}).get("requests", {}),
                    "the PersistentVolumeClaim needs a storage request")
    else:
        c.check(isinstance(replicas, int) and replicas >= 2,
                f"several replicas share the database, replicas is {replicas!r}")
        ref = env_from.get("MNIST_FEEDBACK_DB", {}).get("secretKeyRef", {})
        c.check(ref.get("name") and ref.get("key") and "MNIST_FEEDBACK_DB" not in env,
                "MNIST_FEEDBACK_DB must come from a Secret (valueFrom.secretKeyRef), not a value")
        c.check(not claims and not kinds.get("PersistentVolumeClaim"),
                "no PersistentVolumeClaim (the replicas share PostgreSQL, not a volume)")
        c.check("postgresql" in str(ct.get("image", "")),
                f"the image must be the runtime-postgresql variant (with libpq), is {ct.get('image')!r}")
        c.check(len(hpas) == 1, f"expected one HorizontalPodAutoscaler, found {len(hpas)}")
    for hpa in hpas:
        check_hpa(c, hpa, dep, req)

    for pdb in kinds.get("PodDisruptionBudget", []):
        psel = pdb.get("spec", {}).get("selector", {}).get("matchLabels", {})
        c.check(psel and all(pod_labels.get(k) == v for k, v in psel.items()),
                "PodDisruptionBudget: selector does not match the Deployment's pods")


def check_hpa(c, hpa, dep, req):
    # HPA: autoscaling/v2, on this Deployment, on CPU utilisation.
    c.check(hpa.get("apiVersion") == "autoscaling/v2", "HPA: apiVersion must be autoscaling/v2")
    hs = hpa.get("spec", {})
    ref = hs.get("scaleTargetRef", {})
    c.check(ref.get("kind") == "Deployment" and ref.get("name") == dep["metadata"]["name"]
            and ref.get("apiVersion") == "apps/v1", "HPA: scaleTargetRef must name the Deployment")
    lo, hi = hs.get("minReplicas", 1), hs.get("maxReplicas", 0)
    c.check(2 <= lo <= hi, f"HPA: need 2 <= minReplicas ({lo}) <= maxReplicas ({hi})")
    cpu = [m for m in hs.get("metrics", []) if m.get("type") == "Resource"
           and m.get("resource", {}).get("name") == "cpu"]
    c.check(cpu and cpu[0]["resource"].get("target", {}).get("type") == "Utilization"
            and 0 < cpu[0]["resource"]["target"].get("averageUtilization", 0) <= 100,
            "HPA: needs a CPU Utilization target between 1 and 100 %")
    c.check("cpu" in req, "HPA: CPU utilisation needs a CPU request on the container")


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
    # The SQLite feedback database: its directory a named volume (it outlives
    # the container), mounted writable on the directory the image's user owns.
    db = str(env.get("MNIST_FEEDBACK_DB", ""))
    if c.check(db.startswith("/"), f"compose: MNIST_FEEDBACK_DB must be a file path on a volume, is {db!r}"):
        vols = [str(v).split(":") for v in s.get("volumes", []) if isinstance(v, str)]
        mount = next((v for v in vols if len(v) >= 2 and v[1].rstrip("/") == db.rsplit("/", 1)[0]), None)
        if c.check(mount, f"compose: no volume mounted on the directory of MNIST_FEEDBACK_DB {db!r}"):
            c.check(mount[0] in (doc.get("volumes") or {}), f"compose: {mount[0]!r} must be a named volume declared under volumes:")
            c.check(len(mount) < 3 or "ro" not in mount[2].split(","), "compose: the database volume must be writable")
            c.check(mount[1].rstrip("/") == FEEDBACK_DIR,
                    f"compose: mount the database volume on {FEEDBACK_DIR} (owned by the image's user)")


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
    # Stages: the image or stage each FROM names (past flags such as
    # --platform=$BUILDPLATFORM), its name, its instructions.
    stages = []
    for i in instr:
        if i.upper().startswith("FROM "):
            words = [w for w in i.split()[1:] if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"base": words[0], "name": name, "instr": []})
        elif stages:
            stages[-1]["instr"].append(i)
    named = {st["name"]: st for st in stages if st["name"]}

    def chain(st):
        """The stages st builds on, first the one FROM an image, st last."""
        out = [st]
        while out[0]["base"] in named and named[out[0]["base"]] not in out:
            out.insert(0, named[out[0]["base"]])
        return out

    def image(st):
        return chain(st)[0]["base"]

    c.check(len(stages) >= 2, "Dockerfile: must be multi-stage")
    if not stages:
        return
    builds = [st for st in stages if image(st) != "scratch"]
    c.check(builds and all(image(st) == "debian:bookworm-slim" for st in builds),
            f"Dockerfile: build stages must be debian:bookworm-slim, are {[image(st) for st in builds]}")
    build = [i for st in builds for i in st["instr"]]
    c.check(any("scripts/deps.sh build" in i for i in build), "Dockerfile: build stage must install with scripts/deps.sh build")
    c.check(any("scripts/build.sh" in i for i in build), "Dockerfile: build stage must build with scripts/build.sh")
    # The runtime stage is the tree scripts/container-rootfs.sh assembles.
    rootfs = " ".join(i for i in build if "scripts/container-rootfs.sh /rootfs" in i)
    for b in ("mnist-server", "mnist-train", "mnist-eval", "mnist-cnn-ensemble.bin"):
        c.check(b in rootfs, f"Dockerfile: the runtime tree (container-rootfs.sh) lacks {b}")

    def copies_libpq(final):
        """Whether the instructions copy from a stage that adds libpq."""
        srcs = {m.group(1) for i in final for m in [re.match(r"COPY --from=(\S+)", i)] if m}
        return any("libpq.so.5" in i for n in srcs if n in named for st in chain(named[n]) for i in st["instr"])

    # The default target (the last stage) and the PostgreSQL variant: both
    # FROM scratch, configured alike; libpq in the variant alone.
    c.check(image(stages[-1]) == "scratch", f"Dockerfile: runtime stage must be FROM scratch, is {image(stages[-1])!r}")
    default = [i for st in chain(stages[-1]) for i in st["instr"]]
    c.check(not copies_libpq(default), "Dockerfile: the default target (the last stage) must not carry libpq")
    variant = named.get("runtime-postgresql")
    targets = [("the default target", default)]
    if c.check(variant and image(variant) == "scratch", "Dockerfile: needs a FROM scratch stage runtime-postgresql"):
        vfinal = [i for st in chain(variant) for i in st["instr"]]
        c.check(copies_libpq(vfinal), "Dockerfile: runtime-postgresql must copy libpq.so.5 (container-rootfs.sh --libs)")
        targets.append(("runtime-postgresql", vfinal))

    for target, final in targets:
        def one(word):
            found = [i[len(word) + 1:].strip() for i in final if i.upper().startswith(word + " ")]
            return found[-1] if found else None

        user = one("USER")
        c.check(user is not None and user.split(":")[0] not in ("0", "root"),
                f"Dockerfile: {target} USER must be non-root, is {user!r}")
        c.check(user is not None and user.split(":")[0].isdigit(), f"Dockerfile: {target} USER must be numeric for runAsNonRoot")
        c.check(one("EXPOSE") == "8080", f"Dockerfile: {target} must EXPOSE 8080")
        ep = one("ENTRYPOINT")
        try:
            ep_json = json.loads(ep) if ep else None
        except ValueError:
            ep_json = None
        c.check(ep_json == ["mnist-server"], f"Dockerfile: {target} ENTRYPOINT must be exec form [\"mnist-server\"], is {ep!r}")
        hc = one("HEALTHCHECK") or ""
        m = re.search(r"CMD\s+(\[.*\])\s*$", hc)
        c.check(m and json.loads(m.group(1)) == ["mnist-server", "--healthcheck"],
                f"Dockerfile: {target} HEALTHCHECK must be CMD [\"mnist-server\", \"--healthcheck\"], is {hc!r}")
        c.check(any(re.match(r"COPY --from=build /rootfs/? /$", i) for i in final),
                f"Dockerfile: {target} must copy the build stage's /rootfs/")
        c.check(not any(re.search(r"\b(build-essential|-dev\b|cmake|gcc)", i) for i in final),
                f"Dockerfile: {target} installs build tools")


def check_rootfs_script(c, text):
    """The image's directory for the database, owned by its user: a new
    volume mounted there copies that ownership."""
    c.check(re.search(r"install -d .*-o 10001 -g 10001 \"\$root" + FEEDBACK_DIR + '"', text),
            f"container-rootfs.sh: must create {FEEDBACK_DIR} owned by 10001:10001")


# The Kubernetes shapes: directory under deploy/ -> what check_k8s expects.
SHAPES = {"k8s": "sqlite", "k8s-postgresql": "postgresql"}


def run_all(f):
    """f: the parsed files, as load() returns them -> the failed checks."""
    c = Checker()
    for d, shape in SHAPES.items():
        sub = Checker()
        check_k8s(sub, f[d], shape)
        c.errors += [f"deploy/{d}: {e}" for e in sub.errors]
    check_compose(c, f["compose"])
    check_dockerfile(c, f["dockerfile"])
    check_rootfs_script(c, f["rootfs"])
    return c.errors


def mutations(files):
    """Broken variants that the checks must reject: proof that they can fail."""
    def kind(docs, k):
        return next(d for d in docs if d.get("kind") == k)

    def ct(docs):
        return kind(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]

    def pod(docs):
        return kind(docs, "Deployment")["spec"]["template"]["spec"]

    def edit(key, f):
        out = copy.deepcopy(files)
        f(out[key])
        return out

    def text(key, new):
        return {**files, key: new}

    def db_mount(docs):
        return next(m for m in ct(docs)["volumeMounts"] if m["mountPath"] != "/tmp")

    def server(doc):
        return next(iter(doc["services"].values()))

    def drop_env(docs, name):
        ct(docs)["env"] = [e for e in ct(docs)["env"] if e["name"] != name]

    sq, pg = "k8s", "k8s-postgresql"
    yield "readOnlyRootFilesystem false", edit(sq, lambda d: ct(d)["securityContext"].update(readOnlyRootFilesystem=False))
    yield "liveness on /readyz", edit(pg, lambda d: ct(d)["livenessProbe"]["httpGet"].update(path="/readyz"))
    yield "no memory limit", edit(sq, lambda d: ct(d)["resources"]["limits"].pop("memory"))
    yield "short grace period", edit(pg, lambda d: pod(d).update(terminationGracePeriodSeconds=5))
    yield "runAsUser 0", edit(sq, lambda d: pod(d)["securityContext"].update(runAsUser=0))
    yield "HPA v1", edit(pg, lambda d: kind(d, "HorizontalPodAutoscaler").update(apiVersion="autoscaling/v1"))
    yield "Service selects nothing", edit(sq, lambda d: kind(d, "Service")["spec"].update(selector={"app": "other"}))
    yield "misspelt probe field", edit(pg, lambda d: ct(d).update(readinesProbe=ct(d).pop("readinessProbe")))
    yield "misspelt setting", edit(sq, lambda d: ct(d)["env"].append({"name": "MNIST_THREAD", "value": "2"}))
    # The SQLite shape: one pod at a time, holding a writable claim.
    yield "SQLite with 2 replicas", edit(sq, lambda d: kind(d, "Deployment")["spec"].update(replicas=2))
    yield "SQLite with a rolling update", edit(sq, lambda d: kind(d, "Deployment")["spec"].update(strategy={"type": "RollingUpdate"}))
    yield "SQLite with an HPA", edit(sq, lambda d: d.append(kind(files[pg], "HorizontalPodAutoscaler")))
    yield "SQLite without fsGroup", edit(sq, lambda d: pod(d)["securityContext"].pop("fsGroup"))
    yield "SQLite database on the read-only root", edit(sq, lambda d: ct(d)["volumeMounts"].remove(db_mount(d)))
    yield "SQLite volume read-only", edit(sq, lambda d: db_mount(d).update(readOnly=True))
    def db_in_emptydir(docs):
        v = next(v for v in pod(docs)["volumes"] if v["name"] == db_mount(docs)["name"])
        v.pop("persistentVolumeClaim")
        v["emptyDir"] = {}
    yield "SQLite database in an emptyDir", edit(sq, db_in_emptydir)
    # The PostgreSQL shape: several replicas, the URL a secret, libpq in the image.
    yield "PostgreSQL with 1 replica", edit(pg, lambda d: kind(d, "Deployment")["spec"].update(replicas=1))
    yield "PostgreSQL URL in plain text", edit(pg, lambda d: (
        drop_env(d, "MNIST_FEEDBACK_DB"), ct(d)["env"].append({"name": "MNIST_FEEDBACK_DB", "value": "postgresql://u:p@db/x"})))
    yield "PostgreSQL on the default image", edit(pg, lambda d: ct(d).update(image="mnist-digits:1.0.0"))
    yield "PostgreSQL with a claim", edit(pg, lambda d: d.append(kind(files[sq], "PersistentVolumeClaim")))
    # Compose: the database on a named volume, writable.
    yield "compose as root", edit("compose", lambda d: server(d).update(user="0"))
    yield "compose without the database volume", edit("compose", lambda d: server(d).pop("volumes"))
    yield "compose database volume read-only", edit("compose", lambda d: server(d).update(
        volumes=[v + ":ro" for v in server(d)["volumes"]]))
    yield "compose database on an undeclared volume", edit("compose", lambda d: d.pop("volumes"))
    df = files["dockerfile"]
    yield "shell-form ENTRYPOINT", text("dockerfile", df.replace('ENTRYPOINT ["mnist-server"]', "ENTRYPOINT mnist-server"))
    yield "root USER", text("dockerfile", re.sub(r"^USER .*$", "USER root", df, flags=re.M))
    yield "syntax line", text("dockerfile", "# syntax=docker/dockerfile:1\n" + df)
    yield "runtime stage on Debian", text("dockerfile", df.replace("FROM scratch", "FROM debian:bookworm-slim"))
    yield "the PostgreSQL variant as the default target", text("dockerfile", df + "\nFROM runtime-postgresql\n")
    yield "no PostgreSQL variant", text("dockerfile", df.replace("AS runtime-postgresql", "AS runtime-other"))
    yield "a variant without libpq", text("dockerfile", df.replace(" libpq.so.5", " libz.so.1"))
    yield "no database directory in the image", text("rootfs", files["rootfs"].replace("/var/lib/mnist", "/var/lib/other"))


def load(src):
    """The deployment files under SOURCE_DIR, parsed: each Kubernetes shape
    as the documents its Kustomization lists."""
    files = {}
    for d in SHAPES:
        with open(f"{src}/deploy/{d}/kustomization.yaml") as f:
            listed = yaml.safe_load(f).get("resources", [])
        files[d] = []
        for name in listed:
            with open(f"{src}/deploy/{d}/{name}") as f:
                files[d] += [x for x in yaml.safe_load_all(f) if x]
    with open(f"{src}/deploy/compose.yaml") as f:
        files["compose"] = yaml.safe_load(f)
    with open(f"{src}/Dockerfile") as f:
        files["dockerfile"] = f.read()
    with open(f"{src}/scripts/container-rootfs.sh") as f:
        files["rootfs"] = f.read()
    return files


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_manifests.py SOURCE_DIR")
    files = load(sys.argv[1])
    passed = failed = 0

    errors = run_all(files)
    for e in errors:
        print(f"FAIL {e}")
    if errors:
        failed += 1
    else:
        passed += 1
        print("ok   deploy/k8s, deploy/k8s-postgresql, deploy/compose.yaml, Dockerfile and "
              "container-rootfs.sh hold every required field")

    for what, variant in mutations(files):
        if run_all(variant):
            passed += 1
            print(f"ok   rejects a variant with {what}")
        else:
            failed += 1
            print(f"FAIL accepts a variant with {what}")

    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
