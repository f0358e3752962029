#!/bin/bash
# Volumes: an emptyDir shared by two containers; hostDir and emptyDir data surviving re-apply and
# delete; --purge removes the pod's named volumes and never a host directory; readOnly mounts.
PREFIX=phtest-vol
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-data
HOSTDIR=$TMP/host/deep/data
cat >"$TMP/pod.yaml" <<YAML
version: v1beta2
containers:
  - name: writer
    image: podhook.local/busybox:1
    command: ["/bin/sh", "-c", "echo gen >> /shared/log; echo gen >> /hostdata/log; exec sleep 100000"]
    volumeMounts:
      - {name: shared, mountPath: /shared}
      - {name: hostdata, mountPath: /hostdata}
  - name: reader
    image: podhook.local/busybox:1
    command: ["/bin/sleep", "100000"]
    volumeMounts:
      - {name: shared, mountPath: /in, readOnly: true}
volumes:
  - name: shared
    source: {emptyDir: {}}
  - name: hostdata
    source: {hostDir: {path: $HOSTDIR}}
YAML

lines_in_pod() { # the reader sees N lines written by the writer
        [ "$("$D" exec "$POD.reader" cat /in/log 2>/dev/null | grep -c gen)" = "$1" ]
}
lines_on_host() {
        [ "$(grep -c gen "$HOSTDIR/log" 2>/dev/null)" = "$1" ]
}
volumes_of_pod() {
        "$D" volume ls -q --filter label=io.podhook.managed=1 --filter "label=io.podhook.pod=$POD" | grep -c . || true
}

check "hostDir does not exist yet" [ ! -e "$HOSTDIR" ]
"$PODHOOK" apply --name "$POD" "$TMP/pod.yaml" >"$TMP/out1.json"
check "apply exits 0" [ $? -eq 0 ]
check "hostDir was created" [ -d "$HOSTDIR" ]
check_eq "hostDir created with mode 0755" "$(stat -c %a "$HOSTDIR")" 755
check "the reader sees what the writer wrote (one emptyDir, two containers)" wait_for 20 lines_in_pod 1
check "the writer's hostDir file is on the host" wait_for 20 lines_on_host 1
check_eq "the emptyDir is the named volume <pod>.<volume>" \
        "$(jq -r '.[0].Mounts[] | select(.Destination == "/shared") | .Name' "$TMP/out1.json")" "$POD.shared"
check_eq "the volume carries the pod's labels" \
        "$("$D" volume inspect -f '{{index .Labels "io.podhook.pod"}} {{index .Labels "io.podhook.volume"}}' "$POD.shared")" \
        "$POD shared"
check "readOnly mount cannot be written" bash -c "! $D exec $POD.reader touch /in/x 2>/dev/null"
check "hostDir is a bind mount" jq_true '.[0].Mounts[] | select(.Destination == "/hostdata" and .Type == "bind")' "$TMP/out1.json"

# A host directory that exists is left exactly as it is. An update replaces the writer (its command
# changed), which writes again: the data of both volumes is still there.
chmod 0700 "$HOSTDIR"
sed 's/exec sleep 100000/exec sleep 100001/' "$TMP/pod.yaml" >"$TMP/pod2.yaml"
"$PODHOOK" apply --name "$POD" "$TMP/pod2.yaml" >/dev/null
check "update exits 0" [ $? -eq 0 ]
check_eq "an existing hostDir keeps its mode" "$(stat -c %a "$HOSTDIR")" 700
check "emptyDir data survives the update" wait_for 20 lines_in_pod 2
check "hostDir data survives the update" wait_for 20 lines_on_host 2

"$PODHOOK" delete "$POD"
check "delete exits 0" [ $? -eq 0 ]
check_eq "delete keeps the named volume" "$(volumes_of_pod)" 1
check "delete keeps the host directory's data" lines_on_host 2
"$PODHOOK" apply --name "$POD" "$TMP/pod.yaml" >/dev/null
check "emptyDir data survives delete + apply" wait_for 20 lines_in_pod 3
check "hostDir data survives delete + apply" wait_for 20 lines_on_host 3

"$PODHOOK" delete --purge "$POD"
check "delete --purge exits 0" [ $? -eq 0 ]
check_eq "delete --purge removes the named volume" "$(volumes_of_pod)" 0
check "delete --purge never touches a host directory" lines_on_host 3
"$PODHOOK" apply --name "$POD" "$TMP/pod.yaml" >/dev/null
check "after --purge the emptyDir starts empty" wait_for 20 lines_in_pod 1

# Someone else's volume with the pod's volume name is not taken over.
"$PODHOOK" delete --purge "$POD" >/dev/null
"$D" volume create --label io.podhook.test-prefix=$PREFIX "$POD.shared" >/dev/null
"$PODHOOK" apply --name "$POD" "$TMP/pod.yaml" >/dev/null 2>"$TMP/err"
check "a foreign volume of the same name makes apply fail" [ $? -ne 0 ]
check "and says why" grep -q "is not this pod's" "$TMP/err"
check_eq "and nothing of the pod was created" "$(pod_count "$POD")" 0
"$D" volume rm "$POD.shared" >/dev/null
