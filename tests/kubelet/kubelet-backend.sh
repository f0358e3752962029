#!/bin/bash
# The kubelet backend end to end, through a real manifest directory: `podhook apply/delete --backend
# kubelet` and `podhook hook` (heat-config JSON on stdin, group kubelet) against fake-kubelet.py, which
# reads the same directory and answers /pods as a kubelet does. An inotify watch on the directory shows
# that no file the kubelet reads is ever seen half-written, foreign files stay untouched and an unchanged
# Pod is not rewritten. Every Pod written and every Pod served is checked with the Kubernetes schema. TAP.
#   kubelet-backend.sh PODHOOK SRCROOT TEST-KUBELET-STATUS
set -uo pipefail
PODHOOK=${1:?usage: $0 PODHOOK SRCROOT TEST-KUBELET-STATUS}
SRCROOT=${2:?usage: $0 PODHOOK SRCROOT TEST-KUBELET-STATUS}
STATUS_BIN=${3:?usage: $0 PODHOOK SRCROOT TEST-KUBELET-STATUS}
HERE=$SRCROOT/tests/kubelet
source "$SRCROOT/tests/agent/tap.sh"
source "$HERE/needs.sh"
command -v openssl >/dev/null || need "no openssl"

TMP=$(mktemp -d)
D=$TMP/manifests
REC=$TMP/answers
EVENTS=$TMP/events
mkdir -p "$D" "$REC"
KUBELET_PID=
WATCH_PID=
cleanup() {
        [ -n "$KUBELET_PID" ] && kill "$KUBELET_PID" 2>/dev/null
        [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT

# start_kubelet SCENARIO [ARGS...]: the stand-in on a port of its own; $URL its /pods.
start_kubelet() {
        local scheme=http
        stop_kubelet
        rm -f "$TMP/port"
        case " $* " in *" --tls-cert "*) scheme=https ;; esac
        "$PY" "$HERE/fake-kubelet.py" --dir "$D" --port-file "$TMP/port" --scenario "$1" --record "$REC" "${@:2}" &
        KUBELET_PID=$!
        wait_for 10 test -s "$TMP/port" || { echo "Bail out! fake-kubelet.py did not start"; exit 1; }
        URL=$scheme://127.0.0.1:$(cat "$TMP/port")/pods
}
stop_kubelet() {
        if [ -n "$KUBELET_PID" ]; then
                kill "$KUBELET_PID" 2>/dev/null
                wait "$KUBELET_PID" 2>/dev/null
                KUBELET_PID=
        fi
}
# sync_events: every event so far is in $EVENTS (a marker file's event came after them).
k=0
sync_events() {
        k=$((k + 1))
        : >"$D/.sync-$k"
        wait_for 5 grep -qx "IN_CREATE .sync-$k" "$EVENTS"
        rm -f "$D/.sync-$k"
}
# events_on NAME: the events of NAME, one per line.
events_on() { awk -v n="$1" '$2 == n { print $1 }' "$EVENTS"; }
# foreign_state: what the files podhook must never touch look like (inode, mtime, size, content).
foreign_state() {
        (cd "$D" && for f in another.yaml podhook-x.yaml.bak podhook-foreign.yaml .podhook-keep podhook-link.yaml; do
                stat -c '%n %i %Y %s %F' "$f"
                [ -L "$f" ] || sha256sum "$f"
        done)
}
# jqt FILTER FILE: the filter yields true.
jqt() { jq -e "$@" >/dev/null; }
# yaml_json FILE: the YAML file as JSON (a YAML 1.1 reader, as the kubelet's).
yaml_json() { "$PY" -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' "$1"; }
# schema_ok FILE...: every Pod in the files is valid.
schema_ok() { node "$HERE/validate-pod.js" "$@" >"$TMP/schema.out" 2>&1 || { sed 's/^/# /' "$TMP/schema.out"; return 1; }; }
file_schema_ok() { yaml_json "$1" >"$TMP/file.json" && schema_ok "$TMP/file.json"; }

# --- the directory as a node has it: the kubelet's own files, backups, a stale temporary of ours -------
cp "$HERE/another-pod.yaml" "$D/another.yaml"
cp "$D/another.yaml" "$D/podhook-x.yaml.bak"
sed 's/name: another/name: foreign/' "$D/another.yaml" >"$D/podhook-foreign.yaml"
echo "not ours" >"$D/.podhook-keep"
ln -s another.yaml "$D/podhook-link.yaml"
echo "half" >"$D/.podhook-old.yaml.tmp-abcdefghijkl"
foreign_state >"$TMP/foreign.before"

cat >"$TMP/web.yaml" <<'EOF'
version: v1beta2
id: web
containers:
  - name: app_server
    image: podhook.local/busybox:1
    command: [httpd, -f, -p, "8080"]
    env:
      - name: DB_PASSWORD
        value: s3cret-value-1
    ports:
      - name: http
        containerPort: 8080
EOF
sed 's/s3cret-value-1/s3cret-value-2/' "$TMP/web.yaml" >"$TMP/web2.yaml"

"$PY" "$HERE/inotify-log.py" "$D" "$EVENTS" "$TMP/watch-ready" &
WATCH_PID=$!
wait_for 10 test -s "$TMP/watch-ready" || { echo "Bail out! the inotify watch did not start"; exit 1; }
start_kubelet running
KARGS=(--backend kubelet --kubelet-manifest-dir "$D")

# --- apply: the file, atomically; the kubelet's status -----------------------------------------------
"$PODHOOK" apply "${KARGS[@]}" --kubelet-url "$URL" --poll-period 0.2 --images-timeout 20 --containers-timeout 20 "$TMP/web.yaml" >"$TMP/apply.out" 2>"$TMP/apply.err"
rc=$?
check "apply --backend kubelet: exit 0 once the kubelet runs the pod (rc $rc)" [ $rc -eq 0 ]
sed 's/^/# /' "$TMP/apply.err"
check "apply prints the Pod's v1 status: Running, its container ready" jqt \
        '.phase == "Running" and .podIP == "10.88.0.17" and .containerStatuses[0].ready == true and
         .containerStatuses[0].name == "app-server"' "$TMP/apply.out"
check "apply says the pod is running" grep -q "pod web is running: 1 container(s) ready" "$TMP/apply.err"
F=$D/podhook-web.yaml
regular_0600() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %a "$1")" = 600 ]; }
check "podhook-web.yaml is there, a regular file of mode 0600" regular_0600 "$F"
check "its Pod is valid against the Kubernetes schema" file_schema_ok "$F"
check "its Pod carries podhook's annotation and is the converted Pod" bash -c \
        'diff <("$0" convert --json "$1" | jq -S .) <(jq -S . "$2")' "$PODHOOK" "$TMP/web.yaml" "$TMP/file.json"
check "the stale temporary of podhook's naming is gone" [ ! -e "$D/.podhook-old.yaml.tmp-abcdefghijkl" ]
check "no temporary is left" bash -c '! ls -A "$0" | grep -q "\.tmp-"' "$D"
sync_events
check "the kubelet's name saw only IN_MOVED_TO (no partial file under it)" \
        [ "$(events_on podhook-web.yaml | tr '\n' ' ')" = "IN_MOVED_TO " ]
check "the bytes were written under a dot name (which the kubelet skips)" \
        grep -Eq '^IN_CLOSE_WRITE \.podhook-web\.yaml\.tmp-[a-z0-9]{12}$' "$EVENTS"
check "nothing but dot names and podhook-web.yaml had an event" bash -c \
        '! awk "\$2 !~ /^\\./ && \$2 != \"podhook-web.yaml\"" "$0" | grep -q .' "$EVENTS"
inode1=$(stat -c '%i %Y.%y' "$F")

# --- unchanged: not rewritten ----------------------------------------------------------------------
: >"$EVENTS.mark"
"$PODHOOK" apply "${KARGS[@]}" --kubelet-url "$URL" --poll-period 0.2 --images-timeout 20 --containers-timeout 20 "$TMP/web.yaml" >/dev/null 2>"$TMP/apply2.err"
check "apply of the same manifest: exit 0" [ $? -eq 0 ]
sync_events
check "unchanged Pod: the file keeps its inode and mtime" [ "$(stat -c '%i %Y.%y' "$F")" = "$inode1" ]
check "unchanged Pod: no event on podhook-web.yaml" [ "$(events_on podhook-web.yaml | wc -l)" = 1 ]

# --- changed: replaced at once ---------------------------------------------------------------------
"$PODHOOK" apply "${KARGS[@]}" --kubelet-url "$URL" --poll-period 0.2 --images-timeout 20 --containers-timeout 20 "$TMP/web2.yaml" >"$TMP/apply3.out" 2>"$TMP/apply3.err"
check "apply of a changed manifest: exit 0, once the kubelet runs the new version" [ $? -eq 0 ]
sync_events
check "changed Pod: a new file (another inode) under the same name" [ "$(stat -c '%i' "$F")" != "${inode1%% *}" ]
check "changed Pod: still only IN_MOVED_TO on the kubelet's name" \
        [ "$(events_on podhook-web.yaml | tr '\n' ' ')" = "IN_MOVED_TO IN_MOVED_TO " ]
check "the file holds the new Pod" grep -q s3cret-value-2 "$F"
check "the printed status has no secret value" bash -c '! grep -q s3cret "$0"' "$TMP/apply3.out"

# --- what is not podhook's ---------------------------------------------------------------------------
"$PODHOOK" apply "${KARGS[@]}" --kubelet-url "$URL" --name foreign "$TMP/web.yaml" >/dev/null 2>"$TMP/foreign.err"
check "apply onto podhook-foreign.yaml (no podhook annotation): refused (exit 1)" [ $? -eq 1 ]
check "... saying why" grep -q "podhook-foreign.yaml has no io.podhook/pod annotation: it is not podhook's" "$TMP/foreign.err"
"$PODHOOK" apply "${KARGS[@]}" --kubelet-url "$URL" --name link "$TMP/web.yaml" >/dev/null 2>"$TMP/link.err"
check "apply onto podhook-link.yaml (a symbolic link): refused, not followed" grep -q "podhook-link.yaml is a symbolic link" "$TMP/link.err"
"$PODHOOK" delete "${KARGS[@]}" foreign 2>"$TMP/delete-foreign.err"
check "delete --backend kubelet foreign: refused (exit 1)" [ $? -eq 1 ]
check "foreign files untouched: another.yaml, podhook-x.yaml.bak, podhook-foreign.yaml, .podhook-keep, the link" \
        bash -c 'diff "$0" <(cd "$1" && for f in another.yaml podhook-x.yaml.bak podhook-foreign.yaml .podhook-keep podhook-link.yaml; do
                stat -c "%n %i %Y %s %F" "$f"; [ -L "$f" ] || sha256sum "$f"; done)' "$TMP/foreign.before" "$D"
