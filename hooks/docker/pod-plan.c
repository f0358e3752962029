#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "docker/pod-plan.h"

/* The waves of an update, in order. Steps of one wave run together. A removal of apps and their infra
 * is two waves, the apps first: Podman refuses, even forced, to remove a container whose network
 * others still join (docs/podman.md); Docker does not mind the order. */
enum {
        W_CLEAR,       /* containers the Engine is removing already: wait until they are gone */
        W_CLEAR_INFRA, /* ... an infra among them after its apps */
        W_ASIDE,       /* old containers renamed aside, still running: their names are free at once */
        /* old apps stopped before the infra so that they leave with their network; meanwhile their
         * successors are created when they join the infra in place (a create needs only the name) */
        W_STOP_APPS,
        W_STOP_INFRA,     /* the old infra: it holds the host ports the new one binds */
        W_TEARDOWN,       /* --recreate: the old apps removed */
        W_TEARDOWN_INFRA, /* --recreate: the old infra removed */
        W_CREATE_INFRA,   /* the new infra; restart policies restored */
        W_START_INFRA,    /* the infra started while the apps are created (they need its id only) */
        W_START_APPS,
        W_CHECK,
        W_COMMIT,
        W_REMOVE,       /* the old apps put aside */
        W_REMOVE_INFRA, /* the old infra put aside */
};

/* The waves of a recovery. */
enum {
        R_REMOVE,       /* undo: the interrupted update's new apps; finish: its old ones */
        R_REMOVE_INFRA, /* ... and then the infra among them */
        R_BACK,         /* old containers renamed back in place */
        R_START_INFRA,  /* ... and started as they were, the infra first */
        R_START_APPS,
        R_STOP, /* kept containers the update had started: stopped again */
};

/* --- observed ---------------------------------------------------------------------------------- */

static const char *label_of(const json_t *summary, const char *key) {
        return json_string_value(json_object_get(json_object_get(summary, "Labels"), key));
}

PhObservedPod *pod_observed_from_summaries(const char *pod, const json_t *summaries) {
        PhObservedPod *o = xcalloc(1, sizeof(PhObservedPod));
        size_t i;
        json_t *s;

        o->items = xcalloc(json_array_size(summaries) + 1, sizeof(PhObserved));
        json_array_foreach((json_t *) summaries, i, s) {
                const char *id = json_string_value(json_object_get(s, "Id"));
                const char *name = json_string_value(json_array_get(json_object_get(s, "Names"), 0));
                const char *role = label_of(s, POD_LABEL_ROLE), *gen = label_of(s, POD_LABEL_GENERATION);
                const char *fields = label_of(s, POD_LABEL_SPEC_FIELDS),
                           *state = json_string_value(json_object_get(s, "State"));
                const char *container = label_of(s, POD_LABEL_CONTAINER);
                bool infra = role && strcmp(role, "infra") == 0;
                if (!id || (!infra && !container))
                        continue; /* not a container of a pod as podhook makes them */
                PhObserved *c = &o->items[o->n++];
                c->id = xstrdup(id);
                if (name && name[0] == '/')
                        name++;
                c->name = xstrdup(name ? name : "");
                c->infra = infra;
                c->container = infra ? NULL : xstrdup(container);
                c->hash = label_of(s, POD_LABEL_SPEC_HASH) ? xstrdup(label_of(s, POD_LABEL_SPEC_HASH)) : NULL;
                c->fields = fields ? json_loads(fields, 0, NULL) : NULL;
                if (c->fields && !json_is_object(c->fields)) {
                        json_decref(c->fields);
                        c->fields = NULL;
                }
                c->generation = gen ? strtoul(gen, NULL, 10) : 0;
                c->aside = pod_aside_generation(pod, c->name);
                c->state = xstrdup(state ? state : "");
                c->exit_code = -1;
        }
        return o;
}

PhObservedPod *pod_observed_free(PhObservedPod *o) {
        if (!o)
                return NULL;
        for (size_t i = 0; i < o->n; i++) {
                PhObserved *c = &o->items[i];
                free(c->id);
                free(c->name);
                free(c->container);
                free(c->hash);
                json_decref(c->fields);
                free(c->state);
                free(c->restart_policy);
        }
        free(o->items);
        free(o);
        return NULL;
}

bool pod_observed_is_gone(const PhObserved *o) {
        return strcmp(o->state, "removing") == 0 || strcmp(o->state, "dead") == 0;
}

