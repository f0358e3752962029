/* Where the agent learns which sources to poll: a bootstrap file (Heat's cfn-init-data, a whole
 * server metadata document, or the bare os_collect_config object of a DeployedServer). */
#pragma once

#include "common/error.h"

typedef struct json_t json_t;

/* The paths Heat's cloud-init part handler writes cfn-init-data to. */
#define BOOTSTRAP_DEFAULT_PATHS "/var/lib/heat-cfntools/cfn-init-data:/var/lib/cloud/data/cfn-init-data"

/* The os-collect-config object of a parsed document (new ref, normalised by bootstrap_normalize);
 * -EINVAL when it holds none. */
int bootstrap_from_json(const json_t *doc, json_t **ret_occ, PhError **reterr);
/* Reads path (JSON) and applies bootstrap_from_json; errors name the file. */
int bootstrap_read(const char *path, json_t **ret_occ, PhError **reterr);
/* Reads the first existing file of the ':'-separated list; -ENOENT when none exists. */
int bootstrap_read_first(const char *paths, json_t **ret_occ, PhError **reterr);
/* A copy (new ref) without null/non-object sections, with "collectors" derived from the sections present
 * (heat, cfn, request, local order) when it is missing, and split when it is one comma-separated string. */
json_t *bootstrap_normalize(const json_t *occ);