"$PODHOOK" apply "${KARGS[@]}" --kubelet-url "$URL" --images-timeout 0 "$TMP/web.yaml" >/dev/null 2>"$TMP/badopt.err"
check "apply with --images-timeout 0: a usage error (exit 2)" [ $? -eq 2 ]

# --- the heat-config hook ----------------------------------------------------------------------------
# hook_input NAME ACTION OPTIONS: a deployment of group kubelet as 55-heat-config hands it to a hook.
hook_input() {
        jq -n --arg name "$1" --arg action "$2" --argjson options "$3" --rawfile cfg "$TMP/web.yaml" '{
                id: "3f4e-\($name)", name: $name, group: "kubelet", options: $options,
                inputs: [{name: "deploy_action", value: $action}, {name: "deploy_stack_id", value: "stack/42"},
                         {name: "deploy_resource_name", value: "web_deployment"},
                         {name: "deploy_signal_id", value: "https://heat.example/signal?sig=abcdef0123"}],
                config: ($cfg | sub("id: web\n"; ""))}'
}
hook() { "$PODHOOK" hook --kubelet-manifest-dir "$D" --kubelet-url "$2" "${@:3}"; }
hook_input hookpod CREATE '{"poll_period": 0.2, "images_timeout": 20, "containers_timeout": 20}' | hook hookpod "$URL" >"$TMP/hook.out" 2>"$TMP/hook.err"
check "hook CREATE (group kubelet): exit 0" [ $? -eq 0 ]
check "hook: deploy_status_code 0, deploy_stdout the Pod's status (Running)" jqt \
        '.deploy_status_code == 0 and (.deploy_stdout | fromjson | .phase == "Running" and .hostIP == "10.88.0.1")' "$TMP/hook.out"
