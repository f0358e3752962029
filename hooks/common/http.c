#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/http.h"

PH_DEFINE_CLEANUP(CURL *, curl_easy_cleanup)
PH_DEFINE_CLEANUP(CURLM *, curl_multi_cleanup)
PH_DEFINE_CLEANUP(struct curl_slist *, curl_slist_free_all)

#define DEFAULT_MAX_BODY (64u * 1024u * 1024u)

typedef struct Transfer {
        const PhHttpRequest *req;
        CURL *curl;
        struct curl_slist *hdrs;
        char *body;
        size_t len;
        size_t cap; /* allocated for body, without the NUL */
        char **resp_headers;
        size_t n_resp_headers;
        bool too_big;
        bool consumer_failed;
        char errbuf[CURL_ERROR_SIZE];
} Transfer;

int http_global_init(PhError **reterr) {
        CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (c != CURLE_OK)
                return ph_error_set(reterr, EIO, "curl_global_init: %s", curl_easy_strerror(c));
        return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;
        size_t max = t->req->max_body ? t->req->max_body : DEFAULT_MAX_BODY;

        if (t->req->on_data) {
                if (t->req->on_data(ptr, n, t->req->userdata) < 0) {
                        t->consumer_failed = true;
                        return 0;
                }
                return n;
        }
        if (t->len + n > max) {
                t->too_big = true;
                return 0; /* makes curl fail with CURLE_WRITE_ERROR */
        }
        /* Doubling: a large answer arrives in many small chunks. */
        if (t->len + n > t->cap) {
                t->cap = t->cap ? t->cap : 4096;
                while (t->len + n > t->cap)
                        t->cap *= 2;
                t->body = xrealloc(t->body, t->cap + 1);
        }
        memcpy(t->body + t->len, ptr, n);
        t->len += n;
        t->body[t->len] = '\0';
        return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;

        /* A new status line starts a new header block (after 100-continue or a redirect). */
        if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                for (size_t i = 0; i < t->n_resp_headers; i++)
                        free(t->resp_headers[i]);
                t->n_resp_headers = 0;
        }
        while (n > 0 && (ptr[n - 1] == '\r' || ptr[n - 1] == '\n'))
                n--;
        if (n == 0 || !memchr(ptr, ':', n))
                return size * nmemb;
        t->resp_headers = xrealloc(t->resp_headers, sizeof(char *) * (t->n_resp_headers + 2));
        t->resp_headers[t->n_resp_headers++] = xstrndup(ptr, n);
        t->resp_headers[t->n_resp_headers] = NULL;
        return size * nmemb;
}

static void transfer_done(Transfer *t) {
        if (t->curl)
                curl_easy_cleanup(t->curl);
        curl_slist_free_all(t->hdrs);
        free(t->body);
        for (size_t i = 0; i < t->n_resp_headers; i++)
                free(t->resp_headers[i]);
        free(t->resp_headers);
        *t = (Transfer){};
}

static int transfer_setup(Transfer *t, const PhHttpRequest *req, PhError **reterr) {
        const char *method = req->method ? req->method : "GET";

        *t = (Transfer){.req = req};
        t->curl = curl_easy_init();
        if (!t->curl)
                return ph_error_set(reterr, ENOMEM, "curl_easy_init failed");
        CURL *c = t->curl;
        curl_easy_setopt(c, CURLOPT_URL, req->url);
        /* Pre-signed URLs are signed over their path: no "/./" or "/../" squashing. */
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L);
        if (req->timeout_ms > 0)
                curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
        if (req->low_speed_secs > 0) {
                curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
                curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req->low_speed_secs);
        }
        if (req->unix_socket)
                curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
        if (req->direct)
                curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        if (req->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
        if (req->cert_file)
                curl_easy_setopt(c, CURLOPT_SSLCERT, req->cert_file);
        if (req->key_file)
                curl_easy_setopt(c, CURLOPT_SSLKEY, req->key_file);
        /* Only plain HTTP(S); a redirect is an answer the caller looks at, never followed blindly. */
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);

        if (strcmp(method, "GET") == 0)
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        else if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t) (req->body ? req->body_len : 0));
        }
        /* curl adds "Expect: 100-continue" for large bodies; some servers stall on it. */
        t->hdrs = curl_slist_append(t->hdrs, "Expect:");
        for (const char *const *h = req->headers; h && *h; h++)
                t->hdrs = curl_slist_append(t->hdrs, *h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->hdrs);
        return 0;
}

