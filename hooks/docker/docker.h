/* A small Docker Engine API client: HTTP with libcurl over the unix socket (or TCP), the API version
 * negotiated once, Docker's own error text in every error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/http.h"

typedef struct json_t json_t;

/* The newest API version we speak: Debian 12's docker.io 20.10 serves 1.41. */
#define DOCKER_API_MAX_MAJOR 1
#define DOCKER_API_MAX_MINOR 41
/* The oldest we accept: HostConfig.Init and Mounts arrived in 1.25. */
#define DOCKER_API_MIN_MINOR 25

typedef struct PhDocker PhDocker;

/* Which engine answers the Docker API. Podman's Docker-compatible service differs from dockerd in a
 * few places (docs/podman.md); it is decided once, when connecting, and the places that adapt consult
 * it. */
typedef enum PhEngineKind {
        PH_ENGINE_DOCKER,
        PH_ENGINE_PODMAN,
} PhEngineKind;

typedef struct PhDockerEngine {
        PhEngineKind kind;
        char version[32]; /* the engine's own ("20.10.24+dfsg1", "4.3.1"); "" when it does not say */
} PhDockerEngine;

/* From the headers of any answer of the engine (GET /_ping, /version): Podman sends
 * Libpod-Api-Version and "Server: Libpod/<version>", dockerd "Server: Docker/<version>". Anything
 * else is taken for Docker. Pure. */
PhDockerEngine docker_engine_from_headers(const char *server, const char *libpod_api_version);

/* A test fault point, for the crash tests only: with DOCKER_CRASH_ENV=N the process kills itself with
 * SIGKILL as soon as N mutating calls (anything but GET) have been answered. */
#define DOCKER_CRASH_ENV "PODHOOK_TEST_CRASH_AFTER_CALLS"

/* Connects to host (NULL: $DOCKER_HOST, else unix:///var/run/docker.sock; unix://PATH, tcp://HOST:PORT or
 * http://HOST:PORT) and negotiates the API version: min(server's API-Version (GET /_ping), 1.41). */
int docker_open(const char *host, PhDocker **ret, PhError **reterr);
PhDocker *docker_free(PhDocker *d);
PH_DEFINE_CLEANUP(PhDocker *, docker_free)
/* From now on image pulls and imports (the calls that can take minutes) stop when cancel says so, with
 * -ECANCELED; other calls are short and run to their end, so no change is left half-made. cancel
 * (borrowed) must outlive its use; NULL: none. */
void docker_set_cancel(PhDocker *d, const PhHttpCancel *cancel);
/* "1.41" (borrowed). */
const char *docker_api_version(const PhDocker *d);
/* The engine found by docker_open (borrowed). */
const PhDockerEngine *docker_engine(const PhDocker *d);

/* One call. path is below the version prefix ("/containers/json?all=1"), already escaped. body (may be
 * NULL) is sent as application/json. 2xx and 304 (already in that state) succeed: *ret_json (optional)
 * gets the parsed body, or NULL when it is empty or not JSON. Anything else fails with Docker's
 * "message": -ENOENT for 404, -EEXIST for 409 (and for Podman's 500 of a name in use), -EIO otherwise.
 * ret_status (optional) always gets the status when an answer arrived. */
int docker_call(PhDocker *d, const char *method, const char *path, const json_t *body, long *ret_status,
                json_t **ret_json, PhError **reterr);
/* One of several calls made together: what to send, and what came back. */
typedef struct PhDockerCall {
        const char *method;
        const char *path;   /* below the version prefix, escaped */
        const json_t *body; /* may be NULL */
        long timeout_ms;    /* 0: the default of a call */
        /* results, as docker_call gives them; free with docker_call_done() */
        int r; /* 0, -ENOENT (404), -EEXIST (409; Podman: a name in use), -ETIMEDOUT (no answer in time), -EIO
                */
        long status;  /* 0 when no answer came */
        json_t *json; /* the parsed answer, or NULL */
        PhError *err; /* when r < 0: Docker's message */
} PhDockerCall;
/* Makes the n calls concurrently; each gets its own result. Returns 0 if all succeeded, else the
 * first failure's code. */
int docker_call_many(PhDocker *d, PhDockerCall *calls, size_t n);
void docker_call_done(PhDockerCall *c);
/* A read (GET), tried again a few times when no answer came or the daemon answered 5xx: one lost
 * answer must not fail (or roll back) an apply. 404 is -ENOENT at once. */
