/* pod-spec and pod-plan from tables, without Docker: what counts as a change (and why), and the
 * ordered steps of an update and of the repair of an interrupted one. A pod "observed" here is what the
 * Engine would list after creating a spec's bodies. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/digest.h"
#include "docker/pod-plan.h"
#include "docker/pod-spec.h"
#include "manifest/manifest.h"
#include "tap.h"

static const unsigned char key_a[POD_NODE_KEY_LEN] = "node key A .....................";
static const unsigned char key_b[POD_NODE_KEY_LEN] = "node key B .....................";

typedef struct Opts {
        const unsigned char *key;
        const char *image_id; /* of every app image; NULL: "sha256:1111" */
        const char *infra_image;
        bool no_init;
        const char *deployment;
        bool log_set; /* false: the defaults of an apply */
        uint64_t log_max_size;
        unsigned log_max_file;
        bool podman;
} Opts;

static PhManifest *load(const char *yaml) {
        PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (manifest_load(yaml, strlen(yaml), "test", &m, NULL, &err) < 0) {
                printf("Bail out! %s\n", ph_error_msg(err));
                exit(1);
        }
        return m;
}

static PhPodSpec *spec_of(const char *yaml, const Opts *o) {
        _cleanup_(manifest_freep) PhManifest *m = load(yaml);
        char *ids[16] = {};
        PhPodMeta meta = {.deployment = o ? o->deployment : NULL};
        PhSpecInput in = {
                .pod = "web",
                .m = m,
                .meta = &meta,
                .no_init = o && o->no_init,
                .infra_image = o && o->infra_image ? o->infra_image : "podhook/infra:1",
                .image_ids = ids,
                .key = o && o->key ? o->key : key_a,
                .key_len = POD_NODE_KEY_LEN,
                .log_max_size = o && o->log_set ? o->log_max_size : POD_DEFAULT_LOG_MAX_SIZE,
                .log_max_file = o && o->log_set ? o->log_max_file : POD_DEFAULT_LOG_MAX_FILE,
                .podman = o && o->podman,
        };

        for (size_t i = 0; i < m->n_containers && i < 15; i++)
                ids[i] = (char *) (o && o->image_id ? o->image_id : "sha256:1111");
        return pod_spec_build(&in);
}

/* The summaries the Engine lists for a pod made from spec s by update g, every container in state. */
static json_t *summaries_of(const PhPodSpec *s, unsigned long g, const char *state) {
        json_t *list = json_array();

        for (size_t i = 0; i < s->n; i++) {
                json_auto_t *body = pod_spec_create_body(&s->items[i], "infra-id", g);
                _cleanup_free_ char *id = xasprintf("%s-g%lu", s->items[i].name, g);
                _cleanup_free_ char *name = xasprintf("/%s", s->items[i].name);
                json_array_append_new(list,
                                      json_pack("{s:s, s:[s], s:s, s:O}", "Id", id, "Names", name, "State",
                                                state, "Labels", json_object_get(body, "Labels")));
        }
        return list;
}

static PhObservedPod *observed(const json_t *summaries) {
        return pod_observed_from_summaries("web", summaries);
}

/* "web.a=replace(env MODE) web._infra=keep" */
static char *items_text(const PhPlan *p, const PhPodSpec *want, const PhObservedPod *have) {
        char *out = xstrdup("");

        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                _cleanup_free_ char *why = NULL;
                for (char **r = it->reasons; r && *r; r++) {
                        char *w = why ? xasprintf("%s,%s", why, *r) : xstrdup(*r);
                        free(why);
                        why = w;
                }
                char *t = xasprintf("%s%s%s=%s%s%s%s", out, *out ? " " : "",
                                    pod_plan_item_name(p, it, want, have), pod_plan_action_name(it->action),
                                    why ? "(" : "", why ? why : "", why ? ")" : "");
                free(out);
                out = t;
        }
        return out;
}

static const char *op_name(PhStepOp op) {
        static const char *const names[] = {"stop",  "rename", "update", "create",
                                            "start", "check",  "commit", "remove"};
        return names[op];
}

/* "1:stop web.a-g1 | 3:rename web.a-g1>web._old2.a | 5:create +web.a ..." */
static char *steps_text(const PhPlan *p, const PhPodSpec *want, const PhObservedPod *have) {
        char *out = xstrdup("");

        for (size_t i = 0; i < p->n_steps; i++) {
                const PhStep *s = &p->steps[i];
                const char *target = s->op == PH_STEP_COMMIT ? ""
                                     : s->fresh              ? want->items[s->index].name
                                                             : have->items[s->index].id;
                char *t = xasprintf("%s%s%u:%s%s%s%s%s", out, *out ? " | " : "", s->wave, op_name(s->op),
                                    s->op == PH_STEP_COMMIT ? ""
                                    : s->fresh              ? " +"
                                                            : " ",
                                    target, s->to ? ">" : "", s->to ? s->to : "");
                free(out);
                out = t;
        }
        return out;
}

