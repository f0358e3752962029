/* The pod infra image: podhook/infra:<version>, made locally from the static pause program that is
 * embedded in podhook, so no registry is needed. */
#pragma once

#include "common/error.h"
#include "docker/docker.h"

#define INFRA_IMAGE_REPO "podhook/infra"

/* "podhook/infra:<podhook version>" */
const char *infra_image_ref(void);

/* The one-file tar (/pause, 0755) that becomes the image; the caller frees *ret. */
int infra_tar(void **ret, size_t *ret_len, PhError **reterr);
/* Imports the infra image unless it is already present. */
int infra_image_ensure(PhDocker *d, PhError **reterr);
