#!/bin/bash
# The drop-in directory on the real engine (run once on Docker and once on Podman), with an agent that
# has no Heat configuration at all:
#   add a file -> its pod; a file written slowly is applied once, whole; change one container -> only it
#   is replaced; an invalid file -> logged and a dropin_invalid event with its messages, the pod left as
#   it is; an update that fails -> rolled back (a rolled_back event), the previous containers run on; dot-files and backup or package-manager leftovers -> no pod; a file written under a temporary
#   name and renamed into place -> applied once; options: beside manifest: are used; remove -> the pod
#   goes at once, its volume stays; a file removed while the agent was down takes its pod at the next
#   start; a drop-in named like a Heat deployment's pod is refused (a deployment_failed event on
#   --notify-exec), and so is a Heat deployment named like a drop-in's pod.
#   agent-dropin.sh PODHOOK SRC_DIR
set -uo pipefail
podhook=$1
src=$2
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=engine.sh
. "$(dirname "$0")/engine.sh"
need_engine
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-dropin.XXXXXX")
p=phdrop-$$
daemon=
cleanup() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        remove_pods "$p" volumes
        rm -rf "$work"
}
trap cleanup EXIT
"$src/tools/build-images.sh" >"$work/images.log" 2>&1 || { cat "$work/images.log"; echo "Bail out! images"; exit 1; }

running() { [ -n "$(docker ps -q --filter "label=io.podhook.pod=$1")" ]; }
gone() { [ -z "$(docker ps -aq --filter "label=io.podhook.pod=$1")" ]; }
cid() { docker inspect -f '{{.Id}}' "$1" 2>/dev/null; }
no_pod_like() { [ -z "$(docker ps -a --filter label=io.podhook.pod --format '{{.Label "io.podhook.pod"}}' | grep "^$1")" ]; }
# events KIND POD: how many events of KIND about POD --notify-exec got
events() {
        python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    if l.strip():
        e = json.loads(l)
        n += e["kind"] == sys.argv[2] and e.get("pod") == sys.argv[3]
print(n)' "$work/events.json" "$1" "$2" 2>/dev/null || echo 0
}
# syncs: how many drop-in syncs the daemon has logged
syncs() { grep -c "drop-ins: .* looked at" "$work/daemon.log"; }
# after_syncs N: wait until N more syncs have run
after_syncs() {
        local want=$(($(syncs) + $1))
        wait_for 30 bash -c "[ \$(grep -c 'drop-ins: .* looked at' '$work/daemon.log') -ge $want ]"
}
applied() { grep -c "drop-in $work/pods/$1: " "$work/daemon.log"; }
# put NAME: the file's content from stdin, written atomically (a temporary name that does not count)
put() { cat >"$work/pods/.$1.new" && mv "$work/pods/.$1.new" "$work/pods/$1"; }
manifest() { # manifest SIDE_COMMAND
        cat <<EOF2
version: v1beta2
volumes:
  - name: data
containers:
  - name: web
    image: podhook.local/busybox:1
    command: [sleep, '3600']
    volumeMounts: [{name: data, mountPath: /data}]
  - name: side
    image: podhook.local/busybox:1
    command: [sh, -c, '$1']
EOF2
}

mkdir -m 700 "$work/pods"
start() {
        "$podhook" agent --state-dir "$work/state" --occ-config '' --config '' --bootstrap '' \
                --dropin "$work/pods" --dropin-debounce 0.3 --dropin-rescan 2 --grace-seconds 1 --log-level debug \
                --notify-exec "cat >> '$work/events.json'; echo >> '$work/events.json'" >>"$work/daemon.log" 2>&1 &
        daemon=$!
}
start
check "an agent with only --dropin runs" wait_for 10 grep -q "watching the drop-in directory" "$work/daemon.log"

# A file written slowly (1.5 s, a line every 0.1 s): never applied half-way, applied once whole.
(
        exec 3>"$work/pods/$p-web.yaml"
        manifest 'sleep 3600' | while IFS= read -r line; do
                printf '%s\n' "$line" >&3
                sleep 0.1
        done
)
check "a new file: its pod runs" wait_for 60 running "$p-web"
check "with both containers" wait_for 10 bash -c "[ -n \"\$(docker ps -q --filter name=^$p-web.web\$)\" ] && [ -n \"\$(docker ps -q --filter name=^$p-web.side\$)\" ]"
after_syncs 2
check "written slowly: never taken for an invalid file" test "$(events dropin_invalid "$p-web")" = 0
check "and applied once" test "$(applied "$p-web.yaml")" = 1
web1=$(cid "$p-web.web") side1=$(cid "$p-web.side")

