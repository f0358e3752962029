/* Parsing: YAML and JSON, bare and wrapped, YAML 1.1 scalars, line numbers, and the limits on hostile input.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "manifest/manifest.h"
#include "tap.h"

/* The error text of loading text, or NULL when it loads; *ret_m gets the manifest when asked. */
static char *load(const char *text, size_t len, PhManifest **ret_m) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (manifest_load(text, len, "t.yaml", &m, &warnings, &err) < 0)
                return xstrdup(ph_error_msg(err));
        if (ret_m)
                *ret_m = TAKE_PTR(m);
        return NULL;
}

static char *load_str(const char *text) {
        return load(text, strlen(text), NULL);
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void test_bare_and_wrapped(void) {
        static const char bare[] = "version: v1beta2\n"
                                   "containers:\n"
                                   "  - name: web\n"
                                   "    image: podhook.local/apache:1\n"
                                   "    ports: [{containerPort: 80, hostPort: 8000, protocol: TCP}]\n";
        static const char wrapped[] = "manifest:\n"
                                      "  version: V1BETA2\n"
                                      "  containers:\n"
                                      "    - name: web\n"
                                      "      image: podhook.local/apache:1\n"
                                      "      ports: [{containerPort: 80, hostPort: 8000, protocol: TCP}]\n";
        _cleanup_(manifest_freep) PhManifest *a = NULL, *b = NULL;
        _cleanup_free_ char *e1 = load(bare, strlen(bare), &a), *e2 = load(wrapped, strlen(wrapped), &b);

        TAP_CHECK(!e1);
        TAP_CHECK(!e2);
        if (!a || !b)
                return;
        TAP_CHECK_STR(b->version, "v1beta2");
        TAP_CHECK(a->n_containers == 1 && b->n_containers == 1);
        TAP_CHECK_STR(b->containers[0].name, "web");
        TAP_CHECK(b->containers[0].n_ports == 1 && b->containers[0].ports[0].host_port == 8000);
        TAP_CHECK_STR(b->containers[0].ports[0].protocol, "tcp");
        /* json is the unwrapped manifest: the same object either way. */
        TAP_CHECK(json_equal(a->containers[0].json, b->containers[0].json));
        TAP_CHECK(json_object_get(b->json, "containers") != NULL);
}

static void test_wrapped_lines(void) {
        static const char text[] = "# a comment\n"
                                   "manifest:\n"
                                   "  version: v1beta2\n"
                                   "  containers:\n"
                                   "    - name: web\n"
                                   "      image: x\n"
                                   "      ports:\n"
                                   "        - containerPort: 80\n"
                                   "          hostPort: 70000\n";
        _cleanup_free_ char *e = load_str(text);
        TAP_CHECK_STR(e, "t.yaml:9: containers[0].ports[0].hostPort: 70000 is out of range 1-65535");
}

static void test_json(void) {
        static const char text[] = "  {\n"
                                   "  \"version\": \"v1beta2\",\n"
                                   "  \"containers\": [\n"
                                   "    {\"name\": \"web\", \"image\": \"x\",\n"
                                   "     \"ports\": [{\"containerPort\": 80, \"hostPort\": 70000}]}\n"
                                   "  ]\n"
                                   "}\n";
        static const char ok[] =
                "{\"manifest\": {\"version\": \"v1beta2\", \"containers\": [{\"name\": \"a\", "
                "\"image\": \"b\", \"env\": [{\"name\": \"X\", \"value\": \"yes\"}]}]}}";
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_free_ char *e = load_str(text), *e2 = load(ok, strlen(ok), &m);
        _cleanup_free_ char *e3 = load_str("{\"version\": \"v1beta2\",\n\"version\": \"v1beta2\"}");
        _cleanup_free_ char *e4 = load_str("{\"version\": \"v1beta2\",\n\"containers\": [}");

        TAP_CHECK_STR(e, "t.yaml:5: containers[0].ports[0].hostPort: 70000 is out of range 1-65535");
        TAP_CHECK(!e2);
        /* JSON strings stay strings: "yes" is not YAML's true here. */
        TAP_CHECK(m && m->containers[0].n_env == 1 && strcmp(m->containers[0].env[0].value, "yes") == 0);
        TAP_CHECK_HAS(e3, "t.yaml:2: JSON syntax error: duplicate object key");
        TAP_CHECK_HAS(e4, "t.yaml:2: JSON syntax error: ");

        /* The text near the error is not repeated: it can be a secret env value. */
        _cleanup_free_ char *e5 =
                load_str("{\"version\": \"v1beta2\", \"containers\": [{\"name\": \"a\", \"image\": \"b\",\n"
                         "  \"env\": [{\"name\": \"DB_PASSWORD\", \"value\": \"hunter2\x01\"}]}]}");
        TAP_CHECK_STR(e5, "t.yaml:2: JSON syntax error: control character 0x1 (column 51)");
}

static void test_from_json(void) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL, *doc2 = NULL;
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *v = json_pack("{s:{s:s,s:[{s:s,s:s,s:[{s:i}]}]}}", "manifest", "version", "v1beta2",
                                   "containers", "name", "web", "image", "x", "ports", "containerPort", 0);
        json_auto_t *s = json_string("version: v1beta2\ncontainers:\n  - {name: a, image: b}\n");

        TAP_CHECK(manifest_doc_from_json(v, "heat", &doc, &err) == 0);
        TAP_CHECK(doc && manifest_validate(doc, &m, NULL, &err) == -EINVAL);
        /* No source lines for a JSON value. */
        TAP_CHECK_STR(ph_error_msg(err),
                      "heat: containers[0].ports[0].containerPort: 0 is out of range 1-65535");
        /* A YAML string in a Heat config is parsed as text. */
        TAP_CHECK(manifest_doc_from_json(s, "heat", &doc2, &err) == 0);
        TAP_CHECK(doc2 && manifest_validate(doc2, &m, NULL, NULL) == 0);
        TAP_CHECK(m && m->n_containers == 1);

        /* The same limits for a JSON value as for text. */
        json_auto_t *deep = json_array();
        json_t *cur = deep;
        for (unsigned i = 0; i < MANIFEST_MAX_DEPTH; i++) {
                json_t *next = json_array();
                json_array_append_new(cur, next);
                cur = next;
        }
        PhManifestDoc *doc3 = NULL;
        TAP_CHECK(manifest_doc_from_json(deep, "heat", &doc3, &err) == -EINVAL && !doc3);
        TAP_CHECK_STR(ph_error_msg(err), "heat: nesting is deeper than 64 levels");
        json_auto_t *list = json_pack("[i]", 1);
        TAP_CHECK(manifest_doc_from_json(list, "heat", &doc3, &err) == -EINVAL && !doc3);
        TAP_CHECK_STR(ph_error_msg(err), "heat: the manifest must be a map, not a list");
}