#define BASE                                                                                                 \
        "version: v1beta2\n"                                                                                 \
        "containers:\n"                                                                                      \
        "  - name: a\n"                                                                                      \
        "    image: img/a:1\n"                                                                               \
        "    ports: [{containerPort: 80, hostPort: 8080}]\n"                                                 \
        "    env: [{name: MODE, value: one}, {name: DB_PASSWORD, value: hunter2}]\n"                         \
        "    volumeMounts: [{name: data, mountPath: /data}]\n"                                               \
        "  - name: b\n"                                                                                      \
        "    image: img/b:1\n"                                                                               \
        "    command: [/bin/sleep, '1000']\n"                                                                \
        "  - name: c\n"                                                                                      \
        "    image: img/c:1\n"                                                                               \
        "volumes: [{name: data}]\n"

typedef struct Case {
        const char *what;
        const char *before, *after;
        Opts opts_after;
        const char *items;
        bool pod_replace;
} Case;

static char *subst(const char *s, const char *from, const char *to) {
        const char *at = strstr(s, from);
        if (!at) {
                printf("Bail out! '%s' not in the base manifest\n", from);
                exit(1);
        }
        return xasprintf("%.*s%s%s", (int) (at - s), s, to, at + strlen(from));
}

static void test_changes(void) {
        _cleanup_free_ char *env = subst(BASE, "value: one", "value: two");
        _cleanup_free_ char *pw = subst(BASE, "hunter2", "hunter3");
        _cleanup_free_ char *port = subst(BASE, "hostPort: 8080", "hostPort: 8081");
        _cleanup_free_ char *hostip = subst(BASE, "hostPort: 8080", "hostPort: 8080, hostIP: 127.0.0.1");
        _cleanup_free_ char *proto = subst(BASE, "hostPort: 8080", "hostPort: 8080, protocol: TCP");
        _cleanup_free_ char *cmd = subst(BASE, "'1000'", "'2000'");
        _cleanup_free_ char *image = subst(BASE, "img/c:1", "img/c:2");
        _cleanup_free_ char *probe = subst(BASE, "image: img/c:1\n",
                                           "image: img/c:1\n    livenessProbe: {tcpSocket: {port: 80}}\n");
        _cleanup_free_ char *policy =
                subst(BASE, "image: img/c:1\n", "image: img/c:1\n    imagePullPolicy: PullAlways\n");
        _cleanup_free_ char *add = subst(BASE, "volumes:", "  - {name: d, image: img/d:1}\nvolumes:");
        _cleanup_free_ char *drop = subst(BASE, "  - name: c\n    image: img/c:1\n", "");
        _cleanup_free_ char *mount = subst(BASE, "mountPath: /data", "mountPath: /data2");
        _cleanup_free_ char *restart = xasprintf("%srestartPolicy: {never: {}}\n", BASE);
        const Case cases[] = {
                {"the same manifest",
                 BASE,
                 BASE,
                 {},
                 "web.a=keep web.b=keep web.c=keep web._infra=keep",
                 false},
                {"another deployment id (a label, not the spec)",
                 BASE,
                 BASE,
                 {.deployment = "cfg-2"},
                 "web.a=keep web.b=keep web.c=keep web._infra=keep",
                 false},
                {"a new podhook's infra image",
                 BASE,
                 BASE,
                 {.infra_image = "podhook/infra:2"},
                 "web.a=keep web.b=keep web.c=keep web._infra=keep",
                 false},
                {"protocol TCP is tcp",
                 BASE,
                 proto,
                 {},
                 "web.a=keep web.b=keep web.c=keep web._infra=keep",
                 false},
                {"an env value",
                 BASE,
                 env,
                 {},
                 "web.a=replace(env MODE) web.b=keep web.c=keep web._infra=keep",
                 false},
                {"a secret env value",
                 BASE,
                 pw,
                 {},
                 "web.a=replace(env DB_PASSWORD) web.b=keep web.c=keep web._infra=keep",
                 false},
                {"another node key changes only what depends on secrets",
                 BASE,
                 BASE,
                 {.key = key_b},
                 "web.a=replace(env DB_PASSWORD) web.b=keep web.c=keep web._infra=keep",
                 false},
                {"the command",
                 BASE,
                 cmd,
                 {},
                 "web.a=keep web.b=replace(command) web.c=keep web._infra=keep",
                 false},
                {"the image tag",
                 BASE,
                 image,
                 {},
                 "web.a=keep web.b=keep web.c=replace(image) web._infra=keep",
                 false},
                {"the image ID the tag resolves to",
                 BASE,
                 BASE,
                 {.image_id = "sha256:2222"},
                 "web.a=replace(image ID) web.b=replace(image ID) web.c=replace(image ID) web._infra=keep",
                 false},
                {"a probe (not in the body)",
                 BASE,
                 probe,
                 {},
                 "web.a=keep web.b=keep web.c=replace(livenessProbe) web._infra=keep",
                 false},
                {"imagePullPolicy",
                 BASE,
                 policy,
                 {},
                 "web.a=keep web.b=keep web.c=replace(imagePullPolicy) web._infra=keep",
                 false},
                {"init (an option)",
                 BASE,
                 BASE,
                 {.no_init = true},
                 "web.a=replace(init) web.b=replace(init) web.c=replace(init) web._infra=keep",
                 false},
                {"a mount path",
                 BASE,
                 mount,
                 {},
                 "web.a=replace(volume /data2,volume /data) web.b=keep web.c=keep web._infra=keep",
                 false},
                {"the restart policy",
                 BASE,
                 restart,
                 {},
                 "web.a=replace(restartPolicy) web.b=replace(restartPolicy) web.c=replace(restartPolicy) "
                 "web._infra=keep",
                 false},
                {"an added container",
                 BASE,
                 add,
                 {},
                 "web.a=keep web.b=keep web.c=keep web.d=add web._infra=keep",
                 false},
                {"a dropped container",
                 BASE,
                 drop,
                 {},
                 "web.a=keep web.b=keep web.c=remove(not in the manifest) web._infra=keep",
                 false},
                {"a host port replaces the pod",
                 BASE,
                 port,
                 {},
                 "web.a=replace(the pod is replaced) web.b=replace(the pod is replaced) web.c=replace(the "
                 "pod is replaced) "
                 "web._infra=replace(ports)",
                 true},
                {"a hostIP replaces the pod",
                 BASE,
                 hostip,
                 {},
                 "web.a=replace(the pod is replaced) web.b=replace(the pod is replaced) web.c=replace(the "
                 "pod is replaced) "
                 "web._infra=replace(ports)",
                 true},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                _cleanup_(pod_spec_freep) PhPodSpec *before = spec_of(c->before, NULL);
                _cleanup_(pod_spec_freep) PhPodSpec *after = spec_of(c->after, &c->opts_after);
                json_auto_t *list = summaries_of(before, 1, "running");
                _cleanup_(pod_observed_freep) PhObservedPod *have = observed(list);
                _cleanup_(pod_plan_freep) PhPlan *p = pod_plan_update(after, have, false);
                _cleanup_free_ char *got = items_text(p, after, have);
                printf("# %s\n", c->what);
                TAP_CHECK_STR(got, c->items);
                TAP_CHECK(p->pod_replace == c->pod_replace);
                TAP_CHECK(pod_plan_is_empty(p) ==
                          (strstr(got, "=replace") == NULL && strstr(got, "=add") == NULL &&
                           strstr(got, "=remove") == NULL));
                TAP_CHECK(p->generation == 2);
        }
}

