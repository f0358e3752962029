#!/bin/bash
# apply, re-apply, ps, delete; a published port answering on the host; secrets redacted in the output.
PREFIX=phtest-apply
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-web
PORT=$((18010 + PORT_SHIFT))
cat >"$TMP/web.yaml" <<YAML
version: v1beta2
id: $POD
containers:
  - name: web
    image: podhook.local/apache:1
    ports: [{containerPort: 80, hostPort: $PORT, hostIP: 127.0.0.1}]
    env:
      - {name: MODE, value: prod}
      - {name: DB_PASSWORD, value: hunter2-secret-value}
  - name: cache
    image: podhook.local/redis:1
    cpu: 500
    memory: 67108864
restartPolicy: {onFailure: {}}
YAML

# --- apply ---
"$PODHOOK" apply "$TMP/web.yaml" >"$TMP/out1.json" 2>"$TMP/err1"
check "apply exits 0" [ $? -eq 0 ]
check "apply prints a JSON array of 3 inspect objects" [ "$(jq 'length' "$TMP/out1.json")" = 3 ]
check_eq "output order: apps in manifest order, then infra" \
        "$(jq -r '[.[].Name] | join(" ")' "$TMP/out1.json")" "/$POD.web /$POD.cache /$POD._infra"
check_eq "every container is running" "$(jq -r '[.[].State.Status] | unique | join(",")' "$TMP/out1.json")" running
check "secret env value redacted in the output" jq_true '.[0].Config.Env | index("DB_PASSWORD=<redacted>")' "$TMP/out1.json"
check "the secret appears nowhere in the output" bash -c "[ -s '$TMP/out1.json' ] && ! grep -q hunter2-secret-value '$TMP/out1.json'"
check "plain env value kept" jq_true '.[0].Config.Env | index("MODE=prod")' "$TMP/out1.json"
check "the secret is in no label" bash -c "$D inspect -f '{{json .Config.Labels}}' $POD.web | grep -q io.podhook.pod && ! $D inspect -f '{{json .Config.Labels}}' $POD.web | grep -q hunter2"
infra=$(jq -r '.[2].Id' "$TMP/out1.json")
check_eq "apps join the infra container's network" "$(jq -r '.[0].HostConfig.NetworkMode' "$TMP/out1.json")" "container:$infra"
check_eq "infra publishes the port on hostIP" \
        "$(jq -r '.[2].HostConfig.PortBindings["80/tcp"][0] | .HostIp + ":" + .HostPort' "$TMP/out1.json")" "127.0.0.1:$PORT"
check_eq "infra restart policy" "$(jq -r '.[2].HostConfig.RestartPolicy.Name' "$TMP/out1.json")" unless-stopped
check_eq "infra hostname is the pod name" "$(jq -r '.[2].Config.Hostname' "$TMP/out1.json")" "$POD"
check_eq "restartPolicy onFailure" "$(jq -r '.[0].HostConfig.RestartPolicy.Name' "$TMP/out1.json")" on-failure
check_eq "cpu 500 -> CpuShares 512" "$(jq -r '.[1].HostConfig.CpuShares' "$TMP/out1.json")" 512
check_eq "memory -> Memory" "$(jq -r '.[1].HostConfig.Memory' "$TMP/out1.json")" 67108864
check_eq "Docker's init by default" "$(jq -r '.[0].HostConfig.Init' "$TMP/out1.json")" true
check_eq "labels of an app" \
        "$(jq -r '.[1].Config.Labels | [."io.podhook.managed", ."io.podhook.pod", ."io.podhook.container", ."io.podhook.role"] | join(" ")' "$TMP/out1.json")" \
        "1 $POD cache app"
check "spec hash label" jq_true '.[1].Config.Labels["io.podhook.spec-hash"] | test("^sha256:[0-9a-f]{64}$")' "$TMP/out1.json"
check_eq "labels of the infra" "$(jq -r '.[2].Config.Labels["io.podhook.role"]' "$TMP/out1.json")" infra
check "the published port answers on the host" wait_for 20 http_get "http://127.0.0.1:$PORT/"
check "and serves the apache page" bash -c "curl -fsS --max-time 2 http://127.0.0.1:$PORT/ | grep -q 'podhook apache example'"
check "the redis container is reachable from the web container over the pod's localhost" \
        wait_for 20 "$D" exec "$POD.web" sh -c 'nc 127.0.0.1 6379 </dev/null | grep -q PONG'

