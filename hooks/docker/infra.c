#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "docker/infra.h"

/* pause-bin.c, generated at build time from infra/pause.c: the image's tar, and the program's SHA-256
 * (hex). */
extern const unsigned char ph_infra_pause_tar[];
extern const size_t ph_infra_pause_tar_len;
extern const char ph_infra_pause_sha256[];

char *infra_image_tag(void) {
        return xasprintf("%s-%.12s", PODHOOK_VERSION, ph_infra_pause_sha256);
}

char *infra_image_ref(void) {
        _cleanup_free_ char *tag = infra_image_tag();

        return xasprintf("%s:%s", INFRA_IMAGE_REPO, tag);
}

int infra_tar(void **ret, size_t *ret_len, PhError **reterr) {
        (void) reterr;
        *ret = xmalloc(ph_infra_pause_tar_len);
        memcpy(*ret, ph_infra_pause_tar, ph_infra_pause_tar_len);
        *ret_len = ph_infra_pause_tar_len;
        return 0;
}

int infra_image_ensure(PhDocker *d, PhError **reterr) {
        _cleanup_free_ void *tar = NULL;
        _cleanup_free_ char *ref = infra_image_ref(), *tag = infra_image_tag();
        size_t len = 0;
        int r;

        r = docker_image_exists(d, ref, reterr);
        if (r != 0)
                return r < 0 ? r : 0;
        r = infra_tar(&tar, &len, reterr);
        if (r < 0)
                return r;
        return docker_image_import(d, tar, len, INFRA_IMAGE_REPO, tag, "CMD [\"/pause\"]", reterr);
}
