#!/bin/bash
# The outbox through the real transports: a CFN-style signal answered 503 stays in the outbox with
# its schedule, survives a restart, is delivered by the next run without running the deployment
# again, and the signed URL never appears in the log.
#   agent-signal-retry.sh PODHOOK HOOKS_DIR
set -uo pipefail
podhook=$1
hooks=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-signal-retry.XXXXXX")
server=
server2=
trap 'kill $server $server2 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=tap.sh
. "$here/tap.sh"

python3 "$here/signal-server.py" "$work/port" "$work/requests.log" 2 &
server=$!
wait_for 20 test -s "$work/port" || { echo "Bail out! signal server did not start"; exit 1; }
port=$(cat "$work/port")
url="http://127.0.0.1:$port/v1/signal/arn?Timestamp=t&SignatureMethod=HmacSHA256&Signature=S1gnedS3cret"

mkdir -m 700 "$work/d"
(umask 077 && cat >"$work/d/meta.json" <<EOF2
{"deployments": [{"id": "cfg-o", "name": "o", "group": "script",
  "config": "#!/bin/sh\necho run >> $work/runs\necho hello\n",
  "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"},
             {"name": "deploy_signal_transport", "type": "String", "value": "CFN_SIGNAL"},
             {"name": "deploy_signal_id", "type": "String", "value": "$url"},
             {"name": "deploy_signal_verb", "type": "String", "value": "POST"}],
  "outputs": []}]}
EOF2
)
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d" >"$work/boot.json"
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o
a=(--bootstrap "$work/boot.json" --state-dir "$work/state" --occ-config '' --config '' --retry-max 2)

"$podhook" agent "${a[@]}" --one-time >"$work/run1.log" 2>&1
check "503 twice: the run says signals are pending (exit 1)" test $? = 1
check "the deployment ran once" test "$(wc -l <"$work/runs")" = 1
check "the result is in the outbox" test -f "$work/state/outbox/cfg-o.json"
check "0600" test "$(stat -c %a "$work/state/outbox/cfg-o.json")" = 600
check "with its attempt count and next attempt time" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
sys.exit(0 if e["attempts"] == 2 and e["next_attempt"] > 0 and e["data"]["deploy_stdout"] == "hello\n" else 1)' \
        "$work/state/outbox/cfg-o.json"
check "the retry is logged" grep -q "signal for cfg-o not delivered (attempt 1)" "$work/run1.log"

"$podhook" agent "${a[@]}" --one-time >"$work/run2.log" 2>&1
check "the next run delivers it (exit 0)" test $? = 0
check "without running the deployment again" test "$(wc -l <"$work/runs")" = 1
check "the outbox is empty" test -z "$(compgen -G "$work/state/outbox/*.json")"
check "three POSTs in all, the last one accepted" test "$(grep -c '^POST /v1/signal/arn?' "$work/requests.log")" = 3
check "the body is the hook's result" grep -q '"deploy_stdout": *"hello\\n"' "$work/requests.log"
check "the signed URL is not in the logs" test -z "$(grep -l S1gnedS3cret "$work/run1.log" "$work/run2.log")"

"$podhook" agent "${a[@]}" --one-time >"$work/run3.log" 2>&1
check "a third run sends nothing more" test "$(grep -c '^POST' "$work/requests.log")" = 3
# A result still undelivered when Heat has moved on to a newer config of the same deployment is
# dropped: Heat would take a late signal as the newer config's result.
python3 "$here/signal-server.py" "$work/port2" "$work/requests2.log" 2 &
server2=$!
wait_for 20 test -s "$work/port2" || { echo "Bail out! signal server did not start"; exit 1; }
url2="http://127.0.0.1:$(cat "$work/port2")/v1/signal/arn2?Signature=S1gnedS3cret"
meta2() { # meta2 ID ACTION TEXT
        (umask 077 && cat >"$work/d2/meta.json" <<EOF2
{"deployments": [{"id": "$1", "name": "o", "group": "script", "config": "#!/bin/sh\necho $3\n",
  "inputs": [{"name": "deploy_action", "type": "String", "value": "$2"},
             {"name": "deploy_stack_id", "type": "String", "value": "st/1"},
             {"name": "deploy_resource_name", "type": "String", "value": "dep"},
             {"name": "deploy_signal_id", "type": "String", "value": "$url2"},
             {"name": "deploy_signal_verb", "type": "String", "value": "POST"}],
  "outputs": []}]}
EOF2
)
}
mkdir -m 700 "$work/d2"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d2" >"$work/boot2.json"
b=(--bootstrap "$work/boot2.json" --state-dir "$work/state2" --occ-config '' --config '' --retry-max 2)
meta2 cfg-create CREATE created
"$podhook" agent "${b[@]}" --one-time >"$work/stale1.log" 2>&1
check "CREATE's signal is pending" test -f "$work/state2/outbox/cfg-create.json"
meta2 cfg-update UPDATE updated
"$podhook" agent "${b[@]}" --one-time >"$work/stale2.log" 2>&1
check "after the UPDATE arrived: exit 0" test $? = 0
check "the UPDATE result is delivered" grep -q '"deploy_stdout": *"updated\\n"' "$work/requests2.log"
check "the stale CREATE result is not sent again" test "$(grep -c 'created' "$work/requests2.log")" = 2
check "and is gone from the outbox" test -z "$(compgen -G "$work/state2/outbox/*.json")"
check "why is logged" grep -q "signal for cfg-create not sent: superseded" "$work/stale2.log"
tap_done
