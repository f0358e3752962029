#!/bin/bash
# The agent for many passes under valgrind memcheck (issue 12, memory): a podhook built without
# sanitizers (ASan and valgrind do not mix) runs as the daemon, polling the local source every second,
# with a pod deployed on the real engine and updated twice by new deployments, each result POSTed to a
# local endpoint, a drop-in applied, changed and removed, an invalid drop-in, then SIGTERM. valgrind's
# exit status says whether it saw any error or a definite or indirect leak (99); the agent's own is 0.
#   agent-memcheck.sh PODHOOK SRC_DIR
podhook=$1
src=$2
. "$(dirname "$0")/lib.sh"
need_engine
command -v valgrind >/dev/null || {
        [ -n "${PODHOOK_REQUIRE_ALL:-}" ] && { echo "Bail out! no valgrind (tools/setup-host.sh installs it)"; exit 1; }
        echo "1..0 # SKIP no valgrind"
        exit 77
}
pfx=phproof-vg-$$
pod=$pfx-web
images
lab_start
pod_manifest() { # pod_manifest VERSION
        printf 'version: v1beta2\ncontainers:\n  - name: main\n    image: podhook.local/busybox:1\n'
        printf "    command: [sleep, '3600']\n    env: [{name: VERSION, value: '%s'}]\n" "$1"
}
mkdir -p -m 700 "$work/dropin"
pod_manifest 1 >"$work/m1.yaml"
meta "$work/vg" "$(dep "$pfx-d1" "$pod" "$work/m1.yaml")"
(exec valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --track-fds=no --log-file="$work/vg.log" \
        "$podhook" agent --bootstrap "$(boot "$work/vg")" --state-dir "$work/vg.state" --occ-config '' --config '' \
        --retry-max 2 --request-timeout 20 --start-window 0 --grace-seconds 1 --interval 1 --min-interval 1 \
        --dropin "$work/dropin" --dropin-debounce 0.2 --dropin-rescan 2 >"$work/agent.log" 2>&1) &
daemon=$!
check "the deployment's pod runs" wait_for 120 bash -c "[ \"\$(docker ps -q --filter label=io.podhook.pod=$pod)\" ]"
check "its result is signalled" wait_for 60 bash -c "[ \$(grep -c ' POST /ok/$pfx-d1 ' '$work/lab.log') = 1 ]"

printf 'containers:\n  - name: c\n    image: podhook.local/busybox:1\n    command: [sleep, "3600"]\nversion: v1beta2\n' \
        >"$work/dropin/$pfx-drop.yaml"
check "the drop-in's pod runs" wait_for 120 bash -c "docker ps --filter label=io.podhook.pod --format '{{.Label \"io.podhook.pod\"}}' | grep -q '^$pfx-drop'"
printf 'containers: [{name: c, image: 42}]\n' >"$work/dropin/$pfx-bad.yaml"
check "an invalid drop-in is reported" wait_for 60 grep -q "$pfx-bad" "$work/agent.log"

for v in 2 3; do
        pod_manifest "$v" >"$work/m$v.yaml"
        meta "$work/vg" "$(dep "$pfx-d$v" "$pod" "$work/m$v.yaml")"
        check "update $v: signalled once" wait_for 120 bash -c "[ \$(grep -c ' POST /ok/$pfx-d$v ' '$work/lab.log') = 1 ]"
        check "update $v: main runs version $v" test "$(env_of "$pod" main VERSION)" = "$v"
done
rm -f "$work/dropin/$pfx-drop.yaml" "$work/dropin/$pfx-bad.yaml"
check "the removed drop-in's pod goes" wait_for 120 bash -c "! docker ps -a --filter label=io.podhook.pod --format '{{.Label \"io.podhook.pod\"}}' | grep -q '^$pfx-drop'"
# More idle passes (one a second) before the end.
passes0=$(grep -c "POST" "$work/lab.log")
sleep 5 # idle time for the loop's timers, not a synchronisation
kill -TERM "$daemon"
wait "$daemon"
rc=$?
daemon=
check "SIGTERM: valgrind and the agent exit 0 (99: memcheck found errors or leaks; got $rc)" test $rc = 0
check "no error in memcheck's summary" grep -q "ERROR SUMMARY: 0 errors" "$work/vg.log"
check "no definite leak" bash -c "! grep -q 'definitely lost: [1-9]' '$work/vg.log'"
check "no indirect leak" bash -c "! grep -q 'indirectly lost: [1-9]' '$work/vg.log'"
check "every result was signalled once, none again at the end" test "$(grep -c POST "$work/lab.log")" = "$passes0"
if [ "$fails" != 0 ]; then
        sed 's/^/# /' "$work/vg.log" | tail -60
        tail -20 "$work/agent.log" | sed 's/^/# agent: /'
fi
tap_done