int docker_get(PhDocker *d, const char *path, json_t **ret_json, PhError **reterr);
/* n reads (GET of each call's path; method and body are ignored) concurrently, each tried again as
 * docker_get does; each gets its own result. Returns 0 if all succeeded, else the first failure's code
 * (-ENOENT for a missing object). */
int docker_get_many(PhDocker *d, PhDockerCall *calls, size_t n);
/* The same method on n paths concurrently, no body; each path may take up to timeout_ms. Fails if any
 * call failed (404s count as done when ok_missing), with one line per failure. */
int docker_call_parallel(PhDocker *d, const char *method, char *const *paths, size_t n, long timeout_ms,
                         bool ok_missing, PhError **reterr);

/* A GET whose answer never ends (GET /events): each piece of the body goes to on_data as it arrives
 * (< 0 from it stops), until the Engine closes the connection (0) or cancel says so (-ECANCELED). No
 * timeout: the caller runs it on a thread of its own. */
int docker_stream(PhDocker *d, const char *path, int (*on_data)(const char *data, size_t len, void *userdata),
                  void *userdata, const PhHttpCancel *cancel, PhError **reterr);

/* Splits an image reference into what /images/create wants: "repo:tag" -> ("repo", "tag"),
 * "repo@sha256:..." -> ("repo", "sha256:..."), "repo" -> ("repo", "latest"). Registry ports are kept. */
void docker_image_ref_split(const char *ref, char **ret_repo, char **ret_tag);
/* 1 and *ret (optional, new ref: GET /images/{ref}/json, with its "Id") if the image is present
 * locally, 0 if not. */
int docker_image_inspect(PhDocker *d, const char *ref, json_t **ret, PhError **reterr);
/* 1 if the image is present locally, 0 if not. */
int docker_image_exists(PhDocker *d, const char *ref, PhError **reterr);
/* Pulls ref (always with a tag). Every streamed line is parsed; an "error"/"errorDetail" inside the
 * 200 stream is a failure. progress: show status lines on stderr. */
int docker_image_pull(PhDocker *d, const char *ref, bool progress, PhError **reterr);
/* The same with an X-Registry-Auth header (registry-auth.h; NULL: none), which is never logged. */
int docker_image_pull_auth(PhDocker *d, const char *ref, const char *registry_auth, bool progress,
                           PhError **reterr);
/* Imports a tar as image repo:tag (POST /images/create?fromSrc=-) with one Dockerfile change line
 * (e.g. CMD ["/pause"]), or changes NULL. */
int docker_image_import(PhDocker *d, const void *tar, size_t len, const char *repo, const char *tag,
                        const char *changes, PhError **reterr);

/* Runs cmd in the running container id through the Engine's exec API, attached (the answer is read to
 * the command's end, within timeout_ms; 0: the default of a call), and gives its exit code. -ETIMEDOUT
 * when it ran longer (it goes on in the container: the API cannot stop it); -EEXIST/-EIO as the Engine
 * says when the container does not run (409 on Docker, 500 on Podman). */
int docker_exec(PhDocker *d, const char *id, char *const *cmd, long timeout_ms, int *ret_exit,
                PhError **reterr);
/* The exit code of the container's first exit since the time since (seconds since the epoch), from the
 * Engine's events: what an inspect no longer says once a restart policy has started it again (Podman
 * resets State.ExitCode then). 1 and *ret_code, or 0 (and -1) when no exit is listed. */
int docker_container_exit_code(PhDocker *d, const char *id, long long since, int *ret_code, PhError **reterr);
/* What the Engine's answers say, without I/O (the fuzz target calls these). docker_stream_parse: an
 * /images/create answer as pull and import read it, the body arriving in pieces of chunk bytes (0: at
 * once), then its status: 0, or the error they give. docker_error_text: the text of an error answer
 * (Docker's "message", else the body cut to 300 bytes of UTF-8, else the status); body NUL-terminated as
 * http_request gives it. The caller frees it. */
int docker_stream_parse(const char *body, size_t len, size_t chunk, long status, PhError **reterr);
char *docker_error_text(long status, const char *body, size_t len);

/* "filters=" query value (escaped) selecting by exact labels: {"label":["k=v",...]} from a
 * NULL-terminated list of "k=v" strings. */
char *docker_label_filter(const char *const *labels);
