#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/http.h"
#include "docker/docker.h"

#define DEFAULT_HOST     "unix:///var/run/docker.sock"
#define DEFAULT_TCP_PORT "2375"
#define CALL_TIMEOUT_MS  (120L * 1000L)
/* Pulls and imports report progress as they go; only a long silence means trouble. */
#define STREAM_LOW_SPEED_SECS 600L

/* Reads that fail for want of an answer (or with a 5xx) are tried this often before they count. */
#define READ_ATTEMPTS 4

struct PhDocker {
        char *base;        /* "http://localhost" or "http://host:port" */
        char *unix_socket; /* NULL over TCP */
        char version[16];  /* "1.41" */
        PhDockerEngine engine;
        const PhHttpCancel *cancel; /* pulls and imports only */
        /* The test fault point (DOCKER_CRASH_ENV): SIGKILL ourselves once this many mutating calls have
         * been answered; 0 = off. */
        unsigned long crash_after;
        unsigned long mutating_done;
};

PhDocker *docker_free(PhDocker *d) {
        if (!d)
                return NULL;
        free(d->base);
        free(d->unix_socket);
        free(d);
        return NULL;
}

void docker_set_cancel(PhDocker *d, const PhHttpCancel *cancel) {
        d->cancel = cancel;
}

const char *docker_api_version(const PhDocker *d) {
        return d->version;
}

const PhDockerEngine *docker_engine(const PhDocker *d) {
        return &d->engine;
}

PhDockerEngine docker_engine_from_headers(const char *server, const char *libpod_api_version) {
        PhDockerEngine e = {.kind = PH_ENGINE_DOCKER};
        const char *v = NULL;

        if (libpod_api_version && *libpod_api_version) {
                e.kind = PH_ENGINE_PODMAN;
                v = libpod_api_version;
        } else if (server && strncasecmp(server, "Libpod/", 7) == 0) {
                e.kind = PH_ENGINE_PODMAN;
                v = server + 7;
        } else if (server && strncasecmp(server, "Docker/", 7) == 0)
                v = server + 7;
        if (v)
                snprintf(e.version, sizeof(e.version), "%.*s", (int) strcspn(v, " \t"), v);
        return e;
}

static int parse_host(PhDocker *d, const char *host, PhError **reterr) {
        if (strncmp(host, "unix://", 7) == 0) {
                if (host[7] != '/')
                        return ph_error_set(reterr, EINVAL,
                                            "DOCKER_HOST %s: the socket path must be absolute", host);
                d->unix_socket = xstrdup(host + 7);
                d->base = xstrdup("http://localhost");
                return 0;
        }
        const char *rest = NULL;
        if (strncmp(host, "tcp://", 6) == 0)
                rest = host + 6;
        else if (strncmp(host, "http://", 7) == 0)
                rest = host + 7;
        size_t n = rest ? strcspn(rest, "/") : 0;
        if (n == 0)
                return ph_error_set(reterr, EINVAL,
                                    "DOCKER_HOST %s: only unix://PATH and tcp://HOST:PORT are supported",
                                    host);
        /* As the docker CLI: tcp://HOST without a port means the Engine's plain-HTTP port 2375 (an IPv6
         * [address] has colons of its own). */
        const char *colon = memrchr(rest, ':', n), *bracket = memrchr(rest, ']', n);
        bool has_port = colon && (!bracket || colon > bracket);
        d->base = xasprintf("http://%.*s%s", (int) n, rest, has_port ? "" : ":" DEFAULT_TCP_PORT);
        return 0;
}

