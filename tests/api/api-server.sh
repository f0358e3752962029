#!/bin/bash
# The status API's server on the event loop (api-testd: the real server with test routes), driven by
# curl and by raw sockets (rawhttp.py) where curl cannot be the client: /healthz; 404, 405 with Allow;
# the bearer token missing, wrong and right, none configured, a token file group or others can read or
# someone else owns; JSON bodies malformed or missing (nothing changes); 413 from the headers alone,
# before any body byte, and for a chunked body that grows too large; a body where none is taken; a slow
# client sending byte by byte while other requests are answered at once; a job on a worker thread (a long
# apply) while the API answers; idle connections timed out and the connection limit; secrets hidden from
# answers; unix sockets (mode, a stale file replaced, a live one and a non-socket refused, removed at the
# end); loopback only; /metrics read by the real Prometheus parser. TAP.
#   api-server.sh API_TESTD TESTS_API_DIR
set -uo pipefail
testd=$1
here=$2
PY=/usr/bin/python3
raw() { "$PY" "$here/rawhttp.py" "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-api.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
        rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../agent/tap.sh
. "$here/../agent/tap.sh"

# start NAME ARGS...: api-testd with --ready $work/NAME.ready, logging to $work/NAME.log; waits until it
# serves and sets $addr (and $pid), or fails when it exits first.
start() {
        local name=$1
        shift
        "$testd" --ready "$work/$name.ready" "$@" >"$work/$name.log" 2>&1 &
        pid=$!
        pids+=("$pid")
        wait_for 10 test -s "$work/$name.ready" || return 1
        addr=$(cat "$work/$name.ready")
}
# stop PID: SIGTERM and wait for it.
stop() { kill "$1" && wait "$1"; }
# http METHOD URL ARGS...: prints the status code, the body goes to $work/body, headers to $work/headers.
http() {
        curl -s --max-time 10 -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$1" "${@:3}" "$2"
}
header() { grep -i "^$1:" "$work/headers" | cut -d' ' -f2- | tr -d '\r'; }
jq_true() { jq -e "$1" "$work/body" >/dev/null; }
# fast SECONDS URL ARGS...: the request is answered 200 within SECONDS.
fast() {
        local t
        t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "${@:3}" "$2") || return 1
        awk -v t="$t" -v max="$1" 'BEGIN { split(t, a, " "); exit !(a[1] == 200 && a[2] < max) }'
}

printf '  tok3n-Abc_123 \n' >"$work/token"
chmod 600 "$work/token"
auth=(-H 'Authorization: Bearer tok3n-Abc_123')

start main --api 127.0.0.1:0 --api-token-file "$work/token" --timeout 2 --connection-limit 8
check "the server starts on a free port" test -n "$addr"
check "and says where" grep -q "status API listening on $addr" "$work/main.log"
u=http://$addr

# Built in, and the refusals every route shares.
check "GET /healthz: 200" test "$(http GET "$u/healthz")" = 200
check "GET /healthz: {\"status\": \"ok\"}" jq_true '. == {"status": "ok"}'
check "GET /healthz: JSON" test "$(header Content-Type)" = application/json
check "HEAD /healthz: 200" test "$(curl -s -o /dev/null -w '%{http_code}' -I "$u/healthz")" = 200
check "an unknown path: 404" test "$(http GET "$u/v1/nothing")" = 404
check "404: a JSON error" jq_true '.error == "no such endpoint: /v1/nothing"'
check "a path with a trailing slash is another path: 404" test "$(http GET "$u/healthz/")" = 404
check "a known path, another method: 405" test "$(http DELETE "$u/healthz")" = 405
check "405: Allow lists the methods" test "$(header Allow)" = "GET, HEAD"
check "405: a JSON error" jq_true '.error == "/healthz takes GET, HEAD, not DELETE"'
check "a body where none is taken: 400" test "$(http GET "$u/healthz" --data-binary x)" = 400
check "400: says so" jq_true '.error == "GET /healthz takes no request body"'

