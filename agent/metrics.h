/* The agent's Prometheus metrics: a registry of counters, gauges and histograms, each a family of
 * series told apart by label values, rendered in the text exposition format 0.0.4 (what GET /metrics
 * serves). Every rendered name is PH_METRICS_PREFIX + the name it was registered with.
 *
 * The registry is an object (no globals): the agent makes one and hands it to whatever counts.
 * Thread-safe: one mutex per registry guards every update and the rendering, so a worker thread may
 * count while the loop renders. Families are registered once, at start; a PhMetric * stays valid
 * until metrics_free().
 *
 * Label values: as many as the family has label names, in their order, NULL-terminated (build them
 * with METRIC_LABELS("docker", "web")); NULL for a family without labels. They are copied. */
#pragma once

#include <stddef.h>

#include "common/cleanup.h"
#include "common/error.h"

typedef struct PhMetrics PhMetrics;
typedef struct PhMetric PhMetric;

#define PH_METRICS_PREFIX       "podhook_"
#define PH_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Series per family: label values come from outside (pod names), so their number is bounded. */
#define PH_METRICS_MAX_SERIES 1000

#define METRIC_LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

PhMetrics *metrics_new(void);
/* NULL-safe; returns NULL. */
PhMetrics *metrics_free(PhMetrics *m);
PH_DEFINE_CLEANUP(PhMetrics *, metrics_free)

/* name: without the prefix ("deployments_applied_total"); [a-zA-Z_:][a-zA-Z0-9_:]*. help: one line of
 * text (escaped when rendered). labels: NULL-terminated names ([a-zA-Z_][a-zA-Z0-9_]*, not starting
 * with "__", each once), or NULL. *ret is owned by the registry. 0, or -EINVAL (a bad or repeated
 * name, bad buckets) / -EEXIST (the name is registered already) with the reason in *err. */
int metrics_add_counter(PhMetrics *m, const char *name, const char *help, const char *const *labels,
                        PhMetric **ret, PhError **err);
int metrics_add_gauge(PhMetrics *m, const char *name, const char *help, const char *const *labels,
                      PhMetric **ret, PhError **err);
/* buckets: the upper bounds, finite and strictly increasing (+Inf is added); "le" is no label name. */
int metrics_add_histogram(PhMetrics *m, const char *name, const char *help, const char *const *labels,
                          const double *buckets, size_t n_buckets, PhMetric **ret, PhError **err);

/* Updates: 0, -EINVAL (the wrong number of label values, the wrong kind of family for the call, a
 * counter going down, NaN), or -E2BIG (a new series beyond PH_METRICS_MAX_SERIES; nothing counted). */
/* A counter or gauge + 1. */
int metric_inc(PhMetric *f, const char *const *values);
/* A counter + v (v >= 0), or a gauge + v (any sign). */
int metric_add(PhMetric *f, const char *const *values, double v);
/* A gauge = v. */
int metric_set(PhMetric *f, const char *const *values, double v);
/* A histogram: one observation of v (seconds, bytes, ...). */
int metric_observe(PhMetric *f, const char *const *values, double v);
/* Drops a series whose subject is gone (a removed pod): 0, or -ENOENT. A family without labels keeps
 * its one series. */
int metric_remove(PhMetric *f, const char *const *values);

/* The text format 0.0.4: per family "# HELP", "# TYPE" and its series in the order they appeared;
 * histograms as cumulative _bucket{le="..."} lines up to +Inf, then _sum and _count. A family without
 * labels shows its zero from the start. New string; the caller frees it. */
char *metrics_render(PhMetrics *m);
