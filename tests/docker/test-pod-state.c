/* What podhook keeps for its pods: the node key (made once, 0600, the same for every later reader), the
 * update journal (round trip, listing, removal), the preStop actions kept by container id, and the pod
 * lock (a second taker waits, and gives up after its deadline naming the holder). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "docker/pod-state.h"
#include "tap.h"

int main(void) {
        char dir[] = "/tmp/phtest-pod-state.XXXXXX";
        _cleanup_error_ PhError *err = NULL;
        unsigned char k1[POD_NODE_KEY_LEN], k2[POD_NODE_KEY_LEN];
        struct stat st;
        int r;

        if (!mkdtemp(dir))
                return 1;
        _cleanup_free_ char *state = xasprintf("%s/state", dir), *run = xasprintf("%s/run", dir);
        _cleanup_free_ char *keyfile = xasprintf("%s/node.key", state);
        setenv(POD_RUN_DIR_ENV, run, 1);

        /* the state directory and the node key */
        TAP_CHECK(pod_state_dir_ensure(state, &err) == 0);
        TAP_CHECK(stat(state, &st) == 0 && (st.st_mode & 07777) == 0700);
        TAP_CHECK(pod_node_key(state, false, k1, &err) == 0);
        TAP_CHECK(pod_node_key(state, true, k1, &err) == 1);
        TAP_CHECK(stat(keyfile, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == POD_NODE_KEY_LEN);
        TAP_CHECK(pod_node_key(state, true, k2, &err) == 1 && memcmp(k1, k2, sizeof(k1)) == 0);
        TAP_CHECK(pod_node_key(state, false, k2, &err) == 1 && memcmp(k1, k2, sizeof(k1)) == 0);
        /* a key of the wrong size is refused, not used */
        _cleanup_free_ char *bad = xasprintf("%s/bad", dir);
        TAP_CHECK(mkdir(bad, 0700) == 0);
        _cleanup_free_ char *badkey = xasprintf("%s/node.key", bad);
        int fd = open(badkey, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        TAP_CHECK(fd >= 0 && write(fd, "short", 5) == 5);
        close(fd);
        r = pod_node_key(bad, true, k2, &err);
        TAP_CHECK(r == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "not a node key");
        err = ph_error_free(err);

        /* the journal */
        PhJournal *j = NULL;
        TAP_CHECK(pod_journal_load(state, "web", &j, &err) == 0);
        char *ran[] = {(char *) "id-1", (char *) "id-2", NULL}, *started[] = {NULL};
        PhJournal w = {.generation = 7, .committed = true, .was_running = ran, .started = started};
        TAP_CHECK(pod_journal_save(state, "web", &w, &err) == 0);
        TAP_CHECK(pod_journal_load(state, "web", &j, &err) == 1);
        TAP_CHECK(j && j->generation == 7 && j->committed && strv_length(j->was_running) == 2 &&
                  strcmp(j->was_running[1], "id-2") == 0 && strv_length(j->started) == 0);
        j = pod_journal_free(j);
        _cleanup_free_ char *jfile = xasprintf("%s/pods/web.journal.json", state);
        TAP_CHECK(stat(jfile, &st) == 0 && (st.st_mode & 07777) == 0600);
        _cleanup_strv_free_ char **pods = pod_journal_list(state);
        TAP_CHECK(strv_length(pods) == 1 && strcmp(pods[0], "web") == 0);
        TAP_CHECK(pod_journal_remove(state, "web", &err) == 0);
        TAP_CHECK(pod_journal_remove(state, "web", &err) == 0);
        TAP_CHECK(pod_journal_load(state, "web", &j, &err) == 0);
        /* a journal that cannot be read is an error: an update may be in progress */
        fd = open(jfile, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        TAP_CHECK(fd >= 0 && write(fd, "{", 1) == 1);
        close(fd);
        TAP_CHECK(pod_journal_load(state, "web", &j, &err) == -EINVAL);
        err = ph_error_free(err);

        /* the preStop actions: none at first, a round trip, not a journal, removed when empty */
        json_t *ps = NULL;
        TAP_CHECK(pod_prestops_load(state, "web", &ps, &err) == 0 && json_object_size(ps) == 0);
        json_decref(ps);
        json_auto_t *map =
                json_pack("{s:{s:s, s:[s, s]}}", "id-1", "kind", "exec", "command", "/bin/sh", "-c");
        TAP_CHECK(pod_prestops_save(state, "web", map, &err) == 0);
        _cleanup_free_ char *pfile = xasprintf("%s/pods/web.prestop.json", state);
        TAP_CHECK(stat(pfile, &st) == 0 && (st.st_mode & 07777) == 0600);
        TAP_CHECK(pod_prestops_load(state, "web", &ps, &err) == 0 && json_equal(ps, map));
        json_decref(ps);
        _cleanup_strv_free_ char **with_prestop = pod_journal_list(state);
        TAP_CHECK(strv_length(with_prestop) == 1); /* the unreadable journal above, not the actions */
        TAP_CHECK(pod_prestops_save(state, "web", NULL, &err) == 0);
        TAP_CHECK(stat(pfile, &st) < 0 && errno == ENOENT);

        /* the lock: a child holds it; we give up after our deadline, naming it; then it is ours */
        int ready[2], done[2];
        TAP_CHECK(pipe(ready) == 0 && pipe(done) == 0);
        pid_t child = fork();
        if (child == 0) {
                int lock = -1;
                char c = 0;
                if (pod_lock("web", 5, &lock, NULL) < 0)
                        _exit(1);
                if (write(ready[1], "x", 1) != 1 || read(done[0], &c, 1) != 1) /* until the parent says */
                        _exit(1);
                _exit(0);
        }
        char c;
        TAP_CHECK(read(ready[0], &c, 1) == 1);
        int lock = -1;
        r = pod_lock("web", 1, &lock, &err);
        TAP_CHECK(r == -EBUSY);
        _cleanup_free_ char *holder = xasprintf("another podhook process (pid %ld)", (long) child);
        TAP_CHECK_HAS(ph_error_msg(err), holder);
        err = ph_error_free(err);
        /* another pod is not locked by it */
        TAP_CHECK(pod_lock("other", 1, &lock, &err) == 0);
        close(lock);
        TAP_CHECK(write(done[1], "y", 1) == 1);
        int status = 0;
        TAP_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        TAP_CHECK(pod_lock("web", 5, &lock, &err) == 0);
        close(lock);
        _cleanup_free_ char *lockdir = xasprintf("%s/pods", run);
        TAP_CHECK(stat(lockdir, &st) == 0 && (st.st_mode & 07777) == 0700);

        _cleanup_free_ char *rm = xasprintf("rm -rf '%s'", dir);
        if (system(rm) != 0)
                return 1;
        return tap_done();
}
