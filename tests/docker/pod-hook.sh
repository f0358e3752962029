#!/bin/bash
# The heat-config hook contract (heat-protocol.md 2.4) for group docker: one deployment JSON in, one
# result object out, for every deploy_action; also when installed as an executable named `docker`.
PREFIX=phtest-hook
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-web
PORT=$((18030 + PORT_SHIFT))
mkdir -p "$TMP/hooks"
ln -s "$(realpath "$PODHOOK")" "$TMP/hooks/docker"

manifest() { # MODE
        cat <<YAML
manifest:
  version: v1beta2
  containers:
    - name: web
      image: podhook.local/apache:1
      ports: [{containerPort: 80, hostPort: $PORT}]
      env:
        - {name: MODE, value: $1}
        - {name: API_TOKEN, value: tok-very-secret}
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data}]
YAML
}
# deployment ID NAME ACTION CONFIG-TEXT
deployment() {
        jq -n --arg id "$1" --arg name "$2" --arg action "$3" --arg config "$4" '{
                id: $id, name: $name, group: "docker", config: $config, options: {grace_period: 2},
                outputs: [],
                inputs: [
                        {name: "deploy_server_id", type: "String", value: "server-1"},
                        {name: "deploy_action", type: "String", value: $action},
                        {name: "deploy_stack_id", type: "String", value: "phtest-stack/1234"},
                        {name: "deploy_resource_name", type: "String", value: "web_deployment"},
                        {name: "deploy_signal_transport", type: "String", value: "HEAT_SIGNAL"},
                        {name: "deploy_password", type: "String", value: "pw-very-secret"}
                ]}'
}
# run_hook HOOK-EXECUTABLE ARGS... < deployment: result in $TMP/res, exit code in $TMP/rc (a file: run_hook
# often runs at the end of a pipe, in a subshell)
run_hook() {
        "$@" >"$TMP/res" 2>"$TMP/hookerr"
        echo $? >"$TMP/rc"
}
hook_rc() {
        cat "$TMP/rc"
}
one_object() {
        [ "$(jq -s 'length' "$TMP/res")" = 1 ] && jq_true 'type == "object" and has("deploy_stdout") and
                has("deploy_stderr") and has("deploy_status_code")' "$TMP/res"
}
status() {
        jq -r '.deploy_status_code' "$TMP/res"
}
inspect_out() { # the inspect array carried in deploy_stdout
        jq '.deploy_stdout | fromjson' "$TMP/res"
}

# --- CREATE ---
deployment cfg-1 "$POD" CREATE "$(manifest one)" >"$TMP/create.json"
run_hook "$PODHOOK" hook <"$TMP/create.json"
check "CREATE: exit 0" [ "$(hook_rc)" = 0 ]
check "CREATE: stdout is exactly one result object" one_object
check_eq "CREATE: deploy_status_code 0" "$(status)" 0
check_eq "CREATE: deploy_stdout is the inspect array (app, infra)" \
        "$(inspect_out | jq -r '[.[].Name] | join(" ")')" "/$POD.web /$POD._infra"
check "CREATE: the port answers" wait_for 20 http_get "http://127.0.0.1:$PORT/"
check_eq "CREATE: deployment, stack and resource labels" \
        "$("$D" inspect -f '{{index .Config.Labels "io.podhook.deployment"}} {{index .Config.Labels "io.podhook.stack"}} {{index .Config.Labels "io.podhook.resource"}}' "$POD.web")" \
        "cfg-1 phtest-stack/1234 web_deployment"
check "CREATE: secret env value redacted in deploy_stdout" bash -c "! grep -q tok-very-secret '$TMP/res' && grep -q 'API_TOKEN=<redacted>' '$TMP/res'"
check "CREATE: the deploy_password input appears nowhere in the result" bash -c "! grep -q pw-very-secret '$TMP/res' '$TMP/hookerr'"
ids1=$(pod_ids "$POD")
web1=$("$D" inspect -f '{{.Id}}' "$POD.web")
infra1=$("$D" inspect -f '{{.Id}}' "$POD._infra")

# --- UPDATE ---
deployment cfg-2 "$POD" UPDATE "$(manifest two)" | run_hook "$PODHOOK" hook
check_eq "UPDATE: deploy_status_code 0" "$(status)" 0
check "UPDATE: one result object" one_object
check "UPDATE: the changed container was replaced" all_gone $web1
check_eq "UPDATE: the infra container (same ports) was kept" "$("$D" inspect -f '{{.Id}}' "$POD._infra")" "$infra1"
check "UPDATE: deploy_stderr says what changed" jq_true '.deploy_stderr | contains("'"$POD"'.web replaced (env MODE)")' "$TMP/res"
check "UPDATE: the new spec is running" bash -c "$D inspect -f '{{json .Config.Env}}' $POD.web | grep -q MODE=two"
check_eq "UPDATE: the deployment label follows" \
        "$("$D" inspect -f '{{index .Config.Labels "io.podhook.deployment"}}' "$POD.web")" cfg-2
check "UPDATE: the port answers" wait_for 20 http_get "http://127.0.0.1:$PORT/"

# --- SUSPEND ---
deployment cfg-3 "$POD" SUSPEND "$(manifest two)" | run_hook "$PODHOOK" hook
check_eq "SUSPEND: deploy_status_code 0" "$(status)" 0
check_eq "SUSPEND: deploy_stdout shows every container stopped" \
        "$(inspect_out | jq -r '[.[].State.Running] | unique | join(",")')" false
