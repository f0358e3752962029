#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/deployment.h"
#include "common/fileio.h"
#include "common/secret.h"
#include "docker/pod-options.h"
#include "docker/pod-spec.h"

#define SECRETS_FILE_MAX (1024u * 1024u)

static bool strv_contains(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

/* Appends s (taken) to the NULL-terminated *v. */
static void strv_push(char ***v, char *s) {
        size_t n = strv_length(*v);

        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = s;
        (*v)[n + 1] = NULL;
}

void deploy_options_done(PhDeployOptions *o) {
        strv_free(o->wait_for);
        json_decref(o->config_files);
        json_decref(o->target);
        *o = (PhDeployOptions){};
}

typedef struct Parser {
        const char *source;
        const PhManifestDoc *doc;
        PhError *err;
} Parser;

static void problem(Parser *p, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(Parser *p, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        int line = manifest_doc_text_line(p->doc, path);
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (line > 0)
                (void) ph_error_append(&p->err, EINVAL, "%s:%d: %s: %s", p->source, line, path, msg);
        else
                (void) ph_error_append(&p->err, EINVAL, "%s: %s: %s", p->source, path, msg);
}

static bool seconds(Parser *p, const json_t *v, const char *path, unsigned min, unsigned max, unsigned *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
                problem(p, path, "must be whole seconds from %u to %u, not %s", min, max,
                        json_is_integer(v) ? "that" : deployment_kind_of(v));
                return false;
        }
        *ret = (unsigned) json_integer_value(v);
        return true;
}

const char *deploy_options_wait_problem(const char *dep) {
        if (strncmp(dep, "pod:", 4) == 0)
                return pod_name_is_valid(dep + 4) ? NULL : "pod:NAME must name a valid pod";
        if (strncmp(dep, "tcp:", 4) == 0) {
                const char *colon = strrchr(dep + 4, ':');
                char *end = NULL;
                long port = colon ? strtol(colon + 1, &end, 10) : 0;
                if (!colon || colon == dep + 4 || !end || *end || end == colon + 1 || port < 1 ||
                    port > 65535)
                        return "tcp:HOST:PORT needs a host and a port from 1 to 65535";
                return NULL;
        }
        if (strncmp(dep, "http://", 7) == 0 || strncmp(dep, "https://", 8) == 0)
                return dep[strcspn(dep, ":") + 3] ? NULL : "the URL has no host";
        return "must be pod:NAME, tcp:HOST:PORT or an http:// or https:// URL";
}

static void wait_for(Parser *p, const json_t *v, PhDeployOptions *o) {
        const json_t *item;
        size_t i;

        if (!json_is_array(v)) {
                problem(p, "options.wait_for", "must be a list, not %s", deployment_kind_of(v));
                return;
        }
        o->wait_for = xcalloc(json_array_size(v) + 1, sizeof(char *));
        size_t n = 0;
        json_array_foreach((json_t *) v, i, item) {
                _cleanup_free_ char *path = xasprintf("options.wait_for[%zu]", i);
                const char *why;
                if (!json_is_string(item)) {
                        problem(p, path, "must be a string, not %s", deployment_kind_of(item));
                        continue;
                }
                why = deploy_options_wait_problem(json_string_value(item));
                if (why) {
                        /* A URL may carry a password: the entry itself is not repeated. */
                        problem(p, path, "%s", why);
                        continue;
                }
                o->wait_for[n++] = xstrdup(json_string_value(item));
        }
}

static void config_files(Parser *p, const json_t *v, PhDeployOptions *o) {
        const char *k;
        json_t *val;

        if (!json_is_object(v)) {
                problem(p, "options.config_files", "must be a map of keys to file contents, not %s",
                        deployment_kind_of(v));
                return;
        }
        json_object_foreach((json_t *) v, k, val) {
                if (!json_is_string(val)) {
                        _cleanup_free_ char *path = xasprintf("options.config_files.%s", k);
                        problem(p, path, "must be a string (the file's content), not %s",
                                deployment_kind_of(val));
                }
        }
        o->config_files = json_deep_copy(v);
}

/* log_max_size: bytes as a number, or a text with k, m or g ("10m"); 0: the engine's own log config. */
static bool log_size(Parser *p, const json_t *v, const char *path, uint64_t *ret) {
        _cleanup_free_ char *text = json_is_integer(v) && json_integer_value(v) >= 0
                                            ? xasprintf("%lld", (long long) json_integer_value(v))
                                    : json_is_string(v) ? xstrdup(json_string_value(v))
                                                        : NULL;

        if (!text || pod_log_size_parse(text, ret) < 0) {
                problem(p, path,
                        "a size in bytes or with k, m or g (\"10m\"), at most 1 TiB, or 0 for the engine's "
                        "own log config");
                return false;
        }
        return true;
}

int deploy_options_parse(const json_t *v, const char *source, const PhManifestDoc *doc, PhDeployOptions *ret,
                         PhError **reterr) {
        Parser p = {.source = source, .doc = doc};
        PhDeployOptions o = {};
        const char *key;
        json_t *val;

        *ret = (PhDeployOptions){};
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v)) {
                problem(&p, "options", "must be a map, not %s", deployment_kind_of(v));
                goto fail;
        }
        json_object_foreach((json_t *) v, key, val) {
                _cleanup_free_ char *path = xasprintf("options.%s", key);
                if (strcmp(key, "grace_period") == 0)
                        o.grace_set = seconds(&p, val, path, 1, OPTIONS_SECONDS_MAX, &o.grace_period);
                else if (strcmp(key, "init") == 0) {
                        if (json_is_boolean(val)) {
                                o.init = json_is_true(val);
                                o.init_set = true;
                        } else
                                problem(&p, path, "must be true or false, not %s", deployment_kind_of(val));
                } else if (strcmp(key, "start_window") == 0)
                        o.start_window_set = seconds(&p, val, path, 0, OPTIONS_SECONDS_MAX, &o.start_window);
                else if (strcmp(key, "ready_timeout") == 0)
                        o.ready_timeout_set =
                                seconds(&p, val, path, 0, OPTIONS_SECONDS_MAX, &o.ready_timeout);
                else if (strcmp(key, "wait_for") == 0)
                        wait_for(&p, val, &o);
                else if (strcmp(key, "wait_interval") == 0)
                        o.wait_interval_set =
                                seconds(&p, val, path, 1, OPTIONS_SECONDS_MAX, &o.wait_interval);
                else if (strcmp(key, "wait_timeout") == 0)
                        o.wait_timeout_set =
                                seconds(&p, val, path, 0, OPTIONS_WAIT_TIMEOUT_MAX, &o.wait_timeout);
                else if (strcmp(key, "config_files") == 0)
                        config_files(&p, val, &o);
                else if (strcmp(key, "log_max_size") == 0)
                        o.log_max_size_set = log_size(&p, val, path, &o.log_max_size);
                else if (strcmp(key, "log_max_file") == 0) {
                        if (json_is_integer(val) && json_integer_value(val) >= 1 &&
                            json_integer_value(val) <= POD_LOG_MAX_FILE_MAX) {
                                o.log_max_file = (unsigned) json_integer_value(val);
                                o.log_max_file_set = true;
                        } else
                                problem(&p, path, "a whole number of files from 1 to %u",
                                        POD_LOG_MAX_FILE_MAX);
                } else if (strcmp(key, "target") == 0)
                        o.target = json_incref(val); /* reserved: where the pod runs (later work) */
                else
                        problem(&p, path, "unknown key");
        }
        if (!p.err) {
                *ret = o;
                return 0;
        }
