#!/bin/bash
# podhook agent with group docker on the real engine, metadata from the local source:
# pods are created in-process, a pod whose deployment left successfully fetched metadata is removed,
# a failing source removes nothing, and pods this agent did not deploy are never touched.
#   agent-docker.sh PODHOOK SRC_DIR
set -uo pipefail
podhook=$1
src=$2
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=engine.sh
. "$(dirname "$0")/engine.sh"
need_engine
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-docker.XXXXXX")
p=phagent-$$
daemon=
cleanup() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        remove_pods "$p" volumes
        rm -rf "$work"
}
trap cleanup EXIT
running() { [ -n "$(docker ps -q --filter "label=io.podhook.pod=$1")" ]; }
gone() { [ -z "$(docker ps -aq --filter "label=io.podhook.pod=$1")" ]; }

"$src/tools/build-images.sh" >"$work/images.log" 2>&1 || { cat "$work/images.log"; echo "Bail out! images"; exit 1; }

dep() { # dep ID POD [RESOURCE [ACTION]]
        cat <<EOF2
{"id": "$1", "name": "$2", "group": "docker",
 "config": "version: v1beta2\ncontainers:\n  - name: main\n    image: podhook.local/busybox:1\n    command: [sleep, '3600']\n",
 "inputs": [{"name": "deploy_action", "type": "String", "value": "${4:-CREATE}"},
            {"name": "deploy_stack_id", "type": "String", "value": "st-$$/1"},
            {"name": "deploy_resource_name", "type": "String", "value": "${3:-$2}"}],
 "outputs": [], "options": {"grace_period": 1}}
EOF2
}
meta() { # meta DIR DEPLOYMENTS_JSON...
        local dir=$1 IFS=,
        shift
        (umask 077 && printf '{"deployments": [%s]}\n' "$*" >"$dir/meta.json.tmp" && mv "$dir/meta.json.tmp" "$dir/meta.json")
}
mkdir -m 700 "$work/d1" "$work/d2"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d1" >"$work/boot1.json"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d2" >"$work/boot2.json"
common=(--occ-config '' --config '' --interval 1 --grace-seconds 1)

meta "$work/d1" "$(dep "$p-id-a" "$p-a")" "$(dep "$p-id-b" "$p-b")"
"$podhook" agent --bootstrap "$work/boot1.json" --state-dir "$work/s1" "${common[@]}" --one-time >"$work/one.log" 2>&1
check "one pass: exit 0" test $? = 0
check "pod a runs" running "$p-a"
check "pod b runs" running "$p-b"
inspect_has() { # inspect_has NOTIFY_FILE CONTAINER_NAME
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=json.loads(d["deploy_stdout"]); sys.exit(0 if any(x["Name"]==sys.argv[2] and x["State"]["Running"] for x in c) else 1)' "$@"
}
check "the result holds the inspect output" inspect_has "$work/s1/results/$p-id-a.json" "/$p-a.main"

# Another agent (another state dir) deploys pod c: not ours, never touched by the first agent.
meta "$work/d2" "$(dep "$p-id-c" "$p-c")"
"$podhook" agent --bootstrap "$work/boot2.json" --state-dir "$work/s2" "${common[@]}" --one-time >"$work/other.log" 2>&1
check "pod c runs" running "$p-c"

meta "$work/d1" "$(dep "$p-id-a" "$p-a")"
"$podhook" agent --bootstrap "$work/boot1.json" --state-dir "$work/s1" "${common[@]}" --log-level debug \
        >"$work/daemon.log" 2>&1 &
daemon=$!
check "pod b, gone from the metadata, is removed" wait_for 60 gone "$p-b"
check "pod a stays" running "$p-a"
check "pod c (not ours) stays" running "$p-c"
check "the removal is logged" grep -q "pod $p-b removed" "$work/daemon.log"

# The source fails (a world-writable directory is refused): that is "no change", not "no deployments".
chmod 777 "$work/d1"
meta "$work/d1"
before=$(grep -c "treating it as no change" "$work/daemon.log")
check "the source fails" wait_for 30 bash -c "[ \$(grep -c 'treating it as no change' '$work/daemon.log') -ge $((before + 2)) ]"
check "pod a is kept while the source fails" running "$p-a"
chmod 700 "$work/d1"
check "once the source answers, pod a (no longer listed) is removed" wait_for 60 gone "$p-a"
check "pod c still stays" running "$p-c"
kill "$daemon"
wait "$daemon"
check "the daemon stops with 0" test $? = 0
daemon=

