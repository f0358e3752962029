#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "testsrv.h"

struct TestServer {
        struct MHD_Daemon *daemon;
        TestHandler handler;
        void *userdata;
        char url[64];
        pthread_mutex_t lock;
        pthread_cond_t released;
        bool stopping;
        TestRequest **log;
        size_t n_log;
};

typedef struct Conn {
        char *body;
        size_t len;
        TestRequest *req;
} Conn;

typedef struct CutBody {
        TestServer *srv;
        char *body;
        size_t len;
        bool hang; /* SLOW: wait for the stop instead of failing */
} CutBody;

static void *xalloc(size_t n) {
        void *p = calloc(1, n ? n : 1);
        if (!p)
                abort();
        return p;
}

static char *xdup(const char *s) {
        char *d = strdup(s ? s : "");
        if (!d)
                abort();
        return d;
}

static void request_free(TestRequest *r) {
        if (!r)
                return;
        free(r->method);
        free(r->path);
        free(r->query);
        for (char **h = r->headers; h && *h; h++)
                free(*h);
        free(r->headers);
        free(r->body);
        free(r);
}

/* Keep the URL as it was sent so that tests can check its exact encoding. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
        return strlen(s);
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        TestRequest *r = cls;
        size_t n = 0;
        while (r->headers && r->headers[n])
                n++;
        r->headers = realloc(r->headers, sizeof(char *) * (n + 2));
        if (!r->headers || asprintf(&r->headers[n], "%s: %s", key, value ? value : "") < 0)
                abort();
        r->headers[n + 1] = NULL;
        return MHD_YES;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        TestRequest *r = cls;
        char *q;
        if (asprintf(&q, "%s%s%s%s%s", r->query ? r->query : "", r->query ? "&" : "", key, value ? "=" : "",
                     value ? value : "") < 0)
                abort();
        free(r->query);
        r->query = q;
        return MHD_YES;
}

static void wait_for_stop(TestServer *s) {
        pthread_mutex_lock(&s->lock);
        while (!s->stopping)
                pthread_cond_wait(&s->released, &s->lock);
        pthread_mutex_unlock(&s->lock);
}

/* Sleeps ms, or less when the server stops. */
static void wait_ms(TestServer *s, unsigned ms) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (long) (ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && pthread_cond_timedwait(&s->released, &s->lock, &until) == 0)
                ;
        pthread_mutex_unlock(&s->lock);
}

