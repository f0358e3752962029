#!/bin/bash
# Health on the real engine: the livenessProbe (httpGet, tcpSocket, exec) gates an apply, so it returns
# only once the probe passed, its first try initialDelaySeconds after the start; a probe that does not
# pass within the readiness timeout and a failing postStart each roll back to the old containers, which
# still serve the old page; preStop runs before a stop (it writes into a hostDir while the server still
# runs), and it is the old container's own preStop, not the new manifest's. Deployment options and
# --ready-timeout set the timeout.
PREFIX=phtest-health
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-web
PORT=$((18090 + PORT_SHIFT))
HOSTDIR=$TMP/host/data
mkdir -p "$HOSTDIR"
# manifest PAGE HANDLERS [READY-AFTER]: web serves page-PAGE on PORT and /health once READY-AFTER
# seconds passed (0: at once); HANDLERS is YAML put into the web container (probes, lifecycle); side
# probes web's port 80 over the pod's network with a tcpSocket probe.
manifest() {
        cat <<YAML
version: v1beta2
id: $POD
containers:
$(web_container "$1" $PORT "{ (sleep ${3:-0}; echo ok > /tmp/www/health) & } && exec httpd -f -p 80 -h /tmp/www")
    volumeMounts: [{name: hostdata, mountPath: /data}]
$2
  - name: side
    image: podhook.local/busybox:1
    command: ["/bin/sleep", "100000"]
    livenessProbe: {tcpSocket: {port: 80}}
volumes:
  - {name: hostdata, source: {hostDir: {path: $HOSTDIR}}}
YAML
}
serves() { # PAGE
        [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$PORT/" 2>/dev/null)" = "page-$1" ]
}
healthy() {
        curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$PORT/health"
}
state() { # name, id, state of every container of the pod
        "$D" ps -a --no-trunc --filter "label=io.podhook.pod=$POD" --format '{{.Names}} {{.ID}} {{.State}}' | sort
}
started_s() { # the start time of container NAME, whole seconds since the epoch
        date -d "$("$D" inspect -f '{{.State.StartedAt}}' "$1")" +%s
}

# --- an exec probe with initialDelaySeconds gates the apply: /health appears 4 s after the start ---
PRESTOP_V1='    lifecycle:
      preStop: {exec: {command: [/bin/sh, -c, "echo prestop-v1 > /data/prestop; pidof httpd >> /data/prestop"]}}'
