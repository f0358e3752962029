#!/bin/bash
# The agent on its event loop, with the real program and no engine:
#   - systemd's notify protocol on a datagram socket the test binds (as systemd does): READY=1 only after
#     the first pass, STATUS= lines, WATCHDOG=1 at half of WATCHDOG_USEC, also while a hook runs for
#     seconds (the pass is on the worker thread; the loop keeps pinging), STOPPING=1 at SIGTERM; hooks
#     do not inherit NOTIFY_SOCKET
#   - --notify-exec: a failed deployment is one JSON event on the command's stdin, without its secret;
#     also from --one-time
#   - SIGTERM during a slow metadata request and during a long external hook: the agent is gone in ~1 s
#   - an agent with only --dropin (no Heat configuration) runs and reports an invalid file
#   agent-loop.sh PODHOOK HOOKS_DIR BLOCK_HOOK SRC_DIR
set -uo pipefail
podhook=$1
hooks=$2
block_hook=$3
here=$(dirname "$0")
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-loop.XXXXXX")
daemon= listener= lab=
cleanup() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        [ -n "$listener" ] && kill "$listener" 2>/dev/null
        [ -n "$lab" ] && kill "$lab" 2>/dev/null
        for f in "$work"/started.*; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
        rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tap.sh
. "$here/tap.sh"
command -v python3 >/dev/null || { echo "1..0 # SKIP no python3"; exit 77; }
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o
common=(--state-dir "$work/state" --occ-config '' --config '' --interval 1)
now() { date +%s.%N; }
# elapsed START: seconds since START (a now()), as a decimal
elapsed() { python3 -c 'import sys, time; print("%.3f" % (time.time() - float(sys.argv[1])))' "$1"; }
lt() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"; }
stop() { # stop: SIGTERM to the daemon, its exit status
        kill -TERM "$daemon"
        wait "$daemon"
        local rc=$?
        daemon=
        return $rc
}

# --- 1. systemd: READY after the first pass, the watchdog while a hook runs, STATUS, STOPPING ------------
mkdir -m 700 "$work/d1"
python3 "$here/notify-listen.py" "$work/notify.sock" "$work/notify.log" &
listener=$!
wait_for 10 test -S "$work/notify.sock" || { echo "Bail out! no notify socket"; exit 1; }
(umask 077 && cat >"$work/d1/meta.json" <<EOF2
{"deployments": [
  {"id": "slow-1", "name": "slow", "group": "script",
   "config": "#!/bin/sh\necho started > $work/slow.started\nenv | grep -c NOTIFY_SOCKET\nsleep 3\necho done\n",
   "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}], "outputs": []},
  {"id": "fail-1", "name": "failing", "group": "script",
   "config": "#!/bin/sh\necho \"boom: \$db_password\" >&2\nexit 3\n",
   "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"},
              {"name": "db_password", "type": "String", "value": "Hunter2-Secret"}], "outputs": []}]}
EOF2
)
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d1" >"$work/boot1.json"
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=300000 "$podhook" agent "${common[@]}" --bootstrap "$work/boot1.json" \
        --notify-exec "cat >> '$work/events.json'; echo >> '$work/events.json'" >"$work/daemon1.log" 2>&1 &
daemon=$!
check "the slow hook starts" wait_for 20 test -e "$work/slow.started"
check "READY=1 comes" wait_for 30 grep -q " READY=1$" "$work/notify.log"
ready_at=$(awk '$2 == "READY=1" {print $1; exit}' "$work/notify.log")
result_at=$(stat -c '%.3Y' "$work/state/results/fail-1.json" 2>/dev/null || echo 0)
check "READY=1 only after the first pass (the last result at $result_at, READY at $ready_at)" lt "$result_at" "$ready_at"
started_at=$(stat -c '%.3Y' "$work/slow.started")
pings=$(awk -v a="$started_at" -v b="$started_at" '$2 == "WATCHDOG=1" && $1 > a && $1 < b + 2.9 {n++} END {print n + 0}' "$work/notify.log")
check "WATCHDOG=1 every 150 ms while the 3 s hook ran ($pings pings)" test "$pings" -ge 10
check "WATCHDOG=1 goes on" bash -c "n=\$(grep -c ' WATCHDOG=1$' '$work/notify.log'); sleep 1; [ \$(grep -c ' WATCHDOG=1$' '$work/notify.log') -gt \$n ]"
check "STATUS= says what it does" grep -q " STATUS=polling 1 source, 2 deployments, last pass ok$" "$work/notify.log"
check "the hook did not get NOTIFY_SOCKET" grep -q '"deploy_stdout": "0' "$work/state/results/slow-1.json"
check "--notify-exec got the failure" wait_for 10 grep -q '"kind":"deployment_failed"' "$work/events.json"
check "as one JSON event per run" python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
e = [x for x in evs if x["kind"] == "deployment_failed"]
sys.exit(0 if len(e) == 1 and e[0]["deployment"] == "fail-1" and "boom" in e[0]["message"] and e[0]["status_code"] == 3 else 1)' "$work/events.json"
check "without the secret" bash -c "! grep -q Hunter2-Secret '$work/events.json' '$work/daemon1.log'"
check "SIGTERM: exit 0" stop
check "STOPPING=1" grep -q " STOPPING=1$" "$work/notify.log"
pings_before=$(grep -c " WATCHDOG=1$" "$work/notify.log")
sleep 0.5
check "and no more pings" test "$(grep -c " WATCHDOG=1$" "$work/notify.log")" = "$pings_before"