static int transfer_finish(Transfer *t, CURLcode cc, PhHttpResponse *ret, PhError **reterr) {
        _cleanup_free_ char *where = http_url_redact(t->req->url);

        if (cc != CURLE_OK) {
                int code = EIO;
                if (cc == CURLE_OPERATION_TIMEDOUT)
                        code = ETIMEDOUT;
                else if (cc == CURLE_COULDNT_CONNECT)
                        code = ECONNREFUSED;
                else if (cc == CURLE_COULDNT_RESOLVE_HOST)
                        code = EHOSTUNREACH;
                if (t->too_big)
                        return ph_error_set(reterr, EFBIG, "%s %s: response larger than %zu bytes",
                                            t->req->method ? t->req->method : "GET", where,
                                            t->req->max_body ? t->req->max_body : DEFAULT_MAX_BODY);
                if (t->consumer_failed)
                        return ph_error_set(reterr, ECANCELED, "%s %s: aborted by the reader",
                                            t->req->method ? t->req->method : "GET", where);
                return ph_error_set(reterr, code, "%s %s: %s", t->req->method ? t->req->method : "GET", where,
                                    t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc));
        }
        *ret = (PhHttpResponse){};
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &ret->status);
        ret->body = TAKE_PTR(t->body);
        ret->body_len = t->len;
        ret->headers = TAKE_PTR(t->resp_headers);
        t->n_resp_headers = 0;
        return 0;
}

/* Headers and the whole body went out (into the socket: whether the peer read them is unknown). */
static bool transfer_sent(const Transfer *t) {
        curl_off_t up = 0;
        long head = 0;

        if (curl_easy_getinfo(t->curl, CURLINFO_REQUEST_SIZE, &head) != CURLE_OK || head <= 0)
                return false;
        if (!t->req->body || t->req->body_len == 0)
                return true;
        return curl_easy_getinfo(t->curl, CURLINFO_SIZE_UPLOAD_T, &up) == CURLE_OK && up >= 0 &&
               (size_t) up >= t->req->body_len;
}

static int request_once(const PhHttpRequest *req, PhHttpResponse *ret, PhError **reterr) {
        _cleanup_(transfer_done) Transfer t = {};
        int r;

        /* Only a multi handle can watch one more fd while it waits. */
        if (req->cancel)
                return http_request_parallel(req, 1, ret, reterr);
        r = transfer_setup(&t, req, reterr);
        if (r < 0)
                return r;
        CURLcode cc = curl_easy_perform(t.curl);
        r = transfer_finish(&t, cc, ret, reterr);
        if (r < 0) {
                *ret = (PhHttpResponse){.request_sent = transfer_sent(&t)};
                curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &ret->status);
        } else
                ret->request_sent = true;
        return r;
}

/* "scheme://host:port" of an absolute http(s) URL, lower case, the port filled in; NULL if unparsable. */
static char *url_origin(const char *url) {
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

        if (!u)
                abort();
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
                o = xasprintf("%s://%s:%s", scheme, host, port);
                for (char *p = o; *p; p++)
                        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        }
        curl_free(scheme), curl_free(host), curl_free(port);
        curl_url_cleanup(u);
        return o;
}

/* Where a redirect answer points when it may be followed: 301/302/307/308 with a Location on the
 * same origin as url, absolute or an absolute path (sent byte-for-byte, like url). NULL otherwise. */
static char *redirect_target(const char *url, const PhHttpResponse *resp) {
        const char *loc = http_response_header(resp, "Location");

        if (!(resp->status == 301 || resp->status == 302 || resp->status == 307 || resp->status == 308) ||
            !loc || !*loc)
                return NULL;
        if (loc[0] == '/' && loc[1] != '/') {
                const char *scheme_end = strstr(url, "://");
                if (!scheme_end)
                        return NULL;
                size_t origin_len = (size_t) (scheme_end + 3 - url) + strcspn(scheme_end + 3, "/?#");
                return xasprintf("%.*s%s", (int) origin_len, url, loc);
        }
        _cleanup_free_ char *a = url_origin(url), *b = url_origin(loc);
        if (!a || !b || strcmp(a, b) != 0)
                return NULL;
        return xstrdup(loc);
}

int http_request(const PhHttpRequest *req, PhHttpResponse *ret, PhError **reterr) {
        PhHttpRequest hop = *req;
        _cleanup_free_ char *url = NULL;

        for (unsigned n = 0;; n++) {
                PhHttpResponse resp = {};
                int r = request_once(&hop, &resp, reterr);
                if (r < 0) {
                        *ret = resp;
                        return r;
                }
                char *next = n < req->max_redirects ? redirect_target(hop.url, &resp) : NULL;
                if (!next) {
                        *ret = resp;
                        return 0;
                }
                http_response_done(&resp);
                free(url);
                hop.url = url = next;
        }
}

bool http_cancel_requested(const PhHttpCancel *c) {
        return c && c->cancelled && c->cancelled(c->userdata);
}