/* Docker's {"message": "..."} of an error answer, or the raw body, or the status. */
static char *error_text(const PhHttpResponse *resp) {
        json_auto_t *j = resp->body ? json_loads(resp->body, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(j, "message"));

        if (msg)
                return xstrdup(msg);
        if (resp->body && resp->body_len > 0) {
                size_t n = resp->body_len;
                while (n > 0 && (resp->body[n - 1] == '\n' || resp->body[n - 1] == '\r'))
                        n--;
                if (n > 300)
                        n = 300;
                /* The text ends up in JSON (the hook's result), which takes only UTF-8: cut between
                 * characters (a sequence is at most 4 bytes), and quote no body that is not text. */
                for (size_t cut = 0; cut < 4 && cut < n; cut++) {
                        json_auto_t *text = json_stringn(resp->body, n - cut);
                        if (text)
                                return xstrndup(resp->body, n - cut);
                }
        }
        return xasprintf("HTTP status %ld", resp->status);
}

static int status_errno(long status) {
        return status == 404 ? ENOENT : status == 409 ? EEXIST : EIO;
}

/* Podman's "cause" of a create whose name is taken: libpod's error value (containers/storage's
 * ErrDuplicateName), the same text in every release. */
#define PODMAN_CAUSE_NAME_IN_USE "that name is already in use"

/* The errno of a failed call. Docker says it with the status alone. Podman (4.3) answers a create
 * whose name is taken with 500 where Docker says 409, and puts the reason in "cause": read there, so
 * callers see -EEXIST from both. */
static int answer_errno(const PhDocker *d, const PhHttpResponse *resp) {
        if (d->engine.kind == PH_ENGINE_PODMAN && resp->status == 500 && resp->body) {
                json_auto_t *j = json_loadb(resp->body, resp->body_len, 0, NULL);
                const char *cause = json_string_value(json_object_get(j, "cause"));
                if (cause && strcmp(cause, PODMAN_CAUSE_NAME_IN_USE) == 0)
                        return EEXIST;
        }
        return status_errno(resp->status);
}

static bool status_ok(long status) {
        return (status >= 200 && status < 300) || status == 304;
}

static int request(PhDocker *d, PhHttpRequest *req, const char *path, bool versioned, PhHttpResponse *ret,
                   PhError **reterr) {
        _cleanup_free_ char *url = versioned ? xasprintf("%s/v%s%s", d->base, d->version, path)
                                             : xasprintf("%s%s", d->base, path);
        req->url = url;
        req->unix_socket = d->unix_socket;
        int r = http_request(req, ret, reterr);
        req->url = NULL;
        return r;
}

int docker_stream(PhDocker *d, const char *path, int (*on_data)(const char *data, size_t len, void *userdata),
                  void *userdata, const PhHttpCancel *cancel, PhError **reterr) {
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        PhHttpRequest req = {.on_data = on_data, .userdata = userdata, .cancel = cancel};
        int r = request(d, &req, path, true, &resp, reterr);

        if (r < 0)
                return r;
        if (!status_ok(resp.status))
                return ph_error_set(reterr, EIO, "GET %s: HTTP %ld", path, resp.status);
        return 0;
}

