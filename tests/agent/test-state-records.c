/* The per-id records of the state directory, each kind in its own directory: no id reaches another's
 * file ("X.notify" and X), the older layout is moved into place once, forget/lose/lost records. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "state.h"
#include "tap.h"

static void put(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        TAP_CHECK(file_write_atomic(p, text, strlen(text), 0600, NULL) == 0);
}

static bool has(const char *dir, const char *name) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        return file_exists(p) > 0;
}

static bool strv_has(char **v, const char *s) {
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

int main(void) {
        char tmp[] = "/tmp/ph-test-state-records-XXXXXX";
        if (!mkdtemp(tmp))
                return 1;
        _cleanup_free_ char *dir = xasprintf("%s/state", tmp), *dd = xasprintf("%s/deployed", dir);
        PhState *s = NULL;
        json_auto_t *dep = json_pack("{s:s}", "group", "script");
        json_auto_t *data = json_pack("{s:i}", "deploy_status_code", 0);

        /* An older podhook's layout: markers, X.notify.json results, .inprogress records. */
        TAP_CHECK(dir_make_parents(dd, 0700, NULL) == 0);
        put(dd, "done.json", "{}");
        put(dd, "done.notify.json", "{\"deploy_status_code\": 0}");
        put(dd, "half.json", "{}");
        put(dd, "half.inprogress", "");
        put(dd, "lone.notify.json",
            "{\"group\": \"script\"}"); /* no "lone" marker: the marker of "lone.notify" */
        TAP_CHECK(state_open(dir, &s, NULL) == 0);
        TAP_CHECK(has(dir, "results/done.json") && !has(dd, "done.notify.json"));
        TAP_CHECK(has(dir, "inprogress/half.json") && !has(dd, "half.inprogress"));
        TAP_CHECK(has(dd, "lone.notify.json"));
        TAP_CHECK(state_deploy_state(s, "done") == PH_DEPLOY_DONE);
        TAP_CHECK(state_deploy_state(s, "half") == PH_DEPLOY_IN_PROGRESS);
        TAP_CHECK(state_deploy_state(s, "lone.notify") == PH_DEPLOY_DONE);
        TAP_CHECK(state_deploy_state(s, "done.notify") == PH_DEPLOY_NEW); /* it used to look done */
        _cleanup_strv_free_ char **markers = state_markers(s);
        TAP_CHECK(strv_has(markers, "done") && strv_has(markers, "half") &&
                  strv_has(markers, "lone.notify") && strv_length(markers) == 3);
        /* Opening again moves nothing more. */
        s = state_free(s);
        TAP_CHECK(state_open(dir, &s, NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "half") == PH_DEPLOY_IN_PROGRESS);

        /* X and X.notify: each its own marker and result. */
        TAP_CHECK(state_deploy_begin(s, "X", dep, NULL) == 0 && state_deploy_finish(s, "X", NULL) == 0 &&
                  state_save_result(s, "X", data, NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "X.notify") == PH_DEPLOY_NEW);
        TAP_CHECK(state_deploy_begin(s, "X.notify", dep, NULL) == 0 &&
                  state_deploy_finish(s, "X.notify", NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "X") == PH_DEPLOY_DONE &&
                  state_deploy_state(s, "X.notify") == PH_DEPLOY_DONE);
        TAP_CHECK(has(dir, "results/X.json") && !has(dir, "results/X.notify.json"));

        /* The in-progress record knows when it started. */
        TAP_CHECK(state_deploy_begin(s, "run", dep, NULL) == 0);
        time_t started = state_deploy_started(s, "run");
        TAP_CHECK(started > 0 && started <= time(NULL));
        TAP_CHECK(state_deploy_started(s, "X") == 0);

        /* Forgotten (pod removed): the marker goes to removed/, so a return runs it; running it again
         * clears the removed record. */
        TAP_CHECK(state_deploy_forget(s, "run", NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "run") == PH_DEPLOY_NEW && has(dir, "removed/run.json"));
        TAP_CHECK(state_deploy_begin(s, "run", dep, NULL) == 0 && !has(dir, "removed/run.json"));

        /* Lost: the in-progress record becomes a lost record; the marker stays (not run again). */
        TAP_CHECK(state_deploy_lose(s, "run", NULL) == 0);
        TAP_CHECK(state_deploy_state(s, "run") == PH_DEPLOY_DONE);
        _cleanup_strv_free_ char **lost = state_lost(s);
        TAP_CHECK(strv_has(lost, "run") && strv_length(lost) == 1);
        TAP_CHECK(state_lost_done(s, "run", NULL) == 0);
        _cleanup_strv_free_ char **none = state_lost(s);
        TAP_CHECK(none && !none[0]);
        TAP_CHECK(state_deploy_lose(s, "never", NULL) == -ENOENT);

        state_free(s);
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmp);
        (void) !system(cmd);
        return tap_done();
}