bool pod_observed_is_running(const PhObserved *o) {
        return strcmp(o->state, "running") == 0 || strcmp(o->state, "restarting") == 0 ||
               strcmp(o->state, "paused") == 0;
}

bool pod_observed_has_aside(const PhObservedPod *o) {
        for (size_t i = 0; i < o->n; i++)
                if (o->items[i].aside)
                        return true;
        return false;
}

/* --- building plans ---------------------------------------------------------------------------- */

static PhPlan *plan_new(size_t max_items) {
        PhPlan *p = xcalloc(1, sizeof(PhPlan));

        p->items = xcalloc(max_items + 1, sizeof(PhPlanItem));
        p->was_running = xcalloc(1, sizeof(char *));
        p->started = xcalloc(1, sizeof(char *));
        return p;
}

static void strv_push(char ***v, const char *s) {
        size_t n = strv_length(*v);

        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = xstrdup(s);
        (*v)[n + 1] = NULL;
}

static bool strv_has(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

static void step_add(PhPlan *p, PhStepOp op, unsigned wave, bool fresh, size_t index, const char *to) {
        p->steps = xrealloc(p->steps, (p->n_steps + 1) * sizeof(PhStep));
        p->steps[p->n_steps++] = (PhStep){
                .op = op,
                .wave = wave,
                .fresh = fresh,
                .index = index,
                .to = to ? xstrdup(to) : NULL,
        };
}

/* By wave, keeping the order steps were added in (the manifest's) within a wave. */
static void steps_sort(PhPlan *p) {
        for (size_t i = 1; i < p->n_steps; i++) {
                PhStep s = p->steps[i];
                size_t k = i;
                while (k > 0 && p->steps[k - 1].wave > s.wave) {
                        p->steps[k] = p->steps[k - 1];
                        k--;
                }
                p->steps[k] = s;
        }
}

/* The reasons why have differs from want: the fields whose digests differ, by their names in a plan. */
static char **reasons_of(const PhSpecContainer *want, const PhObserved *have, const char *pod) {
        char **r = xcalloc(1, sizeof(char *));
        const char *key;
        json_t *v;

        if (have->hash && strcmp(have->hash, want->hash) == 0) {
                _cleanup_free_ char *name = pod_container_name(pod, want->container);
                if (strcmp(have->name, name) != 0)
                        strv_push(&r, "name");
                return r;
        }
        if (!have->fields) {
                strv_push(&r, "spec hash (made by an older podhook)");
                return r;
        }
        json_object_foreach(want->fields, key, v) {
                json_t *old = json_object_get(have->fields, key);
                if (!old || !json_equal(old, v)) {
                        _cleanup_free_ char *why = pod_spec_field_reason(key);
                        if (!strv_has(r, why))
                                strv_push(&r, why);
                }
        }
        json_object_foreach(have->fields, key, v) {
                if (json_object_get(want->fields, key))
                        continue;
                _cleanup_free_ char *why = pod_spec_field_reason(key);
                if (!strv_has(r, why))
                        strv_push(&r, why);
        }
        if (!r[0])
                strv_push(&r, "spec hash");
        return r;
}

/* An unchanged container that does not run although it should: one meant to keep running, one never
 * started (an interrupted create), or a run-once container that was stopped (SIGTERM/SIGKILL, e.g. by
 * SUSPEND) rather than finished. */
static bool needs_start(const PhSpecContainer *want, const PhObserved *have) {
        if (pod_observed_is_running(have))
                return false;
        if (strcmp(have->state, "created") == 0 || want->keeps_running)
                return true;
        return strcmp(have->state, "exited") == 0 && (have->exit_code == 137 || have->exit_code == 143);
}

/* The restart policy the spec wants, for comparison with an inspect's. */
static const char *want_policy(const PhSpecContainer *want) {
        return json_string_value(json_object_get(
                json_object_get(json_object_get(want->body, "HostConfig"), "RestartPolicy"), "Name"));
}

/* The observed container for spec item c: the one in place by name, else any of that container. */
static ssize_t match(const PhPodSpec *want, const PhSpecContainer *c, const PhObservedPod *have,
                     bool *taken) {
        _cleanup_free_ char *name = pod_container_name(want->pod, c->container);
        ssize_t any = -1;

        for (size_t i = 0; i < have->n; i++) {
                const PhObserved *o = &have->items[i];
                if (taken[i] || o->aside || pod_observed_is_gone(o) || o->infra != !c->container)
                        continue;
                if (c->container && strcmp(o->container, c->container) != 0)
                        continue;
                if (strcmp(o->name, name) == 0)
                        return (ssize_t) i;
                if (any < 0)
                        any = (ssize_t) i;
        }
        return any;
}

static void reasons_prepend(char ***r, const char *why) {
        size_t n = strv_length(*r);

        *r = xrealloc(*r, (n + 2) * sizeof(char *));
        memmove(*r + 1, *r, (n + 1) * sizeof(char *));
        (*r)[0] = xstrdup(why);
}

PhPlan *pod_plan_update(const PhPodSpec *want, const PhObservedPod *have, bool recreate) {
        PhPlan *p = plan_new(want->n + have->n);
        _cleanup_free_ bool *taken = xcalloc(have->n + 1, sizeof(bool));
        size_t n_apps = want->n - 1;
        PhPlanItem *infra;
        unsigned long gmax = 0;

        p->recreate = recreate;
        for (size_t i = 0; i < have->n; i++)
                if (have->items[i].generation > gmax)
                        gmax = have->items[i].generation;
        p->generation = gmax + 1;

        /* What each container of the spec is to the observed pod; the infra last. */
        for (size_t k = 0; k < want->n; k++) {
                const PhSpecContainer *c = &want->items[k];
                PhPlanItem *it = &p->items[p->n_items++];
                ssize_t h = match(want, c, have, taken);
                it->want = (ssize_t) k;
                it->have = h;
                if (h < 0) {
                        it->action = PH_PLAN_ADD;
                        it->reasons = xcalloc(1, sizeof(char *));
                        continue;
                }
                taken[h] = true;
                it->reasons = reasons_of(c, &have->items[h], want->pod);
                if (it->reasons[0])
                        it->action = PH_PLAN_REPLACE;
                else
                        it->action = needs_start(c, &have->items[h]) ? PH_PLAN_START : PH_PLAN_KEEP;
        }
        /* Keep the infra item last: removals go between the apps and it. */
        PhPlanItem infra_item = p->items[--p->n_items];
        for (size_t i = 0; i < have->n; i++) {
                const PhObserved *o = &have->items[i];
                if (taken[i] || o->aside || pod_observed_is_gone(o))
                        continue;
                PhPlanItem *it = &p->items[p->n_items++];
                bool known = false;
                for (size_t k = 0; k < n_apps && !known; k++)
                        known = o->container && strcmp(want->items[k].container, o->container) == 0;
                *it = (PhPlanItem){.action = PH_PLAN_REMOVE, .want = -1, .have = (ssize_t) i};
                it->reasons = xcalloc(2, sizeof(char *));
                it->reasons[0] = xstrdup(known || o->infra ? "a second container for the same name"
                                                           : "not in the manifest");
        }
        p->items[p->n_items++] = infra_item;
        infra = &p->items[p->n_items - 1];

        /* The apps live in the infra's network namespace: a new infra means a new pod. An infra that
         * only starts again gives the apps a new namespace too, so they are restarted after it. */
        bool any_app = false;
        for (size_t i = 0; i < p->n_items; i++)
                any_app = any_app || (&p->items[i] != infra && p->items[i].have >= 0);
        p->pod_replace =
                recreate || infra->action == PH_PLAN_REPLACE || (infra->action == PH_PLAN_ADD && any_app);
        for (size_t i = 0; i + 1 < p->n_items; i++) {
                PhPlanItem *it = &p->items[i];
                if (it->action == PH_PLAN_REMOVE || it->action == PH_PLAN_ADD)
                        continue;
                if (p->pod_replace) {
                        if (it->action != PH_PLAN_REPLACE)
                                it->action = PH_PLAN_REPLACE;
                        reasons_prepend(&it->reasons, recreate ? "--recreate" : "the pod is replaced");
                } else if (infra->action == PH_PLAN_START && it->action == PH_PLAN_KEEP &&
                           pod_observed_is_running(&have->items[it->have])) {
                        it->action = PH_PLAN_START;
                        reasons_prepend(&it->reasons, "the infra container starts again");
                }
        }
        if (recreate && infra->action != PH_PLAN_ADD) {
                infra->action = PH_PLAN_REPLACE;
                reasons_prepend(&infra->reasons, "--recreate");
        }

        /* Steps. */
        for (size_t i = 0; i < have->n; i++)
                if (pod_observed_is_gone(&have->items[i]) && !have->items[i].aside)
                        step_add(p, PH_STEP_REMOVE, have->items[i].infra ? W_CLEAR_INFRA : W_CLEAR, false, i,
                                 NULL);
        bool any = false;
        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                bool is_infra = it == infra;
                size_t h = (size_t) it->have, w = (size_t) it->want;
                const PhObserved *o = it->have >= 0 ? &have->items[h] : NULL;

                if (it->action == PH_PLAN_KEEP)
                        continue;
                any = true;
                if (it->action == PH_PLAN_REPLACE || it->action == PH_PLAN_REMOVE) {
                        step_add(p, PH_STEP_STOP, is_infra ? W_STOP_INFRA : W_STOP_APPS, false, h, NULL);
                        if (pod_observed_is_running(o))
                                strv_push(&p->was_running, o->id);
                        if (recreate)
                                step_add(p, PH_STEP_REMOVE, o->infra ? W_TEARDOWN_INFRA : W_TEARDOWN, false,
                                         h, NULL);
                        else {
                                _cleanup_free_ char *aside =
                                        pod_aside_name(want->pod, o->container, p->generation);
                                step_add(p, PH_STEP_RENAME, W_ASIDE, false, h, aside);
                                step_add(p, PH_STEP_REMOVE, o->infra ? W_REMOVE_INFRA : W_REMOVE, false, h,
                                         NULL);
                        }
                }
                if (it->action == PH_PLAN_REPLACE || it->action == PH_PLAN_ADD) {
                        /* An app that joins the infra in place is created while the old one stops
                         * (its name is free once it is put aside); one that joins a new infra waits for
                         * that one, which is made only once the old pod has stopped. */
                        unsigned create = is_infra                                           ? W_CREATE_INFRA
                                          : !recreate && !p->pod_replace && infra->have >= 0 ? W_STOP_APPS
                                                                                             : W_START_INFRA;
                        step_add(p, PH_STEP_CREATE, create, true, w, NULL);
                        step_add(p, PH_STEP_START, is_infra ? W_START_INFRA : W_START_APPS, true, w, NULL);
                        step_add(p, PH_STEP_CHECK, W_CHECK, true, w, NULL);
                }
                if (it->action == PH_PLAN_START) {
                        if (pod_observed_is_running(o)) {
                                /* restarted for the infra's new network namespace */
                                step_add(p, PH_STEP_STOP, W_STOP_APPS, false, h, NULL);
                                strv_push(&p->was_running, o->id);
                        } else
                                strv_push(&p->started, o->id);
                        const char *policy = want_policy(&want->items[w]);
                        if (o->restart_policy && policy && strcmp(o->restart_policy, policy) != 0)
                                step_add(p, PH_STEP_UPDATE, W_CREATE_INFRA, false, h, NULL);
                        step_add(p, PH_STEP_START, is_infra ? W_START_INFRA : W_START_APPS, false, h, NULL);
                        step_add(p, PH_STEP_CHECK, W_CHECK, false, h, NULL);
                }
        }
        if (any)
                step_add(p, PH_STEP_COMMIT, W_COMMIT, false, 0, NULL);
        steps_sort(p);
        return p;
}