static void test_scalars(void) {
        static const char text[] = "version: v1beta2\n"
                                   "containers:\n"
                                   "  - name: a\n"
                                   "    image: b\n"
                                   "    memory: 0x4000000\n"
                                   "    cpu: 0o17\n"
                                   "    privileged: yes\n"
                                   "    workingDir: ~\n"
                                   "    ports: [{containerPort: 8_080, hostPort: 010}]\n"
                                   "    env:\n"
                                   "      - {name: A, value: 'yes'}\n"
                                   "      - {name: B, value: !!str 12}\n"
                                   "      - {name: C}\n"
                                   "      - {name: D, value: \"\"}\n"
                                   "    volumeMounts: [{name: v, mountPath: /v, readOnly: off}]\n"
                                   "volumes: [{name: v}]\n";
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_free_ char *e = load(text, strlen(text), &m);

        TAP_CHECK(!e);
        if (!m)
                return;
        const PhContainer *c = &m->containers[0];
        TAP_CHECK(c->memory == 0x4000000);
        TAP_CHECK(c->cpu == 15);
        TAP_CHECK(c->privileged);
        TAP_CHECK(c->working_dir == NULL);
        TAP_CHECK(c->ports[0].container_port == 8080);
        TAP_CHECK(c->ports[0].host_port == 8); /* YAML 1.1: a leading 0 is octal */
        TAP_CHECK_STR(c->env[0].value, "yes");
        TAP_CHECK_STR(c->env[1].value, "12");
        TAP_CHECK_STR(c->env[2].value, "");
        TAP_CHECK_STR(c->env[3].value, "");
        TAP_CHECK(!c->mounts[0].read_only);
        TAP_CHECK(m->volumes[0].kind == PH_VOLUME_EMPTY_DIR);
}

typedef struct Case {
        const char *text, *want;
} Case;

static void check_cases(const Case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *e = load_str(cases[i].text);
                TAP_CHECK_STR(e, cases[i].want);
        }
}

