/* The kubelet's /pods answer read for one static pod: the decision (pure, table-tested), then the poller. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "kubelet/convert.h"
#include "kubelet/kubelet-status.h"

/* Waiting reasons after which the kubelet only retries what already failed: the pod will not come up by
 * itself (pkg/kubelet/images and kuberuntime's reasons). */
static const char *const fatal_waiting[] = {
        "CrashLoopBackOff",     "ErrImagePull",      "ImagePullBackOff",
        "ErrImageNeverPull",    "InvalidImageName",  "CreateContainerConfigError",
        "CreateContainerError", "RunContainerError",
};

/* At most this long per request, so a silent kubelet is asked again (and the deadline kept). */
#define REQUEST_TIMEOUT_MS 10000L
/* A PodList of a busy node is large; a kubelet answering more is not one we understand. */
#define ANSWER_MAX (32u * 1024u * 1024u)

void kubelet_verdict_done(PhKubeletVerdict *v) {
        free(v->reason);
        json_decref(v->pod);
        *v = (PhKubeletVerdict){};
}

const char *kubelet_state_to_string(PhKubeletState s) {
        switch (s) {
        case KUBELET_POD_ABSENT:
                return "absent";
        case KUBELET_POD_PENDING:
                return "pending";
        case KUBELET_POD_READY:
                return "ready";
        case KUBELET_POD_SUCCEEDED:
                return "succeeded";
        case KUBELET_POD_FAILED:
        default:
                return "failed";
        }
}

static const char *str_at(const json_t *v, const char *a, const char *b) {
        const json_t *x = json_object_get(v, a);
        return json_string_value(b ? json_object_get(x, b) : x);
}

static bool is_fatal_waiting(const char *reason) {
        for (size_t i = 0; reason && i < ELEMENTSOF(fatal_waiting); i++)
                if (strcmp(reason, fatal_waiting[i]) == 0)
                        return true;
        return false;
}

