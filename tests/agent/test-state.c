/* State dir: modes, lock, markers, in-progress records that survive a "crash". */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "tap.h"

static unsigned mode_of(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 ? (unsigned) (st.st_mode & 07777) : 0;
}

int main(void) {
        char tmp[] = "/tmp/ph-test-state-XXXXXX";
        if (!mkdtemp(tmp))
                return 1;
        _cleanup_free_ char *dir = xasprintf("%s/state", tmp);
        _cleanup_error_ PhError *err = NULL, *err2 = NULL;
        PhState *s = NULL, *s2 = NULL;
        json_auto_t *dep = json_pack("{s:s, s:s}", "id", "abc-1", "group", "script");
        json_auto_t *data = json_pack("{s:i}", "deploy_status_code", 0);

        umask(022);
        TAP_CHECK(state_open(dir, &s, &err) == 0);
        TAP_CHECK(mode_of(dir) == 0700);
        _cleanup_free_ char *dd = xasprintf("%s/deployed", dir);
        TAP_CHECK(mode_of(dd) == 0700);

        /* Single instance. */
        TAP_CHECK(state_open(dir, &s2, &err2) == -EBUSY);
        TAP_CHECK_HAS(ph_error_msg(err2), "another podhook agent");

        TAP_CHECK(state_id_valid("10108208-a23f-4f5e-ac64-c300eefa1a85"));
        TAP_CHECK(!state_id_valid("../etc/passwd"));
        TAP_CHECK(!state_id_valid(".hidden"));
        TAP_CHECK(!state_id_valid(""));

        TAP_CHECK(state_deploy_state(s, "abc-1") == PH_DEPLOY_NEW);
        TAP_CHECK(state_deploy_begin(s, "abc-1", dep, NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "abc-1") == PH_DEPLOY_IN_PROGRESS);
        _cleanup_free_ char *marker = xasprintf("%s/abc-1.json", dd);
        TAP_CHECK(mode_of(marker) == 0600);
        json_auto_t *m = state_deploy_marker(s, "abc-1");
        TAP_CHECK_STR(json_string_value(json_object_get(m, "group")), "script");

        /* A crash now: a new process sees the deployment as in progress. */
        s = state_free(s);
        TAP_CHECK(state_open(dir, &s, NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "abc-1") == PH_DEPLOY_IN_PROGRESS);
        char **ids = state_in_progress(s);
        TAP_CHECK(ids && ids[0] && strcmp(ids[0], "abc-1") == 0 && !ids[1]);
        strv_free(ids);

        TAP_CHECK(state_deploy_finish(s, "abc-1", NULL) == 0 &&
                  state_save_result(s, "abc-1", data, NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "abc-1") == PH_DEPLOY_DONE);
        _cleanup_free_ char *notify = xasprintf("%s/results/abc-1.json", dir);
        TAP_CHECK(mode_of(notify) == 0600);
        ids = state_in_progress(s);
        TAP_CHECK(ids && !ids[0]);
        strv_free(ids);

        /* Deleting the marker by hand means "run it again", as with heat-config. */
        unlink(marker);
        TAP_CHECK(state_deploy_state(s, "abc-1") == PH_DEPLOY_NEW);

        TAP_CHECK(state_deploy_begin(s, "gone", dep, NULL) == 0);
        TAP_CHECK(state_deploy_forget(s, "gone", NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "gone") == PH_DEPLOY_NEW);

        json_auto_t *doc = json_pack("{s:s}", "k", "v");
        TAP_CHECK(state_save_json(s, "metadata.json", doc, NULL) == 0);
        json_auto_t *back = state_load_json(s, "metadata.json");
        TAP_CHECK(json_equal(doc, back));
        _cleanup_free_ char *mp = xasprintf("%s/metadata.json", dir);
        TAP_CHECK(mode_of(mp) == 0600);
        TAP_CHECK(state_load_json(s, "absent.json") == NULL);

        state_free(s);
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmp);
        (void) !system(cmd);
        return tap_done();
}