manifest 'sleep 3601' | put "$p-web.yaml"
check "one container changed: it is replaced" wait_for 60 bash -c "[ -n \"\$(docker inspect -f '{{.Id}}' $p-web.side 2>/dev/null)\" ] && [ \"\$(docker inspect -f '{{.Id}}' $p-web.side)\" != '$side1' ]"
side2=$(cid "$p-web.side")
check "the other is kept (same ID)" test "$(cid "$p-web.web")" = "$web1"
check "the new one runs" wait_for 10 bash -c "[ \"\$(docker inspect -f '{{.State.Running}}' $p-web.side)\" = true ]"

printf 'version: v1beta2\ncontainers:\n  - name: web\n    command: [sleep]\n' | put "$p-web.yaml"
check "an invalid file: a dropin_invalid event" wait_for 30 bash -c "[ \"\$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)[\"kind\"] == \"dropin_invalid\" and
          \"$p-web.yaml:3: containers[0].image: is required\" in json.loads(l)[\"messages\"]))' '$work/events.json' 2>/dev/null)\" -ge 1 ]"
check "and a line in the log" grep -q "drop-in $work/pods/$p-web.yaml is invalid; pod $p-web is left as it is: $p-web.yaml:3: containers\[0\].image: is required" "$work/daemon.log"
after_syncs 2
check "the pod is left alone" test "$(cid "$p-web.web")" = "$web1" -a "$(cid "$p-web.side")" = "$side2"
check "reported once, not at every rescan" test "$(events dropin_invalid "$p-web")" = 1
manifest 'sleep 3601' | put "$p-web.yaml"
check "valid again: applied" wait_for 30 bash -c "[ \$(grep -c 'drop-in $work/pods/$p-web.yaml: ' '$work/daemon.log') -ge 3 ]"
check "and nothing replaced" test "$(cid "$p-web.web")" = "$web1" -a "$(cid "$p-web.side")" = "$side2"