check "hook: podhook-hookpod.yaml carries the deployment, stack and resource" bash -c \
        'yaml_json() { "$0" -c "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)" "$1"; }
         yaml_json "$1" | jq -e >/dev/null ".metadata.annotations | .[\"io.podhook/deployment\"] == \"3f4e-hookpod\" and
                 .[\"io.podhook/stack\"] == \"stack/42\" and .[\"io.podhook/resource\"] == \"web_deployment\""' \
        "$PY" "$D/podhook-hookpod.yaml"
check "hook: its Pod is schema-valid" file_schema_ok "$D/podhook-hookpod.yaml"
# Installed as <hooks dir>/kubelet, heat-config runs podhook with no arguments: the environment says where.
mkdir -p "$TMP/hooks"
ln -s "$(realpath "$PODHOOK")" "$TMP/hooks/kubelet"
hook_input named CREATE '{"poll_period": 0.2, "images_timeout": 20, "containers_timeout": 20}' |
        PODHOOK_KUBELET_MANIFEST_DIR=$D PODHOOK_KUBELET_URL=$URL "$TMP/hooks/kubelet" >"$TMP/named.out" 2>/dev/null
check "podhook as a hook named kubelet, told by PODHOOK_KUBELET_*: status 0, its file written" bash -c \
        'jq -e ".deploy_status_code == 0" "$0" >/dev/null && [ -f "$1" ]' "$TMP/named.out" "$D/podhook-named.yaml"
rm -f "$D/podhook-named.yaml"
hook_input badopt CREATE '{"poll_perod": 1, "images_timeout": "10"}' | hook badopt "$URL" >"$TMP/badopt.out" 2>/dev/null
check "hook with unknown and bad options: status 65, each named" jqt '.deploy_status_code == 65 and
        (.deploy_stderr | test("options.poll_perod: unknown option") and test("options.images_timeout: must be a number"))' "$TMP/badopt.out"
check "hook with bad options wrote nothing" [ ! -e "$D/podhook-badopt.yaml" ]
hook_input hookpod DELETE '{}' | hook hookpod "$URL" >"$TMP/hookdel.out" 2>/dev/null
check "hook DELETE: status 0" jqt '.deploy_status_code == 0' "$TMP/hookdel.out"
check "hook DELETE: the file removed" [ ! -e "$D/podhook-hookpod.yaml" ]

# --- delete ----------------------------------------------------------------------------------------------
"$PODHOOK" delete "${KARGS[@]}" web
check "delete --backend kubelet web: exit 0" [ $? -eq 0 ]
check "delete: podhook-web.yaml gone" [ ! -e "$F" ]
sync_events
check "delete: one IN_DELETE of podhook-web.yaml" [ "$(events_on podhook-web.yaml | tail -1)" = IN_DELETE ]
check "after everything, foreign files untouched" \
        bash -c 'diff "$0" <(cd "$1" && for f in another.yaml podhook-x.yaml.bak podhook-foreign.yaml .podhook-keep podhook-link.yaml; do
                stat -c "%n %i %Y %s %F" "$f"; [ -L "$f" ] || sha256sum "$f"; done)' "$TMP/foreign.before" "$D"

