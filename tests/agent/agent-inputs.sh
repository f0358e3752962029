#!/bin/bash
# Odd input to the podhook command line: FIFOs and sockets where files are expected never block, a
# manifest over 1 MiB is invalid input (65, one line naming the file), SIGTERM aborts a metadata
# request that is never answered, a "deployments" that is not a list and duplicate ids are warned about
# on every pass (the duplicate runs once), a non-string deploy_action is refused with its id.
#   agent-inputs.sh PODHOOK HOOKS_DIR
set -uo pipefail
podhook=$1
hooks=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-inputs.XXXXXX")
daemon=
server=
cleanup() {
        [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
        [ -n "$server" ] && kill "$server" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tap.sh
. "$here/tap.sh"
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o
ms() { date +%s%3N; }

# --- FIFOs and sockets: refused at once, with the file named ---
mkfifo "$work/fifo"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$work/sock"
timeout 10 "$podhook" validate "$work/fifo" >"$work/v.out" 2>"$work/v.err"
rc=$?
check "validate FIFO: does not block, exit 66" test $rc = 66
check "validate FIFO: says what it is" grep -q "$work/fifo is a FIFO, not a regular file" "$work/v.err"
timeout 10 "$podhook" validate "$work/sock" >/dev/null 2>"$work/v2.err"
check "validate socket: exit 66" test $? = 66
check "validate socket: says what it is" grep -q "$work/sock is a socket, not a regular file" "$work/v2.err"
timeout 10 "$podhook" apply "$work/fifo" >/dev/null 2>"$work/a.err"
check "apply FIFO: does not block, exit 66" test $? = 66
mkdir -m 700 "$work/d"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d" >"$work/boot.json"
timeout 10 "$podhook" agent --bootstrap "$work/fifo" --state-dir "$work/s0" --occ-config '' --config '' --print \
        >/dev/null 2>"$work/b.err"
check "--bootstrap FIFO: does not block, fails" test $? = 1
check "--bootstrap FIFO: says what it is" grep -q "fifo is a FIFO, not a regular file" "$work/b.err"
timeout 10 "$podhook" agent --bootstrap "$work/boot.json" --state-dir "$work/s0" --occ-config '' \
        --config "$work/fifo" --print >/dev/null 2>"$work/c.err"
check "--config FIFO: does not block, bad settings (2)" test $? = 2
check "--config FIFO: says what it is" grep -q "fifo is a FIFO, not a regular file" "$work/c.err"
timeout 10 "$podhook" agent --bootstrap "$work/boot.json" --state-dir "$work/s0" --occ-config "$work/fifo" \
        --config '' --print >/dev/null 2>"$work/o.err"
check "--occ-config FIFO: does not block, bad settings (2)" test $? = 2
check "--occ-config FIFO: says what it is" grep -q "fifo is a FIFO, not a regular file" "$work/o.err"
timeout 10 "$podhook" agent --bootstrap "$work/boot.json" --state-dir "$work/s0" --occ-config /dev/null \
        --config /dev/null --print >/dev/null 2>"$work/n.err"
check "/dev/null stands for an empty config file" test $? = 0

# --- a manifest over 1 MiB: invalid (65), one line naming the file ---
python3 -c 'import sys; sys.stdout.write("version: v1beta2\ncontainers: [{name: a, image: b}]\n#" + "x" * (1 << 20) + "\n")' \
        >"$work/big.yaml"
"$podhook" validate "$work/big.yaml" >/dev/null 2>"$work/big.err"
check "a manifest over 1 MiB: exit 65" test $? = 65
check "with one line naming the file" bash -c "[ \$(wc -l <'$work/big.err') = 1 ] && grep -q '$work/big.yaml: larger than the limit of 1048576 bytes' '$work/big.err'"

# --- SIGTERM during a metadata request that is never answered ---
python3 - "$work/port" "$work/asked" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept()
    c.recv(65536)
    held.append(c)  # never answered, never closed
    open(sys.argv[2], "a").write("request\n")
PY
server=$!
wait_for 20 test -s "$work/port" || { echo "Bail out! the hanging server did not start"; exit 1; }
printf '{"collectors": ["request"], "request": {"metadata_url": "http://127.0.0.1:%s/md"}}\n' "$(cat "$work/port")" \
        >"$work/hang.json"
"$podhook" agent --bootstrap "$work/hang.json" --state-dir "$work/s1" --occ-config '' --config '' \
        --request-timeout 60 >"$work/hang.log" 2>&1 &
daemon=$!
check "the metadata request is in flight" wait_for 20 test -s "$work/asked"
t0=$(ms)
kill -TERM "$daemon"
for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.05; done
t1=$(ms)
if kill -0 "$daemon" 2>/dev/null; then
        kill -9 "$daemon"
        rc=killed
else
        wait "$daemon"
        rc=$?
fi
daemon=
echo "# SIGTERM to exit: $((t1 - t0)) ms"
check "SIGTERM aborts the request: the agent exits within 1.5 s" test $((t1 - t0)) -lt 1500
check "with status 0" test "$rc" = 0
check "it said it stops" grep -q "stopping" "$work/hang.log"
kill "$server" 2>/dev/null
server=

# --- "deployments" that is not a list; duplicate ids; a non-string deploy_action ---
dep() { # dep ID TEXT [ACTION-JSON]
        printf '{"id": "%s", "name": "n-%s", "group": "script", "config": "#!/bin/sh\\necho %s >>%s/runs\\n",
                 "inputs": [{"name": "deploy_action", "type": "String", "value": %s}], "outputs": []}' \
                "$1" "$1" "$2" "$work" "${3:-\"CREATE\"}"
}
a=(--bootstrap "$work/boot.json" --state-dir "$work/s2" --occ-config '' --config '')
(umask 077 && echo '{"deployments": {"id": "x"}}' >"$work/d/meta.json")
"$podhook" agent "${a[@]}" --one-time >"$work/notlist.log" 2>&1
check "deployments not a list: warned" grep -q "warning.*the metadata's deployments is a map, not a list: ignored" "$work/notlist.log"
"$podhook" agent "${a[@]}" --one-time >"$work/notlist2.log" 2>&1
check "and warned again on the next pass" grep -q "deployments is a map, not a list" "$work/notlist2.log"
(umask 077 && printf '{"deployments": [%s, %s, %s]}\n' "$(dep dup first)" "$(dep dup second)" "$(dep other third)" \
        >"$work/d/meta.json")
"$podhook" agent "${a[@]}" --one-time >"$work/dup1.log" 2>&1
check "duplicate id: warned" grep -q "warning.*deployment dup: listed more than once (entries 0 and 1); only the first runs" "$work/dup1.log"
check "the first of them ran, once; the next entry too" test "$(cat "$work/runs")" = "first
third"
"$podhook" agent "${a[@]}" --one-time >"$work/dup2.log" 2>&1
check "the duplicate is warned about on the next pass too" grep -q "deployment dup: listed more than once" "$work/dup2.log"
check "and nothing runs again" test "$(wc -l <"$work/runs")" = 2
for action in 5 '["CREATE"]'; do
        rm -f "$work/runs"
        id=act$(printf '%s' "$action" | tr -dc '0-9A-Z')
        (umask 077 && printf '{"deployments": [%s]}\n' \
                "$(dep "$id" ran "$action" | sed 's/"type": "String", //')" >"$work/d/meta.json")
        "$podhook" agent "${a[@]}" --one-time >"$work/act.log" 2>&1
        check "deploy_action $action: reported with the id" \
                grep -qE "warning.*deployment $id: input deploy_action must be a string, not an? " "$work/act.log"
        check "deploy_action $action: not run" test ! -e "$work/runs"
        check "deploy_action $action: no marker" test ! -e "$work/s2/deployed/$id.json"
done
# The docker hook: a non-string deploy_action is unusable input; a hostDir over the agent's state dir is
# an invalid manifest. Neither gets as far as the engine (there is none at this address).
export DOCKER_HOST=unix:///nonexistent/podhook-test.sock
echo '{"id": "h1", "name": "h1", "group": "docker", "config": {}, "inputs": [{"name": "deploy_action", "value": 5}]}' |
        "$podhook" hook >"$work/hook1.out" 2>"$work/hook1.err"
check "podhook hook: a deploy_action of 5 fails" test $? = 1
check "podhook hook: saying why" grep -q "deploy_action must be a string, not an integer" "$work/hook1.err"
check "podhook hook: still one result object" jq -e '.deploy_status_code == 1' "$work/hook1.out"
manifest() { # manifest HOSTDIR: a docker deployment config with that hostDir
        printf '{"version": "v1beta2", "containers": [{"name": "a", "image": "b", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}], "volumes": [{"name": "v", "source": {"hostDir": {"path": "%s"}}}]}' "$1"
}
printf '{"id": "h2", "name": "h2", "group": "docker", "config": %s, "inputs": []}' "$(manifest /var/lib/podhook/deployed)" |
        "$podhook" hook >"$work/hook2.out" 2>"$work/hook2.err"
check "podhook hook: a hostDir in the default state dir is invalid (65)" jq -e '.deploy_status_code == 65' "$work/hook2.out"
check "podhook hook: saying why" grep -q "is inside podhook's state directory /var/lib/podhook" "$work/hook2.err"
mkdir -m 700 "$work/d3"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d3" >"$work/boot3.json"
(umask 077 && printf '{"deployments": [{"id": "st-1", "name": "st", "group": "docker", "config": %s, "inputs": []}]}\n' \
        "$(manifest "$work/s3/")" >"$work/d3/meta.json")
"$podhook" agent --bootstrap "$work/boot3.json" --state-dir "$work/s3" --occ-config '' --config '' --one-time \
        >"$work/st.log" 2>&1
check "the agent's docker hook refuses its own state dir as a hostDir (65)" \
        jq -e '.deploy_status_code == 65' "$work/s3/results/st-1.json"
check "saying why" jq -e '.deploy_stderr | contains("is podhook'"'"'s state directory")' "$work/s3/results/st-1.json"
tap_done
