#!/bin/bash
# podhook agent as a program: --print redaction, --one-time with a heat-agents hook, markers,
# following a new os-collect-config (persisted), the single-instance lock, SIGHUP reload, SIGTERM
# stop, bad settings all reported at once. Uses the local source only (no network).
#   agent-cli.sh PODHOOK HOOKS_DIR
set -uo pipefail
podhook=$1
hooks=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-cli.XXXXXX")
daemon=
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if "${@:2}"; then ok "$1"; else nok "$1"; fi; }
wait_for() { # wait_for SECONDS COMMAND...
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.2
        done
}

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
check "String input coerced with str()" grep -q '"deploy_stdout": "n=\[1, None\]' "$work/state/deployed/cfg-1.notify.json"
check "no secret in the agent's log" test -z "$(grep Sup3rSecretPw "$work/run1.log")"
check "the new os-collect-config is followed" grep -q "following the os-collect-config" "$work/run1.log"
check "and kept in the state dir" grep -q "$work/d2" "$work/state/os-collect-config.json"
check "that file is 0600" test "$(stat -c %a "$work/state/os-collect-config.json")" = 600

"$podhook" agent "${common[@]}" --one-time >"$work/run2.log" 2>&1
check "second run exits 0" test $? = 0
check "second run polls the followed source" grep -q "deployment cfg-2 (second, group script): running CREATE" "$work/run2.log"
check "cfg-1 is not run again" test -z "$(grep 'cfg-1' "$work/run2.log")"

"$podhook" agent --bootstrap "$work/boot.json" --state-dir "$work/state" --occ-config '' --config '' \
        --interval 1 --log-level debug >"$work/daemon.log" 2>&1 &
daemon=$!
check "the daemon takes the lock" wait_for 10 bash -c "! flock -n '$work/state/lock' true"
"$podhook" agent "${common[@]}" --one-time >"$work/second.log" 2>&1
check "a second agent on the same state dir is refused" test $? != 0
check "with a clear message" grep -q "another podhook agent" "$work/second.log"
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

echo "1..$n"
[ $fails = 0 ]
