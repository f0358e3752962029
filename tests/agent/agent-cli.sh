#!/bin/bash
# podhook agent as a program: --print redaction, --one-time with a heat-agents hook, markers,
# following a new os-collect-config (persisted), the single-instance lock, SIGHUP reload, SIGTERM
# stop, bad settings all reported at once. Uses the local source only (no network).
# Also: SIGTERM while an external hook blocks stops the agent at once, and the next start resumes it.
#   agent-cli.sh PODHOOK HOOKS_DIR BLOCK_HOOK
set -uo pipefail
podhook=$1
hooks=$2
block_hook=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-cli.XXXXXX")
daemon=
cleanup() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
        for f in "$work"/started.*; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
        rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

mkdir -m 700 "$work/d1" "$work/d2"
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o
cat >"$work/boot.json" <<EOF2
{"deployments": [], "os-collect-config": {"collectors": ["local"], "local": {"path": ["$work/d1"]}, "heat": null}}
EOF2
(umask 077 && cat >"$work/d1/meta.json" <<EOF2
{"os-collect-config": {"collectors": ["local"], "local": {"path": ["$work/d2"]},
                       "heat": {"password": "Sup3rSecretPw", "user_id": "u"}},
 "deployments": [{"id": "cfg-1", "name": "first", "group": "script",
                  "config": "#!/bin/sh\necho \"ran with \$deploy_password\" >&2\necho n=\$n\n",
                  "inputs": [{"name": "n", "type": "String", "value": [1, null]},
                             {"name": "deploy_password", "type": "String", "value": "Sup3rSecretPw"},
                             {"name": "deploy_action", "type": "String", "value": "CREATE"}],
                  "outputs": []}]}
EOF2
cat >"$work/d2/meta.json" <<EOF2
{"deployments": [{"id": "cfg-2", "name": "second", "group": "script", "config": "#!/bin/sh\necho two\n",
                  "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}], "outputs": []}]}
EOF2
)
common=(--bootstrap "$work/boot.json" --state-dir "$work/state" --occ-config '' --config '' --interval 1)

out=$("$podhook" agent "${common[@]}" --print 2>"$work/print.err")
check "--print exits 0" test $? = 0
check "--print shows the metadata" grep -q '"cfg-1"' <<<"$out"
check "--print redacts secrets" test -z "$(grep Sup3rSecretPw <<<"$out")"
check "--print --show-secrets shows them" grep -q Sup3rSecretPw <<<"$("$podhook" agent "${common[@]}" --print --show-secrets 2>/dev/null)"
check "--print does not create the state dir" test ! -e "$work/state"

"$podhook" agent "${common[@]}" --one-time >"$work/run1.log" 2>&1
check "--one-time exits 0" test $? = 0
check "the deployment ran" grep -q "deployment cfg-1 (first, group script): running CREATE" "$work/run1.log"
check "marker written" test -f "$work/state/deployed/cfg-1.json"
check "marker is 0600" test "$(stat -c %a "$work/state/deployed/cfg-1.json")" = 600
check "state dir is 0700" test "$(stat -c %a "$work/state")" = 700
check "String input coerced with str()" grep -q '"deploy_stdout": "n=\[1, None\]' "$work/state/results/cfg-1.json"
check "no secret in the agent's log" test -z "$(grep Sup3rSecretPw "$work/run1.log")"
check "the new os-collect-config is followed" grep -q "following the os-collect-config" "$work/run1.log"
check "and kept in the state dir" grep -q "$work/d2" "$work/state/os-collect-config.json"
check "that file is 0600" test "$(stat -c %a "$work/state/os-collect-config.json")" = 600

"$podhook" agent "${common[@]}" --one-time >"$work/run2.log" 2>&1
check "second run exits 0" test $? = 0
check "second run polls the followed source" grep -q "deployment cfg-2 (second, group script): running CREATE" "$work/run2.log"
check "cfg-1 is not run again" test -z "$(grep 'cfg-1' "$work/run2.log")"

# A node set up for os-collect-config: its ini file is enough.
printf '[DEFAULT]\ncommand = os-refresh-config\ncollectors = local\npolling_interval = 1\n[local]\npath = %s\n' \
        "$work/d2" >"$work/occ.conf"
"$podhook" agent --occ-config "$work/occ.conf" --config '' --state-dir "$work/state-occ" --one-time >"$work/occ.log" 2>&1
check "/etc/os-collect-config.conf syntax is understood" test $? = 0
check "and its collectors are polled" grep -q "deployment cfg-2 (second, group script): running CREATE" "$work/occ.log"

printf '[DEFAULT]\ninterval = 1\n' >"$work/agent.conf"
"$podhook" agent --bootstrap "$work/boot.json" --state-dir "$work/state" --occ-config '' --config "$work/agent.conf" \
        --log-level debug >"$work/daemon.log" 2>&1 &
daemon=$!
check "the daemon takes the lock" wait_for 10 bash -c "! flock -n '$work/state/lock' true"
"$podhook" agent "${common[@]}" --one-time >"$work/second.log" 2>&1
check "a second agent on the same state dir is refused" test $? != 0
check "with a clear message" grep -q "another podhook agent" "$work/second.log"
printf '[DEFAULT]\ninterval = never\nretry-max = -1\n' >"$work/agent.conf"
kill -HUP "$daemon"
check "SIGHUP with a bad config keeps the old one" wait_for 10 grep -q "new config rejected, keeping the old one" "$work/daemon.log"
check "naming every bad key" bash -c "grep -q \"interval: 'never'\" '$work/daemon.log' && grep -q \"retry-max: '-1'\" '$work/daemon.log'"
check "and keeps running" kill -0 "$daemon"
printf '[DEFAULT]\ninterval = 2\n' >"$work/agent.conf"
kill -HUP "$daemon"
check "SIGHUP reloads" wait_for 10 grep -q "configuration reloaded" "$work/daemon.log"
kill -TERM "$daemon"
wait "$daemon"
check "SIGTERM stops it with status 0" test $? = 0
daemon=
check "it said so" grep -q "stopping" "$work/daemon.log"

"$podhook" agent --interval 0 --retry-max=x --nope --state-dir "$work/s3" >"$work/bad.log" 2>&1
check "bad settings: exit 2" test $? = 2
check "every bad setting is named" bash -c "grep -q \"'--nope'\" '$work/bad.log' && grep -q 'interval' '$work/bad.log' && grep -q 'retry-max' '$work/bad.log'"

# SIGTERM in the middle of a hook: the agent stops now; the deployment is resumed at the next start.
mkdir -m 700 "$work/d3" "$work/bh"
ln -s "$block_hook" "$work/bh/phe2e_block"
mkfifo "$work/fifo"
cat >"$work/boot3.json" <<EOF2
{"collectors": ["local"], "local": {"path": ["$work/d3"]}}
EOF2
(umask 077 && cat >"$work/d3/meta.json" <<EOF2
{"deployments": [{"id": "cfg-b", "name": "blocker", "group": "phe2e_block", "config": "",
                  "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}], "outputs": []}]}
EOF2
)
b=(--bootstrap "$work/boot3.json" --state-dir "$work/state3" --occ-config '' --config '' --interval 1)
PHE2E_DIR=$work HEAT_CONFIG_HOOKS=$work/bh "$podhook" agent "${b[@]}" >"$work/block1.log" 2>&1 &
daemon=$!
check "the blocking hook started" wait_for 20 test -e "$work/started.1"
t0=$SECONDS
kill -TERM "$daemon"
wait "$daemon"
rc=$?
daemon=
check "SIGTERM during a hook: exit 0" test $rc = 0
check "and promptly" test $((SECONDS - t0)) -lt 10
check "the hook was killed" bash -c "! kill -0 $(cat "$work/started.1") 2>/dev/null"
check "the deployment is left in progress" test -e "$work/state3/inprogress/cfg-b.json"
check "the agent said it will resume" grep -q "interrupted; it runs again at the next start" "$work/block1.log"
PHE2E_DIR=$work HEAT_CONFIG_HOOKS=$work/bh "$podhook" agent "${b[@]}" --one-time >"$work/block2.log" 2>&1 &
one=$!
check "the next start resumes it" wait_for 20 test -e "$work/started.2"
echo released >"$work/fifo"
wait "$one"
check "and finishes it" test $? = 0
check "resume logged" grep -q "resuming interrupted CREATE" "$work/block2.log"
check "result recorded" grep -q "released released" "$work/state3/results/cfg-b.json"
check "not in progress any more" test ! -e "$work/state3/inprogress/cfg-b.json"

tap_done
