/* The status API server on the event loop with test routes, for api-server.sh: what the agent will
 * do, minus the agent. Writes the address it listens on to READY_FILE once it serves; runs until
 * SIGTERM.
 *
 *   api-testd --api ADDR --ready READY_FILE [--api-token-file FILE] [--connection-limit N]
 *             [--timeout SEC] [--unix-mode 0660] [--allow-remote]
 *
 * Routes besides the built-in /healthz:
 *   GET /v1/things[?only=NAME]              an in-memory map of JSON values (X-Things-Count: N)
 *   GET /v1/things/{name}
 *   POST /v1/things/{name}                   token, JSON body: stores it (201)
 *   DELETE /v1/things/{name}                 token: removes it
 *   POST /v1/upload                          a body of any kind: its size and SHA-256
 *   GET /v1/stats                            how often the upload handler ran
 *   GET /v1/secretive                        an answer that carries a password (the server must hide it)
 *   POST /v1/work, GET /v1/work              token: a job on a worker thread that runs until
 *   POST /v1/work/release                    released (a long apply), and whether it still runs
 *   GET /metrics                             the metrics registry, with odd label values */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/httpd.h"
#include "common/digest.h"
#include "common/fileio.h"
#include "common/log.h"
#include "metrics.h"
#include "worker.h"

typedef struct Testd {
        PhEvent *e;
        PhWorker *worker;
        int release_fd; /* the job waits for it */
        json_t *things;
        unsigned uploads;
        PhMetrics *metrics;
        PhMetric *requests;
        PhMetric *n_things;
        PhMetric *sizes;
} Testd;

static void count(Testd *t, const char *route) {
        (void) metric_inc(t->requests, METRIC_LABELS(route));
}

/* ?only=NAME: that one alone; the count goes in a header of the handler's own. */
static int things_list(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        const char *only = api_request_query(req, "only");
        json_t *list = json_object();
        const char *k;
        json_t *v;
        char n[32];

        count(t, "things");
        json_object_foreach(t->things, k, v) {
                if (!only || strcmp(only, k) == 0)
                        json_object_set(list, k, v);
        }
        snprintf(n, sizeof(n), "%zu", json_object_size(list));
        api_reply_header(reply, "X-Things-Count", n);
        return api_reply_json(reply, 200, list);
}

static int thing_get(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        json_t *v = json_object_get(t->things, req->param);
        count(t, "thing");
        if (!v) {
                _cleanup_free_ char *shown = api_printable(req->param, 100);
                return api_reply_error(reply, 404, "no thing %s", shown);
        }
        return api_reply_json(reply, 200, json_incref(v));
}

static int thing_put(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        count(t, "thing");
        json_object_set(t->things, req->param, req->json);
        (void) metric_set(t->n_things, NULL, (double) json_object_size(t->things));
        return api_reply_json(reply, 201, json_pack("{s:s}", "stored", req->param));
}

static int thing_delete(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        count(t, "thing");
        if (json_object_del(t->things, req->param) < 0)
                return api_reply_error(reply, 404, "no such thing");
        (void) metric_set(t->n_things, NULL, (double) json_object_size(t->things));
        return api_reply_json(reply, 200, json_pack("{s:s}", "deleted", req->param));
}

static int upload(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        _cleanup_free_ char *sum = digest_sha256_hex(req->body, req->body_len);
        t->uploads++;
        count(t, "upload");
        (void) metric_observe(t->sizes, METRIC_LABELS("upload"), (double) req->body_len);
        return api_reply_json(reply, 200,
                              json_pack("{s:I,s:s}", "bytes", (json_int_t) req->body_len, "sha256", sum));
}

static int stats(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        return api_reply_json(reply, 200, json_pack("{s:i}", "uploads", t->uploads));
}

/* A handler that forgets itself: the password by name, and again by value inside other text. */
static int secretive(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        return api_reply_json(
                reply, 200,
                json_pack("{s:s,s:[s],s:s,s:s}", "name", "db", "env", "DB_PASSWORD=Hunter2Hunter2", "note",
                          "the password is Hunter2Hunter2", "url", "http://user:PlainPw99@example.com/x"));
}

/* The long job: blocks until released, up to 30 s. */
static int work(void *arg, const PhCancel *cancel) {
        Testd *t = arg;
        struct pollfd p[2] = {{.fd = t->release_fd, .events = POLLIN},
                              {.fd = worker_cancel_fd(cancel), .events = POLLIN}};
        uint64_t v;

        if (poll(p, 2, 30000) <= 0)
                return -ETIMEDOUT;
        if (p[1].revents)
                return -ECANCELED;
        return read(t->release_fd, &v, sizeof(v)) == sizeof(v) ? 0 : -EIO;
}

static void work_done(PhWorker *w, int r, void *arg, void *userdata) {
        log_info("the job ended: %d", r);
}

static int work_start(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        if (worker_start(t->worker, work, t, work_done, t) < 0)
                return api_reply_error(reply, 409, "a job runs already");
        return api_reply_json(reply, 202, json_pack("{s:b}", "started", 1));
}

static int work_state(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        return api_reply_json(reply, 200, json_pack("{s:b}", "busy", worker_busy(t->worker)));
}

static int work_release(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        uint64_t one = 1;
        if (write(t->release_fd, &one, sizeof(one)) != sizeof(one))
                return -errno;
        return api_reply_json(reply, 200, json_pack("{s:b}", "released", 1));
}

