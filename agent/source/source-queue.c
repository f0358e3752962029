/* queue-store.h: the queue directory, and the `queue` source that reads it back as metadata. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/deployment.h"
#include "common/fileio.h"
#include "source/queue-store.h"
#include "source/source-internal.h"

#define QUEUE_GROUP_MAX 64
#define QUEUE_DONE_DIR  "done"
/* A stored file holds the message and a few bytes more. */
#define QUEUE_FILE_MAX (QUEUE_MESSAGE_MAX + 4096u)

struct PhQueueStore {
        char *dir;
        int dfd;
        json_int_t next_seq;
};

static const char *const queue_actions[] = {"CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME"};

static bool group_valid(const char *g) {
        size_t n = strlen(g);
        if (n == 0 || n > QUEUE_GROUP_MAX)
                return false;
        for (const char *p = g; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '-' || *p == '_' || *p == ':' || *p == '.'))
                        return false;
        return true;
}

static void problem(PhError **err, const char *field, const char *what) {
        if (!*err) {
                (void) ph_error_set(err, EINVAL, "%s: %s", field, what);
                return;
        }
        char *joined = xasprintf("%s; %s: %s", (*err)->msg, field, what);
        free((*err)->msg);
        (*err)->msg = joined;
}

static void check_inputs(const json_t *inputs, PhError **err) {
        const json_t *in;
        size_t i;
        bool action = false;

        if (!inputs) {
                problem(err, "inputs", "missing (a list with a deploy_action input)");
                return;
        }
        if (!json_is_array(inputs)) {
                problem(err, "inputs", "must be a list");
                return;
        }
        json_array_foreach(inputs, i, in) {
                const char *name = json_string_value(json_object_get(in, "name"));
                if (!json_is_object(in) || !name) {
                        _cleanup_free_ char *f = xasprintf("inputs[%zu]", i);
                        problem(err, f, "must be an object with a string \"name\"");
                        continue;
                }
                if (strcmp(name, "deploy_action") != 0 || action)
                        continue;
                action = true;
                const char *a = json_string_value(json_object_get(in, "value"));
                bool known = false;
                for (size_t k = 0; a && k < ELEMENTSOF(queue_actions); k++)
                        known = known || strcmp(a, queue_actions[k]) == 0;
                if (!known)
                        problem(err, "deploy_action", "must be CREATE, UPDATE, DELETE, SUSPEND or RESUME");
        }
        if (!action)
                problem(err, "inputs", "no deploy_action input");
}

