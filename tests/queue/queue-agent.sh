#!/bin/bash
# The real agent with --listen and --publish (no Heat configuration at all) on the real engine, driven by
# podhook send and real libzmq peers (python3-zmq, zmq-peer.py):
#   a deployment sent runs a pod; its result reaches a subscriber that was there and one that subscribes
#   later (the last-value cache), with its secret redacted; a failed one sends a deployment_failed event;
#   a duplicate id runs once; a malformed message gets an error and changes nothing; kill -9 right after
#   the ack and a restart: it still runs, once (one pod, one "running CREATE"), and its result also goes
#   where its deploy_signal_transport says (TEMP_URL_SIGNAL to a local PUT server); a DELETE retires
#   the pod's queue files to queue/done/; CURVE: an allowed client works, an unknown key and a plain peer
#   get nothing.
#   queue-agent.sh PODHOOK SRC_DIR
set -uo pipefail
podhook=$1
src=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../agent/tap.sh
. "$here/../agent/tap.sh"
# shellcheck source=../agent/engine.sh
. "$here/../agent/engine.sh"
need_engine
PY=/usr/bin/python3
"$PY" -c 'import zmq' 2>/dev/null || { echo "1..0 # SKIP no python3-zmq"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-queue-agent.XXXXXX")
p=phqa-$$
secret="s3cret-$$-pw"
daemon=
pids=()
cleanup() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        for x in "${pids[@]}"; do kill "$x" 2>/dev/null; done
        remove_pods "$p" volumes
        rm -rf "$work"
}
trap cleanup EXIT
"$src/tools/build-images.sh" >"$work/images.log" 2>&1 || { cat "$work/images.log"; echo "Bail out! images"; exit 1; }
PEER="$here/zmq-peer.py"
in="ipc://$work/in.sock"
out="ipc://$work/out.sock"

running() { [ -n "$(docker ps -q --filter "label=io.podhook.pod=$1")" ]; }
gone() { [ -z "$(docker ps -aq --filter "label=io.podhook.pod=$1")" ]; }
apps() { docker ps -aq --filter "label=io.podhook.pod=$1" --filter label=io.podhook.role=app | wc -l; }
runs() { grep -c "deployment $1 (.*): running CREATE" "$work/daemon.log"; }
dep() { # dep ID POD [ACTION [EXTRA_INPUTS [GROUP]]]
        cat <<EOF2
{"id": "$1", "name": "$2", "group": "${5:-docker}",
 "config": "version: v1beta2\ncontainers:\n  - name: main\n    image: podhook.local/busybox:1\n    command: [sleep, '3600']\n",
 "inputs": [{"name": "deploy_action", "value": "${3:-CREATE}"}, {"name": "DB_PASSWORD", "value": "$secret"}${4:-}],
 "outputs": [], "options": {"grace_period": 1}}
EOF2
}
started() { grep -c "taking deployments on $in" "$work/daemon.log" 2>/dev/null; }
# Counted anew at each try of wait_for (an argument "$(started)" would be counted once, before the start).
took_endpoint() { [ "$(started)" -ge "$1" ]; }
start() { # start [OPTIONS...]: until this agent took the endpoint
        local want=$(($(started) + 1))
        "$podhook" agent --state-dir "$work/state" --occ-config '' --config '' --bootstrap '' \
                --listen "$in" --publish "$out" --grace-seconds 1 --log-level debug "$@" >>"$work/daemon.log" 2>&1 &
        daemon=$!
        wait_for 20 took_endpoint "$want"
}
stop() { kill "$daemon" && wait "$daemon"; daemon=; }
# sub NAME PREFIX COUNT: a subscriber in the background, output in $work/NAME.out, once it subscribed
sub() {
        rm -f "$work/$1.ready"
        "$PY" "$PEER" sub "$out" "$2" "$3" --timeout 90 --ready "$work/$1.ready" >"$work/$1.out" 2>&1 &
        pids+=($!)
        eval "sub_$1=$!"
        wait_for 10 test -e "$work/$1.ready"
}

check "an agent with only --listen runs" start
grep -q "no Heat configuration.*taking deployments on $in alone" "$work/daemon.log" ||
        { echo "# the log does not say it runs on the queue alone"; fails=$((fails + 1)); }

# --- a deployment in, a pod on the engine, its result out
sub early "result.$p-web" 1
dep "$p-1" "$p-web" >"$work/d1.json"
"$podhook" send "$in" "$work/d1.json" >"$work/send1.out" 2>&1
check "podhook send: accepted" grep -q '"accepted": *true' "$work/send1.out"
check "the deployment's pod runs on the engine" wait_for 90 running "$p-web"
wait "$sub_early"
check "its result reached the subscriber that was there" \
        jq -e --arg id "$p-1" 'select(.message.id == $id and .message.status_code == 0 and .message.action == "CREATE")' "$work/early.out"
sleep_free_late() { "$PY" "$PEER" sub "$out" "result.$p-web" 1 --timeout 10 >"$work/late.out" 2>&1; }
check "a subscriber that comes after the result gets it (last-value cache)" sleep_free_late
check "  the same result" jq -e --arg id "$p-1" 'select(.message.id == $id)' "$work/late.out"