# --- the kubelet says no -----------------------------------------------------------------------------
start_kubelet crashloop
hook_input crash CREATE '{"poll_period": 0.2, "images_timeout": 20, "containers_timeout": 20}' | hook crash "$URL" >"$TMP/crash.out" 2>/dev/null
check "crash loop: status 1, deploy_stderr names CrashLoopBackOff and the last exit code" jqt '.deploy_status_code == 1 and
        (.deploy_stderr | test("container app-server: CrashLoopBackOff \\(last exit code 1, [0-9]+ restart"))' "$TMP/crash.out"
check "crash loop: deploy_stdout the status the kubelet gave" jqt \
        '.deploy_stdout | fromjson | .containerStatuses[0].state.waiting.reason == "CrashLoopBackOff"' "$TMP/crash.out"
start_kubelet imagepull
hook_input pull CREATE '{"poll_period": 0.2, "images_timeout": 20}' | hook pull "$URL" >"$TMP/pull.out" 2>/dev/null
check "image pull: status 1, deploy_stderr names ErrImagePull" jqt '.deploy_status_code == 1 and
        (.deploy_stderr | test("container app-server: ErrImagePull: rpc error"))' "$TMP/pull.out"
start_kubelet silent
start=$SECONDS
hook_input silent CREATE '{"poll_period": 0.2, "images_timeout": 1.5}' | hook silent "$URL" >"$TMP/silent.out" 2>/dev/null
took=$((SECONDS - start))
check "a kubelet that never answers: status 1 after images_timeout, saying so" jqt '.deploy_status_code == 1 and
        (.deploy_stderr | test("the kubelet at http://127.0.0.1:[0-9]+/pods did not answer in time \\(2 s\\)"))' "$TMP/silent.out"
