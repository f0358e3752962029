/* The kubelet's static-pod directory (its staticPodPath) as podhook uses it: one file per pod,
 * "podhook-<v1 pod name>.yaml", written atomically (a dot-named temporary the kubelet skips, fsync,
 * rename), rewritten only when its content changes, removed on delete. A file is podhook's when its name
 * is podhook's and its Pod carries the io.podhook/pod annotation; nothing else in the directory is ever
 * written, replaced or removed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct json_t json_t;

/* The kubelet's default staticPodPath (kubeadm's). */
#define KUBELET_MANIFEST_DIR_DEFAULT "/etc/kubernetes/manifests"
/* The kubelet reads at most this much of a file (pkg/kubelet/config/common.go maxConfigLength). */
#define KUBELET_FILE_MAX  (10u * 1024u * 1024u)
#define STATIC_DIR_PREFIX "podhook-"
#define STATIC_DIR_SUFFIX ".yaml"
/* Temporaries: "." STATIC_DIR_PREFIX "<name>" STATIC_DIR_SUFFIX STATIC_DIR_TMP_MARK "<12 random letters>". */
#define STATIC_DIR_TMP_MARK ".tmp-"

typedef struct PhStaticDir PhStaticDir;

/* Opens the directory (it must exist: it is the kubelet's) and removes the temporaries podhook left there
 * (a writer killed before its rename); nothing else is looked at. *ret: free with static_dir_free. */
int static_dir_open(const char *path, PhStaticDir **ret, PhError **reterr);
PhStaticDir *static_dir_free(PhStaticDir *d);
PH_DEFINE_CLEANUP(PhStaticDir *, static_dir_free)
const char *static_dir_path(const PhStaticDir *d);

/* The file name of the pod whose v1 name is name: NULL when name cannot be one (empty, '/', too long). */
char *static_dir_file_name(const char *name);
/* Whether file name fname (no directory) is one of podhook's names; *ret_name (optional, caller frees) gets
 * the v1 pod name in it. Pure. */
bool static_dir_name_is_ours(const char *fname, char **ret_name);
/* Whether pod (the Pod object of a file) is podhook's for podhook pod `pod` (NULL: for any pod): it
 * carries the io.podhook/pod annotation (with that value). Pure. */
bool static_dir_pod_is_ours(const json_t *v1pod, const char *pod);

typedef enum PhStaticWrite {
        STATIC_WRITE_UNCHANGED, /* the file holds exactly this already: not touched (inode, mtime kept) */
        STATIC_WRITE_CREATED,
        STATIC_WRITE_REPLACED,
} PhStaticWrite;

/* Writes text (the YAML of v1pod, whose metadata.name names the file and whose io.podhook/pod annotation
 * says whose it is) unless the file holds it already. A file of that name that is not this pod's (another
 * podhook pod's, no podhook annotation, not a regular file, a symbolic link) is left alone: -EEXIST. */
int static_dir_write(PhStaticDir *d, const json_t *v1pod, const char *text, size_t len, PhStaticWrite *ret,
                     PhError **reterr);

typedef enum PhStaticRemove {
        STATIC_REMOVE_ABSENT, /* no file of that name */
        STATIC_REMOVE_REMOVED,
        STATIC_REMOVE_FOREIGN, /* a file of that name that is not this pod's: left alone */
} PhStaticRemove;

/* Removes the file of podhook pod `pod` whose v1 name is name, when it is that pod's. */
int static_dir_remove(PhStaticDir *d, const char *name, const char *pod, PhStaticRemove *ret,
                      PhError **reterr);

/* The Pod in the file of v1 name name (new ref), or NULL (*ret) when there is no such file; a file that
 * is not a regular file or does not parse is an error. */
int static_dir_read(PhStaticDir *d, const char *name, json_t **ret, PhError **reterr);

/* podhook's files: {"<podhook pod>": {"file": "<name>", "name": "<v1 name>", "deployment": "<id or empty>",
 * "spec-hash": "<hash>", "stack"?, "resource"?, "dropin"? (the owner annotations it has), "pod": the Pod}}
 * (new ref). Files of podhook's names that are not podhook's are skipped. */
int static_dir_list(PhStaticDir *d, json_t **ret, PhError **reterr);
