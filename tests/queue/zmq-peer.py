"""Real libzmq peers (pyzmq) for queue-zmq.sh.

  zmq-peer.py send ENDPOINT FILE [--dealer] [--no-delimiter] [--timeout S] [--check-file PATH]
                                 [--kill PID]
                                 [--server-key Z85 --public Z85 --secret Z85]
      Sends FILE's bytes ("-": stdin) as one message; prints {"reply": ..., "file_present": ...}, where
      file_present says whether PATH existed at the moment the reply arrived (after PID got SIGKILL,
      with --kill). Exit 1: no reply in time (2: bad arguments, 3: anything else that went wrong).
  zmq-peer.py burst ENDPOINT PREFIX COUNT [--timeout S]
      COUNT deployments back to back from one DEALER, then their answers. Exit 1: fewer in time.
  zmq-peer.py sub ENDPOINT PREFIX COUNT [--timeout S] [--ready FILE] [curve options]
      Subscribes to PREFIX, prints each message as {"topic", "message"} (one line each) until COUNT have
      come; touches FILE once subscribed. Exit 1 when fewer came in time.
Keys are Z85 text, which may start with "-": give them as --server-key=KEY.
"""
import argparse
import json
import os
import signal
import sys
import time

import zmq


def curve(sock, a):
    if a.server_key:
        sock.curve_serverkey = a.server_key.encode()
        sock.curve_publickey = a.public.encode()
        sock.curve_secretkey = a.secret.encode()


def send(a, ctx):
    data = sys.stdin.buffer.read() if a.file == "-" else open(a.file, "rb").read()
    sock = ctx.socket(zmq.DEALER if a.dealer else zmq.REQ)
    sock.linger = 0
    curve(sock, a)
    sock.connect(a.endpoint)
    if a.dealer and not a.no_delimiter:
        sock.send_multipart([b"", data])
    elif a.dealer:
        sock.send(data)
    else:
        sock.send(data)
    if not sock.poll(int(a.timeout * 1000)):
        print(json.dumps({"reply": None}))
        return 1
    if a.kill:
        os.kill(a.kill, signal.SIGKILL)
    present = os.path.exists(a.check_file) if a.check_file else None
    frames = sock.recv_multipart()
    if a.dealer and not a.no_delimiter:
        assert frames[0] == b"", frames
        frames = frames[1:]
    assert len(frames) == 1, frames
    print(json.dumps({"reply": json.loads(frames[0]), "file_present": present}), flush=True)
    return 0


def burst(a, ctx):
    """COUNT deployments at once from one DEALER (ids PREFIX-0 ...), then every answer."""
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(a.endpoint)
    for i in range(a.count):
        d = {"id": "%s-%d" % (a.prefix, i), "name": "burst", "group": "docker",
             "inputs": [{"name": "deploy_action", "value": "CREATE"}]}
        sock.send_multipart([b"", json.dumps(d).encode()])
    deadline = time.monotonic() + a.timeout
    got = 0
    while got < a.count:
        left = deadline - time.monotonic()
        if left <= 0 or not sock.poll(int(left * 1000)):
            break
        frames = sock.recv_multipart()
        if json.loads(frames[-1]).get("accepted"):
            got += 1
    print(json.dumps({"answers": got}))
    return 0 if got == a.count else 1


def sub(a, ctx):
    sock = ctx.socket(zmq.SUB)
    sock.linger = 0
    curve(sock, a)
    sock.connect(a.endpoint)
    sock.setsockopt(zmq.SUBSCRIBE, a.prefix.encode())
    if a.ready:
        open(a.ready, "w").close()
    deadline = time.monotonic() + a.timeout
    got = 0
    while got < a.count:
        left = deadline - time.monotonic()
        if left <= 0 or not sock.poll(int(left * 1000)):
            return 1
        topic, msg = sock.recv_multipart()
        print(json.dumps({"topic": topic.decode(), "message": json.loads(msg)}), flush=True)
        got += 1
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["send", "sub", "burst"])
    p.add_argument("endpoint")
    p.add_argument("file_or_prefix")
    p.add_argument("count", nargs="?", type=int, default=1)
    p.add_argument("--dealer", action="store_true")
    p.add_argument("--no-delimiter", action="store_true")
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("--check-file")
    p.add_argument("--ready")
    p.add_argument("--kill", type=int)
    p.add_argument("--server-key")
    p.add_argument("--public")
    p.add_argument("--secret")
    a = p.parse_args()
    a.file = a.prefix = a.file_or_prefix
    ctx = zmq.Context()
    try:
        return {"send": send, "sub": sub, "burst": burst}[a.cmd](a, ctx)
    except Exception as e:  # not "nothing came": the tests that want nothing must not pass on this
        print("zmq-peer: %r" % e, file=sys.stderr)
        return 3
    finally:
        ctx.destroy(linger=0)


sys.exit(main())
