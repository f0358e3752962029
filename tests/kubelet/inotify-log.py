#!/usr/bin/python3
"""Logs what happens in a directory, as the kubelet's fsnotify watch sees it: one line per inotify event,
"<EVENT>[|<EVENT>...] <name>", flushed at once. Writes "ready" to READY_FILE once the watch is in place.

  inotify-log.py DIR LOG READY_FILE
"""
import ctypes
import ctypes.util
import os
import struct
import sys

IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
NAMES = [(IN_MODIFY, "IN_MODIFY"), (IN_ATTRIB, "IN_ATTRIB"), (IN_CLOSE_WRITE, "IN_CLOSE_WRITE"),
         (IN_MOVED_FROM, "IN_MOVED_FROM"), (IN_MOVED_TO, "IN_MOVED_TO"), (IN_CREATE, "IN_CREATE"),
         (IN_DELETE, "IN_DELETE")]
HEADER = struct.Struct("iIII")


def main():
    directory, log, ready = sys.argv[1:4]
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC)
    if fd < 0:
        sys.exit(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
    mask = 0
    for bit, _ in NAMES:
        mask |= bit
    if libc.inotify_add_watch(fd, directory.encode(), mask) < 0:
        sys.exit(f"inotify_add_watch {directory}: {os.strerror(ctypes.get_errno())}")
    with open(ready, "w") as f:
        f.write("ready\n")
    with open(log, "a", buffering=1) as out:
        while True:
            buf = os.read(fd, 65536)
            i = 0
            while i < len(buf):
                _, m, _, n = HEADER.unpack_from(buf, i)
                name = buf[i + HEADER.size:i + HEADER.size + n].rstrip(b"\0").decode(errors="replace")
                i += HEADER.size + n
                events = "|".join(s for bit, s in NAMES if m & bit)
                if events:
                    out.write(f"{events} {name}\n")


if __name__ == "__main__":
    main()
