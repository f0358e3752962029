/* One delivery attempt per call; the outbox in the agent core keeps and retries. Every HTTP status
 * is judged here (heat-config-notify ignored them all: B3), and the body is trimmed for every
 * transport, missing keys included (B1). */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/http.h"
#include "openstack/keystone.h"
#include "openstack/zaqar.h"
#include "signal/signal.h"

static const char *input_string(const json_t *inputs, const char *name) {
        const char *v = json_string_value(json_object_get(inputs, name));
        return v && *v ? v : NULL;
}

PhSignalKind signal_kind(const json_t *inputs) {
        if (input_string(inputs, "deploy_signal_id")) {
                const char *verb = input_string(inputs, "deploy_signal_verb");
                return verb && strcmp(verb, "PUT") == 0 ? PH_SIGNAL_TEMP_URL : PH_SIGNAL_CFN;
        }
        if (input_string(inputs, "deploy_queue_id"))
                return PH_SIGNAL_ZAQAR;
        if (input_string(inputs, "deploy_auth_url"))
                return PH_SIGNAL_HEAT;
        return PH_SIGNAL_NONE;
}

const char *signal_kind_to_string(PhSignalKind k) {
        switch (k) {
        case PH_SIGNAL_NONE:
                return "NO_SIGNAL";
        case PH_SIGNAL_CFN:
                return "CFN_SIGNAL";
        case PH_SIGNAL_TEMP_URL:
                return "TEMP_URL_SIGNAL";
        case PH_SIGNAL_HEAT:
                return "HEAT_SIGNAL";
        case PH_SIGNAL_ZAQAR:
                return "ZAQAR_SIGNAL";
        }
        return "UNKNOWN_SIGNAL";
}

static size_t dumped_len(const json_t *v) {
        return json_dumpb(v, NULL, 0, JSON_COMPACT);
}

/* How many bytes byte c of a string takes in jansson's output without JSON_ENSURE_ASCII (a newline
 * 2, a quote 2, another control character 6): sizes are counted in output bytes, so that escaped
 * text is not cut several times over. */
static size_t escaped_size(unsigned char c) {
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
                return 2;
        return c < 0x20 ? 6 : 1;
}

static size_t escaped_len(const json_t *v) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v), n = 0;

        for (size_t i = 0; s && i < len; i++)
                n += escaped_size((unsigned char) s[i]);
        return n;
}

/* Drops the shortest front of key's string value that takes at least n output bytes (moving forward
 * to a UTF-8 character start). */
static void cut_front(json_t *obj, const char *key, size_t n) {
        json_t *v = json_object_get(obj, key); /* borrowed */
        const char *s = json_string_value(v);
        size_t len = json_string_length(v), i = 0;

        if (!s || n == 0)
                return;
        for (size_t removed = 0; i < len && removed < n; i++)
                removed += escaped_size((unsigned char) s[i]);
        while (i < len && ((unsigned char) s[i] & 0xC0) == 0x80)
                i++;
        json_object_set_new(obj, key, json_stringn(s + i, len - i));
}

json_t *signal_trim(const json_t *data, size_t max) {
        json_t *copy = json_deep_copy(data);

        if (!copy)
                abort();
        if (!json_is_object(copy))
                return copy;
        /* Each cut removes at least the output bytes asked for, so one round normally does; the loop
         * only mops up rounding. */
        for (int round = 0; round < 16; round++) {
                size_t len = dumped_len(copy);
                if (len <= max)
                        break;
                size_t over = len - max;
                size_t a = escaped_len(json_object_get(copy, "deploy_stdout"));
                size_t b = escaped_len(json_object_get(copy, "deploy_stderr"));
                if (a + b == 0)
                        break; /* nothing left to cut: the caller sees it is still too big */
                size_t cut_a = (size_t) ((double) over * (double) a / (double) (a + b) + 0.5);
                if (cut_a > a)
                        cut_a = a;
                size_t cut_b = over - cut_a < b ? over - cut_a : b;
                if (cut_a + cut_b < over)
                        cut_a = over - cut_b < a ? over - cut_b : a;
                cut_front(copy, "deploy_stdout", cut_a);
                cut_front(copy, "deploy_stderr", cut_b);
        }
        return copy;
}

