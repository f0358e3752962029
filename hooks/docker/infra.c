#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "docker/infra.h"

/* pause-bin.c, generated at build time from infra/pause.c. */
extern const unsigned char ph_infra_pause[];
extern const size_t ph_infra_pause_len;

PH_DEFINE_CLEANUP(struct archive *, archive_write_free)
PH_DEFINE_CLEANUP(struct archive_entry *, archive_entry_free)

char *infra_image_tag(void) {
        _cleanup_free_ char *digest = digest_sha256_hex(ph_infra_pause, ph_infra_pause_len);

        /* digest is "sha256:<hex>" */
        return xasprintf("%s-%.12s", PODHOOK_VERSION, digest + strlen("sha256:"));
}

char *infra_image_ref(void) {
        _cleanup_free_ char *tag = infra_image_tag();

        return xasprintf("%s:%s", INFRA_IMAGE_REPO, tag);
}

int infra_tar(void **ret, size_t *ret_len, PhError **reterr) {
        _cleanup_(archive_write_freep) struct archive *a = archive_write_new();
        _cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
        /* Headers and end-of-archive blocks: a few KiB around the one file. */
        size_t cap = ph_infra_pause_len + 64 * 1024, used = 0;
        _cleanup_free_ void *buf = xmalloc(cap);

        if (!a || !e)
                return ph_error_set(reterr, ENOMEM, "libarchive: out of memory");
        if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
            archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
                return ph_error_set(reterr, EIO, "infra image tar: %s", archive_error_string(a));
        archive_entry_set_pathname(e, "pause");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_size(e, (la_int64_t) ph_infra_pause_len);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            archive_write_data(a, ph_infra_pause, ph_infra_pause_len) != (la_ssize_t) ph_infra_pause_len ||
            archive_write_close(a) != ARCHIVE_OK)
                return ph_error_set(reterr, EIO, "infra image tar: %s", archive_error_string(a));
        *ret = TAKE_PTR(buf);
        *ret_len = used;
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
