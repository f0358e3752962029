/* The pod infra image: podhook/infra:<version>-<digest>, made locally from the static pause program
 * that is embedded in podhook, so no registry is needed. The digest of the program is in the tag, so a
 * changed program is imported again even when the version did not move. */
#pragma once

#include "common/error.h"
#include "docker/docker.h"

#define INFRA_IMAGE_REPO "podhook/infra"

/* "<podhook version>-<first 12 hex digits of the program's sha256>"; the caller frees it. */
char *infra_image_tag(void);
/* "podhook/infra:" + infra_image_tag(); the caller frees it. */
char *infra_image_ref(void);

/* The one-file tar (/pause, 0755) that becomes the image; the caller frees *ret. */
int infra_tar(void **ret, size_t *ret_len, PhError **reterr);
/* Imports the infra image unless it is already present. */
int infra_image_ensure(PhDocker *d, PhError **reterr);
