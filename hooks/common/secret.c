#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/secret.h"

static bool contains_ci(const char *s, const char *needle) {
        return strcasestr(s, needle) != NULL;
}

/* Calls fn on each word of name (see secret.h) until it returns true. */
static bool any_word(const char *name, bool (*fn)(const char *w, size_t n, const void *arg),
                     const void *arg) {
        size_t n = strlen(name);

        for (size_t i = 0; i < n;) {
                if (!isalpha((unsigned char) name[i])) {
                        i++;
                        continue;
                }
                size_t j = i + 1;
                while (j < n && isalpha((unsigned char) name[j])) {
                        bool hump = islower((unsigned char) name[j - 1]) && isupper((unsigned char) name[j]);
                        bool acronym_end = isupper((unsigned char) name[j - 1]) &&
                                           isupper((unsigned char) name[j]) && j + 1 < n &&
                                           islower((unsigned char) name[j + 1]);
                        if (hump || acronym_end)
                                break;
                        j++;
                }
                if (fn(name + i, j - i, arg))
                        return true;
                i = j;
        }
        return false;
}

static bool word_is(const char *w, size_t n, const void *arg) {
        const char *want = arg;
        return n == strlen(want) && strncasecmp(w, want, n) == 0;
}

/* The last word of name, as a pointer into it and a length. */
typedef struct LastWord {
        const char *w;
        size_t n;
} LastWord;

static bool remember_word(const char *w, size_t n, const void *arg) {
        LastWord *last = (LastWord *) arg;
        last->w = w;
        last->n = n;
        return false;
}