# An update whose new container dies at once: rolled back (an event), the previous containers run on.
manifest 'exit 3' | put "$p-web.yaml"
check "a failing update: a rolled_back event" wait_for 60 bash -c "[ \"\$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)[\"kind\"] == \"rolled_back\" and
          json.loads(l).get(\"pod\") == \"$p-web\"))' '$work/events.json' 2>/dev/null)\" -ge 1 ]"
check "and a deployment_failed one" test "$(events deployment_failed "$p-web")" -ge 1
check "the previous containers run again" wait_for 20 bash -c "[ \"\$(docker inspect -f '{{.Id}} {{.State.Running}}' $p-web.side 2>/dev/null)\" = '$side2 true' ]"
check "the kept one was never touched" test "$(cid "$p-web.web")" = "$web1"
manifest 'sleep 3601' | put "$p-web.yaml"
after_syncs 2
check "the file as it runs again: nothing replaced" test "$(cid "$p-web.side")" = "$side2" -a "$(cid "$p-web.web")" = "$web1"

# Leftovers and dot-files never count.
for name in ".$p-dot.yaml" "$p-bak.yaml.bak" "$p-tilde.yaml~" "$p-swp.yaml.swp" "$p-dpkg.yaml.dpkg-old" \
        "$p-rpm.yaml.rpmnew" "$p-rpms.yaml.rpmsave" "$p-txt.txt"; do
        manifest 'sleep 3600' >"$work/pods/$name"
done
manifest 'sleep 3600' | put "$p-mark.yaml"
check "a file beside them is applied" wait_for 60 running "$p-mark"
after_syncs 2
for what in dot bak tilde swp dpkg rpm rpms txt; do
        check "ignored: $what" no_pod_like "$p-$what"
done

# Written under a temporary name, then renamed into place: applied once.
manifest 'sleep 3600' >"$work/pods/$p-ren.yaml.tmp"
after_syncs 1
check "under its temporary name: nothing" no_pod_like "$p-ren"
mv "$work/pods/$p-ren.yaml.tmp" "$work/pods/$p-ren.yaml"
check "renamed into place: its pod runs" wait_for 60 running "$p-ren"
after_syncs 2
check "applied once" test "$(applied "$p-ren.yaml")" = 1

# options: beside manifest: are the deployment's options.
{
        echo "manifest:"
        manifest 'sleep 3600' | sed 's/^/  /'
        echo "options: {init: false}"
} | put "$p-opt.yaml"
check "a wrapped manifest with options: runs" wait_for 60 running "$p-opt"
check "without an init, as its options say" test "$(docker inspect -f '{{.HostConfig.Init}}' "$p-opt.web")" != true
check "where the default has one" test "$(docker inspect -f '{{.HostConfig.Init}}' "$p-web.web")" = true
check "the options are not an unknown field" bash -c "! grep -q 'options: unknown field' '$work/daemon.log'"

# Removed: the pod goes at once, its volume stays.
rm "$work/pods/$p-web.yaml"
check "a removed file: its pod is deleted" wait_for 15 gone "$p-web"
check "its volume is kept" test -n "$(docker volume ls -q --filter "label=io.podhook.pod=$p-web")"
check "the others stay" running "$p-ren"

# A drop-in for a Heat deployment's pod is refused, and the reverse.
mkdir -m 700 "$work/heat"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/heat" >"$work/boot.json"
hdep() { # hdep ID POD
        printf '{"id": "%s", "name": "%s", "group": "docker", "config": "version: v1beta2\\ncontainers:\\n  - name: main\\n    image: podhook.local/busybox:1\\n    command: [sleep, \\"3600\\"]\\n", "inputs": [{"name": "deploy_action", "type": "String", "value": "CREATE"}, {"name": "deploy_stack_id", "type": "String", "value": "st-%s/1"}, {"name": "deploy_resource_name", "type": "String", "value": "%s"}], "outputs": [], "options": {}}' \
                "$1" "$2" "$$" "$2"
}
printf '{"deployments": [%s]}\n' "$(hdep "$p-h1" "$p-heat")" >"$work/heat/meta.json"
chmod 600 "$work/heat/meta.json"
"$podhook" agent --bootstrap "$work/boot.json" --state-dir "$work/hstate" --occ-config '' --config '' \
        --grace-seconds 1 --one-time >"$work/heat1.log" 2>&1
check "a Heat deployment's pod runs" running "$p-heat"
heat1=$(cid "$p-heat.main")
manifest 'sleep 3600' | put "$p-heat.yaml"
check "a drop-in for it: refused, with a deployment_failed event" wait_for 30 bash -c "[ \"\$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)[\"kind\"] == \"deployment_failed\" and
          json.loads(l).get(\"pod\") == \"$p-heat\" and \"belongs to a Heat deployment\" in json.loads(l)[\"message\"]))' '$work/events.json' 2>/dev/null)\" -ge 1 ]"
check "the Heat pod is untouched" test "$(cid "$p-heat.main")" = "$heat1"
check "and carries no drop-in label" test -z "$(docker inspect -f '{{index .Config.Labels "io.podhook.dropin"}}' "$p-heat.main")"
ren1=$(cid "$p-ren.web")
printf '{"deployments": [%s, %s]}\n' "$(hdep "$p-h1" "$p-heat")" "$(hdep "$p-h2" "$p-ren")" >"$work/heat/meta.json"
"$podhook" agent --bootstrap "$work/boot.json" --state-dir "$work/hstate" --occ-config '' --config '' \
        --grace-seconds 1 --one-time >"$work/heat2.log" 2>&1
check "a Heat deployment for a drop-in's pod: refused" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["deploy_status_code"] != 0 and "belongs to the drop-in " + sys.argv[2] in d["deploy_stderr"] else 1)' \
        "$work/hstate/results/$p-h2.json" "$work/pods/$p-ren.yaml"
check "the drop-in's pod is untouched" test "$(cid "$p-ren.web")" = "$ren1"

# Removed while the agent was down: the next start deletes its pod.
kill -TERM "$daemon"
wait "$daemon"
check "SIGTERM: exit 0" test $? = 0
daemon=
rm "$work/pods/$p-ren.yaml"
start
check "removed while the agent was down: deleted at its start" wait_for 30 gone "$p-ren"
check "what is still there stays" running "$p-mark"
tap_done
