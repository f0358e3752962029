#!/usr/bin/python3
"""Reads api-testd's /metrics text on stdin with the Prometheus client's own parser
(prometheus_client.parser, Debian's python3-prometheus-client) and checks what it finds: every family
named podhook_*, each type as registered, the samples' values, escaped label values and HELP texts read
back exactly, histogram buckets cumulative and ending in +Inf with _count equal to the +Inf bucket.
Prints one line per problem; exits 1 if there is any, 77 if the parser is not installed.

  metrics-check.py agent [SAMPLE>=N | SAMPLE=N ...]   the agent's /metrics instead: its families with
                                                      their types, the apply histogram cumulative, and
                                                      each SAMPLE (a sample name, no labels) compared."""
import math
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prometheus_client is not installed (python3-prometheus-client)")
    sys.exit(77)

text = sys.stdin.read()
problems = []
families = {}
try:
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam
except Exception as e:  # the parser refusing the text is the failure this test looks for
    print("the parser refused the text: %r" % e)
    sys.exit(1)


def check(cond, what):
    if not cond:
        problems.append(what)


def sample(fam, name, **labels):
    for s in families[fam].samples:
        if s.name == name and s.labels == labels:
            return s.value
    problems.append("no sample %s%r" % (name, labels))
    return None


for name in families:
    check(name.startswith("podhook_"), "family %s has no podhook_ prefix" % name)


def histogram_ok(fam):
    """Per label set: buckets cumulative up to +Inf, _count the +Inf bucket."""
    series = {}
    for s in families[fam].samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    for key, h in series.items():
        b = h["buckets"]
        check(b and b[-1][0] == math.inf, "%s%r: no +Inf bucket" % (fam, key))
        check(all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), "%s%r: not cumulative" % (fam, key))
        check(b and h["count"] == b[-1][1], "%s%r: _count is not the +Inf bucket" % (fam, key))
    return series


if len(sys.argv) > 1 and sys.argv[1] == "agent":
    agent_types = {
        "podhook_deployments_applied": "counter",
        "podhook_deployments_failed": "counter",
        "podhook_deployments_rolled_back": "counter",
        "podhook_signals_delivered": "counter",
        "podhook_signals_pending": "gauge",
        "podhook_poll_errors": "counter",
        "podhook_probe_failures": "counter",
        "podhook_restarts": "counter",
        "podhook_apply_duration_seconds": "histogram",
    }
    for name, kind in agent_types.items():
        if name not in families:
            problems.append("family %s missing (found %s)" % (name, sorted(families)))
        else:
            check(families[name].type == kind, "%s is a %s, not a %s" % (name, families[name].type, kind))
    if "podhook_apply_duration_seconds" in families:
        histogram_ok("podhook_apply_duration_seconds")
    values = {s.name: s.value for fam in families.values() for s in fam.samples if not s.labels}
    for want in sys.argv[2:]:
        op = ">=" if ">=" in want else "="
        name, n = want.split(op)
        v = values.get(name)
        if v is None:
            problems.append("no sample %s" % name)
        elif (op == ">=" and not v >= float(n)) or (op == "=" and v != float(n)):
            problems.append("%s is %r, not %s%s" % (name, v, op, n))
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)

want_types = {
    "podhook_test_requests": "counter",  # the parser drops a counter's _total from the family name
    "podhook_test_things": "gauge",
    "podhook_test_upload_bytes": "histogram",
    "podhook_test_odd_labels": "gauge",
    "podhook_test_temperature_celsius": "gauge",
}
for name, kind in want_types.items():
    if name not in families:
        problems.append("family %s missing (found %s)" % (name, sorted(families)))
        continue
    check(families[name].type == kind, "%s is a %s, not a %s" % (name, families[name].type, kind))

# The counts follow api-server.sh's requests up to its GET /metrics: GET /v1/things three times, two
# uploads that reached the handler (the slow client's 40 bytes, a chunked 1000), one thing left.
if not problems:
    check(sample("podhook_test_requests", "podhook_test_requests_total", route="things") == 3,
          "requests{route=things} is not 3")
    check(sample("podhook_test_requests", "podhook_test_requests_total", route="upload") == 2,
          "requests{route=upload} is not 2")
    check(sample("podhook_test_things", "podhook_test_things") == 1, "test_things is not 1")
    check(sample("podhook_test_temperature_celsius", "podhook_test_temperature_celsius") == -12.25,
          "temperature is not -12.25")
    check(sample("podhook_test_odd_labels", "podhook_test_odd_labels",
                 value="quote\" back\\slash new\nline", empty="") == 1,
          "the escaped label values did not read back")
    check(families["podhook_test_odd_labels"].documentation == "Label values to escape: \\ and\nnewline.",
          "the HELP text did not read back: %r" % families["podhook_test_odd_labels"].documentation)

    # Histograms: per label set, buckets cumulative up to +Inf, _count the +Inf bucket, _sum the sum.
    series = {}
    for s in families["podhook_test_upload_bytes"].samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_sum"):
            series[key]["sum"] = s.value
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    check(set(series) == {(("kind", "start"),), (("kind", "upload"),)},
          "histogram series: %r" % sorted(series))
    for key, h in series.items():
        b = h["buckets"]
        check([le for le, _ in b] == [10, 1000, 100000, math.inf], "%r: bucket bounds %r" % (key, b))
        check(all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), "%r: buckets not cumulative" % (key,))
        check(b and h["count"] == b[-1][1], "%r: _count is not the +Inf bucket" % (key,))
    up = series.get((("kind", "upload"),))
    if up:
        # 40 and 1000 bytes: both in le=1000 (a value on a bound counts in that bucket).
        check([v for _, v in up["buckets"]] == [0, 2, 2, 2], "upload buckets %r" % up["buckets"])
        check(up["sum"] == 1040, "upload sum %r" % up["sum"])

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
