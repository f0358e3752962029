#!/bin/bash
# The signal endpoint down, then answering 500, then back (issue 12, faults): the daemon runs three
# deployments whose results go to an endpoint that is not listening yet; it comes up answering 500
# (and the agent is restarted meanwhile: the outbox is on disk), then answers 200. Every result is
# accepted exactly once (one 2xx answer per deployment, and no request for it after that), each
# deployment ran once, nothing is left in the outbox.
#   signal-outage.sh PODHOOK HOOKS_DIR
podhook=$1
hooks=$2
src=
. "$(dirname "$0")/lib.sh"
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o
touch "$work/runs" "$work/sig.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=
cleanups+=('[ -n "$server" ] && kill $server 2>/dev/null')
script() { # script ID: a script deployment that appends ID to runs, signalled to the switch endpoint
        jq -cn --arg id "$1" --arg runs "$work/runs" --arg url "http://127.0.0.1:$port/ok/$1" \
                '{id: $id, name: $id, group: "script", config: ("#!/bin/sh\necho " + $id + " >> " + $runs + "\n"),
                  outputs: [], inputs: [{name: "deploy_action", type: "String", value: "CREATE"},
                  {name: "deploy_signal_id", type: "String", value: $url},
                  {name: "deploy_signal_verb", type: "String", value: "POST"}]}'
}
answered() { grep -c "^$1 POST /ok/$2\$" "$work/sig.log"; } # answered CODE ID
meta "$work/o1" "$(script so1)" "$(script so2)" "$(script so3)"
start o1 "$work/a1.log" --interval 1 --min-interval 1 --retry-max 2
check "the endpoint is down: delivery fails, said" \
        wait_for 30 bash -c "[ \$(grep -c 'not delivered' '$work/a1.log') -ge 6 ]"
check "every deployment ran" wait_for 10 bash -c "[ \$(wc -l <'$work/runs') = 3 ]"
echo 500 >"$work/mode"
python3 "$proof/switch-server.py" "$port" "$work/mode" "$work/sig.log" &
server=$!
for id in so1 so2 so3; do
        check "$id: answered 500 twice" wait_for 30 bash -c "[ \$(grep -c '^500 POST /ok/$id\$' '$work/sig.log') -ge 2 ]"
done
check "restarted while the endpoint fails: exit 0" stop
start o1 "$work/a2.log" --interval 1 --min-interval 1 --retry-max 2
check "after the restart it keeps trying" \
        wait_for 30 bash -c "[ \$(grep -c '^500 POST /ok/so1\$' '$work/sig.log') -ge 3 ]"
echo ok >"$work/mode"
for id in so1 so2 so3; do
        check "$id: accepted once the endpoint is back" wait_for 30 bash -c "[ \$(grep -c '^200 POST /ok/$id\$' '$work/sig.log') -ge 1 ]"
done
check "the outbox is empty" wait_for 10 bash -c "! compgen -G '$work/o1.state/outbox/*.json' >/dev/null"
# Some retry periods later: nothing is sent again.
last=$(wc -l <"$work/sig.log")
sleep 6 # three retry caps of quiet, the thing being checked; not a synchronisation
check "SIGTERM: exit 0" stop
check "no request after the 2xx answers" test "$(wc -l <"$work/sig.log")" = "$last"
for id in so1 so2 so3; do
        check "$id: accepted exactly once" test "$(answered 200 "$id")" = 1
        check "$id: ran once" test "$(grep -cx "$id" "$work/runs")" = 1
done
tap_done
