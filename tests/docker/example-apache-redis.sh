#!/bin/bash
# The seed's apache+redis example, exactly as shipped in manifests-examples/: it deploys, answers on its
# host ports (apache on 8080, redis on 6379), and goes away again, leaving its volume to --purge.
PREFIX=phtest-example
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-apache-redis
EXAMPLE=$SRCROOT/manifests-examples/apache-redis.yaml

"$PODHOOK" apply --name "$POD" "$EXAMPLE" >"$TMP/out.json" 2>"$TMP/err"
check "the example applies" [ $? -eq 0 ]
check_eq "both containers and the infra run" \
        "$(jq -r '[.[].Name] | join(" ")' "$TMP/out.json")" \
        "/$POD.apache_container /$POD.redis_container /$POD._infra"
check "apache answers on host port 8080" wait_for 20 http_get http://127.0.0.1:8080/
check "with the example page" bash -c "curl -fsS --max-time 2 http://127.0.0.1:8080/ | grep -q 'podhook apache example'"
check_eq "redis answers on host port 6379" "$(wait_for 20 tcp_line 127.0.0.1 6379 && tcp_line 127.0.0.1 6379)" "+PONG"
check_eq "apache mounts the shared volume read-only" \
        "$(jq -r '.[0].Mounts[] | select(.Destination == "/log") | .RW' "$TMP/out.json")" false
check_eq "redis mounts it read-write" \
        "$(jq -r '.[1].Mounts[] | select(.Destination == "/log") | .RW' "$TMP/out.json")" true
check_eq "the shared volume is the pod's named volume" \
        "$(jq -r '.[0].Mounts[] | select(.Destination == "/log") | .Name' "$TMP/out.json")" "$POD.test_volume"

"$PODHOOK" delete "$POD" >/dev/null 2>&1
check "delete removes every container of the pod" [ "$(pod_count "$POD")" = 0 ]
check "the volume survives delete" "$D" volume inspect "$POD.test_volume"
"$PODHOOK" delete --purge "$POD" >/dev/null 2>&1
check "delete --purge removes it" bash -c "! $D volume inspect '$POD.test_volume' >/dev/null 2>&1"
