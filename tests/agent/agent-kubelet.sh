#!/bin/bash
# The agent with --backend kubelet: its drop-ins become static pods in a real manifest directory, which
# fake-kubelet.py reads and answers /pods for as a kubelet does (no engine is used):
#   a drop-in -> podhook-<pod>.yaml (schema-valid, the drop-in's annotation), the pod's run ends when the
#   kubelet says Running; a drop-in named like a Heat deployment's file is refused and that file left
#   alone; removing the drop-in removes exactly its file; foreign files are never touched.
#   agent-kubelet.sh PODHOOK SRC_DIR
set -uo pipefail
PODHOOK=$1
SRCROOT=$2
HERE=$SRCROOT/tests/kubelet
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=../kubelet/needs.sh
. "$HERE/needs.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-kubelet.XXXXXX")
D=$TMP/manifests
P=$TMP/pods
mkdir -p "$D" "$P"
chmod 700 "$P"
KUBELET_PID=
DAEMON=
cleanup() {
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
        [ -n "$KUBELET_PID" ] && kill "$KUBELET_PID" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT

jqt() { jq -e "$@" >/dev/null; }
yaml_json() { "$PY" -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' "$1"; }
file_schema_ok() {
        yaml_json "$1" >"$TMP/file.json" && node "$HERE/validate-pod.js" "$TMP/file.json" >"$TMP/schema.out" 2>&1 ||
                { sed 's/^/# /' "$TMP/schema.out"; return 1; }
}
foreign_state() {
        (cd "$D" && for f in another.yaml podhook-foreign.yaml .keep; do
                stat -c '%n %i %Y %s' "$f" && sha256sum "$f"
        done)
}

# The kubelet's own files: a static pod of its own, one of podhook's naming that is not podhook's.
cp "$HERE/another-pod.yaml" "$D/another.yaml"
sed 's/name: another/name: foreign/' "$D/another.yaml" >"$D/podhook-foreign.yaml"
echo "not ours" >"$D/.keep"
foreign_state >"$TMP/foreign.before"

"$PY" "$HERE/fake-kubelet.py" --dir "$D" --port-file "$TMP/port" --scenario running --delay 1 &
KUBELET_PID=$!
wait_for 10 test -s "$TMP/port" || { echo "Bail out! fake-kubelet.py did not start"; exit 1; }
URL=http://127.0.0.1:$(cat "$TMP/port")/pods

# A Heat deployment's file (group kubelet through `podhook hook`), for the drop-in that would take it.
jq -n '{id: "5a1e-heatpod", name: "phk-heat", group: "kubelet",
        options: {poll_period: 0.2, images_timeout: 20, containers_timeout: 20},
        inputs: [{name: "deploy_action", value: "CREATE"}, {name: "deploy_stack_id", value: "stack/7"},
                 {name: "deploy_resource_name", value: "heat_deployment"}],
        config: "version: v1beta2\ncontainers:\n  - name: app\n    image: podhook.local/busybox:1\n"}' |
        "$PODHOOK" hook --kubelet-manifest-dir "$D" --kubelet-url "$URL" >"$TMP/hook.out" 2>/dev/null
check "a Heat deployment's file is there (podhook hook, group kubelet)" jqt '.deploy_status_code == 0' "$TMP/hook.out"
heat_before=$(stat -c '%i %Y' "$D/podhook-phk-heat.yaml"; sha256sum <"$D/podhook-phk-heat.yaml")

"$PODHOOK" agent --state-dir "$TMP/state" --occ-config '' --config '' --bootstrap '' \
        --dropin "$P" --dropin-debounce 0.3 --dropin-rescan 1 --log-level debug \
        --backend kubelet --kubelet-manifest-dir "$D" --kubelet-url "$URL" >>"$TMP/daemon.log" 2>&1 &
DAEMON=$!
check "the agent runs with --backend kubelet and only --dropin" wait_for 10 grep -q "watching the drop-in directory" "$TMP/daemon.log"

# put NAME: a drop-in from stdin, written atomically
put() { cat >"$P/.$1.new" && mv "$P/.$1.new" "$P/$1"; }
put phk-web.yaml <<'EOF'
manifest:
  version: v1beta2
  containers:
    - name: web_server
      image: podhook.local/busybox:1
      command: [httpd, -f, -p, "8080"]
      ports:
        - name: http
          containerPort: 8080
options:
  poll_period: 0.2
  containers_timeout: 20
  grace_period: 3
EOF
F=$D/podhook-phk-web.yaml
check "a drop-in becomes podhook-phk-web.yaml" wait_for 20 test -f "$F"
check "its Pod is valid against the Kubernetes schema" file_schema_ok "$F"
check "it carries the drop-in's annotation" jqt --arg f "$P/phk-web.yaml" \
        '.metadata.annotations["io.podhook/dropin"] == $f and .metadata.annotations["io.podhook/pod"] == "phk-web"' "$TMP/file.json"
check "the run ends when the kubelet reports Running" \
        wait_for 30 grep -q "drop-in $P/phk-web.yaml: pod phk-web is running: 1 container(s) ready" "$TMP/daemon.log"
check "the docker options beside manifest: are no error here" bash -c '! grep -q "options.grace_period" "$0"' "$TMP/daemon.log"

# A drop-in named like the Heat deployment's pod: refused, that file left alone.
put phk-heat.yaml <"$P/phk-web.yaml"
check "a drop-in onto a Heat deployment's file: refused" \
        wait_for 20 grep -q "pod phk-heat belongs to a Heat deployment (stack stack/7, resource heat_deployment), which a drop-in does not take over" "$TMP/daemon.log"
rm "$P/phk-heat.yaml"

rm "$P/phk-web.yaml"
check "the drop-in removed: its file goes" wait_for 20 bash -c '[ ! -e "$0" ]' "$F"
check "the log says so" wait_for 5 grep -q "drop-in $P/phk-web.yaml is gone: pod phk-web deleted" "$TMP/daemon.log"
sleep_until_rescan() { wait_for 10 bash -c "[ \$(grep -c 'drop-ins: .* looked at' '$TMP/daemon.log') -ge $1 ]"; }
sleep_until_rescan $(($(grep -c 'drop-ins: .* looked at' "$TMP/daemon.log") + 2))
check "the Heat deployment's file is untouched (inode, mtime, content)" test \
        "$(stat -c '%i %Y' "$D/podhook-phk-heat.yaml"; sha256sum <"$D/podhook-phk-heat.yaml")" = "$heat_before"
check "foreign files untouched" bash -c 'diff "$0" <(cd "$1" && for f in another.yaml podhook-foreign.yaml .keep; do
                stat -c "%n %i %Y %s" "$f" && sha256sum "$f"; done)' "$TMP/foreign.before" "$D"
check "nothing else in the directory (no temporary, no backup)" test \
        "$(cd "$D" && ls -A | sort | tr '\n' ' ')" = ".keep another.yaml podhook-foreign.yaml podhook-phk-heat.yaml "

kill "$DAEMON" && wait "$DAEMON" 2>/dev/null
DAEMON=
sed 's/^/# /' "$TMP/daemon.log" | grep -E 'warning|error' | head -20
tap_done
