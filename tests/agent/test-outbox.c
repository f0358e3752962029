/* Outbox: written before the send, kept with its schedule on retryable errors (across a re-open),
 * recorded as sent on delivery, dropped when gone, set aside when unusable; the long back-off of a
 * signal that may have arrived; the one smaller retry after a 413; unreadable files reported and kept. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "outbox.h"
#include "tap.h"

typedef struct Fake {
        const char *dir;
        PhSignalOutcome answer;
        PhSignalOutcome then; /* the answer after the first one, when answer is RETRY_SMALLER */
        int calls;
        bool entry_on_disk; /* seen during the send */
        char *last_stdout;
        size_t last_max;
        unsigned last_maybe; /* what the outbox said of earlier attempts that may have arrived */
        char *last_token;
        char last_id[64];
        unsigned events[PH_OUTBOX_STATE_ERROR + 1];
} Fake;

static PhSignalOutcome fake_send(const json_t *inputs, const json_t *data, const PhOutboxSend *s,
                                 void *userdata, PhError **reterr) {
        Fake *f = userdata;
        _cleanup_free_ char *path = xasprintf("%s/outbox/%s.json", f->dir,
                                              json_string_value(json_object_get(inputs, "deploy_id")));
        f->calls++;
        f->entry_on_disk = file_exists(path) > 0;
        f->last_max = s->max_body;
        f->last_maybe = s->maybe_arrived;
        free(f->last_token);
        f->last_token = xstrdup(s->token);
        snprintf(f->last_id, sizeof(f->last_id), "%s", s->id);
        free(f->last_stdout);
        f->last_stdout = xstrdup(json_string_value(json_object_get(data, "deploy_stdout")));
        PhSignalOutcome o = f->answer;
        if (o == PH_SIGNAL_RETRY_SMALLER)
                f->answer = f->then;
        if (o != PH_SIGNAL_DELIVERED)
                (void) ph_error_set(reterr, EAGAIN, "fake answer %d", (int) o);
        return o;
}

static void on_report(PhOutboxEvent ev, const char *id, const PhError *err, unsigned attempts,
                      unsigned retry_in, void *userdata) {
        Fake *f = userdata;
        f->events[ev]++;
        if (ev == PH_OUTBOX_BAD_FILE || ev == PH_OUTBOX_STATE_ERROR)
                printf("# event %d %s: %s\n", (int) ev, id, ph_error_msg(err));
}

static size_t files_in(const char *dir) {
        _cleanup_free_ char *cmd = xasprintf("ls -A '%s' | wc -l", dir);
        FILE *p = popen(cmd, "r");
        unsigned long n = 0;
        if (p) {
                if (fscanf(p, "%lu", &n) != 1)
                        n = 0;
                pclose(p);
        }
        return n;
}

static bool stale_if_old(const char *id, const json_t *inputs, void *userdata) {
        return strcmp(id, "old") == 0;
}

