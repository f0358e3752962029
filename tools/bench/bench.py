#!/usr/bin/env python3
"""podhook against the tools people use today, on this machine, in one run (tools/bench.sh runs this).

Every case runs the same pod with each tool, interleaved (the order rotates from round to round), for
several rounds; the table gives medians and, per reference, the median of the paired ratios
podhook / reference of the same round. The floor is the Engine API calls themselves, made from this
process over the socket (no process start-up, no checks): one after another, and with the calls that
do not depend on each other made together, in podhook's layout (an infra container holding the
network, the apps joining it; a replaced container renamed aside and stopped while its successor is
created, which is started, then the old one removed).
"""
import argparse
import datetime
import http.client
import http.server
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

DOCKER_SOCK = "/var/run/docker.sock"
PODMAN_SOCK = "/run/podman/podman.sock"
IMAGE = "podhook.local/busybox:1"
PREFIX = "phbench"
LABEL = "io.podhook.bench"
# Podman's CLI through the same service podhook talks to (its own configuration: tools/podman/)
PODMAN = ["podman", "--remote", "--url", "unix://" + PODMAN_SOCK]


# --- the floor: a minimal Engine client -------------------------------------------------------------

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        self.sock = s


class Engine:
    """One request per connection, as a minimal client does; calls made together run in threads."""

    def __init__(self, sock):
        self.sock = sock

    def call(self, method, path, body=None, ok=(200, 201, 204, 304)):
        c = UnixConnection(self.sock)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        c.request(method, "/v1.41" + path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read()
        c.close()
        if r.status not in ok:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, text[:200]))
        return json.loads(text) if text and text[:1] in (b"{", b"[") else None

    def many(self, calls):
        """[(method, path, body)] together; their answers in order."""
        out = [None] * len(calls)
        errs = []

        def one(i, c):
            try:
                out[i] = self.call(*c)
            except Exception as e:  # noqa: BLE001 - reported below
                errs.append(e)
        ts = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(calls)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errs:
            raise errs[0]
        return out


def floor_body(image, cmd, infra_id=None, name=None, pod=None):
    labels = {LABEL: "floor"}
    if pod:
        labels[LABEL + ".pod"] = pod
    hc = {"Init": True, "RestartPolicy": {"Name": "always"}}
    if infra_id:
        hc["NetworkMode"] = "container:" + infra_id
    body = {"Image": image, "Labels": labels, "HostConfig": hc}
    if cmd:
        body["Cmd"] = cmd
    return body


class FloorPod:
    """A pod made of raw calls: infra + apps, named like podhook's ("POD.NAME", "POD._infra")."""

    def __init__(self, eng, pod, infra_image, n_apps, tag):
        self.e, self.pod, self.infra_image, self.n, self.tag = eng, pod, infra_image, n_apps, tag
        self.infra = None
        self.apps = []  # ids in app order

    def app_cmd(self, i, tag):
        return ["/bin/sleep", "10000%s%d" % (tag, i)]

    def create(self, overlapped):
        e, q = self.e, urllib.parse.quote
        ib = floor_body(self.infra_image, None, pod=self.pod)
        self.infra = e.call("POST", "/containers/create?name=%s" % q(self.pod + "._infra"), ib)["Id"]
        bodies = [("POST", "/containers/create?name=%s" % q("%s.app%d" % (self.pod, i)),
                   floor_body(IMAGE, self.app_cmd(i, self.tag), self.infra, pod=self.pod))
                  for i in range(1, self.n + 1)]
        if overlapped:
            # the apps need the infra's id only: created while it starts
            res = e.many([("POST", "/containers/%s/start" % self.infra, None)] + bodies)
            self.apps = [r["Id"] for r in res[1:]]
            e.many([("POST", "/containers/%s/start" % a, None) for a in self.apps])
        else:
            e.call("POST", "/containers/%s/start" % self.infra)
            self.apps = []
            for b in bodies:
                a = e.call(*b)["Id"]
                e.call("POST", "/containers/%s/start" % a)
                self.apps.append(a)

    def replace(self, which, tag, overlapped):
        """Replaces the apps at indexes which (0-based) in podhook's layout."""
        e, q = self.e, urllib.parse.quote
        old = [self.apps[i] for i in which]
        stops = [("POST", "/containers/%s/stop?t=10" % a, None) for a in old]
        renames = [("POST", "/containers/%s/rename?name=%s" % (a, q("%s._aside.app%d" % (self.pod, i + 1))), None)
                   for a, i in zip(old, which)]
        creates = [("POST", "/containers/create?name=%s" % q("%s.app%d" % (self.pod, i + 1)),
                    floor_body(IMAGE, self.app_cmd(i + 1, tag), self.infra, pod=self.pod)) for i in which]
        removes = [("DELETE", "/containers/%s?v=false&force=true" % a, None) for a in old]
        if overlapped:
            # a create needs only the name, which the rename frees; a start needs the old one stopped
            e.many(renames)
            new = [r["Id"] for r in e.many(stops + creates)[len(stops):]]
            e.many([("POST", "/containers/%s/start" % a, None) for a in new])
            e.many(removes)
        else:
            new = []
            for s, rn, c, rm in zip(stops, renames, creates, removes):
                e.call(*rn)
                e.call(*s)
                a = e.call(*c)["Id"]
                e.call("POST", "/containers/%s/start" % a)
                e.call(*rm)
                new.append(a)
        for i, a in zip(which, new):
            self.apps[i] = a

    def delete(self, overlapped):
        e = self.e
        everything = self.apps + [self.infra]
        if overlapped:
            e.many([("POST", "/containers/%s/stop?t=10" % a, None) for a in everything])
            e.many([("DELETE", "/containers/%s?v=false&force=true" % a, None) for a in self.apps])
            e.call("DELETE", "/containers/%s?v=false&force=true" % self.infra)
        else:
            for a in everything:
                e.call("POST", "/containers/%s/stop?t=10" % a)
            for a in everything:
                e.call("DELETE", "/containers/%s?v=false&force=true" % a)