static void test_labels(void) {
        _cleanup_(pod_spec_freep) PhPodSpec *s = spec_of(BASE, NULL);
        _cleanup_(pod_spec_freep) PhPodSpec *again = spec_of(BASE, NULL);
        json_auto_t *body = pod_spec_create_body(&s->items[0], "abc", 7);
        json_t *labels = json_object_get(body, "Labels");
        _cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
        _cleanup_free_ char *plain = digest_sha256_hex("hunter2", 7);
        _cleanup_free_ char *quoted = digest_sha256_hex("\"hunter2\"", 9);

        TAP_CHECK_STR(s->items[0].hash, again->items[0].hash);
        TAP_CHECK(strncmp(s->items[0].hash, "sha256:", 7) == 0 && strlen(s->items[0].hash) == 71);
        TAP_CHECK_STR(json_string_value(json_object_get(labels, POD_LABEL_GENERATION)), "7");
        TAP_CHECK_STR(json_string_value(json_object_get(labels, POD_LABEL_SPEC_HASH)), s->items[0].hash);
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(body, "HostConfig"), "NetworkMode")),
                      "container:abc");
        /* The secret reaches the Engine in Env (it must), but no label holds it or an unkeyed hash of it. */
        TAP_CHECK_HAS(text, "DB_PASSWORD=hunter2");
        _cleanup_free_ char *ltext = json_dumps(labels, JSON_COMPACT);
        TAP_CHECK(!strstr(ltext, "hunter2"));
        TAP_CHECK(!strstr(ltext, plain + 7) && !strstr(ltext, quoted + 7));
        TAP_CHECK(strncmp(json_string_value(json_object_get(s->items[0].fields, "Env DB_PASSWORD")),
                          quoted + 7, 16) != 0);
        TAP_CHECK_HAS(ltext, "Env DB_PASSWORD");
        TAP_CHECK(s->items[0].keeps_running);
        /* names */
        _cleanup_free_ char *aside = pod_aside_name("web", "a", 12), *iaside = pod_aside_name("web", NULL, 3);
        TAP_CHECK_STR(aside, "web._old12.a");
        TAP_CHECK_STR(iaside, "web._old3._infra");
        TAP_CHECK(pod_aside_generation("web", aside) == 12);
        TAP_CHECK(pod_aside_generation("web", iaside) == 3);
        TAP_CHECK(pod_aside_generation("web", "web.a") == 0);
        TAP_CHECK(pod_aside_generation("web", "web._old.a") == 0);
        TAP_CHECK(pod_aside_generation("web", "web._old0.a") == 0);
        TAP_CHECK(pod_aside_generation("web2", aside) == 0);
        TAP_CHECK_STR(s->items[3].name, "web._infra");
        TAP_CHECK(s->items[3].container == NULL);
}

