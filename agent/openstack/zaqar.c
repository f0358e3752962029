#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/fileio.h"
#include "openstack/zaqar.h"

/* Between the UUID epoch (1582-10-15) and the Unix epoch, in 100 ns ticks (RFC 4122). */
#define UUID_EPOCH_OFFSET 0x01B21DD213814000LL

static char *uuid4(void) {
        unsigned char b[16];
        size_t got = 0;

        while (got < sizeof(b)) {
                ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        abort(); /* no entropy source at all: nothing sensible to go on with */
                }
                got += (size_t) n;
        }
        b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
        return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                         b[15]);
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

bool zaqar_uuid_valid(const char *s) {
        if (!s || strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : hexval(s[i]) < 0)
                        return false;
        }
        return true;
}

char *zaqar_client_id(const char *state_dir, bool create) {
        if (!state_dir)
                return uuid4();
        _cleanup_free_ char *path = xasprintf("%s/%s", state_dir, ZAQAR_CLIENT_ID_FILE);
        _cleanup_free_ char *text = NULL;
        size_t len;

        if (file_read_all(path, 256, &text, &len, NULL) == 0) {
                while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
                        text[--len] = '\0';
                if (zaqar_uuid_valid(text))
                        return TAKE_PTR(text);
        }
        char *id = uuid4();
        if (create) {
                _cleanup_free_ char *line = xasprintf("%s\n", id);
                (void) file_write_atomic(path, line, strlen(line), 0600, NULL);
        }
        return id;
}

bool zaqar_queue_name_valid(const char *queue) {
        size_t n = queue ? strlen(queue) : 0;

        if (n == 0 || n > 64)
                return false;
        return strspn(queue, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

char *zaqar_queue_path(const char *queue, const char *suffix) {
        _cleanup_free_ char *q = http_escape(queue);
        return xasprintf("/v2/queues/%s%s", q, suffix ? suffix : "");
}

int64_t zaqar_now_ticks(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 10000000 + ts.tv_nsec / 100;
}

static bool hex_field(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                int h = hexval(s[i]);
                if (h < 0)
                        return false;
                v = v << 4 | (uint64_t) h;
        }
        *ret = v;
        return true;
}

bool zaqar_uuid1_ticks(const char *id, int64_t *ret) {
        uint64_t low, mid, hi;

        if (!zaqar_uuid_valid(id) || id[14] != '1' || !strchr("89abAB", id[19]))
                return false;
        if (!hex_field(id, 8, &low) || !hex_field(id + 9, 4, &mid) || !hex_field(id + 15, 3, &hi))
                return false;
        *ret = (int64_t) (hi << 48 | mid << 32 | low) - UUID_EPOCH_OFFSET;
        return true;
}

int64_t zaqar_message_created(const json_t *m, int64_t now_ticks) {
        int64_t t;
        const json_t *age = json_object_get(m, "age");

        if (zaqar_uuid1_ticks(json_string_value(json_object_get(m, "id")), &t))
                return t;
        double a = json_number_value(age);

        /* NaN fails both comparisons; a billion seconds is beyond any TTL Zaqar allows. */
        if (!json_is_number(age) || !(a >= 0 && a <= 1e9))
                return INT64_MIN;
        return now_ticks - (int64_t) (a * 1e7 + 0.5);
}

bool zaqar_message_newer(int64_t a_created, const char *a_id, int64_t b_created, const char *b_id) {
        if (a_created != b_created)
                return a_created > b_created;
        return strcmp(a_id ? a_id : "", b_id ? b_id : "") > 0;
}

int zaqar_list(PhKeystone *k, const PhHttpRequest *base, const char *client_id, const char *queue,
               json_t **ret, PhError **reterr) {
        _cleanup_free_ char *cid = xasprintf("Client-ID: %s", client_id);
        const char *headers[] = {"Accept: application/json", cid, NULL};
        _cleanup_free_ char *first =
                zaqar_queue_path(queue, "/messages?echo=true&include_claimed=true&limit=20");
        _cleanup_free_ char *next = xstrdup(first);
        _cleanup_free_ char *listing = zaqar_queue_path(queue, "/messages");
        _cleanup_free_ char *what = xasprintf("GET <messaging>%s", listing);
        json_auto_t *all = json_array();
        int r;

        for (unsigned page = 0; next && page < ZAQAR_MAX_PAGES; page++) {
                _cleanup_(http_response_done) PhHttpResponse resp = {};
                PhHttpRequest req = *base;
                req.method = "GET";
                req.url = next;
                req.headers = headers;
                req.body = NULL;
                req.body_len = 0;
                r = keystone_call(k, "messaging", &req, &resp, reterr);
                if (r < 0)
                        return r;
                if (resp.status == 204) /* Zaqar v1.0's "nothing there" */
                        break;
                if (resp.status < 200 || resp.status > 299)
                        return ph_error_set(reterr,
                                            resp.status == 401 || resp.status == 403 ? EACCES : EPROTO,
                                            "%s: HTTP %ld", what, resp.status);
                json_error_t jerr;
                json_auto_t *doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &jerr);
                json_t *msgs = json_object_get(doc, "messages"); /* borrowed */
                if (!json_is_array(msgs))
                        return ph_error_set(reterr, EBADMSG, "%s: the answer has no \"messages\" list", what);
                if (json_array_size(msgs) == 0)
                        break;
                json_array_extend(all, msgs);
                free(next);
                next = NULL;
                size_t i;
                json_t *l;
                json_array_foreach(json_object_get(doc, "links"), i, l) {
                        const char *rel = json_string_value(json_object_get(l, "rel"));
                        const char *href = json_string_value(json_object_get(l, "href"));
                        /* A path below the endpoint; anything else would leave it. */
                        if (rel && strcmp(rel, "next") == 0 && href && href[0] == '/' && href[1] != '/')
                                next = xstrdup(href);
                }
        }
        *ret = TAKE_PTR(all);
        return 0;
}

const json_t *zaqar_newest(const json_t *messages, int64_t now_ticks, int64_t *ret_created) {
        const json_t *best = NULL, *m;
        int64_t best_created = 0;
        size_t i;

        json_array_foreach(messages, i, m) {
                if (!json_is_object(json_object_get(m, "body")))
                        continue;
                int64_t c = zaqar_message_created(m, now_ticks);
                const char *id = json_string_value(json_object_get(m, "id"));
                if (!best || zaqar_message_newer(c, id, best_created,
                                                 json_string_value(json_object_get(best, "id")))) {
                        best = m;
                        best_created = c;
                }
        }
        if (ret_created)
                *ret_created = best_created;
        return best;
}