json_t *signal_fit(const json_t *data, size_t max) {
        json_t *t = signal_trim(data, max);
        size_t len = dumped_len(t);

        if (len <= max || !json_is_object(t))
                return t;
        json_decref(t);
        /* Other keys are too big: what the hook printed stays (cut as usual), with why. */
        const json_t *code = json_object_get(data, "deploy_status_code");
        const char *out = json_string_value(json_object_get(data, "deploy_stdout"));
        const char *err = json_string_value(json_object_get(data, "deploy_stderr"));
        size_t elen = err ? strlen(err) : 0;
        _cleanup_free_ char *note =
                xasprintf("%s%spodhook: the result is %zu bytes even with deploy_stdout and deploy_stderr "
                          "cut, more than the %zu a signal carries; its other keys were dropped\n",
                          err ? err : "", elen && err[elen - 1] != '\n' ? "\n" : "", len, max);
        json_int_t c = json_is_integer(code) && json_integer_value(code) != 0 ? json_integer_value(code) : 1;
        json_auto_t *f = json_pack("{s:s, s:s, s:I}", "deploy_stdout", out ? out : "", "deploy_stderr", note,
                                   "deploy_status_code", c);
        return signal_trim(f, max);
}

/* Sets the error and gives the outcome: return FAIL(PH_SIGNAL_RETRY, reterr, EAGAIN, "...", ...). */
#define FAIL(outcome, reterr, code, ...) ((void) ph_error_set(reterr, code, __VA_ARGS__), (outcome))

/* The status of an answer: what it means for the signal. */
static PhSignalOutcome judge_status(const PhHttpResponse *resp, const char *what, PhError **reterr) {
        long status = resp->status;

        if (status >= 200 && status <= 299)
                return PH_SIGNAL_DELIVERED;
        if (status == 303) {
                (void) ph_error_set(reterr, EAGAIN,
                                    "%s: HTTP 303 (see other): the request may have been handled", what);
                return PH_SIGNAL_RETRY_MAYBE_ARRIVED;
        }
        if (status >= 300 && status <= 399) {
                const char *loc = http_response_header(resp, "Location");
                _cleanup_free_ char *to = loc ? http_url_redact(loc) : xstrdup("nowhere");
                (void) ph_error_set(reterr, EAGAIN,
                                    "%s: HTTP %ld redirect to %s not followed (another host, or too "
                                    "many hops)",
                                    what, status, to);
                return PH_SIGNAL_RETRY;
        }
        if (status == 404 || status == 410) {
                (void) ph_error_set(reterr, ENOENT, "%s: HTTP %ld: the stack or its signal URL is gone", what,
                                    status);
                return PH_SIGNAL_GONE;
        }
        if (status == 413) {
                (void) ph_error_set(reterr, E2BIG, "%s: HTTP 413: the body is too large for the endpoint",
                                    what);
                return PH_SIGNAL_RETRY_SMALLER;
        }
        (void) ph_error_set(reterr, EAGAIN, "%s: HTTP %ld", what, status);
        return PH_SIGNAL_RETRY;
}

/* No complete answer: a status line that came before the cut is the answer; a request that went out
 * in full may have been acted on; anything else was not received. */
static PhSignalOutcome judge_failure(const PhHttpResponse *resp, const char *what, const PhError *err,
                                     PhError **reterr) {
        if (resp->status > 0)
                return judge_status(resp, what, reterr);
        if (resp->request_sent)
                return FAIL(PH_SIGNAL_RETRY_MAYBE_ARRIVED, reterr, EAGAIN,
                            "%s: no answer after the signal was sent (it may have arrived): %s", what,
                            ph_error_msg(err));
        return FAIL(PH_SIGNAL_RETRY, reterr, EAGAIN, "%s: %s", what, ph_error_msg(err));
}

static PhHttpRequest signal_request(const PhSignalOptions *o, const char *method, const char *url,
                                    const char *const *headers, const char *body) {
        long timeout = o && o->timeout_ms > 0 ? o->timeout_ms : 30000;
        return (PhHttpRequest){
                .method = method,
                .url = url,
                .headers = headers,
                .body = body,
                .body_len = strlen(body),
                .timeout_ms = timeout,
                .connect_timeout_ms = timeout < 10000 ? timeout : 10000,
                .max_body = 1024u * 1024u,
                .ca_file = o ? o->ca_file : NULL,
                .max_redirects = SIGNAL_MAX_REDIRECTS,
                .cancel = o ? o->cancel : NULL,
        };
}

static const char *const json_headers[] = {"Content-Type: application/json", "Accept: application/json",
                                           NULL};

/* CFN_SIGNAL and TEMP_URL_SIGNAL: the pre-signed URL, sent byte-for-byte. */
static PhSignalOutcome send_url(PhSignalKind kind, const json_t *inputs, const char *body,
                                const PhSignalOptions *o, PhError **reterr) {
        const char *url = input_string(inputs, "deploy_signal_id");
        const char *method = kind == PH_SIGNAL_TEMP_URL ? "PUT" : "POST";
        _cleanup_free_ char *where = http_url_redact(url);
        _cleanup_free_ char *what = xasprintf("%s %s %s", signal_kind_to_string(kind), method, where);
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_error_ PhError *err = NULL;

        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
                return FAIL(PH_SIGNAL_PERMANENT, reterr, EINVAL, "%s: deploy_signal_id is not an http(s) URL",
                            signal_kind_to_string(kind));
        PhHttpRequest req = signal_request(o, method, url, json_headers, body);
        if (http_request(&req, &resp, &err) < 0)
                return judge_failure(&resp, signal_kind_to_string(kind), err, reterr);
        return judge_status(&resp, what, reterr);
}

