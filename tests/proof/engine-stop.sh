#!/bin/bash
# dockerd stopped (SIGSTOP) in the middle of an apply, then continued (issue 12, faults): the daemon
# updates a pod; right after the update starts the Engine is frozen for 10 s. The agent waits (its
# Engine calls have a 120 s limit), says nothing false, and once the Engine answers again the update
# completes: the pod converged, one container per name, the result signalled once and a success, the
# data unchanged. Run under the engine lock and the Podman lock (the whole Engine stops); the EXIT
# trap always continues dockerd.
#   engine-stop.sh PODHOOK SRC_DIR
podhook=$1
src=$2
. "$(dirname "$0")/lib.sh"
need_engine
dpid=$(cat /var/run/docker.pid 2>/dev/null)
if [ -z "$dpid" ] || ! kill -0 "$dpid" 2>/dev/null; then
        [ -n "${PODHOOK_REQUIRE_ALL:-}" ] && { echo "Bail out! no dockerd pid in /var/run/docker.pid"; exit 1; }
        echo "1..0 # SKIP dockerd's pid is unknown"
        exit 77
fi
[ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != unix:///var/run/docker.sock ] && { echo "1..0 # SKIP not the local dockerd"; exit 77; }
cleanups+=("kill -CONT $dpid")
pod_setup stop
two_containers 1 3600 "$work/host" >"$work/m1.yaml"
two_containers 2 3600 "$work/host" >"$work/m2.yaml"
meta "$work/s" "$(dep "$pfx-d1" "$pod" "$work/m1.yaml")"
start s "$work/agent.log" --interval 1 --min-interval 1
check "the pod is deployed" wait_for 60 bash -c "[ \$(grep -c ' POST /ok/$pfx-d1 ' '$work/lab.log') = 1 ]"
docker exec "$pod.main" sh -c 'head -c 65536 /dev/urandom > /shared/blob'
sums0=$(sums "$pod")

meta "$work/s" "$(dep "$pfx-d2" "$pod" "$work/m2.yaml")"
check "the update starts" wait_for 30 grep -q "deployment $pfx-d2 .*running CREATE" "$work/agent.log"
kill -STOP "$dpid"
t0=$SECONDS
# The Engine stays frozen for 10 s: that is the fault, not a synchronisation.
sleep 10
check "while the Engine is frozen nothing is signalled" test "$(signals "$pfx-d2")" = 0
check "and the agent is still there" kill -0 "$daemon"
kill -CONT "$dpid"
check "once the Engine answers, the update completes and is signalled" \
        wait_for 120 bash -c "[ \$(grep -c ' POST /ok/$pfx-d2 ' '$work/lab.log') -ge 1 ]"
echo "# the update took $((SECONDS - t0)) s after the freeze began"
check "a success" bash -c "grep ' POST /ok/$pfx-d2 ' '$work/lab.log' | grep -q '\"deploy_status_code\": *0[,}]'"
check "one container per name, none aside" test "$(names "$pod")" = "$pod._infra $pod.main $pod.side "
check "main runs version 2" test "$(env_of "$pod" main VERSION)" = 2
check "all running" test "$(running_count "$pod")" = 3
check "the data unchanged" test "$(sums "$pod")" = "$sums0"
sleep 3 # quiet time in which a second signal would show; not a synchronisation
check "signalled once" test "$(signals "$pfx-d2")" = 1
check "SIGTERM: exit 0" stop
tap_done