int docker_open(const char *host, PhDocker **ret, PhError **reterr) {
        _cleanup_(docker_freep) PhDocker *d = xcalloc(1, sizeof(PhDocker));
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        unsigned major = 0, minor = 0;
        int r;

        if (!host || !*host)
                host = getenv("DOCKER_HOST");
        if (!host || !*host)
                host = DEFAULT_HOST;
        r = parse_host(d, host, reterr);
        if (r < 0)
                return r;
        /* curl would only say it could not reach "localhost port 80": name the socket instead. */
        if (d->unix_socket && access(d->unix_socket, F_OK) < 0)
                return ph_error_set(reterr, errno, "Docker Engine at %s: %s: %m (is dockerd running?)", host,
                                    d->unix_socket);
        /* GET /_ping carries the API version in a header and costs the daemon nothing; GET /version
         * makes dockerd run `runc --version` (6-8 ms). An engine (or proxy) without the header still
         * answers /version. */
        r = request(d, &(PhHttpRequest){.timeout_ms = 30000}, "/_ping", false, &resp, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "Docker Engine at %s", host);
        const char *api = http_response_header(&resp, "API-Version");
        _cleanup_(http_response_done) PhHttpResponse vresp = {};
        json_auto_t *v = NULL;
        if (!api || sscanf(api, "%u.%u", &major, &minor) != 2) {
                r = request(d, &(PhHttpRequest){.timeout_ms = 30000}, "/version", false, &vresp, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "Docker Engine at %s", host);
                if (vresp.status != 200) {
                        _cleanup_free_ char *msg = error_text(&vresp);
                        return ph_error_set(reterr, EIO, "Docker Engine at %s: GET /version: %s", host, msg);
                }
                v = json_loads(vresp.body ? vresp.body : "", 0, NULL);
                api = json_string_value(json_object_get(v, "ApiVersion"));
                if (!api || sscanf(api, "%u.%u", &major, &minor) != 2)
                        return ph_error_set(reterr, EPROTO,
                                            "Docker Engine at %s: no ApiVersion in GET /version", host);
        }
        /* Both engines name themselves in the headers of /_ping as of /version. */
        const PhHttpResponse *named = vresp.status ? &vresp : &resp;
        d->engine = docker_engine_from_headers(http_response_header(named, "Server"),
                                               http_response_header(named, "Libpod-Api-Version"));
        if (major > DOCKER_API_MAX_MAJOR || (major == DOCKER_API_MAX_MAJOR && minor > DOCKER_API_MAX_MINOR)) {
                major = DOCKER_API_MAX_MAJOR;
                minor = DOCKER_API_MAX_MINOR;
        }
        if (major < 1 || (major == 1 && minor < DOCKER_API_MIN_MINOR))
                return ph_error_set(reterr, ENOTSUP,
                                    "Docker Engine at %s: API %s is too old (1.%d or newer needed)", host,
                                    api, DOCKER_API_MIN_MINOR);
        snprintf(d->version, sizeof(d->version), "%u.%u", major, minor);
        const char *crash = getenv(DOCKER_CRASH_ENV);
        if (crash && *crash)
                d->crash_after = strtoul(crash, NULL, 10);
        *ret = TAKE_PTR(d);
        return 0;
}