/* The steps of the common updates. */
static void test_steps(void) {
        _cleanup_free_ char *env = subst(BASE, "value: one", "value: two");
        _cleanup_free_ char *port = subst(BASE, "hostPort: 8080", "hostPort: 8081");
        _cleanup_free_ char *drop = subst(BASE, "  - name: c\n    image: img/c:1\n", "");
        _cleanup_(pod_spec_freep) PhPodSpec *s1 = spec_of(BASE, NULL);
        _cleanup_(pod_spec_freep) PhPodSpec *s2 = spec_of(env, NULL);
        _cleanup_(pod_spec_freep) PhPodSpec *s3 = spec_of(port, NULL);
        _cleanup_(pod_spec_freep) PhPodSpec *s4 = spec_of(drop, NULL);
        json_auto_t *list = summaries_of(s1, 1, "running");
        _cleanup_(pod_observed_freep) PhObservedPod *have = observed(list);

        /* one changed app: put aside (its name is free at once), stopped while its successor is created,
         * which is started and checked; then the old one goes */
        _cleanup_(pod_plan_freep) PhPlan *p = pod_plan_update(s2, have, false);
        _cleanup_free_ char *t = steps_text(p, s2, have);
        TAP_CHECK_STR(t,
                      "2:rename web.a-g1>web._old2.a | 3:stop web.a-g1 | 3:create +web.a | 9:start +web.a | "
                      "10:check +web.a | 11:commit | 12:remove web.a-g1");
        TAP_CHECK(strv_length(p->was_running) == 1 && strcmp(p->was_running[0], "web.a-g1") == 0);
        _cleanup_free_ char *sum = pod_plan_summary(p, s2, have, true);
        TAP_CHECK_STR(sum, "pod web: web.a replaced (env MODE), web.b kept, web.c kept, web._infra kept");

        /* the pod: all put aside, the apps stopped before the infra; then the new infra created, and
         * started while the apps are created */
        _cleanup_(pod_plan_freep) PhPlan *q = pod_plan_update(s3, have, false);
        _cleanup_free_ char *u = steps_text(q, s3, have);
        TAP_CHECK_STR(
                u, "2:rename web.a-g1>web._old2.a | 2:rename web.b-g1>web._old2.b | 2:rename "
                   "web.c-g1>web._old2.c | 2:rename web._infra-g1>web._old2._infra | 3:stop web.a-g1 | "
                   "3:stop web.b-g1 | 3:stop web.c-g1 | 4:stop web._infra-g1 | 7:create +web._infra | "
                   "8:create +web.a | 8:create +web.b | 8:create +web.c | 8:start +web._infra | 9:start "
                   "+web.a | "
                   "9:start +web.b | 9:start +web.c | 10:check +web.a | 10:check +web.b | 10:check +web.c | "
                   "10:check +web._infra | 11:commit | 12:remove web.a-g1 | 12:remove web.b-g1 | 12:remove "
                   "web.c-g1 | 13:remove web._infra-g1");

        /* --recreate: today's teardown first */
        _cleanup_(pod_plan_freep) PhPlan *rc = pod_plan_update(s1, have, true);
        _cleanup_free_ char *rt = steps_text(rc, s1, have);
        TAP_CHECK(rc->pod_replace && rc->recreate);
        TAP_CHECK_HAS(rt,
                      "3:stop web.a-g1 | 3:stop web.b-g1 | 3:stop web.c-g1 | 4:stop web._infra-g1 | "
                      "5:remove web.a-g1 | 5:remove web.b-g1 | 5:remove web.c-g1 | 6:remove web._infra-g1 | "
                      "7:create +web._infra");
        TAP_CHECK(!strstr(rt, "rename"));

        /* a dropped container: stopped and put aside like a replaced one, removed once the update passed */
        _cleanup_(pod_plan_freep) PhPlan *d = pod_plan_update(s4, have, false);
        _cleanup_free_ char *dt = steps_text(d, s4, have);
        TAP_CHECK_STR(dt, "2:rename web.c-g1>web._old2.c | 3:stop web.c-g1 | 11:commit | 12:remove web.c-g1");

        /* nothing changed: no step at all */
        _cleanup_(pod_plan_freep) PhPlan *n = pod_plan_update(s1, have, false);
        TAP_CHECK(pod_plan_is_empty(n));
        _cleanup_free_ char *nsum = pod_plan_summary(n, s1, have, true);
        TAP_CHECK_STR(nsum, "pod web: nothing changed, nothing touched");
        json_auto_t *j = pod_plan_to_json(n, s1, have);
        TAP_CHECK(json_is_true(json_object_get(j, "nothing_to_do")));
        TAP_CHECK_STR(json_string_value(
                              json_object_get(json_array_get(json_object_get(j, "containers"), 3), "name")),
                      "web._infra");
}

