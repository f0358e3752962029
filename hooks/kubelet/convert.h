/* A validated v1beta2 manifest as the Kubernetes v1 Pod a kubelet runs (a static pod), and the rules
 * that decide it. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "manifest/manifest.h"

typedef struct json_t json_t;

/* metadata of every Pod podhook writes: labels (values made label-safe by kubelet_label_value) to select
 * podhook's pods, annotations with the exact values to tell them apart. */
#define KUBELET_LABEL_MANAGED       "io.podhook/managed"    /* label "true" */
#define KUBELET_KEY_POD             "io.podhook/pod"        /* label and annotation: podhook's pod name */
#define KUBELET_KEY_DEPLOYMENT      "io.podhook/deployment" /* label and annotation, when known */
#define KUBELET_KEY_SPEC_HASH       "io.podhook/spec-hash"  /* label and annotation: kubelet_spec_hash */
#define KUBELET_ANNOTATION_STACK    "io.podhook/stack"
#define KUBELET_ANNOTATION_RESOURCE "io.podhook/resource"
#define KUBELET_ANNOTATION_DROPIN   "io.podhook/dropin" /* the drop-in file (absolute) of a drop-in's pod */
/* JSON text: {"containers": {v1: original}, "volumes": {v1: original}, "ports": {v1 container: {v1:
 * original}}}, every container and volume, every named port. */
#define KUBELET_ANNOTATION_ORIGINAL_NAMES "io.podhook/original-names"

#define KUBELET_LABEL_MAX     63u  /* a DNS-1123 label, and a label value */
#define KUBELET_SUBDOMAIN_MAX 253u /* a DNS-1123 subdomain: the pod name */
#define KUBELET_PORT_NAME_MAX 15u  /* an IANA service name */

/* Where the pod came from (any field may be NULL): the deployment's labels and annotations. */
typedef struct PhKubeletMeta {
        const char *deployment; /* Heat deployment (derived config) id */
        const char *stack;      /* deploy_stack_id */
        const char *resource;   /* deploy_resource_name */
        const char *dropin;     /* the drop-in file a drop-in's pod comes from */
} PhKubeletMeta;

/* The v1 Pod of manifest m (which must be valid) for podhook's pod named pod (as the Docker backend
 * names it). Every name is mapped with kubelet_name_map; what cannot be a v1 Pod fails with -EINVAL and
 * every problem at once in *reterr, one per line: "<source>: <field path>: <what>". *ret: a new object. */
int kubelet_pod_convert(const PhManifest *m, const char *pod, const PhKubeletMeta *meta, const char *source,
                        json_t **ret, PhError **reterr);

/* --- the rules (table-tested; the backend that finds its pods again uses the same) --- */

/* A v1beta2 name as v1 wants it: lower case, '_' -> '-'. The caller frees it. */
char *kubelet_name_map(const char *name);
/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters. */
bool kubelet_is_dns_label(const char *s);
/* RFC 1123 subdomain: labels joined by '.', at most 253 characters. */
bool kubelet_is_dns_subdomain(const char *s);
/* IANA service name (v1 port names): at most 15 of [a-z0-9-], a letter among them, no "--", no '-' at
 * either end. */
bool kubelet_is_port_name(const char *s);
/* A label value: empty, or at most 63 of [A-Za-z0-9._-] starting and ending with a letter or digit. */
bool kubelet_is_label_value(const char *s);
/* value itself when it is a label value, else "sha256-" and the first 56 hex digits of its SHA-256. */
char *kubelet_label_value(const char *value);
/* "sha256-" and the first 56 hex digits of the SHA-256 of spec as sorted compact JSON: a label value. */
char *kubelet_spec_hash(const json_t *spec);
/* A memory size as a quantity: the largest binary suffix that divides it ("128Mi"), else plain bytes. */
char *kubelet_quantity_bytes(int64_t bytes);
/* milli-CPU as a quantity: whole CPUs plain ("2"), else "<n>m" ("500m"). */
char *kubelet_quantity_milli(int64_t milli);
/* "Always", "OnFailure" or "Never". */
const char *kubelet_restart_policy(PhRestartPolicy p);
/* PullAlways -> "Always", PullNever -> "Never", PullIfNotPresent or none -> "IfNotPresent" (podhook's
 * Docker backend pulls a missing image only, whatever its tag); NULL for anything else. */
const char *kubelet_pull_policy(const char *v1beta2);

/* The v1 PodList of pods (an array of Pods as kubelet_pod_convert makes them; each is copied), in order of
 * metadata.name: what a kubelet's --manifest-url reads (GET /v1/kubelet/pods of the status API). New ref. */
json_t *kubelet_pod_list(const json_t *pods);
