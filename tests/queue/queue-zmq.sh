#!/bin/bash
# The queue's sockets on the real event loop (zmq-testd) against real libzmq peers (python3-zmq,
# zmq-peer.py), on 127.0.0.1 ports and ipc sockets in a temp dir: a result reaches a subscriber, and one
# that subscribes late (the last-value cache), secrets redacted; events; deployments over ROUTER from
# REQ and DEALER peers, acknowledged only once their file exists; SIGKILL right after the ack and a
# restart: still there, in order, the same id again a duplicate; what the agent has already is a
# duplicate; malformed and invalid messages get an error and write nothing; too large ones are
# refused; ipc sockets are 0600; CURVE: an allowed key works, an unknown key and a plain peer get
# nothing, a secret key file others can read is refused; podhook keygen and podhook send. TAP.
#   queue-zmq.sh ZMQ_TESTD TESTS_QUEUE_DIR [PODHOOK]
set -uo pipefail
testd=$1
here=$2
podhook=${3:-}
PY=/usr/bin/python3
peer() { "$PY" "$here/zmq-peer.py" "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-queue.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
        rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../agent/tap.sh
. "$here/../agent/tap.sh"

if ! "$PY" -c 'import zmq' 2>/dev/null; then
        echo "1..0 # SKIP python3-zmq is not installed (tools/setup-host.sh installs it)"
        [ "${PODHOOK_REQUIRE_ALL:-0}" = 1 ] && exit 1
        exit 0
fi

# start NAME ARGS...: zmq-testd logging to $work/NAME.log; waits until it serves; sets $pid, $pub, $lis.
start() {
        local name=$1
        shift
        rm -f "$work/$name.ready"
        "$testd" --ready "$work/$name.ready" "$@" >"$work/$name.log" 2>&1 &
        pid=$!
        pids+=("$pid")
        wait_for 10 test -s "$work/$name.ready" || return 1
        pub=$(jq -r '.publish // empty' "$work/$name.ready")
        lis=$(jq -r '.listen // empty' "$work/$name.ready")
}
stop() { kill "$1" && wait "$1"; }
# deployment ID NAME [ACTION] [EXTRA-INPUT-JSON]: a deployment in Heat's shape on stdout.
deployment() {
        jq -n --arg id "$1" --arg name "$2" --arg action "${3:-CREATE}" --argjson extra "${4:-[]}" \
                '{id: $id, name: $name, group: "docker", config: {}, options: {},
                  inputs: ([{name: "deploy_action", value: $action}] + $extra)}'
}
reply_is() { jq -e "$1" "$work/out" >/dev/null; }
jqt() { jq -e "$@" >/dev/null; }
# fails COMMAND...: the command fails (a peer that gets nothing in time).
fails() { ! "$@" >/dev/null; }
quiet() { "$@" >/dev/null; }
# nothing PEER-COMMAND...: the peer ran and got nothing in time (exit 1; 2 would be its own usage error).
nothing() {
        "$@" >/dev/null
        [ $? = 1 ]
}
queued() { find "$state/queue" -maxdepth 1 -name '*.json' | wc -l; }

state=$work/state
deployment d1 web CREATE '[{"name": "password", "value": "Hunter2Hunter2"}]' >"$work/d1.json"
start main --state "$state" --publish 'tcp://127.0.0.1:*' --listen 'tcp://127.0.0.1:*' --max-message 4096 \
        --done k1
check "the daemon serves both sockets" test -n "$pub" -a -n "$lis"
check "the queue directory is private" test "$(stat -c %a "$state/queue")" = 700

# A subscriber that is there before the result.
peer sub "$pub" result. 1 --timeout 10 >"$work/early" &
early=$!
pids+=("$early")
wait_for 10 grep -q "a subscription to 'result.'" "$work/main.log"
peer send "$lis" "$work/d1.json" --check-file "$state/queue/d1.json" >"$work/out"
check "REQ: accepted" reply_is '.reply == {"id": "d1", "accepted": true}'
check "the file was on disk when the answer came" reply_is '.file_present == true'
check "it is 0600" test "$(stat -c %a "$state/queue/d1.json")" = 600
wait "$early"
check "the early subscriber got the result" test $? = 0
check "on topic result.web" jqt -s '.[0].topic == "result.web"' "$work/early"
check "id, pod, action, status code, summary, result" jqt -s \
        '.[0].message | .id == "d1" and .pod == "web" and .action == "CREATE" and .status_code == 0
         and .summary == "CREATE of web succeeded" and .result.deploy_status_code == 0' "$work/early"