/* Waits for the transfers (at most 1 s) and for the cancel fd; *ret_cancelled when it says abort. */
static CURLMcode multi_wait(CURLM *m, const PhHttpCancel *c, bool *ret_cancelled) {
        struct curl_waitfd w = {.fd = c ? c->fd : -1, .events = CURL_WAIT_POLLIN};
        bool watch = c && c->fd >= 0;
        CURLMcode mc = curl_multi_poll(m, watch ? &w : NULL, watch ? 1 : 0, 1000, NULL);

        if (mc == CURLM_OK && watch && (w.revents & CURL_WAIT_POLLIN))
                *ret_cancelled = !c->cancelled || c->cancelled(c->userdata);
        return mc;
}

int http_request_parallel(const PhHttpRequest *reqs, size_t n, PhHttpResponse *rets, PhError **reterr) {
        _cleanup_(curl_multi_cleanupp) CURLM *m = curl_multi_init();
        _cleanup_free_ Transfer *ts = xcalloc(n, sizeof(Transfer));
        int result = 0, running = 0;

        if (!m)
                return ph_error_set(reterr, ENOMEM, "curl_multi_init failed");
        for (size_t i = 0; i < n; i++) {
                int r = transfer_setup(&ts[i], &reqs[i], reterr);
                if (r < 0) {
                        for (size_t j = 0; j <= i; j++)
                                transfer_done(&ts[j]);
                        return r;
                }
                curl_multi_add_handle(m, ts[i].curl);
        }
        const PhHttpCancel *cancel = n > 0 ? reqs[0].cancel : NULL;
        bool cancelled = http_cancel_requested(cancel);
        while (!cancelled) {
                CURLMcode mc = curl_multi_perform(m, &running);
                if (mc == CURLM_OK && running)
                        mc = multi_wait(m, cancel, &cancelled);
                if (mc != CURLM_OK) {
                        result = ph_error_set(reterr, EIO, "curl multi: %s", curl_multi_strerror(mc));
                        break;
                }
                if (!running)
                        break;
        }
        if (cancelled) {
                _cleanup_free_ char *where = http_url_redact(reqs[0].url);
                result = ph_error_set(reterr, ECANCELED, "%s %s: cancelled",
                                      reqs[0].method ? reqs[0].method : "GET", where);
        }

        CURLMsg *msg;
        int left;
        while (!cancelled && (msg = curl_multi_info_read(m, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                for (size_t i = 0; i < n; i++) {
                        if (ts[i].curl != msg->easy_handle)
                                continue;
                        _cleanup_error_ PhError *err = NULL;
                        int r = transfer_finish(&ts[i], msg->data.result, &rets[i], &err);
                        /* As request_once says it: a request that went out in full may have been acted on. */
                        if (r < 0) {
                                rets[i] = (PhHttpResponse){.request_sent = transfer_sent(&ts[i]), .error = r};
                                curl_easy_getinfo(ts[i].curl, CURLINFO_RESPONSE_CODE, &rets[i].status);
                        } else
                                rets[i].request_sent = true;
                        if (r < 0 && result == 0) {
                                result = r;
                                if (reterr) {
                                        ph_error_free(*reterr);
                                        *reterr = TAKE_PTR(err);
                                }
                        }
                }
        }
        for (size_t i = 0; i < n; i++) {
                /* Cancelled: nothing is filled but whether it went out. */
                if (cancelled)
                        rets[i] = (PhHttpResponse){.request_sent = transfer_sent(&ts[i])};
                curl_multi_remove_handle(m, ts[i].curl);
                transfer_done(&ts[i]);
        }
        return result;
}

void http_response_done(PhHttpResponse *r) {
        if (!r)
                return;
        free(r->body);
        for (char **h = r->headers; h && *h; h++)
                free(*h);
        free(r->headers);
        *r = (PhHttpResponse){};
}

const char *http_response_header(const PhHttpResponse *r, const char *name) {
        size_t n = strlen(name);

        for (char **h = r->headers; h && *h; h++) {
                if (strncasecmp(*h, name, n) != 0 || (*h)[n] != ':')
                        continue;
                const char *v = *h + n + 1;
                while (*v == ' ' || *v == '\t')
                        v++;
                return v;
        }
        return NULL;
}

char *http_url_redact(const char *url) {
        size_t cut = strcspn(url, "?#");
        /* Only the part before the query: a "://" or "@" inside it says nothing about the URL's structure. */
        const char *scheme_end = memmem(url, cut, "://", 3);
        const char *start = scheme_end ? scheme_end + 3 : url;
        const char *at = memrchr(start, '@', strcspn(start, "/?#"));

        if (at) {
                /* drop user:password@ */
                size_t scheme_len = (size_t) (start - url);
                _cleanup_free_ char *head = xstrndup(url, scheme_len);
                _cleanup_free_ char *tail = xstrndup(at + 1, cut - (size_t) (at + 1 - url));
                return xasprintf("%s%s", head, tail);
        }
        return xstrndup(url, cut);
}

char *http_escape(const char *s) {
        char *e = curl_easy_escape(NULL, s, 0);
        if (!e)
                abort();
        char *copy = xstrdup(e);
        curl_free(e);
        return copy;
}
