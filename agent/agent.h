/* The agent: its state directory, outbox, hooks and sources (from the bootstrap, following Heat when it
 * rewrites os-collect-config), the drop-in directory, the status store and the events. Its work comes
 * in jobs (agent_work): a poll (collect, dispatch, reconcile), a drop-in sync, and the delivery of due
 * signals. run.c runs jobs on the worker thread from the event loop; --one-time runs one inline.
 *
 * Thread contract: a job may use everything in PhAgent. While one runs on the worker, the loop thread
 * touches nothing of PhAgent except the thread-safe status store and notifier, and reads cfg and the
 * drop-in directory's path (neither changes but by agent_reload, between jobs). agent_reload,
 * agent_stop and agent_free run on the loop thread with no job running. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "config.h"
#include "dispatch.h"
#include "docker/hook-docker.h"
#include "dropin.h"
#include "hook.h"
#include "notify.h"
#include "outbox.h"
#include "source/source.h"
#include "state.h"
#include "status.h"

typedef struct json_t json_t;
typedef struct PhPubBox PhPubBox;

typedef struct PhAgent {
        int argc;
        char **argv; /* borrowed: reloads parse them again */
        PhConfig *cfg;
        PhState *state;
        char *state_dir_real; /* the state dir with symbolic links resolved: no pod's hostDir may reach it */
        PhOutbox *outbox;
        PhDispatch dispatch;
        PhDockerHookOptions docker; /* the docker entry's */
        PhExternalHooks external;   /* the external hooks entry's */
        PhKubeletEntry kubelet;     /* the kubelet entry's */
        PhHook hooks[3];            /* the first n_hooks are in use (agent_setup_hooks decides) */
        size_t n_hooks;
        char *hook_dirs;
        json_t *occ;     /* the os-collect-config object in use (normalised); NULL: no Heat at all */
        char *boot_hash; /* digest of the bootstrap's object: a new bootstrap beats a followed one */
        PhSource **sources;
        json_t **last; /* per source: its last metadata (a failing source keeps it: "no change") */
        size_t n_sources;
        json_t *applied;    /* last merged metadata dispatched (also <state>/metadata.json) */
        PhDropins *dropins; /* NULL without --dropin */
        /* --listen: the `queue` source, read after the others and its deployments appended to theirs;
         * NULL without. queue_last: its last listing. */
        PhSource *queue;
        json_t *queue_last;
        PhPubBox *pubbox;   /* --publish: where stored results go (queue-agent.h); set by the loop, or NULL */
        char *api_pods_dir; /* <state>/api-pods: the manifests posted on the status API */
        PhDropins *api_pods; /* NULL without --api (and none posted before) */
        PhStatus *status;
        PhNotifier *notifier;
        /* The running job's cancel (the worker's): sources, signals and hooks are interrupted through
         * it. Sources hold its address. */
        PhHttpCancel cancel;
        bool reconcile_pending; /* the last reconciliation failed (e.g. Docker was down) */
        bool heal_failing;      /* the last heal pass could not ask the Engine */
        bool heal_answered;     /* some heal pass could */
        json_t *probe_failures; /* container id -> livenessProbe failures in a row */
        unsigned delay;         /* current poll back-off, s */
        int last_kind;          /* PhSignalKind of the last send, for the log line */
        unsigned undelivered;   /* signals given up (gone, unsendable, unreadable) since the start */
        json_t *started;        /* deployment id -> when its hook started (CLOCK_MONOTONIC s) */
        uint64_t rng;
} PhAgent;

/* Takes cfg. Opens the state dir (lock), outbox and sources; with --dropin or --listen and no Heat
 * configuration at all, the agent runs without Heat's sources. */
int agent_new(int argc, char **argv, PhConfig *cfg, PhAgent **ret, PhError **reterr);
PhAgent *agent_free(PhAgent *a);
PH_DEFINE_CLEANUP(PhAgent *, agent_free)

/* The os-collect-config object to start from: the bootstrap file (or the ini files' sections, or the
 * cfn-init-data paths), unless the state dir holds a newer one Heat handed out for the same bootstrap.
 * *ret_hash (optional) is the bootstrap's digest. -ENOENT when there is none at all (and nothing said
 * where to look). */
int agent_resolve_occ(const PhConfig *cfg, json_t **ret_occ, char **ret_hash, PhError **reterr);
/* Builds the sources named by occ's collectors (new array of n); unsupported ones are skipped. cancel
 * (optional, borrowed: it outlives the sources) aborts their requests. */
int agent_build_sources(const PhConfig *cfg, const json_t *occ, const PhHttpCancel *cancel, PhSource ***ret,
                        size_t *ret_n, PhError **reterr);

/* The pods posted on the status API, one manifest per file, under the state directory. */
#define AGENT_API_PODS_DIR "api-pods"
/* Whether a job has drop-ins to look at: the directory's or the API's. */
bool agent_has_dropins(const PhAgent *a);

/* What a job does. */
typedef enum PhAgentWork {
        PH_WORK_POLL = 1u << 0,    /* collect the metadata, dispatch, reconcile */
        PH_WORK_DROPINS = 1u << 1, /* look at the drop-in directory and apply what changed */
        PH_WORK_RESCAN = 1u << 2,  /* with DROPINS: also try again files whose apply failed */
        PH_WORK_DELIVER = 1u << 3, /* deliver due signals (every job does; alone it asks for no more) */
        PH_WORK_HEAL = 1u << 4,    /* self-healing: look at every pod, repair the broken ones (heal.h) */
        PH_WORK_PROBE = 1u << 5,   /* run the livenessProbes of the running pods (heal.h) */
} PhAgentWork;

typedef struct PhAgentJob {
        unsigned work;    /* PhAgentWork bits */
        bool deliver_all; /* every waiting signal, not only the due ones (--one-time) */
        /* results */
        int poll;                /* of the poll: 0 every source answered, 1 some did not, < 0 error */
        int left;                /* signals left in the outbox, < 0 when the outbox failed */
        time_t next_due;         /* the earliest next attempt among them (0: none) */
        uint64_t dropin_recheck; /* usec after which a drop-in that was still changing is looked at */
        bool cancelled;          /* the job was cut short */
} PhAgentJob;

/* Carries out job; cancel (optional, borrowed for the job) interrupts it. */
void agent_work(PhAgent *a, PhAgentJob *job, const PhHttpCancel *cancel);
/* The delay before the next poll: 1 s doubling to the interval cap, +-10% jitter (os-collect-config
 * never resets it). Each call is one step of the back-off. */
uint64_t agent_next_poll_usec(PhAgent *a);
bool agent_has_sources(const PhAgent *a);
/* The config again (SIGHUP): argv, files and environment; on an error the old config stays. */
void agent_reload(PhAgent *a);
/* Before the agent exits: what is still only in memory is stored or marked lost (dispatch_stop).
 * Returns the number of results that could not be stored. */
size_t agent_stop(PhAgent *a);
/* GET /v1/kubelet/pods of the status API: the agent's current kubelet pods (their static files' Pods, as
 * the last runs wrote them or the last listing found them) as a v1 PodList, a kubelet's --manifest-url
 * answer (*ret new ref). The Pods carry their env values as the files do: serve it behind the API token.
 * Reads only the status store: safe on the loop thread while a job runs. Returns 0. */
int agent_kubelet_pod_list(PhAgent *a, json_t **ret);
/* --print: collects once and prints {"<source>": metadata} with secrets redacted unless show_secrets. */
int agent_print(const PhConfig *cfg, FILE *f, PhError **reterr);