check "the password is redacted" jqt -s '.[0].message.result.deploy_stdout == "ran d1 with password <redacted>"' \
        "$work/early"
check "nowhere in the message" fails grep -q Hunter2 "$work/early"

# Late subscribers: the last value of each deployment, for a matching prefix only.
peer sub "$pub" result.web 1 --timeout 5 >"$work/late"
check "a late subscriber gets the latest result" jqt -s '.[0].message.id == "d1"' "$work/late"
peer sub "$pub" "" 1 --timeout 5 >"$work/late-all"
check "so does one to everything" jqt -s '.[0].topic == "result.web"' "$work/late-all"
check "not one to another pod" nothing peer sub "$pub" result.db 1 --timeout 1

# DEALER peers, with and without the empty delimiter.
deployment d2 db >"$work/d2.json"
peer send "$lis" "$work/d2.json" --dealer >"$work/out"
check "DEALER with a delimiter: accepted" reply_is '.reply == {"id": "d2", "accepted": true}'
deployment d3 cache >"$work/d3.json"
peer send "$lis" "$work/d3.json" --dealer --no-delimiter >"$work/out"
check "DEALER without one: accepted" reply_is '.reply == {"id": "d3", "accepted": true}'

# Many at once: ZMQ_FD is edge-triggered, one wake-up must take every message that is there.
check "50 deployments back to back: 50 answers" quiet peer burst "$lis" b 50 --timeout 10

# Events, and the latest result of a deployment replaces the one before in the cache.
deployment f1 fail-one >"$work/f1.json"
peer sub "$pub" event.deployment_failed. 1 --timeout 10 >"$work/event" &
ev=$!
pids+=("$ev")
wait_for 10 grep -q "a subscription to 'event.deployment_failed.'" "$work/main.log"
peer send "$lis" "$work/f1.json" >"$work/out"
wait "$ev"
check "an event reaches its subscriber" jqt -s \
        '.[0].topic == "event.deployment_failed.fail-one" and .[0].message.kind == "deployment_failed"
         and .[0].message.id == "f1"' "$work/event"
peer sub "$pub" result.fail 1 --timeout 5 >"$work/late-fail"
check "a failed result says so in its summary" jqt -s \
        '.[0].message.summary == "CREATE of fail-one failed (status 1): it failed" and .[0].message.status_code == 1' \
        "$work/late-fail"

# Duplicates: stored already, or the agent has it (a marker).
before=$(sha256sum <"$state/queue/d1.json")
deployment d1 changed >"$work/d1b.json"
peer send "$lis" "$work/d1b.json" >"$work/out"
check "the same id again: a duplicate" reply_is '.reply == {"id": "d1", "accepted": true, "duplicate": true}'
check "the file is left as it was" test "$(sha256sum <"$state/queue/d1.json")" = "$before"
deployment k1 known >"$work/k1.json"
peer send "$lis" "$work/k1.json" >"$work/out"
check "an id the agent has: a duplicate" reply_is '.reply.duplicate == true and .reply.id == "k1"'
check "and not stored" test ! -e "$state/queue/k1.json"

# Bad messages change nothing.
before_n=$(queued)
printf '{"id": "m1", "password": "Hunter2Hunter2"' >"$work/bad1"
peer send "$lis" "$work/bad1" >"$work/out"
check "malformed JSON: an error" reply_is '.reply.error | test("^not valid JSON \\(line 1, column [0-9]+\\)$")'
check "which does not quote the message" fails grep -q Hunter2 "$work/out" "$work/main.log"
jq -n '{group: "docker", inputs: [{name: "deploy_action", value: "CREATE"}]}' >"$work/bad2"
peer send "$lis" "$work/bad2" >"$work/out"
check "no id: an error" reply_is '.reply == {"error": "id: missing"}'
jq -n '{id: "../../evil", group: "do cker", inputs: []}' >"$work/bad3"
peer send "$lis" "$work/bad3" >"$work/out"
check "a path for an id, a bad group: both named" reply_is \
        '.reply.error | test("^id: may hold only .*; group: must be a hook name.*; inputs: no deploy_action input$")'