/* Anything that may change the Engine's state: not a read, not a wait for a container. */
static bool is_mutating(const char *method, const char *path) {
        size_t n = strcspn(path, "?");

        if (n >= 5 && strncmp(path + n - 5, "/wait", 5) == 0)
                return false;
        return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* The fault point of the crash tests: a kill right after an answered call, the worst moment for
 * whatever comes next. */
static void count_mutating(PhDocker *d, size_t n) {
        if (n == 0 || d->crash_after == 0)
                return;
        d->mutating_done += n;
        if (d->mutating_done >= d->crash_after)
                (void) kill(getpid(), SIGKILL);
}

int docker_call(PhDocker *d, const char *method, const char *path, const json_t *body, long *ret_status,
                json_t **ret_json, PhError **reterr) {
        static const char *const json_headers[] = {"Content-Type: application/json", NULL};
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        PhHttpRequest req = {
                .method = method,
                .headers = body ? json_headers : NULL,
                .body = text,
                .body_len = text ? strlen(text) : 0,
                .timeout_ms = CALL_TIMEOUT_MS,
        };
        int r;

        if (body && !text)
                return ph_error_set(reterr, ENOMEM, "%s %s: cannot encode the request", method, path);
        r = request(d, &req, path, true, &resp, reterr);
        if (r < 0)
                return r;
        count_mutating(d, is_mutating(method, path) ? 1 : 0);
        if (ret_status)
                *ret_status = resp.status;
        if (!status_ok(resp.status)) {
                _cleanup_free_ char *msg = error_text(&resp);
                return ph_error_set(reterr, answer_errno(d, &resp), "%s", msg);
        }
        if (ret_json)
                *ret_json =
                        resp.body && resp.body_len > 0 ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
        return 0;
}

int docker_call_many(PhDocker *d, PhDockerCall *calls, size_t n) {
        static const char *const json_headers[] = {"Content-Type: application/json", NULL};
        _cleanup_free_ PhHttpRequest *reqs = xcalloc(n ? n : 1, sizeof(PhHttpRequest));
        _cleanup_free_ PhHttpResponse *resps = xcalloc(n ? n : 1, sizeof(PhHttpResponse));
        _cleanup_strv_free_ char **urls = xcalloc(n + 1, sizeof(char *));
        /* holes where a call has no body: freed one by one below, not as a NULL-terminated list */
        _cleanup_free_ char **texts = xcalloc(n + 1, sizeof(char *));
        _cleanup_error_ PhError *err = NULL;
        size_t mutating = 0;
        int result = 0;

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                PhDockerCall *c = &calls[i];
                urls[i] = xasprintf("%s/v%s%s", d->base, d->version, c->path);
                texts[i] = c->body ? json_dumps(c->body, JSON_COMPACT) : NULL;
                if (c->body && !texts[i])
                        abort();
                reqs[i] = (PhHttpRequest){
                        .method = c->method,
                        .url = urls[i],
                        .unix_socket = d->unix_socket,
                        .headers = c->body ? json_headers : NULL,
                        .body = texts[i],
                        .body_len = texts[i] ? strlen(texts[i]) : 0,
                        .timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : CALL_TIMEOUT_MS,
                };
                c->r = 0;
                c->status = 0;
                c->json = NULL;
                c->err = NULL;
        }
        /* A transport failure of one request still leaves the others' answers in resps; which one
         * failed is told by its missing status. */
        (void) http_request_parallel(reqs, n, resps, &err);
        for (size_t i = 0; i < n; i++) {
                PhDockerCall *c = &calls[i];
                c->status = resps[i].status;
                if (c->status == 0) {
                        int code = resps[i].error < 0 ? -resps[i].error : EIO;
                        c->r = ph_error_set(&c->err, code, "%s %s: no answer: %s", c->method, c->path,
                                            n == 1 ? ph_error_msg(err) : strerror(code));
                } else {
                        if (is_mutating(c->method, c->path))
                                mutating++;
                        if (!status_ok(c->status)) {
                                _cleanup_free_ char *msg = error_text(&resps[i]);
                                c->r = ph_error_set(&c->err, answer_errno(d, &resps[i]), "%s", msg);
                        } else if (resps[i].body && resps[i].body_len > 0)
                                c->json = json_loadb(resps[i].body, resps[i].body_len, 0, NULL);
                }
                if (c->r < 0 && result == 0)
                        result = c->r;
                http_response_done(&resps[i]);
        }
        for (size_t i = 0; i < n; i++)
                free(texts[i]);
        count_mutating(d, mutating);
        return result;
}

void docker_call_done(PhDockerCall *c) {
        json_decref(c->json);
        c->json = NULL;
        c->err = ph_error_free(c->err);
}

int docker_call_parallel(PhDocker *d, const char *method, char *const *paths, size_t n, long timeout_ms,
                         bool ok_missing, PhError **reterr) {
        _cleanup_free_ PhDockerCall *calls = xcalloc(n ? n : 1, sizeof(PhDockerCall));
        int result = 0;

        for (size_t i = 0; i < n; i++)
                calls[i] = (PhDockerCall){.method = method, .path = paths[i], .timeout_ms = timeout_ms};
        (void) docker_call_many(d, calls, n);
        for (size_t i = 0; i < n; i++) {
                if (calls[i].r < 0 && !(ok_missing && calls[i].r == -ENOENT))
                        result = ph_error_append(reterr, -calls[i].r, "%s", ph_error_msg(calls[i].err));
                docker_call_done(&calls[i]);
        }
        return result;
}

/* Whether a read that failed may be tried again: no answer came, or the daemon was in trouble (5xx). A
 * missing object (404) or any other answer counts at once. */
static bool read_retryable(int r, long status) {
        return r < 0 && r != -ENOENT && !(status > 0 && status < 500);
}

