#!/bin/bash
# No half pod: a failed apply leaves nothing of the new pod and reports Docker's own error text;
# what fails before the old pod is touched (invalid manifest, missing image) leaves the old pod running;
# another pod holding the host port is left alone.
PREFIX=phtest-fail
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-a
OTHER=$PREFIX-other
PORT=$((18020 + PORT_SHIFT))

pod_yaml() { # NAME IMAGE2 HOSTPORT
        cat <<YAML
version: v1beta2
id: $1
containers:
  - name: web
    image: podhook.local/apache:1
    ports: [{containerPort: 80, hostPort: $3}]
  - name: side
    image: $2
    command: ["/bin/sleep", "100000"]
YAML
}
running_ids() {
        "$D" ps -q --no-trunc --filter label=io.podhook.managed=1 --filter "label=io.podhook.pod=$1" | sort
}

# --- the other pod holds the port ---
pod_yaml "$OTHER" podhook.local/busybox:1 $PORT >"$TMP/other.yaml"
"$PODHOOK" apply "$TMP/other.yaml" >/dev/null
check "the other pod is up" wait_for 20 http_get "http://127.0.0.1:$PORT/"
other_ids=$(running_ids "$OTHER")
check_eq "the other pod runs 3 containers" "$(echo "$other_ids" | grep -c .)" 3

pod_yaml "$POD" podhook.local/busybox:1 $PORT >"$TMP/clash.yaml"
"$PODHOOK" apply "$TMP/clash.yaml" >"$TMP/out" 2>"$TMP/err"
check "apply on a taken host port fails" [ $? -ne 0 ]
check "before anything is created, naming the port and the pod holding it" \
        grep -q "host port $PORT/tcp is already published by container $OTHER\." "$TMP/err"
check "in one line" [ "$(grep -c . "$TMP/err")" = 1 ]
check "nothing on stdout" [ ! -s "$TMP/out" ]
check_eq "no container of the failed pod is left" "$(pod_count "$POD")" 0
check_eq "the other pod is untouched (same containers, running)" "$(running_ids "$OTHER")" "$other_ids"
check "the other pod still answers" http_get "http://127.0.0.1:$PORT/"

# --- a failure in the middle of creating: a container that is not ours holds the second app's name ---
"$D" create --name "$POD.side" --label io.podhook.test-prefix=$PREFIX podhook.local/busybox:1 >/dev/null
foreign=$("$D" inspect -f '{{.Id}}' "$POD.side")
pod_yaml "$POD" podhook.local/busybox:1 $((PORT + 1)) >"$TMP/conflict.yaml"
"$PODHOOK" apply "$TMP/conflict.yaml" >/dev/null 2>"$TMP/err"
check "apply fails when the engine refuses to create the second app" [ $? -ne 0 ]
# (Docker: 'The container name "/NAME" is already in use', Podman: 'the container name "NAME" is already in use')
check "with the engine's error text" grep -qi 'the container name "/\?'"$POD"'.side" is already in use' "$TMP/err"
check_eq "no container of the failed pod is left (infra and first app removed)" "$(pod_count "$POD")" 0
check_eq "the foreign container is untouched" "$("$D" inspect -f '{{.Id}}' "$POD.side")" "$foreign"
"$D" rm "$POD.side" >/dev/null

# --- a good pod, then failures that must not touch it ---
pod_yaml "$POD" podhook.local/busybox:1 $((PORT + 2)) >"$TMP/good.yaml"
"$PODHOOK" apply "$TMP/good.yaml" >/dev/null
check "the pod is up" wait_for 20 http_get "http://127.0.0.1:$((PORT + 2))/"
good_ids=$(running_ids "$POD")
check_eq "it runs 3 containers" "$(echo "$good_ids" | grep -c .)" 3

pod_yaml "$POD" podhook.local/phtest-missing:1 $((PORT + 2)) >"$TMP/missing.yaml"
"$PODHOOK" apply "$TMP/missing.yaml" >"$TMP/out" 2>"$TMP/err"
check "apply with a missing image fails" [ $? -ne 0 ]
check "naming the image" grep -q "podhook.local/phtest-missing:1" "$TMP/err"
check_eq "the running pod was not touched (images come first)" "$(running_ids "$POD")" "$good_ids"

pod_yaml "$POD" podhook.local/busybox:1 $PORT >"$TMP/taken.yaml"
"$PODHOOK" apply "$TMP/taken.yaml" >/dev/null 2>"$TMP/err"
check "a re-apply onto the host port of another pod fails" [ $? -ne 0 ]
check "naming the pod holding it" grep -q "already published by container $OTHER\." "$TMP/err"
check_eq "the running pod was not touched (host ports are checked first)" "$(running_ids "$POD")" "$good_ids"
check "the other pod still answers" http_get "http://127.0.0.1:$PORT/"

sed 's/containerPort: 80/containerPort: 80000/' "$TMP/good.yaml" >"$TMP/invalid.yaml"
"$PODHOOK" apply "$TMP/invalid.yaml" >/dev/null 2>"$TMP/err"
check_eq "an invalid manifest exits 65" "$?" 65
check "naming the field" grep -q "containers\[0\].ports\[0\].containerPort" "$TMP/err"
check_eq "the running pod was not touched" "$(running_ids "$POD")" "$good_ids"

# --- a missing image on a new pod: nothing at all is created ---
pod_yaml "$PREFIX-new" podhook.local/phtest-missing:1 0 >"$TMP/new.yaml"
"$PODHOOK" apply "$TMP/new.yaml" >/dev/null 2>"$TMP/err"
check "a new pod with a missing image fails" [ $? -ne 0 ]
check_eq "and leaves no container" "$(pod_count "$PREFIX-new")" 0

# --- PullNever ---
sed 's|image: podhook.local/phtest-missing:1|image: podhook.local/phtest-missing:1\n    imagePullPolicy: PullNever|' "$TMP/new.yaml" >"$TMP/never.yaml"
"$PODHOOK" apply "$TMP/never.yaml" >/dev/null 2>"$TMP/err"
check "PullNever with a missing image fails" [ $? -ne 0 ]
check "saying so" grep -q "imagePullPolicy is PullNever" "$TMP/err"