# --- manifests for the tools ------------------------------------------------------------------------

def manifest(pod, n, tag, changed=()):
    """A v1beta2 manifest of n busybox apps; an app in changed gets another command."""
    lines = ["version: v1beta2", "id: %s" % pod, "containers:"]
    for i in range(1, n + 1):
        t = tag if i not in changed else tag + "9"
        lines += ["  - name: app%d" % i, "    image: %s" % IMAGE,
                  '    command: ["/bin/sleep", "10000%s%d"]' % (t, i)]
    return "\n".join(lines) + "\n"


def compose_file(n, tag, changed=()):
    lines = ["version: '2.4'", "services:", "  infra:", "    image: %s" % IMAGE,
             '    command: ["/bin/sleep", "1000000"]', "    init: true", "    restart: always"]
    for i in range(1, n + 1):
        t = tag if i not in changed else tag + "9"
        lines += ["  app%d:" % i, "    image: %s" % IMAGE, '    command: ["/bin/sleep", "10000%s%d"]' % (t, i),
                  '    network_mode: "service:infra"', "    init: true", "    restart: always"]
    return "\n".join(lines) + "\n"


def kube_file(pod, n, tag, changed=()):
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  name: %s" % pod, "spec:", "  containers:"]
    for i in range(1, n + 1):
        t = tag if i not in changed else tag + "9"
        lines += ["  - name: app%d" % i, "    image: %s" % IMAGE,
                  '    command: ["/bin/sleep", "10000%s%d"]' % (t, i)]
    return "\n".join(lines) + "\n"


def big_manifest(n):
    lines = ["version: v1beta2", "id: big", "containers:"]
    for i in range(n):
        lines += ["  - name: c%d" % i, "    image: %s" % IMAGE, '    command: ["/bin/sh", "-c", "sleep %d"]' % i,
                  "    workingDir: /tmp",
                  "    ports: [{containerPort: %d, hostPort: %d, protocol: TCP}]" % (1000 + i, 20000 + i),
                  "    env:"]
        lines += ["      - {name: VAR_%d_%d, value: 'value %d %d'}" % (i, k, i, k) for k in range(20)]
        lines += ["    volumeMounts: [{name: data, mountPath: /data%d}]" % i,
                  "    livenessProbe: {httpGet: {path: /healthz, port: %d}, initialDelaySeconds: 1}" % (1000 + i)]
    lines += ["volumes:", "  - name: data", "    source: {emptyDir: {}}"]
    return "\n".join(lines) + "\n"


