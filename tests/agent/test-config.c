/* Settings layering, every bad key in one error, bootstrap shapes, os-collect-config.conf syntax. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap.h"
#include "common/fileio.h"
#include "config.h"
#include "tap.h"

static char tmpdir[] = "/tmp/ph-test-config-XXXXXX";

static char *write_tmp(const char *name, const char *text) {
        char *path = xasprintf("%s/%s", tmpdir, name);
        if (file_write_atomic(path, text, strlen(text), 0600, NULL) < 0)
                abort();
        return path;
}

static void test_layers(void) {
        _cleanup_free_ char *conf =
                write_tmp("agent.conf", "# podhook\n[DEFAULT]\ninterval = 40\nretry_max = 7\n"
                                        "hook-timeout = 9\nbogus = 1\nready-timeout = 90\n");
        _cleanup_free_ char *occ =
                write_tmp("occ.conf", "[DEFAULT]\npolling_interval = 50\nmin_polling_interval = 3\n"
                                      "command = os-refresh-config\n");
        _cleanup_free_ char *envconf = xasprintf("PODHOOK_CONFIG=%s", conf);
        _cleanup_free_ char *envocc = xasprintf("PODHOOK_OCC_CONFIG=%s", occ);
        char *envp[] = {envconf, envocc, (char *) "PODHOOK_RETRY_MAX=8", (char *) "PODHOOK_HOOK_TIMEOUT=11",
                        NULL};
        char *argv[] = {(char *) "agent",      (char *) "--hook-timeout",     (char *) "12",
                        (char *) "--one-time", (char *) "--state-dir=/tmp/x", NULL};
        _cleanup_(config_freep) PhConfig *c = NULL;
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(config_load(5, argv, envp, &c, &err) == 0);
        if (!c) {
                printf("# %s\n", ph_error_msg(err));
                return;
        }
        TAP_CHECK(c->interval == 40);     /* our file beats os-collect-config.conf */
        TAP_CHECK(c->min_interval == 3);  /* os-collect-config.conf beats the default */
        TAP_CHECK(c->retry_max == 8);     /* environment beats the file */
        TAP_CHECK(c->hook_timeout == 12); /* argv beats the environment */
        TAP_CHECK(c->ready_timeout == 90 && c->start_window == 2); /* the docker hook's, and its default */
        TAP_CHECK(c->one_time && !c->force);
        TAP_CHECK_STR(c->state_dir, "/tmp/x");
        TAP_CHECK_STR(c->log_level, "info");
        TAP_CHECK_STR(c->backend, "docker");
        TAP_CHECK_STR(c->kubelet_manifest_dir, "/etc/kubernetes/manifests");
        TAP_CHECK_STR(c->kubelet_url, "http://127.0.0.1:10255/pods");
        TAP_CHECK(c->warnings && c->warnings[0]);
        TAP_CHECK_HAS(c->warnings ? c->warnings[0] : NULL, "agent.conf:6: unknown key 'bogus'");
        TAP_CHECK(c->occ == NULL);
}

static void test_all_bad_reported(void) {
        char *envp[] = {(char *) "PODHOOK_RETRY_MAX=lots",
                        (char *) "PODHOOK_OCC_CONFIG=", (char *) "PODHOOK_CONFIG=", NULL};
        char *argv[] = {(char *) "agent",
                        (char *) "--interval",
                        (char *) "0",
                        (char *) "--log-level=loud",
                        (char *) "--frobnicate",
                        (char *) "--one-time=maybe",
                        (char *) "--backend=podman",
                        NULL};
        _cleanup_(config_freep) PhConfig *c = NULL;
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(config_load(7, argv, envp, &c, &err) == -EINVAL);
        TAP_CHECK(c == NULL);
        const char *m = ph_error_msg(err);
        TAP_CHECK_HAS(m, "unknown option '--frobnicate'");
        TAP_CHECK_HAS(m, "--interval: interval: '0' is not a number in 1..86400");
        TAP_CHECK_HAS(m, "$PODHOOK_RETRY_MAX: retry-max: 'lots'");
        TAP_CHECK_HAS(m, "--log-level: log-level: 'loud'");
        TAP_CHECK_HAS(m, "--one-time: one-time: 'maybe' is not a boolean");
        TAP_CHECK_HAS(m, "--backend: backend: 'podman' is not docker or kubelet");
}