# --- duplicate and malformed
"$podhook" send "$in" "$work/d1.json" >"$work/send1b.out" 2>&1
check "the same id again: a duplicate" grep -q '"duplicate": *true' "$work/send1b.out"
before=$(ls "$work/state/queue" | sort | tr '\n' ' ')
printf '{"id": "%s-bad", "group": "docker", "inputs": [' "$p" >"$work/bad.json"
"$podhook" send "$in" "$work/bad.json" >"$work/bad.out" 2>&1
rc=$?
check "a malformed message gets an error answer" test "$rc" = 1
check "  that says what is wrong" grep -q "not valid JSON" "$work/bad.out"
check "  and changes nothing" test "$(ls "$work/state/queue" | sort | tr '\n' ' ')" = "$before"

# --- a failure: a deployment_failed event, the secret redacted everywhere
sub ev "event.deployment_failed." 1
dep "$p-f" "$p-fail" CREATE "" no-such-hook >"$work/df.json"
"$podhook" send "$in" "$work/df.json" >/dev/null 2>&1
wait "$sub_ev"
check "a failed deployment sends a deployment_failed event" \
        jq -e --arg id "$p-f" 'select(.message.deployment == $id and .message.kind == "deployment_failed")' "$work/ev.out"
check "the deployment ran once (duplicate not run)" test "$(runs "$p-1")" = 1

# --- kill -9 right after the ack; a restart runs it, once; its signal goes to its transport
"$PY" - "$work/put.port" "$work/put.body" <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2] + ".tmp", "wb") as f:
            f.write(body)
        import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_port)); import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
pids+=($!)
wait_for 10 test -s "$work/put.port"
url="http://127.0.0.1:$(cat "$work/put.port")/signal/$p-2"
dep "$p-2" "$p-web2" CREATE ", {\"name\": \"deploy_signal_transport\", \"value\": \"TEMP_URL_SIGNAL\"}, {\"name\": \"deploy_signal_id\", \"value\": \"$url\"}, {\"name\": \"deploy_signal_verb\", \"value\": \"PUT\"}" >"$work/d2.json"
"$PY" "$PEER" send "$in" "$work/d2.json" --kill "$daemon" --check-file "$work/state/queue/$p-2.json" >"$work/send2.out" 2>&1
wait "$daemon" 2>/dev/null
daemon=
check "kill -9 right after the ack: the file was there before the answer" \
        jq -e '.reply.accepted == true and .file_present == true' "$work/send2.out"
start
check "after the restart the deployment runs" wait_for 90 running "$p-web2"
check "  once: one pod's containers" test "$(apps "$p-web2")" = 1
check "  once: one running CREATE in the log" test "$(runs "$p-2")" = 1
check "its result went to its deploy_signal_transport too (TEMP_URL_SIGNAL)" wait_for 30 test -s "$work/put.body"
check "  the result" jq -e '.deploy_status_code == 0' "$work/put.body"

# --- retention: a DELETE done retires the pod's queue files
dep "$p-1d" "$p-web" DELETE >"$work/d1d.json"
"$podhook" send "$in" "$work/d1d.json" >/dev/null 2>&1
check "the DELETE removes the pod" wait_for 60 gone "$p-web"
check "the pod's queue files move to queue/done/" \
        wait_for 30 test -e "$work/state/queue/done/$p-1.json" -a -e "$work/state/queue/done/$p-1d.json"
check "  out of the list" test ! -e "$work/state/queue/$p-1.json" -a ! -e "$work/state/queue/$p-1d.json"
check "  the other pod's stay" test -e "$work/state/queue/$p-2.json"
"$podhook" send "$in" "$work/d1.json" >"$work/send1c.out" 2>&1
check "a retired id sent again is still a duplicate (its marker)" grep -q '"duplicate": *true' "$work/send1c.out"
check "the secret never left: not in anything published" \
        bash -c "! grep -q '$secret' '$work/early.out' '$work/late.out' '$work/ev.out' '$work/put.body'"

# --- CURVE: allowed, unknown, plain
stop
"$podhook" keygen --secret-file "$work/server.key" >"$work/server.pub"
"$podhook" keygen --secret-file "$work/client.key" >"$work/client.pub"
"$podhook" keygen --secret-file "$work/other.key" >/dev/null
cp "$work/client.pub" "$work/allow"
chmod 600 "$work/allow"
start --curve-secret-file "$work/server.key" --curve-allow-file "$work/allow"
dep "$p-3" "$p-web3" >"$work/d3.json"
"$podhook" send --timeout 5 --curve-server-key "$(cat "$work/server.pub")" --curve-secret-file "$work/client.key" \
        "$in" "$work/d3.json" >"$work/send3.out" 2>&1
check "CURVE: an allowed client is accepted" grep -q '"accepted": *true' "$work/send3.out"
check "  and its deployment runs" wait_for 90 running "$p-web3"
dep "$p-4" "$p-web4" >"$work/d4.json"
"$podhook" send --timeout 2 --curve-server-key "$(cat "$work/server.pub")" --curve-secret-file "$work/other.key" \
        "$in" "$work/d4.json" >/dev/null 2>&1
rc=$?
check "CURVE: an unknown key gets nothing" test "$rc" = 75
"$podhook" send --timeout 2 "$in" "$work/d4.json" >/dev/null 2>&1
rc=$?
check "CURVE: a plain peer gets nothing" test "$rc" = 75
check "  nothing of theirs was stored" test ! -e "$work/state/queue/$p-4.json"
kill -HUP "$daemon"
check "SIGHUP reads the allow file again" wait_for 10 grep -q "the CURVE allow file is read again" "$work/daemon.log"
check "SIGTERM stops the agent" stop

[ "$fails" = 0 ] || { echo "# daemon.log:"; sed 's/^/# /' "$work/daemon.log" | tail -80; }
tap_done
