#!/bin/bash
# What an application needs around its pod (issue 8), on the real engine: the secrets file (refused at
# mode 0644), an env valueFrom.secretKeyRef that reaches the container but no output, log, label, signal
# body or state file other than its own 0600/0400 ones; options beside 'manifest:' in a wrapped file
# (unknown keys refused with file, line and path), config_files in a configMap volume whose change
# replaces only the container that mounts it; wait_for a tcp port that opens late, an http URL that
# answers 503 first, a pod that becomes ready late, and one that never does (fails, names it, touches
# nothing).
PREFIX=phtest-needs
. "$(dirname "$0")/lib.sh"
pids=()
# finish takes the script's exit status from $?: a kill of a helper that already ended must not set it.
trap 'st=$?; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; (exit "$st"); finish' EXIT

POD=$PREFIX-app
TCPPORT=$((18110 + PORT_SHIFT))
HTTPPORT=$((18111 + PORT_SHIFT))
DEADPORT=$((18112 + PORT_SHIFT))
SECRET="Sekr1t-$RANDOM$RANDOM-value"
SECRET2="Other-$RANDOM$RANDOM-value"
STATE=$PODHOOK_STATE_DIR
# The value of variable NAME in container C, as printenv would show it (the busybox image has env only).
envof() {
        "$D" exec "$1" env | sed -n "s/^$2=//p"
}

printf '{"db_password": "%s", "unused": "x"}\n' "$SECRET" >"$TMP/secrets.json"
chmod 644 "$TMP/secrets.json"
wrapped() { # CONFIG-CONTENT [EXTRA-OPTION-LINE]
        cat <<YAML
options:
  config_files: {app.conf: "$1"}
${2:-}
manifest:
  version: v1beta2
  id: $POD
  containers:
    - name: web
      image: podhook.local/busybox:1
      command: ["/bin/sleep", "100000"]
      volumeMounts:
        - {name: cfg, mountPath: /etc/app}
        - {name: creds, mountPath: /run/creds}
    - name: side
      image: podhook.local/busybox:1
      command: ["/bin/sleep", "100000"]
      env:
        - {name: DB_CONN, valueFrom: {secretKeyRef: {key: db_password}}}
  volumes:
    - {name: cfg, source: {configMap: {items: [{key: app.conf, path: app.conf}]}}}
    - {name: creds, source: {secret: {items: [{key: db_password, path: pw}]}}}
YAML
}
wrapped v1 >"$TMP/pod.yaml"

# --- the secrets file must be private ---
"$PODHOOK" apply --secrets "$TMP/secrets.json" "$TMP/pod.yaml" >/dev/null 2>"$TMP/err"
check "a secrets file of mode 0644 is refused" [ $? -ne 0 ]
check "naming the file and its mode" grep -q "secrets file $TMP/secrets.json has mode 0644, must be 0600 or stricter" "$TMP/err"
check_eq "and nothing was created" "$(pod_count "$POD")" 0
chmod 600 "$TMP/secrets.json"

# --- options and names are checked before anything is touched ---
wrapped v1 "  wait_fro: [tcp:127.0.0.1:1]" >"$TMP/typo.yaml"
"$PODHOOK" apply --secrets "$TMP/secrets.json" "$TMP/typo.yaml" >/dev/null 2>"$TMP/err"
check "an unknown option is refused" [ $? -eq 65 ]
check "with file, line and path" grep -q "^$TMP/typo.yaml:3: options.wait_fro: unknown key" "$TMP/err"
sed 's/key: db_password}}}/key: db_pasword}}}/' "$TMP/pod.yaml" >"$TMP/unknown.yaml"
"$PODHOOK" apply --secrets "$TMP/secrets.json" "$TMP/unknown.yaml" >/dev/null 2>"$TMP/err"
check "a secretKeyRef to an unknown secret is refused" [ $? -eq 65 ]
check "naming the env entry" grep -q 'containers\[1\].env\[0\].valueFrom.secretKeyRef.key: env "DB_CONN": "db_pasword" is no secret' "$TMP/err"

