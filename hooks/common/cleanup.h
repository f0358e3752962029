/* Ownership helpers: _cleanup_ attributes, TAKE_PTR/TAKE_FD, and the OOM policy (abort). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(fn) __attribute__((cleanup(fn)))

/* Hand ownership out of a _cleanup_ variable: returns the value, leaves NULL/-1 behind. */
#define TAKE_PTR(p)                                                                                          \
        ({                                                                                                   \
                __typeof__(p) _taken = (p);                                                                  \
                (p) = NULL;                                                                                  \
                _taken;                                                                                      \
        })
#define TAKE_FD(fd)                                                                                          \
        ({                                                                                                   \
                int _taken = (fd);                                                                           \
                (fd) = -1;                                                                                   \
                _taken;                                                                                      \
        })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void ph_freep(void *p) {
        free(*(void **) p);
        *(void **) p = NULL;
}
#define _cleanup_free_ _cleanup_(ph_freep)

static inline void ph_closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
        *fd = -1;
}
#define _cleanup_close_ _cleanup_(ph_closep)

static inline void ph_fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
        *f = NULL;
}
#define _cleanup_fclose_ _cleanup_(ph_fclosep)

/* One line per foreign type: PH_DEFINE_CLEANUP(CURL *, curl_easy_cleanup) gives curl_easy_cleanupp(). */
#define PH_DEFINE_CLEANUP(type, fn)                                                                          \
        static inline void fn##p(type *p) {                                                                  \
                if (*p)                                                                                      \
                        fn(*p);                                                                              \
                *p = NULL;                                                                                   \
        }

/* Allocation failure is not threaded through a small daemon: these abort with a message.
 * Untrusted input sizes are capped before anything is allocated for them. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees a NULL-terminated string vector; NULL-safe, returns NULL. */
char **strv_free(char **v);
static inline void strv_freep(char ***v) {
        *v = strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *v);
/* A deep copy of v (NULL for NULL). */
char **strv_copy(char *const *v);