static void test_occ_ini(void) {
        const char *text =
                "[DEFAULT]\ncommand = os-refresh-config\npolling_interval = 30\ncollectors = ec2\n"
                "collectors = heat\ncollectors = local\n\n[heat]\nauth_url = http://127.0.0.1:5000/v3/\n"
                "user_id = u1\npassword = p$$w0rd\nproject_id = p1\nstack_id = s/1\nresource_name = server\n"
                "[cfn]\npath = a.Metadata\npath = b.Metadata\n; comment\n[zz]\nx: y\n";
        json_t *occ = NULL;
        _cleanup_free_ char *interval = NULL, *min = NULL;
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(config_parse_occ_ini("occ.conf", text, &occ, &interval, &min, &err) == 0);
        TAP_CHECK_STR(interval, "30");
        TAP_CHECK(min == NULL);
        _cleanup_free_ char *dump = json_dumps(occ, JSON_COMPACT | JSON_SORT_KEYS);
        TAP_CHECK_HAS(dump, "\"collectors\":[\"ec2\",\"heat\",\"local\"]");
        TAP_CHECK_HAS(dump, "\"password\":\"p$w0rd\"");
        TAP_CHECK_HAS(dump, "\"path\":[\"a.Metadata\",\"b.Metadata\"]");
        TAP_CHECK_HAS(dump, "\"stack_id\":\"s/1\"");
        TAP_CHECK(!json_object_get(occ, "zz"));
        json_decref(occ);

        _cleanup_error_ PhError *err2 = NULL;
        json_t *o2 = NULL;
        TAP_CHECK(config_parse_occ_ini("bad.conf", "[heat\nx=1\n", &o2, NULL, NULL, &err2) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err2), "bad.conf:1: bad section header");
        _cleanup_error_ PhError *err3 = NULL;
        TAP_CHECK(config_parse_occ_ini("bad.conf", "[heat]\njust words\n", &o2, NULL, NULL, &err3) ==
                  -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err3), "bad.conf:2:");
}

static void test_config_sections_become_occ(void) {
        _cleanup_free_ char *occ =
                write_tmp("occ2.conf", "[DEFAULT]\ncollectors = heat\n[heat]\nauth_url = a\n"
                                       "user_id = u\n");
        _cleanup_free_ char *conf = write_tmp("agent2.conf", "[heat]\nuser_id = override\n");
        _cleanup_free_ char *a1 = xasprintf("--occ-config=%s", occ), *a2 = xasprintf("--config=%s", conf);
        char *argv[] = {(char *) "agent", a1, a2, NULL};
        char *envp[] = {NULL};
        _cleanup_(config_freep) PhConfig *c = NULL;

        TAP_CHECK(config_load(3, argv, envp, &c, NULL) == 0);
        TAP_CHECK(c && json_is_object(c->occ));
        if (!c)
                return;
        /* Section by section: ours replaces os-collect-config's whole [heat]. */
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(c->occ, "heat"), "user_id")),
                      "override");
        TAP_CHECK(json_array_size(json_object_get(c->occ, "collectors")) == 1);
}