manifest one "    livenessProbe:
      exec: {command: [/bin/sh, -c, \"date +%s >> /data/tries; test -e /tmp/www/health\"]}
      initialDelaySeconds: 2
      timeoutSeconds: 2
$PRESTOP_V1" 4 >"$TMP/one.yaml"
"$PODHOOK" apply "$TMP/one.yaml" >/dev/null 2>"$TMP/err"
check "exec probe: the apply exits 0" [ $? -eq 0 ]
check "exec probe: when the apply returns, the pod is ready already" healthy
check "and serves page one" serves one
start=$(started_s "$POD.web")
first=$(head -n 1 "$HOSTDIR/tries" 2>/dev/null)
check "the probe's first try came initialDelaySeconds (2) after the start" [ -n "$first" ] && [ "$first" -ge $((start + 2)) ]
check "it was tried again until it passed" [ "$(grep -c . "$HOSTDIR/tries")" -ge 2 ]
good=$(state)

# --- a failing httpGet probe: not passed within the readiness timeout, rolled back ---
manifest two "    livenessProbe: {httpGet: {path: /missing, port: http}}
$PRESTOP_V1" >"$TMP/bad-probe.yaml"
t0=$SECONDS
"$PODHOOK" apply --ready-timeout 3 "$TMP/bad-probe.yaml" >"$TMP/out" 2>"$TMP/err"
check "failing httpGet probe: apply fails" [ $? -ne 0 ]
check "it says which probe and why" grep -q "container $POD.web: livenessProbe httpGet :80/missing: HTTP 404 (not passed within the 3 s readiness timeout)" "$TMP/err"
check "and that it rolled back" grep -q "rolled back: the previous containers run again" "$TMP/err"
check "within the readiness timeout (and the start window): under 15 s" [ $((SECONDS - t0)) -lt 15 ]
check_eq "the old containers run, the same ones" "$(state)" "$good"
check "the old page is served" wait_for 20 serves one

# --- a failing postStart: rolled back ---
manifest three "    lifecycle:
      postStart: {exec: {command: [/bin/sh, -c, \"exit 3\"]}}" >"$TMP/bad-hook.yaml"
"$PODHOOK" apply "$TMP/bad-hook.yaml" >"$TMP/out" 2>"$TMP/err"
check "failing postStart: apply fails" [ $? -ne 0 ]
check "it says which hook and why" grep -q "container $POD.web: lifecycle.postStart exec /bin/sh: exit code 3" "$TMP/err"
check "and that it rolled back" grep -q "rolled back: the previous containers run again" "$TMP/err"
check_eq "the old containers run, the same ones" "$(state)" "$good"
check "the old page is served" wait_for 20 serves one

# --- preStop before the stop: an update replaces web; the old web's own preStop (v1) ran while its
# server still ran (pidof found it), and the new manifest's (v2) did not ---
rm -f "$HOSTDIR/prestop"
manifest four "    livenessProbe: {httpGet: {path: /health, port: 80}}
    lifecycle:
      postStart: {exec: {command: [/bin/sh, -c, \"echo started-\$PAGE > /data/poststart\"]}}
      preStop: {exec: {command: [/bin/sh, -c, \"echo prestop-v2 > /data/prestop; pidof httpd >> /data/prestop\"]}}" >"$TMP/four.yaml"
"$PODHOOK" apply "$TMP/four.yaml" >/dev/null 2>"$TMP/err"
check "httpGet probe and hooks: the apply exits 0" [ $? -eq 0 ]
check "the new page is served" serves four
check "postStart ran in the new container" grep -qx "started-four" "$HOSTDIR/poststart"
check_eq "preStop of the old container ran first" "$(head -n 1 "$HOSTDIR/prestop" 2>/dev/null)" prestop-v1
check "while its server still ran" bash -c "sed -n 2p '$HOSTDIR/prestop' | grep -Eq '^[0-9]+'"

# --- the same gate through the hook, with ready_timeout in the deployment's options ---
jq -n --arg config "$(cat "$TMP/bad-probe.yaml")" --arg name "$POD" '{id: "cfg-h", name: $name, group: "docker",
        config: $config, options: {ready_timeout: 2}, inputs: [{name: "deploy_action", value: "UPDATE"}]}' >"$TMP/dep.json"
before=$(state)
"$PODHOOK" hook <"$TMP/dep.json" >"$TMP/res.json" 2>/dev/null
check_eq "hook: a failing probe is status 1" "$(jq -r .deploy_status_code "$TMP/res.json")" 1
check "hook: deploy_stderr names the probe, the options' timeout and the rollback" \
        jq_true '.deploy_stderr | (contains("livenessProbe httpGet :80/missing: HTTP 404 (not passed within the 2 s readiness timeout)") and contains("rolled back"))' "$TMP/res.json"
check_eq "hook: the pod is as before" "$(state)" "$before"

# --- preStop on delete ---
rm -f "$HOSTDIR/prestop"
"$PODHOOK" delete "$POD" >/dev/null 2>&1
check "delete: exits 0" [ $? -eq 0 ]
check_eq "delete: the container's preStop (v2) ran before its stop" "$(head -n 1 "$HOSTDIR/prestop" 2>/dev/null)" prestop-v2
check "while its server still ran" bash -c "sed -n 2p '$HOSTDIR/prestop' | grep -Eq '^[0-9]+'"
check_eq "delete: no container left" "$(pod_count "$POD")" 0