static void read_pause(unsigned attempt) {
        struct timespec pause = {.tv_nsec = 50L * 1000000L << attempt};
        (void) nanosleep(&pause, NULL);
}

int docker_get(PhDocker *d, const char *path, json_t **ret_json, PhError **reterr) {
        for (unsigned attempt = 1;; attempt++) {
                _cleanup_error_ PhError *err = NULL;
                long status = 0;
                int r = docker_call(d, "GET", path, NULL, &status, ret_json, &err);
                if (!read_retryable(r, status) || attempt >= READ_ATTEMPTS) {
                        if (r < 0 && reterr)
                                *reterr = TAKE_PTR(err);
                        return r;
                }
                read_pause(attempt);
        }
}

int docker_get_many(PhDocker *d, PhDockerCall *calls, size_t n) {
        _cleanup_free_ PhDockerCall *again = xcalloc(n ? n : 1, sizeof(PhDockerCall));
        _cleanup_free_ size_t *of = xcalloc(n ? n : 1, sizeof(size_t));
        int result = 0;

        for (size_t i = 0; i < n; i++)
                calls[i].method = "GET";
        (void) docker_call_many(d, calls, n);
        /* Only the reads that may pass go again, together. */
        for (unsigned attempt = 1; attempt < READ_ATTEMPTS; attempt++) {
                size_t k = 0;
                for (size_t i = 0; i < n; i++)
                        if (read_retryable(calls[i].r, calls[i].status)) {
                                again[k] = (PhDockerCall){.method = "GET",
                                                          .path = calls[i].path,
                                                          .timeout_ms = calls[i].timeout_ms};
                                of[k++] = i;
                        }
                if (k == 0)
                        break;
                read_pause(attempt);
                (void) docker_call_many(d, again, k);
                for (size_t j = 0; j < k; j++) {
                        docker_call_done(&calls[of[j]]);
                        calls[of[j]] = again[j];
                }
        }
        for (size_t i = 0; i < n && result == 0; i++)
                result = calls[i].r;
        return result;
}

void docker_image_ref_split(const char *ref, char **ret_repo, char **ret_tag) {
        const char *at = strchr(ref, '@');
        const char *slash = strrchr(ref, '/');
        const char *colon = strrchr(ref, ':');

        if (at) {
                *ret_repo = xstrndup(ref, (size_t) (at - ref));
                *ret_tag = xstrdup(at + 1);
        } else if (colon && (!slash || colon > slash)) {
                *ret_repo = xstrndup(ref, (size_t) (colon - ref));
                *ret_tag = xstrdup(colon + 1);
        } else {
                *ret_repo = xstrdup(ref);
                *ret_tag = xstrdup("latest");
        }
}

int docker_image_inspect(PhDocker *d, const char *ref, json_t **ret, PhError **reterr) {
        _cleanup_free_ char *name = http_escape(ref);
        _cleanup_free_ char *path = xasprintf("/images/%s/json", name);
        _cleanup_error_ PhError *err = NULL;
        json_t *j = NULL;
        int r;

        r = docker_get(d, path, &j, &err);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return r;
        }
        if (ret)
                *ret = j;
        else
                json_decref(j);
        return 1;
}

int docker_image_exists(PhDocker *d, const char *ref, PhError **reterr) {
        return docker_image_inspect(d, ref, NULL, reterr);
}

/* The JSON-lines stream of /images/create: every line is parsed, the first error kept. */
typedef struct StreamState {
        char *buf;
        size_t len, cap;
        char *error;   /* "errorDetail"/"error" of a line: the operation failed */
        char *message; /* "message" of a non-200 answer */
        bool progress;
} StreamState;