static void test_scalar_types(void) {
        static const Case cases[] = {
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, memory: 1.5}\n",
                 "t.yaml:3: containers[0].memory: must be an integer, not a floating-point number"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, cpu: '100'}\n",
                 "t.yaml:3: containers[0].cpu: must be an integer, not the string \"100\""},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, cpu: 08}\n",
                 "t.yaml:3: containers[0].cpu: must be an integer, not the string \"08\""},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, command: [x, 1]}\n",
                 "t.yaml:3: containers[0].command[1]: must be a string, not an integer (put it in quotes)"},
        };
        check_cases(cases, ELEMENTSOF(cases));
}

/* An explicit tag says what the value is: it is never overruled by what the text looks like. */
static void test_tags(void) {
        static const Case cases[] = {
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, ports: [{containerPort: !!float "
                 "80}]}\n",
                 "t.yaml:3: containers[0].ports[0].containerPort: must be an integer, not a floating-point "
                 "number"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, ports: [{containerPort: !!str "
                 "80}]}\n",
                 "t.yaml:3: containers[0].ports[0].containerPort: must be an integer, not the string \"80\""},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, cpu: !!int abc}\n",
                 "t.yaml:3: containers[0].cpu: !!int \"abc\" is not an integer"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, memory: !!float 1e999}\n",
                 "t.yaml:3: containers[0].memory: !!float \"1e999\" is not a finite number"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, privileged: !!bool maybe}\n",
                 "t.yaml:3: containers[0].privileged: !!bool \"maybe\" is not true or false"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: b, workingDir: !!null x}\n",
                 "t.yaml:3: containers[0].workingDir: !!null \"x\" is not null"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: !!binary aGVsbG8=}\n",
                 "t.yaml:3: containers[0].image: the tag tag:yaml.org,2002:binary is not supported (write "
                 "the value "
                 "without a tag)"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: !mine b}\n",
                 "t.yaml:3: containers[0].image: the tag !mine is not supported (write the value without a "
                 "tag)"},
                {"version: v1beta2\ncontainers: !!set {a: null}\n",
                 "t.yaml:2: containers: the tag tag:yaml.org,2002:set is not supported (write the value "
                 "without a "
                 "tag)"},
        };
        check_cases(cases, ELEMENTSOF(cases));
        /* Tags that say what the text already is are fine. */
        static const char fine[] =
                "version: !!str v1beta2\n"
                "containers: !!seq\n"
                "  - !!map {name: a, image: b, cpu: !!int '100', privileged: !!bool 'true',\n"
                "           workingDir: !!null '', ports: [{containerPort: !!int 0x50}]}\n";
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_free_ char *e = load(fine, strlen(fine), &m);
        TAP_CHECK_STR(e ? e : "valid", "valid");
        TAP_CHECK(m && m->containers[0].cpu == 100 && m->containers[0].privileged &&
                  m->containers[0].ports[0].container_port == 80 && !m->containers[0].working_dir);
}

static void test_aliases(void) {
        static const char text[] = "version: v1beta2\n"
                                   "containers:\n"
                                   "  - name: a\n"
                                   "    image: b\n"
                                   "    env: &common\n"
                                   "      - {name: MODE, value: prod}\n"
                                   "  - name: c\n"
                                   "    image: d\n"
                                   "    env: *common\n";
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_free_ char *e = load(text, strlen(text), &m);
        _cleanup_free_ char *e2 = load_str("version: v1beta2\ncontainers: *nothing\n");
        _cleanup_free_ char *e3 = load_str("version: v1beta2\n&a a: 1\n*a : 2\ncontainers: []\n");

        TAP_CHECK(!e);
        TAP_CHECK(m && m->containers[1].n_env == 1 && strcmp(m->containers[1].env[0].value, "prod") == 0);
        TAP_CHECK_STR(e2, "t.yaml:2: alias *nothing refers to no anchor defined before it");
        TAP_CHECK_STR(e3, "t.yaml:3: alias *a used as a key: only plain keys are supported");
}

