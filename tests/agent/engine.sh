# Engine helpers for the agent's script tests that run pods (sourced after tap.sh).
# need_engine: skip the test (exit 77) when no engine answers, or bail out under PODHOOK_REQUIRE_ALL.
need_engine() {
        docker version >/dev/null 2>&1 && return 0
        [ -n "${PODHOOK_REQUIRE_ALL:-}" ] && { echo "Bail out! no Docker Engine"; exit 1; }
        echo "1..0 # SKIP no Docker Engine"
        exit 77
}
# remove_pods PREFIX [volumes]: every pod whose name starts with PREFIX, by label; apps before infra
# containers (Podman refuses to remove a container whose network others joined); with "volumes" their
# volumes too.
remove_pods() {
        local pod role
        for pod in $(docker ps -a --filter label=io.podhook.pod --format '{{.Label "io.podhook.pod"}}' | grep "^$1" | sort -u); do
                for role in app infra; do
                        docker ps -aq --filter "label=io.podhook.pod=$pod" --filter "label=io.podhook.role=$role" |
                                xargs -r docker rm -f >/dev/null 2>&1
                done
                [ "${2:-}" = volumes ] &&
                        docker volume ls -q --filter "label=io.podhook.pod=$pod" | xargs -r docker volume rm >/dev/null 2>&1
        done
        if [ "${2:-}" = volumes ]; then
                docker volume ls --filter label=io.podhook.pod --format '{{.Name}} {{.Label "io.podhook.pod"}}' |
                        awk -v p="$1" 'index($2, p) == 1 { print $1 }' | xargs -r docker volume rm >/dev/null 2>&1
        fi
        return 0
}
