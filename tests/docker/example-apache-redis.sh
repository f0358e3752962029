#!/bin/bash
# The seed's apache+redis example, exactly as shipped in manifests-examples/: it deploys, answers on its
# host ports (apache on 8080, redis on 6379), and goes away again, leaving its volume to --purge.
PREFIX=phtest-example
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-apache-redis
EXAMPLE=$SRCROOT/manifests-examples/apache-redis.yaml
HTTP_PORT=8080
REDIS_PORT=6379

# The README's first command leaves this example running on 8080 and 6379 (so may anything else on the
# host): then the same manifest is checked on free ports of this test's own range, nothing else changed.
port_taken() {
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
# The Podman run always moves (to its own range): the Docker run may want 8080 at the same time.
if [ "$PORT_SHIFT" != 0 ] || port_taken $HTTP_PORT || port_taken $REDIS_PORT; then
        HTTP_PORT=$((18680 + PORT_SHIFT))
        REDIS_PORT=$((18681 + PORT_SHIFT))
        sed "s/hostPort: 8080\$/hostPort: $HTTP_PORT/; s/hostPort: 6379\$/hostPort: $REDIS_PORT/" "$EXAMPLE" >"$TMP/apache-redis.yaml"
        check "the example publishes 8080 and 6379 (moved to $HTTP_PORT and $REDIS_PORT: taken here)" \
                bash -c "[ \"\$(diff '$EXAMPLE' '$TMP/apache-redis.yaml' | grep -c '^>')\" = 2 ]"
        EXAMPLE=$TMP/apache-redis.yaml
fi

"$PODHOOK" apply --name "$POD" "$EXAMPLE" >"$TMP/out.json" 2>"$TMP/err"
check "the example applies" [ $? -eq 0 ]
check_eq "both containers and the infra run" \
        "$(jq -r '[.[].Name] | join(" ")' "$TMP/out.json")" \
        "/$POD.apache_container /$POD.redis_container /$POD._infra"
check "apache answers on host port $HTTP_PORT" wait_for 20 http_get http://127.0.0.1:$HTTP_PORT/
check "with the example page" bash -c "curl -fsS --max-time 2 http://127.0.0.1:$HTTP_PORT/ | grep -q 'podhook apache example'"
check_eq "redis answers on host port $REDIS_PORT" "$(wait_for 20 tcp_line 127.0.0.1 $REDIS_PORT && tcp_line 127.0.0.1 $REDIS_PORT)" "+PONG"
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
