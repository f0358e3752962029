#include <errno.h>

#include "common/error.h"
#include "tap.h"

int main(void) {
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(ph_error_set(&err, EINVAL, "root %d", 1) == -EINVAL);
        TAP_CHECK(ph_error_prefix(&err, "middle") == -EINVAL);
        TAP_CHECK(ph_error_prefix(&err, "outer '%s'", "x") == -EINVAL);
        TAP_CHECK_STR(err->msg, "outer 'x': middle: root 1");
        TAP_CHECK(ph_error_set(NULL, 0, "ignored") == -EIO);

        _cleanup_error_ PhError *many = NULL;
        ph_error_append(&many, EINVAL, "a");
        ph_error_append(&many, EINVAL, "b");
        TAP_CHECK_STR(many->msg, "a\nb");
        return tap_done();
}
