#!/bin/bash
# Images missing locally are pulled (from a docker-registry this test runs on 127.0.0.1, which the
# engine treats as an insecure registry by default) before the running pod is touched; progress shows
# on a terminal only; a pull failure leaves the running pod alone.
PREFIX=phtest-pull
. "$(dirname "$0")/lib.sh"

REGPORT=$((18050 + PORT_SHIFT))
REG=127.0.0.1:$REGPORT
POD=$PREFIX-web
IMAGE=$REG/phtest/busybox:1
registry=$(command -v docker-registry || true)
if [ -z "$registry" ]; then
        if [ "${PODHOOK_REQUIRE_ALL:-0}" = 1 ]; then
                fail "docker-registry is not installed (apt-get install docker-registry)"
                exit 1
        fi
        echo "SKIP: docker-registry is not installed" >&2
        exit 77
fi

cat >"$TMP/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $TMP/registry}, delete: {enabled: true}}
http: {addr: $REG}
YAML
"$registry" serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
regpid=$!
stop_registry() {
        kill "$regpid" 2>/dev/null
        wait "$regpid" 2>/dev/null
        "$D" rmi "$IMAGE" "$REG/phtest/busybox:2" >/dev/null 2>&1
        return 0
}
trap 'stop_registry; finish' EXIT
check "the registry answers" wait_for 20 curl -fsS -o /dev/null "http://$REG/v2/"

"$D" tag podhook.local/busybox:1 "$IMAGE"
"$D" push "$IMAGE" >/dev/null
check "the test image is in the registry" [ $? -eq 0 ]
"$D" rmi "$IMAGE" >/dev/null
check "and not present locally under its registry name" bash -c "! $D image inspect $IMAGE >/dev/null 2>&1"

cat >"$TMP/pod.yaml" <<YAML
version: v1beta2
containers:
  - name: app
    image: $IMAGE
    command: ["/bin/sleep", "100000"]
YAML
"$PODHOOK" apply --name "$POD" "$TMP/pod.yaml" >"$TMP/out.json" 2>"$TMP/err"
check "apply pulls the missing image and succeeds" [ $? -eq 0 ]
check "the image is now present" bash -c "$D image inspect $IMAGE >/dev/null"
check_eq "the pod runs it" "$(jq -r '.[0].Config.Image + " " + .[0].State.Status' "$TMP/out.json")" "$IMAGE running"
check "no progress lines when stderr is not a terminal" bash -c "! grep -q Pulling '$TMP/err'"
ids=$(pod_ids "$POD")
app=$(jq -r '.[0].Id' "$TMP/out.json")

# A tag the registry does not have: the pull fails, the running pod stays as it was.
sed "s|busybox:1|busybox:2|" "$TMP/pod.yaml" >"$TMP/missing.yaml"
"$PODHOOK" apply --name "$POD" "$TMP/missing.yaml" >/dev/null 2>"$TMP/err"
check "a tag missing in the registry fails the apply" [ $? -ne 0 ]
check "with the registry's answer" grep -q "pulling image $REG/phtest/busybox:2: .*manifest unknown" "$TMP/err"
check_eq "the running pod was not touched" "$(pod_ids "$POD")" "$ids"

# PullAlways on a terminal: the present image is pulled again (asked of the registry), with progress on stderr.
sed 's|    command:|    imagePullPolicy: PullAlways\n    command:|' "$TMP/pod.yaml" >"$TMP/always.yaml"
script -qec "'$PODHOOK' apply --name '$POD' '$TMP/always.yaml' >'$TMP/out2.json'" /dev/null >"$TMP/tty" 2>&1
check "PullAlways apply on a terminal succeeds" [ $? -eq 0 ]
# Docker's stream starts with "Pulling from <repo>"; Podman's has only the layers' lines.
progress='Pulling from phtest/busybox'
[ "$ENGINE" = podman ] && progress=': (Pulling fs layer|Download complete|Already exists)'
check "pull progress is shown on a terminal" grep -qE "$progress" "$TMP/tty"
sed "s/^/# tty: /" "$TMP/tty" | head -n 8
check "the app was replaced (its imagePullPolicy changed)" all_gone "$app"
check "and the terminal said so" grep -q "$POD.app replaced (imagePullPolicy)" "$TMP/tty"