/* The Keystone client of the deployment's own user (deploy_user_id in deploy_project_id), once every
 * input in required is there; *ret NULL and PERMANENT otherwise. */
static PhSignalOutcome deploy_keystone(PhSignalKind kind, const json_t *inputs, const char *const *required,
                                       size_t n, const PhSignalOptions *o, PhKeystone **ret,
                                       PhError **reterr) {
        _cleanup_free_ char *missing = NULL;

        *ret = NULL;
        for (size_t i = 0; i < n; i++) {
                if (input_string(inputs, required[i]))
                        continue;
                char *next = xasprintf("%s%s%s", missing ? missing : "", missing ? ", " : "", required[i]);
                free(missing);
                missing = next;
        }
        if (missing)
                return FAIL(PH_SIGNAL_PERMANENT, reterr, EINVAL, "%s: missing input %s",
                            signal_kind_to_string(kind), missing);

        const PhKeystoneCredentials c = {
                .auth_url = input_string(inputs, "deploy_auth_url"),
                .user_id = input_string(inputs, "deploy_user_id"),
                .password = input_string(inputs, "deploy_password"),
                .project_id = input_string(inputs, "deploy_project_id"),
                .region_name = input_string(inputs, "deploy_region_name"),
        };
        long timeout = o && o->timeout_ms > 0 ? o->timeout_ms : 30000;
        if (keystone_new(&c, timeout, o ? o->ca_file : NULL, ret, reterr) < 0) {
                ph_error_prefix(reterr, "%s", signal_kind_to_string(kind));
                return PH_SIGNAL_PERMANENT;
        }
        return PH_SIGNAL_DELIVERED;
}

/* The signal request to catalog service type with the deployment user's token, and its outcome. */
static PhSignalOutcome call_service(PhKeystone *k, PhSignalKind kind, const char *type,
                                    const PhHttpRequest *req, const char *what, PhError **reterr) {
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_error_ PhError *err = NULL;
        int r = keystone_call(k, type, req, &resp, &err);

        if (r == -EINVAL)
                return FAIL(PH_SIGNAL_PERMANENT, reterr, EINVAL, "%s: %s", signal_kind_to_string(kind),
                            ph_error_msg(err));
        /* Keystone or the service did not answer, refused the credentials or had no endpoint: all of
         * that may change (a 401 is "another 4xx"); only a signal that went out in full may have
         * arrived. */
        if (r < 0)
                return judge_failure(&resp, signal_kind_to_string(kind), err, reterr);
        return judge_status(&resp, what, reterr);
}

static PhSignalOutcome send_heat(const json_t *inputs, const char *body, const PhSignalOptions *o,
                                 PhError **reterr) {
        static const char *const required[] = {"deploy_auth_url", "deploy_user_id",
                                               "deploy_password", "deploy_project_id",
                                               "deploy_stack_id", "deploy_resource_name"};
        _cleanup_(keystone_freep) PhKeystone *k = NULL;

        PhSignalOutcome out =
                deploy_keystone(PH_SIGNAL_HEAT, inputs, required, ELEMENTSOF(required), o, &k, reterr);
        if (!k)
                return out;

        /* deploy_stack_id is "name/id": the slash stays literal, as heatclient sends it. */
        _cleanup_free_ char *stack = openstack_path_quote(input_string(inputs, "deploy_stack_id"));
        _cleanup_free_ char *res = http_escape(input_string(inputs, "deploy_resource_name"));
        _cleanup_free_ char *path = xasprintf("/stacks/%s/resources/%s/signal", stack, res);
        _cleanup_free_ char *what = xasprintf("HEAT_SIGNAL POST <orchestration>%s", path);
        PhHttpRequest req = signal_request(o, "POST", path, json_headers, body);
        return call_service(k, PH_SIGNAL_HEAT, "orchestration", &req, what, reterr);
}

/* Whether the queue holds a message whose body carries marker. */
static bool queue_has_marker(const json_t *messages, const char *marker) {
        size_t i;
        const json_t *m;

        json_array_foreach(messages, i, m) {
                const char *v = json_string_value(
                        json_object_get(json_object_get(m, "body"), SIGNAL_ZAQAR_MARKER_KEY));
                if (v && strcmp(v, marker) == 0)
                        return true;
        }
        return false;
}

