#!/bin/bash
# The agent's own state under pressure (issue 6), with the real program, the heat-config script hook,
# the local source and a stand-in signal endpoint (signal-lab.py):
#   - a full state file system (a small tmpfs): a deployment runs once and is signalled once, however
#     many passes it takes to store its result, and also when only results/<id>.json cannot be written;
#     --one-time exits non-zero and the next run tells Heat instead of running it again
#   - a hook flooding 40 MB of newlines: the trimmed result is signalled; an unreadable outbox file is
#     reported and moved to outbox/bad/
#   - a slow endpoint: a signal that may have arrived is sent again only after the long back-off
#   - 3xx, 400, 404 and 413 answers: followed, retried, dropped loudly, retried smaller
#   - ids that used to collide ("X" and "X.notify"), and the state layout of an older podhook
#   - an interrupted deployment missing from one pass is still resumed when it comes back
#   - a kill right after a 2xx (fault point): the result is not sent a second time
#   agent-durability.sh PODHOOK HOOKS_DIR BLOCK_HOOK
set -uo pipefail
podhook=$1
hooks=$2
block_hook=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-durability.XXXXXX")
lab=
daemon=
mounts=()
cleanup() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        [ -n "$lab" ] && kill "$lab" 2>/dev/null
        for f in "$work"/started.*; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
        for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
        [ -n "${PH_TEST_KEEP:-}" ] && echo "# kept $work" || rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tap.sh
. "$here/tap.sh"
skip() { # skip DESCRIPTION REASON
        n=$((n + 1))
        echo "ok $n - $1 # SKIP $2"
}

python3 "$here/signal-lab.py" "$work/port" "$work/lab.log" &
lab=$!
wait_for 20 test -s "$work/port" || { echo "Bail out! signal endpoint did not start"; exit 1; }
base="http://127.0.0.1:$(cat "$work/port")"
touch "$work/lab.log" "$work/runs"
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o

dep() { # dep ID SCRIPT [SIGNAL_URL]: one script deployment; SCRIPT also appends ID to $work/runs
        python3 - "$work/runs" "$@" <<'EOF2'
import json, sys
runs, id, script = sys.argv[1], sys.argv[2], sys.argv[3]
url = sys.argv[4] if len(sys.argv) > 4 else ''
inputs = [{"name": "deploy_action", "type": "String", "value": "CREATE"}]
if url:
    inputs += [{"name": "deploy_signal_id", "type": "String", "value": url},
               {"name": "deploy_signal_verb", "type": "String", "value": "POST"}]
config = "#!/bin/sh\necho %s >> %s\n%s\n" % (id, runs, script)
print(json.dumps({"id": id, "name": id, "group": "script", "config": config, "inputs": inputs, "outputs": []}))
EOF2
}
meta() { # meta DIR DEPLOYMENT_JSON...
        local dir=$1 IFS=,
        shift
        mkdir -p -m 700 "$dir"
        (umask 077 && printf '{"deployments": [%s]}\n' "$*" >"$dir/meta.json.tmp" && mv "$dir/meta.json.tmp" "$dir/meta.json")
}
boot() { # boot DIR: a bootstrap file polling the local source DIR
        printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$1" >"$1.boot.json"
        echo "$1.boot.json"
}
agent() { # agent NAME ARGS...: the agent on metadata dir $work/NAME and state dir $work/NAME.state
        local name=$1
        shift
        "$podhook" agent --bootstrap "$(boot "$work/$name")" --state-dir "$work/$name.state" --occ-config '' \
                --config '' --retry-max 2 --request-timeout 2 "$@"
}
start() { # start NAME LOG ARGS...: agent NAME in the background as $daemon (its own pid, not a subshell's)
        local name=$1 log=$2
        shift 2
        (exec "$podhook" agent --bootstrap "$(boot "$work/$name")" --state-dir "$work/$name.state" --occ-config '' \
                --config '' --retry-max 2 --request-timeout 2 "$@" >"$log" 2>&1) &
        daemon=$!
}
stop() { # stop: SIGTERM to the daemon; its exit status
        kill -TERM "$daemon"
        wait "$daemon"
        local rc=$?
        daemon=
        return $rc
}
runs() { grep -c "^$1\$" "$work/runs"; }
signals() { grep -cE " POST /[^ ]*/$1( |\?)" "$work/lab.log"; }
count() { grep -c "$1" "$2"; }
stored() { test -f "$work/$1/results/$2.json" -o -f "$work/$1/deployed/$2.notify.json"; } # stored STATE ID
passes() { # passes LOG N: wait for N more passes of the daemon logging to LOG
        local want=$(($(count 'pass done' "$1") + $2))
        check "$2 passes later" wait_for 30 bash -c "[ \$(grep -c 'pass done' '$1') -ge $want ]"
}
tmpfs() { # tmpfs DIR SIZE: a small file system of its own as a state directory
        mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=700" tmpfs "$1" || return 1
        mounts+=("$1")
}
can_mount=yes
if ! tmpfs "$work/probe" 64k; then
        [ -n "${PODHOOK_REQUIRE_ALL:-}" ] && { echo "Bail out! cannot mount a tmpfs (root needed)"; exit 1; }
        can_mount=
