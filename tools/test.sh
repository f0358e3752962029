#!/bin/bash
# The whole test suite on a fresh Debian 12 machine: set-up, sanitizer build, every suite (unit,
# examples, integration on the real Docker engine, e2e against a real Heat, Swift and Zaqar from
# ../shared/heat), and the closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

tools/setup-host.sh || exit 1

heat_lab=$(cd .. && pwd)/shared/heat
if [ -x "$heat_lab/setup.sh" ]; then
        # With Swift and Zaqar: the e2e cases of POLL_TEMP_URL/TEMP_URL_SIGNAL and ZAQAR_MESSAGE/ZAQAR_SIGNAL.
        echo "test: bringing up the Heat lab with Swift and Zaqar (log: /tmp/podhook-heatlab.log)"
        if ! SWIFT=1 ZAQAR=1 "$heat_lab/setup.sh" > /tmp/podhook-heatlab.log 2>&1; then
                echo "test: the Heat lab did not come up; the e2e suite will fail" >&2
                tail -n 30 /tmp/podhook-heatlab.log >&2
        fi
fi

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

rm -rf build
meson setup build -Db_sanitize=address,undefined > /tmp/podhook-meson-setup.log 2>&1 || {
        cat /tmp/podhook-meson-setup.log >&2
        echo "0 passed, 1 failed"
        exit 1
}
if ! ninja -C build > /tmp/podhook-ninja.log 2>&1; then
        tail -n 60 /tmp/podhook-ninja.log >&2
        echo "0 passed, 1 failed"
        exit 1
fi
rm -f build/meson-logs/testlog*.json
export PODHOOK_REQUIRE_ALL=1
rc=0
meson test -C build --print-errorlogs --num-processes 2 || rc=$?
$PY tests/summary.py build/meson-logs/testlog.json || { [ "$rc" -ne 0 ] || rc=1; }
exit "$rc"