# The token.
check "POST without a token: 401" test "$(http POST "$u/v1/things/a" -d '{"x": 1}')" = 401
check "401: WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$work/headers"
check "401: a JSON error" jq_true '.error | test("needs the API token")'
check "a wrong token: 401" test "$(http POST "$u/v1/things/a" -d '{"x": 1}' -H 'Authorization: Bearer tok3n-Abc_12')" = 401
check "wrong: says so" jq_true '.error == "wrong API token"'
check "another scheme: 401" test "$(http POST "$u/v1/things/a" -d '{"x": 1}' -H 'Authorization: Basic dG9rZW4=')" = 401
check "nothing was stored by refused requests" test "$(http GET "$u/v1/things")" = 200 -a "$(jq -c . "$work/body")" = '{}'
check "the right token (file trimmed): 201" test "$(http POST "$u/v1/things/a" -d '{"x": 1}' "${auth[@]}")" = 201
check "the scheme in lower case: 201" test "$(http POST "$u/v1/things/b" -d '[2]' -H 'authorization: bearer   tok3n-Abc_123 ')" = 201
check "GET /v1/things/a: what was stored" test "$(http GET "$u/v1/things/a")" = 200 -a "$(jq -c . "$work/body")" = '{"x":1}'
check "a handler's own header and a query argument" test "$(http GET "$u/v1/things?only=b")" = 200 -a "$(jq -c . "$work/body")" = '{"b":[2]}' -a "$(header X-Things-Count)" = 1

# Bodies that are not JSON where JSON is wanted change nothing.
check "malformed JSON: 400" test "$(http POST "$u/v1/things/a" -d '{"x": 2' "${auth[@]}")" = 400
check "400: a JSON error with line and column" jq_true '.error | test("^the body is not JSON: line 1, column [0-9]+")'
check "duplicate keys: 400" test "$(http POST "$u/v1/things/a" -d '{"x": 2, "x": 3}' "${auth[@]}")" = 400
check "no body: 400" test "$(http POST "$u/v1/things/a" "${auth[@]}")" = 400
check "400: says a body is needed" jq_true '.error == "POST /v1/things/a needs a JSON body"'
check "the thing is unchanged" test "$(http GET "$u/v1/things/a")" = 200 -a "$(jq -c . "$work/body")" = '{"x":1}'
check "DELETE with the token: 200" test "$(http DELETE "$u/v1/things/b" "${auth[@]}")" = 200
check "DELETE again: the handler's 404" test "$(http DELETE "$u/v1/things/b" "${auth[@]}")" = 404

# Paths: a %2F stays in the name (no extra segment), a dot segment is no name, bytes that are not UTF-8
# come back escaped in valid JSON.
check "%2F is not a segment boundary" test "$(http GET "$u/v1/things/a%2Fb")" = 404 -a "$(jq -r .error "$work/body")" = "no thing a%2Fb"
check "%61 is decoded" test "$(http GET "$u/v1/things/%61")" = 200
check "a dot segment is no name" test "$(http GET "$u/v1/things/.." --path-as-is)" = 404 -a "$(jq -r .error "$work/body")" = "no such endpoint: /v1/things/.."
check "a byte that is not UTF-8: escaped in valid JSON" test "$(http GET "$u/v1/things/%ff")" = 404 -a "$(jq -r .error "$work/body")" = 'no thing \xff'

# 413 from the headers: the announced length is refused before the body is read. The client sends
# the headers and no body at all: an answer proves nothing waited for one, as the same request within
# the limit, which gets none, shows.
check "Content-Length over 1 MiB, no body sent: 413 at once" test "$(raw headers-only "$addr" /v1/upload 1048577 5)" = 413
check "Content-Length within the limit, no body sent: no answer yet" test "$(raw headers-only "$addr" /v1/upload 1048576 1)" = none
head -c 2000000 /dev/urandom >"$work/big"
check "curl with a 2 MB body: 413" test "$(http POST "$u/v1/upload" --data-binary @"$work/big")" = 413
check "413: a JSON error" jq_true '.error == "request body of 2000000 bytes is larger than the limit of 1048576 bytes"'
check "a 2 MB chunked body: 413" test "$(http POST "$u/v1/upload" -H 'Transfer-Encoding: chunked' --data-binary @"$work/big")" = 413
check "chunked 413: a JSON error" jq_true '.error == "chunked request body of 2000000 bytes is larger than the limit of 1048576 bytes"'
check "413 on a token route is decided after the token: 401 without it" test "$(raw headers-only "$addr" /v1/things/x 2000000 5)" = 401
head -c 1000 /dev/urandom >"$work/small"
check "a small chunked body: 200" test "$(http POST "$u/v1/upload" -H 'Transfer-Encoding: chunked' --data-binary @"$work/small")" = 200
check "all of it arrived" test "$(jq -r .sha256 "$work/body")" = "sha256:$(sha256sum <"$work/small" | cut -d' ' -f1)"
check "no handler ran for a refused upload" test "$(http GET "$u/v1/stats")" = 200 -a "$(jq .uploads "$work/body")" = 1

