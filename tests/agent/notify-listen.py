#!/usr/bin/env python3
# systemd's side of the notify protocol for the tests: binds a datagram socket at PATH, as the service
# manager does for NOTIFY_SOCKET, and appends each datagram to LOG as "<time> <line>" per line of it
# (flushed at once). Runs until killed.
#   notify-listen.py PATH LOG
import os
import socket
import sys
import time

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path + '.tmp')
os.rename(path + '.tmp', path)
with open(log, 'a') as f:
    while True:
        data = s.recv(65536)
        now = time.time()
        for line in data.decode(errors='replace').split('\n'):
            if line:
                f.write('%.3f %s\n' % (now, line))
        f.flush()
