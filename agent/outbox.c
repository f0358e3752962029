/* Durable outbox of signals. Entry: outbox/<id>.json = {"id", "token", "inputs", "data", "created",
 * "attempts", "next_attempt", "last_error", "maybe_arrived", "max_body"}; token tells a new entry of
 * the same id from an older one. Delivered entries move to outbox/sent/<id>.json, entries that cannot
 * be used to outbox/bad/. Only file names ending in ".json" are entries (temporary files never do). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/fileio.h"
#include "jitter.h"
#include "outbox.h"

/* Where an entry goes when it leaves the outbox. */
typedef enum Settle {
        SETTLE_SENT,   /* outbox/sent/: delivered */
        SETTLE_REMOVE, /* gone, or superseded */
        SETTLE_BAD,    /* outbox/bad/: can never be sent */
} Settle;

PhOutbox *outbox_free(PhOutbox *ob) {
        if (!ob)
                return NULL;
        free(ob->dir);
        json_decref(ob->memo);
        free(ob);
        return NULL;
}

int outbox_open(const char *state_dir, unsigned retry_max, PhOutboxSendFn send, void *userdata,
                PhOutbox **ret, PhError **reterr) {
        _cleanup_(outbox_freep) PhOutbox *ob = xcalloc(1, sizeof(*ob));
        int r;

        ob->dir = xasprintf("%s/outbox", state_dir);
        ob->retry_max = retry_max ? retry_max : 1;
        ob->send = send;
        ob->userdata = userdata;
        ob->rng = jitter_seed();
        ob->memo = json_object();
        const char *const subdirs[] = {"", "/bad", "/sent"};
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *d = xasprintf("%s%s", ob->dir, subdirs[i]);
                r = dir_make_parents(d, 0700, reterr);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ob);
        return 0;
}

static unsigned jittered(unsigned base, double lo, double hi, uint64_t *rng) {
        double f = lo + (hi - lo) * (double) (jitter_next(rng) % 1000) / 1000.0;
        double d = (double) base * f + 0.5;
        return d < 1 ? 1 : d > (double) UINT32_MAX ? UINT32_MAX : (unsigned) d;
}

unsigned outbox_backoff(unsigned attempts, unsigned max, uint64_t *rng) {
        unsigned base = 1;

        for (unsigned i = 1; i < attempts && base < max; i++)
                base *= 2;
        if (base > max)
                base = max;
        /* +-20%, never below 1 s and never above the cap. */
        unsigned d = jittered(base, 0.8, 1.2, rng);
        return d > max ? max : d;
}

unsigned outbox_maybe_backoff(unsigned n, unsigned request_timeout, uint64_t *rng) {
        unsigned base = request_timeout > OUTBOX_MAYBE_MIN / 5 ? 5 * request_timeout : OUTBOX_MAYBE_MIN;

        for (unsigned i = 1; i < n && base < OUTBOX_MAYBE_MAX; i++)
                base *= 2;
        if (base > OUTBOX_MAYBE_MAX)
                base = OUTBOX_MAYBE_MAX;
        /* Only later, never earlier: the point is to give the first send time to have arrived. The
         * schedule is kept in whole seconds: one more makes the wait never shorter than base. */
        return jittered(base, 1.0, 1.2, rng) + 1;
}

static void report(PhOutbox *ob, PhOutboxEvent ev, const char *id, const PhError *err, unsigned attempts,
                   unsigned retry_in) {
        if (ob->report)
                ob->report(ev, id, err, attempts, retry_in, ob->userdata);
}

static char *entry_path(const PhOutbox *ob, const char *sub, const char *id) {
        return xasprintf("%s%s/%s.json", ob->dir, sub, id);
}

static const char *token_of(const json_t *e) {
        const char *t = json_string_value(json_object_get(e, "token"));
        return t ? t : "";
}

static int entry_write(const PhOutbox *ob, const char *id, const json_t *e, PhError **reterr) {
        _cleanup_free_ char *path = entry_path(ob, "", id);
        _cleanup_free_ char *text = json_dumps(e, JSON_COMPACT);

        if (!text)
                return ph_error_set(reterr, EINVAL, "outbox %s: cannot serialise", id);
        if (strlen(text) > OUTBOX_MAX_ENTRY)
                return ph_error_set(reterr, EFBIG,
                                    "outbox %s: the entry is %zu bytes, more than the %u an entry may take",
                                    id, strlen(text), OUTBOX_MAX_ENTRY);
        return file_write_atomic(path, text, strlen(text), 0600, reterr);
}