static void test_bootstrap(void) {
        _cleanup_free_ char *whole = write_tmp(
                "cfn-init-data",
                "{\"deployments\": [], \"os-collect-config\": {\"collectors\": [\"ec2\", \"cfn\", \"local\"],"
                " \"cfn\": {\"metadata_url\": \"http://h:8000/v1/\", \"stack_name\": \"s\", \"path\": "
                "\"server.Metadata\","
                " \"access_key_id\": \"a\", \"secret_access_key\": \"k\"}, \"heat\": null, \"request\": "
                "null}}");
        _cleanup_free_ char *bare = write_tmp(
                "occ.json",
                "{\"collectors\": [\"heat\", \"local\"], \"heat\": {\"user_id\": \"u\", \"password\": \"p\","
                " \"auth_url\": \"http://k/v3/\", \"project_id\": \"p\", \"stack_id\": \"s/1\","
                " \"resource_name\": \"server\"}}");
        _cleanup_free_ char *nocoll = write_tmp("heat-only.json", "{\"heat\": {\"user_id\": \"u\"}}");
        _cleanup_free_ char *junk = write_tmp("junk.json", "{\"deployments\": []}");
        _cleanup_free_ char *broken = write_tmp("broken.json", "{\"collectors\": [\n");
        _cleanup_free_ char *leaky = write_tmp("leaky.json", "{\"heat\": {\"password\": \"pw-Secret\001\"}}");
        json_t *occ = NULL;
        _cleanup_error_ PhError *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

        TAP_CHECK(bootstrap_read(whole, &occ, &e1) == 0);
        _cleanup_free_ char *d1 = json_dumps(occ, JSON_COMPACT);
        TAP_CHECK_HAS(d1, "\"collectors\":[\"ec2\",\"cfn\",\"local\"]");
        TAP_CHECK(!json_object_get(occ, "heat")); /* Heat's nulled sections are dropped */
        TAP_CHECK(json_is_object(json_object_get(occ, "cfn")));
        json_decref(occ), occ = NULL;

        TAP_CHECK(bootstrap_read(bare, &occ, &e2) == 0);
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(occ, "heat"), "stack_id")), "s/1");
        json_decref(occ), occ = NULL;

        TAP_CHECK(bootstrap_read(nocoll, &occ, NULL) == 0);
        _cleanup_free_ char *d3 = json_dumps(json_object_get(occ, "collectors"), JSON_COMPACT);
        TAP_CHECK_STR(d3, "[\"heat\"]");
        json_decref(occ), occ = NULL;

        TAP_CHECK(bootstrap_read(junk, &occ, &e3) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(e3), "junk.json");
        TAP_CHECK(bootstrap_read(broken, &occ, &e4) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(e4), "broken.json:");
        /* jansson quotes the text near the error: a password must not reach the log that way. */
        _cleanup_error_ PhError *e5 = NULL;
        TAP_CHECK(bootstrap_read(leaky, &occ, &e5) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(e5), "leaky.json:1: invalid JSON: ");
        TAP_CHECK(!strstr(ph_error_msg(e5), "pw-Secret"));
        TAP_CHECK(occ == NULL);

        _cleanup_free_ char *paths = xasprintf("%s/nope:%s", tmpdir, bare);
        TAP_CHECK(bootstrap_read_first(paths, &occ, NULL) == 0);
        json_decref(occ);
        TAP_CHECK(bootstrap_read_first("/nonexistent/a:/nonexistent/b", &occ, NULL) == -ENOENT);
}

/* Editors on some systems start a UTF-8 file with a byte order mark: it is not part of the first key. */
static void test_bom(void) {
        _cleanup_free_ char *conf = write_tmp("bom.conf", "\xef\xbb\xbfinterval = 45\n");
        _cleanup_free_ char *occ = write_tmp("bom-occ.conf", "\xef\xbb\xbf[DEFAULT]\ncollectors = local\n"
                                                             "min_polling_interval = 4\n");
        _cleanup_free_ char *a1 = xasprintf("--config=%s", conf), *a2 = xasprintf("--occ-config=%s", occ);
        char *argv[] = {(char *) "agent", a1, a2, NULL};
        char *envp[] = {NULL};
        _cleanup_(config_freep) PhConfig *c = NULL;
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(config_load(3, argv, envp, &c, &err) == 0);
        TAP_CHECK(c && c->interval == 45 && c->min_interval == 4);
        TAP_CHECK(c && !c->warnings);
        if (c && c->warnings)
                printf("# warning: %s\n", c->warnings[0]);
        _cleanup_free_ char *dump = c ? json_dumps(c->occ, JSON_COMPACT) : NULL;
        TAP_CHECK_HAS(dump, "\"collectors\":[\"local\"]");
}

