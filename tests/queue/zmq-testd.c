/* The queue's sockets on the event loop, for queue-zmq.sh: what the agent will do with them, minus the
 * agent. Every deployment the ROUTER socket stores is "run" at once: its result (stdout naming its
 * password input, to be redacted; status 1 for a name starting with "fail", which also sends the event
 * deployment_failed) goes out on the PUB socket. Writes {"publish", "listen", "public_key"} to READY_FILE
 * once both serve; runs until SIGTERM; SIGHUP reads the allow file again.
 *
 *   zmq-testd --state DIR --ready FILE [--publish EP] [--listen EP] [--max-message N] [--done ID]...
 *             [--curve-secret-file F --curve-allow-file F]
 *   zmq-testd --state DIR --list        the `queue` source's metadata, as the agent would collect it */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/deployment.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/secret.h"
#include "queue/zmq-listen.h"
#include "queue/zmq-pub.h"
#include "source/source.h"

typedef struct Testd {
        PhEvent *e;
        PhZmq *z;
        PhZmqPub *pub;
        char **done;
} Testd;

static bool known(const char *id, void *userdata) {
        Testd *t = userdata;
        for (char **d = t->done; d && *d; d++)
                if (strcmp(*d, id) == 0)
                        return true;
        return false;
}

static void arrived(const char *id, const json_t *deployment, void *userdata) {
        Testd *t = userdata;
        _cleanup_error_ PhError *err = NULL;
        const char *name = json_string_value(json_object_get(deployment, "name"));
        const char *pw = deployment_input(deployment, "password");
        bool fail = name && strncmp(name, "fail", 4) == 0;
        _cleanup_free_ char *out = xasprintf("ran %s with password %s", id, pw ? pw : "(none)");
        _cleanup_strv_free_ char **secrets = secret_values_of_deployment(deployment);
        json_auto_t *result = json_pack("{s:s, s:s, s:i}", "deploy_stdout", out, "deploy_stderr",
                                        fail ? "it failed\nat once" : "", "deploy_status_code", fail ? 1 : 0);

        if (!t->pub)
                return;
        if (ph_zmq_pub_result(t->pub, id, name, deployment_input(deployment, "deploy_action"), result,
                              secrets, &err) < 0)
                log_error("%s", ph_error_msg(err));
        if (fail) {
                json_auto_t *ev = json_pack("{s:s}", "id", id);
                if (ph_zmq_pub_event(t->pub, "deployment_failed", name, ev, secrets, &err) < 0)
                        log_error("%s", ph_error_msg(err));
        }
}

static int on_term(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata) {
        event_exit(userdata, 0);
        return 0;
}

static int on_hup(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata) {
        Testd *t = userdata;
        _cleanup_error_ PhError *err = NULL;
        if (ph_zmq_reload_allow(t->z, &err) < 0)
                log_error("%s", ph_error_msg(err));
        else
                log_info("the allow file is read again");
        return 0;
}

static int list(const char *state) {
        _cleanup_error_ PhError *err = NULL;
        PhSourceOptions o = {.state_dir = state};
        _cleanup_(source_freep) PhSource *s = NULL;
        json_t *m = NULL;
        if (source_new("queue", NULL, &o, &s, &err) < 0 || source_collect(s, &m, &err) < 0) {
                log_error("%s", ph_error_msg(err));
                return 1;
        }
        _cleanup_free_ char *text = json_dumps(m, JSON_INDENT(1));
        puts(text);
        json_decref(m);
        return 0;
}

static void strv_add(char ***v, const char *s) {
        size_t n = *v ? strv_length(*v) : 0;
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = xstrdup(s);
        (*v)[n + 1] = NULL;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"state", required_argument, NULL, 's'},
                {"ready", required_argument, NULL, 'r'},
                {"publish", required_argument, NULL, 'p'},
                {"listen", required_argument, NULL, 'l'},
                {"max-message", required_argument, NULL, 'm'},
                {"done", required_argument, NULL, 'd'},
                {"curve-secret-file", required_argument, NULL, 'S'},
                {"curve-allow-file", required_argument, NULL, 'A'},
                {"list", no_argument, NULL, 'L'},
                {},
        };
        const char *state = NULL, *ready = NULL, *publish = NULL, *listen_ep = NULL;
        PhZmqConfig zc = {0};
        size_t max = 0;
        bool do_list = false;
        Testd t = {0};
        _cleanup_error_ PhError *err = NULL;
        PhZmqListen *l = NULL;
        int r, c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (c) {
                case 's':
                        state = optarg;
                        break;
                case 'r':
                        ready = optarg;
                        break;
                case 'p':
                        publish = optarg;
                        break;
                case 'l':
                        listen_ep = optarg;
                        break;
                case 'm':
                        max = strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        strv_add(&t.done, optarg);
                        break;
                case 'S':
                        zc.curve_secret_file = optarg;
                        break;
                case 'A':
                        zc.curve_allow_file = optarg;
                        break;
                case 'L':
                        do_list = true;
                        break;
                default:
                        return 2;
                }
        }
        if (!state || (!do_list && !ready)) {
                fprintf(stderr, "usage: zmq-testd --state DIR --ready FILE [...] | --state DIR --list\n");
                return 2;
        }
        if (do_list)
                return list(state);
        ph_log_set_max_level(PH_LOG_DEBUG);

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        if (event_new(&t.e) < 0 || event_add_signal(t.e, NULL, SIGTERM, on_term, t.e) < 0 ||
            event_add_signal(t.e, NULL, SIGINT, on_term, t.e) < 0 ||
            event_add_signal(t.e, NULL, SIGHUP, on_hup, &t) < 0) {
                fprintf(stderr, "zmq-testd: cannot set up the loop\n");
                return 1;
        }
        r = ph_zmq_new(t.e, &zc, &t.z, &err);
        if (r >= 0 && publish)
                r = ph_zmq_pub_new(t.z, publish, &t.pub, &err);
        PhZmqListenConfig lc = {
                .endpoint = listen_ep,
                .state_dir = state,
                .max_message = max,
                .known = known,
                .arrived = arrived,
                .userdata = &t,
        };
        if (r >= 0 && listen_ep)
                r = ph_zmq_listen_new(t.z, &lc, &l, &err);
        if (r < 0) {
                log_error("%s", ph_error_msg(err));
                return 1;
        }
        json_auto_t *info = json_pack(
                "{s:s?, s:s?, s:s?}", "publish", t.pub ? ph_zmq_pub_endpoint(t.pub) : NULL, "listen",
                l ? ph_zmq_listen_endpoint(l) : NULL, "public_key", ph_zmq_public_key(t.z));
        _cleanup_free_ char *text = json_dumps(info, JSON_COMPACT);
        if (file_write_atomic(ready, text, strlen(text), 0600, &err) < 0) {
                log_error("%s", ph_error_msg(err));
                return 1;
        }
        r = event_loop(t.e);
        ph_zmq_listen_free(l);
        ph_zmq_pub_free(t.pub);
        ph_zmq_free(t.z);
        event_free(t.e);
        strv_free(t.done);
        return r < 0 ? 1 : 0;
}