/* A suspended pod (stopped, restart policy no): started again, its policy restored, nothing replaced. */
static void test_suspended(void) {
        _cleanup_(pod_spec_freep) PhPodSpec *s = spec_of(BASE, NULL);
        json_auto_t *list = summaries_of(s, 1, "exited");
        _cleanup_(pod_observed_freep) PhObservedPod *have = observed(list);

        for (size_t i = 0; i < have->n; i++) {
                have->items[i].exit_code = 143;
                have->items[i].restart_policy = xstrdup("no");
        }
        _cleanup_(pod_plan_freep) PhPlan *p = pod_plan_update(s, have, false);
        _cleanup_free_ char *items = items_text(p, s, have);
        _cleanup_free_ char *steps = steps_text(p, s, have);
        TAP_CHECK_STR(items, "web.a=start web.b=start web.c=start web._infra=start");
        TAP_CHECK_HAS(steps,
                      "7:update web.a-g1 | 7:update web.b-g1 | 7:update web.c-g1 | 7:update web._infra-g1 | "
                      "8:start web._infra-g1 | 9:start web.a-g1");
        TAP_CHECK(strv_length(p->started) == 4 && strv_length(p->was_running) == 0);

        /* a run-once container that finished (exit 0) is left alone */
        _cleanup_free_ char *once = xasprintf("%srestartPolicy: {never: {}}\n", BASE);
        _cleanup_(pod_spec_freep) PhPodSpec *o = spec_of(once, NULL);
        json_auto_t *l2 = summaries_of(o, 1, "running");
        _cleanup_(pod_observed_freep) PhObservedPod *h2 = observed(l2);
        free(h2->items[1].state);
        h2->items[1].state = xstrdup("exited");
        h2->items[1].exit_code = 0;
        _cleanup_(pod_plan_freep) PhPlan *q = pod_plan_update(o, h2, false);
        TAP_CHECK(pod_plan_is_empty(q));

        /* the infra container alone stopped: it starts again and the running apps restart in its new
         * network namespace */
        json_auto_t *l3 = summaries_of(s, 1, "running");
        _cleanup_(pod_observed_freep) PhObservedPod *h3 = observed(l3);
        free(h3->items[3].state);
        h3->items[3].state = xstrdup("exited");
        _cleanup_(pod_plan_freep) PhPlan *r = pod_plan_update(s, h3, false);
        _cleanup_free_ char *ri = items_text(r, s, h3);
        TAP_CHECK_STR(
                ri,
                "web.a=start(the infra container starts again) web.b=start(the infra container starts again) "
                "web.c=start(the infra container starts again) web._infra=start");
        _cleanup_free_ char *rs = steps_text(r, s, h3);
        TAP_CHECK_HAS(rs, "3:stop web.a-g1 | 3:stop web.b-g1 | 3:stop web.c-g1 | 8:start web._infra-g1 | "
                          "9:start web.a-g1");
}

/* Odd pods: a container the Engine is removing, two containers for one name, an older podhook's. */
static void test_odd(void) {
        _cleanup_(pod_spec_freep) PhPodSpec *s = spec_of(BASE, NULL);
        json_auto_t *list = summaries_of(s, 1, "running");

        /* web.c is being removed (a client died while removing it): waited for, then made again */
        json_object_set_new(json_array_get(list, 2), "State", json_string("removing"));
        /* a second web.b (another name): removed */
        json_t *dup = json_deep_copy(json_array_get(list, 1));
        json_object_set_new(dup, "Id", json_string("dup-b"));
        json_object_set_new(dup, "Names", json_pack("[s]", "/web.b-copy"));
        json_array_append_new(list, dup);
        /* made by an older podhook: no spec fields */
        json_t *old = json_object_get(json_array_get(list, 0), "Labels");
        json_object_del(old, POD_LABEL_SPEC_FIELDS);
        json_object_set_new(old, POD_LABEL_SPEC_HASH, json_string("sha256:old"));
        /* not a podhook pod container at all (no role): ignored */
        json_array_append_new(list, json_pack("{s:s, s:[s], s:s, s:{}}", "Id", "stranger", "Names", "/x",
                                              "State", "running", "Labels"));
        _cleanup_(pod_observed_freep) PhObservedPod *have = observed(list);
        TAP_CHECK(have->n == 5);
        _cleanup_(pod_plan_freep) PhPlan *p = pod_plan_update(s, have, false);
        _cleanup_free_ char *items = items_text(p, s, have);
        _cleanup_free_ char *steps = steps_text(p, s, have);
        TAP_CHECK_STR(items, "web.a=replace(spec hash (made by an older podhook)) web.b=keep web.c=add "
                             "web.b-copy=remove(a second container for the same name) web._infra=keep");
        TAP_CHECK_HAS(steps,
                      "0:remove web.c-g1 | 2:rename web.a-g1>web._old2.a | 2:rename dup-b>web._old2.b | "
                      "3:stop web.a-g1 | 3:create +web.a | 3:create +web.c | 3:stop dup-b");
}

