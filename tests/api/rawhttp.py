#!/usr/bin/python3
"""HTTP clients that curl cannot be, for api-server.sh. ADDR is HOST:PORT, [V6]:PORT or unix:/PATH.

  rawhttp.py headers-only ADDR PATH LENGTH WAIT   send a POST's headers announcing LENGTH body bytes and
                                                  no body; print the answer's status, or "none" if none
                                                  came within WAIT seconds
  rawhttp.py slow ADDR PATH LENGTH DELAY OUT      send LENGTH body bytes one at a time, DELAY seconds
                                                  apart; write "sending" to OUT.state at the first byte,
                                                  then the answer (status line and body) to OUT
  rawhttp.py idle ADDR N WAIT OUT                 open N connections that send nothing; write "open" to
                                                  OUT.state once all are connected, then after at most
                                                  WAIT seconds the number the server closed to OUT
  rawhttp.py stale-socket PATH                    leave a unix socket file nobody listens on
"""
import os
import socket
import sys
import time


def connect(addr, timeout):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr[5:])
        return s
    host, port = addr.rsplit(":", 1)
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host.strip("[]"), int(port)))
    return s


def read_answer(s):
    """The whole answer (the server closes, or Content-Length says it is complete)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and len(body) >= int(value):
                    return data
    return data


def write_file(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def headers(path, length):
    return ("POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: %d\r\n\r\n" % (path, length)).encode()


def headers_only(addr, path, length, wait):
    s = connect(addr, float(wait))
    s.sendall(headers(path, int(length)))
    answer = read_answer(s)
    print(answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "none")


def slow(addr, path, length, delay, out):
    s = connect(addr, 30)
    s.sendall(headers(path, int(length)))
    for i in range(int(length)):
        s.sendall(b"x")
        if i == 0:
            write_file(out + ".state", "sending\n")
        time.sleep(float(delay))
    answer = read_answer(s)
    write_file(out, answer.decode(errors="replace"))


def idle(addr, n, wait, out):
    socks = [connect(addr, float(wait)) for _ in range(int(n))]
    write_file(out + ".state", "open\n")
    deadline = time.monotonic() + float(wait)
    closed = 0
    for s in socks:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if s.recv(1) == b"":
                closed += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed += 1
    write_file(out, "%d\n" % closed)


def stale_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


if __name__ == "__main__":
    commands = {"headers-only": headers_only, "slow": slow, "idle": idle, "stale-socket": stale_socket}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
