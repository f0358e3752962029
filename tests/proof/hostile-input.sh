#!/bin/bash
# Hostile input for the agent as a whole (issue 12): the daemon polls a metadata server that answers
# badly (hostile-server.py), through the request source (Swift's POLL_TEMP_URL) and the CFN source
# (heat-api-cfn's XML). For each answer: a clear error in the log, at every poll (the daemon keeps
# going, in bounded time), the agent's peak memory (VmHWM, read while it runs) under a bound, nothing
# run or marked done, and a clean exit at SIGTERM. Good answers beside them (the controls) are run, so
# a harness that deployed nothing would fail. No Engine: a docker deployment is given an address where
# none answers, which only matters if the manifest got that far.
#   hostile-input.sh PODHOOK HOOKS_DIR   (PODHOOK: a build without sanitizers, for the memory figures)
podhook=$1
hooks=$2
src=
. "$(dirname "$0")/lib.sh"
max_kb=$((100 * 1024))
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o RUNS=$work/runs
touch "$work/runs" "$work/server.log"
python3 "$proof/hostile-server.py" "$work/hport" "$work/server.log" &
server=$!
cleanups+=("kill $server 2>/dev/null")
wait_for 20 test -s "$work/hport" || { echo "Bail out! the hostile server did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$work/hport")"

count() { grep -c -- "$1" "$2"; }
# [times=N] poll NAME SOURCE_JSON EXPECT [EXTRA_ARGS...]: the daemon on that source until EXPECT was
# logged N times (default 2: two polls, each given up on cleanly), its peak memory, then SIGTERM.
poll() {
        local name=$1 source=$2 expect=$3 t0=$SECONDS hwm times=${times:-2}
        shift 3
        mkdir -p -m 700 "$work/$name.state"
        printf '{"collectors": %s, %s}\n' "$(jq -c 'keys' <<<"$source")" "${source:1:-1}" >"$work/$name.boot.json"
        (exec "$podhook" agent --bootstrap "$work/$name.boot.json" --state-dir "$work/$name.state" --occ-config '' \
                --config '' --interval 1 --min-interval 1 --request-timeout 3 "$@" >"$work/$name.log" 2>&1) &
        daemon=$!
        check "$name: said $times times, in bounded time: $expect" \
                wait_for 45 bash -c "[ \$(grep -c -- '$expect' '$work/$name.log') -ge $times ]"
        hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$daemon/status" 2>/dev/null)
        echo "# $name: $((SECONDS - t0)) s, VmHWM ${hwm:-?} kB"
        check "$name: peak memory under $((max_kb / 1024)) MB (${hwm:-?} kB)" test "${hwm:-999999999}" -lt $max_kb
        check "$name: still running, SIGTERM: exit 0" stop
}
nothing_done() { # nothing_done NAME: no deployment ran or is marked
        check "$1: nothing run" test ! -s "$work/runs"
        check "$1: nothing marked done" test -z "$(ls "$work/$1.state/deployed" 2>/dev/null)"
}
request() { printf '{"request": {"metadata_url": "%s"}}' "$url/$1"; }
cfn() { printf '{"cfn": {"metadata_url": "%s/cfn/%s/", "access_key_id": "AK", "secret_access_key": "SK", "stack_name": "st", "path": "server.Metadata"}}' "$url" "$1"; }
ran() { grep -qx "ran $1" "$work/runs"; }

# The controls: a good answer, straight and through a same-origin redirect, is run.
times=1 poll good "$(request good/goodid)" "goodid.*CREATE done"
check "good: the control deployment ran" ran goodid
: >"$work/runs"

poll big "$(request big/100)" "response larger than"
nothing_done big
poll many "$(request many/60)" "the answer holds more than 262144 JSON values"
nothing_done many
poll deep "$(request deep/100000)" "not JSON"
nothing_done deep
poll drip "$(request drip)" "source request.*\(timed out\|Timeout\|timeout\)"
nothing_done drip
poll mute "$(request mute)" "source request.*\(timed out\|Timeout\|timeout\)"
nothing_done mute
poll away "$(request away/good/awayid)" "HTTP 302"
nothing_done away
check "away: the other host was never asked" test "$(grep -c 'GET /good/awayid' "$work/server.log")" = 0
poll loop "$(request loop)" "source request.*HTTP 302"
nothing_done loop
poll truncated "$(request truncated)" "answer is not JSON"
nothing_done truncated
poll array "$(request array)" "not a JSON object"
nothing_done array

times=1 poll same "$(request same/good/sameid)" "sameid.*CREATE done"
check "same: a same-origin redirect is followed" ran sameid
: >"$work/runs"

times=1 poll ids "$(request ids)" "idsok.*CREATE done"
check "ids: the good deployment beside them ran" ran idsok
check "ids: none of the others ran" test "$(wc -l <"$work/runs")" = 1
check "ids: each refused, said" test "$(count 'missing or unusable id' "$work/ids.log")" -ge 8
check "ids: nothing else in the state directory's deployed/ and results/" \
        test "$(ls "$work/ids.state/deployed" "$work/ids.state/results" | grep -c json)" = 2
check "ids: nothing written outside the state directory" test ! -e "$work/escape" -a ! -e "$work/ids.state/../escape.json" -a ! -e /abs.json
check "ids: only the good one is marked" test "$(ls "$work/ids.state/deployed")" = idsok.json
: >"$work/runs"

poll nulid "$(request nulid)" "answer is not JSON"
nothing_done nulid

poll bomb "$(request bomb)" "cannot reconcile pods" --docker-host unix:///nonexistent/docker.sock
check "bomb: said, naming the line" grep -q "deployment phproof-bomb:[0-9]*: alias expansion makes the document larger" "$work/bomb.log"
check "bomb: the manifest is refused for its alias expansion" \
        bash -c "jq -r .deploy_stderr '$work/bomb.state/results/bomb1.json' | grep -q 'alias expansion'"
check "bomb: its result is a failure" test "$(jq .deploy_status_code "$work/bomb.state/results/bomb1.json")" != 0

times=1 poll cfngood "$(cfn good)" "cfnok.*CREATE done"
check "cfn good: the control deployment ran" ran cfnok
: >"$work/runs"
for k in unclosed deep entity notjson nul big; do
        case $k in
        unclosed | deep) want="malformed\|no DescribeStackResourceResult" ;;
        entity) want="source cfn" ;;
        notjson) want="not JSON" ;;
        nul) want="NUL byte" ;;
        big) want="source cfn" ;;
        esac
        poll "cfn$k" "$(cfn "$k")" "$want"
        nothing_done "cfn$k"
done
tap_done
