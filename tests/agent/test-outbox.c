/* Outbox: written before the send, kept with its schedule on retryable errors (across a re-open),
 * dropped on delivery and on a permanent refusal. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "outbox.h"
#include "tap.h"

typedef struct Fake {
        const char *dir;
        int answer;
        int calls;
        bool entry_on_disk; /* seen during the send */
        char *last_stdout;
} Fake;

static int fake_send(const json_t *inputs, const json_t *data, void *userdata, PhError **reterr) {
        Fake *f = userdata;
        _cleanup_free_ char *path = xasprintf("%s/outbox/%s.json", f->dir,
                                              json_string_value(json_object_get(inputs, "deploy_id")));
        f->calls++;
        f->entry_on_disk = file_exists(path) > 0;
        free(f->last_stdout);
        f->last_stdout = xstrdup(json_string_value(json_object_get(data, "deploy_stdout")));
        if (f->answer < 0)
                return ph_error_set(reterr, -f->answer, "fake answer %d", f->answer);
        return 0;
}

static bool stale_if_old(const char *id, const json_t *inputs, void *userdata) {
        return strcmp(id, "old") == 0;
}

int main(void) {
        char tmp[] = "/tmp/ph-test-outbox-XXXXXX";
        if (!mkdtemp(tmp))
                return 1;
        Fake f = { .dir = tmp, .answer = -EAGAIN };
        PhOutbox *ob = NULL;
        time_t next = 0;
        json_auto_t *in1 = json_pack("{s:s}", "deploy_id", "id1"), *in2 = json_pack("{s:s}", "deploy_id", "id2");
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

        /* Delivered: gone. A second entry refused permanently: gone too, the first one kept order. */
        TAP_CHECK(outbox_add(ob, "id2", in2, d2, NULL) == 0);
        f.answer = 0;
        TAP_CHECK(outbox_flush(ob, now, true, &next, NULL) == 0);
        TAP_CHECK(next == 0);
        TAP_CHECK(outbox_entry(ob, "id1") == NULL && outbox_entry(ob, "id2") == NULL);
        TAP_CHECK(f.calls == 11);

        f.answer = -EACCES;
        TAP_CHECK(outbox_add(ob, "id2", in2, d2, NULL) == 0);
        TAP_CHECK(outbox_flush_one(ob, "id2", now, NULL) == 0);
        TAP_CHECK(outbox_entry(ob, "id2") == NULL);
        TAP_CHECK(f.calls == 12);
        TAP_CHECK_STR(f.last_stdout, "two");

        /* Re-adding replaces an unsent entry: one result per config id. */
        f.answer = -EAGAIN;
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
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmp);
        (void) !system(cmd);
        return tap_done();
}