# --- the secret reaches the container, and nothing else ---
"$PODHOOK" apply --secrets "$TMP/secrets.json" "$TMP/pod.yaml" >"$TMP/out.json" 2>"$TMP/err"
check "apply with the secrets file succeeds" [ $? -eq 0 ]
check_eq "printenv in the container shows the secret" "$(envof "$POD.side" DB_CONN)" "$SECRET"
check_eq "the secret volume holds it" "$("$D" exec "$POD.web" cat /run/creds/pw)" "$SECRET"
check_eq "the configMap file holds config_files' content" "$("$D" exec "$POD.web" cat /etc/app/app.conf)" "v1"
check "the mounts are read-only" bash -c "! $D exec $POD.web sh -c 'echo x > /etc/app/app.conf' 2>/dev/null"
check "the secret is not in apply's output" bash -c "! grep -qF '$SECRET' '$TMP/out.json' '$TMP/err'"
check "the inspect output shows DB_CONN redacted" jq_true '.[] | select(.Name == "/'"$POD"'.side") | .Config.Env | index("DB_CONN=<redacted>")' "$TMP/out.json"
"$D" inspect $(pod_ids "$POD") >"$TMP/inspect.json"
check "the labels carry no secret" bash -c "! jq -r '.[].Config.Labels | tostring' '$TMP/inspect.json' | grep -qF '$SECRET'"
leaks=$(grep -rlF "$SECRET" "$STATE" 2>/dev/null | while read -r f; do
        mode=$(stat -c %a "$f")
        [ "$mode" = 400 ] || [ "$mode" = 600 ] || echo "$f ($mode)"
done)
check_eq "in the state directory only files of mode 0400/0600 hold it" "$leaks" ""
check "the file that holds it is the secret volume's" bash -c "grep -rlF '$SECRET' '$STATE' | grep -q '$POD.files/creds-'"
check_eq "the pod's files directory is 0700" "$(stat -c %a "$STATE/pods/$POD.files")" 700
ids=$(pod_ids "$POD")
web=$("$D" inspect -f '{{.Id}}' "$POD.web")
side=$("$D" inspect -f '{{.Id}}' "$POD.side")

"$PODHOOK" apply --secrets "$TMP/secrets.json" "$TMP/pod.yaml" >/dev/null 2>&1
check_eq "an unchanged re-apply keeps every container" "$(pod_ids "$POD")" "$ids"

# --- a config file change replaces only the container that mounts it (a flag wins over the file) ---
printf 'v2' >"$TMP/app.conf"
"$PODHOOK" apply --secrets "$TMP/secrets.json" --config-file app.conf="$TMP/app.conf" "$TMP/pod.yaml" >/dev/null 2>"$TMP/err"
check "apply with a changed config file succeeds" [ $? -eq 0 ]
check "web, which mounts it, was replaced" all_gone "$web"
check_eq "side was kept" "$("$D" inspect -f '{{.Id}}' "$POD.side")" "$side"
check_eq "the new web reads the new content" "$("$D" exec "$POD.web" cat /etc/app/app.conf)" "v2"
check "the old content's directory went" bash -c "[ \$(ls '$STATE/pods/$POD.files' | grep -c '^cfg-') -eq 1 ]"
web=$("$D" inspect -f '{{.Id}}' "$POD.web")

