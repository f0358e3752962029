/* PhError: an error that gains context on its way up and is logged once, at the boundary. */
#pragma once

#include "common/cleanup.h"

typedef struct PhError {
        int code;  /* positive errno value: EINVAL, EIO, ETIMEDOUT, ... */
        char *msg; /* "outer context: inner context: root cause" */
} PhError;

/* Both return the negative code, so callers can write: return ph_error_set(...).
 * reterr may be NULL when the caller does not want the text. */
int ph_error_set(PhError **reterr, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ph_error_prefix(PhError **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds one more line to *err (creating it with code if it is NULL); returns the negative code. */
int ph_error_append(PhError **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
PhError *ph_error_free(PhError *e);

PH_DEFINE_CLEANUP(PhError *, ph_error_free)
#define _cleanup_error_ _cleanup_(ph_error_freep)

/* The message of err, or a fallback text when err is NULL. */
static inline const char *ph_error_msg(const PhError *err) {
        return err && err->msg ? err->msg : "unknown error";
}
