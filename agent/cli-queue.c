/* The queue commands: keygen (a CURVE key pair) and send (a deployment over the ZeroMQ queue, the
 * answer printed). docs/queue.md has the formats. Each is a boundary: one error line, an exit code. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "common/fileio.h"
#include "queue/curve.h"
#include "queue/zmq-ctx.h"
#include "source/queue-store.h"

#define EXIT_USAGE 2
/* sysexits' EX_TEMPFAIL: no answer in time; trying again may work. */
#define EXIT_NO_ANSWER   75
#define SEND_TIMEOUT_MAX 3600.0

static int usage(const char *cmd, const char *msg) {
        fprintf(stderr, "podhook %s: %s (see 'podhook %s --help')\n", cmd, msg, cmd);
        return EXIT_USAGE;
}

static int fail(const char *cmd, const PhError *err) {
        fprintf(stderr, "podhook %s: %s\n", cmd, ph_error_msg(err));
        return EXIT_FAILURE;
}

int cli_keygen(int argc, char **argv) {
        static const struct option opts[] = {
                {"secret-file", required_argument, NULL, 's'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *secret_file = NULL;
        char pub[CURVE_KEY_Z85_LEN + 1], sec[CURVE_KEY_Z85_LEN + 1];
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        secret_file = optarg;
                        break;
                case 'h':
                        puts("Usage: podhook keygen [--secret-file FILE]\n\n"
                             "Makes a CURVE key pair for the queue sockets (--publish, --listen) and their "
                             "clients.\n"
                             "Prints \"public: KEY\" and \"secret: KEY\"; with --secret-file the secret key "
                             "goes\n"
                             "into FILE instead (a new file, mode 0600: the form --curve-secret-file reads) "
                             "and\n"
                             "only the public key is printed.");
                        return EXIT_SUCCESS;
                default:
                        return usage("keygen", "unknown option or missing value");
                }
        }
        if (optind != argc)
                return usage("keygen", "no arguments expected");
        if (!zmq_has("curve")) {
                fputs("podhook keygen: this libzmq has no CURVE\n", stderr);
                return EXIT_FAILURE;
        }
        if (zmq_curve_keypair(pub, sec) < 0) {
                fprintf(stderr, "podhook keygen: %s\n", zmq_strerror(zmq_errno()));
                return EXIT_FAILURE;
        }
        if (!secret_file) {
                printf("public: %s\nsecret: %s\n", pub, sec);
                explicit_bzero(sec, sizeof(sec));
                return EXIT_SUCCESS;
        }
        _cleanup_error_ PhError *err = NULL;
        int r = file_exists(secret_file);
        if (r != 0) {
                fprintf(stderr, "podhook keygen: %s %s\n", secret_file,
                        r > 0 ? "exists already: a key is not overwritten" : strerror(-r));
                return EXIT_FAILURE;
        }
        char line[CURVE_KEY_Z85_LEN + 2];
        snprintf(line, sizeof(line), "%s\n", sec);
        r = file_write_atomic(secret_file, line, strlen(line), 0600, &err);
        explicit_bzero(line, sizeof(line));
        explicit_bzero(sec, sizeof(sec));
        if (r < 0)
                return fail("keygen", err);
        printf("%s\n", pub);
        return EXIT_SUCCESS;
}

typedef struct SendArgs {
        const char *endpoint;
        const char *file;
        const char *server_key;
        const char *secret_file;
        double timeout;
        bool dealer;
} SendArgs;

static void zmq_ctx_destroyp(void **ctx) {
        if (*ctx)
                zmq_ctx_term(*ctx);
}

static void zmq_closep(void **sock) {
        if (*sock)
                zmq_close(*sock);
}

static int zfail(const char *what) {
        fprintf(stderr, "podhook send: %s: %s\n", what, zmq_strerror(zmq_errno()));
        return EXIT_FAILURE;
}

/* The answer, printed as it came; its exit code. */
static int send_answer(const char *data, size_t len) {
        json_auto_t *a = json_loadb(data, len, 0, NULL);
        fwrite(data, 1, len, stdout);
        fputc('\n', stdout);
        if (json_is_true(json_object_get(a, "accepted")))
                return EXIT_SUCCESS;
        fprintf(stderr, "podhook send: %s\n",
                json_is_string(json_object_get(a, "error")) ? json_string_value(json_object_get(a, "error"))
                                                            : "the answer is not one podhook gives");
        return EXIT_FAILURE;
}