PhPlan *pod_plan_recover(const char *pod, const PhObservedPod *have, const PhJournal *j) {
        PhPlan *p = plan_new(0);
        unsigned long g = j ? j->generation : 0;
        bool committed = j && j->committed;

        p->recovery = true;
        for (size_t i = 0; i < have->n; i++) {
                const PhObserved *o = &have->items[i];
                if (!o->aside)
                        continue;
                if (!j && o->aside > g)
                        g = o->aside;
                /* Old containers are removed only once the update has passed. */
                if (pod_observed_is_gone(o))
                        committed = true;
        }
        if (!j && g == 0)
                return p;
        p->generation = g;
        p->finishes = committed;
        if (committed) {
                for (size_t i = 0; i < have->n; i++)
                        if (have->items[i].aside)
                                step_add(p, PH_STEP_REMOVE, have->items[i].infra ? R_REMOVE_INFRA : R_REMOVE,
                                         false, i, NULL);
                steps_sort(p);
                return p;
        }
        for (size_t i = 0; i < have->n; i++) {
                const PhObserved *o = &have->items[i];
                bool back = o->aside && !pod_observed_is_gone(o);
                bool ran = j ? strv_has(j->was_running, o->id)
                             : back && (!o->restart_policy || strcmp(o->restart_policy, "no") != 0);

                if (!o->aside && o->generation == g) {
                        step_add(p, PH_STEP_REMOVE, o->infra ? R_REMOVE_INFRA : R_REMOVE, false, i, NULL);
                        continue;
                }
                if (back) {
                        _cleanup_free_ char *name = pod_container_name(pod, o->container);
                        step_add(p, PH_STEP_RENAME, R_BACK, false, i, name);
                }
                if (ran && !pod_observed_is_gone(o) && (back || !pod_observed_is_running(o)))
                        step_add(p, PH_STEP_START, o->infra ? R_START_INFRA : R_START_APPS, false, i, NULL);
                if (j && strv_has(j->started, o->id) && pod_observed_is_running(o))
                        step_add(p, PH_STEP_STOP, R_STOP, false, i, NULL);
        }
        steps_sort(p);
        return p;
}

