/* The drop-in directory against a fake pod hook entry (an "engine" that keeps the pods it was given,
 * with their owner labels): which names count, pod names, a new file applied with its owner, an
 * unchanged one left alone, a changed one applied again, a file still changing left for later, an
 * invalid one reported and not applied, two files for one pod, a failed apply tried again at a rescan
 * with one event, a removed file's pod deleted (also one the agent never applied itself), another
 * directory's pods and Heat's left alone, an untrusted directory, a cancel. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "dropin.h"
#include "tap.h"

typedef struct Engine {
        json_t *pods;  /* pod -> {"dropin": file} or {"deployment": id} */
        json_t *calls; /* ["CREATE web /dir/web.yaml", "DELETE ..."] */
        int fail;      /* the next runs fail with status 1 */
} Engine;

static int fake_run(const PhHook *h, const json_t *dep, const PhHookCall *call, PhHookResult *ret,
                    PhError **reterr) {
        Engine *e = h->data;
        const char *pod = json_string_value(json_object_get(dep, "name"));
        const char *action = json_string_value(
                json_object_get(json_array_get(json_object_get(dep, "inputs"), 0), "value"));
        char line[512];

        snprintf(line, sizeof(line), "%s %s %s", action, pod, call && call->dropin ? call->dropin : "-");
        json_array_append_new(e->calls, json_string(line));
        if (e->fail) {
                ret->data = json_pack("{s:s, s:s, s:i}", "deploy_stdout", "[]", "deploy_stderr",
                                      "pull failed: no such image\n", "deploy_status_code", 1);
                return 0;
        }
        if (strcmp(action, "DELETE") == 0)
                json_object_del(e->pods, pod);
        else
                json_object_set_new(e->pods, pod,
                                    json_pack("{s:s, s:s}", "deployment",
                                              json_string_value(json_object_get(dep, "id")), "dropin",
                                              call->dropin));
        ret->data = json_pack("{s:s, s:s, s:i}", "deploy_stdout", "[]", "deploy_stderr", "applied\n",
                              "deploy_status_code", 0);
        ret->pod = xstrdup(pod);
        ret->summary = xasprintf("pod %s applied", pod);
        return 0;
}

static int fake_list(const PhHook *h, json_t **ret, PhError **reterr) {
        *ret = json_deep_copy(((Engine *) h->data)->pods);
        return 0;
}

static const PhHookOps fake_ops = {
        .name = "fake", .group = "docker", .run = fake_run, .list_owned = fake_list};

static const char valid[] = "version: v1beta2\ncontainers:\n  - name: main\n    image: busybox\n";

static void put(const char *dir, const char *name, const char *text, int age) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        if (file_write_atomic(path, text, strlen(text), 0600, NULL) < 0)
                abort();
        if (age == 0)
                return; /* just written: its own mtime (whole seconds would put it up to 1 s back) */
        struct timespec t[2] = {{.tv_sec = time(NULL) - age}, {.tv_sec = time(NULL) - age}};
        (void) utimensat(AT_FDCWD, path, t, 0);
}

static size_t count_events(PhStatus *s, const char *kind) {
        json_auto_t *ev = status_events_json(s, 0);
        size_t i, n = 0;
        const json_t *e;
        json_array_foreach(ev, i, e) n += strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0;
        return n;
}

static bool cancel_yes(void *u) {
        return true;
}