fail:
        deploy_options_done(&o);
        if (reterr) {
                ph_error_free(*reterr);
                *reterr = p.err;
        } else
                ph_error_free(p.err);
        return -EINVAL;
}

void deploy_options_merge(PhDeployOptions *base, const PhDeployOptions *over) {
#define TAKE(set, field)                                                                                     \
        if (over->set) {                                                                                     \
                base->set = true;                                                                            \
                base->field = over->field;                                                                   \
        }
        TAKE(grace_set, grace_period);
        TAKE(init_set, init);
        TAKE(start_window_set, start_window);
        TAKE(ready_timeout_set, ready_timeout);
        TAKE(wait_interval_set, wait_interval);
        TAKE(wait_timeout_set, wait_timeout);
        TAKE(log_max_size_set, log_max_size);
        TAKE(log_max_file_set, log_max_file);
#undef TAKE
        if (over->wait_for) {
                strv_free(base->wait_for);
                base->wait_for = strv_copy(over->wait_for);
        }
        if (over->config_files) {
                json_decref(base->config_files);
                base->config_files = json_incref(over->config_files);
        }
        if (over->target) {
                json_decref(base->target);
                base->target = json_incref(over->target);
        }
}

void deploy_options_apply(const PhDeployOptions *o, PhPodOptions *po) {
        if (o->grace_set)
                po->grace_seconds = o->grace_period;
        if (o->init_set)
                po->no_init = !o->init;
        if (o->start_window_set) {
                po->start_window = o->start_window;
                po->start_window_set = true;
        }
        if (o->ready_timeout_set) {
                po->ready_timeout = o->ready_timeout;
                po->ready_timeout_set = true;
        }
        if (o->wait_for)
                po->wait_for = o->wait_for;
        if (o->wait_interval_set)
                po->wait_interval = o->wait_interval;
        if (o->wait_timeout_set) {
                po->wait_timeout = o->wait_timeout;
                po->wait_timeout_set = true;
        }
        if (o->config_files)
                po->config_files = o->config_files;
        if (o->log_max_size_set) {
                po->log_max_size = o->log_max_size;
                po->log_max_size_set = true;
        }
        if (o->log_max_file_set) {
                po->log_max_file = o->log_max_file;
                po->log_max_file_set = true;
        }
}

