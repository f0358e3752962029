# What the kubelet tests' scripts need (sourced after HERE is set): node with kubernetes-models in
# schema/, jq, and Debian's python3 with python3-yaml (a YAML 1.1 reader, as the kubelet's is) as $PY.
# Without one they skip, and bail out under PODHOOK_REQUIRE_ALL=1.
need() {
        if [ "${PODHOOK_REQUIRE_ALL:-0}" = 1 ]; then
                echo "Bail out! $* (PODHOOK_REQUIRE_ALL=1; tools/setup-host.sh installs it)"
                exit 1
        fi
        echo "1..0 # SKIP $*"
        exit 0
}
command -v node >/dev/null || need "no node"
[ -d "$HERE/schema/node_modules/kubernetes-models" ] || need "kubernetes-models is not installed in tests/kubelet/schema"
command -v jq >/dev/null || need "no jq"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || need "no python3-yaml"
