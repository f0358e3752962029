#!/usr/bin/env python3
# A metadata server that answers badly, chosen by the path (issue 12, hostile input):
#   /good/<id>                  a good document: one script deployment <id> (the control)
#   /big/<MB>                   <MB> MB of one JSON string, no Content-Length, streamed
#   /many/<MB>                  <MB> MB of valid JSON: {"deployments": [], "pad": [0,0,0,...]}
#   /deep/<N>                   <N> nested arrays
#   /drip                       200, then one byte every 0.2 s, for ever
#   /mute                       accepts and says nothing, for ever
#   /away/<rest>                302 to http://localhost:<port>/<rest> (another host name)
#   /same/<rest>                307 to /<rest> (the same origin)
#   /loop                       302 to /loop
#   /truncated                  a JSON document cut short
#   /array                      JSON, but not an object
#   /ids                        deployments whose ids hold path characters, and one good one ("idsok")
#   /nulid                      a deployment id with a NUL character
#   /bomb                       a docker deployment whose manifest is a YAML alias bomb
#   /cfn/<kind>                 CFN DescribeStackResource XML: good, unclosed, deep, entity, notjson,
#                               nul, big
# Every request is appended to LOG as "<method> <path>". Binds 127.0.0.1 port 0, writes the port to PORT_FILE.
#   hostile-server.py PORT_FILE LOG
import http.server
import json
import os
import sys
import threading
import time
from xml.sax.saxutils import escape

port_file, log_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()
CHUNK = b' ' * 65536


def script_dep(id):
    return {"id": id, "name": id, "group": "script", "config": "#!/bin/sh\necho ran %s >> \"$RUNS\"\n" % id,
            "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}], "outputs": []}


BOMB = '\n'.join(['version: v1beta2', 'a0: &a0 ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]'] +
                 ['a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]' % ((i, i) + (i - 1,) * 9)
                  for i in range(1, 10)] +
                 ['containers: [{name: c, image: "podhook.local/busybox:1", command: *a9}]']) + '\n'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def send(self, code, body=b'', ctype='application/json', headers=()):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, parts):
        """200 with a body of unknown length (the connection closes at its end)."""
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True
        for p in parts:
            self.wfile.write(p)

    def do_GET(self):
        with lock, open(log_file, 'a') as f:
            f.write('%s %s\n' % (self.command, self.path))
        parts = self.path.split('?')[0].split('/')[1:]
        kind, arg = parts[0], '/'.join(parts[1:])
        try:
            self.answer(kind, arg)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def answer(self, kind, arg):
        port = self.server.server_address[1]
        if kind == 'good':
            self.send(200, json.dumps({"deployments": [script_dep(arg)]}).encode())
        elif kind == 'big':
            n = int(arg) * 1024 * 1024 // len(CHUNK)
            self.stream([b'{"deployments": [], "pad": "'] + [CHUNK] * n + [b'"}'])
        elif kind == 'many':
            piece = b'0,' * (len(CHUNK) // 2)
            n = int(arg) * 1024 * 1024 // len(piece)
            self.stream([b'{"deployments": [], "pad": ['] + [piece] * n + [b'0]}'])
        elif kind == 'deep':
            self.send(200, b'[' * int(arg) + b']' * int(arg))
        elif kind == 'drip':
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', '100000')
            self.end_headers()
            self.wfile.write(b'{"deployments": [')
            while True:
                self.wfile.write(b' ')
                self.wfile.flush()
                time.sleep(0.2)
        elif kind == 'mute':
            time.sleep(3600)
        elif kind == 'away':
            self.send(302, headers=[('Location', 'http://localhost:%d/%s' % (port, arg))])
        elif kind == 'same':
            self.send(307, headers=[('Location', '/' + arg)])
        elif kind == 'loop':
            self.send(302, headers=[('Location', '/loop')])
        elif kind == 'truncated':
            self.send(200, json.dumps({"deployments": [script_dep('cut')]}).encode()[:-7])
        elif kind == 'array':
            self.send(200, b'[{"deployments": []}]')
        elif kind == 'ids':
            bad = ['../escape', 'a/b', '.hidden', '', '..', 'x' * 5000, '/abs', 'sp ace']
            self.send(200, json.dumps({"deployments": [script_dep(i) for i in bad] + [script_dep('idsok')]}).encode())
        elif kind == 'nulid':
            self.send(200, json.dumps({"deployments": [script_dep('nul\u0000byte')]}).encode())
        elif kind == 'bomb':
            d = {"id": "bomb1", "name": "phproof-bomb", "group": "docker", "config": BOMB,
                 "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}], "outputs": []}
            self.send(200, json.dumps({"deployments": [d]}).encode())
        elif kind == 'cfn':
            self.cfn(arg.strip('/'))
        else:
            self.send(404)

    def cfn(self, kind):
        meta = json.dumps({"deployments": [script_dep('cfnok')]})
        head = b'<DescribeStackResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">' \
               b'<DescribeStackResourceResult><StackResourceDetail>'
        tail = b'</StackResourceDetail></DescribeStackResourceResult></DescribeStackResourceResponse>'
        if kind == 'good':
            body = head + b'<Metadata>' + escape(meta).encode() + b'</Metadata>' + tail
        elif kind == 'unclosed':
            body = head + b'<Metadata>' + escape(meta).encode()
        elif kind == 'deep':
            body = head + b'<Metadata>' + b'<a>' * 200000 + b'</a>' * 200000 + b'</Metadata>' + tail
        elif kind == 'entity':
            ents = ''.join('<!ENTITY e%d "&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;">' % ((i,) + (i - 1,) * 10)
                           for i in range(1, 10))
            body = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "lol">%s]>' % ents).encode() + head + \
                b'<Metadata>&e9;</Metadata>' + tail
        elif kind == 'notjson':
            body = head + b'<Metadata>{"deployments": [</Metadata>' + tail
        elif kind == 'nul':
            body = head + b'<Metadata>{"deployments": []}\x00</Metadata>' + tail
        elif kind == 'big':
            self.stream([head, b'<Metadata>'] + [CHUNK] * 1600 + [b'</Metadata>', tail])
            return
        else:
            body = b'<oops'
        self.send(200, body, 'text/xml')

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
srv.daemon_threads = True
with open(port_file + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + '.tmp', port_file)
srv.serve_forever()
