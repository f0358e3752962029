/* ZAQAR_MESSAGE: Heat posts the server's whole metadata to a Zaqar queue on every change (TTL one
 * hour), so the youngest message is the current metadata. os-collect-config pops one message per
 * poll, oldest first, and a crash after the pop loses it. Here every message is claimed (a claim
 * runs out and its messages come back if the agent dies), the newest is taken and kept in the state
 * dir, and the claimed messages are deleted only in commit, once the agent has stored the metadata.
 * An empty queue means "no change", after a restart too. See docs/zaqar.md. */
#include <errno.h>
#include <string.h>

#include "common/fault.h"
#include "common/fileio.h"
#include "openstack/keystone.h"
#include "openstack/zaqar.h"
#include "source/source-internal.h"

/* A claim holds its messages this long: enough to reach commit in the same pass (a few requests),
 * short so that messages a crash left claimed come back soon. Zaqar's minimum. */
#define ZAQAR_CLAIM_TTL 60
/* A claimed message outlives its claim by at least this much, so that one close to its TTL is still
 * there to be claimed again after a crash. Zaqar's minimum. */
#define ZAQAR_CLAIM_GRACE 60
/* Claims per collect, ZAQAR_PAGE_LIMIT messages each. */
#define ZAQAR_MAX_CLAIMS 10
/* {"queue_id", "message_id", "created", "metadata"}: the newest message taken from the queue. */
#define ZAQAR_STATE_FILE "zaqar-metadata.json"
#define ZAQAR_MAX_STATE  (64u * 1024 * 1024)

typedef struct ZaqarSource {
        PhKeystone *keystone;
        char *queue_id;
        char *client_id;
        char *state_path; /* NULL without a state dir: the last metadata is kept in memory only */
        json_t *last;     /* body of the newest message taken (new ref), NULL before any */
        char *last_id;
        int64_t last_created; /* zaqar_message_created of it */
        bool dirty;           /* last is not in the state file yet */
        bool returned;        /* this object handed last out already: an empty queue is "no change" */
        json_t *claimed;      /* hrefs (with their claim_id) of the messages to delete in commit */
} ZaqarSource;

static void load_state(ZaqarSource *z) {
        json_auto_t *doc = file_load_json(z->state_path, ZAQAR_MAX_STATE);
        const char *q = json_string_value(json_object_get(doc, "queue_id"));
        const char *id = json_string_value(json_object_get(doc, "message_id"));
        json_t *created = json_object_get(doc, "created"), *md = json_object_get(doc, "metadata");

        /* Another queue's (the server was replaced) or an unreadable record: start afresh. */
        if (!q || strcmp(q, z->queue_id) != 0 || !id || !json_is_integer(created) || !json_is_object(md))
                return;
        z->last = json_incref(md);
        z->last_id = xstrdup(id);
        z->last_created = json_integer_value(created);
}

static int save_state(ZaqarSource *z, PhError **reterr) {
        if (!z->state_path) {
                z->dirty = false;
                return 0;
        }
        json_auto_t *doc =
                json_pack("{s:s, s:s, s:I, s:O}", "queue_id", z->queue_id, "message_id", z->last_id,
                          "created", (json_int_t) z->last_created, "metadata", z->last);
        _cleanup_free_ char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        if (!text)
                return ph_error_set(reterr, EINVAL, "zaqar: the metadata cannot be serialised");
        int r = file_write_atomic(z->state_path, text, strlen(text), 0600, reterr); /* it holds passwords */
        explicit_bzero(text, strlen(text));
        if (r < 0)
                return r;
        z->dirty = false;
        return 0;
}

