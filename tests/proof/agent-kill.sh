#!/bin/bash
# The agent SIGKILLed at every point of a pass (issue 12, faults): a pod of group docker, updated by a
# new deployment each round (main's env VERSION changes), with a hostDir and an emptyDir, its results
# POSTed to a local endpoint that logs every request. Each round kills the agent (--one-time) once:
#   - after its Nth Engine call that changes something (PODHOOK_TEST_CRASH_AFTER_CALLS=N, docker.c),
#   - after its Nth durable file change in the state directory (PODHOOK_TEST_CRASH_AFTER_WRITES=N,
#     fileio.c: atomic writes, moves, removals),
# for N = 1, 2, ... until a pass completes before the Nth; then the agent runs again. After that run:
# exit 0, the pod converged to the round's version, one container per name (none duplicated, none put
# aside), every one running, no update journal, the round's result signalled exactly once and every
# earlier round's still once, the hostDir and emptyDir data unchanged. Then SIGKILL of the daemon at
# pseudo-random instants (fixed seed) with the same checks.
#   agent-kill.sh PODHOOK SRC_DIR
podhook=$1
src=$2
. "$(dirname "$0")/lib.sh"
need_engine
pod_setup kill
manifest() { two_containers "$1" 3600 "$work/host"; }
rounds=()
converged() { # converged WHAT ID VERSION: the checks after a round
        local what=$1 id=$2 version=$3 r bad=
        check "$what: one container per name, none aside" test "$(names "$pod")" = "$pod._infra $pod.main $pod.side "
        check "$what: all running" wait_for 10 bash -c "[ \$(docker ps -q --filter label=io.podhook.pod=$pod | wc -l) = 3 ]"
        check "$what: main is version $version" test "$(env_of "$pod" main VERSION)" = "$version"
        check "$what: no update journal left" bash -c "! compgen -G '$work/k.state/pods/*.journal.json' >/dev/null"
        check "$what: not in progress" test ! -e "$work/k.state/inprogress/$id.json"
        check "$what: its result signalled once (got $(signals "$id"))" test "$(signals "$id")" = 1
        for r in "${rounds[@]}"; do [ "$(signals "$r")" = 1 ] || bad="$bad $r"; done
        check "$what: every earlier result still once${bad:+ (not:$bad)}" test -z "$bad"
        check "$what: hostDir and emptyDir data unchanged" test "$(sums "$pod")" = "$sums0"
        rounds+=("$id")
}

# The pod, before any kill.
manifest 0 >"$work/m0.yaml"
meta "$work/k" "$(dep "$pfx-r0" "$pod" "$work/m0.yaml")"
agent k --one-time >"$work/r0.log" 2>&1
check "the first deployment: exit 0" test $? = 0
docker exec "$pod.main" sh -c 'head -c 65536 /dev/urandom > /shared/blob'
sums0=$(sums "$pod")
check "the data is there" test "$(echo "$sums0" | wc -w)" = 2
converged "the first deployment" "$pfx-r0" 0

round=0
sweep() { # sweep VARIABLE: kill after 1, 2, ... counts of VARIABLE until a pass completes first
        local var=$1 k rc id kills=0
        for ((k = 1; k <= 60; k++)); do
                round=$((round + 1))
                id=$pfx-r$round
                manifest "$round" >"$work/m.yaml"
                meta "$work/k" "$(dep "$id" "$pod" "$work/m.yaml")"
                env "$var=$k" "$podhook" agent --bootstrap "$work/k.boot.json" --state-dir "$work/k.state" \
                        --occ-config '' --config '' --retry-max 2 --request-timeout 5 --start-window 0 \
                        --grace-seconds 1 --one-time >"$work/r$round.log" 2>&1
                rc=$?
                if [ $rc = 137 ]; then
                        kills=$((kills + 1))
                        agent k --one-time >"$work/r$round.after.log" 2>&1
                        check "$var=$k: killed; the next run: exit 0" test $? = 0
                        converged "$var=$k" "$id" "$round"
                        continue
                fi
                check "$var=$k: the pass completes before its ${k}th: exit 0 (got $rc)" test $rc = 0
                converged "$var=$k, not killed" "$id" "$round"
                break
        done
        echo "# $var: killed after each of $kills points"
        check "$var: at least 5 kill points in a pass" test $kills -ge 5
}
sweep PODHOOK_TEST_CRASH_AFTER_CALLS
sweep PODHOOK_TEST_CRASH_AFTER_WRITES

# The daemon killed at pseudo-random instants of its passes (fixed seed: the same instants each run).
RANDOM=12
for ((i = 1; i <= 8; i++)); do
        round=$((round + 1))
        id=$pfx-r$round
        manifest "$round" >"$work/m.yaml"
        start k "$work/d$round.log" --interval 1 --min-interval 1
        meta "$work/k" "$(dep "$id" "$pod" "$work/m.yaml")"
        # A fault injected after a delay, not a synchronisation: 0 to 1.5 s into the pass.
        sleep "$((RANDOM % 16))e-1"
        kill -KILL "$daemon"
        wait "$daemon" 2>/dev/null
        daemon=
        agent k --one-time >"$work/d$round.after.log" 2>&1
        check "daemon killed at a random instant ($i): the next run: exit 0" test $? = 0
        converged "random kill $i" "$id" "$round"
done
tap_done