static void stream_line(StreamState *s, const char *line, size_t len) {
        json_auto_t *j = json_loadb(line, len, 0, NULL);
        const char *msg;

        if (!j)
                return; /* blank separators; the daemon writes one JSON object per line */
        msg = json_string_value(json_object_get(json_object_get(j, "errorDetail"), "message"));
        if (!msg)
                msg = json_string_value(json_object_get(j, "error"));
        if (msg && !s->error)
                s->error = xstrdup(msg);
        if (!s->message && json_is_string(json_object_get(j, "message")))
                s->message = xstrdup(json_string_value(json_object_get(j, "message")));
        /* One line per layer step ("Pulling fs layer", "Pull complete"), not the byte counters. */
        if (s->progress && !msg && !json_object_get(json_object_get(j, "progressDetail"), "current")) {
                const char *status = json_string_value(json_object_get(j, "status"));
                const char *id = json_string_value(json_object_get(j, "id"));
                if (status)
                        fprintf(stderr, "%s%s%s\n", id ? id : "", id ? ": " : "", status);
        }
}

static int stream_consume(const char *data, size_t len, void *userdata) {
        StreamState *s = userdata;
        size_t start = 0, kept = s->len;

        /* Growth by doubling and a scan of the new bytes only (what was kept holds no newline): a long
         * line arriving in small pieces costs linear time, not quadratic. */
        if (s->len + len + 1 > s->cap) {
                s->cap = s->len + len + 1 > 2 * s->cap ? s->len + len + 1 : 2 * s->cap;
                s->buf = xrealloc(s->buf, s->cap);
        }
        memcpy(s->buf + s->len, data, len);
        s->len += len;
        for (size_t i = kept; i < s->len; i++) {
                if (s->buf[i] != '\n')
                        continue;
                stream_line(s, s->buf + start, i - start);
                start = i + 1;
        }
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
        /* A line longer than this is not a progress message: refuse rather than grow without bound. */
        if (s->len > 1024 * 1024)
                return -EFBIG;
        return 0;
}

static void stream_state_done(StreamState *s) {
        free(s->buf);
        free(s->error);
        free(s->message);
}

/* The end of the stream: its last line, and what the answer says. */
static int stream_finish(StreamState *st, long status, const char *what, PhError **reterr) {
        if (st->len > 0)
                stream_line(st, st->buf, st->len);
        if (status != 200) {
                /* Failed before anything was streamed: the body is a normal error object, which the
                 * consumer saw as its only line. */
                return ph_error_set(reterr, status_errno(status), "%s: %s", what,
                                    st->error     ? st->error
                                    : st->message ? st->message
                                                  : "the Docker Engine refused the request");
        }
        if (st->error)
                return ph_error_set(reterr, EIO, "%s: %s", what, st->error);
        return 0;
}

int docker_stream_parse(const char *body, size_t len, size_t chunk, long status, PhError **reterr) {
        _cleanup_(stream_state_done) StreamState st = {};

        for (size_t off = 0; off < len; off += chunk ? chunk : len) {
                int r = stream_consume(body + off, chunk && chunk < len - off ? chunk : len - off, &st);
                if (r < 0)
                        return ph_error_set(reterr, -r, "the stream: a line longer than 1 MiB");
        }
        return stream_finish(&st, status, "the stream", reterr);
}

char *docker_error_text(long status, const char *body, size_t len) {
        const PhHttpResponse resp = {.status = status, .body = (char *) body, .body_len = len};
        return error_text(&resp);
}

static int stream_request(PhDocker *d, const char *path, const char *content_type, const void *body,
                          size_t len, bool progress, const char *what, const char *registry_auth,
                          PhError **reterr) {
        _cleanup_(stream_state_done) StreamState st = {.progress = progress};
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_free_ char *ct = content_type ? xasprintf("Content-Type: %s", content_type) : NULL;
        _cleanup_free_ char *auth = registry_auth ? xasprintf("X-Registry-Auth: %s", registry_auth) : NULL;
        const char *headers[] = {ct ? ct : auth, ct ? auth : NULL, NULL};
        PhHttpRequest req = {
                .method = "POST",
                .headers = ct || auth ? headers : NULL,
                .body = body,
                .body_len = len,
                .low_speed_secs = STREAM_LOW_SPEED_SECS,
                .on_data = stream_consume,
                .userdata = &st,
                .cancel = d->cancel,
        };
        int r;

        r = request(d, &req, path, true, &resp, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "%s", what);
        return stream_finish(&st, resp.status, what, reterr);
}

