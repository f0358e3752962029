/* Events: their JSON form (secrets redacted), the status store's copy, and --notify-exec: one JSON event
 * on stdin per run, in order, one at a time, from events emitted on another thread; a full queue drops
 * the oldest; a command that hangs is killed after its timeout; the loop goes on while a command runs. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "notify.h"
#include "tap.h"

static PhNotice failed(int n) {
        static char msg[64];
        snprintf(msg, sizeof(msg), "deployment d%d failed", n);
        return (PhNotice){
                .kind = PH_NOTICE_DEPLOYMENT_FAILED, .pod = "web", .deployment = "d1", .message = msg};
}

static void *emitter(void *p) {
        PhNotifier *n = p;
        for (int i = 0; i < 3; i++) {
                PhNotice e = failed(i);
                notify_emit(n, &e);
        }
        return NULL;
}

/* The lines of path as JSON objects (new ref); the first word of each line is the kind from the env. */
static json_t *read_events(const char *path, json_t **ret_env_kinds) {
        _cleanup_free_ char *text = NULL;
        json_t *out = json_array();
        *ret_env_kinds = json_array();
        if (file_read_all(path, 1 << 20, &text, NULL, NULL) < 0)
                return out;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(line, ' ');
                if (!sp)
                        continue;
                *sp = 0;
                json_array_append_new(*ret_env_kinds, json_string(line));
                json_t *e = json_loads(sp + 1, 0, NULL);
                json_array_append_new(out, e ? e : json_null());
        }
        return out;
}

static int on_tick(PhEventSource *s, uint64_t usec, void *userdata) {
        *(uint64_t *) userdata = event_now();
        return 0;
}