# --- ps ---
"$PODHOOK" ps "$POD" >"$TMP/ps"
check "ps lists the 3 containers" [ "$(grep -c "^$POD " "$TMP/ps")" = 3 ]
check "ps has a header" grep -q '^POD  *CONTAINER  *STATE  *STATUS  *IMAGE' "$TMP/ps"
check "ps --json" [ "$("$PODHOOK" ps --json "$POD" | jq 'length')" = 3 ]

# --- re-apply of the same manifest: nothing is touched (pod-update.sh has the details) ---
before=$(pod_ids "$POD")
"$PODHOOK" apply "$TMP/web.yaml" >"$TMP/out2.json" 2>"$TMP/err2"
check "re-apply exits 0" [ $? -eq 0 ]
after=$(pod_ids "$POD")
check "re-apply: still 3 containers" [ "$(pod_count "$POD")" = 3 ]
check_eq "re-apply: the same containers" "$after" "$before"
check "re-apply: says nothing changed" grep -q "^pod $POD: nothing changed, nothing touched" "$TMP/err2"
check "re-apply: the port still answers" http_get "http://127.0.0.1:$PORT/"

# --- pod name from --name and from the file name ---
sed '/^id:/d; s/hostPort: [0-9]*, hostIP: 127.0.0.1/hostPort: 0/' "$TMP/web.yaml" >"$TMP/$PREFIX-fromfile.yaml"
"$PODHOOK" apply "$TMP/$PREFIX-fromfile.yaml" >/dev/null 2>"$TMP/err3"
check "pod named after the file without extension" [ "$(pod_count "$PREFIX-fromfile")" = 3 ]
"$PODHOOK" apply --name "$PREFIX-named" "$TMP/$PREFIX-fromfile.yaml" >/dev/null 2>"$TMP/err4"
check "pod named by --name" [ "$(pod_count "$PREFIX-named")" = 3 ]
check "--name with a bad name is refused" bash -c "! '$PODHOOK' apply --name 'bad/name' '$TMP/web.yaml' 2>/dev/null"

# --- pods are found by exact label, never by a name or a prefix of one ---
check_eq "ps of a prefix of every pod name lists nothing" "$("$PODHOOK" ps --json "$PREFIX" | jq 'length')" 0
"$PODHOOK" delete --grace 1 "$PREFIX-nam"
check "delete of a prefix of a pod's name exits 0" [ $? -eq 0 ]
check_eq "and leaves that pod alone" "$(pod_count "$PREFIX-named")" 3

# --- delete ---
"$PODHOOK" delete --grace 2 "$POD"
check "delete exits 0" [ $? -eq 0 ]
check_eq "delete: no container of the pod is left" "$(pod_count "$POD")" 0
check "delete: the other pods are untouched" [ "$(pod_count "$PREFIX-named")" = 3 ]
check "delete: the port is closed" bash -c "! curl -fsS --max-time 2 http://127.0.0.1:$PORT/ >/dev/null 2>&1"
"$PODHOOK" delete "$POD"
check "delete of a pod that is gone exits 0" [ $? -eq 0 ]
check "delete --help" bash -c "'$PODHOOK' delete --help | grep -q -- --purge"

# --- an engine that does not answer: one clear line, exit 1 ---
DOCKER_HOST=unix:///nonexistent/docker.sock "$PODHOOK" ps >"$TMP/out" 2>"$TMP/err"
check_eq "no engine: ps exits 1" "$?" 1
check "no engine: one line naming the socket" bash -c "[ \"\$(grep -c . '$TMP/err')\" = 1 ] && grep -q '/nonexistent/docker.sock' '$TMP/err'"
DOCKER_HOST=ssh://example "$PODHOOK" delete "$POD" 2>"$TMP/err"
check_eq "unsupported DOCKER_HOST: exit 1" "$?" 1
check "unsupported DOCKER_HOST: says what is supported" grep -q 'only unix://PATH and tcp://HOST:PORT' "$TMP/err"
for cmd in validate apply diff delete ps hook; do
        check "$cmd --help" bash -c "'$PODHOOK' $cmd --help | grep -q '^Usage: podhook $cmd'"
done
