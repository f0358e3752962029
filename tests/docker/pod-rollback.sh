#!/bin/bash
# Every failed update returns the pod that worked, with its data: a missing image, a command that exits
# within the start window, and a host port another process holds each leave the old containers serving
# the old page ("rolled back"); a port change replaces the whole pod and, when the new pod cannot bind
# its port, rolls back to the old one on the old port. The data in a hostDir and an emptyDir volume
# survives every update and rollback byte for byte (checksums).
PREFIX=phtest-rb
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-web
PORT=$((18070 + PORT_SHIFT))
BUSY=$((18071 + PORT_SHIFT))
HOSTDIR=$TMP/host/data
manifest() { # PAGE PORT [WEB-COMMAND-TAIL]
        cat <<YAML
version: v1beta2
id: $POD
containers:
$(web_container "$1" "$2" "${3:-}")
    volumeMounts: [{name: shared, mountPath: /shared}, {name: hostdata, mountPath: /hostdata}]
  - name: keeper
    image: podhook.local/busybox:1
    command: ["/bin/sleep", "100000"]
    volumeMounts: [{name: shared, mountPath: /shared}]
volumes:
  - {name: shared, source: {emptyDir: {}}}
  - {name: hostdata, source: {hostDir: {path: $HOSTDIR}}}
YAML
}
page() { # PORT: the page served there
        curl -fsS --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null
}
serves() { # PORT PAGE
        [ "$(page "$1")" = "page-$2" ]
}
sums() { # checksums of the data: hostDir from the host, emptyDir from inside the pod
        sha256sum <"$HOSTDIR/blob"
        "$D" exec "$POD.keeper" sha256sum /shared/blob
}
state() { # what runs: name, id, state of every container of the pod
        "$D" ps -a --no-trunc --filter "label=io.podhook.pod=$POD" --format '{{.Names}} {{.ID}} {{.State}}' | sort
}
# try WHAT MANIFEST-ARGS...: an update that must fail and roll back to exactly what ran before
try() {
        local what=$1
        shift
        manifest "$@" >"$TMP/bad.yaml"
        "$PODHOOK" apply "$TMP/bad.yaml" >"$TMP/out" 2>"$TMP/err"
        check "$what: apply fails" [ $? -ne 0 ]
        check "$what: nothing on stdout" [ ! -s "$TMP/out" ]
        check "$what: the error says it rolled back" grep -q "rolled back: the previous containers run again" "$TMP/err"
        check_eq "$what: the same containers, running" "$(state)" "$good"
        check "$what: the old page is served on the old port" wait_for 20 serves $PORT one
        check_eq "$what: the data is unchanged" "$(sums)" "$data"
        check "$what: no journal is left" bash -c "[ -z \"\$(ls '$PODHOOK_STATE_DIR/pods' 2>/dev/null)\" ]"
}

mkdir -p "$HOSTDIR"
head -c 200000 /dev/urandom >"$HOSTDIR/blob"
manifest one $PORT >"$TMP/good.yaml"
"$PODHOOK" apply "$TMP/good.yaml" >/dev/null 2>"$TMP/err"
check "the good pod applies" [ $? -eq 0 ]
check "and serves page one" wait_for 20 serves $PORT one
"$D" exec "$POD.keeper" sh -c 'head -c 200000 /dev/urandom > /shared/blob'
data=$(sums)
good=$(state)
check_eq "3 containers run" "$(echo "$good" | grep -c ' running$')" 3

# --- a missing image: fails before anything is touched ---
sed 's|image: podhook.local/busybox:1|image: podhook.local/phtest-missing:1|' "$TMP/good.yaml" >"$TMP/missing.yaml"
"$PODHOOK" apply "$TMP/missing.yaml" >/dev/null 2>"$TMP/err"
check "a missing image fails" [ $? -ne 0 ]
check "naming it" grep -q "podhook.local/phtest-missing:1" "$TMP/err"
check_eq "a missing image: the same containers, running" "$(state)" "$good"
check "a missing image: the old page is served" serves $PORT one

# --- a command that exits within the start window ---
try "a crashing command" two $PORT "exit 3"
check "a crashing command: the error names the container and its exit" \
        grep -q "container $POD.web exited with code 3 within the 2 s start window" "$TMP/err"
# ... also when it runs a while first, but not long enough
try "a command exiting after 1 s" two $PORT "sleep 1; exit 4"
# --- an exit within a longer window ---
manifest two $PORT "sleep 3; exit 5" >"$TMP/late.yaml"
"$PODHOOK" apply --start-window 5 "$TMP/late.yaml" >/dev/null 2>"$TMP/err"
check "--start-window 5 catches an exit after 3 s" grep -q "exited with code 5 within the 5 s start window.*; rolled back" "$TMP/err"
check_eq "and rolls back" "$(state)" "$good"

# --- a host port another process holds (a port change: the whole pod is replaced, then rolled back) ---
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("ready", flush=True); time.sleep(600)' $BUSY >"$TMP/holder" &
holder=$!
stop_holder() {
        kill "$holder" 2>/dev/null
        wait "$holder" 2>/dev/null
        return 0
}
trap 'stop_holder; finish' EXIT
check "another process holds port $BUSY" wait_for 10 grep -q ready "$TMP/holder"
try "a host port held by another process" one $BUSY
check "a held port: the error is the Engine's" grep -q "address already in use" "$TMP/err"
stop_holder

# --- a port change that works: the whole pod is new, on the new port; the data is there ---
manifest one $BUSY >"$TMP/moved.yaml"
old_ids=$(pod_ids "$POD")
"$PODHOOK" apply "$TMP/moved.yaml" >/dev/null 2>"$TMP/err"
check "a port change applies" [ $? -eq 0 ]
check "a port change replaces every container" all_gone $old_ids
check "saying why" grep -q "$POD._infra replaced (ports)" "$TMP/err"
check "the pod serves on the new port" wait_for 20 serves $BUSY one
check "and no longer on the old one" bash -c "! curl -fsS --max-time 2 http://127.0.0.1:$PORT/ >/dev/null 2>&1"
check_eq "a port change: the data is unchanged" "$(sums)" "$data"

# --- an update that works replaces the changed container; the data is there ---
manifest two $BUSY >"$TMP/two.yaml"
keeper=$("$D" inspect -f '{{.Id}}' "$POD.keeper")
"$PODHOOK" apply "$TMP/two.yaml" >/dev/null 2>"$TMP/err"
check "an update applies" [ $? -eq 0 ]
check "and serves page two" wait_for 20 serves $BUSY two
check_eq "the unchanged container stayed" "$("$D" inspect -f '{{.Id}}' "$POD.keeper")" "$keeper"
check_eq "an update: the data is unchanged" "$(sums)" "$data"
check "no container is left aside" bash -c "! $D ps -a --filter label=io.podhook.pod=$POD --format '{{.Names}}' | grep -q _old"