# Metadata that misses a deployment for one pass (a stale replica, a file being rewritten) removes
# nothing; missing two passes in a row removes its pod, and when it comes back it runs again.
mkdir -m 700 "$work/d3"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d3" >"$work/boot3.json"
once3() { "$podhook" agent --bootstrap "$work/boot3.json" --state-dir "$work/s3" "${common[@]}" --one-time >>"$work/three.log" 2>&1; }
cid() { docker ps -q --no-trunc --filter "label=io.podhook.pod=$1" --filter "label=io.podhook.role=app"; }
meta "$work/d3" "$(dep "$p-id-e" "$p-e")" "$(dep "$p-id-f" "$p-f")"
once3
check "pods e and f run" bash -c "[ -n \"\$(docker ps -q --filter label=io.podhook.pod=$p-e)\" ] && [ -n \"\$(docker ps -q --filter label=io.podhook.pod=$p-f)\" ]"
f1=$(cid "$p-f")
meta "$work/d3" "$(dep "$p-id-e" "$p-e")"
once3
check "missing from one pass: pod f is kept" running "$p-f"
meta "$work/d3" "$(dep "$p-id-e" "$p-e")" "$(dep "$p-id-f" "$p-f")"
once3
check "back: the same pod, not re-created" test "$(cid "$p-f")" = "$f1"
meta "$work/d3" "$(dep "$p-id-e" "$p-e")"
once3
check "missing once more: kept" running "$p-f"
once3
check "missing a second pass in a row: removed" gone "$p-f"
check "pod e stays" running "$p-e"
meta "$work/d3" "$(dep "$p-id-e" "$p-e")" "$(dep "$p-id-f" "$p-f")"
once3
check "when it comes back after that, it runs again" running "$p-f"
check "as a new pod" test "$(cid "$p-f")" != "$f1"

# Names that are not Docker names never share a pod; a pod of another listed deployment is refused.
mkdir -m 700 "$work/d4"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d4" >"$work/boot4.json"
once4() { "$podhook" agent --bootstrap "$work/boot4.json" --state-dir "$work/s4" "${common[@]}" --one-time >>"$work/four.log" 2>&1; }
pods_like() { docker ps --filter label=io.podhook.pod --format '{{.Label "io.podhook.pod"}}' | grep "^$1" | sort -u | wc -l; }
refused() { # refused ID TEXT: the result of ID is a failure whose deploy_stderr has TEXT
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["deploy_status_code"] == 1 and sys.argv[2] in d["deploy_stderr"] else 1)' \
                "$work/s4/results/$1.json" "$2"
}
meta "$work/d4" "$(dep "$p-id-w1" "$p-web pod")" "$(dep "$p-id-w2" "$p-web-pod")" \
        "$(dep "$p-id-u1" "$p-atk\u00e9")" "$(dep "$p-id-u2" "$p-atk\u00fc")" \
        "$(dep "$p-id-d1" "$p-dup" "dup-one")"
once4
check "'web pod' and 'web-pod': two pods" test "$(pods_like "$p-web-pod")" = 2
check "'atk\u00e9' and 'atk\u00fc': two pods" test "$(pods_like "$p-atk")" = 2
dup1=$(cid "$p-dup")
meta "$work/d4" "$(dep "$p-id-w1" "$p-web pod")" "$(dep "$p-id-w2" "$p-web-pod")" \
        "$(dep "$p-id-u1" "$p-atk\u00e9")" "$(dep "$p-id-u2" "$p-atk\u00fc")" \
        "$(dep "$p-id-d1" "$p-dup" "dup-one")" "$(dep "$p-id-d2" "$p-dup" "dup-two")"
once4
check "two deployments named dup: one pod" test "$(pods_like "$p-dup")" = 1
check "the second is refused" refused "$p-id-d2" "pod $p-dup belongs to another deployment (stack st-$$/1, resource dup-one) that is still listed"
check "and the first one's pod is untouched" test "$(cid "$p-dup")" = "$dup1"
meta "$work/d4" "$(dep "$p-id-w1x" "$p-web pod" "$p-web pod" DELETE)" "$(dep "$p-id-w2" "$p-web-pod")" \
        "$(dep "$p-id-u1" "$p-atk\u00e9")" "$(dep "$p-id-u2" "$p-atk\u00fc")" \
        "$(dep "$p-id-d1" "$p-dup" "dup-one")" "$(dep "$p-id-d2x" "$p-dup" "dup-two" DELETE)"
once4
check "DELETE of 'web pod' leaves 'web-pod'" running "$p-web-pod"
check "and removes its own" test "$(pods_like "$p-web-pod")" = 1
check "DELETE of the refused dup leaves the other's pod" test "$(cid "$p-dup")" = "$dup1"
tap_done