check_eq "SUSPEND: the containers are kept" "$(pod_count "$POD")" 2
check_eq "SUSPEND: none runs" "$("$D" ps -q --filter "label=io.podhook.pod=$POD" | grep -c .)" 0
if [ "$ENGINE" = podman ]; then
        # Podman 4.3 has no call that changes a restart policy (docs/podman.md): the manifest's stay.
        check_eq "SUSPEND on Podman: the restart policies stay as created" \
                "$(inspect_out | jq -r '[.[].HostConfig.RestartPolicy.Name] | unique | join(",")')" always,unless-stopped
else
        check_eq "SUSPEND: none comes back when dockerd restarts (restart policy no)" \
                "$(inspect_out | jq -r '[.[].HostConfig.RestartPolicy.Name] | unique | join(",")')" no
fi

# --- RESUME ---
deployment cfg-4 "$POD" RESUME "$(manifest two)" | run_hook "$PODHOOK" hook
check_eq "RESUME: deploy_status_code 0" "$(status)" 0
check_eq "RESUME: every container runs" "$(inspect_out | jq -r '[.[].State.Status] | unique | join(",")')" running
check "RESUME: the port answers" wait_for 20 http_get "http://127.0.0.1:$PORT/"

# --- DELETE ---
deployment cfg-5 "$POD" DELETE "" | run_hook "$PODHOOK" hook
check "DELETE: exit 0" [ "$(hook_rc)" = 0 ]
check_eq "DELETE: deploy_status_code 0" "$(status)" 0
check "DELETE: one result object" one_object
check_eq "DELETE: no container of the pod is left" "$(pod_count "$POD")" 0
check_eq "DELETE: the pod's volume stays" \
        "$("$D" volume ls -q --filter "label=io.podhook.pod=$POD" | grep -c .)" 1
deployment cfg-6 "$POD" DELETE "" | run_hook "$PODHOOK" hook
check_eq "DELETE of a pod that is gone: deploy_status_code 0" "$(status)" 0

# --- invalid manifest ---
deployment cfg-7 "$POD" CREATE "$(manifest one | sed 's/containerPort: 80/containerPort: 0/')" | run_hook "$PODHOOK" hook
check "invalid: one result object" one_object
check "invalid: non-zero deploy_status_code" [ "$(status)" != 0 ]
check "invalid: the message in deploy_stderr names the field" \
        jq_true '.deploy_stderr | test("containers\\[0\\]\\.ports\\[0\\]\\.containerPort")' "$TMP/res"
check "invalid: non-zero exit" [ "$(hook_rc)" != 0 ]
check_eq "invalid: nothing was created" "$(pod_count "$POD")" 0

# --- unusable input still gets one JSON answer ---
echo '{not json' | run_hook "$PODHOOK" hook
check "garbage on stdin: one result object" one_object
check "garbage on stdin: non-zero deploy_status_code" [ "$(status)" != 0 ]
"$PODHOOK" hook --no-such-option </dev/null >"$TMP/res" 2>"$TMP/hookerr"
check "a bad option: non-zero exit" [ $? -ne 0 ]
check "a bad option: one result object" one_object
check "a bad option: non-zero deploy_status_code" [ "$(status)" != 0 ]
check "a bad option: one line on stderr" [ "$(grep -c . "$TMP/hookerr")" = 1 ]
# an engine address with bytes that are not UTF-8 ends up in the error text, which JSON cannot carry
deployment cfg-7b "$POD" DELETE "" | DOCKER_HOST=$'unix:///nonexistent/\xff.sock' run_hook "$PODHOOK" hook
check "a DOCKER_HOST that is not UTF-8: one result object" one_object
check "a DOCKER_HOST that is not UTF-8: non-zero deploy_status_code" [ "$(status)" != 0 ]

# --- config as an object (StructuredConfig), a name Docker would refuse ---
deployment cfg-8 "$PREFIX-odd name/x" CREATE "" |
        jq --argjson m "$(jq -n '{version: "v1beta2", containers: [{name: "web",
                image: "podhook.local/busybox:1", command: ["/bin/sleep", "100000"]}]}')" \
                '.config = $m | .options.init = false' >"$TMP/obj.json"
run_hook "$PODHOOK" hook <"$TMP/obj.json"
check_eq "object config: deploy_status_code 0" "$(status)" 0
# Sanitised, with 8 hex digits of the name's SHA-256, so that no other name gives the same pod.
odd="$PREFIX-odd-name-x-$(printf '%s' "$PREFIX-odd name/x" | sha256sum | cut -c1-8)"
check_eq "a name Docker refuses is sanitised" "$(pod_count "$odd")" 2
check_eq "options.init false: no Docker init" "$("$D" inspect "$odd.web" | jq -r '.[0].HostConfig.Init // false')" false
check "and deploy_stderr says so" jq_true '.deploy_stderr | contains("pod '"'$odd'"'")' "$TMP/res"

# --- installed as an executable named docker, run with no arguments ---
deployment cfg-9 "$POD" CREATE "$(manifest four)" | run_hook "$TMP/hooks/docker"
check "as 'docker': exit 0" [ "$(hook_rc)" = 0 ]
check "as 'docker': one result object" one_object
check_eq "as 'docker': deploy_status_code 0" "$(status)" 0
check "as 'docker': the pod runs" wait_for 20 http_get "http://127.0.0.1:$PORT/"
deployment cfg-10 "$POD" DELETE "" | run_hook "$TMP/hooks/docker"
check_eq "as 'docker': DELETE" "$(pod_count "$POD")" 0
