#!/usr/bin/env python3
# A stand-in signal endpoint for the agent's durability tests; what it answers is chosen by the path:
#   /ok/...                 200
#   /slow/<ms>/...          200 after <ms> milliseconds
#   /status/<code>/...      <code>, always
#   /redirect/<code>/<rest> <code> with "Location: /<rest>" (same origin)
#   /away/...               302 to http://localhost:<port>/ok/... (another host name)
#   /big/<limit>/...        413 when the body is longer than <limit> bytes, else 200
# Each request is logged as one line "<time> <method> <path> <body length> <body>" (appended, flushed
# before the answer goes out). Binds 127.0.0.1 port 0 and writes the port to PORT_FILE.
#   signal-lab.py PORT_FILE LOG_FILE
import http.server
import os
import sys
import threading
import time

port_file, log_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def answer(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        with lock, open(log_file, 'ab') as f:
            f.write(b'%.3f %s %s %d ' % (time.time(), self.command.encode(), self.path.encode(), len(body)))
            f.write(body.replace(b'\n', b' ') + b'\n')
        parts = self.path.split('?')[0].split('/')
        kind = parts[1] if len(parts) > 1 else ''
        code, headers = 200, {}
        if kind == 'slow':
            time.sleep(int(parts[2]) / 1000.0)
        elif kind == 'status':
            code = int(parts[2])
        elif kind == 'redirect':
            code = int(parts[2])
            headers['Location'] = '/' + '/'.join(parts[3:])
        elif kind == 'away':
            code = 302
            headers['Location'] = 'http://localhost:%d/ok/%s' % (self.server.server_address[1], '/'.join(parts[2:]))
        elif kind == 'big' and len(body) > int(parts[2]):
            code = 413
        try:
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header('Content-Length', '0')
            self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_POST = answer
    do_PUT = answer
    do_GET = answer  # a metadata source that is slow to answer: /slow/<ms>/...

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
srv.daemon_threads = True
with open(port_file + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + '.tmp', port_file)
srv.serve_forever()