# --one-time hands its events to the command before it exits.
rm -rf "$work/state" "$work/events.json"
"$podhook" agent "${common[@]}" --bootstrap "$work/boot1.json" --one-time \
        --notify-exec "cat >> '$work/events.json'; echo >> '$work/events.json'" >"$work/one.log" 2>&1
check "--one-time: the failure reached --notify-exec" grep -q '"deployment":"fail-1"' "$work/events.json"

# --- 2. SIGTERM during a slow metadata request ------------------------------------------------------------
python3 "$here/signal-lab.py" "$work/lab.port" "$work/lab.log" &
lab=$!
wait_for 10 test -s "$work/lab.port" || { echo "Bail out! signal lab"; exit 1; }
port=$(cat "$work/lab.port")
printf '{"collectors": ["request"], "request": {"metadata_url": "http://127.0.0.1:%s/slow/60000/meta"}}\n' "$port" \
        >"$work/boot2.json"
"$podhook" agent --state-dir "$work/state2" --occ-config '' --config '' --bootstrap "$work/boot2.json" \
        --request-timeout 60 >"$work/slow.log" 2>&1 &
daemon=$!
check "the metadata request is under way" wait_for 20 grep -q "GET /slow/60000/meta" "$work/lab.log"
t0=$(now)
check "SIGTERM during it: exit 0" stop
took=$(elapsed "$t0")
check "within about a second (took $took s)" lt "$took" 1.5

# --- 3. SIGTERM during a long external hook ------------------------------------------------------------------
mkdir -m 700 "$work/d3" "$work/bh"
ln -s "$block_hook" "$work/bh/phe2e_block"
mkfifo "$work/fifo"
(umask 077 && cat >"$work/d3/meta.json" <<EOF2
{"deployments": [{"id": "cfg-b", "name": "blocker", "group": "phe2e_block", "config": "",
                  "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}], "outputs": []}]}
EOF2
)
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d3" >"$work/boot3.json"
PHE2E_DIR=$work HEAT_CONFIG_HOOKS=$work/bh "$podhook" agent --state-dir "$work/state3" --occ-config '' --config '' \
        --bootstrap "$work/boot3.json" >"$work/block.log" 2>&1 &
daemon=$!
check "the blocking hook started" wait_for 20 test -e "$work/started.1"
t0=$(now)
check "SIGTERM during the hook: exit 0" stop
took=$(elapsed "$t0")
check "within about a second (took $took s)" lt "$took" 1.5
check "the hook is gone" bash -c "! kill -0 $(cat "$work/started.1") 2>/dev/null"
check "and its deployment left to resume" test -e "$work/state3/inprogress/cfg-b.json"

# --- 4. only --dropin, no Heat configuration at all ------------------------------------------------------------
mkdir -m 700 "$work/pods"
printf 'version: v1beta2\ncontainers:\n  - name: main\n' >"$work/pods/lonely.yaml"
touch -d '-10 sec' "$work/pods/lonely.yaml"
# No engine either: listing pods fails, which must not stop the rest.
DOCKER_HOST=unix://$work/no-engine.sock "$podhook" agent --state-dir "$work/state4" --occ-config '' --config '' \
        --bootstrap '' --dropin "$work/pods" \
        --notify-exec "cat >> '$work/events4.json'; echo >> '$work/events4.json'" >"$work/dropin.log" 2>&1 &
daemon=$!
check "an agent with only --dropin runs" wait_for 10 grep -q "watching the drop-in directory $work/pods alone" "$work/dropin.log"
check "the invalid file is reported with its line" wait_for 10 grep -q "lonely.yaml:3: containers\[0\].image: is required" "$work/dropin.log"
check "as a dropin_invalid event with its messages" wait_for 10 python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(e["kind"] == "dropin_invalid" and e["pod"] == "lonely" and
                  e["messages"] == ["lonely.yaml:3: containers[0].image: is required"] for e in evs) else 1)' "$work/events4.json"
check "still running" kill -0 "$daemon"
check "SIGTERM: exit 0" stop
tap_done