/* ": message" when there is one, for the end of a reason line; newlines become spaces. */
static char *tail_of(const char *message) {
        if (!message || !*message)
                return xstrdup("");
        char *s = xasprintf(": %s", message);
        for (char *p = s; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return s;
}

static void set(PhKubeletVerdict *v, PhKubeletState state, char *reason) {
        free(v->reason);
        v->state = state;
        v->reason = reason;
}

/* The matching Pod: ours by annotation, of this hash when there is one (*ret_old: one of another hash). */
static const json_t *find_pod(const json_t *items, const char *pod, const char *name, const char *hash,
                              const json_t **ret_old) {
        size_t i, n = strlen(name);
        const json_t *item;

        *ret_old = NULL;
        json_array_foreach(items, i, item) {
                const json_t *ann = json_object_get(json_object_get(item, "metadata"), "annotations");
                const char *owner = json_string_value(json_object_get(ann, KUBELET_KEY_POD));
                const char *mname = str_at(item, "metadata", "name");
                const char *h = json_string_value(json_object_get(ann, KUBELET_KEY_SPEC_HASH));
                if (!owner || strcmp(owner, pod) != 0 || !mname)
                        continue;
                /* The kubelet names a static pod "<name>-<node name>"; a mirror pod keeps that name. */
                if (strcmp(mname, name) != 0 && !(strncmp(mname, name, n) == 0 && mname[n] == '-'))
                        continue;
                if (h && strcmp(h, hash) == 0)
                        return item;
                *ret_old = item;
        }
        return NULL;
}

/* The first reason a container gives for not being ready, or NULL. */
static char *container_wait_reason(const json_t *cs) {
        const char *cname = str_at(cs, "name", NULL);
        const json_t *state = json_object_get(cs, "state");
        const char *w = str_at(state, "waiting", "reason");

        if (json_object_get(state, "waiting"))
                return xasprintf("container %s is waiting: %s", cname ? cname : "?", w ? w : "(no reason)");
        if (json_object_get(state, "running") && !json_is_true(json_object_get(cs, "ready")))
                return xasprintf("container %s is running, not ready", cname ? cname : "?");
        if (json_object_get(state, "terminated"))
                return xasprintf("container %s terminated (exit code %lld)", cname ? cname : "?",
                                 (long long) json_integer_value(
                                         json_object_get(json_object_get(state, "terminated"), "exitCode")));
        return NULL;
}

void kubelet_status_decide(const json_t *podlist, const char *pod, const char *name, const char *hash,
                           PhKubeletVerdict *ret) {
        const json_t *items = json_object_get(podlist, "items"), *old = NULL, *found, *cs;
        PhKubeletVerdict v = {};
        size_t i;

        *ret = (PhKubeletVerdict){};
        if (!json_is_array(items) && !json_is_null(items)) {
                set(ret, KUBELET_POD_ABSENT, xstrdup("the kubelet's answer is not a PodList (no items)"));
                return;
        }
        found = find_pod(items, pod, name, hash, &old);
        if (!found) {
                if (old)
                        set(ret, KUBELET_POD_PENDING,
                            xasprintf("the kubelet still runs the previous version of pod %s (spec hash %s)",
                                      name,
                                      str_at(json_object_get(old, "metadata"), "annotations",
                                             KUBELET_KEY_SPEC_HASH)));
                else
                        set(ret, KUBELET_POD_ABSENT,
                            xasprintf("the kubelet does not run pod %s (yet): it has not read the file",
                                      name));
                return;
        }
        v.pod = json_incref((json_t *) found);
        const json_t *status = json_object_get(found, "status");
        const char *phase = str_at(status, "phase", NULL);
        const char *policy = str_at(found, "spec", "restartPolicy");
        const json_t *statuses = json_object_get(status, "containerStatuses");
        size_t n_containers = json_array_size(json_object_get(json_object_get(found, "spec"), "containers"));
        bool always = !policy || strcmp(policy, "Always") == 0;
        bool all_ready = json_array_size(statuses) == n_containers && n_containers > 0;
        char *pending = NULL;

        v.images_pulled = all_ready;
        json_array_foreach(statuses, i, cs) {
                const char *image_id = str_at(cs, "imageID", NULL);
                if (!image_id || !*image_id)
                        v.images_pulled = false;
        }
        if (phase && strcmp(phase, "Failed") == 0) {
                _cleanup_free_ char *why = tail_of(str_at(status, "message", NULL));
                const char *r = str_at(status, "reason", NULL);
                set(&v, KUBELET_POD_FAILED,
                    xasprintf("pod %s failed%s%s%s", name, r ? ": " : "", r ? r : "", why));
                *ret = v;
                return;
        }
        json_array_foreach(statuses, i, cs) {
                const char *cname = str_at(cs, "name", NULL);
                const json_t *state = json_object_get(cs, "state");
                const char *w = str_at(state, "waiting", "reason");
                const json_t *term = json_object_get(state, "terminated");
                if (!cname)
                        cname = "?";
                if (is_fatal_waiting(w)) {
                        _cleanup_free_ char *why = tail_of(str_at(state, "waiting", "message"));
                        const json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
                        _cleanup_free_ char *exited =
                                last ? xasprintf(" (last exit code %lld, %lld restart(s))",
                                                 (long long) json_integer_value(
                                                         json_object_get(last, "exitCode")),
                                                 (long long) json_integer_value(
                                                         json_object_get(cs, "restartCount")))
                                     : xstrdup("");
                        set(&v, KUBELET_POD_FAILED, xasprintf("container %s: %s%s%s", cname, w, exited, why));
                        free(pending);
                        *ret = v;
                        return;
                }
                if (term && always) {
                        const char *r = str_at(term, "reason", NULL);
                        set(&v, KUBELET_POD_FAILED,
                            xasprintf("container %s terminated (exit code %lld%s%s) in a pod that restarts "
                                      "always",
                                      cname,
                                      (long long) json_integer_value(json_object_get(term, "exitCode")),
                                      r ? ", " : "", r ? r : ""));
                        free(pending);
                        *ret = v;
                        return;
                }
                if (!json_is_true(json_object_get(cs, "ready")) || !json_object_get(state, "running"))
                        all_ready = false;
                if (!pending)
                        pending = container_wait_reason(cs);
        }
        if (phase && strcmp(phase, "Succeeded") == 0)
                set(&v, KUBELET_POD_SUCCEEDED,
                    xasprintf("pod %s succeeded: every container completed", name));
        else if (phase && strcmp(phase, "Running") == 0 && all_ready)
                set(&v, KUBELET_POD_READY,
                    xasprintf("pod %s is running: %zu container(s) ready", name, n_containers));
        else if (pending)
                set(&v, KUBELET_POD_PENDING,
                    xasprintf("pod %s is %s: %s", name, phase ? phase : "without a phase", pending));
        else
                set(&v, KUBELET_POD_PENDING,
                    xasprintf("pod %s is %s: %zu of %zu container status(es)", name,
                              phase ? phase : "without a phase", json_array_size(statuses), n_containers));
        free(pending);
        *ret = v;
}

/* --- the poller ---------------------------------------------------------------------------------- */

json_t *kubelet_status_brief(const json_t *status) {
        static const char *const states[] = {"waiting", "running", "terminated"};
        json_t *containers = json_array();
        const json_t *cs;
        size_t i;

        json_array_foreach(json_object_get(status, "containerStatuses"), i, cs) {
                const json_t *st = json_object_get(cs, "state");
                json_t *c = json_pack("{s:O?, s:n, s:b, s:I}", "name", json_object_get(cs, "name"), "state",
                                      "ready", json_is_true(json_object_get(cs, "ready")), "restarts",
                                      json_integer_value(json_object_get(cs, "restartCount")));
                for (size_t k = 0; k < ELEMENTSOF(states); k++) {
                        const json_t *one = json_object_get(st, states[k]);
                        if (!json_is_object(one))
                                continue;
                        json_object_set_new(c, "state", json_string(states[k]));
                        if (json_is_string(json_object_get(one, "reason")))
                                json_object_set(c, "reason", json_object_get(one, "reason"));
                        if (json_is_integer(json_object_get(one, "exitCode")))
                                json_object_set(c, "exit_code", json_object_get(one, "exitCode"));
                        break;
                }
                json_array_append_new(containers, c);
        }
        const json_t *phase = json_object_get(status, "phase");
        return json_pack("{s:O?, s:o}", "phase", json_is_string(phase) ? phase : NULL, "containers",
                         containers);
}

static long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long) ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits ms, or until cancelled: -ECANCELED then. */
static int pause_ms(const PhHttpCancel *c, long ms, PhError **reterr) {
        long end = now_ms() + ms;

        for (long left = ms; left > 0; left = end - now_ms()) {
                struct pollfd p = {.fd = c ? c->fd : -1, .events = POLLIN};
                int n = poll(&p, 1, (int) left);
                if (n < 0 && errno != EINTR)
                        return ph_error_set(reterr, errno, "poll: %s", strerror(errno));
                if (n > 0 && (p.revents & POLLIN) && (!c->cancelled || c->cancelled(c->userdata)))
                        return ph_error_set(reterr, ECANCELED, "waiting for the kubelet: cancelled");
        }
        return 0;
}

