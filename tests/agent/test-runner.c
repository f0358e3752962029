/* External hooks: lookup, the four-case rule of 55-heat-config, timeouts, a heat-agents hook. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "runner/runner.h"
#include "tap.h"

static char tmp[] = "/tmp/ph-test-runner-XXXXXX";

static char *hook(const char *name, const char *body) {
        char *path = xasprintf("%s/%s", tmp, name);
        _cleanup_free_ char *text = xasprintf("#!/bin/sh\n%s\n", body);
        if (file_write_atomic(path, text, strlen(text), 0755, NULL) < 0)
                abort();
        return path;
}

static json_t *run(const char *name, const char *body, unsigned timeout) {
        _cleanup_free_ char *path = hook(name, body);
        json_auto_t *dep =
                json_pack("{s:s, s:s, s:s, s:[]}", "id", "cfg-1", "group", name, "config", "x", "inputs");
        json_t *data = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (runner_run(path, dep, timeout, &data, &err) < 0) {
                printf("# runner_run: %s\n", ph_error_msg(err));
                return NULL;
        }
        return data;
}

static const char *s(const json_t *d, const char *k) {
        return json_string_value(json_object_get(d, k));
}

static json_int_t code(const json_t *d) {
        return json_integer_value(json_object_get(d, "deploy_status_code"));
}

static bool yes(void *userdata) {
        (void) userdata;
        return true;
}

int main(void) {
        if (!mkdtemp(tmp))
                return 1;

        /* Case 1: JSON on stdout wins, even with a non-zero exit. */
        json_auto_t *d1 =
                run("j", "cat >/dev/null; echo '{\"deploy_status_code\": 0, \"out1\": \"v\"}'; exit 3", 0);
        TAP_CHECK(d1 && json_object_size(d1) == 2 && code(d1) == 0);
        TAP_CHECK_STR(s(d1, "out1"), "v");
        /* Case 2: stdout that is not JSON: the three keys with the exit code. */
        json_auto_t *d2 = run("t", "echo hello; echo oops >&2; exit 0", 0);
        TAP_CHECK_STR(s(d2, "deploy_stdout"), "hello\n");
        TAP_CHECK_STR(s(d2, "deploy_stderr"), "oops\n");
        TAP_CHECK(json_is_integer(json_object_get(d2, "deploy_status_code")) && code(d2) == 0);
        /* Case 3: empty stdout, failure. */
        json_auto_t *d3 = run("f", "echo bad >&2; exit 2", 0);
        TAP_CHECK_STR(s(d3, "deploy_stdout"), "");
        TAP_CHECK_STR(s(d3, "deploy_stderr"), "bad\n");
        TAP_CHECK(code(d3) == 2);
        /* Case 4: empty stdout, success: {}. */
        json_auto_t *d4 = run("e", "exit 0", 0);
        TAP_CHECK(json_is_object(d4) && json_object_size(d4) == 0);
        /* JSON that is not an object is not a result. */
        json_auto_t *d5 = run("a", "echo '[1]'", 0);
        TAP_CHECK_STR(s(d5, "deploy_stdout"), "[1]\n");
        /* The deployment arrives on stdin. */
        json_auto_t *d6 = run("in", "grep -o '\"id\": \"cfg-1\"'", 0);
        TAP_CHECK_STR(s(d6, "deploy_stdout"), "\"id\": \"cfg-1\"\n");
        /* Invalid UTF-8 is replaced, as Python's errors='replace' does. */
        json_auto_t *d7 = run("u", "printf 'a\\377b'", 0);
        TAP_CHECK_STR(s(d7, "deploy_stdout"), "a\xef\xbf\xbd"
                                              "b");
        /* A hook that never reads a big stdin is not a problem for the agent (no SIGPIPE death). */
        _cleanup_free_ char *bigpath = hook("big", "exit 0");
        json_auto_t *bigdep = json_pack("{s:s, s:s}", "id", "b", "config", "");
        char *pad = xmalloc(1 << 20);
        memset(pad, 'x', (1 << 20) - 1);
        pad[(1 << 20) - 1] = '\0';
        json_object_set_new(bigdep, "config", json_string(pad));
        free(pad);
        json_t *d8 = NULL;
        TAP_CHECK(runner_run(bigpath, bigdep, 0, &d8, NULL) == 0);
        TAP_CHECK(json_is_object(d8));
        json_decref(d8);

        /* Timeout: the hook and what it started are killed; the result is a failure. */
        time_t t0 = time(NULL);
        json_auto_t *d9 = run("slow", "echo started; sleep 30 & sleep 30", 1);
        TAP_CHECK(time(NULL) - t0 < 10);
        TAP_CHECK(d9 && code(d9) != 0);
        TAP_CHECK_HAS(s(d9, "deploy_stderr"), "timed out after 1 s");
        TAP_CHECK_STR(s(d9, "deploy_stdout"), "started\n");

        /* Cancellation: a readable fd and a yes from the callback kill the hook at once. */
        int cp[2];
        TAP_CHECK(pipe(cp) == 0);
        TAP_CHECK(write(cp[1], "x", 1) == 1);
        _cleanup_free_ char *blocker = hook("block", "echo started; sleep 30");
        json_auto_t *bdep = json_pack("{s:s}", "id", "blk");
        json_t *bd = NULL;
        _cleanup_error_ PhError *cerr = NULL;
        t0 = time(NULL);
        TAP_CHECK(runner_run_cancellable(blocker, bdep, 60, cp[0], yes, NULL, &bd, &cerr) == -ECANCELED);
        TAP_CHECK(time(NULL) - t0 < 10);
        TAP_CHECK(bd == NULL);
        TAP_CHECK_HAS(ph_error_msg(cerr), "cancelled");
        close(cp[0]), close(cp[1]);

        /* Lookup: the group is sanitised; dirs are searched in order; missing is -ENOENT. */
        _cleanup_free_ char *found = NULL, *dirs = xasprintf("/nonexistent:%s", tmp);
        _cleanup_error_ PhError *err = NULL;
        TAP_CHECK(runner_find_hook("j!", dirs, &found, NULL) == 0);
        _cleanup_free_ char *want = xasprintf("%s/j", tmp);
        TAP_CHECK_STR(found, want);
        char *none = NULL;
        TAP_CHECK(runner_find_hook("puppet", dirs, &none, &err) == -ENOENT);
        TAP_CHECK_HAS(ph_error_msg(err), "no hook for group 'puppet'");
        TAP_CHECK(none == NULL);
        _cleanup_free_ char *notexec = xasprintf("%s/plain", tmp);
        (void) file_write_atomic(notexec, "x", 1, 0644, NULL);
        TAP_CHECK(runner_find_hook("plain", tmp, &none, NULL) == -ENOENT);

        /* A heat-agents-style script hook, unchanged: inputs in the environment, outputs from files. */
        const char *hooks = getenv("PH_TEST_HOOKS");
        _cleanup_free_ char *script = NULL;
        TAP_CHECK(hooks && runner_find_hook("script", hooks, &script, NULL) == 0);
        _cleanup_free_ char *work = xasprintf("HEAT_SCRIPT_WORKING=%s/work", tmp);
        _cleanup_free_ char *outs = xasprintf("HEAT_SCRIPT_OUTPUTS=%s/outs", tmp);
        putenv(work);
        putenv(outs);
        json_auto_t *sd =
                json_loads("{\"id\": \"sc-1\", \"group\": \"script\", \"name\": \"s\","
                           " \"config\": \"#!/bin/sh\\necho \\\"hi $foo\\\"\\necho -n \\\"$foo-out\\\" > "
                           "$heat_outputs_path.result\\n"
                           "echo warn >&2\\nexit 4\\n\","
                           " \"inputs\": [{\"name\": \"foo\", \"type\": \"String\", \"value\": \"bar\"}],"
                           " \"outputs\": [{\"name\": \"result\"}, {\"name\": \"absent\"}]}",
                           0, NULL);
        json_t *res = NULL;
        if (script)
                TAP_CHECK(runner_run(script, sd, 30, &res, NULL) == 0);
        TAP_CHECK_STR(s(res, "deploy_stdout"), "hi bar\n");
        TAP_CHECK_STR(s(res, "deploy_stderr"), "warn\n");
        TAP_CHECK_STR(s(res, "result"), "bar-out");
        TAP_CHECK(code(res) == 4);
        TAP_CHECK(json_object_get(res, "absent") == NULL);
        json_decref(res);

        /* A flood: only the end of each stream is kept (bounded memory), and stderr says so. A cut
         * stdout is never read as a JSON result, unless only whitespace in front of it went (as
         * 55-heat-config's json.loads would read it whole). */
        json_auto_t *fl =
                run("flood",
                    "cat >/dev/null; head -c 40000000 /dev/zero | tr '\\0' x; "
                    "echo '{\"deploy_status_code\": 0}'; head -c 20000000 /dev/zero >&2; echo E >&2",
                    0);
        const char *fo = s(fl, "deploy_stdout"), *fe = s(fl, "deploy_stderr");
        const char *tail = "x{\"deploy_status_code\": 0}\n";
        TAP_CHECK(fo && json_string_length(json_object_get(fl, "deploy_stdout")) == 16u * 1024 * 1024);
        TAP_CHECK(fo && strcmp(fo + strlen(fo) - strlen(tail), tail) == 0);
        TAP_CHECK(fe && strstr(fe, "E\npodhook: the hook wrote 40000026 bytes to stdout; only the last "
                                   "16777216 are kept\n"));
        TAP_CHECK(fe && strstr(fe, "podhook: the hook wrote 20000002 bytes to stderr"));
        TAP_CHECK(code(fl) == 0 && json_object_size(fl) == 3);
        json_auto_t *ws = run("ws",
                              "cat >/dev/null; head -c 40000000 /dev/zero | tr '\\0' '\\n'; "
                              "echo '{\"deploy_status_code\": 5, \"r\": 1}'",
                              0);
        TAP_CHECK(ws && code(ws) == 5 && json_integer_value(json_object_get(ws, "r")) == 1 &&
                  json_object_size(ws) == 2);
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmp);
        (void) !system(cmd);
        return tap_done();
}
