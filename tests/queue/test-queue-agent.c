/* The agent's half of the queue that needs no loop: which queue files are retired (a table), and the
 * retirement itself (files move to done/, done/ keeps the latest, the writer numbers after them). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "queue-agent.h"
#include "source/queue-store.h"
#include "tap.h"

static char dir[] = "/tmp/ph-queue-agent-test.XXXXXX";

/* "id:name:action" (name "-": none; stack/resource when name starts with "st="), joined by ' '. */
static json_t *deps_of(const char *spec) {
        json_t *list = json_array();
        _cleanup_free_ char *copy = xstrdup(spec);
        char *save = NULL;

        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                char *id = w, *name = strchr(id, ':');
                *name++ = '\0';
                char *action = strchr(name, ':');
                *action++ = '\0';
                json_t *d = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", id, "group", "docker", "inputs",
                                      "name", "deploy_action", "value", action);
                if (strncmp(name, "st=", 3) == 0) {
                        json_array_append_new(
                                json_object_get(d, "inputs"),
                                json_pack("{s:s, s:s}", "name", "deploy_stack_id", "value", "s1"));
                        json_array_append_new(
                                json_object_get(d, "inputs"),
                                json_pack("{s:s, s:s}", "name", "deploy_resource_name", "value", name + 3));
                } else if (strcmp(name, "-") != 0)
                        json_object_set_new(d, "name", json_string(name));
                json_array_append_new(list, d);
        }
        return list;
}

static void test_choose(void) {
        struct {
                const char *deps;
                const char *done; /* per deployment: p pending, o ok, f failed */
                const char *want; /* the retired ids, joined by ' ' */
        } t[] = {
                {"a:web:CREATE", "o", ""},
                {"a:web:CREATE", "p", ""},
                /* replaced: the older goes once it is done, the latest stays (its pod) */
                {"a:web:CREATE b:web:UPDATE", "oo", "a"},
                {"a:web:CREATE b:web:UPDATE", "fo", "a"},
                {"a:web:CREATE b:web:UPDATE", "op", "a"},
                {"a:web:CREATE b:web:UPDATE", "pp", ""},
                {"a:web:CREATE b:db:CREATE", "oo", ""},
                /* deleted for good: all of it, once none of it is under way */
                {"a:web:CREATE b:web:DELETE", "oo", "a b"},
                {"a:web:CREATE b:web:DELETE", "op", "a"},
                {"a:web:CREATE b:web:DELETE", "po", ""},
                {"a:web:CREATE b:web:DELETE", "of", "a"},
                {"a:web:CREATE b:web:DELETE c:web:CREATE", "ooo", "a b"},
                {"a:web:CREATE b:db:CREATE c:web:DELETE", "ooo", "a c"},
                /* stack + resource, as Heat's */
                {"a:st=r1:CREATE b:st=r1:UPDATE c:st=r2:CREATE", "ooo", "a"},
                /* no resource at all: only a successful DELETE of its own */
                {"a:-:CREATE b:-:CREATE", "oo", ""},
                {"a:-:DELETE", "o", "a"},
                {"a:-:DELETE", "f", ""},
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                json_auto_t *deps = deps_of(t[i].deps);
                PhQueueDone done[8];
                for (size_t k = 0; t[i].done[k]; k++)
                        done[k] = t[i].done[k] == 'p'   ? PH_QUEUE_PENDING
                                  : t[i].done[k] == 'o' ? PH_QUEUE_DONE_OK
                                                        : PH_QUEUE_DONE_FAIL;
                _cleanup_strv_free_ char **ids = queue_retire_choose(deps, done);
                _cleanup_free_ char *got = xstrdup("");
                for (char **id = ids; *id; id++) {
                        char *n = xasprintf("%s%s%s", got, *got ? " " : "", *id);
                        free(got);
                        got = n;
                }
                if (!TAP_CHECK_STR(got, t[i].want))
                        printf("# case %zu: %s / %s\n", i, t[i].deps, t[i].done);
        }
}

static void put(PhQueueStore *q, const char *id) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *d = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", id, "group", "docker", "inputs",
                                   "name", "deploy_action", "value", "CREATE");
        PhQueuePut put;
        TAP_CHECK(queue_store_put(q, d, &put, &err) == 0 && put == PH_QUEUE_STORED);
}

static void test_retire(void) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(queue_store_freep) PhQueueStore *q = NULL;
        json_auto_t *list = NULL, *again = NULL;

        TAP_CHECK(queue_store_open(dir, &q, &err) == 0);
        put(q, "a");
        put(q, "b");
        put(q, "c");
        put(q, "d");
        char *ids[] = {(char *) "a", (char *) "b", (char *) "c", (char *) "gone", NULL};
        TAP_CHECK(queue_store_retire(dir, ids, 2, &err) == 0);
        TAP_CHECK(queue_store_list(q, &list, &err) == 0 && json_array_size(list) == 1);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "id")), "d");
        /* done/ keeps the latest two by seq: a went */
        _cleanup_free_ char *pa = xasprintf("%s/queue/done/a.json", dir);
        _cleanup_free_ char *pb = xasprintf("%s/queue/done/b.json", dir);
        _cleanup_free_ char *pc = xasprintf("%s/queue/done/c.json", dir);
        TAP_CHECK(file_exists(pa) == 0 && file_exists(pb) > 0 && file_exists(pc) > 0);
        /* A reopened writer numbers after the retired ones too. */
        char *d_only[] = {(char *) "d", NULL};
        TAP_CHECK(queue_store_retire(dir, d_only, 2, &err) == 0);
        q = queue_store_free(q);
        TAP_CHECK(queue_store_open(dir, &q, &err) == 0);
        put(q, "e");
        _cleanup_free_ char *pe = xasprintf("%s/queue/e.json", dir);
        json_auto_t *e = file_load_json(pe, 1 << 20);
        TAP_CHECK(json_integer_value(json_object_get(e, "seq")) == 5);
        /* retiring again what is retired already is no error */
        TAP_CHECK(queue_store_retire(dir, d_only, 2, &err) == 0);
}

int main(void) {
        if (!mkdtemp(dir))
                return 1;
        test_choose();
        test_retire();
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
                return 1;
        return tap_done();
}