static int zaqar_init(PhSource *s, const json_t *section, PhError **reterr) {
        PhKeystoneCredentials c = {};
        const char *queue_id;
        const PhSourceKey keys[] = {
                {"auth_url", true, &c.auth_url}, {"user_id", true, &c.user_id},
                {"password", true, &c.password}, {"project_id", true, &c.project_id},
                {"queue_id", true, &queue_id},   {"region_name", false, &c.region_name},
        };
        int r;

        r = source_config_strings(s, section, keys, ELEMENTSOF(keys), reterr);
        if (r < 0)
                return r;
        if (!zaqar_queue_name_valid(queue_id))
                return ph_error_set(reterr, EINVAL,
                                    "zaqar: queue_id is not a Zaqar queue name (1-64 of A-Z, a-z, "
                                    "0-9, '_' and '-')");

        ZaqarSource *z = xcalloc(1, sizeof(*z));
        s->data = z;
        z->claimed = json_array();
        z->queue_id = xstrdup(queue_id);
        r = keystone_new(&c, s->timeout_ms, s->ca_file, &z->keystone, reterr);
        if (r < 0)
                return r;
        z->client_id = zaqar_client_id(s->state_dir, !s->peek);
        if (s->state_dir) {
                z->state_path = xasprintf("%s/%s", s->state_dir, ZAQAR_STATE_FILE);
                load_state(z);
        }
        return 0;
}

/* One claim of up to ZAQAR_PAGE_LIMIT messages, appended to batch; *ret_n how many. */
static int claim(PhSource *s, json_t *batch, size_t *ret_n, PhError **reterr) {
        ZaqarSource *z = s->data;
        _cleanup_free_ char *cid = xasprintf("Client-ID: %s", z->client_id);
        const char *headers[] = {"Content-Type: application/json", "Accept: application/json", cid, NULL};
        _cleanup_free_ char *suffix = xasprintf("/claims?limit=%d", ZAQAR_PAGE_LIMIT);
        _cleanup_free_ char *path = zaqar_queue_path(z->queue_id, suffix);
        _cleanup_free_ char *body =
                xasprintf("{\"ttl\": %d, \"grace\": %d}", ZAQAR_CLAIM_TTL, ZAQAR_CLAIM_GRACE);
        _cleanup_free_ char *what = xasprintf("POST <messaging>%s", path);
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        PhHttpRequest req = source_http_request(s, "POST", path);
        int r;

        *ret_n = 0;
        req.headers = headers;
        req.body = body;
        req.body_len = strlen(body);
        r = keystone_call(z->keystone, "messaging", &req, &resp, reterr);
        if (r < 0)
                return r;
        if (resp.status == 204) /* nothing to claim */
                return 0;
        json_auto_t *doc = NULL;
        r = source_parse_json(&resp, what, &doc, reterr);
        if (r < 0)
                return r;
        json_t *msgs = json_object_get(doc, "messages"); /* borrowed */
        if (!json_is_array(msgs))
                return ph_error_set(reterr, EBADMSG, "%s: the answer has no \"messages\" list", what);
        json_array_extend(batch, msgs);
        *ret_n = json_array_size(msgs);
        return 0;
}

/* --print: the newest message without claiming anything; the stored one when the queue is empty. */
static int zaqar_peek(PhSource *s, json_t **ret, PhError **reterr) {
        ZaqarSource *z = s->data;
        PhHttpRequest base = source_http_request(s, "GET", NULL);
        json_auto_t *all = NULL;
        int r = zaqar_list(z->keystone, &base, z->client_id, z->queue_id, &all, reterr);

        if (r < 0)
                return r;
        const json_t *m = zaqar_newest(all, zaqar_now_ticks(), NULL);
        if (m) {
                *ret = json_incref(json_object_get(m, "body"));
                return 0;
        }
        if (z->last) {
                *ret = json_incref(z->last);
                return 0;
        }
        return ph_error_set(reterr, ENODATA, "queue %s holds no metadata", z->queue_id);
}