int main(void) {
        char tmp[] = "/tmp/ph-test-notify-XXXXXX";
        if (!mkdtemp(tmp))
                return 1;

        /* The JSON form. */
        json_auto_t *details =
                json_pack("{s:[s], s:s, s:s}", "messages", "web.yaml:3: containers: is required", "file",
                          "web.yaml", "db_password", "hunter2-secret");
        PhNotice inv = {
                .kind = PH_NOTICE_DROPIN_INVALID,
                .pod = "web",
                .message =
                        "see https://swift.example/v1/AUTH_x/c/o?temp_url_sig=abcdef0123&temp_url_expires=1",
                .details = details};
        json_auto_t *j = notice_to_json(&inv, 86400);
        TAP_CHECK_STR(json_string_value(json_object_get(j, "kind")), "dropin_invalid");
        TAP_CHECK_STR(json_string_value(json_object_get(j, "time")), "1970-01-02T00:00:00Z");
        TAP_CHECK_STR(json_string_value(json_object_get(j, "pod")), "web");
        TAP_CHECK(json_object_get(j, "deployment") == NULL);
        TAP_CHECK_STR(json_string_value(json_array_get(json_object_get(j, "messages"), 0)),
                      "web.yaml:3: containers: is required");
        _cleanup_free_ char *jt = json_dumps(j, 0);
        TAP_CHECK(!strstr(jt, "hunter2-secret") && !strstr(jt, "temp_url_sig=abcdef0123"));
        for (int k = 0; k < _PH_NOTICE_KIND_MAX; k++)
                TAP_CHECK(strcmp(notice_kind_to_string((PhNoticeKind) k), "unknown") != 0);
        TAP_CHECK_STR(notice_kind_to_string(PH_NOTICE_ROLLED_BACK), "rolled_back");

        _cleanup_(status_freep) PhStatus *st = status_new(0);
        _cleanup_(event_freep) PhEvent *e = NULL;
        TAP_CHECK(event_new(&e) == 0);
        _cleanup_free_ char *out = xasprintf("%s/out", tmp);
        /* Records the kind from the environment, the event, and whether another run overlapped it. */
        _cleanup_free_ char *cmd =
                xasprintf("mkdir '%s/lock' || echo overlap >> '%s/overlap'; "
                          "printf '%%s ' \"$PODHOOK_EVENT_KIND\" >> '%s'; cat >> '%s'; echo >> '%s'; "
                          "sleep 0.05; rmdir '%s/lock'",
                          tmp, tmp, out, out, out, tmp);

        /* Emitted on another thread, run from the loop in order, one at a time. */
        _cleanup_(notifier_freep) PhNotifier *n = NULL;
        TAP_CHECK(notifier_new(st, cmd, &n) == 0);
        TAP_CHECK(notifier_attach(n, e) == 0);
        pthread_t t;
        TAP_CHECK(pthread_create(&t, NULL, emitter, n) == 0);
        pthread_join(t, NULL);
        TAP_CHECK(notifier_drain(n, e, 10 * 1000 * 1000ull) == 0);
        json_auto_t *kinds = NULL;
        json_auto_t *got = read_events(out, &kinds);
        TAP_CHECK(json_array_size(got) == 3);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(got, 0), "message")),
                      "deployment d0 failed");
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(got, 2), "message")),
                      "deployment d2 failed");
        TAP_CHECK_STR(json_string_value(json_array_get(kinds, 1)), "deployment_failed");
        _cleanup_free_ char *overlap = xasprintf("%s/overlap", tmp);
        TAP_CHECK(file_exists(overlap) == 0);
        /* The status store keeps them too. */
        json_auto_t *kept = status_events_json(st, 0);
        TAP_CHECK(json_array_size(kept) == 3);
        TAP_CHECK(json_integer_value(json_object_get(json_array_get(kept, 2), "seq")) == 3);

        /* A full queue drops the oldest: 20 events before the loop runs, 16 are kept. */
        unlink(out);
        for (int i = 0; i < 20; i++) {
                PhNotice f = failed(100 + i);
                notify_emit(n, &f);
        }
        TAP_CHECK(notifier_drain(n, e, 20 * 1000 * 1000ull) == 0);
        json_auto_t *kinds2 = NULL;
        json_auto_t *got2 = read_events(out, &kinds2);
        TAP_CHECK(json_array_size(got2) == NOTIFY_QUEUE_MAX);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(got2, 0), "message")),
                      "deployment d104 failed");
        json_auto_t *m = status_metrics_json(st);
        size_t i;
        const json_t *one;
        json_int_t dropped = -1;
        json_array_foreach(m, i, one) if (strcmp(json_string_value(json_object_get(one, "name")),
                                                 "podhook_notify_dropped_total") == 0) dropped =
                json_integer_value(json_object_get(one, "value"));
        TAP_CHECK(dropped == 4);

        /* A command that hangs is killed (with what it started) after its timeout; the loop runs meanwhile.
         */
        _cleanup_free_ char *pidfile = xasprintf("%s/bg.pid", tmp);
        _cleanup_free_ char *hang = xasprintf("sleep 30 & echo $! > '%s'; sleep 30", pidfile);
        notifier_set_command(n, hang);
        notifier_set_timeout(n, 300 * 1000);
        uint64_t ticked = 0, began = event_now();
        TAP_CHECK(event_add_time_relative(e, NULL, 100 * 1000, on_tick, &ticked) == 0);
        PhNotice f = failed(7);
        notify_emit(n, &f);
        TAP_CHECK(notifier_drain(n, e, 10 * 1000 * 1000ull) == 0);
        uint64_t took = event_now() - began;
        printf("# the hanging command ended after %llu ms\n", (unsigned long long) (took / 1000));
        TAP_CHECK(took < 3 * 1000 * 1000ull);
        TAP_CHECK(ticked > 0 && ticked - began < 300 * 1000);
        _cleanup_free_ char *bg = NULL;
        TAP_CHECK(file_read_all(pidfile, 100, &bg, NULL, NULL) == 0);
        pid_t bgpid = bg ? (pid_t) atoi(bg) : 0;
        /* Its process group went with it (the background sleep may still be a zombie of init's). */
        bool gone = false;
        for (int k = 0; k < 50 && !gone; k++) {
                _cleanup_free_ char *statp = xasprintf("/proc/%d/stat", (int) bgpid);
                _cleanup_free_ char *stat = NULL;
                gone = bgpid <= 0 || file_read_all(statp, 4096, &stat, NULL, NULL) < 0 ||
                       (strrchr(stat, ')') && strrchr(stat, ')')[2] == 'Z');
                if (!gone)
                        usleep(20000);
        }
        TAP_CHECK(bgpid > 0 && gone);

        /* No command: events are kept in the store and nothing is queued. */
        notifier_set_command(n, NULL);
        PhNotice g = failed(8);
        notify_emit(n, &g);
        TAP_CHECK(notifier_drain(n, e, 1000 * 1000ull) == 0);
        json_auto_t *kept2 = status_events_json(st, 1);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(kept2, 0), "message")),
                      "deployment d8 failed");

        _cleanup_free_ char *rm = xasprintf("rm -rf '%s'", tmp);
        (void) !system(rm);
        return tap_done();
}
