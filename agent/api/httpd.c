/* httpd.h: libmicrohttpd in external-polling epoll mode on the loop.
 *
 * MHD calls on_request() for a request first with its headers only (we route, check the token and
 * the announced size, and may answer at once: MHD then never reads the body), then once per piece
 * of body, then once more with nothing (we answer). We make the listening socket ourselves (one path
 * for TCP and unix sockets, our own error messages) and hand it to MHD, which closes it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#define PH_LOG_MODULE "api"
#include "api/address.h"
#include "api/httpd.h"
#include "api/token.h"
#include "common/log.h"
#include "common/secret.h"

/* What a chunked body may bring beyond the limit before the connection is closed instead of
 * answered: enough for a client that sends a little too much to read its 413. */
#define API_DISCARD_MAX (8u * 1024u * 1024u)
/* A body must be complete this long after the request began (a byte every few seconds would keep
 * the idle timeout from ever running out). */
#define API_BODY_DEADLINE_USEC (60u * 1000000u)

struct PhApiServer {
        PhEvent *event;
        struct MHD_Daemon *mhd;
        PhEventSource *io;
        PhEventSource *timer;
        PhApiRoute *routes;
        size_t n_routes;
        char *token;
        char *address;
        char *unix_path; /* the socket file we made, removed at the end if it is still ours */
        dev_t unix_dev;
        ino_t unix_ino;
        size_t body_max;
        char **(*secret_values)(void *userdata);
        void *secret_userdata;
};

typedef struct ApiConn {
        PhApiServer *server;
        size_t route; /* index into routes: every request that gets past the first call has one */
        char *param;
        char *shown; /* the path for messages and logs (api_printable) */
        char *body;
        size_t len;
        size_t cap;
        size_t discarded; /* bytes of a chunked body beyond the limit */
        uint64_t started;
} ApiConn;

static void conn_free(ApiConn *ac) {
        if (!ac)
                return;
        free(ac->param);
        free(ac->shown);
        free(ac->body);
        free(ac);
}

int api_reply_json(PhApiReply *reply, unsigned status, json_t *json) {
        json_decref(reply->json);
        free(reply->text);
        reply->text = NULL;
        reply->status = status;
        reply->json = json;
        return 0;
}

static void reply_verror(PhApiReply *reply, unsigned status, const char *fmt, va_list ap) {
        char *msg;

        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        json_t *j = json_pack("{s:s}", "error", msg);
        if (!j) {
                /* Not UTF-8 (a path or name from the request): say it in ASCII. */
                _cleanup_free_ char *shown = api_printable(msg, SIZE_MAX);
                j = json_pack("{s:s}", "error", shown);
        }
        free(msg);
        if (!j)
                abort();
        (void) api_reply_json(reply, status, j);
}

int api_reply_error(PhApiReply *reply, unsigned status, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        reply_verror(reply, status, fmt, ap);
        va_end(ap);
        return 0;
}

int api_reply_text(PhApiReply *reply, unsigned status, const char *content_type, char *text) {
        (void) api_reply_json(reply, status, NULL);
        reply->text = text;
        reply->content_type = content_type;
        return 0;
}

void api_reply_header(PhApiReply *reply, const char *name, const char *value) {
        size_t n = reply->headers ? strv_length(reply->headers) : 0;

        reply->headers = xrealloc(reply->headers, sizeof(char *) * (n + 2));
        reply->headers[n] = xasprintf("%s: %s", name, value);
        reply->headers[n + 1] = NULL;
}

static void reply_clear(PhApiReply *reply) {
        json_decref(reply->json);
        free(reply->text);
        strv_free(reply->headers);
        *reply = (PhApiReply){0};
}