check "... within a bounded time (${took} s)" [ "$took" -le 6 ]
stop_kubelet
hook_input closed CREATE '{"poll_period": 0.2, "images_timeout": 1}' | hook closed "$URL" >"$TMP/closed.out" 2>/dev/null
check "a closed port: status 1, saying the kubelet did not answer" jqt '.deploy_status_code == 1 and
        (.deploy_stderr | test("did not answer in time.*onnect"))' "$TMP/closed.out"
for f in crash pull silent closed; do rm -f "$D/podhook-$f.yaml"; done

# --- https with a client certificate, as the kubelet's authenticated port wants --------------------
C=$TMP/tls
mkdir -p "$C"
openssl_quiet() { openssl "$@" >/dev/null 2>&1; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout "$C/ca.key" -out "$C/ca.pem"
for who in server client; do
        openssl_quiet req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout "$C/$who.key" -out "$C/$who.csr"
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=%s\n' \
                "$([ $who = server ] && echo serverAuth || echo clientAuth)" >"$C/$who.ext"
        openssl_quiet x509 -req -in "$C/$who.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial -days 2 \
                -extfile "$C/$who.ext" -out "$C/$who.pem"
done
start_kubelet running --tls-cert "$C/server.pem" --tls-key "$C/server.key" --client-ca "$C/ca.pem"
TLS=(--kubelet-ca "$C/ca.pem" --kubelet-cert "$C/client.pem" --kubelet-key "$C/client.key")
hook_input tls CREATE '{"poll_period": 0.2, "images_timeout": 20, "containers_timeout": 20}' | hook tls "$URL" "${TLS[@]}" >"$TMP/tls.out" 2>/dev/null
check "https with CA, client certificate and key: status 0, Running" jqt \
        '.deploy_status_code == 0 and (.deploy_stdout | fromjson | .phase == "Running")' "$TMP/tls.out"
hook_input tls2 CREATE '{"poll_period": 0.2, "images_timeout": 1}' | hook tls2 "$URL" --kubelet-ca "$C/ca.pem" >"$TMP/tls2.out" 2>/dev/null
check "https without the client certificate: refused by the kubelet, status 1" jqt '.deploy_status_code == 1 and
        (.deploy_stderr | test("did not answer in time"))' "$TMP/tls2.out"
hook_input tls3 CREATE '{"poll_period": 0.2, "images_timeout": 1}' | hook tls3 "$URL" >"$TMP/tls3.out" 2>/dev/null
check "https with a CA the system does not know and no --kubelet-ca: status 1" jqt '.deploy_status_code == 1' "$TMP/tls3.out"
stop_kubelet
for f in tls tls2 tls3; do rm -f "$D/podhook-$f.yaml"; done

# --- every Pod served, and the PodList builder -------------------------------------------------------
n_answers=$(ls "$REC" | wc -l)
check "every answer of the stand-in is a valid PodList of valid Pods ($n_answers answers)" schema_ok "$REC"/*.json
sed -n '$p' "$TMP/schema.out" | sed 's/^/# /'
"$PODHOOK" convert --json "$TMP/web.yaml" >"$TMP/p1.json" && "$PODHOOK" convert --json "$SRCROOT/manifests-examples/apache-redis.yaml" >"$TMP/p2.json"
jq -s . "$TMP/p1.json" "$TMP/p2.json" >"$TMP/pods.json"
"$STATUS_BIN" --dump "$TMP/pods.json" >"$TMP/podlist.json"
check "kubelet_pod_list: a valid v1 PodList of the converted Pods" schema_ok "$TMP/podlist.json"
check "kubelet_pod_list: in name order" jqt '[.items[].metadata.name] == ["apache-redis", "web"]' "$TMP/podlist.json"

sync_events
check "never IN_MODIFY, IN_CREATE or IN_CLOSE_WRITE on a podhook-*.yaml name" bash -c \
        '! grep -E "^(IN_MODIFY|IN_CREATE|IN_CLOSE_WRITE)[A-Z_|]* podhook-.*\.yaml$" "$0"' "$EVENTS"
check "no temporary is left at the end" bash -c '! ls -A "$0" | grep -q "\.tmp-"' "$D"
tap_done
