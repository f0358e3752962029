#!/bin/bash
# Private registries: Debian's docker-registry on 127.0.0.1 with htpasswd (bcrypt) auth behind TLS with a
# CA this test makes (the registry's htpasswd auth requires TLS), installed for dockerd in
# /etc/docker/certs.d/ and for Podman in /etc/containers/certs.d/ (both read per pull). A pull with the
# right credentials (config.json "auth") succeeds; without credentials or with wrong ones
# (username/password) the apply fails naming the image and the registry, and the running pod is left
# serving; the credentials appear in no output.
PREFIX=phtest-registry
. "$(dirname "$0")/lib.sh"

REGPORT=$((18100 + PORT_SHIFT))
REG=127.0.0.1:$REGPORT
POD=$PREFIX-app
IMAGE=$REG/phtest/private:1
USER_=phuser
PASS="Reg-$RANDOM$RANDOM-pass"
registry=$(command -v docker-registry || true)
if [ -z "$registry" ] || ! command -v openssl >/dev/null; then
        [ "${PODHOOK_REQUIRE_ALL:-0}" = 1 ] && { fail "docker-registry and openssl are needed"; exit 1; }
        echo "SKIP: docker-registry or openssl is not installed" >&2
        exit 77
fi
CERTS_D=(/etc/docker/certs.d/$REG /etc/containers/certs.d/$REG)
regpid=
stop_registry() {
        [ -n "$regpid" ] && kill "$regpid" 2>/dev/null && wait "$regpid" 2>/dev/null
        "$D" rmi "$IMAGE" "$REG/phtest/private:2" >/dev/null 2>&1
        rm -rf "${CERTS_D[@]}"
        return 0
}
trap 'stop_registry; finish' EXIT

# --- a CA, the registry's certificate for 127.0.0.1, a bcrypt htpasswd ---
mkdir -p "$TMP/certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=podhook test CA" \
        -keyout "$TMP/certs/ca.key" -out "$TMP/certs/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TMP/certs/reg.key" -out "$TMP/certs/reg.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$TMP/certs/ext"
openssl x509 -req -in "$TMP/certs/reg.csr" -CA "$TMP/certs/ca.crt" -CAkey "$TMP/certs/ca.key" -CAcreateserial \
        -days 2 -extfile "$TMP/certs/ext" -out "$TMP/certs/reg.crt" 2>/dev/null
check "the test CA signed the registry's certificate" openssl verify -CAfile "$TMP/certs/ca.crt" "$TMP/certs/reg.crt"
for d in "${CERTS_D[@]}"; do
        mkdir -p "$d" && cp "$TMP/certs/ca.crt" "$d/ca.crt"
done
python3 -W ignore -c 'import crypt, sys; print("%s:%s" % (sys.argv[1], crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH))))' \
        "$USER_" "$PASS" >"$TMP/htpasswd"

cat >"$TMP/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $TMP/registry}}
http: {addr: $REG, tls: {certificate: $TMP/certs/reg.crt, key: $TMP/certs/reg.key}}
auth: {htpasswd: {realm: podhook-test, path: $TMP/htpasswd}}
YAML
"$registry" serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
regpid=$!
check "the registry answers over TLS, asking for credentials" wait_for 20 bash -c \
        "[ \"\$(curl -sS --cacert '$TMP/certs/ca.crt' -o /dev/null -w '%{http_code}' https://$REG/v2/)\" = 401 ]"
check "and lets the user in" curl -fsS --cacert "$TMP/certs/ca.crt" -u "$USER_:$PASS" -o /dev/null "https://$REG/v2/"

# The engine pushes the test images with a login of its own (not the machine's ~/.docker).
export DOCKER_CONFIG=$TMP/push-config
printf '%s' "$PASS" | "$D" login -u "$USER_" --password-stdin "$REG" >/dev/null 2>"$TMP/login.err"
check "the engine logs in to the registry" [ $? -eq 0 ]
for tag in 1 2; do
        "$D" tag podhook.local/busybox:1 "$REG/phtest/private:$tag"
        "$D" push "$REG/phtest/private:$tag" >/dev/null 2>>"$TMP/push.err"
        check "image :$tag is in the registry" [ $? -eq 0 ]
        "$D" rmi "$REG/phtest/private:$tag" >/dev/null