/* A FIFO as --config or --occ-config: a clear error at once, not a read that waits for a writer. */
static void test_fifo(void) {
        _cleanup_free_ char *fifo = xasprintf("%s/fifo.conf", tmpdir), *a1 = xasprintf("--config=%s", fifo);
        _cleanup_free_ char *a2 = xasprintf("--occ-config=%s", fifo);
        char *argv1[] = {(char *) "agent", a1, (char *) "--occ-config=", NULL};
        char *argv2[] = {(char *) "agent", (char *) "--config=", a2, NULL};
        char *envp[] = {NULL};
        _cleanup_(config_freep) PhConfig *c = NULL;
        _cleanup_error_ PhError *e1 = NULL, *e2 = NULL;

        TAP_CHECK(mkfifo(fifo, 0600) == 0);
        alarm(10);
        TAP_CHECK(config_load(3, argv1, envp, &c, &e1) < 0 && !c);
        TAP_CHECK_HAS(ph_error_msg(e1), "fifo.conf is a FIFO, not a regular file");
        TAP_CHECK(config_load(3, argv2, envp, &c, &e2) < 0 && !c);
        TAP_CHECK_HAS(ph_error_msg(e2), "fifo.conf is a FIFO, not a regular file");
        _cleanup_error_ PhError *e3 = NULL;
        json_t *occ = NULL;
        TAP_CHECK(bootstrap_read(fifo, &occ, &e3) < 0 && !occ);
        TAP_CHECK_HAS(ph_error_msg(e3), "fifo.conf is a FIFO, not a regular file");
        alarm(0);
        /* /dev/null is an empty file. */
        char *argv3[] = {(char *) "agent", (char *) "--config=/dev/null", (char *) "--occ-config=/dev/null",
                         NULL};
        TAP_CHECK(config_load(3, argv3, envp, &c, NULL) == 0);
}

/* The drop-in keys: seconds with decimals for the debounce, their defaults, bad values named. */
static void test_dropin_keys(void) {
        char *envp[] = {(char *) "PODHOOK_OCC_CONFIG=", (char *) "PODHOOK_CONFIG=", NULL};
        char *argv[] = {(char *) "agent",
                        (char *) "--dropin",
                        (char *) "/etc/podhook/pods",
                        (char *) "--dropin-debounce",
                        (char *) "1.25",
                        (char *) "--notify-exec=mail -s podhook root",
                        NULL};
        _cleanup_(config_freep) PhConfig *c = NULL, *d = NULL;
        _cleanup_error_ PhError *err = NULL;

        TAP_CHECK(config_load(6, argv, envp, &c, &err) == 0);
        TAP_CHECK(c && c->dropin_debounce_ms == 1250 && c->dropin_rescan == 30);
        TAP_CHECK_STR(c ? c->dropin : NULL, "/etc/podhook/pods");
        TAP_CHECK_STR(c ? c->notify_exec : NULL, "mail -s podhook root");
        char *none[] = {(char *) "agent", NULL};
        TAP_CHECK(config_load(1, none, envp, &d, &err) == 0);
        TAP_CHECK(d && d->dropin_debounce_ms == 500 && *d->dropin == '\0' && *d->notify_exec == '\0');
        const char *bad[] = {"0.0005", "1.", ".5", "-1", "61", "1e3", "0.5s"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(config_freep) PhConfig *x = NULL;
                _cleanup_error_ PhError *e = NULL;
                char *args[] = {(char *) "agent", (char *) "--dropin-debounce", (char *) bad[i], NULL};
                TAP_CHECK(config_load(3, args, envp, &x, &e) == -EINVAL);
                TAP_CHECK_HAS(ph_error_msg(e), "dropin-debounce");
        }
        char *zero[] = {(char *) "agent", (char *) "--dropin-debounce=0", (char *) "--dropin-rescan=0", NULL};
        _cleanup_(config_freep) PhConfig *z = NULL;
        _cleanup_error_ PhError *ze = NULL;
        TAP_CHECK(config_load(3, zero, envp, &z, &ze) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(ze), "dropin-rescan: '0' is not a number in 1..86400");
        TAP_CHECK(strstr(ph_error_msg(ze), "dropin-debounce") == NULL);
}

int main(void) {
        if (!mkdtemp(tmpdir))
                return 1;
        test_layers();
        test_dropin_keys();
        test_all_bad_reported();
        test_occ_ini();
        test_config_sections_become_occ();
        test_bootstrap();
        test_bom();
        test_fifo();
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmpdir);
        (void) !system(cmd);
        return tap_done();
}