# --- running and timing -----------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.a = args
        self.podhook = args.podhook
        self.tmp = tempfile.mkdtemp(prefix="phbench.")
        self.env = dict(os.environ, PODHOOK_STATE_DIR=self.tmp + "/state", PODHOOK_RUN_DIR=self.tmp + "/run",
                        DOCKER_HOST="unix://" + DOCKER_SOCK)
        self.penv = dict(self.env, DOCKER_HOST="unix://" + PODMAN_SOCK, PODHOOK_STATE_DIR=self.tmp + "/pstate")
        self.docker = Engine(DOCKER_SOCK)
        self.podman = Engine(PODMAN_SOCK)
        self.results = {}   # case -> tool -> [seconds per round]
        self.notes = {}     # case -> text
        self.extra = {}     # free-form figures
        self.infra_image = None
        self.compose = shutil.which("docker-compose")
        self.has_podman = os.path.exists(PODMAN_SOCK) and shutil.which("podman") and not args.no_podman

    def run(self, argv, env=None, check=True, quiet=True):
        t = time.perf_counter()
        p = subprocess.run(argv, env=env or self.env, stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        dt = time.perf_counter() - t
        if check and p.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()[-400:]))
        return dt

    def timed(self, fn):
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    def record(self, case, tool, seconds):
        self.results.setdefault(case, {}).setdefault(tool, []).append(seconds)

    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    # clean-up by label / name prefix, never anything else's
    def cleanup(self):
        for eng, sock in ((self.docker, DOCKER_SOCK), (self.podman, PODMAN_SOCK)):
            if sock == PODMAN_SOCK and not self.has_podman:
                continue
            f = urllib.parse.quote(json.dumps({"name": [PREFIX]}))
            try:
                cs = eng.call("GET", "/containers/json?all=1&filters=" + f)
            except Exception:  # noqa: BLE001 - the engine may be gone
                continue
            cs = [c for c in cs if any(n.lstrip("/").startswith(PREFIX) for n in c["Names"])]
            # apps before infra containers (Podman refuses the other order)
            cs.sort(key=lambda c: "infra" in " ".join(c["Names"]))
            for c in cs:
                try:
                    eng.call("DELETE", "/containers/%s?v=false&force=true" % c["Id"], ok=(204, 404, 409))
                except Exception:  # noqa: BLE001
                    pass
        if self.has_podman:
            out = subprocess.run(PODMAN + ["pod", "ls", "--format", "{{.Name}}"], capture_output=True, text=True)
            for name in out.stdout.split():
                if name.startswith(PREFIX):
                    subprocess.run(PODMAN + ["pod", "rm", "-f", name], capture_output=True)

    def podhook_infra_image(self):
        # podhook imports its infra image on first use; the floor uses the same one
        pod = PREFIX + "-warm"
        path = self.write("warm.yaml", manifest(pod, 1, "1"))
        self.run([self.podhook, "apply", "--start-window", "0", path])
        self.run([self.podhook, "delete", pod])
        out = subprocess.run([self.podhook, "--version"], capture_output=True, text=True).stdout
        imgs = self.docker.call("GET", "/images/json")
        tags = [t for i in imgs for t in (i.get("RepoTags") or []) if t.startswith("podhook/infra:")]
        want = out.split()[-1] if out else ""
        tags.sort(key=lambda t: (not t.split(":")[1].startswith(want), t))
        self.infra_image = tags[0]

    # --- the cases --------------------------------------------------------------------------------

    def tools_for(self, case):
        t = ["podhook", "podhook-defaults", "floor-serial", "floor-overlapped", "docker-cli"]
        if self.compose:
            t.append("compose")
        if self.has_podman:
            t += ["podhook-on-podman", "podman-kube-play"]
        if case in ("noop",):
            t = ["podhook", "podhook-defaults", "curl-list", "floor-list"] + (["compose"] if self.compose else []) + \
                (["podhook-on-podman", "podman-kube-play"] if self.has_podman else [])
        if case == "one-of-six":
            t = [x for x in t if x != "docker-cli"]
        if case == "delete":
            t = [x for x in t if x != "podhook-defaults"]
        return t

    def pod_case(self, case, n, rnd):
        """One round of a pod case for every tool; each measurement starts from the state it needs."""
        tools = self.tools_for(case)
        k = rnd % len(tools)
        for tool in tools[k:] + tools[:k]:
            pod = "%s-%s-%d" % (PREFIX, tool, n)
            self.cleanup_pod(tool, pod, n)
            try:
                dt = self.one(case, tool, pod, n)
            except Exception as e:  # noqa: BLE001 - one tool's failure is reported, the run goes on
                dt = None
                msg = str(e).strip().splitlines()[-1][:300] if str(e).strip() else repr(e)
                self.notes.setdefault("%s-%d" % (case, n), {}).setdefault(tool, msg)
                print("  %s failed: %s" % (tool, msg), file=sys.stderr, flush=True)
            finally:
                self.cleanup_pod(tool, pod, n)
            if dt is not None:
                self.record("%s-%d" % (case, n), tool, dt)

    def cleanup_pod(self, tool, pod, n):
        if tool in ("podhook", "podhook-defaults"):
            self.run([self.podhook, "delete", pod], check=False)
        elif tool == "podhook-on-podman":
            self.run([self.podhook, "delete", pod], env=self.penv, check=False)
        elif tool == "compose":
            self.run([self.compose, "-p", pod.replace("-", ""), "-f", self.write(pod + ".yml", compose_file(n, "1")),
                      "down", "-t", "10", "--remove-orphans"], check=False)
        elif tool == "podman-kube-play":
            subprocess.run(PODMAN + ["pod", "rm", "-f", pod], capture_output=True)
        self.cleanup_prefix(pod)

    def cleanup_prefix(self, pod):
        for eng, ok in ((self.docker, True), (self.podman, self.has_podman)):
            if not ok:
                continue
            cs = eng.call("GET", "/containers/json?all=1")
            cs = [c for c in cs if any(x.lstrip("/").startswith(pod + ".") or x.lstrip("/").startswith(pod + "-") or
                                       x.lstrip("/").startswith(pod.replace("-", "") + "_") for x in c["Names"])]
            cs.sort(key=lambda c: "infra" in " ".join(c["Names"]))
            for c in cs:
                eng.call("DELETE", "/containers/%s?v=false&force=true" % c["Id"], ok=(204, 404, 409))

    def one(self, case, tool, pod, n):
        a = manifest(pod, n, "1")
        if case == "one-of-six":
            b = manifest(pod, n, "1", changed=(3,))
        else:
            b = manifest(pod, n, "2")
        pa, pb = self.write(pod + "-a.yaml", a), self.write(pod + "-b.yaml", b)
        ph = [self.podhook, "apply", "--start-window", "0"]
        if tool in ("podhook", "podhook-defaults", "podhook-on-podman"):
            env = self.penv if tool == "podhook-on-podman" else self.env
            cmd = ph if tool != "podhook-defaults" else [self.podhook, "apply"]
            if case == "cold":
                return self.run(cmd + [pa], env=env)
            self.run(ph + [pa], env=env)
            if case == "delete":
                return self.run([self.podhook, "delete", pod], env=env)
            return self.run(cmd + [pa if case == "noop" else pb], env=env)
        if tool.startswith("floor"):
            ov = tool == "floor-overlapped"
            fp = FloorPod(self.docker, pod, self.infra_image, n, "1")
            if case == "cold":
                return self.timed(lambda: fp.create(ov))
            fp.create(True)
            if case == "redeploy":
                return self.timed(lambda: fp.replace(list(range(n)), "2", ov))
            if case == "one-of-six":
                return self.timed(lambda: fp.replace([2], "19", ov))
            if case == "delete":
                return self.timed(lambda: fp.delete(ov))
            if case == "noop":
                f = urllib.parse.quote(json.dumps({"label": ["io.podhook.managed=1", "io.podhook.pod=" + pod]}))
                return self.timed(lambda: self.docker.call("GET", "/containers/json?all=1&filters=" + f))
        if tool == "curl-list":
            self.run(ph + [pa])
            f = urllib.parse.quote(json.dumps({"label": ["io.podhook.managed=1", "io.podhook.pod=" + pod]}))
            return self.run(["curl", "-sf", "--unix-socket", DOCKER_SOCK,
                             "http://localhost/v1.41/containers/json?all=1&filters=" + f])
        if tool == "floor-list":
            self.run(ph + [pa])
            f = urllib.parse.quote(json.dumps({"label": ["io.podhook.managed=1", "io.podhook.pod=" + pod]}))
            return self.timed(lambda: self.docker.call("GET", "/containers/json?all=1&filters=" + f))
        if tool == "docker-cli":
            return self.docker_cli(case, pod, n)
        if tool == "compose":
            proj = pod.replace("-", "")
            fa = self.write(pod + "-a.yml", compose_file(n, "1"))
            fb = self.write(pod + "-b.yml", compose_file(n, "1", changed=(3,)) if case == "one-of-six"
                            else compose_file(n, "2"))
            up = [self.compose, "-p", proj, "-f"]
            if case == "cold":
                return self.run(up + [fa, "up", "-d"])
            self.run(up + [fa, "up", "-d"])
            if case == "delete":
                return self.run(up + [fa, "down", "-t", "10"])
            return self.run(up + [fa if case == "noop" else fb, "up", "-d"])
        if tool == "podman-kube-play":
            ka = self.write(pod + "-a.kube.yaml", kube_file(pod, n, "1"))
            kb = self.write(pod + "-b.kube.yaml", kube_file(pod, n, "1", changed=(3,)) if case == "one-of-six"
                            else kube_file(pod, n, "2"))
            if case == "cold":
                return self.run(PODMAN + ["kube", "play", ka])
            self.run(PODMAN + ["kube", "play", ka])
            if case == "delete":
                return self.run(PODMAN + ["kube", "down", ka])
            return self.run(PODMAN + ["kube", "play", "--replace", ka if case == "noop" else kb])
        return None

    def docker_cli(self, case, pod, n):
        d = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
        lab = ["--label", LABEL + "=cli"]

        def run_app(i, tag):
            return [d, "run", "-d", "--init", "--restart", "always", "--name", "%s.app%d" % (pod, i), "--network",
                    "container:%s._infra" % pod] + lab + [IMAGE, "/bin/sleep", "10000%s%d" % (tag, i)]

        def create():
            self.run([d, "run", "-d", "--init", "--restart", "always", "--name", pod + "._infra"] + lab +
                     [self.infra_image])
            for i in range(1, n + 1):
                self.run(run_app(i, "1"))
        if case == "cold":
            return self.timed(create)
        create()
        if case == "redeploy":
            def redeploy():
                for i in range(1, n + 1):
                    self.run([d, "rm", "-f", "%s.app%d" % (pod, i)])
                    self.run(run_app(i, "2"))
            return self.timed(redeploy)
        if case == "delete":
            names = ["%s.app%d" % (pod, i) for i in range(1, n + 1)]
            return self.timed(lambda: (self.run([d, "rm", "-f"] + names), self.run([d, "rm", "-f", pod + "._infra"])))
        return None

    # --- the cases that are not pods of one tool each ---------------------------------------------

    def many_pods(self, count):
        names = ["%s-many%03d" % (PREFIX, i) for i in range(count)]
        paths = [self.write(n + ".yaml", manifest(n, 1, "1")) for n in names]
        # made 8 at a time: only the idle figures count
        procs = []
        for p in paths:
            procs.append(subprocess.Popen([self.podhook, "apply", "--start-window", "0", p], env=self.env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            if len(procs) >= 8:
                procs.pop(0).wait()
        for p in procs:
            p.wait()
        ps, one, allp, curl = [], [], [], []
        f = urllib.parse.quote(json.dumps({"label": ["io.podhook.managed=1"]}))
        for _ in range(self.a.rounds):
            ps.append(self.run([self.podhook, "ps"]))
            curl.append(self.run(["curl", "-sf", "--unix-socket", DOCKER_SOCK,
                                  "http://localhost/v1.41/containers/json?all=1&filters=" + f]))
            one.append(self.run([self.podhook, "apply", "--start-window", "0", paths[0]]))
        t = time.perf_counter()
        for p in paths:
            self.run([self.podhook, "apply", "--start-window", "0", p])
        allp.append(time.perf_counter() - t)
        self.results["100-pods"] = {"podhook ps": ps, "curl list (all podhook containers)": curl,
                                    "podhook apply, one pod of 100 (no-op)": one,
                                    "podhook apply of each of the 100 (one pass, 100 processes)": allp}
        procs = []
        for n in names:
            procs.append(subprocess.Popen([self.podhook, "delete", n], env=self.env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            if len(procs) >= 8:
                procs.pop(0).wait()
        for p in procs:
            p.wait()

    def validation(self):
        path = self.write("big.yaml", big_manifest(self.a.big))
        ts = [self.run([self.podhook, "validate", path]) for _ in range(self.a.rounds)]
        self.results["validate"] = {"podhook validate (%d containers, %d KiB)" % (self.a.big, os.path.getsize(path) // 1024): ts}
        if shutil.which("valgrind"):
            out = os.path.join(self.tmp, "callgrind.out")
            p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, self.podhook,
                                "validate", path], capture_output=True, text=True, env=self.env)
            ir = [l for l in p.stderr.splitlines() if "Collected" in l]
            self.extra["validate instructions (callgrind Ir)"] = ir[0].split()[-1] if ir else "?"
            p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, self.podhook,
                                "--version"], capture_output=True, text=True)
            ir = [l for l in p.stderr.splitlines() if "Collected" in l]
            self.extra["--version instructions (callgrind Ir)"] = ir[0].split()[-1] if ir else "?"

    def version(self):
        r = {"podhook --version": [], "curl --version": []}
        for i in range(self.a.rounds * 10):
            order = [("podhook --version", [self.podhook, "--version"]), ("curl --version", ["curl", "--version"])]
            for name, argv in (order if i % 2 == 0 else order[::-1]):
                r[name].append(self.run(argv))
        self.results["version"] = r

    def idle(self):
        seconds = self.a.idle
        srv = MetadataServer()
        srv.start()
        url = "http://127.0.0.1:%d/md" % srv.port
        out = {}
        boot = self.write("boot.json", json.dumps({"collectors": ["request"], "request": {"metadata_url": url}}))
        agent = [self.podhook, "agent", "--bootstrap", boot, "--state-dir", self.tmp + "/agent", "--occ-config", "",
                 "--config", "", "--interval", "1", "--min-interval", "1", "--log-level", "warning"]
        out["podhook agent"] = self.measure_idle(agent, srv, seconds, self.env)
        occ = shutil.which("os-collect-config")
        if occ:
            cmd = [occ, "--config-file", "/dev/null", "--cachedir", self.tmp + "/occ-cache", "--polling-interval", "1",
                   "--min-polling-interval", "1", "--request-metadata-url", url, "--command", "/bin/true",
                   "request"]
            out["os-collect-config"] = self.measure_idle(cmd, srv, seconds, dict(os.environ))
        srv.stop()
        self.idle_results = out

    def measure_idle(self, argv, srv, seconds, env):
        os.makedirs(self.tmp + "/agent", exist_ok=True)
        os.makedirs(self.tmp + "/occ-cache", exist_ok=True)
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(3)  # start-up and the first poll are not the idle state
            hz = os.sysconf("SC_CLK_TCK")
            c0, r0, m0, t0 = cpu_ticks(p.pid), srv.count, srv.not_modified, time.monotonic()
            time.sleep(seconds)
            c1, r1, m1, t1 = cpu_ticks(p.pid), srv.count, srv.not_modified, time.monotonic()
            mem = smaps_rollup(p.pid)
        finally:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        polls = max(1, round(t1 - t0))
        return {"rss_kb": mem.get("Rss", 0), "pss_kb": mem.get("Pss", 0),
                "cpu_pct": 100.0 * (c1 - c0) / hz / (t1 - t0), "requests": r1 - r0,
                "requests_per_poll": (r1 - r0) / polls, "not_modified": m1 - m0, "seconds": t1 - t0}


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def smaps_rollup(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1])
    return out


class MetadataServer:
    """Serves one metadata document with an ETag and Last-Modified; counts requests and 304s."""
    BODY = json.dumps({"deployments": []}).encode()
    ETAG = '"bench-1"'
    LAST_MODIFIED = "Tue, 01 Dec 2026 00:00:00 GMT"

    def __init__(self):
        self.count = 0
        self.not_modified = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - the stdlib's name
                outer.count += 1
                if self.headers.get("If-None-Match") == outer.ETAG or \
                        self.headers.get("If-Modified-Since") == outer.LAST_MODIFIED:
                    outer.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", outer.ETAG)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.BODY)))
                self.send_header("ETag", outer.ETAG)
                self.send_header("Last-Modified", outer.LAST_MODIFIED)
                self.end_headers()
                self.wfile.write(outer.BODY)

            def log_message(self, *a):
                pass
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]

    def start(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


# --- the report -------------------------------------------------------------------------------------

CASES = [("cold", 2, "cold apply, 2 containers"), ("cold", 6, "cold apply, 6 containers"),
         ("redeploy", 6, "redeploy, every app of 6 changed"), ("noop", 6, "re-apply, nothing changed (6)"),
         ("one-of-six", 6, "one container of six changed"), ("delete", 6, "delete (6)")]


def med(v):
    return statistics.median(v) if v else float("nan")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def ver(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001 - a tool that is missing
            return "not installed"
    return [("machine", "%s, %d CPUs, %s, kernel %s" % (cpu, os.cpu_count(), meminfo(), platform.release())),
            ("podhook", ver([ARGS.podhook, "--version"]) + " (release build)"),
            ("Docker Engine", ver(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"])),
            ("docker-compose", ver(["docker-compose", "version", "--short"])),
            ("podman", ver(["podman", "--version"])),
            ("os-collect-config", ver(["dpkg-query", "-W", "-f", "${Version}", "os-collect-config"])),
            ("curl", ver(["curl", "--version"])),
            ("python (floor client)", platform.python_version())]


def meminfo():
    with open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
    return "%.0f GiB RAM" % (kb / 1024 / 1024)


def report(b, started, elapsed):
    out = []
    out.append("# Benchmarks\n")
    out.append("Made by `tools/bench.sh` (%s rounds, %s); every figure of one table comes from the same run, "
               "the tools interleaved round by round. Times are medians in milliseconds; a ratio is the median "
               "of podhook's time over the reference's in the same round (below 1: podhook is faster). "
               "`podhook` runs with `--start-window 0` (the floor checks nothing either); `podhook-defaults` "
               "is the default 2 s start window, its cost reported beside.\n" % (ARGS.rounds, started))
    out.append("| | |\n|---|---|")
    for k, v in machine():
        out.append("| %s | %s |" % (k, v))
    out.append("\nThe floor is the Engine API calls alone, made by a minimal client in the benchmark's own "
               "process (no process start-up, no checks, one request per connection): `floor-serial` one "
               "after another, `floor-overlapped` with the calls that do not depend on each other made "
               "together, in podhook's layout (the apps join an infra container's network; a replaced app "
               "is renamed aside and stopped while its successor is created, which is started, then the old "
               "one removed). "
               "`docker-cli` is one `docker run` (or `rm -f`) per container; `compose` is Debian's "
               "docker-compose with `network_mode: service:infra`; Podman's figures run on Podman's own "
               "engine (`podhook-on-podman` is podhook against Podman's Docker-compatible service), beside "
               "`podman kube play --replace` of the same pod as a v1 Pod.\n")
    summary = []
    for case, n, title in CASES:
        key = "%s-%d" % (case, n)
        res = b.results.get(key)
        if not res:
            continue
        out.append("\n## %s\n" % title)
        ph = res.get("podhook", [])
        ref_tool = "podhook-on-podman"
        out.append("| tool | median ms | podhook / tool (paired) |\n|---|---:|---:|")
        for tool, ts in res.items():
            base = res.get(ref_tool) if tool == "podman-kube-play" else ph
            ratios = [x / y for x, y in zip(base, ts) if y > 0]
            out.append("| %s | %.1f | %s |" % (tool, med(ts) * 1000,
                                               "%.2f×" % med(ratios) if tool not in ("podhook",) and ratios else ""))
        for tool, msg in b.notes.get(key, {}).items():
            out.append("\n%s failed here (its rounds left out): `%s`" % (tool, msg.replace("`", "'")))
        summary.append((title, res))
    for key, title in (("100-pods", "100 pods present, nothing to do"), ("validate", "validation of a large manifest"),
                       ("version", "start-up")):
        res = b.results.get(key)
        if not res:
            continue
        out.append("\n## %s\n" % title)
        out.append("| what | median ms |\n|---|---:|")
        for tool, ts in res.items():
            out.append("| %s | %.1f |" % (tool, med(ts) * 1000))
    if b.extra:
        out.append("\n| figure | value |\n|---|---:|")
        for k, v in b.extra.items():
            out.append("| %s | %s |" % (k, v))
    if getattr(b, "idle_results", None):
        out.append("\n## agent idle (1 s interval, local metadata server, %d s)\n" % ARGS.idle)
        out.append("| agent | RSS MB | PSS MB | CPU % | requests/poll | answered 304 |\n|---|---:|---:|---:|---:|---:|")
        for k, v in b.idle_results.items():
            out.append("| %s | %.1f | %.1f | %.3f | %.2f | %d of %d |" % (
                k, v["rss_kb"] / 1024, v["pss_kb"] / 1024, v["cpu_pct"], v["requests_per_poll"], v["not_modified"],
                v["requests"]))
    out.append("\nThe whole run took %.0f s.\n" % elapsed)
    return "\n".join(out) + "\n", targets(b)


def ratio(b, key, tool, ref):
    res = b.results.get(key, {})
    x, y = res.get(tool, []), res.get(ref, [])
    rs = [p / q for p, q in zip(x, y) if q > 0]
    return med(rs) if rs else None


def targets(b):
    """(target, figure, met) rows."""
    rows = []

    def add(what, value, limit, fmt="%.2f×", less=True):
        if value is None:
            rows.append((what, "not measured", "-"))
            return
        rows.append((what, fmt % value, "yes" if (value <= limit if less else value >= limit) else "no"))
    add("cold apply 2 ≤ 1.05× overlapped floor", ratio(b, "cold-2", "podhook", "floor-overlapped"), 1.05)
    add("cold apply 6 ≤ 1.05× overlapped floor", ratio(b, "cold-6", "podhook", "floor-overlapped"), 1.05)
    add("redeploy ≤ 1.05× overlapped floor", ratio(b, "redeploy-6", "podhook", "floor-overlapped"), 1.05)
    for key in ("cold-2", "cold-6", "redeploy-6"):
        r = ratio(b, key, "compose", "podhook")
        add("%s ≥ 2× faster than compose" % key, r, 2.0, fmt="%.2f× faster", less=False)
    add("no-op re-apply ≤ 1.5× a curl list", ratio(b, "noop-6", "podhook", "curl-list"), 1.5)
    add("one of six ≤ 1.2× the raw calls (overlapped)", ratio(b, "one-of-six-6", "podhook", "floor-overlapped"), 1.2)
    ps = b.results.get("100-pods", {}).get("podhook ps")
    add("100 idle pods: podhook ps < 200 ms", med(ps) * 1000 if ps else None, 200, fmt="%.0f ms")
    v = b.results.get("version", {})
    if v:
        rs = [p / q for p, q in zip(v["podhook --version"], v["curl --version"]) if q > 0]
        add("--version ≤ 1.1× curl --version", med(rs), 1.1)
    idle = getattr(b, "idle_results", {}).get("podhook agent")
    if idle:
        add("idle agent RSS < 8 MB", idle["rss_kb"] / 1024, 8, fmt="%.1f MB")
        add("idle agent PSS < 3 MB", idle["pss_kb"] / 1024, 3, fmt="%.1f MB")
        add("idle agent CPU < 0.1 %", idle["cpu_pct"], 0.1, fmt="%.3f %%")
        add("idle agent polls are conditional", idle["not_modified"] / max(1, idle["requests"]), 0.9,
            fmt="%.0f%% answered 304", less=False)
        rows[-1] = (rows[-1][0], "%d%% answered 304" % round(100 * idle["not_modified"] / max(1, idle["requests"])),
                    rows[-1][2])
    return rows


ARGS = None


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--podhook", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--big", type=int, default=200, help="containers in the large manifest")
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="comma-separated: pods,many,validate,version,idle")
    ap.add_argument("--no-podman", action="store_true")
    ARGS = ap.parse_args()
    only = set(x for x in ARGS.only.split(",") if x)
    b = Bench(ARGS)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.monotonic()
    engine = not only or "pods" in only or "many" in only
    try:
        if engine:
            b.cleanup()
            b.podhook_infra_image()
        if not only or "pods" in only:
            for rnd in range(ARGS.rounds):
                for case, n, title in CASES:
                    print("round %d/%d: %s" % (rnd + 1, ARGS.rounds, title), file=sys.stderr, flush=True)
                    b.pod_case(case, n, rnd)
        if not only or "many" in only:
            print("%d pods present" % ARGS.pods, file=sys.stderr, flush=True)
            b.many_pods(ARGS.pods)
        if not only or "validate" in only:
            b.validation()
        if not only or "version" in only:
            b.version()
    finally:
        if engine:
            b.cleanup()
    if not only or "idle" in only:
        print("agent idle, %d s each" % ARGS.idle, file=sys.stderr, flush=True)
        b.idle()
    text, rows = report(b, started, time.monotonic() - t0)
    tbl = ["\n## Targets\n", "| target | this run | met |", "|---|---:|:---:|"]
    tbl += ["| %s | %s | %s |" % r for r in rows]
    text = text + "\n".join(tbl) + "\n"
    with open(ARGS.out, "w") as f:
        f.write(text)
    print(text)
    shutil.rmtree(b.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