/* Repairing an interrupted update, from what the Engine shows (and the journal when there is one). */
static void test_recover(void) {
        _cleanup_free_ char *env = subst(BASE, "value: one", "value: two");
        _cleanup_(pod_spec_freep) PhPodSpec *s1 = spec_of(BASE, NULL);
        _cleanup_(pod_spec_freep) PhPodSpec *s2 = spec_of(env, NULL);
        json_auto_t *list = summaries_of(s1, 1, "running");

        /* nothing interrupted */
        _cleanup_(pod_observed_freep) PhObservedPod *h0 = observed(list);
        _cleanup_(pod_plan_freep) PhPlan *p0 = pod_plan_recover("web", h0, NULL);
        TAP_CHECK(pod_plan_is_empty(p0));
        TAP_CHECK(!pod_observed_has_aside(h0));

        /* update 2 replaced web.a: the old one is aside (stopped), the new one exists */
        json_t *a = json_array_get(list, 0);
        json_object_set_new(a, "Names", json_pack("[s]", "/web._old2.a"));
        json_object_set_new(a, "State", json_string("exited"));
        json_auto_t *l2 = summaries_of(s2, 2, "running");
        json_array_append(list, json_array_get(l2, 0));
        _cleanup_(pod_observed_freep) PhObservedPod *h = observed(list);
        TAP_CHECK(pod_observed_has_aside(h));
        h->items[0].restart_policy = xstrdup("always");

        /* without a journal: undo (the new one goes, the old one comes back and runs) */
        _cleanup_(pod_plan_freep) PhPlan *u = pod_plan_recover("web", h, NULL);
        _cleanup_free_ char *ut = steps_text(u, s1, h);
        TAP_CHECK_STR(ut, "0:remove web.a-g2 | 2:rename web.a-g1>web.a | 4:start web.a-g1");
        TAP_CHECK(u->generation == 2 && !u->finishes);

        /* the journal says the old one had not been running: it comes back stopped */
        PhJournal j = {.generation = 2};
        _cleanup_(pod_plan_freep) PhPlan *v = pod_plan_recover("web", h, &j);
        _cleanup_free_ char *vt = steps_text(v, s1, h);
        TAP_CHECK_STR(vt, "0:remove web.a-g2 | 2:rename web.a-g1>web.a");

        /* the journal says the update had passed: finish it */
        j.committed = true;
        _cleanup_(pod_plan_freep) PhPlan *w = pod_plan_recover("web", h, &j);
        _cleanup_free_ char *wt = steps_text(w, s1, h);
        TAP_CHECK_STR(wt, "0:remove web.a-g1");
        TAP_CHECK(w->finishes);

        /* without a journal, an old container being removed means the update had passed */
        free(h->items[0].state);
        h->items[0].state = xstrdup("removing");
        _cleanup_(pod_plan_freep) PhPlan *x = pod_plan_recover("web", h, NULL);
        _cleanup_free_ char *xt = steps_text(x, s1, h);
        TAP_CHECK_STR(xt, "0:remove web.a-g1");

        /* interrupted after the stop, before the rename: only the journal knows; it runs again */
        json_auto_t *l3 = summaries_of(s1, 1, "exited");
        _cleanup_(pod_observed_freep) PhObservedPod *h3 = observed(l3);
        char *ran[] = {(char *) "web.a-g1", NULL};
        PhJournal j3 = {.generation = 2, .was_running = ran};
        _cleanup_(pod_plan_freep) PhPlan *y = pod_plan_recover("web", h3, &j3);
        _cleanup_free_ char *yt = steps_text(y, s1, h3);
        TAP_CHECK_STR(yt, "4:start web.a-g1");

        /* a pod replacement interrupted after the new infra was made: the infra comes back before the apps */
        json_auto_t *l4 = summaries_of(s1, 1, "exited");
        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *nm = pod_aside_name("web", i < 3 ? s1->items[i].container : NULL, 2);
                _cleanup_free_ char *slash = xasprintf("/%s", nm);
                json_object_set_new(json_array_get(l4, i), "Names", json_pack("[s]", slash));
        }
        json_auto_t *l5 = summaries_of(s2, 2, "created");
        json_array_append(l4, json_array_get(l5, 3));
        _cleanup_(pod_observed_freep) PhObservedPod *h4 = observed(l4);
        _cleanup_(pod_plan_freep) PhPlan *z = pod_plan_recover("web", h4, NULL);
        _cleanup_free_ char *zt = steps_text(z, s1, h4);
        TAP_CHECK_STR(zt,
                      "1:remove web._infra-g2 | 2:rename web.a-g1>web.a | 2:rename web.b-g1>web.b | "
                      "2:rename web.c-g1>web.c | 2:rename web._infra-g1>web._infra | 3:start web._infra-g1 | "
                      "4:start web.a-g1 | 4:start web.b-g1 | 4:start web.c-g1");

        /* ... and after its apps were made too: they go first, then the new infra (Podman refuses to remove
         * an infra that apps joined); finished, the old apps go before the old infra */
        for (size_t i = 0; i < 3; i++)
                json_array_append(l4, json_array_get(l5, i));
        _cleanup_(pod_observed_freep) PhObservedPod *h5 = observed(l4);
        _cleanup_(pod_plan_freep) PhPlan *z2 = pod_plan_recover("web", h5, NULL);
        _cleanup_free_ char *z2t = steps_text(z2, s1, h5);
        TAP_CHECK_HAS(z2t,
                      "0:remove web.a-g2 | 0:remove web.b-g2 | 0:remove web.c-g2 | 1:remove web._infra-g2 | "
                      "2:rename web.a-g1>web.a");
        PhJournal jc = {.generation = 2, .committed = true};
        _cleanup_(pod_plan_freep) PhPlan *z3 = pod_plan_recover("web", h5, &jc);
        _cleanup_free_ char *z3t = steps_text(z3, s1, h5);
        TAP_CHECK_STR(z3t,
                      "0:remove web.a-g1 | 0:remove web.b-g1 | 0:remove web.c-g1 | 1:remove web._infra-g1");
}