static void test_billion_laughs(void) {
        /* Ten levels of ten aliases: 10^10 nodes if anything expanded it. */
        char text[4096];
        size_t n = 0;
        char prev = 'a';

        n += (size_t) snprintf(
                text + n, sizeof(text) - n,
                "version: v1beta2\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (char c = 'b'; c <= 'j'; c++, prev++) {
                n += (size_t) snprintf(text + n, sizeof(text) - n, "%c: &%c [", c, c);
                for (int i = 0; i < 10; i++)
                        n += (size_t) snprintf(text + n, sizeof(text) - n, "*%c%s", prev,
                                               i < 9 ? ", " : "]\n");
        }
        n += (size_t) snprintf(text + n, sizeof(text) - n, "containers: *j\n");

        double start = now();
        _cleanup_free_ char *e = load(text, n, NULL);
        double took = now() - start;

        TAP_CHECK_STR(e, "t.yaml:6: alias expansion makes the document larger than 100000 nodes");
        /* "At once": far below a second even under the sanitizers. */
        TAP_CHECK(took < 0.5);
        printf("# billion laughs rejected in %.3f ms\n", took * 1000);
}

static void test_alias_text(void) {
        /* Few nodes, long text: every alias of a 512 KiB value would be a 512 KiB copy in the manifest. */
        size_t len = 512 * 1024, n = 0;
        _cleanup_free_ char *text = xmalloc(len + 4096);

        n += (size_t) sprintf(text, "version: v1beta2\ncontainers:\n  - name: a\n    image: b\n    env:\n"
                                    "      - name: A\n        value: &v ");
        memset(text + n, 'x', len);
        n += len;
        n += (size_t) sprintf(text + n, "\n");
        size_t base = n;
        for (int i = 0; i < 20; i++)
                n += (size_t) sprintf(text + n, "      - {name: B%d, value: *v}\n", i);

        double start = now();
        _cleanup_free_ char *e = load(text, n, NULL);
        double took = now() - start;
        TAP_CHECK_STR(e, "t.yaml:22: alias expansion makes the document's text larger than 8388608 bytes");
        TAP_CHECK(took < 0.5);

        /* A few aliases of it stay well under the limit. */
        n = base;
        for (int i = 0; i < 3; i++)
                n += (size_t) sprintf(text + n, "      - {name: B%d, value: *v}\n", i);
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_free_ char *e2 = load(text, n, &m);
        TAP_CHECK(!e2);
        TAP_CHECK(m && m->containers[0].n_env == 4 && strlen(m->containers[0].env[3].value) == len);
}

static void test_many_nodes(void) {
        /* Without aliases: a flat list of more nodes than the limit (2 bytes a node, under the size limit).
         */
        size_t count = MANIFEST_MAX_NODES + 10, n = 0;
        _cleanup_free_ char *text = xmalloc(count * 2 + 64);

        n += (size_t) sprintf(text, "x: [");
        for (size_t i = 0; i < count; i++) {
                text[n++] = '1';
                if (i + 1 < count)
                        text[n++] = ',';
        }
        text[n++] = ']';
        text[n++] = '\n';
        _cleanup_free_ char *e = load(text, n, NULL);
        TAP_CHECK_STR(e, "t.yaml:1: the document has more than 100000 nodes");
}

/* Appends levels empty lists nested in each other ("[[...]]") at text + n; returns the new length. */
static size_t nest(char *text, size_t n, unsigned levels) {
        for (unsigned i = 0; i < levels; i++)
                text[n++] = '[';
        for (unsigned i = 0; i < levels; i++)
                text[n++] = ']';
        text[n] = 0;
        return n;
}

static void test_depth(void) {
        char text[512];
        size_t n;

        /* 64 lists inside the top map: 65 levels. */
        n = nest(text, (size_t) snprintf(text, sizeof(text), "version: v1beta2\nx: "), MANIFEST_MAX_DEPTH);
        _cleanup_free_ char *e = load(text, n, NULL);
        TAP_CHECK_STR(e, "t.yaml:2: nesting is deeper than 64 levels");

        /* Exactly 64 levels is fine (only an unknown field). */
        n = (size_t) snprintf(text, sizeof(text), "version: v1beta2\ncontainers: [{name: a, image: b}]\nx: ");
        n = nest(text, n, MANIFEST_MAX_DEPTH - 1);
        _cleanup_free_ char *e2 = load(text, n, NULL);
        TAP_CHECK(!e2);

        /* The same limit for JSON text. */
        n = nest(text, (size_t) snprintf(text, sizeof(text), "{\"x\": "), MANIFEST_MAX_DEPTH);
        text[n++] = '}';
        text[n] = 0;
        _cleanup_free_ char *e3 = load(text, n, NULL);
        TAP_CHECK_STR(e3, "t.yaml: nesting is deeper than 64 levels");
}

