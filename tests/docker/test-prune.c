/* What podhook prune decides (from tables, no engine) and the pull records it reads: one file per image
 * ID, 0600, each pull's ref and pod added once; an ID that is no sha256 digest names no file. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "docker/prune.h"
#include "tap.h"

#define ID1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define ID3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void test_verdicts(void) {
        json_auto_t *containers = json_pack("[{s:s, s:[s], s:s}, {s:s, s:[s], s:s}, {s:s}]", "Id", "c1",
                                            "Names", "/someone-elses", "ImageID", ID1, "Id", "c2", "Names",
                                            "/web.app", "ImageID", ID2, "Id", "c3");
        static const struct {
                const char *id;
                const char *infra;
                PhPruneVerdict want;
                const char *user;
        } cases[] = {
                {ID1, NULL, PH_PRUNE_IN_USE, "someone-elses"},
                {ID2, ID3, PH_PRUNE_IN_USE, "web.app"},
                {ID3, NULL, PH_PRUNE_REMOVE, NULL},
                {ID3, ID3, PH_PRUNE_INFRA, NULL},
                {ID1, ID1, PH_PRUNE_INFRA, NULL},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *user = "unset";
                TAP_CHECK(image_prune_verdict(cases[i].id, containers, cases[i].infra, &user) ==
                          cases[i].want);
                TAP_CHECK(cases[i].user ? user && strcmp(user, cases[i].user) == 0 : user == NULL);
        }
        json_auto_t *none = json_array();
        TAP_CHECK(image_prune_verdict(ID1, none, NULL, NULL) == PH_PRUNE_REMOVE);
}

static void test_records(const char *state) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *path = xasprintf("%s/images/%s.json", state, ID1 + 7);
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t len = 0;

        TAP_CHECK(image_record_pull(state, "reg:5000/a:1", ID1, "web", &err) == 0);
        TAP_CHECK(image_record_pull(state, "reg:5000/a:1", ID1, "db", &err) == 0);
        TAP_CHECK(image_record_pull(state, "reg:5000/a:latest", ID1, "web", &err) == 0);
        TAP_CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
        TAP_CHECK(file_read_all(path, 65536, &text, &len, &err) == 0);
        json_auto_t *rec = json_loadb(text, len, 0, NULL);
        json_auto_t *refs = json_pack("[s, s]", "reg:5000/a:1", "reg:5000/a:latest");
        json_auto_t *pods = json_pack("[s, s]", "web", "db");
        TAP_CHECK_STR(json_string_value(json_object_get(rec, "id")), ID1);
        TAP_CHECK(json_equal(json_object_get(rec, "refs"), refs));
        TAP_CHECK(json_equal(json_object_get(rec, "pods"), pods));
        TAP_CHECK(json_integer_value(json_object_get(rec, "pulled_at")) > 0);
        TAP_CHECK(json_integer_value(json_object_get(rec, "last_pulled_at")) >=
                  json_integer_value(json_object_get(rec, "pulled_at")));
        /* an ID that is no digest never becomes a path */
        err = ph_error_free(err);
        TAP_CHECK(image_record_pull(state, "x:1", "sha256:../../etc/passwd", "web", &err) == -EPROTO);
        err = ph_error_free(err);
        TAP_CHECK(image_record_pull(state, "x:1", NULL, "web", &err) == -EPROTO);
}

int main(void) {
        char dir[] = "/tmp/phtest-prune.XXXXXX";

        if (!mkdtemp(dir))
                return 1;
        _cleanup_free_ char *run = xasprintf("%s/run", dir);
        setenv("PODHOOK_RUN_DIR", run, 1);
        test_verdicts();
        test_records(dir);
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
                return 1;
        return tap_done();
}