int main(void) {
        /* Which names count. */
        static const struct {
                const char *name;
                bool counts;
        } names[] = {
                {"web.yaml", true},
                {"web.yml", true},
                {"web.json", true},
                {"my app.yaml", true},
                {".web.yaml", false},
                {"web.yaml~", false},
                {"web.yaml.bak", false},
                {"web.bak.yaml", false},
                {".web.yaml.swp", false},
                {"web.yaml.swp", false},
                {"web.yaml.dpkg-old", false},
                {"web.yaml.dpkg-new", false},
                {"web.yaml.rpmnew", false},
                {"web.yaml.rpmsave", false},
                {"web.yaml.tmp", false},
                {"web.txt", false},
                {"web", false},
                {".yaml", false},
                {"web.YAML", false},
                {"", false},
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (!TAP_CHECK(dropin_name_counts(names[i].name) == names[i].counts))
                        printf("# %s\n", names[i].name);
        /* Pod names. */
        _cleanup_free_ char *p1 = dropin_pod_name("web.yaml"), *p2 = dropin_pod_name("db.v2.json"),
                            *p3 = dropin_pod_name("my app.yaml"), *p4 = dropin_pod_name("my-app.yaml");
        TAP_CHECK_STR(p1, "web");
        TAP_CHECK_STR(p2, "db.v2");
        TAP_CHECK(strncmp(p3, "my-app-", 7) == 0 && strcmp(p3, p4) != 0); /* never the same pod as my-app */

        char tmp[] = "/tmp/ph-test-dropin-XXXXXX";
        if (!mkdtemp(tmp))
                return 1;
        _cleanup_free_ char *dir = xasprintf("%s/pods", tmp);
        (void) mkdir(dir, 0700);
        Engine e = {.pods = json_object(), .calls = json_array()};
        /* Another directory's drop-in and a Heat deployment's pod: never touched. */
        json_object_set_new(e.pods, "other",
                            json_pack("{s:s, s:s}", "deployment", "dropin:other.yaml", "dropin",
                                      "/elsewhere/other.yaml"));
        json_object_set_new(e.pods, "heat", json_pack("{s:s}", "deployment", "4c1e"));
        const PhHook hooks[] = {{.ops = &fake_ops, .data = &e}};
        _cleanup_(status_freep) PhStatus *st = status_new(0);
        _cleanup_(notifier_freep) PhNotifier *n = NULL;
        TAP_CHECK(notifier_new(st, NULL, &n) == 0);
        PhDropinsEnv env = {.hooks = hooks,
                            .n_hooks = 1,
                            .group = "docker",
                            .state_dir = "/var/lib/podhook",
                            .status = st,
                            .notifier = n,
                            .debounce_usec = 500 * 1000};
        _cleanup_(dropins_freep) PhDropins *d = dropins_new(dir);
        _cleanup_free_ char *web_path = xasprintf("%s/web.yaml", dir);
        uint64_t recheck = 0;

        /* A new file: applied, with its file as the owner. */
        put(dir, "web.yaml", valid, 10);
        put(dir, "web.yaml.bak", valid, 10);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 1 && recheck == 0);
        TAP_CHECK(json_array_size(e.calls) == 1);
        _cleanup_free_ char *want = xasprintf("CREATE web %s", web_path);
        TAP_CHECK_STR(json_string_value(json_array_get(e.calls, 0)), want);
        json_auto_t *sd = status_deployment_json(st, "dropin:web.yaml");
        TAP_CHECK_STR(json_string_value(json_object_get(sd, "state")), "done");
        TAP_CHECK_STR(json_string_value(json_object_get(sd, "source")), "dropin");
        json_auto_t *sp = status_pod_json(st, "web");
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(sp, "owner"), "file")), web_path);

        /* Unchanged: nothing runs; a rescan does not re-apply what worked. */
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 0);
        TAP_CHECK(dropins_sync(d, &env, true, &recheck) == 0);
        TAP_CHECK(json_array_size(e.calls) == 1);

        /* Changed: applied again. Still changing (written just now): left for later. */
        put(dir, "web.yaml", "# v2\nversion: v1beta2\ncontainers:\n  - name: main\n    image: busybox\n", 10);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 1);
        put(dir, "web.yaml", "# v3\nversion: v1beta2\ncontainers:\n  - name: main\n    image: busybox\n", 0);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 0);
        TAP_CHECK(recheck > 0 && recheck <= 500 * 1000);
        TAP_CHECK(json_array_size(e.calls) == 2);
        env.debounce_usec = 0;
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 1 && recheck == 0);
        env.debounce_usec = 500 * 1000;

        /* Invalid: reported once with its messages, nothing runs, the pod stays. */
        put(dir, "web.yaml", "version: v1beta2\ncontainers:\n  - name: main\n", 10);
        size_t calls = json_array_size(e.calls);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 0);
        TAP_CHECK(dropins_sync(d, &env, true, &recheck) == 0);
        TAP_CHECK(json_array_size(e.calls) == calls && json_object_get(e.pods, "web"));
        TAP_CHECK(count_events(st, "dropin_invalid") == 1);
        json_auto_t *ev = status_events_json(st, 1);
        TAP_CHECK_STR(
                json_string_value(json_array_get(json_object_get(json_array_get(ev, 0), "messages"), 0)),
                "web.yaml:3: containers[0].image: is required");
        json_auto_t *sd2 = status_deployment_json(st, "dropin:web.yaml");
        TAP_CHECK_STR(json_string_value(json_object_get(sd2, "state")), "failed");

        /* Two files for one pod: the first by name wins, the other is reported and never applied. */
        put(dir, "web.yaml", valid, 10);
        put(dir, "web.yml", valid, 10);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 1);
        TAP_CHECK(count_events(st, "dropin_invalid") == 2);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 0 && count_events(st, "dropin_invalid") == 2);
        _cleanup_free_ char *yml = xasprintf("%s/web.yml", dir);
        unlink(yml);

        /* A failed apply: one event, tried again at a rescan (not at every look), once it works applied. */
        e.fail = 1;
        put(dir, "db.json",
            "{\"version\": \"v1beta2\", \"containers\": [{\"name\": \"db\", \"image\": \"busybox\"}]}", 10);
        calls = json_array_size(e.calls);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 1);
        TAP_CHECK(count_events(st, "deployment_failed") == 1);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 0 && json_array_size(e.calls) == calls + 1);
        TAP_CHECK(dropins_sync(d, &env, true, &recheck) == 1 && json_array_size(e.calls) == calls + 2);
        TAP_CHECK(count_events(st, "deployment_failed") == 1);
        e.fail = 0;
        TAP_CHECK(dropins_sync(d, &env, true, &recheck) == 1 && json_object_get(e.pods, "db"));

        /* Removed: its pod is deleted at once, through the hook with its file; also the pod of a file of
         * this directory the agent never applied (removed while it was down). Others stay. */
        _cleanup_free_ char *ghost = xasprintf("%s/ghost.yaml", dir);
        json_object_set_new(e.pods, "ghost",
                            json_pack("{s:s, s:s}", "deployment", "dropin:ghost.yaml", "dropin", ghost));
        unlink(web_path);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 2);
        TAP_CHECK(!json_object_get(e.pods, "web") && !json_object_get(e.pods, "ghost"));
        TAP_CHECK(json_object_get(e.pods, "db") && json_object_get(e.pods, "other") &&
                  json_object_get(e.pods, "heat"));
        _cleanup_free_ char *del = xasprintf("DELETE web %s", web_path);
        bool deleted = false;
        size_t i;
        const json_t *c;
        json_array_foreach(e.calls, i, c) deleted = deleted || strcmp(json_string_value(c), del) == 0;
        TAP_CHECK(deleted);
        TAP_CHECK(status_deployment_json(st, "dropin:web.yaml") == NULL);
        TAP_CHECK(status_pod_json(st, "web") == NULL);

        /* An untrusted directory: nothing is applied or deleted. */
        chmod(dir, 0777);
        _cleanup_free_ char *db = xasprintf("%s/db.json", dir);
        unlink(db);
        calls = json_array_size(e.calls);
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == -EPERM);
        TAP_CHECK(json_array_size(e.calls) == calls && json_object_get(e.pods, "db"));
        chmod(dir, 0700);

        /* Cancelled (the agent stops): nothing more runs. */
        put(dir, "late.yaml", valid, 10);
        PhHttpCancel cancel = {.fd = -1, .cancelled = cancel_yes};
        env.cancel = &cancel;
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 0 && json_array_size(e.calls) == calls);
        env.cancel = NULL;
        TAP_CHECK(dropins_sync(d, &env, false, &recheck) == 2); /* late applied, db's pod deleted */

        /* A directory that is not there (yet): an error, nothing deleted. */
        _cleanup_(dropins_freep) PhDropins *missing = dropins_new("/nonexistent/podhook-pods");
        TAP_CHECK(dropins_sync(missing, &env, false, &recheck) == -ENOENT);
        TAP_CHECK_STR(dropins_path(missing), "/nonexistent/podhook-pods");

        json_decref(e.pods);
        json_decref(e.calls);
        _cleanup_free_ char *rm = xasprintf("rm -rf '%s'", tmp);
        (void) !system(rm);
        return tap_done();
}