/* One GET of the kubelet's /pods: the PodList (new ref), or -errno with the reason. */
static int get_pods(const PhKubeletWatch *w, const char *url, long timeout_ms, json_t **ret,
                    PhError **reterr) {
        PhHttpRequest req = {
                .url = url,
                .timeout_ms = timeout_ms,
                .connect_timeout_ms = timeout_ms,
                .max_body = ANSWER_MAX,
                .ca_file = w->ca_file,
                .cert_file = w->cert_file,
                .key_file = w->key_file,
                .cancel = w->cancel,
                .headers = (const char *const[]){"Accept: application/json", NULL},
        };
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_free_ char *where = http_url_redact(url);
        json_error_t jerr;
        int r;

        r = http_request(&req, &resp, reterr);
        if (r < 0)
                return r;
        if (resp.status != 200)
                return ph_error_set(reterr, EIO, "GET %s: HTTP %ld", where, resp.status);
        json_t *v = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &jerr);
        if (!json_is_object(v)) {
                json_decref(v);
                return ph_error_set(reterr, EIO, "GET %s: the answer is not a JSON object (line %d: %s)",
                                    where, jerr.line, v ? "not an object" : jerr.text);
        }
        *ret = v;
        return 0;
}

int kubelet_watch(const PhKubeletWatch *w, const char *pod, const char *name, const char *hash,
                  PhKubeletVerdict *ret, PhError **reterr) {
        const char *url = w->url ? w->url : KUBELET_URL_DEFAULT;
        long images = w->images_timeout_ms > 0 ? w->images_timeout_ms : KUBELET_IMAGES_TIMEOUT_DEFAULT_MS;
        long containers = w->containers_timeout_ms > 0 ? w->containers_timeout_ms
                                                       : KUBELET_CONTAINERS_TIMEOUT_DEFAULT_MS;
        long period = w->poll_period_ms > 0 ? w->poll_period_ms : KUBELET_POLL_PERIOD_DEFAULT_MS;
        long start = now_ms(), deadline = start + images;
        bool pulled = false;
        PhKubeletVerdict last = {};
        _cleanup_error_ PhError *last_err = NULL;
        _cleanup_free_ char *where = http_url_redact(url);
        int r;

        *ret = (PhKubeletVerdict){};
        for (;;) {
                long left = deadline - now_ms();
                json_auto_t *list = NULL;
                _cleanup_error_ PhError *err = NULL;

                r = get_pods(w, url, left < REQUEST_TIMEOUT_MS ? (left > 0 ? left : 1) : REQUEST_TIMEOUT_MS,
                             &list, &err);
                if (r == -ECANCELED) {
                        kubelet_verdict_done(&last);
                        if (reterr)
                                *reterr = TAKE_PTR(err);
                        return r;
                }
                if (r < 0) {
                        ph_error_free(last_err);
                        last_err = TAKE_PTR(err);
                } else {
                        PhKubeletVerdict v;
                        kubelet_status_decide(list, pod, name, hash, &v);
                        ph_error_free(TAKE_PTR(last_err));
                        if (v.state == KUBELET_POD_READY || v.state == KUBELET_POD_SUCCEEDED ||
                            v.state == KUBELET_POD_FAILED) {
                                kubelet_verdict_done(&last);
                                *ret = v;
                                return 0;
                        }
                        /* The images are there: from now on the containers have their own time. */
                        if (v.images_pulled && !pulled) {
                                pulled = true;
                                deadline = now_ms() + containers;
                        }
                        if (!v.pod && last.pod) /* keep the last status seen for the result */
                                v.pod = json_incref(last.pod);
                        kubelet_verdict_done(&last);
                        last = v;
                }
                left = deadline - now_ms();
                if (left <= 0)
                        break;
                r = pause_ms(w->cancel, left < period ? left : period, reterr);
                if (r < 0) {
                        kubelet_verdict_done(&last);
                        return r;
                }
        }
        long secs = ((pulled ? containers : images) + 999) / 1000;
        char *reason;
        if (last_err)
                reason = xasprintf("the kubelet at %s did not answer in time (%ld s): %s", where, secs,
                                   ph_error_msg(last_err));
        else if (!pulled)
                reason = xasprintf("the images of pod %s were not there within images_timeout (%ld s): %s",
                                   name, secs, last.reason ? last.reason : "no answer");
        else
                reason = xasprintf("pod %s was not ready within containers_timeout (%ld s): %s", name, secs,
                                   last.reason ? last.reason : "no answer");
        free(last.reason);
        last.reason = reason;
        last.state = KUBELET_POD_FAILED;
        *ret = last;
        return 0;
}
