/* Durable outbox of signals. Entry: outbox/<id>.json =
 * {"id", "inputs", "data", "created", "attempts", "next_attempt", "last_error"}. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "jitter.h"
#include "outbox.h"


#define OUTBOX_MAX_FILE (64u * 1024 * 1024)

PhOutbox *outbox_free(PhOutbox *ob) {
        if (!ob)
                return NULL;
        free(ob->dir);
        free(ob);
        return NULL;
}

int outbox_open(const char *state_dir, unsigned retry_max, PhOutboxSendFn send, void *userdata, PhOutbox **ret,
                PhError **reterr) {
        _cleanup_(outbox_freep) PhOutbox *ob = xcalloc(1, sizeof(*ob));
        int r;

        ob->dir = xasprintf("%s/outbox", state_dir);
        ob->retry_max = retry_max ? retry_max : 1;
        ob->send = send;
        ob->userdata = userdata;
        ob->rng = jitter_seed();
        r = dir_make_parents(ob->dir, 0700, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ob);
        return 0;
}

unsigned outbox_backoff(unsigned attempts, unsigned max, uint64_t *rng) {
        unsigned base = 1;

        for (unsigned i = 1; i < attempts && base < max; i++)
                base *= 2;
        if (base > max)
                base = max;
        /* +-20%, never below 1 s and never above the cap. */
        double f = 0.8 + 0.4 * (double) (jitter_next(rng) % 1000) / 1000.0;
        unsigned d = (unsigned) (base * f + 0.5);
        if (d < 1)
                d = 1;
        return d > max ? max : d;
}

static char *entry_path(const PhOutbox *ob, const char *id) {
        return xasprintf("%s/%s.json", ob->dir, id);
}

static int entry_write(const PhOutbox *ob, const char *id, const json_t *e, PhError **reterr) {
        _cleanup_free_ char *path = entry_path(ob, id);
        _cleanup_free_ char *text = json_dumps(e, JSON_COMPACT);

        if (!text)
                return ph_error_set(reterr, EINVAL, "outbox %s: cannot serialise", id);
        return file_write_atomic(path, text, strlen(text), 0600, reterr);
}

json_t *outbox_entry(const PhOutbox *ob, const char *id) {
        _cleanup_free_ char *path = entry_path(ob, id);

        return file_load_json(path, OUTBOX_MAX_FILE);
}

int outbox_add(PhOutbox *ob, const char *id, const json_t *inputs, const json_t *data, PhError **reterr) {
        json_auto_t *e = json_pack("{s:s, s:O, s:O, s:I, s:i, s:I}", "id", id, "inputs", inputs, "data", data,
                                   "created", (json_int_t) time(NULL), "attempts", 0, "next_attempt", (json_int_t) 0);

        if (!e)
                return ph_error_set(reterr, EINVAL, "outbox %s: bad entry", id);
        return entry_write(ob, id, e, reterr);
}

/* One attempt for entry e (borrowed, updated in place). 1 = gone from the outbox, 0 = kept. */
static int attempt(PhOutbox *ob, const char *id, json_t *e, time_t now, PhError **reterr) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *path = entry_path(ob, id);
        const json_t *inputs = json_object_get(e, "inputs"), *data = json_object_get(e, "data");
        unsigned attempts = (unsigned) json_integer_value(json_object_get(e, "attempts")) + 1;
        int r;

        if (!json_is_object(inputs) || !json_is_object(data))
                r = ph_error_set(&err, EINVAL, "malformed outbox entry");
        else if (ob->is_stale && ob->is_stale(id, inputs, ob->userdata))
                r = ph_error_set(&err, ESTALE, "superseded by a newer config of the same deployment");
        else
                r = ob->send(inputs, data, ob->userdata, &err);
        if (r == -EAGAIN) {
                unsigned delay = outbox_backoff(attempts, ob->retry_max, &ob->rng);
                json_object_set_new(e, "attempts", json_integer(attempts));
                json_object_set_new(e, "next_attempt", json_integer((json_int_t) (now + delay)));
                json_object_set_new(e, "last_error", json_string(ph_error_msg(err)));
                if (ob->report)
                        ob->report(id, r, err, attempts, delay, ob->userdata);
                int w = entry_write(ob, id, e, reterr);
                return w < 0 ? w : 0;
        }
        if (ob->report)
                ob->report(id, r, err, attempts, 0, ob->userdata);
        if (unlink(path) < 0 && errno != ENOENT)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        return 1;
}

static int cmp_entries(const void *a, const void *b) {
        const json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        json_int_t cx = json_integer_value(json_object_get(x, "created"));
        json_int_t cy = json_integer_value(json_object_get(y, "created"));

        if (cx != cy)
                return cx < cy ? -1 : 1;
        return strcmp(json_string_value(json_object_get(x, "id")), json_string_value(json_object_get(y, "id")));
}

/* All readable entries, oldest first (new array). */
static json_t *entries_load(const PhOutbox *ob) {
        json_t *list = json_array();
        DIR *d = opendir(ob->dir);
        struct dirent *de;

        if (!d)
                return list;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                _cleanup_free_ char *id = xstrndup(de->d_name, len - 5);
                json_t *e = outbox_entry(ob, id);
                if (!json_is_object(e) || !json_is_string(json_object_get(e, "id"))) {
                        json_decref(e);
                        continue;
                }
                json_array_append_new(list, e);
        }
        closedir(d);
        size_t n = json_array_size(list);
        if (n > 1) {
                json_t **v = xmalloc(n * sizeof(*v));
                for (size_t i = 0; i < n; i++)
                        v[i] = json_incref(json_array_get(list, i));
                qsort(v, n, sizeof(*v), cmp_entries);
                json_array_clear(list);
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(list, v[i]);
                free(v);
        }
        return list;
}

int outbox_flush(PhOutbox *ob, time_t now, bool all, time_t *ret_next_due, PhError **reterr) {
        json_auto_t *list = entries_load(ob);
        time_t next = 0;
        int left = 0;
        size_t i;
        json_t *e;

        json_array_foreach(list, i, e) {
                const char *id = json_string_value(json_object_get(e, "id"));
                time_t due = (time_t) json_integer_value(json_object_get(e, "next_attempt"));
                int r = 0;

                if (all || due <= now) {
                        r = attempt(ob, id, e, now, reterr);
                        if (r < 0)
                                return r;
                        due = (time_t) json_integer_value(json_object_get(e, "next_attempt"));
                }
                if (r == 0) {
                        left++;
                        if (next == 0 || due < next)
                                next = due;
                }
        }
        if (ret_next_due)
                *ret_next_due = next;
        return left;
}

int outbox_flush_one(PhOutbox *ob, const char *id, time_t now, PhError **reterr) {
        json_auto_t *e = outbox_entry(ob, id);

        if (!json_is_object(e))
                return 0;
        if ((time_t) json_integer_value(json_object_get(e, "next_attempt")) > now)
                return 1;
        int r = attempt(ob, id, e, now, reterr);
        return r < 0 ? r : r == 1 ? 0 : 1;
}