static int metrics_get(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        Testd *t = userdata;
        count(t, "metrics");
        return api_reply_text(reply, 200, PH_METRICS_CONTENT_TYPE, metrics_render(t->metrics));
}

static int on_term(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata) {
        event_exit(userdata, 0);
        return 0;
}

static int metrics_setup(Testd *t, PhError **err) {
        static const double size_buckets[] = {10, 1000, 100000};
        PhMetric *odd = NULL, *temp = NULL;
        int r;

        t->metrics = metrics_new();
        if ((r = metrics_add_counter(t->metrics, "test_requests_total", "Requests by route.",
                                     METRIC_LABELS("route"), &t->requests, err)) < 0 ||
            (r = metrics_add_gauge(t->metrics, "test_things", "Things stored.", NULL, &t->n_things, err)) <
                    0 ||
            (r = metrics_add_histogram(t->metrics, "test_upload_bytes", "Sizes of uploads.",
                                       METRIC_LABELS("kind"), size_buckets, ELEMENTSOF(size_buckets),
                                       &t->sizes, err)) < 0 ||
            (r = metrics_add_gauge(t->metrics, "test_odd_labels", "Label values to escape: \\ and\nnewline.",
                                   METRIC_LABELS("value", "empty"), &odd, err)) < 0 ||
            (r = metrics_add_gauge(t->metrics, "test_temperature_celsius", "Floats.", NULL, &temp, err)) < 0)
                return r;
        (void) metric_set(odd, METRIC_LABELS("quote\" back\\slash new\nline", ""), 1);
        (void) metric_set(temp, NULL, -12.25);
        (void) metric_observe(t->sizes, METRIC_LABELS("start"), 5);
        return 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"api", required_argument, NULL, 'a'},     {"api-token-file", required_argument, NULL, 't'},
                {"ready", required_argument, NULL, 'r'},   {"connection-limit", required_argument, NULL, 'c'},
                {"timeout", required_argument, NULL, 'T'}, {"unix-mode", required_argument, NULL, 'm'},
                {"allow-remote", no_argument, NULL, 'R'},  {},
        };
        PhApiConfig cfg = {0};
        const char *ready = NULL;
        Testd t = {0};
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(api_server_freep) PhApiServer *srv = NULL;
        int r, c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (c) {
                case 'a':
                        cfg.address = optarg;
                        break;
                case 't':
                        cfg.token_file = optarg;
                        break;
                case 'r':
                        ready = optarg;
                        break;
                case 'c':
                        cfg.connection_limit = (unsigned) atoi(optarg);
                        break;
                case 'T':
                        cfg.timeout_sec = (unsigned) atoi(optarg);
                        break;
                case 'm':
                        cfg.unix_mode = (unsigned) strtoul(optarg, NULL, 8);
                        break;
                case 'R':
                        cfg.allow_remote = true;
                        break;
                default:
                        return 2;
                }
        }
        if (!cfg.address || !ready) {
                fprintf(stderr, "usage: api-testd --api ADDR --ready FILE [...]\n");
                return 2;
        }
        ph_log_set_max_level(PH_LOG_DEBUG);

        /* Before any thread: the worker's threads must not take these. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        t.things = json_object();
        t.release_fd = eventfd(0, EFD_CLOEXEC);
        if (event_new(&t.e) < 0 || worker_new(t.e, &t.worker) < 0 || t.release_fd < 0 ||
            event_add_signal(t.e, NULL, SIGTERM, on_term, t.e) < 0 ||
            event_add_signal(t.e, NULL, SIGINT, on_term, t.e) < 0) {
                fprintf(stderr, "api-testd: cannot set up the loop\n");
                return 1;
        }
        r = metrics_setup(&t, &err);
        if (r >= 0)
                r = api_server_new(t.e, &cfg, &srv, &err);
        const PhApiRoute routes[] = {
                {"GET", "/v1/things", 0, things_list, &t},
                {"GET", "/v1/things/{name}", 0, thing_get, &t},
                {"POST", "/v1/things/{name}", PH_API_TOKEN | PH_API_BODY_JSON, thing_put, &t},
                {"DELETE", "/v1/things/{name}", PH_API_TOKEN, thing_delete, &t},
                {"POST", "/v1/upload", PH_API_BODY, upload, &t},
                {"GET", "/v1/stats", 0, stats, &t},
                {"GET", "/v1/secretive", 0, secretive, &t},
                {"POST", "/v1/work", PH_API_TOKEN, work_start, &t},
                {"GET", "/v1/work", 0, work_state, &t},
                {"POST", "/v1/work/release", PH_API_TOKEN, work_release, &t},
                {"GET", "/metrics", 0, metrics_get, &t},
        };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(routes); i++)
                r = api_server_add_route(srv, &routes[i], &err);
        if (r < 0) {
                log_error("%s", ph_error_msg(err));
                return 1;
        }
        const char *addr = api_server_address(srv);
        if (file_write_atomic(ready, addr, strlen(addr), 0600, &err) < 0) {
                log_error("%s", ph_error_msg(err));
                return 1;
        }
        r = event_loop(t.e);
        srv = api_server_free(srv);
        t.worker = worker_free(t.worker);
        event_free(t.e);
        metrics_free(t.metrics);
        json_decref(t.things);
        close(t.release_fd);
        return r < 0 ? 1 : 0;
}
