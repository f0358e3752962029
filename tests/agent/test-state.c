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

static bool exists(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

/* state_open(dir) fails with EPERM and a message containing want. */
static bool refused(const char *dir, const char *want) {
        _cleanup_error_ PhError *err = NULL;
        PhState *s = NULL;
        int r = state_open(dir, &s, &err);

        state_free(s);
        if (r != -EPERM) {
                printf("# state_open(%s) = %d (%s), wanted -EPERM\n", dir, r,
                       err ? ph_error_msg(err) : "no error");
                return false;
        }
        if (!strstr(ph_error_msg(err), want)) {
                printf("# got: %s\n# want to contain: %s\n", ph_error_msg(err), want);
                return false;
        }
        return true;
}

static bool accepted(const char *dir) {
        _cleanup_error_ PhError *err = NULL;
        PhState *s = NULL;
        int r = state_open(dir, &s, &err);

        state_free(s);
        if (r < 0)
                printf("# state_open(%s): %s\n", dir, ph_error_msg(err));
        return r == 0;
}

/* A state directory someone else could tamper with is refused before anything in it is touched. */
static void test_untrusted(const char *tmp) {
        if (getuid() != 0) {
                printf("# skipped: the ownership cases need root (chown)\n");
                return;
        }
        /* Owned by nobody: refused, and its mode, its lock and its deployed/ stay as they were. */
        _cleanup_free_ char *foreign = xasprintf("%s/foreign", tmp);
        _cleanup_free_ char *flock = xasprintf("%s/lock", foreign);
        _cleanup_free_ char *fdep = xasprintf("%s/deployed", foreign);
        _cleanup_free_ char *fmsg = xasprintf("%s is owned by uid 65534, not by the agent's uid 0", foreign);
        TAP_CHECK(mkdir(foreign, 0755) == 0 && chown(foreign, 65534, 65534) == 0);
        TAP_CHECK(refused(foreign, fmsg));
        TAP_CHECK(mode_of(foreign) == 0755);
        TAP_CHECK(!exists(flock) && !exists(fdep));

        /* Ours, but writable by the group: refused too (not merely chmod'ed). */
        _cleanup_free_ char *grp = xasprintf("%s/group", tmp);
        TAP_CHECK(mkdir(grp, 0700) == 0 && chmod(grp, 0770) == 0);
        TAP_CHECK(refused(grp, "writable by its group or others"));
        TAP_CHECK(mode_of(grp) == 0770);

        /* deployed/ or outbox/ of another user. */
        _cleanup_free_ char *sub = xasprintf("%s/sub", tmp);
        _cleanup_free_ char *subdep = xasprintf("%s/deployed", sub);
        _cleanup_free_ char *subout = xasprintf("%s/outbox", sub);
        TAP_CHECK(mkdir(sub, 0700) == 0 && mkdir(subdep, 0700) == 0 && chown(subdep, 65534, 65534) == 0);
        TAP_CHECK(refused(sub, "deployed is owned by uid 65534"));
        TAP_CHECK(chown(subdep, 0, 0) == 0 && mkdir(subout, 0700) == 0 && chown(subout, 65534, 65534) == 0);
        TAP_CHECK(refused(sub, "outbox is owned by uid 65534"));
        TAP_CHECK(chown(subout, 0, 0) == 0);
        TAP_CHECK(accepted(sub));

        /* A parent anyone may write to (and not sticky): anyone could swap the directory. */
        _cleanup_free_ char *open_parent = xasprintf("%s/open", tmp);
        _cleanup_free_ char *below = xasprintf("%s/state", open_parent);
        _cleanup_free_ char *omsg =
                xasprintf("%s (a parent of %s) is writable by others and not sticky", open_parent, below);
        TAP_CHECK(mkdir(open_parent, 0700) == 0 && chmod(open_parent, 0777) == 0);
        TAP_CHECK(refused(below, omsg));
        TAP_CHECK(!exists(below)); /* nothing made below it */
        /* Sticky, as /tmp is: fine. */
        TAP_CHECK(chmod(open_parent, 01777) == 0);
        TAP_CHECK(accepted(below));

        /* A parent of another user. */
        _cleanup_free_ char *their = xasprintf("%s/theirs", tmp);
        _cleanup_free_ char *their_state = xasprintf("%s/state", their);
        TAP_CHECK(mkdir(their, 0755) == 0 && mkdir(their_state, 0700) == 0 &&
                  chown(their, 65534, 65534) == 0);
        TAP_CHECK(refused(their_state, "is owned by uid 65534, not by root or the agent's uid 0"));

        /* A symbolic link of another user in a sticky directory: they could point it elsewhere later. */
        _cleanup_free_ char *good = xasprintf("%s/good", tmp);
        _cleanup_free_ char *link = xasprintf("%s/link", open_parent);
        TAP_CHECK(mkdir(good, 0700) == 0 && symlink(good, link) == 0 && lchown(link, 65534, 65534) == 0);
        TAP_CHECK(refused(link, "is a symbolic link of uid 65534"));
        TAP_CHECK(lchown(link, 0, 0) == 0);
        TAP_CHECK(accepted(link));
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
        /* /tmp/<dir> itself (root's sticky /tmp as the parent) was accepted above. */
        test_untrusted(tmp);
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmp);
        (void) !system(cmd);
        return tap_done();
}