# A slow client holds its connection, not the loop.
raw slow "$addr" /v1/upload 40 0.15 "$work/slow" &
slow_pid=$!
pids+=("$slow_pid")
check "the slow client has started its body" wait_for 5 test -s "$work/slow.state"
all_fast=true
for _ in 1 2 3 4 5; do fast 0.5 "$u/healthz" || all_fast=false; done
check "meanwhile /healthz is answered within 0.5 s, five times" $all_fast
check "while the slow body is still coming" test ! -e "$work/slow"
check "the slow client's request completes: 200" wait_for 10 grep -qs '^HTTP/1.1 200' "$work/slow"
check "with all 40 bytes" grep -q '"bytes": 40' "$work/slow"

# A long job on the worker thread (what an apply will be) leaves the API answering.
check "POST /v1/work: 202 at once" test "$(http POST "$u/v1/work" "${auth[@]}" --max-time 2)" = 202
check "the job runs" test "$(http GET "$u/v1/work")" = 200 -a "$(jq .busy "$work/body")" = true
check "during it /healthz is answered within 0.5 s" fast 0.5 "$u/healthz"
check "a second job is refused (409)" test "$(http POST "$u/v1/work" "${auth[@]}")" = 409
check "release it" test "$(http POST "$u/v1/work/release" "${auth[@]}")" = 200
job_idle() { test "$(http GET "$u/v1/work")" = 200 && test "$(jq .busy "$work/body")" = false; }
check "the job ends" wait_for 5 job_idle

# Idle connections: closed after the timeout (2 s here); at the connection limit (8) a new request
# waits for a free one.
raw idle "$addr" 8 8 "$work/idle" &
pids+=($!)
check "8 idle connections open" wait_for 5 test -s "$work/idle.state"
check "at the limit a request gets no answer within 1 s" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$u/healthz")" = 000
check "the server closes the idle ones" wait_for 10 test -s "$work/idle"
check "all 8 of them" test "$(cat "$work/idle")" = 8
check "then requests are answered again" fast 1 "$u/healthz"

# Secrets: a handler that put a password in its answer, by name and elsewhere by value.
check "GET /v1/secretive: 200" test "$(http GET "$u/v1/secretive")" = 200
check "the password is in no answer" test -z "$(grep -e Hunter2Hunter2 -e PlainPw99 "$work/body")"
check "its places say <redacted>" test "$(jq -r '.env[0], .note, .url' "$work/body" | grep -c '<redacted>')" = 3

# /metrics, read by the Prometheus client's own parser (metrics-check.py knows the counts of the
# requests above).
check "GET /v1/things once for the metrics" test "$(http GET "$u/v1/things")" = 200
check "GET /metrics: 200" test "$(http GET "$u/metrics")" = 200
check "in the text format 0.0.4" test "$(header Content-Type)" = "text/plain; version=0.0.4; charset=utf-8"
"$PY" "$here/metrics-check.py" <"$work/body" >"$work/metrics-check.out" 2>&1
rc=$?
if [ $rc = 77 ] && [ "${PODHOOK_REQUIRE_ALL:-0}" != 1 ]; then
        n=$((n + 1))
        echo "ok $n - the Prometheus parser reads /metrics # SKIP $(cat "$work/metrics-check.out")"