static int zaqar_collect(PhSource *s, json_t **ret, PhError **reterr) {
        ZaqarSource *z = s->data;
        json_auto_t *batch = json_array();
        int r;

        if (s->peek)
                return zaqar_peek(s, ret, reterr);
        for (unsigned i = 0; i < ZAQAR_MAX_CLAIMS; i++) {
                size_t n = 0;
                /* On an error, what was claimed so far comes back when its claim runs out. */
                r = claim(s, batch, &n, reterr);
                if (r < 0)
                        return r;
                if (n < ZAQAR_PAGE_LIMIT)
                        break;
        }
        if (json_array_size(batch) > 0)
                ph_fault_point("zaqar-after-claim");

        /* Claims a failed commit left are dropped: they run out and their messages come back. */
        json_array_clear(z->claimed);
        size_t i;
        json_t *m;
        json_array_foreach(batch, i, m) {
                const char *href = json_string_value(json_object_get(m, "href"));
                if (href && href[0] == '/' && href[1] != '/')
                        json_array_append_new(z->claimed, json_string(href));
        }

        int64_t created = 0;
        const json_t *n = zaqar_newest(batch, zaqar_now_ticks(), &created);
        const char *nid = n ? json_string_value(json_object_get(n, "id")) : NULL;
        /* Only what is newer than the last one taken: a message whose delete failed comes back later
         * and must not turn the metadata back. */
        if (n && (!z->last || zaqar_message_newer(created, nid, z->last_created, z->last_id))) {
                json_decref(z->last);
                free(z->last_id);
                z->last = json_incref(json_object_get(n, "body"));
                z->last_id = xstrdup(nid ? nid : "");
                z->last_created = created;
                z->returned = false;
                z->dirty = true;
                /* Early is never wrong (the agent acts on it next); commit tries again if this fails. */
                (void) save_state(z, NULL);
        }
        if (!z->last || z->returned)
                return 1;
        z->returned = true;
        *ret = json_incref(z->last);
        return 0;
}

static int zaqar_commit(PhSource *s, PhError **reterr) {
        ZaqarSource *z = s->data;
        _cleanup_free_ char *cid = xasprintf("Client-ID: %s", z->client_id);
        const char *headers[] = {"Accept: application/json", cid, NULL};
        _cleanup_error_ PhError *first = NULL;
        _cleanup_free_ char *where = zaqar_queue_path(z->queue_id, "/messages/<id>");
        size_t i;
        json_t *h;
        int r;

        if (s->peek)
                return 0;
        /* Not stored: the messages stay claimed, come back and are taken again. */
        if (z->dirty) {
                r = save_state(z, reterr);
                if (r < 0) {
                        ph_error_prefix(reterr, "the claimed messages are kept");
                        return r;
                }
        }
        if (json_array_size(z->claimed) == 0)
                return 0;
        ph_fault_point("zaqar-before-delete");
        json_array_foreach(z->claimed, i, h) {
                const char *href = json_string_value(h);
                _cleanup_(http_response_done) PhHttpResponse resp = {};
                _cleanup_error_ PhError *err = NULL;
                PhHttpRequest req = source_http_request(s, "DELETE", href);
                req.headers = headers;
                r = keystone_call(z->keystone, "messaging", &req, &resp, &err);
                /* 400 "claim expired" and 403/404: the message comes back or is gone; either is fine. */
                if (r == 0 && ((resp.status >= 200 && resp.status <= 299) || resp.status == 400 ||
                               resp.status == 403 || resp.status == 404))
                        continue;
                if (first)
                        continue;
                if (r == 0)
                        (void) ph_error_set(&first, EPROTO, "DELETE <messaging>%s: HTTP %ld", where,
                                            resp.status);
                else
                        first = TAKE_PTR(err);
        }
        json_array_clear(z->claimed);
        if (first) {
                r = -first->code;
                ph_error_prefix(&first, "deleting a claimed message (it comes back and is recognised)");
                if (reterr)
                        *reterr = TAKE_PTR(first);
                return r;
        }
        return 0;
}

static void zaqar_done(PhSource *s) {
        ZaqarSource *z = s->data;
        if (!z)
                return;
        keystone_free(z->keystone);
        free(z->queue_id);
        free(z->client_id);
        free(z->state_path);
        json_decref(z->last);
        free(z->last_id);
        json_decref(z->claimed);
        free(z);
}

const PhSourceOps source_zaqar_ops = {
        .name = "zaqar",
        .init = zaqar_init,
        .collect = zaqar_collect,
        .commit = zaqar_commit,
        .done = zaqar_done,
};