/* --- the values ------------------------------------------------------------------------------- */

static const char *string_of(const json_t *map, const char *name) {
        return json_string_value(json_object_get(map, name));
}

const char *pod_secret_value(const PhPodOptions *o, const char *name) {
        if (!o)
                return NULL;
        const char *v = string_of(o->inputs, name);

        return v ? v : string_of(o->secrets, name);
}

const char *pod_config_value(const PhPodOptions *o, const char *key) {
        if (!o)
                return NULL;
        const char *v = string_of(o->config_files, key);

        return v ? v : pod_secret_value(o, key);
}

static void add_keys(const json_t *map, char ***v) {
        const char *k;
        json_t *val;

        json_object_foreach((json_t *) map, k, val) if (json_is_string(val) && !strv_contains(*v, k))
                strv_push(v, xstrdup(k));
}

void pod_value_names(const PhPodOptions *o, char ***ret_secret_names, char ***ret_config_keys) {
        char **s = xcalloc(1, sizeof(char *)), **c = xcalloc(1, sizeof(char *));

        add_keys(o->inputs, &s);
        add_keys(o->secrets, &s);
        add_keys(o->config_files, &c);
        add_keys(o->inputs, &c);
        add_keys(o->secrets, &c);
        *ret_secret_names = s;
        *ret_config_keys = c;
}

static void add_value(char ***values, const char *v) {
        if (v && strlen(v) >= SECRET_MIN_SCRUB && !strv_contains(*values, v))
                strv_push(values, xstrdup(v));
}

void pod_secret_values(const PhPodOptions *o, const PhManifest *m, char ***values) {
        const char *k;
        json_t *val;

        if (!*values)
                *values = xcalloc(1, sizeof(char *));
        json_object_foreach((json_t *) o->secrets, k, val) add_value(values, json_string_value(val));
        for (size_t i = 0; m && i < m->n_containers; i++)
                for (size_t e = 0; e < m->containers[i].n_env; e++)
                        if (m->containers[i].env[e].secret_key)
                                add_value(values, pod_secret_value(o, m->containers[i].env[e].secret_key));
        for (size_t i = 0; m && i < m->n_volumes; i++)
                if (m->volumes[i].kind == PH_VOLUME_SECRET)
                        for (size_t k2 = 0; k2 < m->volumes[i].n_items; k2++)
                                add_value(values, pod_config_value(o, m->volumes[i].items[k2].key));
}

json_t *pod_inputs_of_deployment(const json_t *deployment) {
        json_t *map = json_object();
        const json_t *in;
        size_t i;

        json_array_foreach(json_object_get(deployment, "inputs"), i, in) {
                const char *name = json_string_value(json_object_get(in, "name"));
                const json_t *v = json_object_get(in, "value");
                if (name && json_is_string(v) && !json_object_get(map, name))
                        json_object_set_new(map, name, json_incref((json_t *) v));
        }
        return map;
}

int secrets_file_load(const char *path, json_t **ret, PhError **reterr) {
        _cleanup_free_ char *what = xasprintf("secrets file %s", path);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        json_auto_t *v = NULL;
        json_error_t jerr;
        const char *k;
        json_t *val;
        size_t len = 0;
        int r;

        fd = file_open_regular(AT_FDCWD, path, reterr);
        if (fd < 0)
                return ph_error_prefix(reterr, "secrets file");
        r = file_check_private(fd, what, reterr);
        if (r < 0)
                return r;
        r = fd_read_all(fd, SECRETS_FILE_MAX, &buf, &len, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "%s", what);
        v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        explicit_bzero(buf, len);
        if (!v) {
                secret_cut_json_error(jerr.text);
                return ph_error_set(reterr, EINVAL, "%s:%d: not JSON: %s (column %d)", path, jerr.line,
                                    jerr.text, jerr.column);
        }
        if (!json_is_object(v))
                return ph_error_set(reterr, EINVAL, "%s: must be a JSON object of names to strings, not %s",
                                    path, deployment_kind_of(v));
        json_object_foreach(v, k, val) {
                if (!json_is_string(val)) {
                        return ph_error_set(reterr, EINVAL, "%s: %s: must be a string, not %s", path, k,
                                            deployment_kind_of(val));
                }
        }
        *ret = TAKE_PTR(v);
        return 0;
}