else
        check "the Prometheus parser reads /metrics as written" test $rc = 0
        [ $rc = 0 ] || sed 's/^/# /' "$work/metrics-check.out"
fi
check "the server logged no warning" test -z "$(grep -e '^warning' -e '^error' "$work/main.log")"
check "SIGTERM stops it" stop "$pid"

# No token file: every route that changes something is refused, others are served.
start notoken --api 127.0.0.1:0
u=http://$addr
check "without a token file: POST is 403" test "$(http POST "$u/v1/things/a" -d '{}' "${auth[@]}")" = 403
check "403: says a token file is needed" jq_true '.error | test("needs --api-token-file; none is configured")'
check "GET still answers" test "$(http GET "$u/v1/things")" = 200
stop "$pid"

# Token files that others can read, or that someone else owns, stop the start.
cp "$work/token" "$work/token644" && chmod 644 "$work/token644"
"$testd" --api 127.0.0.1:0 --ready "$work/bad.ready" --api-token-file "$work/token644" >"$work/bad.log" 2>&1
check "a token file of mode 0644: the start fails" test $? = 1
check "naming the file and its mode" grep -q "token file $work/token644 has mode 0644, must be 0600 or stricter" "$work/bad.log"
check "nothing listened" test ! -e "$work/bad.ready"
cp "$work/token" "$work/token-nobody" && chown 65534 "$work/token-nobody"
"$testd" --api 127.0.0.1:0 --ready "$work/bad.ready" --api-token-file "$work/token-nobody" >"$work/bad.log" 2>&1
check "a token file owned by someone else: the start fails" test $? = 1
check "naming the owner" grep -q "token file $work/token-nobody is owned by uid 65534, neither root nor the agent's uid $(id -u)" "$work/bad.log"

# Loopback only.
"$testd" --api 0.0.0.0:0 --ready "$work/bad.ready" >"$work/bad.log" 2>&1
check "0.0.0.0 is refused" test $? = 1
check "saying why" grep -q "API address 0.0.0.0:0 is not a loopback address: the API has no TLS" "$work/bad.log"
if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
        start v6 --api '[::1]:0'
        check "[::1]: answers" test "$(http GET "http://$addr/healthz")" = 200
        stop "$pid"
else
        n=$((n + 1))
        echo "ok $n - [::1] answers # SKIP no IPv6 loopback here"
fi

# Unix sockets.
sock=$work/api.sock
start unix1 --api "unix:$sock" --api-token-file "$work/token"
check "unix: the address is reported" test "$addr" = "unix:$sock"
check "unix: a socket of mode 0600" test "$(stat -c '%F %a' "$sock")" = "socket 600"
check "unix: GET /healthz" test "$(http GET http://localhost/healthz --unix-socket "$sock")" = 200
check "unix: POST with the token" test "$(http POST http://localhost/v1/things/u -d '{}' "${auth[@]}" --unix-socket "$sock")" = 201
unix1=$pid
"$testd" --api "unix:$sock" --ready "$work/bad.ready" >"$work/bad.log" 2>&1
check "unix: a second server on a live socket fails" test $? = 1
check "saying another server listens there" grep -q "API address unix:$sock: another server listens there" "$work/bad.log"
check "the first one still answers" test "$(http GET http://localhost/healthz --unix-socket "$sock")" = 200
check "unix: SIGTERM stops it" stop "$unix1"
check "and removes its socket file" test ! -e "$sock"
raw stale-socket "$sock"
check "a stale socket file is there" test -S "$sock"
start unix2 --api "unix:$sock" --unix-mode 0660
check "a stale socket file is replaced" test "$(http GET http://localhost/healthz --unix-socket "$sock")" = 200
check "unix: --unix-mode 0660" test "$(stat -c %a "$sock")" = 660
stop "$pid"
echo "precious" >"$sock"
"$testd" --api "unix:$sock" --ready "$work/bad.ready" >"$work/bad.log" 2>&1
check "a file that is no socket is refused" test $? = 1
check "saying so" grep -q "API address unix:$sock: the path exists and is not a socket; not replaced" "$work/bad.log"
check "and it is left as it was" test "$(cat "$sock")" = precious

tap_done
