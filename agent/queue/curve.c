/* curve.h: the key files. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "common/fileio.h"
#include "queue/curve.h"

struct PhCurveAllow {
        uint8_t (*keys)[CURVE_KEY_LEN];
        size_t n;
};

static const char z85_chars[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static bool blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool curve_key_decode(const char *text, uint8_t key[CURVE_KEY_LEN]) {
        uint8_t tmp[CURVE_KEY_LEN];

        if (strlen(text) != CURVE_KEY_Z85_LEN || strspn(text, z85_chars) != CURVE_KEY_Z85_LEN)
                return false;
        if (!zmq_z85_decode(tmp, text))
                return false;
        if (key)
                memcpy(key, tmp, sizeof(tmp));
        explicit_bzero(tmp, sizeof(tmp));
        return true;
}

/* The line [start, end) without the white space around it, as a new string. */
static char *trimmed(const char *start, const char *end) {
        while (start < end && (blank(*start) || *start == '\n'))
                start++;
        while (end > start && (blank(end[-1]) || end[-1] == '\n'))
                end--;
        return xstrndup(start, (size_t) (end - start));
}

int curve_secret_parse(const char *name, const char *text, size_t len, char secret[CURVE_KEY_Z85_LEN + 1],
                       PhError **reterr) {
        _cleanup_free_ char *key = trimmed(text, text + len);
        int r = 0;

        if (memchr(text, '\0', len) || strchr(key, '\n'))
                r = ph_error_set(reterr, EINVAL, "CURVE secret key file %s: one key on one line expected",
                                 name);
        else if (!curve_key_decode(key, NULL))
                r = ph_error_set(reterr, EINVAL,
                                 "CURVE secret key file %s: not a CURVE key (40 Z85 characters)", name);
        else
                memcpy(secret, key, CURVE_KEY_Z85_LEN + 1);
        explicit_bzero(key, strlen(key));
        return r;
}

int curve_secret_load(const char *path, char secret[CURVE_KEY_Z85_LEN + 1],
                      char public_key[CURVE_KEY_Z85_LEN + 1], PhError **reterr) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = file_read_private(path, "CURVE secret key file", CURVE_FILE_MAX, &text, &len, reterr);
        if (r < 0)
                return r;
        r = curve_secret_parse(path, text, len, secret, reterr);
        explicit_bzero(text, len);
        if (r < 0)
                return r;
        if (zmq_curve_public(public_key, secret) < 0) {
                explicit_bzero(secret, CURVE_KEY_Z85_LEN + 1);
                return ph_error_set(reterr, zmq_errno(), "CURVE secret key file %s: %s", path,
                                    zmq_strerror(zmq_errno()));
        }
        return 0;
}

int curve_allow_parse(const char *name, const char *text, size_t len, PhCurveAllow **ret, PhError **reterr) {
        _cleanup_(curve_allow_freep) PhCurveAllow *a = xcalloc(1, sizeof(*a));
        _cleanup_error_ PhError *err = NULL;
        const char *p = text, *end = text + len;

        for (unsigned line = 1; p < end; line++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *stop = nl ? nl : end;
                bool nul = memchr(p, '\0', (size_t) (stop - p)) != NULL;
                _cleanup_free_ char *key = trimmed(p, stop);
                p = nl ? nl + 1 : end;
                if (!nul && (!*key || key[0] == '#'))
                        continue;
                uint8_t k[CURVE_KEY_LEN];
                if (nul || !curve_key_decode(key, k)) {
                        (void) ph_error_append(&err, EINVAL,
                                               "%s:%u: not a CURVE public key (40 Z85 characters)", name,
                                               line);
                        continue;
                }
                a->keys = xrealloc(a->keys, (a->n + 1) * sizeof(*a->keys));
                memcpy(a->keys[a->n++], k, CURVE_KEY_LEN);
        }
        if (err) {
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return -EINVAL;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int curve_allow_load(const char *path, PhCurveAllow **ret, PhError **reterr) {
        _cleanup_close_ int fd = file_open_regular(AT_FDCWD, path, reterr);
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return ph_error_set(
                        reterr, EPERM,
                        "CURVE allow file %s is owned by uid %u, neither root nor the agent's uid %u", path,
                        (unsigned) st.st_uid, (unsigned) geteuid());
        if (st.st_mode & 022)
                return ph_error_set(
                        reterr, EPERM,
                        "CURVE allow file %s has mode %04o: group or others may change who connects", path,
                        (unsigned) (st.st_mode & 07777));
        r = fd_read_all(fd, CURVE_FILE_MAX, &text, &len, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "CURVE allow file %s", path);
                return r;
        }
        return curve_allow_parse(path, text, len, ret, reterr);
}

bool curve_allow_has(const PhCurveAllow *a, const uint8_t key[CURVE_KEY_LEN]) {
        for (size_t i = 0; a && i < a->n; i++)
                if (memcmp(a->keys[i], key, CURVE_KEY_LEN) == 0)
                        return true;
        return false;
}

size_t curve_allow_count(const PhCurveAllow *a) {
        return a ? a->n : 0;
}

PhCurveAllow *curve_allow_free(PhCurveAllow *a) {
        if (!a)
                return NULL;
        free(a->keys);
        free(a);
        return NULL;
}