int main(void) {
        char tmp[] = "/tmp/ph-test-outbox-XXXXXX";
        if (!mkdtemp(tmp))
                return 1;
        Fake f = {.dir = tmp, .answer = PH_SIGNAL_RETRY};
        PhOutbox *ob = NULL;
        time_t next = 0;
        json_auto_t *in1 = json_pack("{s:s}", "deploy_id", "id1"),
                    *in2 = json_pack("{s:s}", "deploy_id", "id2");
        json_auto_t *d1 = json_pack("{s:s, s:i}", "deploy_stdout", "one", "deploy_status_code", 0);
        json_auto_t *d2 = json_pack("{s:s, s:i}", "deploy_stdout", "two", "deploy_status_code", 1);

        TAP_CHECK(outbox_open(tmp, 30, fake_send, &f, &ob, NULL) == 0);
        TAP_CHECK(outbox_add(ob, "id1", in1, d1, NULL) == 0);
        _cleanup_free_ char *p1 = xasprintf("%s/outbox/id1.json", tmp);
        struct stat st;
        TAP_CHECK(stat(p1, &st) == 0 && (st.st_mode & 0777) == 0600);

        /* Retryable: stays, with its attempt count and next attempt time stored. */
        time_t now = 1000000;
        TAP_CHECK(outbox_flush(ob, now, false, &next, NULL) == 1);
        TAP_CHECK(f.calls == 1 && f.entry_on_disk);
        TAP_CHECK_STR(f.last_stdout, "one");
        json_auto_t *e = outbox_entry(ob, "id1");
        TAP_CHECK(json_integer_value(json_object_get(e, "attempts")) == 1);
        json_int_t due = json_integer_value(json_object_get(e, "next_attempt"));
        TAP_CHECK(due >= now + 1 && due <= now + 2);
        TAP_CHECK(next == (time_t) due);
        TAP_CHECK_HAS(json_string_value(json_object_get(e, "last_error")), "fake answer");

        /* Not due yet: nothing is sent. */
        TAP_CHECK(outbox_flush(ob, now, false, &next, NULL) == 1);
        TAP_CHECK(f.calls == 1);

        /* The schedule survives a restart (a new outbox object on the same dir). */
        ob = outbox_free(ob);
        TAP_CHECK(outbox_open(tmp, 30, fake_send, &f, &ob, NULL) == 0);
        for (int i = 0; i < 8; i++) {
                json_auto_t *cur = outbox_entry(ob, "id1");
                time_t at = (time_t) json_integer_value(json_object_get(cur, "next_attempt"));
                TAP_CHECK(outbox_flush(ob, at, false, &next, NULL) == 1);
        }
        json_auto_t *e2 = outbox_entry(ob, "id1");
        TAP_CHECK(json_integer_value(json_object_get(e2, "attempts")) == 9);
        TAP_CHECK(json_integer_value(json_object_get(e2, "next_attempt")) > 0);
        TAP_CHECK(f.calls == 9);
        /* Capped back-off: never more than retry_max (30 s) between attempts. */
        unsigned max_seen = 0;
        uint64_t rng = 12345;
        for (unsigned a = 1; a < 40; a++) {
                unsigned d = outbox_backoff(a, 30, &rng);
                if (d > max_seen)
                        max_seen = d;
                TAP_CHECK(d >= 1 && d <= 30);
        }
        TAP_CHECK(max_seen >= 24);
        TAP_CHECK(outbox_backoff(1, 30, &rng) <= 2);

        /* Delivered: out of the outbox, recorded in sent/ until pruned. */
        ob->report = on_report;
        TAP_CHECK(outbox_add(ob, "id2", in2, d2, NULL) == 0);
        f.answer = PH_SIGNAL_DELIVERED;
        TAP_CHECK(outbox_flush(ob, now, true, &next, NULL) == 0);
        TAP_CHECK(next == 0);
        TAP_CHECK(outbox_entry(ob, "id1") == NULL && outbox_entry(ob, "id2") == NULL);
        TAP_CHECK(f.calls == 11);
        TAP_CHECK(f.events[PH_OUTBOX_DELIVERED] == 2);
        json_auto_t *sent = outbox_sent_entry(ob, "id1");
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(sent, "data"), "deploy_stdout")),
                      "one");
        outbox_prune_sent(ob);
        TAP_CHECK(outbox_sent_entry(ob, "id1") == NULL);

        /* Gone (404/410): dropped, and said so. */
        f.answer = PH_SIGNAL_GONE;
        TAP_CHECK(outbox_add(ob, "id2", in2, d2, NULL) == 0);
        TAP_CHECK(outbox_flush_one(ob, "id2", now, NULL) == 0);
        TAP_CHECK(outbox_entry(ob, "id2") == NULL);
        TAP_CHECK(f.calls == 12 && f.events[PH_OUTBOX_GONE] == 1);
        TAP_CHECK_STR(f.last_stdout, "two");

        /* Never sendable: set aside in bad/, not deleted. */
        _cleanup_free_ char *bad = xasprintf("%s/outbox/bad", tmp);
        f.answer = PH_SIGNAL_PERMANENT;
        TAP_CHECK(outbox_add(ob, "id2", in2, d2, NULL) == 0);
        TAP_CHECK(outbox_flush_one(ob, "id2", now, NULL) == 0);
        TAP_CHECK(outbox_entry(ob, "id2") == NULL && f.events[PH_OUTBOX_PERMANENT] == 1);
        TAP_CHECK(files_in(bad) == 1);

        /* 413: sent again at once, cut to the small limit, once; a second 413 is an ordinary retry. */
        f.answer = PH_SIGNAL_RETRY_SMALLER;
        f.then = PH_SIGNAL_DELIVERED;
        int c0 = f.calls;
        TAP_CHECK(outbox_add(ob, "big", in2, d2, NULL) == 0);
        TAP_CHECK(outbox_flush_one(ob, "big", now, NULL) == 0);
        TAP_CHECK(f.calls == c0 + 2 && f.last_max == SIGNAL_SMALL_BODY);
        TAP_CHECK(f.events[PH_OUTBOX_RETRY_SMALLER] == 1);
        f.answer = PH_SIGNAL_RETRY_SMALLER;
        f.then = PH_SIGNAL_RETRY_SMALLER;
        TAP_CHECK(outbox_add(ob, "big", in2, d2, NULL) == 0);
        TAP_CHECK(outbox_flush_one(ob, "big", now, NULL) == 1);
        TAP_CHECK(f.calls == c0 + 4);
        json_auto_t *eb = outbox_entry(ob, "big");
        TAP_CHECK(json_integer_value(json_object_get(eb, "max_body")) == SIGNAL_SMALL_BODY);
        TAP_CHECK(json_integer_value(json_object_get(eb, "next_attempt")) > now);
        TAP_CHECK(f.events[PH_OUTBOX_RETRY_SMALLER] == 2);
        f.answer = PH_SIGNAL_DELIVERED;
        TAP_CHECK(outbox_flush(ob, now, true, &next, NULL) == 0);
        TAP_CHECK(f.last_max == SIGNAL_SMALL_BODY); /* the smaller limit is kept with the entry */

        /* Sent, no answer: the long back-off, max(10 s, 5 x timeout), doubling, past retry_max, and not
         * cut short by a flush of everything. */
        ob->request_timeout = 4;
        f.answer = PH_SIGNAL_RETRY_MAYBE_ARRIVED;
        c0 = f.calls;
        TAP_CHECK(outbox_add(ob, "slow", in2, d2, NULL) == 0);
        time_t t = now, prev_delay = 0;
        json_auto_t *slow = outbox_entry(ob, "slow");
        for (int i = 0; i < 6; i++) {
                TAP_CHECK(outbox_flush(ob, t, true, &next, NULL) == 1);
                /* Each attempt is told how many before it may have arrived, and the same token. */
                TAP_CHECK(f.last_maybe == (unsigned) i && strcmp(f.last_id, "slow") == 0);
                TAP_CHECK_STR(f.last_token, json_string_value(json_object_get(slow, "token")));
                TAP_CHECK(outbox_flush(ob, t + 1, true, NULL, NULL) == 1); /* not due: not sent */
                time_t delay = next - t;
                TAP_CHECK(i == 0 ? delay >= 21 && delay <= 25
                                 : delay + 1 >= prev_delay * 2 * 10 / 12 &&
                                           delay <= prev_delay * 2 * 12 / 10 + 1);
                TAP_CHECK(delay > 30 || i < 1); /* retry_max (30) does not cap it */
                prev_delay = delay;
                t = next;
        }
        TAP_CHECK(f.calls == c0 + 6);
        TAP_CHECK(f.events[PH_OUTBOX_RETRY_MAYBE_ARRIVED] == 6);
        uint64_t seed = 7;
        TAP_CHECK(outbox_maybe_backoff(1, 1, &seed) >= 11 && outbox_maybe_backoff(1, 1, &seed) <= 13);
        TAP_CHECK(outbox_maybe_backoff(40, 30, &seed) <= OUTBOX_MAYBE_MAX * 12 / 10);
        f.answer = PH_SIGNAL_DELIVERED;
        TAP_CHECK(outbox_flush(ob, t, false, &next, NULL) == 0);
        TAP_CHECK(f.last_maybe == 6);

        /* Files that are not entries: reported each time one is seen, moved to bad/, never deleted. */
        size_t bad0 = files_in(bad);
        _cleanup_free_ char *junk = xasprintf("%s/outbox/junk.json", tmp);
        _cleanup_free_ char *wrong = xasprintf("%s/outbox/wrong.json", tmp);
        TAP_CHECK(file_write_atomic(junk, "{\"id\": \"junk\", \"inp", strlen("{\"id\": \"junk\", \"inp"),
                                    0600, NULL) == 0);
        const char *other = "{\"id\": \"other\", \"inputs\": {}, \"data\": {}, \"created\": 1}";
        TAP_CHECK(file_write_atomic(wrong, other, strlen(other), 0600, NULL) == 0);
        TAP_CHECK(outbox_flush(ob, now, true, &next, NULL) == 0);
        TAP_CHECK(f.events[PH_OUTBOX_BAD_FILE] == 2);
        TAP_CHECK(file_exists(junk) == 0 && files_in(bad) == bad0 + 2);
        TAP_CHECK(file_write_atomic(junk, "[]", 2, 0600, NULL) == 0);
        TAP_CHECK(outbox_flush(ob, now, true, &next, NULL) == 0);
        TAP_CHECK(f.events[PH_OUTBOX_BAD_FILE] == 3 &&
                  files_in(bad) == bad0 + 3); /* same name: not replaced */
        /* Too big to be read: reported too. An entry is never written that big. */
        char *huge = xmalloc(OUTBOX_MAX_FILE + 2);
        memset(huge, ' ', OUTBOX_MAX_FILE + 1);
        TAP_CHECK(file_write_atomic(junk, huge, OUTBOX_MAX_FILE + 1, 0600, NULL) == 0);
        TAP_CHECK(outbox_flush(ob, now, true, &next, NULL) == 0);
        TAP_CHECK(f.events[PH_OUTBOX_BAD_FILE] == 4);
        huge[OUTBOX_MAX_ENTRY] = '\0';
        json_auto_t *dh = json_pack("{s:s}", "deploy_stdout", huge);
        free(huge);
        TAP_CHECK(outbox_add(ob, "huge", in2, dh, NULL) == -EFBIG);
        TAP_CHECK(outbox_entry(ob, "huge") == NULL);

        /* Re-adding replaces an unsent entry: one result per config id. */
        f.answer = PH_SIGNAL_RETRY;
        TAP_CHECK(outbox_add(ob, "id1", in1, d1, NULL) == 0);
        TAP_CHECK(outbox_add(ob, "id1", in1, d2, NULL) == 0);
        TAP_CHECK(outbox_flush(ob, now, true, &next, NULL) == 1);
        TAP_CHECK_STR(f.last_stdout, "two");

        /* A superseded entry is dropped without being sent. */
        int calls = f.calls;
        ob->is_stale = stale_if_old;
        TAP_CHECK(outbox_add(ob, "old", in1, d1, NULL) == 0);
        TAP_CHECK(outbox_flush_one(ob, "old", now, NULL) == 0);
        TAP_CHECK(outbox_entry(ob, "old") == NULL);
        TAP_CHECK(f.calls == calls);

        outbox_free(ob);
        free(f.last_stdout);
        free(f.last_token);
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmp);
        (void) !system(cmd);
        return tap_done();
}
