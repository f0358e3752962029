/* What comes in over the ZeroMQ queue, and the CURVE key files: the first byte picks the parser, the
 * rest is its input.
 *   d  queue_deployment_parse (a ROUTER message): accepted means an object with a file-name id, a
 *      string group and a deploy_action; refused means one line of text (never a newline) and EINVAL,
 *      EBADMSG or EMSGSIZE; nothing else.
 *   a  curve_allow_parse: every error line names the file and a line of the text; accepted keys are
 *      at most the text's lines.
 *   s  curve_secret_parse: accepted is a 40-character key; a refusal never quotes the text.
 *   e  ph_zmq_endpoint_check (the text as an endpoint, taking work, without CURVE): 0, -EINVAL or
 *      -EPERM, and 0 only for tcp:// or ipc://. */
#include <errno.h>
#include <jansson.h>

#include "common/deployment.h"
#include "fuzz.h"
#include "queue/curve.h"
#include "queue/zmq-ctx.h"
#include "source/queue-store.h"

static void deployment(const char *data, size_t size) {
        _cleanup_error_ PhError *err = NULL;
        json_t *d = NULL;
        int r = queue_deployment_parse(data, size, &d, &err);
        if (r == 0) {
                FUZZ_CHECK(json_is_object(d) && !err);
                FUZZ_CHECK(deployment_id_valid(json_string_value(json_object_get(d, "id"))));
                FUZZ_CHECK(json_is_string(json_object_get(d, "group")));
                FUZZ_CHECK(json_is_string(deployment_input_json(d, "deploy_action")));
                json_decref(d);
                return;
        }
        FUZZ_CHECK(!d && err && err->msg && !strchr(err->msg, '\n'));
        FUZZ_CHECK(r == -EINVAL || r == -EBADMSG || r == -EMSGSIZE);
}

static void allow(const char *data, size_t size) {
        _cleanup_error_ PhError *err = NULL;
        PhCurveAllow *a = NULL;
        size_t lines = 1;
        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        if (curve_allow_parse("allow", data, size, &a, &err) == 0) {
                FUZZ_CHECK(curve_allow_count(a) <= lines);
                curve_allow_free(a);
                return;
        }
        FUZZ_CHECK(err && err->msg);
        for (const char *l = err->msg; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                unsigned n = 0;
                FUZZ_CHECK(sscanf(l, "allow:%u:", &n) == 1 && n >= 1 && n <= lines);
        }
}

static void secret(const char *data, size_t size) {
        _cleanup_error_ PhError *err = NULL;
        char key[CURVE_KEY_Z85_LEN + 1] = "";
        if (curve_secret_parse("key", data, size, key, &err) == 0) {
                FUZZ_CHECK(strlen(key) == CURVE_KEY_Z85_LEN && curve_key_decode(key, NULL));
                return;
        }
        FUZZ_CHECK(err && err->msg);
        if (size >= 8) {
                _cleanup_free_ char *text = xstrndup(data, size);
                FUZZ_CHECK(strlen(text) < 8 || !strstr(err->msg, text));
        }
}

static void endpoint(const char *text) {
        _cleanup_error_ PhError *err = NULL;
        int r = ph_zmq_endpoint_check("--listen", text, true, false, &err);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EPERM);
        FUZZ_CHECK(r != 0 || strncmp(text, "tcp://", 6) == 0 || strncmp(text, "ipc://", 6) == 0);
        FUZZ_CHECK(r == 0 || (err && err->msg));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size == 0)
                return 0;
        _cleanup_free_ char *text = fuzz_text(data + 1, size - 1);
        switch (data[0]) {
        case 'd':
                deployment(text, size - 1);
                break;
        case 'a':
                allow(text, size - 1);
                break;
        case 's':
                secret(text, size - 1);
                break;
        case 'e':
                endpoint(text);
                break;
        }
        return 0;
}