int docker_image_pull(PhDocker *d, const char *ref, bool progress, PhError **reterr) {
        return docker_image_pull_auth(d, ref, NULL, progress, reterr);
}

int docker_image_pull_auth(PhDocker *d, const char *ref, const char *registry_auth, bool progress,
                           PhError **reterr) {
        _cleanup_free_ char *repo = NULL, *tag = NULL, *path = NULL, *what = NULL;
        _cleanup_free_ char *erepo = NULL, *etag = NULL;

        docker_image_ref_split(ref, &repo, &tag);
        erepo = http_escape(repo);
        etag = http_escape(tag);
        path = xasprintf("/images/create?fromImage=%s&tag=%s", erepo, etag);
        what = xasprintf("pulling image %s", ref);
        return stream_request(d, path, NULL, NULL, 0, progress, what, registry_auth, reterr);
}

int docker_image_import(PhDocker *d, const void *tar, size_t len, const char *repo, const char *tag,
                        const char *changes, PhError **reterr) {
        /* The tag goes inside repo: Docker reads either form, Podman (4.3) has no tag parameter for an
         * import and would name the image repo:latest. */
        _cleanup_free_ char *ref = xasprintf("%s:%s", repo, tag), *eref = http_escape(ref);
        _cleanup_free_ char *echanges = changes ? http_escape(changes) : NULL;
        _cleanup_free_ char *path = xasprintf("/images/create?fromSrc=-&repo=%s%s%s", eref,
                                              echanges ? "&changes=" : "", echanges ? echanges : "");
        _cleanup_free_ char *what = xasprintf("importing image %s:%s", repo, tag);

        return stream_request(d, path, "application/x-tar", tar, len, false, what, NULL, reterr);
}

char *docker_label_filter(const char *const *labels) {
        json_auto_t *f = json_object();
        json_t *list = json_array(); /* borrowed once set into f */
        _cleanup_free_ char *text = NULL;

        json_object_set_new(f, "label", list);
        for (const char *const *l = labels; l && *l; l++)
                json_array_append_new(list, json_string(*l));
        text = json_dumps(f, JSON_COMPACT);
        if (!text)
                abort();
        return http_escape(text);
}

/* --- exec and exits ------------------------------------------------------------------------------ */

/* An attached exec's answer: the multiplexed stream of stdout and stderr (8-byte frame headers), which
 * is only read to its end (the command's end); its bytes are not kept. */
static int discard(const char *data, size_t len, void *userdata) {
        size_t *n = userdata;

        (void) data;
        *n += len;
        return 0;
}