static int send_run(const SendArgs *a) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int zero = 0;

        if (ph_zmq_endpoint_check("send", a->endpoint, false, true, &err) < 0)
                return fail("send", err);
        if (file_read_all(a->file, QUEUE_MESSAGE_MAX, &data, &len, &err) < 0)
                return fail("send", err);

        _cleanup_(zmq_ctx_destroyp) void *ctx = zmq_ctx_new();
        if (!ctx)
                return zfail("zmq_ctx_new");
        _cleanup_(zmq_closep) void *sock = zmq_socket(ctx, a->dealer ? ZMQ_DEALER : ZMQ_REQ);
        if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) < 0)
                return zfail("socket");
        if (a->server_key) {
                char pub[CURVE_KEY_Z85_LEN + 1], sec[CURVE_KEY_Z85_LEN + 1];
                if (!curve_key_decode(a->server_key, NULL))
                        return usage("send", "--curve-server-key is not a CURVE key (40 Z85 characters)");
                if (curve_secret_load(a->secret_file, sec, pub, &err) < 0)
                        return fail("send", err);
                int r = zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, a->server_key, CURVE_KEY_Z85_LEN);
                if (r == 0)
                        r = zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, CURVE_KEY_Z85_LEN);
                if (r == 0)
                        r = zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, CURVE_KEY_Z85_LEN);
                explicit_bzero(sec, sizeof(sec));
                if (r < 0)
                        return zfail("CURVE");
        }
        if (zmq_connect(sock, a->endpoint) < 0)
                return zfail(a->endpoint);
        /* Queued on the connection's pipe at once (even before it is up): the wait is the poll's. */
        if ((a->dealer && zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
            zmq_send(sock, data, len, ZMQ_DONTWAIT) < 0)
                return zfail("send");
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        long ms = (long) (a->timeout * 1000.0 + 0.999); /* rounded up: never shorter than asked */
        int n = zmq_poll(&item, 1, ms);
        if (n < 0)
                return zfail("poll");
        if (n == 0) {
                fprintf(stderr, "podhook send: no answer from %s within %g s%s\n", a->endpoint, a->timeout,
                        a->server_key ? " (is this client's key in the server's allow file?)" : "");
                return EXIT_NO_ANSWER;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (a->dealer) {
                /* DEALER: the empty delimiter first, then the answer. */
                if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0 || zmq_msg_size(&m) != 0 || !zmq_msg_more(&m)) {
                        zmq_msg_close(&m);
                        fputs("podhook send: the answer is not one podhook gives\n", stderr);
                        return EXIT_FAILURE;
                }
        }
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                return zfail("receive");
        }
        int r = send_answer(zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
        return r;
}

int cli_send(int argc, char **argv) {
        static const struct option opts[] = {
                {"timeout", required_argument, NULL, 't'},
                {"curve-server-key", required_argument, NULL, 'k'},
                {"curve-secret-file", required_argument, NULL, 's'},
                {"dealer", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        SendArgs a = {.timeout = 10};
        char *end = NULL;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 't':
                        errno = 0;
                        a.timeout = strtod(optarg, &end);
                        if (errno || !end || *end || !(a.timeout > 0 && a.timeout <= SEND_TIMEOUT_MAX))
                                return usage("send", "--timeout wants seconds, more than 0 and at most 3600");
                        break;
                case 'k':
                        a.server_key = optarg;
                        break;
                case 's':
                        a.secret_file = optarg;
                        break;
                case 'd':
                        a.dealer = true;
                        break;
                case 'h':
                        puts("Usage: podhook send [OPTIONS] ENDPOINT FILE\n\n"
                             "Submits the deployment in FILE (JSON, \"-\" for standard input) to the agent "
                             "that\n"
                             "listens on ENDPOINT (tcp://HOST:PORT or ipc://PATH) and prints its answer.\n"
                             "Exit status: 0 accepted (also as a duplicate), 1 refused or failed, 75 no "
                             "answer\n"
                             "in time.\n\n"
                             "  --timeout SEC               wait at most this long for the answer (default "
                             "10)\n"
                             "  --curve-server-key KEY      the agent's public key: connect with CURVE\n"
                             "  --curve-secret-file FILE    this client's secret key (with "
                             "--curve-server-key)\n"
                             "  --dealer                    a DEALER socket instead of REQ");
                        return EXIT_SUCCESS;
                default:
                        return usage("send", "unknown option or missing value");
                }
        }
        if (argc - optind != 2)
                return usage("send", "ENDPOINT and FILE are needed");
        if (!a.server_key != !a.secret_file)
                return usage("send", "--curve-server-key and --curve-secret-file go together");
        a.endpoint = argv[optind];
        a.file = argv[optind + 1];
        return send_run(&a);
}