fi

# --- 1. the state file system is full -----------------------------------------------------------
flood100k='head -c 100000 /dev/zero | tr "\0" x'
full_case() { # full_case NAME SIZE: the daemon on a SIZE tmpfs, deployment NAME1 printing 100 kB
        tmpfs "$work/$1.state" "$2"
        meta "$work/$1" "$(dep "${1}1" "$flood100k" "$base/ok/${1}1")"
        start "$1" "$work/$1.log" --interval 1 --min-interval 1 --log-level debug
}
signalled() { wait_for 30 bash -c "[ \$(grep -c ' POST /ok/$1' '$work/lab.log') -ge 1 ]"; }
once_each() { # once_each ID LOG: some passes later, one run and one signal; the daemon stops cleanly
        passes "$2" 3
        check "$1: still one run" test "$(runs "$1")" = 1
        check "$1: and one signal" test "$(signals "$1")" = 1
        check "$1: SIGTERM: exit 0 (nothing is left only in memory)" stop
}
if [ -n "$can_mount" ]; then
        # The result (100 kB) does not fit at all: run once, keep it, store and send it once space returns.
        full_case full 64k
        check "full disk: the outbox write fails, said at error level" \
                wait_for 30 bash -c "[ \$(grep -c 'full1: cannot write the agent.s state.*not run again' '$work/full.log') -ge 3 ]"
        check "several passes later the deployment ran once" test "$(runs full1)" = 1
        check "and nothing was sent yet (the result is not on disk)" test "$(signals full1)" = 0
        check "one error line per pass, not a loop" \
                test "$(count 'full1: cannot write' "$work/full.log")" -le "$(($(count 'pass done' "$work/full.log") + 1))"
        mount -o remount,size=4m "$work/full.state"
        check "once there is space the result is signalled" signalled full1
        check "it is stored" wait_for 10 stored full.state full1
        once_each full1 "$work/full.log"

        # Only results/<id>.json does not fit (the outbox entry does): done, signalled once.
        full_case notify 160k
        check "results/ full: the signal goes out" signalled notify1
        check "and the write is retried until it works" wait_for 30 stored notify.state notify1
        once_each notify1 "$work/notify.log"

        # --one-time on a full disk: exit non-zero; the next run does not run it again but tells Heat.
        tmpfs "$work/once.state" 64k
        meta "$work/once" "$(dep once1 "$flood100k" "$base/ok/once1")"
        agent once --one-time >"$work/once1.log" 2>&1
        check "--one-time with a result it cannot store: exit non-zero" test $? != 0
        check "it says the result is lost" grep -q "once1: its result was never stored and is lost" "$work/once1.log"
        check "it ran once" test "$(runs once1)" = 1
        mount -o remount,size=4m "$work/once.state"
        agent once --one-time >"$work/once2.log" 2>&1
        check "the next run: exit 0" test $? = 0
        check "without running it again" test "$(runs once1)" = 1
        check "Heat is told it failed" bash -c "grep ' POST /ok/once1' '$work/lab.log' | grep -q 'could not store its result'"
        check "once" test "$(signals once1)" = 1
else
        for t in "full disk: run once, signal once" "results/ full: run once, signal once" "--one-time on a full disk"; do
                skip "$t" "cannot mount a tmpfs"
        done
fi