int docker_exec(PhDocker *d, const char *id, char *const *cmd, long timeout_ms, int *ret_exit,
                PhError **reterr) {
        static const char *const json_headers[] = {"Content-Type: application/json", NULL};
        _cleanup_free_ char *create = xasprintf("/containers/%s/exec", id);
        json_auto_t *body = json_pack("{s:[], s:b, s:b}", "Cmd", "AttachStdout", true, "AttachStderr", true);
        json_auto_t *created = NULL, *info = NULL;
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        size_t streamed = 0;
        int r;

        for (char *const *a = cmd; a && *a; a++)
                json_array_append_new(json_object_get(body, "Cmd"), json_string(*a));
        r = docker_call(d, "POST", create, body, NULL, &created, reterr);
        if (r < 0)
                return r;
        const char *exec_id = json_string_value(json_object_get(created, "Id"));
        if (!exec_id)
                return ph_error_set(reterr, EPROTO, "no Id in the answer of POST %s", create);
        _cleanup_free_ char *start = xasprintf("/exec/%s/start", exec_id);
        _cleanup_free_ char *inspect = xasprintf("/exec/%s/json", exec_id);
        /* Attached, and read to the end: Podman (4.3) never shows a detached exec as finished. */
        static const char start_body[] = "{\"Detach\":false,\"Tty\":false}";
        PhHttpRequest req = {
                .method = "POST",
                .headers = json_headers,
                .body = start_body,
                .body_len = sizeof(start_body) - 1,
                .timeout_ms = timeout_ms > 0 ? timeout_ms : CALL_TIMEOUT_MS,
                .on_data = discard,
                .userdata = &streamed,
        };
        r = request(d, &req, start, true, &resp, reterr);
        if (r < 0)
                return r;
        count_mutating(d, 1);
        if (!status_ok(resp.status))
                return ph_error_set(reterr, answer_errno(d, &resp), "POST %s: HTTP status %ld", start,
                                    resp.status);
        r = docker_get(d, inspect, &info, reterr);
        if (r < 0)
                return r;
        if (json_is_true(json_object_get(info, "Running")) ||
            !json_is_integer(json_object_get(info, "ExitCode")))
                return ph_error_set(reterr, EPROTO,
                                    "GET %s: the command's end was streamed, but it is not shown "
                                    "as finished",
                                    inspect);
        *ret_exit = (int) json_integer_value(json_object_get(info, "ExitCode"));
        return 0;
}

/* The events of one answer, one JSON object a line. */
typedef struct EventLines {
        char *buf;
        size_t len;
} EventLines;

static int event_lines_add(const char *data, size_t len, void *userdata) {
        EventLines *e = userdata;

        if (e->len + len > 4u * 1024u * 1024u)
                return -EFBIG;
        e->buf = xrealloc(e->buf, e->len + len + 1);
        memcpy(e->buf + e->len, data, len);
        e->len += len;
        e->buf[e->len] = '\0';
        return 0;
}

int docker_container_exit_code(PhDocker *d, const char *id, long long since, int *ret_code,
                               PhError **reterr) {
        bool podman = d->engine.kind == PH_ENGINE_PODMAN;
        json_auto_t *filter = json_pack("{s:[s], s:[s]}", "container", id, "event", podman ? "died" : "die");
        _cleanup_free_ char *ftext = json_dumps(filter, JSON_COMPACT);
        _cleanup_free_ char *efilter = http_escape(ftext ? ftext : "{}");
        /* Docker streams until "until"; Podman (4.3) answers nothing at all when given one, and ends
         * its own list with stream=false. */
        struct timespec now = {};
        (void) clock_gettime(CLOCK_REALTIME, &now);
        _cleanup_free_ char *path =
                podman ? xasprintf("/libpod/events?stream=false&since=%lld&filters=%s", since, efilter)
                       : xasprintf("/events?since=%lld&until=%lld.%09ld&filters=%s", since,
                                   (long long) now.tv_sec, now.tv_nsec, efilter);
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        EventLines lines = {};
        PhHttpRequest req = {.timeout_ms = 30000, .on_data = event_lines_add, .userdata = &lines};
        int r;

        r = request(d, &req, path, true, &resp, reterr);
        if (r >= 0 && !status_ok(resp.status))
                r = ph_error_set(reterr, answer_errno(d, &resp), "GET %s: HTTP status %ld", path,
                                 resp.status);
        *ret_code = -1;
        for (char *line = lines.buf, *next; r >= 0 && line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                json_auto_t *ev = json_loads(line, 0, NULL);
                json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
                const char *code = json_string_value(json_object_get(attrs, "exitCode"));
                if (!code)
                        code = json_string_value(json_object_get(attrs, "containerExitCode"));
                if (code) {
                        /* the first exit since then is the one that counts */
                        *ret_code = (int) strtol(code, NULL, 10);
                        break;
                }
                if (!next)
                        break;
        }
        free(lines.buf);
        return r < 0 ? r : *ret_code >= 0 ? 1 : 0;
}