done
unset DOCKER_CONFIG
check "and not present locally" bash -c "! $D image inspect $IMAGE >/dev/null 2>&1"

manifest() { # TAG PAGE
        cat <<YAML
version: v1beta2
containers:
  - name: app
    image: $REG/phtest/private:$1
    command: ["/bin/sh", "-c", "echo $2 > /tmp/page; exec sleep 100000"]
YAML
}
manifest 1 one >"$TMP/one.yaml"
manifest 2 two >"$TMP/two.yaml"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf '%s:%s' "$USER_" "$PASS" | base64 -w0)" >"$TMP/right.json"
printf '{"auths": {"https://%s/v1/": {"username": "%s", "password": "WrongPass-%s"}}}\n' "$REG" "$USER_" "$RANDOM$RANDOM" >"$TMP/wrong.json"
WRONG=$(jq -r '.auths[].password' "$TMP/wrong.json")
chmod 600 "$TMP/right.json" "$TMP/wrong.json"

# --- no credentials: refused, naming image and registry ---
DOCKER_CONFIG=$TMP/none "$PODHOOK" apply --name "$POD" "$TMP/one.yaml" >/dev/null 2>"$TMP/err"
check "without credentials the pull is refused" [ $? -ne 0 ]
check "naming the image and the registry" grep -q "container app (registry $REG): pulling image $IMAGE" "$TMP/err"
check_eq "nothing was created" "$(pod_count "$POD")" 0

# --- the right credentials ---
"$PODHOOK" apply --name "$POD" --registry-config "$TMP/right.json" "$TMP/one.yaml" >"$TMP/out.json" 2>"$TMP/err"
check "with the right credentials the apply pulls and succeeds" [ $? -eq 0 ]
check "the image is now present" bash -c "$D image inspect $IMAGE >/dev/null"
check_eq "the pod runs it" "$("$D" exec "$POD.app" cat /tmp/page)" one
B64=$(jq -r '.auths[].auth' "$TMP/right.json")
check "the credentials are in no output" bash -c "! grep -qF -e '$PASS' -e '$B64' '$TMP/out.json' '$TMP/err'"
ids=$(pod_ids "$POD")

# --- wrong credentials: refused before the running pod is touched ---
"$PODHOOK" apply --name "$POD" --registry-config "$TMP/wrong.json" "$TMP/two.yaml" >"$TMP/out.json" 2>"$TMP/err"
check "with wrong credentials the apply fails" [ $? -ne 0 ]
check "naming the image and the registry" grep -q "container app (registry $REG, with credentials): pulling image $REG/phtest/private:2" "$TMP/err"
check "the wrong password is in no output" bash -c "! grep -qF '$WRONG' '$TMP/out.json' '$TMP/err'"
check_eq "the running pod was not touched" "$(pod_ids "$POD")" "$ids"
check_eq "and still runs the old image" "$("$D" exec "$POD.app" cat /tmp/page)" one

# --- an unreachable registry ---
sed "s/$REGPORT/$((REGPORT + 1))/" "$TMP/two.yaml" >"$TMP/gone.yaml"
"$PODHOOK" apply --name "$POD" --registry-config "$TMP/right.json" "$TMP/gone.yaml" >/dev/null 2>"$TMP/err"
check "an unreachable registry fails the apply" [ $? -ne 0 ]
check "naming its registry" grep -q "(registry 127.0.0.1:$((REGPORT + 1))): pulling image" "$TMP/err"
check_eq "the running pod was not touched" "$(pod_ids "$POD")" "$ids"

# --- the hook, with the registry config given to it ---
jq -n --rawfile m "$TMP/two.yaml" --arg name "$POD" '{id: "dep-registry", name: $name, group: "docker",
        config: $m, inputs: [{name: "deploy_action", value: "UPDATE"}]}' >"$TMP/dep.json"
"$PODHOOK" hook --registry-config "$TMP/right.json" <"$TMP/dep.json" >"$TMP/hook.json" 2>"$TMP/hook.err"
check "hook: the update pulls with the credentials" jq_true '.deploy_status_code == 0' "$TMP/hook.json"
check_eq "hook: the pod runs the new image" "$("$D" exec "$POD.app" cat /tmp/page)" two
check "hook: the result has no credential" bash -c "! grep -qF -e '$PASS' -e '$B64' '$TMP/hook.json' '$TMP/hook.err'"
