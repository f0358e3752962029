/* Files: bounded reads, atomic writes (temp file, fsync, rename, fsync dir), directories. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct json_t json_t;

/* Opens path (relative to dirfd, or AT_FDCWD) for reading without ever blocking: a FIFO, a socket, a
 * device or a directory is refused with -EPERM ("x is a FIFO, not a regular file"); /dev/null may stand
 * for an empty file. Returns the fd (O_CLOEXEC). */
int file_open_regular(int dirfd, const char *path, PhError **reterr);
/* Reads the whole file (at most max bytes, else -EFBIG) into a new NUL-terminated buffer the caller
 * frees; the file is opened with file_open_regular. path "-" reads stdin. */
int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, PhError **reterr);
/* The JSON value in path (new ref), or NULL when it is missing, larger than max, or not JSON: for
 * state files, where any of those means "nothing usable was kept". */
json_t *file_load_json(const char *path, size_t max);
/* Reads a file that holds a secret (a token, a key): a regular file owned by root or the effective
 * uid with no permission bits for group or others (0600 or stricter), checked on the fd that is read
 * so it cannot be swapped in between. what names the file in messages ("token file"): -EPERM names
 * the file and its owner or mode. *ret is new and NUL-terminated; the caller frees (and wipes) it. */
int file_read_private(const char *path, const char *what, size_t max, char **ret, size_t *ret_len,
                      PhError **reterr);
/* Reads a whole fd (at most max bytes) the same way. */
int fd_read_all(int fd, size_t max, char **ret, size_t *ret_len, PhError **reterr);
/* Writes data to path atomically with the given mode: readers see the old or the new file, never half. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, PhError **reterr);
/* mkdir -p; existing directories are left exactly as they are (mode, owner, contents). */
int dir_make_parents(const char *path, mode_t mode, PhError **reterr);
/* 1 if path exists, 0 if not, -errno on other errors. */
int file_exists(const char *path);
/* rename(from, to) made durable: both parent directories are fsync'd. to is replaced if it exists. */
int file_move(const char *from, const char *to, PhError **reterr);
/* unlink(path) made durable (the parent directory is fsync'd); a missing file is not an error. */
int file_remove(const char *path, PhError **reterr);

/* Whether the file open at fd may hold secrets: a regular file owned by root or the running (effective)
 * user, with no permission bits for group or others. -EPERM with one line naming it as what says
 * ("secrets file /etc/podhook/secrets.json has mode 0644, must be 0600 or stricter"). */
int file_check_private(int fd, const char *what, PhError **reterr);

/* How much a directory whose files the agent acts on must be its own. */
typedef enum PhDirTrust {
        /* os-collect-config's local-data rule: owned by uid and not world-writable. */
        PH_DIR_OWNED,
        /* The agent's state: owned by uid and not writable by group or others; every parent up to /
         * (of the path as given and of the real path, symbolic links included) owned by root or uid and
         * not writable by group or others unless sticky, as /tmp is: nobody else can swap it. */
        PH_DIR_PRIVATE,
} PhDirTrust;

/* Checks the directory open at dfd; path names it (the parents are found from it, relative to the
 * working directory). -EPERM with one line naming the directory at fault ("... is owned by uid 65534,
 * not by the agent's uid 0"); other -errno when a parent cannot be looked at. */
int dir_check_trusted(int dfd, const char *path, uid_t uid, PhDirTrust how, PhError **reterr);
/* Opens the agent's own directory path (O_DIRECTORY, O_CLOEXEC) into *ret_fd, creating it and missing
 * parents (0700) when needed. Refused by the rules of PH_DIR_PRIVATE before anything is created or
 * changed; once accepted, read and search bits of group and others are dropped (0700). */
int dir_open_private(const char *path, uid_t uid, int *ret_fd, PhError **reterr);