json_t *outbox_entry(const PhOutbox *ob, const char *id) {
        _cleanup_free_ char *path = entry_path(ob, "", id);

        return file_load_json(path, OUTBOX_MAX_FILE);
}

json_t *outbox_sent_entry(const PhOutbox *ob, const char *id) {
        _cleanup_free_ char *path = entry_path(ob, "/sent", id);

        return file_load_json(path, OUTBOX_MAX_FILE);
}

void outbox_prune_sent(PhOutbox *ob) {
        _cleanup_free_ char *dir = xasprintf("%s/sent", ob->dir);
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

int outbox_add(PhOutbox *ob, const char *id, const json_t *inputs, const json_t *data, PhError **reterr) {
        _cleanup_free_ char *token = xasprintf("%016llx", (unsigned long long) jitter_next(&ob->rng));
        json_auto_t *e = json_pack("{s:s, s:s, s:O, s:O, s:I, s:i, s:I}", "id", id, "token", token, "inputs",
                                   inputs, "data", data, "created", (json_int_t) time(NULL), "attempts", 0,
                                   "next_attempt", (json_int_t) 0);

        if (!e)
                return ph_error_set(reterr, EINVAL, "outbox %s: bad entry", id);
        int r = entry_write(ob, id, e, reterr);
        if (r == 0)
                json_object_del(ob->memo, id);
        return r;
}

/* A free name in outbox/bad/ for file name: bad records are never replaced. */
static char *bad_path(const PhOutbox *ob, const char *name) {
        char *p = xasprintf("%s/bad/%s", ob->dir, name);

        for (unsigned k = 1; k < 1000 && file_exists(p) > 0; k++) {
                free(p);
                p = xasprintf("%s/bad/%s.%u", ob->dir, name, k);
        }
        return p;
}

static int settle_file(const PhOutbox *ob, const char *id, Settle how, PhError **reterr) {
        _cleanup_free_ char *from = entry_path(ob, "", id), *to = NULL;

        switch (how) {
        case SETTLE_SENT:
                to = entry_path(ob, "/sent", id);
                return file_move(from, to, reterr);
        case SETTLE_BAD: {
                _cleanup_free_ char *name = xasprintf("%s.json", id);
                to = bad_path(ob, name);
                return file_move(from, to, reterr);
        }
        case SETTLE_REMOVE:
                break;
        }
        return file_remove(from, reterr);
}

/* Takes entry e (with its token) out of the outbox; when the file system refuses, that is kept in
 * memory (the entry is not sent again by this process) and tried again at the next flush. */
static void settle(PhOutbox *ob, const char *id, const json_t *e, Settle how) {
        _cleanup_error_ PhError *err = NULL;

        if (settle_file(ob, id, how, &err) == 0) {
                json_object_del(ob->memo, id);
                return;
        }
        json_object_set_new(ob->memo, id, json_pack("{s:s, s:i}", "token", token_of(e), "settle", (int) how));
        report(ob, PH_OUTBOX_STATE_ERROR, id, err, 0, 0);
}

/* Stores the new schedule of e; kept in memory when it cannot be written. */
static void store(PhOutbox *ob, const char *id, json_t *e) {
        _cleanup_error_ PhError *err = NULL;

        if (entry_write(ob, id, e, &err) == 0) {
                json_object_del(ob->memo, id);
                return;
        }
        json_object_set_new(ob->memo, id, json_pack("{s:s, s:O}", "token", token_of(e), "entry", e));
        report(ob, PH_OUTBOX_STATE_ERROR, id, err, 0, 0);
}

static void schedule(PhOutbox *ob, const char *id, json_t *e, time_t now, unsigned delay, unsigned attempts,
                     const PhError *err) {
        json_object_set_new(e, "attempts", json_integer(attempts));
        json_object_set_new(e, "next_attempt", json_integer((json_int_t) (now + delay)));
        json_object_set_new(e, "last_error", json_string(ph_error_msg(err)));
        store(ob, id, e);
}

/* One attempt for entry e (borrowed, updated in place). true when it left the outbox. */
static bool attempt(PhOutbox *ob, const char *id, json_t *e, time_t now) {
        _cleanup_error_ PhError *err = NULL;
        const json_t *inputs = json_object_get(e, "inputs"), *data = json_object_get(e, "data");
        unsigned attempts = (unsigned) json_integer_value(json_object_get(e, "attempts")) + 1;
        json_int_t max_body = json_integer_value(json_object_get(e, "max_body"));

        if (ob->is_stale && ob->is_stale(id, inputs, ob->userdata)) {
                (void) ph_error_set(&err, ESTALE, "superseded by a newer config of the same deployment");
                settle(ob, id, e, SETTLE_REMOVE);
                report(ob, PH_OUTBOX_STALE, id, err, attempts - 1, 0);
                return true;
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        const PhOutboxSend what = {
                .id = id,
                .token = token_of(e),
                .max_body = max_body > 0 ? (size_t) max_body : 0,
                .maybe_arrived = (unsigned) json_integer_value(json_object_get(e, "maybe_arrived")),
        };
        PhSignalOutcome o = ob->send(inputs, data, &what, ob->userdata, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* A back-off counts from the end of the attempt (a timeout can take a while). */
        now += t1.tv_sec - t0.tv_sec - (t1.tv_nsec < t0.tv_nsec ? 1 : 0);
        if (o == PH_SIGNAL_RETRY_SMALLER && max_body > 0 && max_body <= SIGNAL_SMALL_BODY)
                o = PH_SIGNAL_RETRY; /* it had its one smaller try: back-off like another 4xx */
        switch (o) {
        case PH_SIGNAL_DELIVERED:
                /* Recorded before anything else: a kill after this point does not send it again. */
                settle(ob, id, e, SETTLE_SENT);
                ph_fault_point("after-2xx");
                report(ob, PH_OUTBOX_DELIVERED, id, NULL, attempts, 0);
                return true;
        case PH_SIGNAL_RETRY: {
                unsigned delay = outbox_backoff(attempts, ob->retry_max, &ob->rng);
                schedule(ob, id, e, now, delay, attempts, err);
                report(ob, PH_OUTBOX_RETRY, id, err, attempts, delay);
                return false;
        }
        case PH_SIGNAL_RETRY_MAYBE_ARRIVED: {
                unsigned n = (unsigned) json_integer_value(json_object_get(e, "maybe_arrived")) + 1;
                unsigned delay = outbox_maybe_backoff(n, ob->request_timeout, &ob->rng);
                json_object_set_new(e, "maybe_arrived", json_integer(n));
                schedule(ob, id, e, now, delay, attempts, err);
                report(ob, PH_OUTBOX_RETRY_MAYBE_ARRIVED, id, err, attempts, delay);
                return false;
        }
        case PH_SIGNAL_RETRY_SMALLER:
                json_object_set_new(e, "max_body", json_integer(SIGNAL_SMALL_BODY));
                json_object_set_new(e, "attempts", json_integer(attempts));
                report(ob, PH_OUTBOX_RETRY_SMALLER, id, err, attempts, 0);
                return attempt(ob, id, e, now);
        case PH_SIGNAL_GONE:
                settle(ob, id, e, SETTLE_REMOVE);
                report(ob, PH_OUTBOX_GONE, id, err, attempts, 0);
                return true;
        case PH_SIGNAL_PERMANENT:
                settle(ob, id, e, SETTLE_BAD);
                report(ob, PH_OUTBOX_PERMANENT, id, err, attempts, 0);
                return true;
        }
        abort();
}

/* An outbox file that cannot be used: said loudly, and moved where it is kept but not read. */
static void bad_file(PhOutbox *ob, const char *name, const char *why) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *from = xasprintf("%s/%s", ob->dir, name), *to = bad_path(ob, name);

        (void) ph_error_set(&err, EINVAL, "%s: %s; moved to %s", from, why, to);
        if (file_move(from, to, NULL) < 0)
                (void) ph_error_set(&err, EINVAL, "%s: %s; it cannot be moved to %s/bad either", from, why,
                                    ob->dir);
        report(ob, PH_OUTBOX_BAD_FILE, name, err, 0, 0);
}

/* The entry in file name, or NULL (reported and moved aside) when it is not a usable entry. */
static json_t *entry_load(PhOutbox *ob, const char *name) {
        _cleanup_free_ char *path = xasprintf("%s/%s", ob->dir, name);
        _cleanup_free_ char *text = NULL, *id = xstrndup(name, strlen(name) - 5);
        _cleanup_error_ PhError *err = NULL;
        json_error_t jerr;
        size_t len;

        if (file_read_all(path, OUTBOX_MAX_FILE, &text, &len, &err) < 0) {
                if (err && err->code == ENOENT)
                        return NULL; /* delivered or replaced meanwhile */
                bad_file(ob, name, ph_error_msg(err));
                return NULL;
        }
        json_t *e = json_loadb(text, len, 0, &jerr);
        if (!e) {
                _cleanup_free_ char *why = xasprintf("not JSON (line %d: %s)", jerr.line, jerr.text);
                bad_file(ob, name, why);
                return NULL;
        }
        const char *eid = json_string_value(json_object_get(e, "id"));
        const char *why = !json_is_object(e)                              ? "not a JSON object"
                          : !eid || strcmp(eid, id) != 0                  ? "its \"id\" is not its file name"
                          : !json_is_object(json_object_get(e, "inputs")) ? "\"inputs\" is not an object"
                          : !json_is_object(json_object_get(e, "data"))   ? "\"data\" is not an object"
                          : !json_is_integer(json_object_get(e, "created")) ? "\"created\" is not an integer"
                                                                            : NULL;
        if (why) {
                json_decref(e);
                bad_file(ob, name, why);
                return NULL;
        }
        return e;
}

static int cmp_entries(const void *a, const void *b) {
        const json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        json_int_t cx = json_integer_value(json_object_get(x, "created"));
        json_int_t cy = json_integer_value(json_object_get(y, "created"));

        if (cx != cy)
                return cx < cy ? -1 : 1;
        return strcmp(json_string_value(json_object_get(x, "id")),
                      json_string_value(json_object_get(y, "id")));
}

/* What was kept in memory for e: the newer state replaces it, a pending settle hides it. NULL when
 * nothing (a memo of an older entry of the same id is dropped). */
static json_t *memo_for(PhOutbox *ob, const char *id, const json_t *e) {
        json_t *m = json_object_get(ob->memo, id);

        if (!m)
                return NULL;
        if (strcmp(token_of(m), token_of(e)) != 0) {
                json_object_del(ob->memo, id);
                return NULL;
        }
        return m;
}

/* Every usable entry, oldest first (new array), with what memory knows put in; settles that could
 * not be done before are tried again. */
static json_t *entries_load(PhOutbox *ob) {
        json_t *list = json_array();
        DIR *d = opendir(ob->dir);
        struct dirent *de;

        if (!d)
                return list;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
                    de->d_type == DT_DIR)
                        continue;
                json_t *e = entry_load(ob, de->d_name);
                if (!e)
                        continue;
                const char *id = json_string_value(json_object_get(e, "id"));
                json_t *m = memo_for(ob, id, e);
                if (m && json_object_get(m, "settle")) {
                        settle(ob, id, e, (Settle) json_integer_value(json_object_get(m, "settle")));
                        json_decref(e);
                        continue;
                }
                if (m && json_object_get(m, "entry")) {
                        json_decref(e);
                        e = json_incref(json_object_get(m, "entry"));
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
                /* One that may have arrived waits out its back-off even when everything is flushed. */
                bool wait = json_integer_value(json_object_get(e, "maybe_arrived")) > 0 || !all;

                if (!(wait && due > now)) {
                        if (attempt(ob, id, e, now))
                                continue;
                        due = (time_t) json_integer_value(json_object_get(e, "next_attempt"));
                }
                left++;
                if (next == 0 || due < next)
                        next = due;
        }
        if (ret_next_due)
                *ret_next_due = next;
        (void) reterr;
        return left;
}

int outbox_flush_one(PhOutbox *ob, const char *id, time_t now, PhError **reterr) {
        _cleanup_free_ char *name = xasprintf("%s.json", id);
        _cleanup_free_ char *path = xasprintf("%s/%s", ob->dir, name);
        json_auto_t *e = NULL;

        (void) reterr;
        if (file_exists(path) <= 0)
                return 0;
        e = entry_load(ob, name);
        if (!e)
                return 0;
        json_t *m = memo_for(ob, id, e);
        if (m && json_object_get(m, "settle"))
                return 0;
        if (m && json_object_get(m, "entry")) {
                json_decref(e);
                e = json_incref(json_object_get(m, "entry"));
        }
        if ((time_t) json_integer_value(json_object_get(e, "next_attempt")) > now)
                return 1;
        return attempt(ob, id, e, now) ? 0 : 1;
}