static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max) {
        CutBody *cb = cls;
        size_t half = cb->len / 2;
        if (pos >= half) {
                if (cb->hang)
                        wait_for_stop(cb->srv);
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        size_t n = half - (size_t) pos < max ? half - (size_t) pos : max;
        memcpy(buf, cb->body + pos, n);
        return (ssize_t) n;
}

static void cut_free(void *cls) {
        CutBody *cb = cls;
        free(cb->body);
        free(cb);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        TestServer *s = cls;
        Conn *conn = *con_cls;

        if (!conn) {
                *con_cls = xalloc(sizeof(Conn));
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                conn->body = realloc(conn->body, conn->len + *upload_data_size + 1);
                if (!conn->body)
                        abort();
                memcpy(conn->body + conn->len, upload_data, *upload_data_size);
                conn->len += *upload_data_size;
                conn->body[conn->len] = '\0';
                *upload_data_size = 0;
                return MHD_YES;
        }

        TestRequest *r = xalloc(sizeof(*r));
        r->method = xdup(method);
        r->path = xdup(url);
        r->body = conn->body ? conn->body : xdup("");
        r->body_len = conn->len;
        conn->body = NULL;
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, r);
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, r);
        if (!r->headers)
                r->headers = xalloc(sizeof(char *));

        pthread_mutex_lock(&s->lock);
        s->log = realloc(s->log, sizeof(TestRequest *) * (s->n_log + 1));
        if (!s->log)
                abort();
        s->log[s->n_log++] = r;
        pthread_mutex_unlock(&s->lock);

        TestReply reply = {.status = 200};
        s->handler(s, r, &reply, s->userdata);
        if (reply.delay_ms)
                wait_ms(s, reply.delay_ms);
        size_t len = reply.body ? strlen(reply.body) : 0;
        struct MHD_Response *resp;
        if (reply.mode == TEST_REPLY_HANG) {
                wait_for_stop(s);
                resp = NULL;
        } else if (reply.mode == TEST_REPLY_CUT || reply.mode == TEST_REPLY_SLOW) {
                CutBody *cb = xalloc(sizeof(*cb));
                cb->srv = s;
                cb->body = reply.body ? reply.body : xdup("");
                cb->len = len;
                cb->hang = reply.mode == TEST_REPLY_SLOW;
                reply.body = NULL;
                resp = MHD_create_response_from_callback(len, 1024, cut_reader, cb, cut_free);
        } else
                resp = MHD_create_response_from_buffer(len, reply.body ? reply.body : (char *) "",
                                                       MHD_RESPMEM_MUST_COPY);
        free(reply.body);

        enum MHD_Result ret = MHD_NO;
        if (resp) {
                for (size_t i = 0; i < 8 && reply.headers[i]; i++) {
                        char *colon = strchr(reply.headers[i], ':');
                        if (!colon)
                                continue;
                        *colon = '\0';
                        const char *v = colon + 1;
                        while (*v == ' ')
                                v++;
                        MHD_add_response_header(resp, reply.headers[i], v);
                }
                ret = MHD_queue_response(c, reply.status, resp);
                MHD_destroy_response(resp);
        }
        for (size_t i = 0; i < 8; i++)
                free(reply.headers[i]);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        Conn *conn = *con_cls;
        if (!conn)
                return;
        free(conn->body);
        free(conn);
        *con_cls = NULL;
}

TestServer *testsrv_start(TestHandler handler, void *userdata) {
        TestServer *s = xalloc(sizeof(*s));
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};

        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s->handler = handler;
        s->userdata = userdata;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->released, NULL);
        s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                                     NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sin,
                                     MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
        if (!s->daemon) {
                fprintf(stderr, "# cannot start the test HTTP server\n");
                abort();
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned) info->port);
        return s;
}

void testsrv_reset(TestServer *s) {
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_log; i++)
                request_free(s->log[i]);
        free(s->log);
        s->log = NULL;
        s->n_log = 0;
        pthread_mutex_unlock(&s->lock);
}

void testsrv_stop(TestServer *s) {
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->released);
        pthread_mutex_unlock(&s->lock);
        MHD_stop_daemon(s->daemon);
        testsrv_reset(s);
        pthread_cond_destroy(&s->released);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

const char *testsrv_url(const TestServer *s) {
        return s->url;
}

size_t testsrv_count(TestServer *s) {
        pthread_mutex_lock(&s->lock);
        size_t n = s->n_log;
        pthread_mutex_unlock(&s->lock);
        return n;
}

const TestRequest *testsrv_request(TestServer *s, size_t i) {
        pthread_mutex_lock(&s->lock);
        const TestRequest *r = i < s->n_log ? s->log[i] : NULL;
        pthread_mutex_unlock(&s->lock);
        return r;
}

const char *testreq_header(const TestRequest *r, const char *name) {
        size_t n = strlen(name);
        for (char **h = r->headers; h && *h; h++)
                if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
                        return *h + n + 2;
        return NULL;
}

void testreply_set(TestReply *r, unsigned status, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        free(r->body);
        if (vasprintf(&r->body, fmt, ap) < 0)
                abort();
        va_end(ap);
        r->status = status;
}

void testreply_header(TestReply *r, const char *fmt, ...) {
        va_list ap;
        for (size_t i = 0; i < 8; i++) {
                if (r->headers[i])
                        continue;
                va_start(ap, fmt);
                if (vasprintf(&r->headers[i], fmt, ap) < 0)
                        abort();
                va_end(ap);
                return;
        }
        abort();
}