bool secret_name_is_secret(const char *name) {
        static const char *const substrings[] = {
                "pass",   "token",     "secret",    "credential",   "private",
                "apikey", "signature", "signal_id", "metadata_url",
        };
        static const char *const words[] = {"pw", "key"};
        LastWord last = {};

        for (size_t i = 0; i < ELEMENTSOF(substrings); i++)
                if (contains_ci(name, substrings[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (any_word(name, word_is, words[i]))
                        return true;
        if (!contains_ci(name, "auth"))
                return false;
        /* auth_url, OS_AUTH_URL: where Keystone is; a password in them is cut off as user info. */
        (void) any_word(name, remember_word, &last);
        return !(last.w && (word_is(last.w, last.n, "url") || word_is(last.w, last.n, "uri")));
}

void secret_cut_json_error(char *text) {
        char *near = strstr(text, " near '");

        if (near)
                *near = '\0';
}

bool secret_url_is_signed(const char *s) {
        const char *q = strchr(s, '?');

        if (!q || !strstr(s, "://"))
                return false;
        return contains_ci(q, "signature=") || contains_ci(q, "temp_url_sig=") || contains_ci(q, "token=");
}

/* --- finding secret values -------------------------------------------------------------------- */

typedef struct Values {
        char **v; /* NULL-terminated */
        size_t n;
} Values;

static void add_n(Values *vals, const char *s, size_t len) {
        if (len < SECRET_MIN_SCRUB)
                return;
        for (size_t i = 0; i < vals->n; i++)
                if (strlen(vals->v[i]) == len && memcmp(vals->v[i], s, len) == 0)
                        return;
        vals->v = xrealloc(vals->v, (vals->n + 2) * sizeof(char *));
        vals->v[vals->n++] = xstrndup(s, len);
        vals->v[vals->n] = NULL;
}

static void add(Values *vals, const char *s) {
        if (s)
                add_n(vals, s, strlen(s));
}

/* Each URL password in s: "scheme://user:PASSWORD@host..." (start and length), via fn. */
static void each_url_password(const char *s, void (*fn)(const char *pw, size_t n, void *arg), void *arg) {
        for (const char *p = strstr(s, "://"); p; p = strstr(p + 3, "://")) {
                const char *auth = p + 3;
                size_t alen = strcspn(auth, "/?# \t\r\n\"'");
                const char *at = memrchr(auth, '@', alen);
                const char *colon = at ? memchr(auth, ':', (size_t) (at - auth)) : NULL;
                if (colon)
                        fn(colon + 1, (size_t) (at - colon - 1), arg);
        }
}

static void add_password(const char *pw, size_t n, void *arg) {
        add_n(arg, pw, n);
}

/* A string seen anywhere: a signed URL is secret as a whole, a URL's password on its own. */
static void collect_string(Values *vals, const char *s) {
        if (secret_url_is_signed(s))
                add(vals, s);
        each_url_password(s, add_password, vals);
}

/* NAME=value: the value when NAME (an environment variable name) is secret. */
static const char *env_secret_value(const char *s) {
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");

        if (n == 0 || s[n] != '=')
                return NULL;
        _cleanup_free_ char *name = xstrndup(s, n);
        return secret_name_is_secret(name) ? s + n + 1 : NULL;
}

/* token without one pair of surrounding quotes */
static void add_unquoted(Values *vals, const char *t, size_t n) {
        if (n >= 2 && (t[0] == '\'' || t[0] == '"') && t[n - 1] == t[0])
                t++, n -= 2;
        add_n(vals, t, n);
}

/* --NAME=value and --NAME value in a command (a list of strings, each maybe a shell line of several
 * words: "sh -c 'app --password=x'"); *pending: the last word of the previous element was --NAME. */
static void collect_args(Values *vals, const char *s, bool *pending) {
        if (*pending) {
                *pending = false;
                if (s[0] != '-') {
                        add(vals, s); /* the whole next element is the value */
                        return;
                }
        }
        bool want = false;
        for (const char *p = s; *p;) {
                p += strspn(p, " \t\r\n");
                size_t n = strcspn(p, " \t\r\n");
                if (n == 0)
                        break;
                if (want && p[0] != '-')
                        add_unquoted(vals, p, n);
                want = false;
                if (p[0] == '-') {
                        size_t dashes = strspn(p, "-");
                        const char *eq = memchr(p, '=', n);
                        _cleanup_free_ char *name =
                                xstrndup(p + dashes, (size_t) ((eq ? eq : p + n) - (p + dashes)));
                        if (*name && secret_name_is_secret(name)) {
                                if (eq)
                                        add_unquoted(vals, eq + 1, (size_t) (p + n - eq - 1));
                                else
                                        want = true;
                        }
                }
                p += n;
        }
        *pending = want;
}

static void collect(const json_t *v, Values *vals) {
        const char *key;
        json_t *child;
        size_t i;

        if (json_is_string(v)) {
                collect_string(vals, json_string_value(v));
                return;
        }
        if (json_is_object(v)) {
                json_object_foreach((json_t *) v, key, child) {
                        if (json_is_string(child) && secret_name_is_secret(key))
                                add(vals, json_string_value(child));
                        collect(child, vals);
                }
                const char *name = json_string_value(json_object_get(v, "name"));
                const char *value = json_string_value(json_object_get(v, "value"));
                if (name && value && secret_name_is_secret(name))
                        add(vals, value);
                return;
        }
        bool pending = false;
        json_array_foreach(v, i, child) {
                const char *s = json_string_value(child);
                if (!s) {
                        pending = false;
                        collect(child, vals);
                        continue;
                }
                add(vals, env_secret_value(s));
                collect_args(vals, s, &pending);
                collect_string(vals, s);
        }
}

void secret_collect(const json_t *v, char ***values) {
        Values vals = {.v = *values, .n = *values ? strv_length(*values) : 0};

        if (!vals.v)
                vals.v = xcalloc(1, sizeof(char *));
        collect(v, &vals);
        *values = vals.v;
}

char **secret_values_of_inputs(const json_t *inputs) {
        char **values = NULL;
        size_t i;
        json_t *in;

        json_array_foreach(inputs, i, in) {
                json_auto_t *one = json_array();
                json_array_append(one, in);
                secret_collect(one, &values);
        }
        if (!values)
                values = xcalloc(1, sizeof(char *));
        return values;
}

char **secret_values_of_deployment(const json_t *deployment) {
        char **values = secret_values_of_inputs(json_object_get(deployment, "inputs"));
        const json_t *config = json_object_get(deployment, "config");

        /* A structured config (a manifest object) holds env entries and commands; a text config (a script)
         * is not looked into. */
        if (json_is_object(config) || json_is_array(config))
                secret_collect(config, &values);
        return values;
}

/* --- redacting by name and shape -------------------------------------------------------------- */

typedef struct Spans {
        struct {
                const char *start;
                size_t n;
        } at[16];
        size_t n;
        bool more; /* past the 16th: the string is redacted whole */
} Spans;

static void note_password(const char *pw, size_t n, void *arg) {
        Spans *sp = arg;

        if (sp->n == ELEMENTSOF(sp->at)) {
                sp->more = true;
                return;
        }
        sp->at[sp->n].start = pw;
        sp->at[sp->n++].n = n;
}

/* s with the password of every URL user info replaced, or NULL when it has none. */
static char *redact_url_passwords(const char *s) {
        Spans sp = {};
        char *out = NULL;
        size_t len = 0;
        const char *from = s;

        each_url_password(s, note_password, &sp);
        if (sp.n == 0)
                return NULL;
        if (sp.more)
                return xstrdup(SECRET_REDACTED);
        FILE *f = open_memstream(&out, &len);
        if (!f)
                abort();
        for (size_t k = 0; k < sp.n; k++) {
                fwrite(from, 1, (size_t) (sp.at[k].start - from), f);
                fputs(SECRET_REDACTED, f);
                from = sp.at[k].start + sp.at[k].n;
        }
        fputs(from, f);
        if (fclose(f) != 0)
                abort();
        return out;
}

/* The redacted form of a string element (new ref) or NULL when it stays. */
static json_t *redacted_string(const char *s, bool in_array) {
        if (secret_url_is_signed(s))
                return json_string(SECRET_REDACTED);
        const char *value = in_array ? env_secret_value(s) : NULL;
        if (value)
                return json_sprintf("%.*s=%s", (int) (value - 1 - s), s, SECRET_REDACTED);
        _cleanup_free_ char *cut = redact_url_passwords(s);
        return cut ? json_string(cut) : NULL;
}

void secret_redact_env_array(json_t *env) {
        size_t i;
        json_t *item;

        json_array_foreach(env, i, item) {
                const char *s = json_string_value(item);
                const char *value = s ? env_secret_value(s) : NULL;
                if (value)
                        json_array_set_new(
                                env, i, json_sprintf("%.*s=%s", (int) (value - 1 - s), s, SECRET_REDACTED));
        }
}

void secret_redact_json(json_t *v) {
        const char *key;
        json_t *child, *fresh;
        size_t i;

        if (json_is_object(v)) {
                json_object_foreach(v, key, child) {
                        if (json_is_string(child) && secret_name_is_secret(key))
                                json_object_set_new(v, key, json_string(SECRET_REDACTED));
                        else if (json_is_string(child) &&
                                 (fresh = redacted_string(json_string_value(child), false)))
                                json_object_set_new(v, key, fresh);
                        else
                                secret_redact_json(child);
                }
                /* heat-style inputs: {"name": "deploy_password", "value": "..."} */
                const char *name = json_string_value(json_object_get(v, "name"));
                json_t *value = json_object_get(v, "value");
                if (name && value && !json_is_null(value) && secret_name_is_secret(name))
                        json_object_set_new(v, "value", json_string(SECRET_REDACTED));
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, child) {
                        if (json_is_string(child) &&
                            (fresh = redacted_string(json_string_value(child), true)))
                                json_array_set_new(v, i, fresh);
                        else
                                secret_redact_json(child);
                }
        }
}

/* --- scrubbing values everywhere -------------------------------------------------------------- */

static char *replace_all(const char *s, const char *needle) {
        size_t nlen = strlen(needle), rlen = strlen(SECRET_REDACTED), count = 0;

        for (const char *p = strstr(s, needle); p; p = strstr(p + nlen, needle))
                count++;
        if (count == 0)
                return NULL;
        char *out = xmalloc(strlen(s) - count * nlen + count * rlen + 1), *o = out;
        for (const char *p = s, *hit; (hit = strstr(p, needle)); p = hit + nlen) {
                memcpy(o, p, (size_t) (hit - p));
                o += hit - p;
                memcpy(o, SECRET_REDACTED, rlen);
                o += rlen;
                s = hit + nlen;
        }
        strcpy(o, s);
        return out;
}

/* A copy of s with every value replaced, or NULL when none occurs. */
static char *scrub_string(const char *s, char *const *values) {
        char *cur = NULL;

        for (char *const *v = values; v && *v; v++) {
                char *next = replace_all(cur ? cur : s, *v);
                if (next) {
                        free(cur);
                        cur = next;
                }
        }
        return cur;
}

static void scrub_tree(json_t *v, char *const *values);

/* For a string child: its scrubbed copy (new ref) or NULL when nothing matched; containers are
 * scrubbed in place (NULL). */
static json_t *scrub_child(json_t *child, char *const *values) {
        if (!json_is_string(child)) {
                scrub_tree(child, values);
                return NULL;
        }
        _cleanup_free_ char *s = scrub_string(json_string_value(child), values);
        return s ? json_string(s) : NULL;
}

static void scrub_tree(json_t *v, char *const *values) {
        const char *key;
        json_t *child, *fresh;
        size_t i;

        json_object_foreach(v, key, child) {
                if ((fresh = scrub_child(child, values)))
                        json_object_set_new(v, key, fresh);
        }
        json_array_foreach(v, i, child) {
                if ((fresh = scrub_child(child, values)))
                        json_array_set_new(v, i, fresh);
        }
}

static int longest_first(const void *a, const void *b) {
        size_t x = strlen(*(char *const *) a), y = strlen(*(char *const *) b);
        return (x < y) - (x > y);
}

void secret_scrub_json(json_t *v, char *const *values) {
        Values all = {};

        for (char *const *p = values; p && *p; p++) {
                add(&all, *p);
                /* As jansson writes it inside a JSON text: an inspect array in deploy_stdout. */
                json_auto_t *js = json_string(*p);
                _cleanup_free_ char *esc = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
                if (esc && strlen(esc) >= 2)
                        add_n(&all, esc + 1, strlen(esc) - 2);
        }
        if (!all.v)
                return;
        qsort(all.v, all.n, sizeof(char *), longest_first);
        scrub_tree(v, all.v);
        strv_free(all.v);
}

void secret_redact_deep(json_t *v, char *const *extra) {
        _cleanup_strv_free_ char **values = NULL;

        secret_collect(v, &values);
        Values vals = {.v = values, .n = strv_length(values)};
        for (char *const *p = extra; p && *p; p++)
                add(&vals, *p);
        values = vals.v;
        secret_redact_json(v);
        secret_scrub_json(v, values);
}
