#!/bin/bash
# The state directory's file system full during a pass, with pods on the real engine (issue 12,
# faults; agent-durability.sh proves the same for script hooks: run once, signal once, --one-time):
# a pod deployed by the daemon, its state directory a small tmpfs that is then filled up, and an
# update of the pod arrives. The agent says so clearly (no space), leaves no corrupt or partial state
# file (every JSON file parses, no temporary file stays), keeps the pod whole (one container per
# name, running); once space returns, the update completes by itself and is signalled exactly once.
#   state-full.sh PODHOOK SRC_DIR
podhook=$1
src=$2
. "$(dirname "$0")/lib.sh"
need_engine
mkdir -p "$work/f.state"
if ! mount -t tmpfs -o size=1m,mode=700 tmpfs "$work/f.state" 2>/dev/null; then
        [ -n "${PODHOOK_REQUIRE_ALL:-}" ] && { echo "Bail out! cannot mount a tmpfs (root needed)"; exit 1; }
        echo "1..0 # SKIP cannot mount a tmpfs"
        exit 77
fi
cleanups+=("umount '$work/f.state'")
pod_setup full
two_containers 1 3600 "$work/host" >"$work/m1.yaml"
two_containers 2 3600 "$work/host" >"$work/m2.yaml"
meta "$work/f" "$(dep "$pfx-d1" "$pod" "$work/m1.yaml")"
start f "$work/agent.log" --interval 1 --min-interval 1 --log-level debug
check "the pod is deployed" wait_for 60 bash -c "[ \$(grep -c ' POST /ok/$pfx-d1 ' '$work/lab.log') = 1 ]"
docker exec "$pod.main" sh -c 'head -c 65536 /dev/urandom > /shared/blob'
sums0=$(sums "$pod")

# Fill the file system to the last block.
dd if=/dev/zero of="$work/f.state/filler" bs=4k >/dev/null 2>&1
check "the state file system is full" bash -c "! echo x > '$work/f.state/probe' 2>/dev/null"
rm -f "$work/f.state/probe"
meta "$work/f" "$(dep "$pfx-d2" "$pod" "$work/m2.yaml")"
check "the agent says the disk is full" wait_for 60 grep -q "No space left on device" "$work/agent.log"
check "more than once: it keeps trying" wait_for 60 bash -c "[ \$(grep -c 'No space left on device' '$work/agent.log') -ge 2 ]"
bad_json() { # every state file parses (in-progress and lost records are empty by design); no temporary file is left
        local f
        for f in $(find "$work/f.state" -name '*.json' ! \( -empty \( -path '*/inprogress/*' -o -path '*/lost/*' \) \)); do
                python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null || echo "$f"
        done
        find "$work/f.state" -name '*.tmp.*'
}
bad=$(bad_json)
check "no corrupt state file, no temporary file left (while full)${bad:+: $bad}" test -z "$bad"
check "the pod is whole meanwhile" test "$(names "$pod")" = "$pod._infra $pod.main $pod.side "
check "nothing was signalled for the update yet" test "$(signals "$pfx-d2")" = 0
rm -f "$work/f.state/filler"
check "once there is space, the update is signalled" \
        wait_for 120 bash -c "[ \$(grep -c ' POST /ok/$pfx-d2 ' '$work/lab.log') -ge 1 ]"
check "a success" bash -c "grep ' POST /ok/$pfx-d2 ' '$work/lab.log' | grep -q '\"deploy_status_code\": *0[,}]'"
check "main runs version 2" test "$(env_of "$pod" main VERSION)" = 2
check "one container per name, none aside" test "$(names "$pod")" = "$pod._infra $pod.main $pod.side "
check "all running" wait_for 10 bash -c "[ \$(docker ps -q --filter label=io.podhook.pod=$pod | wc -l) = 3 ]"
check "the data unchanged" test "$(sums "$pod")" = "$sums0"
bad=$(bad_json)
check "no corrupt state file, no temporary file left (after)${bad:+: $bad}" test -z "$bad"
sleep 3 # quiet time in which a second signal would show; not a synchronisation
check "the update signalled once" test "$(signals "$pfx-d2")" = 1
check "the first result still once" test "$(signals "$pfx-d1")" = 1
check "SIGTERM: exit 0" stop
tap_done