# --- a changed secret value replaces its containers ---
printf '{"db_password": "%s"}\n' "$SECRET2" >"$TMP/secrets.json"
"$PODHOOK" apply --secrets "$TMP/secrets.json" --config-file app.conf="$TMP/app.conf" "$TMP/pod.yaml" >"$TMP/out.json" 2>"$TMP/err"
check "apply with a changed secret succeeds" [ $? -eq 0 ]
check "side (env) and web (secret volume) were replaced" all_gone "$side" "$web"
check_eq "printenv shows the new secret" "$(envof "$POD.side" DB_CONN)" "$SECRET2"
check "the summary names the env variable, not its value" grep -q "env DB_CONN" "$TMP/err"
check "and neither value is in the output" bash -c "! grep -qF -e '$SECRET' -e '$SECRET2' '$TMP/out.json' '$TMP/err'"

# --- the docker hook: the deployment's input of the same name wins; the result (what is signalled) has no value ---
SECRET3="Input-$RANDOM$RANDOM-value"
jq -n --rawfile m "$TMP/pod.yaml" --arg s "$SECRET3" --arg name "$PREFIX-hook" '{id: "dep-needs", name: $name,
        group: "docker", config: $m, options: {config_files: {"app.conf": "from-heat"}},
        inputs: [{name: "deploy_action", value: "CREATE"}, {name: "db_password", value: $s}]}' |
        sed "s/id: $POD/id: $PREFIX-hook/" >"$TMP/dep.json"
"$PODHOOK" hook --secrets "$TMP/secrets.json" <"$TMP/dep.json" >"$TMP/hook.json" 2>"$TMP/hook.err"
check "hook: the deployment succeeds" jq_true '.deploy_status_code == 0' "$TMP/hook.json"
check_eq "hook: the input wins over the secrets file" "$(envof "$PREFIX-hook.side" DB_CONN)" "$SECRET3"
check_eq "hook: the deployment's config_files win over the file's" "$("$D" exec "$PREFIX-hook.web" cat /etc/app/app.conf)" "from-heat"
check "hook: the result carries no secret" bash -c "! grep -qF -e '$SECRET3' -e '$SECRET2' '$TMP/hook.json' '$TMP/hook.err'"
"$PODHOOK" hook --secrets "$TMP/secrets.json" < <(jq '.inputs[0].value = "DELETE"' "$TMP/dep.json") >/dev/null 2>&1
check "hook: DELETE removes the pod's files directory (ours, no user data)" bash -c "[ ! -e '$STATE/pods/$PREFIX-hook.files' ]"

# --- wait_for: a tcp port that opens late (a listener started by a delayed opener) ---
cat >"$TMP/listen.py" <<'PY'
import socket, sys, time, os
time.sleep(float(sys.argv[2]))
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
open(sys.argv[3], "w").write("%.3f\n" % time.time())
while True:
    c, _ = s.accept(); c.close()
PY
python3 "$TMP/listen.py" "$TCPPORT" 3 "$TMP/tcp.opened" &
pids+=($!)
cat >"$TMP/side.yaml" <<YAML
version: v1beta2
containers:
  - name: one
    image: podhook.local/busybox:1
    command: ["/bin/sleep", "100000"]
YAML
"$PODHOOK" apply --name "$PREFIX-tcp" --wait-for "tcp:127.0.0.1:$TCPPORT" --wait-interval 1 "$TMP/side.yaml" >/dev/null 2>"$TMP/err"
check "wait_for tcp: the apply succeeds once the port opens" [ $? -eq 0 ]
created=$(date -d "$("$D" inspect -f '{{.Created}}' "$PREFIX-tcp._infra")" +%s.%N)
check "and created the pod only after the port opened" python3 -c "import sys; sys.exit(not float('$created') >= float(open('$TMP/tcp.opened').read()))"
check "it said it was waiting" grep -q "wait_for tcp:127.0.0.1:$TCPPORT: not ready yet" "$TMP/err"