const char *api_request_header(const PhApiRequest *req, const char *name) {
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *api_request_query(const PhApiRequest *req, const char *key) {
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_reply(PhApiServer *s, struct MHD_Connection *c, const char *method,
                                  const char *url, PhApiReply *reply) {
        unsigned status = reply->status ? reply->status : MHD_HTTP_OK;
        const char *type = NULL;
        char *body;
        size_t len;

        if (reply->json) {
                /* Last line of defence: whatever a handler put in, no secret value leaves. */
                _cleanup_strv_free_ char **values =
                        s && s->secret_values ? s->secret_values(s->secret_userdata) : NULL;
                secret_redact_deep(reply->json, values);
                char *dump = json_dumps(reply->json, JSON_INDENT(2) | JSON_ENCODE_ANY);
                if (!dump)
                        abort();
                body = xasprintf("%s\n", dump);
                free(dump);
                type = "application/json";
        } else if (reply->text) {
                body = TAKE_PTR(reply->text);
                type = reply->content_type ? reply->content_type : "text/plain; charset=utf-8";
        } else
                body = xstrdup("");
        len = strlen(body);

        struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                reply_clear(reply);
                return MHD_NO;
        }
        if (type)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        (void) MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        for (char **h = reply->headers; h && *h; h++) {
                char *colon = strchr(*h, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                (void) MHD_add_response_header(resp, *h, colon + 1 + strspn(colon + 1, " "));
        }
        enum MHD_Result r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        log_debug("%s %s: %u", method, url, status);
        reply_clear(reply);
        return r;
}

static enum MHD_Result send_error(struct MHD_Connection *c, const char *method, const char *url,
                                  unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static enum MHD_Result send_error(struct MHD_Connection *c, const char *method, const char *url,
                                  unsigned status, const char *fmt, ...) {
        PhApiReply reply = {0};
        va_list ap;

        va_start(ap, fmt);
        reply_verror(&reply, status, fmt, ap);
        va_end(ap);
        if (status == MHD_HTTP_UNAUTHORIZED)
                api_reply_header(&reply, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"podhook\"");
        return send_reply(NULL, c, method, url, &reply);
}

static bool request_has_body(struct MHD_Connection *c, uint64_t *ret_length, bool *ret_chunked) {
        const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

        *ret_chunked = te && strcasestr(te, "chunked");
        *ret_length = 0;
        if (cl) {
                /* MHD refused a malformed Content-Length already; one too large for 64 bits is large. */
                errno = 0;
                unsigned long long v = strtoull(cl, NULL, 10);
                *ret_length = errno == ERANGE ? UINT64_MAX : v;
        }
        return *ret_chunked || *ret_length > 0;
}

/* The first call, with the headers only: every refusal that needs no body is made here, so MHD never
 * reads the body of a refused request. */
static enum MHD_Result first_call(PhApiServer *s, struct MHD_Connection *c, ApiConn *ac, const char *path,
                                  const char *method) {
        const char *url = ac->shown;
        size_t index;
        uint64_t length;
        bool chunked;

        switch (api_route_find(s->routes, s->n_routes, method, path, &index, &ac->param)) {
        case PH_API_MATCH_FOUND:
                break;
        case PH_API_MATCH_NO_PATH:
                return send_error(c, method, url, MHD_HTTP_NOT_FOUND, "no such endpoint: %s", url);
        case PH_API_MATCH_NO_METHOD: {
                PhApiReply reply = {0};
                _cleanup_free_ char *allow = api_route_allow(s->routes, s->n_routes, path);
                (void) api_reply_error(&reply, MHD_HTTP_METHOD_NOT_ALLOWED, "%s takes %s, not %s", url, allow,
                                       method);
                api_reply_header(&reply, MHD_HTTP_HEADER_ALLOW, allow);
                return send_reply(NULL, c, method, url, &reply);
        }
        }
        ac->route = index;
        const PhApiRoute *route = &s->routes[index];

        if (route->flags & PH_API_TOKEN) {
                const char *auth =
                        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
                switch (api_auth_check(s->token, auth)) {
                case PH_API_AUTH_OK:
                        break;
                case PH_API_AUTH_MISSING:
                        return send_error(c, method, url, MHD_HTTP_UNAUTHORIZED,
                                          "%s %s needs the API token (Authorization: Bearer TOKEN)", method,
                                          url);
                case PH_API_AUTH_WRONG:
                        return send_error(c, method, url, MHD_HTTP_UNAUTHORIZED, "wrong API token");
                case PH_API_AUTH_NOT_CONFIGURED:
                        return send_error(c, method, url, MHD_HTTP_FORBIDDEN,
                                          "%s %s changes the agent, which needs --api-token-file; none is "
                                          "configured",
                                          method, url);
                }
        }

        if (request_has_body(c, &length, &chunked)) {
                if (!(route->flags & (PH_API_BODY | PH_API_BODY_JSON)))
                        return send_error(c, method, url, MHD_HTTP_BAD_REQUEST, "%s %s takes no request body",
                                          method, url);
                if (length > s->body_max)
                        return send_error(c, method, url, MHD_HTTP_CONTENT_TOO_LARGE,
                                          "request body of %llu bytes is larger than the limit of %zu bytes",
                                          (unsigned long long) length, s->body_max);
        }
        return MHD_YES;
}

/* A piece of body: kept up to the limit, counted beyond it. MHD_NO closes the connection. */
static enum MHD_Result take_body(PhApiServer *s, ApiConn *ac, const char *data, size_t size) {
        if (event_now() - ac->started > API_BODY_DEADLINE_USEC) {
                log_debug("closing a connection whose request body is not complete after %u s",
                          API_BODY_DEADLINE_USEC / 1000000u);
                return MHD_NO;
        }
        if (ac->discarded > 0 || ac->len + size > s->body_max) {
                free(ac->body);
                ac->body = NULL;
                ac->discarded += size;
                return ac->discarded > API_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        if (ac->len + size + 1 > ac->cap) {
                ac->cap = ac->cap ? ac->cap * 2 : 4096;
                while (ac->cap < ac->len + size + 1)
                        ac->cap *= 2;
                if (ac->cap > s->body_max + 1)
                        ac->cap = s->body_max + 1;
                ac->body = xrealloc(ac->body, ac->cap);
        }
        memcpy(ac->body + ac->len, data, size);
        ac->len += size;
        ac->body[ac->len] = '\0';
        return MHD_YES;
}

/* The last call: the whole request is there. */
static enum MHD_Result final_call(PhApiServer *s, struct MHD_Connection *c, ApiConn *ac, const char *path,
                                  const char *method) {
        const char *url = ac->shown;
        const PhApiRoute *route = &s->routes[ac->route];
        json_auto_t *json = NULL;
        PhApiReply reply = {0};

        if (ac->discarded > 0)
                return send_error(c, method, url, MHD_HTTP_CONTENT_TOO_LARGE,
                                  "chunked request body of %zu bytes is larger than the limit of %zu bytes",
                                  ac->len + ac->discarded, s->body_max);
        if (route->flags & PH_API_BODY_JSON) {
                json_error_t jerr;
                if (ac->len == 0)
                        return send_error(c, method, url, MHD_HTTP_BAD_REQUEST, "%s %s needs a JSON body",
                                          method, url);
                json = json_loadb(ac->body, ac->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
                if (!json) {
                        secret_cut_json_error(jerr.text);
                        return send_error(c, method, url, MHD_HTTP_BAD_REQUEST,
                                          "the body is not JSON: line %d, column %d: %s", jerr.line,
                                          jerr.column, jerr.text);
                }
        }

        PhApiRequest req = {
                .method = method,
                .path = path,
                .param = ac->param,
                .body = ac->body ? ac->body : "",
                .body_len = ac->len,
                .json = json,
                .conn = c,
        };
        int r = route->handler(&req, &reply, route->userdata);
        if (r < 0) {
                log_warning("%s %s failed: %s", method, route->pattern, strerror(-r));
                reply_clear(&reply);
                return send_error(c, method, url, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        }
        return send_reply(s, c, method, url, &reply);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        PhApiServer *s = cls;
        ApiConn *ac = *con_cls;

        if (!ac) {
                ac = xcalloc(1, sizeof(*ac));
                ac->server = s;
                ac->started = event_now();
                ac->shown = api_printable(url, 256);
                *con_cls = ac;
                return first_call(s, c, ac, url, method);
        }
        if (*upload_data_size > 0) {
                enum MHD_Result r = take_body(s, ac, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return r;
        }
        return final_call(s, c, ac, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        conn_free(*con_cls);
        *con_cls = NULL;
}

static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s) {
        return api_path_unescape(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        char buf[512];

        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = '\0';
        log_debug("libmicrohttpd: %s", buf);
}

/* MHD_run handles what is ready without waiting; its timeout then says when to look again (0 when
 * it has data in hand already, none when no connection can time out). */
static void api_arm(PhApiServer *s) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(s->mhd, &ms) != MHD_YES) {
                (void) event_source_set_enabled(s->timer, false);
                return;
        }
        if (ms > 3600u * 1000u)
                ms = 3600u * 1000u;
        (void) event_source_set_time_relative(s->timer, (uint64_t) ms * 1000u);
}

static unsigned api_connections(PhApiServer *s) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        return info ? info->num_connections : 0;
}

static void api_run(PhApiServer *s) {
        unsigned before, after = api_connections(s);

        /* MHD takes its listening socket out of its epoll set at the connection limit and puts it back
         * only at the start of a run: a run that closed connections is followed by another, or a
         * client waiting in the listen queue would wait for the next timeout. */
        do {
                before = after;
                (void) MHD_run(s->mhd);
                after = api_connections(s);
        } while (after < before);
        api_arm(s);
}

static int on_io(PhEventSource *src, int fd, uint32_t revents, void *userdata) {
        api_run(userdata);
        return 0;
}

static int on_timer(PhEventSource *src, uint64_t usec, void *userdata) {
        api_run(userdata);
        return 0;
}

/* A socket file at path: a stale one (nobody listens) is removed; a live one, or anything else, is
 * not ours to replace. */
static int unix_clear(const char *path, const char *address, PhError **err) {
        struct stat st;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return ph_error_set(err, errno, "API address %s: %s", address, strerror(errno));
        }
        if (!S_ISSOCK(st.st_mode))
                return ph_error_set(err, EEXIST,
                                    "API address %s: the path exists and is not a socket; not replaced",
                                    address);
        _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
        if (probe < 0)
                return ph_error_set(err, errno, "API address %s: socket: %s", address, strerror(errno));
        if (connect(probe, (struct sockaddr *) &un, sizeof(un)) == 0)
                return ph_error_set(err, EADDRINUSE, "API address %s: another server listens there", address);
        if (errno != ECONNREFUSED)
                return ph_error_set(err, errno, "API address %s: %s", address, strerror(errno));
        if (unlink(path) < 0 && errno != ENOENT)
                return ph_error_set(err, errno, "API address %s: removing the stale socket: %s", address,
                                    strerror(errno));
        log_info("removed the stale socket %s", path);
        return 0;
}

static int api_listen(PhApiServer *s, const PhApiAddress *a, const char *address, mode_t mode,
                      PhError **err) {
        int family = a->sa.ss_family;
        _cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        const int one = 1;
        int r;

        if (fd < 0)
                return ph_error_set(err, errno, "API address %s: socket: %s", address, strerror(errno));
        if (family == AF_UNIX) {
                const char *path = ((const struct sockaddr_un *) &a->sa)->sun_path;
                r = unix_clear(path, address, err);
                if (r < 0)
                        return r;
        } else {
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (family == AF_INET6)
                        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        if (bind(fd, (const struct sockaddr *) &a->sa, a->len) < 0)
                return ph_error_set(err, errno, "API address %s: bind: %s", address, strerror(errno));
        if (family == AF_UNIX) {
                const char *path = ((const struct sockaddr_un *) &a->sa)->sun_path;
                struct stat st;
                /* Before listen() nobody can connect, so the mode holds from the first connection on. */
                if (chmod(path, mode) < 0 || lstat(path, &st) < 0) {
                        r = ph_error_set(err, errno, "API address %s: %s", address, strerror(errno));
                        (void) unlink(path);
                        return r;
                }
                s->unix_path = xstrdup(path);
                s->unix_dev = st.st_dev;
                s->unix_ino = st.st_ino;
        }
        if (listen(fd, (int) API_CONNECTION_LIMIT) < 0)
                return ph_error_set(err, errno, "API address %s: listen: %s", address, strerror(errno));

        PhApiAddress bound = *a;
        if (family != AF_UNIX) {
                bound.len = sizeof(bound.sa);
                if (getsockname(fd, (struct sockaddr *) &bound.sa, &bound.len) < 0)
                        return ph_error_set(err, errno, "API address %s: %s", address, strerror(errno));
        }
        s->address = api_address_format(&bound);
        return TAKE_FD(fd);
}

static int healthz(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        return api_reply_json(reply, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

int api_server_new(PhEvent *e, const PhApiConfig *cfg, PhApiServer **ret, PhError **err) {
        _cleanup_(api_server_freep) PhApiServer *s = NULL;
        PhApiAddress a;
        mode_t mode = cfg->unix_mode ? cfg->unix_mode : API_UNIX_MODE;
        int r;

        r = api_address_parse(cfg->address, &a, err);
        if (r < 0)
                return r;
        if (a.sa.ss_family != AF_UNIX && !a.loopback && !cfg->allow_remote)
                return ph_error_set(
                        err, EPERM,
                        "API address %s is not a loopback address: the API has no TLS, so it listens on "
                        "127.0.0.1, [::1] or a unix socket (put a TLS proxy in front to reach it from "
                        "elsewhere)",
                        cfg->address);
        if (mode != 0600 && mode != 0660)
                return ph_error_set(err, EINVAL, "API unix socket mode %04o: 0600 or 0660", (unsigned) mode);
        if (!MHD_is_feature_supported(MHD_FEATURE_EPOLL))
                return ph_error_set(err, ENOTSUP, "this libmicrohttpd has no epoll support");

        s = xcalloc(1, sizeof(*s));
        s->event = e;
        s->body_max = cfg->body_max ? cfg->body_max : API_BODY_MAX;
        s->secret_values = cfg->secret_values;
        s->secret_userdata = cfg->secret_userdata;
        if (cfg->token_file) {
                r = api_token_load(cfg->token_file, &s->token, err);
                if (r < 0)
                        return r;
        }
        r = api_server_add_route(s, &(PhApiRoute){"GET", "/healthz", 0, healthz, NULL}, err);
        if (r < 0)
                return r;

        int fd = api_listen(s, &a, cfg->address, mode, err);
        if (fd < 0)
                return fd;
        s->mhd = MHD_start_daemon(
                MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                on_mhd_log, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                (unsigned) (cfg->connection_limit ? cfg->connection_limit : API_CONNECTION_LIMIT),
                MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned) (cfg->timeout_sec ? cfg->timeout_sec : API_TIMEOUT_SEC),
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s,
                MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
        /* On failure the socket is not closed here: MHD closes it on some of its failure paths and not
         * on others. A socket left open by a failed start (the agent stops then) is harmless; a second
         * close of a number reused meanwhile would not be. */
        if (!s->mhd)
                return ph_error_set(err, EIO, "API address %s: libmicrohttpd did not start", cfg->address);

        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return ph_error_set(err, EIO, "API: libmicrohttpd has no epoll fd");
        r = event_add_io(e, &s->io, info->epoll_fd, EPOLLIN, on_io, s);
        if (r < 0)
                return ph_error_set(err, r, "API: watching libmicrohttpd's epoll fd: %s", strerror(-r));
        event_source_set_description(s->io, "status API");
        r = event_add_time_relative(e, &s->timer, 0, on_timer, s);
        if (r < 0)
                return ph_error_set(err, r, "API: timer: %s", strerror(-r));
        event_source_set_description(s->timer, "status API timeouts");
        api_arm(s);
        log_info("status API listening on %s", s->address);
        *ret = TAKE_PTR(s);
        return 0;
}

PhApiServer *api_server_free(PhApiServer *s) {
        struct stat st;

        if (!s)
                return NULL;
        event_source_unref(s->io);
        event_source_unref(s->timer);
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        /* Only the file we made: another server may have taken the path since. */
        if (s->unix_path && lstat(s->unix_path, &st) == 0 && st.st_dev == s->unix_dev &&
            st.st_ino == s->unix_ino)
                (void) unlink(s->unix_path);
        for (size_t i = 0; i < s->n_routes; i++) {
                free((char *) s->routes[i].method);
                free((char *) s->routes[i].pattern);
        }
        free(s->routes);
        if (s->token)
                explicit_bzero(s->token, strlen(s->token));
        free(s->token);
        free(s->address);
        free(s->unix_path);
        free(s);
        return NULL;
}

int api_server_add_route(PhApiServer *s, const PhApiRoute *route, PhError **err) {
        int r = api_pattern_check(route->method, route->pattern, err);
        if (r < 0)
                return r;
        if (!route->handler)
                return ph_error_set(err, EINVAL, "route %s %s has no handler", route->method, route->pattern);
        for (size_t i = 0; i < s->n_routes; i++)
                if (strcmp(s->routes[i].method, route->method) == 0 &&
                    strcmp(s->routes[i].pattern, route->pattern) == 0)
                        return ph_error_set(err, EEXIST, "route %s %s is there already", route->method,
                                            route->pattern);
        s->routes = xrealloc(s->routes, sizeof(PhApiRoute) * (s->n_routes + 1));
        PhApiRoute *copy = &s->routes[s->n_routes++];
        *copy = *route;
        copy->method = xstrdup(route->method);
        copy->pattern = xstrdup(route->pattern);
        return 0;
}

const char *api_server_address(const PhApiServer *s) {
        return s->address;
}

int api_server_reload_token(PhApiServer *s, const char *token_file, PhError **err) {
        char *token = NULL;

        if (token_file) {
                int r = api_token_load(token_file, &token, err);
                if (r < 0)
                        return r;
        }
        if (s->token)
                explicit_bzero(s->token, strlen(s->token));
        free(s->token);
        s->token = token;
        return 0;
}