check "nothing was written" test "$(queued)" = "$before_n" -a ! -e "$work/evil.json" -a ! -e "$state/evil.json"
head -c 5000 /dev/zero | tr '\0' ' ' >"$work/big"
peer send "$lis" "$work/big" >"$work/out"
check "too large: an error" reply_is '.reply.error == "the message has 5000 bytes, more than the limit of 4096"'
head -c 20000 /dev/zero | tr '\0' ' ' >"$work/huge"
check "far too large: no answer at all (libzmq drops the peer)" nothing peer send "$lis" "$work/huge" --timeout 2
check "still nothing written" test "$(queued)" = "$before_n"
deployment d4 after >"$work/d4.json"
peer send "$lis" "$work/d4.json" >"$work/out"
check "and the daemon still answers" reply_is '.reply.accepted == true'

# SIGKILL at once after the ack: the deployment is there after a restart.
deployment d5 crash >"$work/d5.json"
peer send "$lis" "$work/d5.json" --kill "$pid" --check-file "$state/queue/d5.json" >"$work/out"
wait "$pid" 2>/dev/null
check "acknowledged, then killed" reply_is '.reply == {"id": "d5", "accepted": true} and .file_present == true'
"$testd" --state "$state" --list >"$work/list"
check "the queue source lists every deployment in order of arrival" jqt \
        '[.deployments[].id] == ["d1", "d2", "d3"] + [range(50) | "b-\(.)"] + ["f1", "d4", "d5"]' "$work/list"
check "as it came" jqt '.deployments[0].inputs[1] == {"name": "password", "value": "Hunter2Hunter2"}' "$work/list"
start again --state "$state" --listen 'tcp://127.0.0.1:*'
peer send "$lis" "$work/d5.json" >"$work/out"
check "after the restart the same id is a duplicate" reply_is '.reply.duplicate == true'
deployment d6 next >"$work/d6.json"
peer send "$lis" "$work/d6.json" >"$work/out"
"$testd" --state "$state" --list >"$work/list"
check "a new one comes after the others" jqt '[.deployments[].id][-2:] == ["d5", "d6"]' "$work/list"
stop "$pid"

# podhook send without CURVE.
start plain --state "$work/state-send" --listen 'tcp://127.0.0.1:*'
"$podhook" send "$lis" "$work/d1.json" >"$work/out"
check "podhook send: accepted, exit 0" test $? = 0
check "prints the answer" test "$(cat "$work/out")" = '{"id":"d1","accepted":true}'
"$podhook" send --dealer "$lis" - <"$work/d1.json" >"$work/out"
check "again, over DEALER from stdin: a duplicate, exit 0" test $? = 0
check "says so" test "$(cat "$work/out")" = '{"id":"d1","accepted":true,"duplicate":true}'
"$podhook" send "$lis" "$work/bad2" >"$work/out" 2>"$work/err"
check "an error answer: exit 1" test $? = 1
check "the error on stderr" grep -q "podhook send: id: missing" "$work/err"
stop "$pid"
t0=$(date +%s%N)
"$podhook" send --timeout 1 "$lis" "$work/d1.json" >/dev/null 2>"$work/err"
rc=$?
t1=$(date +%s%N)
check "nobody listening: exit 75" test "$rc" = 75
check "after the timeout, not much later" test $(((t1 - t0) / 1000000)) -ge 1000 -a $(((t1 - t0) / 1000000)) -lt 3000
check "saying so" grep -q "no answer from $lis within 1 s" "$work/err"
check "a bad endpoint: a usage error" fails "$podhook" send inproc://x "$work/d1.json"

# ipc://: the socket file is the agent's alone.
start ipc --state "$work/state-ipc" --listen "ipc://$work/q.sock"
check "an ipc socket is 0600" test "$(stat -c %a "$work/q.sock")" = 600
peer send "ipc://$work/q.sock" "$work/d1.json" >"$work/out"
check "and takes deployments" reply_is '.reply.accepted == true'
stop "$pid"
check "a tcp endpoint off loopback without CURVE is refused" fails "$testd" --state "$work/s" --ready "$work/x" \
        --listen 'tcp://0.0.0.0:*' 2>"$work/refused.log"
check "saying why" grep -q "without CURVE anyone who reaches it could run deployments" "$work/refused.log"

# CURVE.
keys() { "$PY" -c 'import zmq; p, s = zmq.curve_keypair(); print(p.decode(), s.decode())'; }
read -r spub ssec < <(keys)
read -r apub asec < <(keys)
read -r upub usec < <(keys)
printf '%s\n' "$ssec" >"$work/server.key"
chmod 600 "$work/server.key"
printf '# allowed\n\n%s\n' "$apub" >"$work/allow"
start curve --state "$work/state-curve" --publish 'tcp://127.0.0.1:*' --listen 'tcp://0.0.0.0:*' \
        --curve-secret-file "$work/server.key" --curve-allow-file "$work/allow"
