#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/fileio.h"
#include "docker/pod-config.h"
#include "docker/pod-options.h"

#define DIGEST_HEX 16

static char *files_dir(const char *state_dir, const char *pod) {
        return xasprintf("%s/pods/%s.files", state_dir, pod);
}

static int item_mode(const PhVolume *v, const PhVolumeItem *it) {
        if (it->mode >= 0)
                return it->mode;
        return v->kind == PH_VOLUME_SECRET ? 0400 : 0444;
}

/* The volume's items with their contents, as hashed: [[path, mode, content], ...]. */
static int volume_content(const PhVolume *v, const PhPodOptions *o, json_t **ret, PhError **reterr) {
        json_t *list = json_array();

        for (size_t i = 0; i < v->n_items; i++) {
                const char *content = pod_config_value(o, v->items[i].key);
                if (!content) {
                        json_decref(list);
                        return ph_error_set(reterr, ENOENT,
                                            "volume %s: key %s is in none of the options' config_files, the "
                                            "deployment's inputs and the secrets",
                                            v->name, v->items[i].key);
                }
                json_array_append_new(
                        list, json_pack("[s, i, s]", v->items[i].path, item_mode(v, &v->items[i]), content));
        }
        *ret = list;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

static int remove_tree(const char *path, PhError **reterr) {
        if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                return ph_error_set(reterr, errno, "removing %s: %m", path);
        return 0;
}

/* Writes the volume's files into a fresh directory beside dir, then renames it to dir. */
static int materialise(const char *dir, const PhVolume *v, const json_t *content, PhError **reterr) {
        unsigned char rnd[4];
        const json_t *it;
        size_t i;
        int r;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return ph_error_set(reterr, EIO, "getrandom: %m");
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-%02x%02x%02x%02x", dir, rnd[0], rnd[1], rnd[2], rnd[3]);
        if (mkdir(tmp, 0755) < 0)
                return ph_error_set(reterr, errno, "volume %s: creating %s: %m", v->name, tmp);
        json_array_foreach((json_t *) content, i, it) {
                const char *rel = json_string_value(json_array_get(it, 0));
                const char *text = json_string_value(json_array_get(it, 2));
                int mode = (int) json_integer_value(json_array_get(it, 1));
                _cleanup_free_ char *path = xasprintf("%s/%s", tmp, rel);
                _cleanup_free_ char *parent = xstrdup(path);
                *strrchr(parent, '/') = '\0';
                r = dir_make_parents(parent, 0755, reterr);
                if (r >= 0)
                        r = file_write_atomic(path, text, strlen(text), (mode_t) mode, reterr);
                if (r >= 0 && chmod(path, (mode_t) mode) < 0) /* the umask may have taken bits of it */
                        r = ph_error_set(reterr, errno, "chmod %s: %m", path);
                if (r < 0) {
                        (void) remove_tree(tmp, NULL);
                        return ph_error_prefix(reterr, "volume %s", v->name);
                }
        }
        r = file_move(tmp, dir, reterr);
        if (r < 0) {
                (void) remove_tree(tmp, NULL);
                return ph_error_prefix(reterr, "volume %s", v->name);
        }
        return 0;
}

int pod_config_prepare(const char *state_dir, const char *pod, const PhManifest *m, const PhPodOptions *o,
                       const unsigned char *key, size_t key_len, bool write, json_t **ret_dirs,
                       PhError **reterr) {
        json_auto_t *dirs = json_object();
        _cleanup_free_ char *base = files_dir(state_dir, pod);
        bool made_base = false;
        int r;

        for (size_t i = 0; i < m->n_volumes; i++) {
                const PhVolume *v = &m->volumes[i];
                json_auto_t *content = NULL;
                if (v->kind != PH_VOLUME_SECRET && v->kind != PH_VOLUME_CONFIG_MAP)
                        continue;
                r = volume_content(v, o, &content, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "pod %s", pod);
                _cleanup_free_ char *text = json_dumps(content, JSON_COMPACT);
                /* A secret's files are named after an HMAC of them: a path is no unkeyed hash of a password.
                 */
                _cleanup_free_ char *d = v->kind == PH_VOLUME_SECRET
                                                 ? digest_hmac_sha256_hex(key, key_len, text, strlen(text))
                                                 : digest_sha256_hex(text, strlen(text));
                const char *hex = strncmp(d, "sha256:", 7) == 0 ? d + 7 : d;
                _cleanup_free_ char *dir = xasprintf("%s/%s-%.*s", base, v->name, DIGEST_HEX, hex);
                explicit_bzero(text, strlen(text));
                if (write) {
                        if (!made_base) {
                                r = dir_make_parents(base, 0700, reterr);
                                if (r >= 0 && chmod(base, 0700) < 0)
                                        r = ph_error_set(reterr, errno, "chmod %s: %m", base);
                                if (r < 0)
                                        return ph_error_prefix(reterr, "pod %s", pod);
                                made_base = true;
                        }
                        r = file_exists(dir);
                        if (r == 0)
                                r = materialise(dir, v, content, reterr);
                        if (r < 0)
                                return ph_error_prefix(reterr, "pod %s", pod);
                }
                json_object_set_new(dirs, v->name, json_string(dir));
        }
        *ret_dirs = TAKE_PTR(dirs);
        return 0;
}

int pod_config_prune(const char *state_dir, const char *pod, const json_t *keep, PhError **reterr) {
        _cleanup_free_ char *base = files_dir(state_dir, pod);
        DIR *d = opendir(base);
        struct dirent *e;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : ph_error_set(reterr, errno, "opening %s: %m", base);
        while ((e = readdir(d))) {
                const char *k;
                json_t *v;
                bool kept = false;
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", base, e->d_name);
                json_object_foreach((json_t *) keep, k, v) kept =
                        kept || strcmp(json_string_value(v), path) == 0;
                if (!kept && r >= 0)
                        r = remove_tree(path, reterr);
        }
        closedir(d);
        return r;
}

int pod_config_remove(const char *state_dir, const char *pod, PhError **reterr) {
        _cleanup_free_ char *base = files_dir(state_dir, pod);

        return remove_tree(base, reterr);
}