int queue_deployment_parse(const void *data, size_t len, json_t **ret, PhError **reterr) {
        _cleanup_error_ PhError *err = NULL;
        json_error_t jerr;

        if (len > QUEUE_MESSAGE_MAX)
                return ph_error_set(reterr, EMSGSIZE, "the message has %zu bytes, more than the limit of %u",
                                    len, QUEUE_MESSAGE_MAX);
        json_auto_t *d = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!d)
                return ph_error_set(reterr, EBADMSG, "not valid JSON (line %d, column %d)", jerr.line,
                                    jerr.column); /* jansson's text quotes the input: it may hold secrets */
        if (!json_is_object(d))
                return ph_error_set(reterr, EINVAL, "a deployment must be a JSON object");

        const json_t *id = json_object_get(d, "id"), *group = json_object_get(d, "group");
        const json_t *name = json_object_get(d, "name"), *options = json_object_get(d, "options");
        const json_t *outputs = json_object_get(d, "outputs");
        if (!id)
                problem(&err, "id", "missing");
        else if (!json_is_string(id))
                problem(&err, "id", "must be a string");
        else if (!deployment_id_valid(json_string_value(id)))
                problem(&err, "id",
                        "may hold only letters, digits, '.', '_' and '-', not start with '.', at most 200");
        if (!group)
                problem(&err, "group", "missing (the hook that runs it: docker, script, ...)");
        else if (!json_is_string(group) || !group_valid(json_string_value(group)))
                problem(&err, "group",
                        "must be a hook name: letters, digits, '.', '_', '-', ':', at most 64");
        if (name && !json_is_string(name))
                problem(&err, "name", "must be a string");
        if (options && !json_is_object(options) && !json_is_null(options))
                problem(&err, "options", "must be an object");
        if (outputs && !json_is_array(outputs) && !json_is_null(outputs))
                problem(&err, "outputs", "must be a list");
        check_inputs(json_object_get(d, "inputs"), &err);
        if (err) {
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return -EINVAL;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

static bool stored_name(const char *name) {
        size_t n = strlen(name);
        return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The stored entry of a file: {"seq", "received", "deployment"} whose deployment's id is the name. */
static int load_entry(const PhQueueStore *q, const char *name, json_t **ret, PhError **reterr) {
        _cleanup_close_ int fd = file_open_regular(q->dfd, name, reterr);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if (fd < 0) {
                (void) ph_error_prefix(reterr, "%s", q->dir);
                return fd;
        }
        r = fd_read_all(fd, QUEUE_FILE_MAX, &text, &len, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "%s/%s", q->dir, name);
                return r;
        }
        json_auto_t *e = json_loadb(text, len, 0, NULL);
        const json_t *d = json_object_get(e, "deployment");
        const char *id = json_string_value(json_object_get(d, "id"));
        if (!json_is_integer(json_object_get(e, "seq")) || !id || strlen(id) != strlen(name) - 5 ||
            strncmp(id, name, strlen(id)) != 0)
                return ph_error_set(reterr, EBADMSG, "%s/%s: not a stored deployment of id %.*s", q->dir,
                                    name, (int) (strlen(name) - 5), name);
        *ret = TAKE_PTR(e);
        return 0;
}

static int entry_cmp(const void *a, const void *b) {
        json_t *const *x = a, *const *y = b;
        json_int_t i = json_integer_value(json_object_get(*x, "seq"));
        json_int_t j = json_integer_value(json_object_get(*y, "seq"));
        if (i != j)
                return (i > j) - (i < j);
        return strcmp(json_string_value(json_object_get(json_object_get(*x, "deployment"), "id")),
                      json_string_value(json_object_get(json_object_get(*y, "deployment"), "id")));
}

/* Every entry of the directory, in order of arrival (new ref, a list of entries); with clean set, the
 * temporary files of cut-short writes go. */
static int scan(const PhQueueStore *q, bool clean, json_t **ret, PhError **reterr) {
        int dfd = fcntl(q->dfd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return ph_error_set(reterr, errno, "%s: %s", q->dir, strerror(errno));
        DIR *dir = fdopendir(dfd);
        if (!dir) {
                int e = errno;
                close(dfd);
                return ph_error_set(reterr, e, "%s: %s", q->dir, strerror(e));
        }
        rewinddir(dir);
        json_t **v = NULL;
        size_t n = 0;
        int r = 0;
        for (struct dirent *de; (errno = 0, de = readdir(dir));) {
                if (clean && de->d_name[0] != '.' && strstr(de->d_name, ".json.tmp.")) {
                        (void) unlinkat(q->dfd, de->d_name, 0);
                        continue;
                }
                if (!stored_name(de->d_name))
                        continue;
                json_t *e = NULL;
                r = load_entry(q, de->d_name, &e, reterr);
                if (r < 0)
                        break;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = e;
        }
        if (r == 0 && errno != 0)
                r = ph_error_set(reterr, errno, "%s: %s", q->dir, strerror(errno));
        closedir(dir);
        if (n > 0)
                qsort(v, n, sizeof(*v), entry_cmp);
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(list, v[i]);
        free(v);
        if (r < 0) {
                json_decref(list);
                return r;
        }
        *ret = list;
        return 0;
}

/* The largest seq of the entries (0 for none). */
static json_int_t max_seq(const json_t *entries) {
        json_int_t m = 0;
        const json_t *e;
        size_t i;

        json_array_foreach(entries, i, e) {
                json_int_t s = json_integer_value(json_object_get(e, "seq"));
                if (s > m)
                        m = s;
        }
        return m;
}

static int store_open_dir(char *dir, PhQueueStore **ret, PhError **reterr) {
        _cleanup_(queue_store_freep) PhQueueStore *q = xcalloc(1, sizeof(*q));
        int r;

        q->dfd = -1;
        q->dir = dir;
        r = dir_open_private(q->dir, geteuid(), &q->dfd, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "queue");
                return r;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

/* writer: the side that stores (zmq-listen), which cleans up after cut-short writes and numbers the
 * next arrival after every seq stored, retired ones too; the reader (the source, perhaps on another
 * thread) only lists. */
static int store_open(const char *state_dir, bool writer, PhQueueStore **ret, PhError **reterr) {
        _cleanup_(queue_store_freep) PhQueueStore *q = NULL, *done = NULL;
        json_auto_t *entries = NULL, *retired = NULL;
        int r;

        r = store_open_dir(xasprintf("%s/queue", state_dir), &q, reterr);
        if (r < 0)
                return r;
        if (!writer) {
                *ret = TAKE_PTR(q);
                return 0;
        }
        r = scan(q, true, &entries, reterr);
        if (r == 0)
                r = store_open_dir(xasprintf("%s/queue/" QUEUE_DONE_DIR, state_dir), &done, reterr);
        if (r == 0)
                r = scan(done, true, &retired, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "queue");
                return r;
        }
        json_int_t a = max_seq(entries), b = max_seq(retired);
        q->next_seq = (a > b ? a : b) + 1;
        *ret = TAKE_PTR(q);
        return 0;
}

int queue_store_retire(const char *state_dir, char *const *ids, size_t keep, PhError **reterr) {
        _cleanup_(queue_store_freep) PhQueueStore *q = NULL, *done = NULL;
        json_auto_t *retired = NULL;
        int r;

        r = store_open_dir(xasprintf("%s/queue", state_dir), &q, reterr);
        if (r == 0)
                r = store_open_dir(xasprintf("%s/queue/" QUEUE_DONE_DIR, state_dir), &done, reterr);
        if (r < 0)
                return r;
        for (char *const *id = ids; id && *id; id++) {
                _cleanup_free_ char *name = xasprintf("%s.json", *id);
                if (!deployment_id_valid(*id))
                        continue;
                /* Gone already (an earlier retirement the crash cut short is done again): fine. */
                if (renameat(q->dfd, name, done->dfd, name) < 0 && errno != ENOENT)
                        return ph_error_set(reterr, errno, "queue: moving %s/%s to %s: %s", q->dir, name,
                                            done->dir, strerror(errno));
        }
        r = scan(done, false, &retired, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "queue");
                return r;
        }
        /* Oldest first: what is past keep goes. */
        for (size_t i = 0; i + keep < json_array_size(retired); i++) {
                const json_t *d = json_object_get(json_array_get(retired, i), "deployment");
                _cleanup_free_ char *name = xasprintf("%s.json", json_string_value(json_object_get(d, "id")));
                if (unlinkat(done->dfd, name, 0) < 0 && errno != ENOENT)
                        return ph_error_set(reterr, errno, "queue: removing %s/%s: %s", done->dir, name,
                                            strerror(errno));
        }
        return 0;
}

int queue_store_open(const char *state_dir, PhQueueStore **ret, PhError **reterr) {
        return store_open(state_dir, true, ret, reterr);
}

PhQueueStore *queue_store_free(PhQueueStore *q) {
        if (!q)
                return NULL;
        if (q->dfd >= 0)
                close(q->dfd);
        free(q->dir);
        free(q);
        return NULL;
}

const char *queue_store_dir(const PhQueueStore *q) {
        return q->dir;
}

bool queue_store_has(const PhQueueStore *q, const char *id) {
        _cleanup_free_ char *name = xasprintf("%s.json", id);
        return deployment_id_valid(id) && faccessat(q->dfd, name, F_OK, AT_EACCESS) == 0;
}

int queue_store_put(PhQueueStore *q, const json_t *deployment, PhQueuePut *ret, PhError **reterr) {
        const char *id = json_string_value(json_object_get(deployment, "id"));

        if (!deployment_id_valid(id))
                return ph_error_set(reterr, EINVAL, "queue: a deployment without a valid id");
        if (queue_store_has(q, id)) {
                *ret = PH_QUEUE_DUPLICATE;
                return 0;
        }
        json_auto_t *entry = json_pack("{s:I, s:I, s:O}", "seq", q->next_seq, "received",
                                       (json_int_t) time(NULL), "deployment", deployment);
        _cleanup_free_ char *text = json_dumps(entry, JSON_COMPACT);
        _cleanup_free_ char *path = xasprintf("%s/%s.json", q->dir, id);
        int r = file_write_atomic(path, text, strlen(text), 0600, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "queue");
                return r;
        }
        q->next_seq++;
        *ret = PH_QUEUE_STORED;
        return 0;
}