/* ZAQAR_SIGNAL: one message on deploy_queue_id, which Heat pops (one per status check) while the
 * deployment is in progress. A second message for one result would be popped as the result of the
 * next action, so after an attempt that may have arrived the queue is searched for this one first. */
static PhSignalOutcome send_zaqar(const json_t *inputs, const json_t *data, const PhSignalOptions *o,
                                  PhError **reterr) {
        static const char *const required[] = {"deploy_auth_url", "deploy_user_id", "deploy_password",
                                               "deploy_project_id", "deploy_queue_id"};
        const char *queue = input_string(inputs, "deploy_queue_id");
        const char *marker = o && o->marker && *o->marker ? o->marker : NULL;
        bool again = o && o->maybe_arrived > 0;
        _cleanup_(keystone_freep) PhKeystone *k = NULL;
        int r;

        PhSignalOutcome out =
                deploy_keystone(PH_SIGNAL_ZAQAR, inputs, required, ELEMENTSOF(required), o, &k, reterr);
        if (!k)
                return out;
        if (!zaqar_queue_name_valid(queue))
                return FAIL(PH_SIGNAL_PERMANENT, reterr, EINVAL,
                            "ZAQAR_SIGNAL: deploy_queue_id is not a Zaqar queue name");
        _cleanup_free_ char *client_id = zaqar_client_id(o ? o->state_dir : NULL, true);
        _cleanup_free_ char *cid = xasprintf("Client-ID: %s", client_id);
        const char *headers[] = {"Content-Type: application/json", "Accept: application/json", cid, NULL};
        _cleanup_free_ char *path = zaqar_queue_path(queue, "/messages");
        _cleanup_free_ char *what = xasprintf("ZAQAR_SIGNAL POST <messaging>%s", path);

        if (again && marker) {
                PhHttpRequest base = signal_request(o, "GET", NULL, NULL, "");
                json_auto_t *all = NULL;
                _cleanup_error_ PhError *err = NULL;
                r = zaqar_list(k, &base, client_id, queue, &all, &err);
                if (r < 0)
                        return FAIL(PH_SIGNAL_RETRY, reterr, EAGAIN,
                                    "ZAQAR_SIGNAL: looking for the message of the earlier attempt: %s",
                                    ph_error_msg(err));
                if (queue_has_marker(all, marker))
                        return PH_SIGNAL_DELIVERED; /* it arrived and waits for Heat */
        }

        json_auto_t *body = json_deep_copy(data);
        if (marker)
                json_object_set_new(body, SIGNAL_ZAQAR_MARKER_KEY, json_string(marker));
        json_auto_t *env = json_pack("{s:[{s:i, s:O}]}", "messages", "ttl",
                                     again ? SIGNAL_ZAQAR_TTL_AGAIN : SIGNAL_ZAQAR_TTL, "body", body);
        _cleanup_free_ char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
        if (!text)
                return FAIL(PH_SIGNAL_PERMANENT, reterr, EINVAL,
                            "ZAQAR_SIGNAL: the signal data cannot be serialised");

        PhHttpRequest req = signal_request(o, "POST", path, headers, text);
        return call_service(k, PH_SIGNAL_ZAQAR, "messaging", &req, what, reterr);
}

PhSignalOutcome signal_send(const json_t *inputs, const json_t *data, const PhSignalOptions *o,
                            PhError **reterr) {
        PhSignalKind kind = signal_kind(inputs);
        size_t max = o && o->max_body ? o->max_body : SIGNAL_MAX_BODY;

        if (kind == PH_SIGNAL_NONE)
                return PH_SIGNAL_DELIVERED;
        if (!json_is_object(data))
                return FAIL(PH_SIGNAL_PERMANENT, reterr, EINVAL, "%s: the signal data is not a JSON object",
                            signal_kind_to_string(kind));

        if (kind == PH_SIGNAL_ZAQAR) {
                /* The marker goes in after the cut. */
                size_t room = SIGNAL_ZAQAR_MAX_BODY - (o && o->marker ? strlen(o->marker) + 32 : 0);
                if (max > room)
                        max = room;
        }
        json_auto_t *fitted = signal_fit(data, max);
        if (kind == PH_SIGNAL_ZAQAR)
                return send_zaqar(inputs, fitted, o, reterr);
        _cleanup_free_ char *body = json_dumps(fitted, JSON_COMPACT);
        if (!body)
                return FAIL(PH_SIGNAL_PERMANENT, reterr, EINVAL, "%s: the signal data cannot be serialised",
                            signal_kind_to_string(kind));
        if (kind == PH_SIGNAL_HEAT)
                return send_heat(inputs, body, o, reterr);
        return send_url(kind, inputs, body, o, reterr);
}