# A crash after the result was stored, before the in-progress record went: finished, not run again.
meta "$work/crash" "$(dep crash1 "echo crash" "$base/status/503/crash1")"
agent crash --one-time >"$work/crash1.log" 2>&1
check "a result waits in the outbox (503)" test -f "$work/crash.state/outbox/crash1.json"
mkdir -p "$work/crash.state/inprogress"
touch -d '-1 minute' "$work/crash.state/inprogress/crash1.json" "$work/crash.state/deployed/crash1.inprogress"
agent crash --one-time >"$work/crash2.log" 2>&1
check "interrupted after its result was stored: not run again" test "$(runs crash1)" = 1
check "but finished" test ! -e "$work/crash.state/inprogress/crash1.json" -a ! -e "$work/crash.state/deployed/crash1.inprogress"
check "and its signal is still tried" test "$(signals crash1)" -ge 3

# --- 2. a flood of output -----------------------------------------------------------------------
meta "$work/flood" "$(dep flood1 'head -c 40000000 /dev/zero | tr "\0" "\n"; echo THE-END' "$base/ok/flood1")"
t0=$SECONDS
agent flood --one-time >"$work/flood.log" 2>&1
check "40 MB of newlines: --one-time exits 0 (everything delivered)" test $? = 0
check "in reasonable time" test $((SECONDS - t0)) -lt 60
check "the trimmed result was signalled once" test "$(signals flood1)" = 1
check "within the body limit" bash -c "[ \$(grep ' POST /ok/flood1' '$work/lab.log' | awk '{print \$4}') -le 950000 ]"
check "nothing is left in the outbox" test -z "$(compgen -G "$work/flood.state/outbox/*.json")"

mkdir -p -m 700 "$work/junk.state/outbox"
printf '{"id": "junk", "inputs": {' >"$work/junk.state/outbox/junk.json"
meta "$work/junk" "$(dep junk2 "echo fine" "$base/ok/junk2")"
agent junk --one-time >"$work/junk.log" 2>&1
check "an unreadable outbox file: --one-time exits non-zero" test $? != 0
check "reported at error level, with the file" grep -q "error.*outbox/junk.json: not JSON" "$work/junk.log"
check "moved aside, not deleted" test -f "$work/junk.state/outbox/bad/junk.json"
check "the other result is still delivered" test "$(signals junk2)" = 1

# --- 3. a slow endpoint ---------------------------------------------------------------------------
meta "$work/slow" "$(dep slow1 "echo slow" "$base/slow/3000/slow1")"
start slow "$work/slow.log" --request-timeout 1 --interval 1 --min-interval 1
check "a 200 after the timeout: the signal is sent again" \
        wait_for 40 bash -c "[ \$(grep -c ' POST /slow/3000/slow1' '$work/lab.log') -ge 2 ]"
gap=$(grep ' POST /slow/3000/slow1' "$work/lab.log" | head -2 | awk 'NR==1{a=$1} NR==2{printf "%d", $1-a}')
check "only after the long back-off (>= 10 s, was $gap s)" test "$gap" -ge 10
check "logged as maybe arrived" grep -q "slow1 sent but not answered (attempt 1; it may have arrived)" "$work/slow.log"
stop

# --- 4. 3xx, 4xx answers --------------------------------------------------------------------------
big='head -c 200000 /dev/zero | tr "\0" y'
meta "$work/codes" "$(dep moved1 "echo moved" "$base/redirect/307/ok/moved1")" \
        "$(dep away1 "echo away" "$base/away/away1")" \
        "$(dep bad1 "echo bad" "$base/status/400/bad1")" \
        "$(dep gone1 "echo gone" "$base/status/404/gone1")" \
        "$(dep big1 "$big" "$base/big/65536/big1")"
agent codes --one-time >"$work/codes.log" 2>&1
check "some signals are not delivered: exit non-zero" test $? != 0
check "307 to the same host: followed" test "$(signals moved1)" = 2
check "and delivered there, with the body" bash -c "grep ' POST /ok/moved1' '$work/lab.log' | grep -q deploy_stdout"
check "302 to another host: not followed" bash -c "! grep -q 'POST /ok/away1' '$work/lab.log'"
check "but kept for a retry" test -f "$work/codes.state/outbox/away1.json"
check "and logged" grep -q "away1 not delivered.*redirect to http://localhost:.* not followed" "$work/codes.log"
check "400: kept for a retry" test -f "$work/codes.state/outbox/bad1.json"
check "404: dropped" test ! -f "$work/codes.state/outbox/gone1.json"
check "at error level, naming the deployment" grep -q "error.*signal for deployment gone1 dropped:.*HTTP 404" "$work/codes.log"
check "413: sent again at once, smaller" test "$(signals big1)" = 2
check "and taken" bash -c "grep ' POST /big/65536/big1' '$work/lab.log' | tail -1 | awk '{exit !(\$4 <= 65536)}'"
check "not left in the outbox" test ! -f "$work/codes.state/outbox/big1.json"

# --- 6. ids that collided, and an older state directory -------------------------------------------
meta "$work/ids" "$(dep X "echo x" "$base/ok/X")" "$(dep X.notify "echo x.notify" "$base/ok/X.notify")"
agent ids --one-time >"$work/ids.log" 2>&1
check "ids X and X.notify: exit 0" test $? = 0
check "X ran" test "$(runs X)" = 1
check "X.notify ran too" test "$(runs X.notify)" = 1
check "both signalled" bash -c "[ \$(grep -c ' POST /ok/X ' '$work/lab.log') = 1 ] && [ \$(grep -c ' POST /ok/X.notify ' '$work/lab.log') = 1 ]"

mkdir -p -m 700 "$work/legacy.state/deployed"
meta "$work/legacy" "$(dep old1 "echo old" "$base/ok/old1")" "$(dep cut1 "echo cut" "$base/ok/cut1")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["deployments"]; [open(sys.argv[2]+"/"+x["id"]+".json","w").write(json.dumps(x)) for x in d]' \
        "$work/legacy/meta.json" "$work/legacy.state/deployed"
echo '{"deploy_stdout": "old\n", "deploy_status_code": 0}' >"$work/legacy.state/deployed/old1.notify.json"
: >"$work/legacy.state/deployed/cut1.inprogress"
agent legacy --one-time >"$work/legacy.log" 2>&1
check "an older state directory: exit 0" test $? = 0
check "a finished deployment is not run again" test "$(runs old1)" = 0
check "its result moved to results/" test -f "$work/legacy.state/results/old1.json"
check "an interrupted one is resumed, once" test "$(runs cut1)" = 1
check "and finished" test ! -e "$work/legacy.state/inprogress/cut1.json" -a ! -e "$work/legacy.state/deployed/cut1.inprogress"

# --- 5. an interrupted deployment missing from one pass ------------------------------------------
mkdir -m 700 "$work/bh"
ln -s "$block_hook" "$work/bh/phe2e_block"
mkfifo "$work/fifo"
blk='{"id": "blk1", "name": "blk1", "group": "phe2e_block", "config": "", "outputs": [],
      "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}]}'
meta "$work/blk" "$blk"
PHE2E_DIR=$work HEAT_CONFIG_HOOKS=$work/bh start blk "$work/blk1.log" --interval 1
check "a blocking hook started" wait_for 20 test -e "$work/started.1"
check "SIGTERM during the hook: exit 0" stop
in_progress() { test -e "$work/blk.state/inprogress/blk1.json" -o -e "$work/blk.state/deployed/blk1.inprogress"; }
check "interrupted: left in progress" in_progress
meta "$work/blk"
PHE2E_DIR=$work HEAT_CONFIG_HOOKS=$work/bh agent blk --one-time >"$work/blk2.log" 2>&1
check "one pass without it keeps it in progress" in_progress
meta "$work/blk" "$blk"
PHE2E_DIR=$work HEAT_CONFIG_HOOKS=$work/bh start blk "$work/blk3.log" --one-time
check "when it comes back it is resumed" wait_for 20 test -e "$work/started.2"
timeout 20 bash -c "echo released >'$work/fifo'"
check "the resumed run ends: exit 0" wait "$daemon"
daemon=
not_in_progress() { ! in_progress; }
check "and finished" not_in_progress

# --- 8. a kill right after the 2xx ----------------------------------------------------------------
meta "$work/kill" "$(dep kill1 "echo once" "$base/ok/kill1")"
PODHOOK_TEST_FAULT=after-2xx agent kill --one-time >"$work/kill1.log" 2>&1
rc=$?
if [ $rc = 86 ]; then
        check "killed right after the 2xx" test "$(signals kill1)" = 1
        agent kill --one-time >"$work/kill2.log" 2>&1
        check "the next run: exit 0" test $? = 0
        check "the result is not sent a second time" test "$(signals kill1)" = 1
        check "nor the deployment run again" test "$(runs kill1)" = 1
elif [ -n "${PODHOOK_REQUIRE_ALL:-}" ]; then
        check "the build has fault points (PODHOOK_TEST_FAULT, exit 86; got $rc)" false
else
        skip "a kill right after the 2xx" "no fault points in this build"
fi

tap_done