static void test_size(void) {
        size_t len = MANIFEST_MAX_BYTES + 1;
        _cleanup_free_ char *text = xmalloc(len);
        _cleanup_error_ PhError *err = NULL;
        PhManifestDoc *doc = NULL;

        memset(text, '#', len);
        TAP_CHECK(manifest_doc_parse(text, len, "big.yaml", &doc, &err) < 0);
        TAP_CHECK(!doc);
        TAP_CHECK_STR(ph_error_msg(err),
                      "big.yaml: the document is 1048577 bytes, more than the limit of 1048576 bytes");
}

static void test_structure_errors(void) {
        static const Case cases[] = {
                {"version: v1beta2\ncontainers:\n  - name: a\n    image: b\n    name: c\n",
                 "t.yaml:5: containers[0].name: duplicate key (first at line 3)"},
                {"version: v1beta2\nversion: v1beta1\n",
                 "t.yaml:2: version: duplicate key (first at line 1)"},
                {"version: v1beta2\n---\nversion: v1beta2\n",
                 "t.yaml:2: a second YAML document: a file holds one manifest"},
                {"version: v1beta2\ncontainers:\n  - name: a\n   image: b\n",
                 "t.yaml:4: YAML syntax error: did not find expected '-' indicator (while parsing a block "
                 "collection "
                 "at line 3)"},
                {"\n- a\n- b\n", "t.yaml:2: the manifest must be a map, not a list"},
                {"just text\n", "t.yaml:1: the manifest must be a map, not a string"},
                {"# nothing\n", "t.yaml:1: the document is empty"},
                {"manifest: [1]\n", "t.yaml:1: manifest: must be a map, not a list"},
                {"? [a]\n: b\n", "t.yaml:1: a key must be a plain value, not a list"},
                {"version: v1beta2\n\"a\\0b\": 1\n", "t.yaml:2: a key must not contain a NUL character"},
                {"version: v1beta2\ncontainers:\n  - {name: a, image: \"b\xc3\x28\"}\n",
                 "t.yaml:3: YAML syntax error: invalid trailing UTF-8 octet"},
                {"version: v1beta2\r\ncontainers:\r\n  - {name: a, image: b, cpu: x}\r\n",
                 "t.yaml:3: containers[0].cpu: must be an integer, not the string \"x\""},
                {"base: &b {image: x}\ncontainers:\n  - <<: *b\n    name: a\n",
                 "t.yaml:3: merge keys (<<) are not supported: write the fields out"},
        };
        check_cases(cases, ELEMENTSOF(cases));

        _cleanup_free_ char *syntax2 = load_str("version: v1beta2\ncontainers: [a, b\n\n\nx: 1\n");
        TAP_CHECK_HAS(syntax2, "YAML syntax error: did not find expected ',' or ']'");
}

static void test_flow_map(void) {
        /* Starts like JSON but is YAML: parsed as YAML, with lines. */
        _cleanup_free_ char *e =
                load_str("{version: v1beta2,\n containers: [{name: a, image: b, cpu: -1}]}\n");
        TAP_CHECK_STR(e, "t.yaml:2: containers[0].cpu: -1 must not be negative");
}

static void test_hostile_keys(void) {
        /* Keys are shown escaped and cut, so that every message stays one line. */
        char key[300];
        memset(key, 'k', sizeof(key) - 1);
        key[sizeof(key) - 1] = 0;
        _cleanup_free_ char *text = xasprintf("version: v1beta2\ncontainers: [{name: a, image: b}]\n"
                                              "\"a\\nb\": 1\n%s: 1\n",
                                              key);
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **w = NULL;
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(manifest_load(text, strlen(text), "t.yaml", &m, &w, &err) == 0);
        TAP_CHECK(w && w[0] && w[1] && !w[2]);
        TAP_CHECK_STR(w ? w[0] : NULL, "t.yaml:3: a\\x0ab: unknown field");
        _cleanup_free_ char *want = xasprintf("t.yaml:4: %.64s...: unknown field", key);
        TAP_CHECK_STR(w ? w[1] : NULL, want);
}

