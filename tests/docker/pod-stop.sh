#!/bin/bash
# The pod's containers stop concurrently: three busybox `sleep` processes as PID 1 (--no-init) ignore
# SIGTERM and each take the whole grace period, so the pod stops in about one grace period, not three.
# With Docker's init (the default) the same pod stops at once.
PREFIX=phtest-stop
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-sleepers
GRACE=3
cat >"$TMP/pod.yaml" <<YAML
version: v1beta2
containers:
  - {name: a, image: podhook.local/busybox:1, command: ["/bin/sleep", "100000"]}
  - {name: b, image: podhook.local/busybox:1, command: ["/bin/sleep", "100000"]}
  - {name: c, image: podhook.local/busybox:1, command: ["/bin/sleep", "100000"]}
YAML
all_running() {
        [ "$("$D" ps -q --filter "label=io.podhook.pod=$POD" | grep -c .)" = 4 ]
}
# elapsed_ms COMMAND...: runs it, prints its wall time in milliseconds
elapsed_ms() {
        local t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || echo "command failed: $*" >&2
        awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
}

"$PODHOOK" apply --no-init --name "$POD" "$TMP/pod.yaml" >"$TMP/out.json"
check "apply --no-init exits 0" [ $? -eq 0 ]
check_eq "--no-init: no Docker init" "$(jq -r '[.[0:3][].HostConfig.Init // false] | unique | join(",")' "$TMP/out.json")" false
check "all four containers run" wait_for 20 all_running
ms=$(elapsed_ms "$PODHOOK" delete --grace $GRACE "$POD")
echo "# delete of 3 SIGTERM-deaf containers with --grace $GRACE took ${ms} ms"
check "the stop really waited for the grace period (sleep as PID 1 ignores SIGTERM)" [ "$ms" -ge $(((GRACE - 1) * 1000)) ]
check "the containers stopped concurrently: under 2 x grace" [ "$ms" -lt $((2 * GRACE * 1000)) ]
check_eq "the pod is gone" "$(pod_count "$POD")" 0

"$PODHOOK" apply --name "$POD" "$TMP/pod.yaml" >"$TMP/out.json"
check_eq "default: Docker's init as PID 1" "$(jq -r '[.[0:3][].HostConfig.Init] | unique | join(",")' "$TMP/out.json")" true
check "all four containers run" wait_for 20 all_running
ms=$(elapsed_ms "$PODHOOK" delete --grace $GRACE "$POD")
echo "# delete of the same pod under init took ${ms} ms"
check "under init the pod stops well within the grace period" [ "$ms" -lt $(((GRACE - 1) * 1000)) ]
check_eq "the pod is gone" "$(pod_count "$POD")" 0
