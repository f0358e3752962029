#!/usr/bin/env python3
# A stand-in signal endpoint for the agent tests: answers the first N requests with 503, then 200,
# and appends "<method> <path> <body>" of each request to a log. Binds port 0 and writes the port.
#   signal-server.py PORT_FILE LOG_FILE FAILURES
import http.server
import sys

port_file, log_file, failures = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        global seen
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode()
        seen += 1
        with open(log_file, 'a') as f:
            f.write('%s %s %s\n' % (self.command, self.path, body))
        code = 503 if seen <= failures else 200
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()

    do_POST = answer
    do_PUT = answer

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(('127.0.0.1', 0), Handler)
with open(port_file + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + '.tmp', port_file)
srv.serve_forever()
