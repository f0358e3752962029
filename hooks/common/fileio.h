/* Files: bounded reads, atomic writes (temp file, fsync, rename, fsync dir), directories. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct json_t json_t;

/* Reads the whole file (at most max bytes, else -EFBIG) into a new NUL-terminated buffer the caller
 * frees. path "-" reads stdin. */
int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, PhError **reterr);
/* The JSON value in path (new ref), or NULL when it is missing, larger than max, or not JSON: for
 * state files, where any of those means "nothing usable was kept". */
json_t *file_load_json(const char *path, size_t max);
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
