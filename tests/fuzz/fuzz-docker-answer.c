/* Docker Engine answers: the JSON-lines stream of /images/create (pull and import: the line splitter,
 * "error"/"errorDetail" and "message"), the text of an error answer, and the engine told from a Server
 * or Libpod-Api-Version header (the input's first line). Promises: the stream's outcome does not depend
 * on how the body is cut into pieces on the way; an error names the stream; the text of an error answer
 * is valid UTF-8 (it goes into the hook's JSON result), Docker's "message" when there is one, else at
 * most 300 bytes of the body, else the status; an engine version is one word that fits its buffer. */
#include <errno.h>
#include <jansson.h>
#include <strings.h>

#include "docker/docker.h"
#include "fuzz.h"

static char *outcome(const char *body, size_t size, size_t chunk, long status) {
        _cleanup_error_ PhError *err = NULL;
        int r = docker_stream_parse(body, size, chunk, status, &err);

        if (r == 0) {
                FUZZ_CHECK(!err);
                return xstrdup("ok");
        }
        FUZZ_CHECK(r < 0 && err && err->msg && strncmp(err->msg, "the stream: ", 12) == 0);
        return xasprintf("%d %s", r, err->msg);
}

static void check_error_text(const char *body, size_t size, long status) {
        _cleanup_free_ char *text = docker_error_text(status, body, size);
        json_auto_t *asjson = text ? json_string(text) : NULL;
        json_auto_t *j = json_loads(body, 0, NULL);
        const char *msg = json_string_value(json_object_get(j, "message"));
        _cleanup_free_ char *bare = xasprintf("HTTP status %ld", status);

        FUZZ_CHECK(text && asjson);
        FUZZ_CHECK((msg && strcmp(text, msg) == 0) ||
                   (!msg && (strlen(text) <= 300 || strcmp(text, bare) == 0)));
}

static void check_engine(const char *body) {
        _cleanup_free_ char *line = xstrndup(body, strcspn(body, "\r\n"));
        PhDockerEngine server = docker_engine_from_headers(line, NULL);
        PhDockerEngine libpod = docker_engine_from_headers("Docker/20.10", line);

        FUZZ_CHECK((server.kind == PH_ENGINE_PODMAN) == (strncasecmp(line, "Libpod/", 7) == 0));
        FUZZ_CHECK((libpod.kind == PH_ENGINE_PODMAN) == (*line != '\0'));
        FUZZ_CHECK(strlen(server.version) < sizeof(server.version) && !strpbrk(server.version, " \t"));
        FUZZ_CHECK(strlen(libpod.version) < sizeof(libpod.version) && !strpbrk(libpod.version, " \t"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const size_t chunks[] = {1, 2, 3, 7, 64, 0};
        static const long statuses[] = {200, 404, 500};
        _cleanup_free_ char *body = fuzz_text(data, size);

        for (size_t s = 0; s < ELEMENTSOF(statuses); s++) {
                _cleanup_free_ char *whole = outcome(body, size, 0, statuses[s]);
                /* The cut never matters; a 200 answer without error lines is a success. */
                for (size_t c = 0; c < ELEMENTSOF(chunks) - 1; c++) {
                        _cleanup_free_ char *cut = outcome(body, size, chunks[c], statuses[s]);
                        FUZZ_CHECK(strcmp(whole, cut) == 0);
                }
                if (statuses[s] != 200)
                        FUZZ_CHECK(strcmp(whole, "ok") != 0);
                check_error_text(body, size, statuses[s]);
        }
        check_engine(body);
        return 0;
}
