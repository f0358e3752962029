#!/usr/bin/python3
"""A stand-in for a kubelet's read-only /pods endpoint, for the kubelet backend's tests (no kubelet runs
here). It reads the static-pod directory as a kubelet does (every file not starting with '.', not
recursing, YAML or JSON, one Pod each) and answers GET /pods with a v1 PodList shaped as the kubelet's:
the Pod named <name>-<node>, namespace default, the file's labels and annotations plus kubernetes.io/config.
hash/seen/source, the spec with the kubelet's defaults, and a status scripted by the scenario, in time
since the kubelet first saw that content:

  running     Pending (ContainerCreating, no imageID) for --delay seconds, then Running, all ready
  crashloop   Pending, then Running with every container waiting in CrashLoopBackOff (lastState terminated)
  imagepull   Pending with ErrImagePull, later ImagePullBackOff
  silent      accepts connections and never answers

  fake-kubelet.py --dir D --port-file F --scenario S [--node N] [--delay SECONDS] [--record DIR]

--record writes every answer to DIR/answer-<n>.json (the test checks each with the Kubernetes schema).
--tls-cert/--tls-key serve https, as the kubelet's port 10250 does; --client-ca then asks every client
for a certificate signed by that CA (the kubelet's --client-ca-file) and refuses the others.
"""
import argparse
import datetime
import hashlib
import http.server
import json
import os
import socket
import ssl
import threading
import time

import yaml

NODE_IP = "10.88.0.1"
POD_IP = "10.88.0.17"


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Kubelet:
    def __init__(self, args):
        self.args = args
        self.seen = {}  # uid -> first time the content was read
        self.lock = threading.Lock()
        self.answers = 0

    def read_dir(self):
        """The Pods of the directory, as pkg/kubelet/config/file.go reads it."""
        pods = []
        for fname in sorted(os.listdir(self.args.dir)):
            if fname.startswith("."):
                continue
            path = os.path.join(self.args.dir, fname)
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            try:
                with open(path, "rb") as f:
                    text = f.read(10 * 1024 * 1024)
                pod = yaml.safe_load(text)
            except (OSError, yaml.YAMLError):
                continue
            if not isinstance(pod, dict) or pod.get("kind") != "Pod" or not isinstance(pod.get("metadata"), dict):
                continue  # the kubelet logs and skips a file that is no Pod
            pods.append((path, text, pod))
        return pods

    def defaults(self, path, text, pod):
        """applyDefaults: the UID from the content, node and path; name, namespace, annotations."""
        uid = hashlib.md5(text + b"host:" + self.args.node.encode() + b"file:" + path.encode()).hexdigest()
        with self.lock:
            first = self.seen.setdefault(uid, time.time())
        meta = pod["metadata"]
        out = {
            "name": f"{meta['name']}-{self.args.node}",
            "namespace": meta.get("namespace", "default"),
            "uid": uid,
            "creationTimestamp": None,
            "annotations": dict(meta.get("annotations") or {}),
        }
        if meta.get("labels"):
            out["labels"] = dict(meta["labels"])
        out["annotations"].update({
            "kubernetes.io/config.hash": uid,
            "kubernetes.io/config.seen": datetime.datetime.fromtimestamp(first, datetime.timezone.utc).isoformat(),
            "kubernetes.io/config.source": "file",
        })
        spec = dict(pod.get("spec") or {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("securityContext", {})
        spec.setdefault("enableServiceLinks", True)
        spec["nodeName"] = self.args.node
        spec["tolerations"] = [{"operator": "Exists", "effect": "NoExecute"}]
        spec["priority"] = 0
        containers = []
        for c in spec.get("containers") or []:
            c = dict(c)
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("imagePullPolicy", "IfNotPresent")
            c.setdefault("resources", {})
            containers.append(c)
        spec["containers"] = containers
        return {"metadata": out, "spec": spec}, first

    def status(self, spec, uid, first, name):
        """The scripted status at this moment."""
        age = time.time() - first
        start = rfc3339(first)
        scenario = self.args.scenario
        started = age >= self.args.delay
        cond = lambda t, ok, reason=None: dict(
            {"type": t, "status": "True" if ok else "False", "lastProbeTime": None, "lastTransitionTime": start},
            **({"reason": reason} if reason and not ok else {}))
        statuses = []
        ready = started and scenario == "running"
        for i, c in enumerate(spec["containers"]):
            cid = "docker://" + hashlib.sha256(f"{uid}/{c['name']}".encode()).hexdigest()
            image_id = "docker-pullable://" + c["image"].split(":")[0] + "@sha256:" + \
                hashlib.sha256(c["image"].encode()).hexdigest()
            s = {"name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
                 "started": False, "lastState": {}}
            if not started:
                s["state"] = {"waiting": {"reason": "ContainerCreating"}}
            elif scenario == "running":
                s.update(state={"running": {"startedAt": rfc3339(first + self.args.delay)}}, ready=True,
                         started=True, imageID=image_id, containerID=cid)
            elif scenario == "crashloop":
                restarts = 1 + int(age - self.args.delay)
                s.update(imageID=image_id, containerID=cid, restartCount=restarts, state={"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 10s restarting failed container={c['name']} "
                               f"pod={name}_default({uid})"}},
                    lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": start,
                                              "finishedAt": rfc3339(time.time()), "containerID": cid}})
            elif scenario == "imagepull":
                back_off = age - self.args.delay > 1.0
                s["state"] = {"waiting": {
                    "reason": "ImagePullBackOff" if back_off else "ErrImagePull",
                    "message": f'Back-off pulling image "{c["image"]}"' if back_off else
                               f'rpc error: code = Unknown desc = Error response from daemon: pull access denied '
                               f'for {c["image"].split(":")[0]}, repository does not exist'}}
            statuses.append(s)
        phase = "Running" if started and scenario in ("running", "crashloop") else "Pending"
        status = {
            "phase": phase,
            "conditions": [cond("Initialized", True), cond("Ready", ready, "ContainersNotReady"),
                           cond("ContainersReady", ready, "ContainersNotReady"), cond("PodScheduled", True)],
            "hostIP": NODE_IP,
            "podIP": POD_IP,
            "podIPs": [{"ip": POD_IP}],
            "startTime": start,
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        }
        return status

    def pod_list(self):
        items = []
        for path, text, pod in self.read_dir():
            item, first = self.defaults(path, text, pod)
            item["status"] = self.status(item["spec"], item["metadata"]["uid"], first, item["metadata"]["name"])
            items.append(item)
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}


def serve_silent(args):
    """Accepts connections and never answers: a kubelet that hangs."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    write_port(args, s.getsockname()[1])
    held = []
    while True:
        conn, _ = s.accept()
        held.append(conn)


def write_port(args, port):
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, args.port_file)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--scenario", required=True, choices=["running", "crashloop", "imagepull", "silent"])
    p.add_argument("--node", default="node1")
    p.add_argument("--delay", type=float, default=0.6)
    p.add_argument("--record")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca")
    args = p.parse_args()
    if args.scenario == "silent":
        serve_silent(args)
        return
    kubelet = Kubelet(args)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            if self.path.split("?")[0] != "/pods":
                body = b"404 page not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            else:
                answer = kubelet.pod_list()
                body = json.dumps(answer).encode()
                with kubelet.lock:
                    kubelet.answers += 1
                    n = kubelet.answers
                if args.record:
                    with open(os.path.join(args.record, f"answer-{n}.json"), "wb") as f:
                        f.write(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    write_port(args, server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