# --- wait_for: an http URL that answers 503 twice, then 200 ---
# Not named http.py: Python puts the script's directory first on sys.path, and "import http.server"
# would import the script itself.
cat >"$TMP/http-standin.py" <<'PY'
import http.server, sys
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        n[0] += 1
        code = 503 if n[0] <= 2 else 200
        open(sys.argv[2], "a").write("%d\n" % code)
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$TMP/http-standin.py" "$HTTPPORT" "$TMP/http.log" &
pids+=($!)
check "the http stand-in answers" wait_for 10 bash -c "curl -s -o /dev/null http://127.0.0.1:$HTTPPORT/ready && : > '$TMP/http.log'"
: >"$TMP/http.log"
cat >"$TMP/http-opts.yaml" <<YAML
options: {wait_for: ["http://127.0.0.1:$HTTPPORT/ready?token=abc"], wait_interval: 1}
manifest:
$(sed 's/^/  /' "$TMP/side.yaml")
YAML
# the stand-in's first answer was spent on the check above: it answers 503 once more, then 200
"$PODHOOK" apply --name "$PREFIX-http" "$TMP/http-opts.yaml" >/dev/null 2>"$TMP/err"
check "wait_for http: the apply succeeds after the 503" [ $? -eq 0 ]
check_eq "the URL answered 503, then 200" "$(tr '\n' ' ' <"$TMP/http.log")" "503 200 "
check "the message has no query string" bash -c "grep -q 'wait_for http://127.0.0.1:$HTTPPORT/ready: not ready yet (HTTP 503)' '$TMP/err' && ! grep -q token '$TMP/err'"

# --- wait_for: a pod that becomes ready late (its probe passes 4 s after its start) ---
cat >"$TMP/late.yaml" <<YAML
version: v1beta2
containers:
  - name: db
    image: podhook.local/busybox:1
    command: ["/bin/sh", "-c", "(sleep 4; touch /tmp/ready) & exec sleep 100000"]
    livenessProbe: {exec: {command: [/bin/test, -e, /tmp/ready]}}
YAML
( "$PODHOOK" apply --name "$PREFIX-late" "$TMP/late.yaml" >/dev/null 2>"$TMP/late.err"; echo $? >"$TMP/late.rc"; date +%s.%N >"$TMP/late.done" ) &
pids+=($!)
check "the late pod's container runs" wait_for 30 bash -c "[ \"\$($D inspect -f '{{.State.Running}}' $PREFIX-late.db 2>/dev/null)\" = true ]"
"$PODHOOK" apply --name "$PREFIX-dep" --wait-for "pod:$PREFIX-late" --wait-interval 1 "$TMP/side.yaml" >/dev/null 2>"$TMP/err"
check "wait_for pod: the apply succeeds" [ $? -eq 0 ]
check_eq "the late pod's apply succeeded" "$(cat "$TMP/late.rc" 2>/dev/null)" 0
created=$(date -d "$("$D" inspect -f '{{.Created}}' "$PREFIX-dep._infra")" +%s.%N)
check "the dependent pod was created only after the late pod was ready" python3 -c "import sys; sys.exit(not float('$created') >= float(open('$TMP/late.done').read()) - 0.5)"
check "it said what it waited for" grep -qE "wait_for pod:$PREFIX-late: not ready yet \((an update of it is in progress|container .*)\)" "$TMP/err"

# --- wait_for: never ready: fails, names it and what it answered, touches nothing ---
ids=$(pod_ids "$POD")
"$PODHOOK" apply --secrets "$TMP/secrets.json" --config-file app.conf="$TMP/pod.yaml" --wait-for "tcp:127.0.0.1:$DEADPORT" \
        --wait-interval 1 --wait-timeout 2 "$TMP/pod.yaml" >/dev/null 2>"$TMP/err"
check "wait_for never ready: the apply fails" [ $? -ne 0 ]
check "naming the dependency and its last answer" grep -q "wait_for tcp:127.0.0.1:$DEADPORT: not ready after 2 s: Connection refused" "$TMP/err"
check "and saying nothing was changed" grep -q "nothing was changed" "$TMP/err"
check_eq "the running pod was not touched (same containers)" "$(pod_ids "$POD")" "$ids"
