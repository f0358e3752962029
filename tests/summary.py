#!/usr/bin/env python3
"""Prints the suite's closing line 'N passed, N failed' from meson's testlog.json (skips on the line
before). Exits 1 when any test failed or none ran. TAP programs count once each, as meson counts them."""
import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"
passed = failed = skipped = 0
failed_names = []
try:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            res = entry["result"]
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res in ("SKIP", "IGNORED"):
                skipped += 1
            else:
                failed += 1
                failed_names.append(f"{entry['name']} ({res})")
except FileNotFoundError:
    pass  # meson writes no log when no test matched
for name in failed_names:
    print(f"failed: {name}")
print(f"skipped: {skipped}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed + failed == 0 else 0)