/* Probes and hooks as podhook runs them: ports resolved, defaults filled, what messages call them. */
static void test_actions(void) {
        _cleanup_(pod_spec_freep) PhPodSpec *s =
                spec_of("version: v1beta2\n"
                        "containers:\n"
                        "  - name: a\n"
                        "    image: img/a:1\n"
                        "    ports: [{name: http, containerPort: 8080}]\n"
                        "    livenessProbe:\n"
                        "      httpGet: {path: '/health?token=abc', port: http}\n"
                        "      initialDelaySeconds: 5\n"
                        "    lifecycle:\n"
                        "      postStart: {httpGet: {host: 10.1.2.3, port: '81'}}\n"
                        "      preStop: {exec: {command: [/bin/drain, --password=hunter2]}}\n"
                        "  - name: b\n"
                        "    image: img/b:1\n"
                        "    livenessProbe: {tcpSocket: {port: 6379}, timeoutSeconds: 3}\n"
                        "  - name: c\n"
                        "    image: img/c:1\n",
                        NULL);
        const PhSpecContainer *a = &s->items[0], *b = &s->items[1], *c = &s->items[2];

        TAP_CHECK(a->liveness && a->liveness->action.kind == PH_HANDLER_HTTP_GET &&
                  a->liveness->action.port == 8080);
        TAP_CHECK(a->liveness && a->liveness->initial_delay == 5 && a->liveness->timeout == 1);
        /* no query string in messages (it may carry a token), the program only of an exec */
        TAP_CHECK_STR(a->liveness ? a->liveness->action.what : NULL, "livenessProbe httpGet :8080/health");
        TAP_CHECK_STR(a->liveness ? a->liveness->action.path : NULL, "/health?token=abc");
        TAP_CHECK(a->post_start && a->post_start->port == 81);
        TAP_CHECK_STR(a->post_start ? a->post_start->what : NULL, "lifecycle.postStart httpGet 10.1.2.3:81/");
        TAP_CHECK_STR(a->pre_stop ? a->pre_stop->what : NULL, "lifecycle.preStop exec /bin/drain");
        TAP_CHECK(b->liveness && b->liveness->action.kind == PH_HANDLER_TCP_SOCKET &&
                  b->liveness->timeout == 3);
        TAP_CHECK_STR(b->liveness ? b->liveness->action.what : NULL, "livenessProbe tcpSocket :6379");
        TAP_CHECK(!c->liveness && !c->post_start && !c->pre_stop && !pod_spec_infra(s)->liveness);
        /* kept as JSON for whoever stops the container, and read back the same */
        json_auto_t *j = pod_spec_action_to_json(a->pre_stop);
        _cleanup_(pod_spec_action_freep) PhSpecAction *back =
                pod_spec_action_from_json(j, "lifecycle.preStop");
        TAP_CHECK(back && back->kind == PH_HANDLER_EXEC && strv_length(back->command) == 2 &&
                  strcmp(back->command[1], "--password=hunter2") == 0);
        TAP_CHECK_STR(back ? back->what : NULL, "lifecycle.preStop exec /bin/drain");
        json_auto_t *h = pod_spec_action_to_json(a->post_start);
        _cleanup_(pod_spec_action_freep) PhSpecAction *hb = pod_spec_action_from_json(h, "x");
        TAP_CHECK(hb && hb->kind == PH_HANDLER_HTTP_GET && hb->port == 81 &&
                  strcmp(hb->host, "10.1.2.3") == 0);
        json_auto_t *bad = json_pack("{s:s, s:i}", "kind", "tcpSocket", "port", 0);
        TAP_CHECK(pod_spec_action_from_json(bad, "x") == NULL);
        json_auto_t *odd = json_pack("{s:s}", "kind", "sleep");
        TAP_CHECK(pod_spec_action_from_json(odd, "x") == NULL);
        /* a handler is part of the spec: a changed preStop is a change */
        TAP_CHECK(json_object_get(a->fields, "manifest.lifecycle") != NULL);
}

/* A field that holds a secret (a command's --password=..., a hook's exec with one, an env value with a
 * URL's password) is digested only through an HMAC under the node key: its label digest differs with
 * another key, and is none of the unkeyed hashes of its text. A field without one is the same for
 * every key. */
static void test_keyed_fields(void) {
        static const char yaml[] =
                "version: v1beta2\n"
                "containers:\n"
                "  - name: a\n"
                "    image: img/a:1\n"
                "    command: [/bin/app, --db-password=hunter2]\n"
                "    env: [{name: DB_URL, value: 'postgres://app:hunter2@db/x'}, {name: MODE, value: one}]\n"
                "    lifecycle: {preStop: {exec: {command: [/bin/drain, --token, s3cr3t-t0ken]}}}\n";
        Opts ka = {.key = key_a}, kb = {.key = key_b};
        _cleanup_(pod_spec_freep) PhPodSpec *sa = spec_of(yaml, &ka);
        _cleanup_(pod_spec_freep) PhPodSpec *sb = spec_of(yaml, &kb);
        const json_t *fa = sa->items[0].fields, *fb = sb->items[0].fields;
        static const char *const keyed[] = {"Cmd", "Env DB_URL", "manifest.lifecycle"};
        static const char *const plain[] = {"Env MODE", "Image", "HostConfig.Init"};

        for (size_t i = 0; i < ELEMENTSOF(keyed); i++) {
                printf("# %s\n", keyed[i]);
                TAP_CHECK(!json_equal(json_object_get(fa, keyed[i]), json_object_get(fb, keyed[i])));
        }
        for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
                printf("# %s\n", plain[i]);
                TAP_CHECK(json_equal(json_object_get(fa, plain[i]), json_object_get(fb, plain[i])));
        }
        /* the plain sha256 of the command as it would have been digested */
        _cleanup_free_ char *cmd = digest_sha256_hex("[\"/bin/app\",\"--db-password=hunter2\"]", 37);
        TAP_CHECK(strncmp(json_string_value(json_object_get(fa, "Cmd")), cmd + 7, 16) != 0);
        TAP_CHECK(strcmp(sa->items[0].hash, sb->items[0].hash) != 0);
}