int queue_store_list(const PhQueueStore *q, json_t **ret, PhError **reterr) {
        json_auto_t *entries = NULL;
        const json_t *e;
        size_t i;
        int r = scan(q, false, &entries, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "queue");
                return r;
        }
        json_t *list = json_array();
        json_array_foreach(entries, i, e) json_array_append(list, json_object_get(e, "deployment"));
        *ret = list;
        return 0;
}

/* The source: {"path": DIR} names the state dir whose queue/ it reads; without it, the agent's. */
static int queue_init(PhSource *s, const json_t *section, PhError **reterr) {
        const char *path = NULL;
        const PhSourceKey keys[] = {{"path", false, &path}};
        PhQueueStore *q = NULL;
        int r = source_config_strings(s, json_is_object(section) ? section : NULL, keys, ELEMENTSOF(keys),
                                      reterr);
        if (r < 0)
                return r;
        if (!path)
                path = s->state_dir;
        if (!path)
                return ph_error_set(reterr, EINVAL, "queue: no state dir to read the queue from");
        r = store_open(path, false, &q, reterr);
        if (r < 0)
                return r;
        s->data = q;
        return 0;
}

static int queue_collect(PhSource *s, json_t **ret, PhError **reterr) {
        json_t *list = NULL;
        int r = queue_store_list(s->data, &list, reterr);
        if (r < 0)
                return r;
        *ret = json_pack("{s:o}", "deployments", list);
        return 0;
}

static void queue_done(PhSource *s) {
        queue_store_free(s->data);
}

const PhSourceOps source_queue_ops = {
        .name = "queue",
        .init = queue_init,
        .collect = queue_collect,
        .done = queue_done,
};