static void test_long_paths(void) {
        /* Past MANIFEST_PATH_MAX no lines are kept: a duplicate deep down still fails, naming its path. */
        char key[70];
        memset(key, 'k', sizeof(key) - 1);
        key[sizeof(key) - 1] = 0;
        _cleanup_free_ char *text = xasprintf("%s:\n %s:\n  %s:\n   %s:\n    %s:\n     a: 1\n     a: 2\n",
                                              key, key, key, key, key);
        _cleanup_free_ char *e = load_str(text);
        TAP_CHECK_HAS(e, "t.yaml:7: ");
        TAP_CHECK_HAS(e, "....a: duplicate key");
}

static void test_many_problems(void) {
        /* A bounded answer: 100 lines and a count of the rest. */
        size_t n = 0;
        _cleanup_free_ char *text = xmalloc(64 * 1024);
        _cleanup_error_ PhError *err = NULL;
        PhManifest *m = NULL;

        n += (size_t) sprintf(text, "version: v1beta2\ncontainers:\n");
        for (int i = 0; i < 150; i++)
                n += (size_t) sprintf(text + n, "  - {name: c%d, image: b, cpu: -1}\n", i);
        TAP_CHECK(manifest_load(text, n, "t.yaml", &m, NULL, &err) == -EINVAL);
        const char *msg = ph_error_msg(err);
        size_t lines = 1;
        for (const char *p = msg; *p; p++)
                lines += *p == '\n';
        TAP_CHECK(lines == 101);
        TAP_CHECK_HAS(msg, "t.yaml:3: containers[0].cpu: -1 must not be negative\n");
        TAP_CHECK_HAS(msg, "\nt.yaml: ... and 50 more");
}

static void test_wrapped_siblings(void) {
        static const char text[] = "manifest:\n"
                                   "  version: v1beta2\n"
                                   "  containers: [{name: a, image: b}]\n"
                                   "colour: blue\n";
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(manifest_load(text, strlen(text), "t.yaml", &m, &warnings, &err) == 0);
        TAP_CHECK(warnings && warnings[0] && !warnings[1]);
        TAP_CHECK_STR(warnings ? warnings[0] : NULL, "t.yaml:4: colour: unknown field");
}

/* options: beside manifest: are the hook's (a drop-in's grace_period), not an unknown field, whatever
 * their kind: options that are not a map are refused by their reader (deploy_options_parse), with a
 * line, rather than dropped with a warning. */
static void test_wrapped_options(void) {
        static const char text[] = "manifest:\n"
                                   "  version: v1beta2\n"
                                   "  containers: [{name: a, image: b}]\n"
                                   "options: {grace_period: 3}\n";
        static const char bad[] =
                "manifest: {version: v1beta2, containers: [{name: a, image: b}]}\noptions: 3\n";
        static const char bare[] = "version: v1beta2\ncontainers: []\n";
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL, *doc2 = NULL, *doc3 = NULL;
        _cleanup_(manifest_freep) PhManifest *m = NULL, *m2 = NULL;
        _cleanup_strv_free_ char **warnings = NULL, **warnings2 = NULL;

        TAP_CHECK(manifest_doc_parse(text, strlen(text), "t.yaml", &doc, NULL) == 0);
        TAP_CHECK(json_integer_value(json_object_get(manifest_doc_options(doc), "grace_period")) == 3);
        TAP_CHECK(manifest_validate(doc, &m, &warnings, NULL) == 0 && (!warnings || !warnings[0]));
        TAP_CHECK(manifest_doc_parse(bad, strlen(bad), "t.yaml", &doc2, NULL) == 0);
        TAP_CHECK(json_integer_value(manifest_doc_options(doc2)) == 3);
        TAP_CHECK(manifest_validate(doc2, &m2, &warnings2, NULL) == 0);
        TAP_CHECK(!warnings2 || !warnings2[0]);
        /* Unwrapped, nothing is beside the manifest. */
        TAP_CHECK(manifest_doc_parse(bare, strlen(bare), "t.yaml", &doc3, NULL) == 0);
        TAP_CHECK(manifest_doc_options(doc3) == NULL);
}

int main(void) {
        test_bare_and_wrapped();
        test_wrapped_options();
        test_wrapped_lines();
        test_json();
        test_from_json();
        test_scalars();
        test_scalar_types();
        test_tags();
        test_aliases();
        test_billion_laughs();
        test_alias_text();
        test_many_nodes();
        test_depth();
        test_size();
        test_structure_errors();
        test_wrapped_siblings();
        test_flow_map();
        test_hostile_keys();
        test_many_problems();
        test_long_paths();
        return tap_done();
}