bool pod_plan_creates_infra(const PhPlan *p) {
        const PhPlanItem *infra = p->n_items > 0 ? &p->items[p->n_items - 1] : NULL;

        return !p->recovery && infra && (infra->action == PH_PLAN_ADD || infra->action == PH_PLAN_REPLACE);
}

PhPlan *pod_plan_free(PhPlan *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_items; i++)
                strv_free(p->items[i].reasons);
        for (size_t i = 0; i < p->n_steps; i++)
                free(p->steps[i].to);
        free(p->items);
        free(p->steps);
        strv_free(p->was_running);
        strv_free(p->started);
        free(p);
        return NULL;
}

/* --- describing plans -------------------------------------------------------------------------- */

const char *pod_plan_action_name(PhPlanAction a) {
        switch (a) {
        case PH_PLAN_KEEP:
                return "keep";
        case PH_PLAN_START:
                return "start";
        case PH_PLAN_REPLACE:
                return "replace";
        case PH_PLAN_ADD:
                return "add";
        case PH_PLAN_REMOVE:
        default:
                return "remove";
        }
}

static const char *action_done(PhPlanAction a) {
        switch (a) {
        case PH_PLAN_KEEP:
                return "kept";
        case PH_PLAN_START:
                return "started";
        case PH_PLAN_REPLACE:
                return "replaced";
        case PH_PLAN_ADD:
                return "added";
        case PH_PLAN_REMOVE:
        default:
                return "removed";
        }
}