static const char *log_opt(const PhSpecContainer *c, const char *key) {
        const json_t *lc = json_object_get(json_object_get(c->body, "HostConfig"), "LogConfig");

        return json_string_value(json_object_get(json_object_get(lc, "Config"), key));
}

/* Sizes as options give them. */
static void test_log_sizes(void) {
        static const struct {
                const char *in;
                int r;
                uint64_t want;
        } cases[] = {
                {"0", 0, 0},           {"1048576", 0, 1048576},
                {"10m", 0, 10485760},  {"10M", 0, 10485760},
                {"10mb", 0, 10485760}, {"512k", 0, 524288},
                {"1g", 0, 1073741824}, {"1024g", 0, 1ull << 40},
                {"1025g", -EINVAL, 0}, {"99999999999999999999999", -EINVAL, 0},
                {"", -EINVAL, 0},      {"m", -EINVAL, 0},
                {"-1", -EINVAL, 0},    {"1.5m", -EINVAL, 0},
                {"10 m", -EINVAL, 0},  {"10t", -EINVAL, 0},
                {"10mbb", -EINVAL, 0},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 12345;
                int r = pod_log_size_parse(cases[i].in, &v);
                printf("# log size '%s'\n", cases[i].in);
                TAP_CHECK(r == cases[i].r);
                TAP_CHECK(r < 0 ? v == 12345 : v == cases[i].want);
        }
}

/* Every container gets the log limits; an app's are its spec (the engine sets them only at the create),
 * the infra's are not (new limits must not replace a whole pod); 0 sends none. */
static void test_log_config(void) {
        static const char yaml[] = "version: v1beta2\n"
                                   "containers:\n"
                                   "  - {name: a, image: img/a:1}\n";
        Opts dflt = {0}, small = {.log_set = true, .log_max_size = 1024 * 1024, .log_max_file = 2};
        Opts off = {.log_set = true, .log_max_size = 0, .log_max_file = 3};
        Opts podman = {.podman = true};
        _cleanup_(pod_spec_freep) PhPodSpec *sd = spec_of(yaml, &dflt);
        _cleanup_(pod_spec_freep) PhPodSpec *ss = spec_of(yaml, &small);
        _cleanup_(pod_spec_freep) PhPodSpec *so = spec_of(yaml, &off);
        _cleanup_(pod_spec_freep) PhPodSpec *sp = spec_of(yaml, &podman);

        for (size_t i = 0; i < sd->n; i++) {
                const json_t *lc =
                        json_object_get(json_object_get(sd->items[i].body, "HostConfig"), "LogConfig");
                TAP_CHECK_STR(json_string_value(json_object_get(lc, "Type")), "json-file");
                TAP_CHECK_STR(log_opt(&sd->items[i], "max-size"), "10485760");
                TAP_CHECK_STR(log_opt(&sd->items[i], "max-file"), "3");
                TAP_CHECK_STR(log_opt(&ss->items[i], "max-size"), "1048576");
                TAP_CHECK_STR(log_opt(&ss->items[i], "max-file"), "2");
                TAP_CHECK(!json_object_get(json_object_get(so->items[i].body, "HostConfig"), "LogConfig"));
                /* Podman keeps one file: it gets the whole budget, and no max-file it would ignore */
                TAP_CHECK_STR(log_opt(&sp->items[i], "max-size"), "31457280");
                TAP_CHECK(!log_opt(&sp->items[i], "max-file"));
        }
        TAP_CHECK(strcmp(sd->items[0].hash, ss->items[0].hash) != 0);
        TAP_CHECK(strcmp(sd->items[0].hash, so->items[0].hash) != 0);
        TAP_CHECK(json_object_get(sd->items[0].fields, "HostConfig.LogConfig") != NULL);
        TAP_CHECK_STR(pod_spec_infra(sd)->hash, pod_spec_infra(ss)->hash);
        TAP_CHECK_STR(pod_spec_infra(sd)->hash, pod_spec_infra(so)->hash);
        TAP_CHECK(!json_object_get(pod_spec_infra(sd)->fields, "HostConfig.LogConfig"));

        /* a running pod of other limits: the app is replaced, and the plan says why */
        json_auto_t *list = summaries_of(ss, 1, "running");
        _cleanup_(pod_observed_freep) PhObservedPod *have = observed(list);
        _cleanup_(pod_plan_freep) PhPlan *p = pod_plan_update(sd, have, false);
        _cleanup_free_ char *text = items_text(p, sd, have);
        TAP_CHECK_STR(text, "web.a=replace(log limits) web._infra=keep");
}

int main(void) {
        test_log_sizes();
        test_log_config();
        test_labels();
        test_actions();
        test_keyed_fields();
        test_changes();
        test_steps();
        test_suspended();
        test_odd();
        test_recover();
        return tap_done();
}