check "CURVE: the daemon derives the server's public key" test "$(jq -r .public_key "$work/curve.ready")" = "$spub"
lis=${lis/0.0.0.0/127.0.0.1}
pub=${pub/0.0.0.0/127.0.0.1}
peer send "$lis" "$work/d1.json" --server-key="$spub" --public="$apub" --secret="$asec" >"$work/out"
check "an allowed key: accepted" reply_is '.reply == {"id": "d1", "accepted": true}'
peer sub "$pub" result. 1 --timeout 5 --server-key="$spub" --public="$apub" --secret="$asec" >"$work/csub"
check "and its subscriber gets the result" jqt -s '.[0].message.id == "d1"' "$work/csub"
deployment c2 unknown >"$work/c2.json"
check "an unknown key: no answer" nothing peer send "$lis" "$work/c2.json" --timeout 2 \
        --server-key="$spub" --public="$upub" --secret="$usec"
check "a plain peer: no answer" nothing peer send "$lis" "$work/c2.json" --timeout 2
check "an unknown subscriber: nothing" nothing peer sub "$pub" "" 1 --timeout 2 \
        --server-key="$spub" --public="$upub" --secret="$usec"
check "a plain subscriber: nothing" nothing peer sub "$pub" "" 1 --timeout 2
check "nothing of theirs was stored" test ! -e "$work/state-curve/queue/c2.json"
check "the refusal is logged with the key" grep -qF "refused a client from 127.0.0.1: key $upub is not in" \
        "$work/curve.log"
printf '%s\n%s\n' "$apub" "$upub" >"$work/allow"
kill -HUP "$pid"
wait_for 10 grep -q "the allow file is read again" "$work/curve.log"
peer send "$lis" "$work/c2.json" --server-key="$spub" --public="$upub" --secret="$usec" >"$work/out"
check "SIGHUP: a key added to the allow file is admitted" reply_is '.reply.accepted == true'

# podhook keygen and send, with CURVE.
kpub=$("$podhook" keygen --secret-file "$work/client.key")
check "keygen --secret-file: the secret key in a 0600 file" test "$(stat -c %a "$work/client.key")" = 600
check "and the public key printed" test "$("$PY" -c 'import sys, zmq; print(zmq.curve_public(open(sys.argv[1]).read().strip().encode()).decode())' "$work/client.key")" = "$kpub"
check "keygen does not overwrite a key" fails "$podhook" keygen --secret-file "$work/client.key"
check "keygen prints a pair" bash -c "'$podhook' keygen | grep -cE '^(public|secret): .{40}$' | grep -qx 2"
deployment s1 sent >"$work/s1.json"
check "send, a key that is not allowed: exit 75" test "$(
        "$podhook" send --timeout 1 --curve-server-key "$spub" --curve-secret-file "$work/client.key" "$lis" \
                "$work/s1.json" >/dev/null 2>&1
        echo $?)" = 75
printf '%s\n' "$kpub" >>"$work/allow"
kill -HUP "$pid"
wait_for 10 test "$(grep -c "the allow file is read again" "$work/curve.log")" = 2
"$podhook" send --curve-server-key "$spub" --curve-secret-file "$work/client.key" "$lis" "$work/s1.json" \
        >"$work/out"
check "send with CURVE: accepted, exit 0" test $? = 0
check "the answer printed" test "$(cat "$work/out")" = '{"id":"s1","accepted":true}'
chmod 666 "$work/allow"
kill -HUP "$pid"
wait_for 10 grep -q "allow has mode 0666: group or others may change who connects" "$work/curve.log"
deployment s2 sent >"$work/s2.json"
"$podhook" send --curve-server-key "$spub" --curve-secret-file "$work/client.key" "$lis" "$work/s2.json" \
        >/dev/null
check "SIGHUP with an allow file others may write: refused, the old list stays" test $? = 0
chmod 644 "$work/allow"
stop "$pid"
chmod 640 "$work/server.key"
check "a secret key file others can read is refused" fails "$testd" --state "$work/s" --ready "$work/x" \
        --listen 'tcp://127.0.0.1:*' --curve-secret-file "$work/server.key" --curve-allow-file "$work/allow" \
        2>"$work/mode.log"
check "naming the file and its mode" grep -q "server.key has mode 0640, must be 0600 or stricter: group or others may read it" "$work/mode.log"
chmod 600 "$work/server.key"

tap_done