const char *pod_plan_item_name(const PhPlan *p, const PhPlanItem *it, const PhPodSpec *want,
                               const PhObservedPod *have) {
        (void) p;
        if (it->want >= 0)
                return want->items[it->want].name;
        return have->items[it->have].name;
}

json_t *pod_plan_to_json(const PhPlan *p, const PhPodSpec *want, const PhObservedPod *have) {
        json_t *out = json_object(), *list = json_array();

        json_object_set_new(out, "pod", json_string(want->pod));
        json_object_set_new(out, "nothing_to_do", json_boolean(pod_plan_is_empty(p)));
        json_object_set_new(out, "pod_replaced", json_boolean(p->pod_replace));
        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                const char *container =
                        it->want >= 0 ? want->items[it->want].container : have->items[it->have].container;
                json_t *reasons = json_array();
                for (char **r = it->reasons; r && *r; r++)
                        json_array_append_new(reasons, json_string(*r));
                json_array_append_new(list, json_pack("{s:s?, s:s, s:s, s:o}", "container", container, "name",
                                                      pod_plan_item_name(p, it, want, have), "action",
                                                      pod_plan_action_name(it->action), "reasons", reasons));
        }
        json_object_set_new(out, "containers", list);
        return out;
}

char *pod_plan_summary(const PhPlan *p, const PhPodSpec *want, const PhObservedPod *have, bool done) {
        _cleanup_free_ char *text = xasprintf("pod %s:", want->pod);

        if (pod_plan_is_empty(p)) {
                char *s = xasprintf("%s nothing changed, nothing touched", text);
                return s;
        }
        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                _cleanup_free_ char *why = NULL;
                for (char **r = it->reasons; r && *r; r++) {
                        char *w = why ? xasprintf("%s, %s", why, *r) : xstrdup(*r);
                        free(why);
                        why = w;
                }
                char *t = xasprintf("%s%s %s %s%s%s%s", text, i ? "," : "",
                                    pod_plan_item_name(p, it, want, have),
                                    done ? action_done(it->action) : pod_plan_action_name(it->action),
                                    why ? " (" : "", why ? why : "", why ? ")" : "");
                free(text);
                text = t;
        }
        return TAKE_PTR(text);
}
