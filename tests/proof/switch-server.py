#!/usr/bin/env python3
# A signal endpoint whose answer is switched from outside: each request reads MODE_FILE ("500", "503",
# "ok"; missing: ok) and is answered so; each is logged as "<code> <method> <path>" (appended, flushed
# before the answer goes out). Listens on 127.0.0.1:PORT (given: the test knows the URL before the
# endpoint is up).
#   switch-server.py PORT MODE_FILE LOG
import http.server
import sys
import threading

port, mode_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        try:
            mode = open(mode_file).read().strip()
        except FileNotFoundError:
            mode = 'ok'
        code = int(mode) if mode.isdigit() else 200
        with lock, open(log_file, 'a') as f:
            f.write('%d %s %s\n' % (code, self.command, self.path))
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()

    do_PUT = do_POST

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.allow_reuse_address = True
srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
srv.daemon_threads = True
srv.serve_forever()
