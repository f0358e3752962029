# Helpers of the proof tests (sourced after setting $podhook and $src): TAP (tests/agent/tap.sh), the
# engine (tests/agent/engine.sh), a work directory, the signal endpoint that logs every request
# (tests/agent/signal-lab.py), deployments of group docker in the local source, the agent.
set -uo pipefail
proof=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../agent/tap.sh
. "$proof/../agent/tap.sh"
# shellcheck source=../agent/engine.sh
. "$proof/../agent/engine.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-proof.XXXXXX")
lab=
daemon=
cleanups=() # more commands for the EXIT trap, run once the daemon is gone
proof_cleanup() {
        local c
        [ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        for c in "${cleanups[@]}"; do eval "$c"; done
        [ -n "$lab" ] && kill "$lab" 2>/dev/null
        [ -n "${pfx:-}" ] && remove_pods "$pfx" volumes
        [ -n "${PH_TEST_KEEP:-}" ] && echo "# kept $work" || rm -rf "$work"
}
trap proof_cleanup EXIT
export PODHOOK_RUN_DIR=$work/run
skip() { # skip DESCRIPTION REASON
        n=$((n + 1))
        echo "ok $n - $1 # SKIP $2"
}

# lab_start: the signal endpoint; $base is its URL. signals ID: how many times ID was signalled (POST /ok/ID).
lab_start() {
        python3 "$proof/../agent/signal-lab.py" "$work/port" "$work/lab.log" &
        lab=$!
        wait_for 20 test -s "$work/port" || { echo "Bail out! signal endpoint did not start"; exit 1; }
        base="http://127.0.0.1:$(cat "$work/port")"
        touch "$work/lab.log"
}
signals() { grep -cE " POST /[^ ]*/$1( |\?)" "$work/lab.log"; }
images() {
        "$src/tools/build-images.sh" >"$work/images.log" 2>&1 || { cat "$work/images.log"; echo "Bail out! images"; exit 1; }
}

# dep ID POD MANIFEST_FILE [SIGNAL_PATH [ACTION]]: a deployment of group docker, its config the manifest,
# its signal POSTed to $base/SIGNAL_PATH (default ok/ID).
dep() {
        python3 - "$@" "${base:-}" <<'EOF2'
import json, sys
id, pod, manifest = sys.argv[1:4]
path = sys.argv[4] if len(sys.argv) > 5 and sys.argv[4] else 'ok/' + id
action = sys.argv[5] if len(sys.argv) > 6 and sys.argv[5] else 'CREATE'
base = sys.argv[-1]
inputs = [{"name": "deploy_action", "type": "String", "value": action},
          {"name": "deploy_stack_id", "type": "String", "value": "proof/1"},
          {"name": "deploy_resource_name", "type": "String", "value": pod}]
if base:
    inputs += [{"name": "deploy_signal_id", "type": "String", "value": base + '/' + path},
               {"name": "deploy_signal_verb", "type": "String", "value": "POST"}]
print(json.dumps({"id": id, "name": pod, "group": "docker", "config": open(manifest).read(),
                  "inputs": inputs, "outputs": [], "options": {"grace_period": 1}}))
EOF2
}
meta() { # meta DIR DEPLOYMENT_JSON...: the local source's metadata, replaced atomically
        local dir=$1 IFS=,
        shift
        mkdir -p -m 700 "$dir"
        (umask 077 && printf '{"deployments": [%s]}\n' "$*" >"$dir/meta.json.tmp" && mv "$dir/meta.json.tmp" "$dir/meta.json")
}
boot() { # boot DIR: a bootstrap file polling the local source DIR
        mkdir -p -m 700 "$1"
        printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$1" >"$1.boot.json"
        echo "$1.boot.json"
}
# agent NAME ARGS...: the agent on metadata dir $work/NAME and state dir $work/NAME.state
agent() {
        local name=$1
        shift
        "$podhook" agent --bootstrap "$(boot "$work/$name")" --state-dir "$work/$name.state" --occ-config '' \
                --config '' --retry-max 2 --request-timeout 5 --start-window 0 --grace-seconds 1 "$@"
}
# start NAME LOG ARGS...: agent NAME in the background as $daemon
start() {
        local name=$1 log=$2
        shift 2
        (exec "$podhook" agent --bootstrap "$(boot "$work/$name")" --state-dir "$work/$name.state" --occ-config '' \
                --config '' --retry-max 2 --request-timeout 5 --start-window 0 --grace-seconds 1 "$@" >"$log" 2>&1) &
        daemon=$!
}
stop() { # stop: SIGTERM to the daemon; its exit status
        kill -TERM "$daemon"
        wait "$daemon"
        local rc=$?
        daemon=
        return $rc
}
# names POD: the names of the pod's containers, sorted, on one line
names() { docker ps -a --filter "label=io.podhook.pod=$1" --format '{{.Names}}' | sort | tr '\n' ' '; }
running_count() { docker ps --filter "label=io.podhook.pod=$1" -q | wc -l; }
# image_of POD CONTAINER: the image the container was created from
image_of() { docker inspect -f '{{.Config.Image}}' "$1.$2" 2>/dev/null; }
env_of() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1.$2" 2>/dev/null | grep "^$3=" | cut -d= -f2-; }
# two_containers VERSION SIDE_ARG HOST_DIR [ID]: the pod of the fault tests: main (env VERSION) with the
# hostDir at /host and the emptyDir at /shared, side (sleep SIDE_ARG: not a number makes it exit at once)
two_containers() {
        cat <<YAML
version: v1beta2
${4:+id: $4}
containers:
  - name: main
    image: podhook.local/busybox:1
    command: [sleep, '3600']
    env: [{name: VERSION, value: '$1'}]
    volumeMounts: [{name: host, mountPath: /host}, {name: shared, mountPath: /shared}]
  - name: side
    image: podhook.local/busybox:1
    command: [sleep, '$2']
    volumeMounts: [{name: shared, mountPath: /shared}]
volumes:
  - name: shared
  - name: host
    source: {hostDir: {path: $3}}
YAML
}
# sums POD: the checksums of /host/blob and /shared/blob as the pod's main container sees them
sums() { docker exec "$1.main" sh -c 'md5sum /host/blob /shared/blob' 2>/dev/null | awk '{print $1}' | tr '\n' ' '; }
# pod_setup NAME: the fault tests' start: $pfx (the prefix of their pods, removed at exit) and $pod,
# the local images, the signal endpoint, and $work/host/blob, the hostDir's data
pod_setup() {
        pfx=phproof-$1-$$
        pod=$pfx-web
        images
        lab_start
        mkdir -p "$work/host"
        head -c 65536 /dev/urandom >"$work/host/blob"
}
