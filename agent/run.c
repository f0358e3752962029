/* run.h: the loop's state is Run, the loop thread's alone; a job gets JobArg (the agent and the job's
 * in and out values) and hands it back in on_job_done, the only place the loop reads a job's results. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define PH_LOG_MODULE "agent"
#include "common/log.h"
#include "queue-agent.h"
#include "api-routes.h"
#include "engine-watch.h"
#include "run.h"
#include "sdnotify.h"
#include "worker.h"

#define USEC_PER_SEC 1000000ull
/* A deployment that came over the queue starts a pass this soon: a burst of them makes one pass. */
#define QUEUE_PASS_DELAY_USEC (50ull * 1000)
#define HEAL_DEBOUNCE_USEC    (500ull * 1000)

typedef struct JobArg {
        PhAgent *a;
        PhAgentJob job;
} JobArg;

typedef struct Run {
        PhAgent *a;
        PhEvent *e;
        PhWorker *w;
        PhNotify *sd;
        JobArg arg;       /* the worker's while a job runs */
        unsigned pending; /* PhAgentWork asked for while a job ran */
        bool stopping, reload, ready;
        PhEventSource *poll_timer, *outbox_timer, *debounce_timer, *rescan_timer, *watchdog_timer;
        int inotify_fd;
        int watch; /* the drop-in directory's watch, -1 when there is none (yet) */
        PhEventSource *inotify_source;
        char *watched;       /* the directory watched */
        PhAgentQueue *queue; /* --listen, --publish; NULL without */
        PhEventSource *queue_timer;
        PhApiServer *api; /* --api; NULL without */
        PhEngineWatch *watch_engine;
        PhEventSource *reconcile_timer, *heal_timer, *probe_timer;
        PhApiRoutesEnv api_env;
} Run;

static void maybe_start(Run *run);

static void notify_sd(Run *run, const char *state) {
        _cleanup_error_ PhError *err = NULL;

        if (sdnotify_send(run->sd, state, &err) < 0)
                log_debug("%s", ph_error_msg(err));
}

static void notify_status(Run *run) {
        _cleanup_free_ char *line = status_line(run->a->status);
        _cleanup_error_ PhError *err = NULL;

        if (sdnotify_status(run->sd, line, &err) < 0)
                log_debug("%s", ph_error_msg(err));
}

static bool cancel_requested(void *userdata) {
        return worker_cancel_requested(userdata);
}

/* On the worker thread: the job, and nothing of Run. */
static int job_main(void *p, const PhCancel *c) {
        JobArg *arg = p;
        PhHttpCancel cancel = {
                .fd = worker_cancel_fd(c), .cancelled = cancel_requested, .userdata = (void *) c};

        agent_work(arg->a, &arg->job, &cancel);
        return 0;
}

static void arm(PhEventSource *s, uint64_t usec) {
        if (s && event_source_set_time_relative(s, usec) < 0)
                log_warning("cannot set the timer %s", event_source_get_description(s));
}

static void on_job_done(PhWorker *w, int r, void *p, void *userdata) {
        Run *run = userdata;
        const PhAgentJob *job = &((JobArg *) p)->job;
        PhAgent *a = run->a;

        if ((job->work & PH_WORK_POLL) && agent_has_sources(a) && !job->cancelled)
                arm(run->poll_timer, agent_next_poll_usec(a));
        if (job->left > 0 && job->next_due > 0) {
                time_t now = time(NULL);
                /* Whole seconds; one that is due already (its attempt could not be recorded) waits a
                 * second rather than spinning the loop. */
                arm(run->outbox_timer,
                    job->next_due > now ? (uint64_t) (job->next_due - now) * USEC_PER_SEC : USEC_PER_SEC);
        } else
                (void) event_source_set_enabled(run->outbox_timer, false);
        if (job->dropin_recheck > 0)
                arm(run->debounce_timer, job->dropin_recheck);
        if ((job->work & (PH_WORK_POLL | PH_WORK_DROPINS)) && !job->cancelled) {
                bool polled = (job->work & PH_WORK_POLL) && agent_has_sources(a);
                status_pass_done(a->status, !polled || job->poll == 0,
                                 polled && job->poll != 0 ? "some sources did not answer" : NULL);
                if (!run->ready) {
                        run->ready = true;
                        notify_sd(run, "READY=1");
                }
                notify_status(run);
        }
        if (run->stopping) {
                event_exit(run->e, 0);
                return;
        }
        maybe_start(run);
}

static void request(Run *run, unsigned work) {
        run->pending |= work;
        maybe_start(run);
}

static void watch_dropins(Run *run);

static const char *nonempty(const char *s) {
        return s && *s ? s : NULL;
}

/* A pod was posted or deleted on the API: the pods' directory is looked at by the next job. */
static void api_changed(void *userdata) {
        request(userdata, PH_WORK_DROPINS);
}

/* --api: the server on the loop, with the agent's routes. Its address is only read at the start. */
static int api_start(Run *run, PhError **reterr) {
        PhAgent *a = run->a;
        int r;

        if (!nonempty(a->cfg->api))
                return 0;
        run->api_env = (PhApiRoutesEnv){.status = a->status,
                                        .pods_dir = a->api_pods_dir,
                                        .state_dir = a->state_dir_real,
                                        .changed = api_changed,
                                        .userdata = run};
        r = api_server_new(run->e,
                           &(PhApiConfig){.address = a->cfg->api,
                                          .token_file = nonempty(a->cfg->api_token_file),
                                          .secret_values = api_routes_secret_values,
                                          .secret_userdata = a->status},
                           &run->api, reterr);
        if (r < 0)
                return r;
        r = api_routes_add(run->api, &run->api_env, reterr);
        if (r < 0)
                return r;
        if (!nonempty(a->cfg->api_token_file))
                log_info("status API: no api-token-file, so POST and DELETE are refused");
        return 0;
}

/* SIGHUP: the token file again; a new address needs a restart. */
static void api_reload(Run *run) {
        _cleanup_error_ PhError *err = NULL;
        const PhConfig *c = run->a->cfg;

        if (!run->api) {
                if (nonempty(c->api))
                        log_warning("reload: the status API's address needs a restart");
                return;
        }
        if (api_server_reload_token(run->api, nonempty(c->api_token_file), &err) < 0)
                log_warning("reload: %s; the API keeps its old token", ph_error_msg(err));
}

static void do_reload(Run *run) {
        bool had_sources = agent_has_sources(run->a);

        run->reload = false;
        agent_reload(run->a);
        watch_dropins(run);
        if (agent_has_dropins(run->a) && !event_source_get_enabled(run->rescan_timer))
                arm(run->rescan_timer, (uint64_t) run->a->cfg->dropin_rescan * USEC_PER_SEC);
        if (!had_sources && agent_has_sources(run->a))
                run->pending |= PH_WORK_POLL;
        if (agent_has_dropins(run->a))
                run->pending |= PH_WORK_DROPINS;
        api_reload(run);
        notify_status(run);
}

static void maybe_start(Run *run) {
        if (run->stopping || worker_busy(run->w))
                return;
        if (run->reload)
                do_reload(run);
        if (!run->pending)
                return;
        run->arg.job = (PhAgentJob){.work = run->pending | PH_WORK_DELIVER};
        if (!agent_has_dropins(run->a))
                run->arg.job.work &= ~(unsigned) (PH_WORK_DROPINS | PH_WORK_RESCAN);
        run->pending = 0;
        int r = worker_start(run->w, job_main, &run->arg, on_job_done, run);
        if (r < 0) {
                /* No thread: the job runs here, the loop waits for it this once. */
                log_warning_errno(r, "cannot start a thread for the agent's work; it runs on the loop");
                agent_work(run->a, &run->arg.job, NULL);
                on_job_done(run->w, 0, &run->arg, run);
        }
}

static int on_poll(PhEventSource *s, uint64_t usec, void *userdata) {
        request(userdata, PH_WORK_POLL);
        return 0;
}

static int on_outbox(PhEventSource *s, uint64_t usec, void *userdata) {
        request(userdata, PH_WORK_DELIVER);
        return 0;
}

static int on_debounce(PhEventSource *s, uint64_t usec, void *userdata) {
        request(userdata, PH_WORK_DROPINS);
        return 0;
}

static int on_rescan(PhEventSource *s, uint64_t usec, void *userdata) {
        Run *run = userdata;

        if (!agent_has_dropins(run->a))
                return 0;
        watch_dropins(run);
        arm(s, (uint64_t) run->a->cfg->dropin_rescan * USEC_PER_SEC);
        request(run, PH_WORK_DROPINS | PH_WORK_RESCAN);
        return 0;
}

static int on_reconcile(PhEventSource *s, uint64_t usec, void *userdata) {
        Run *run = userdata;

        arm(s, (uint64_t) run->a->cfg->reconcile_interval * USEC_PER_SEC);
        request(run, PH_WORK_HEAL);
        return 0;
}

static int on_probe(PhEventSource *s, uint64_t usec, void *userdata) {
        Run *run = userdata;

        arm(s, (uint64_t) run->a->cfg->liveness_period * USEC_PER_SEC);
        request(run, PH_WORK_PROBE);
        return 0;
}

static int on_heal(PhEventSource *s, uint64_t usec, void *userdata) {
        request(userdata, PH_WORK_HEAL);
        return 0;
}

/* News from the Engine (engine-watch.h): a short quiet time first, so that a burst of events (a pod
 * being replaced) makes one pass, after it. */
static void engine_changed(void *userdata) {
        Run *run = userdata;

        arm(run->heal_timer, HEAL_DEBOUNCE_USEC);
}

static int on_watchdog(PhEventSource *s, uint64_t usec, void *userdata) {
        Run *run = userdata;

        notify_sd(run, "WATCHDOG=1");
        arm(s, sdnotify_watchdog_usec(run->sd));
        return 0;
}

static int on_inotify(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        Run *run = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false;
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                                /* The directory itself went: the rescan watches it again once it is back. */
                                if (run->watch >= 0 && ev->wd == run->watch) {
                                        (void) inotify_rm_watch(fd, run->watch);
                                        run->watch = -1;
                                }
                                changed = true;
                        } else if (ev->len > 0 && dropin_name_counts(ev->name))
                                changed = true;
                        p += sizeof(*ev) + ev->len;
                }
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
                return -errno;
        /* Every change moves the timer: the sync comes once the directory has been quiet a while. */
        if (changed)
                arm(run->debounce_timer, (uint64_t) run->a->cfg->dropin_debounce_ms * 1000);
        return 0;
}

/* The drop-in directory's inotify watch, added when it is missing or the directory changed. */
static void watch_dropins(Run *run) {
        const char *dir = run->a->dropins ? dropins_path(run->a->dropins) : NULL;

        if (run->watch >= 0 && (!dir || strcmp(dir, run->watched) != 0)) {
                (void) inotify_rm_watch(run->inotify_fd, run->watch);
                run->watch = -1;
        }
        if (!dir || run->watch >= 0 || run->inotify_fd < 0)
                return;
        run->watch = inotify_add_watch(run->inotify_fd, dir,
                                       IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_CREATE |
                                               IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
        if (run->watch < 0) {
                log_debug("drop-ins: cannot watch %s (%s); the rescan every %u s still looks", dir,
                          strerror(errno), run->a->cfg->dropin_rescan);
                return;
        }
        free(run->watched);
        run->watched = xstrdup(dir);
}

static int on_stop(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata) {
        Run *run = userdata;

        if (run->stopping)
                return 0;
        run->stopping = true;
        log_info("stopping");
        notify_sd(run, "STOPPING=1");
        if (worker_busy(run->w))
                worker_cancel(run->w); /* on_job_done ends the loop */
        else
                event_exit(run->e, 0);
        return 0;
}

static int on_hup(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata) {
        Run *run = userdata;

        agent_queue_reload(run->queue);
        run->reload = true;
        maybe_start(run);
        return 0;
}

static int add_timer(Run *run, PhEventSource **ret, PhEventTimeFn cb, const char *what);

/* The queue: a stored deployment asks for a pass (never run here: passes are the worker's jobs). */
static int on_queue_timer(PhEventSource *s, uint64_t usec, void *userdata) {
        request(userdata, PH_WORK_POLL);
        return 0;
}

static void on_queue_arrived(void *userdata) {
        Run *run = userdata;

        if (!event_source_get_enabled(run->queue_timer))
                arm(run->queue_timer, QUEUE_PASS_DELAY_USEC);
}

static int run_queue_setup(Run *run, PhError **reterr) {
        int r = add_timer(run, &run->queue_timer, on_queue_timer, "queue arrival");

        if (r < 0)
                return ph_error_set(reterr, -r, "timers: %s", strerror(-r));
        return agent_queue_open(run->a, run->e, on_queue_arrived, run, &run->queue, reterr);
}

static void run_done(Run *run) {
        run->watch_engine = engine_watch_free(run->watch_engine);
        run->w = worker_free(run->w);
        run->queue = agent_queue_free(run->queue);
        run->api = api_server_free(run->api);
        notifier_detach(run->a->notifier);
        (void) event_source_unref(run->inotify_source);
        if (run->inotify_fd >= 0)
                (void) close(run->inotify_fd);
        free(run->watched);
        run->e = event_free(run->e);
        run->sd = sdnotify_free(run->sd);
}

static int add_timer(Run *run, PhEventSource **ret, PhEventTimeFn cb, const char *what) {
        int r = event_add_time(run->e, ret, PH_EVENT_INFINITY, cb, run);

        if (r < 0)
                return r;
        (void) event_source_set_enabled(*ret, false);
        event_source_set_description(*ret, what);
        return 0;
}

static int run_setup(Run *run, PhError **reterr) {
        int r;

        r = sdnotify_open(true, &run->sd, reterr);
        if (r < 0)
                return r;
        r = event_new(&run->e);
        if (r < 0)
                return ph_error_set(reterr, -r, "event loop: %s", strerror(-r));
        /* The signals first: no thread may exist that leaves them unblocked. */
        if ((r = event_add_signal(run->e, NULL, SIGTERM, on_stop, run)) < 0 ||
            (r = event_add_signal(run->e, NULL, SIGINT, on_stop, run)) < 0 ||
            (r = event_add_signal(run->e, NULL, SIGHUP, on_hup, run)) < 0)
                return ph_error_set(reterr, -r, "signals: %s", strerror(-r));
        r = worker_new(run->e, &run->w);
        if (r < 0)
                return ph_error_set(reterr, -r, "worker: %s", strerror(-r));
        if ((r = add_timer(run, &run->poll_timer, on_poll, "poll")) < 0 ||
            (r = add_timer(run, &run->outbox_timer, on_outbox, "outbox")) < 0 ||
            (r = add_timer(run, &run->debounce_timer, on_debounce, "drop-in debounce")) < 0 ||
            (r = add_timer(run, &run->rescan_timer, on_rescan, "drop-in rescan")) < 0 ||
            (r = add_timer(run, &run->watchdog_timer, on_watchdog, "watchdog")) < 0 ||
            (r = add_timer(run, &run->reconcile_timer, on_reconcile, "reconcile")) < 0 ||
            (r = add_timer(run, &run->heal_timer, on_heal, "engine events")) < 0 ||
            (r = add_timer(run, &run->probe_timer, on_probe, "liveness probes")) < 0)
                return ph_error_set(reterr, -r, "timers: %s", strerror(-r));
        run->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (run->inotify_fd < 0)
                log_warning_errno(errno, "inotify: drop-ins are only seen by the rescan every %u s",
                                  run->a->cfg->dropin_rescan);
        else if ((r = event_add_io(run->e, &run->inotify_source, run->inotify_fd, EPOLLIN, on_inotify, run)) <
                 0)
                return ph_error_set(reterr, -r, "inotify: %s", strerror(-r));
        else
                event_source_set_description(run->inotify_source, "drop-in directory");
        r = notifier_attach(run->a->notifier, run->e);
        if (r < 0)
                return ph_error_set(reterr, -r, "notify-exec: %s", strerror(-r));
        r = engine_watch_new(run->e, run->a->docker.docker_host, engine_changed, run, &run->watch_engine);
        if (r < 0)
                log_warning_errno(r, "engine events: no thread; pods are looked at every %u s only",
                                  run->a->cfg->reconcile_interval);
        r = api_start(run, reterr);
        if (r < 0)
                return r;
        return run_queue_setup(run, reterr);
}

int agent_run(PhAgent *a, PhError **reterr) {
        _cleanup_(run_done) Run run = {.a = a, .arg = {.a = a}, .inotify_fd = -1, .watch = -1};
        int r;

        r = run_setup(&run, reterr);
        if (r < 0)
                return r;
        watch_dropins(&run);
        if (agent_has_dropins(a))
                arm(run.rescan_timer, (uint64_t) a->cfg->dropin_rescan * USEC_PER_SEC);
        if (sdnotify_watchdog_usec(run.sd) > 0)
                arm(run.watchdog_timer, sdnotify_watchdog_usec(run.sd));
        arm(run.reconcile_timer, (uint64_t) a->cfg->reconcile_interval * USEC_PER_SEC);
        arm(run.probe_timer, (uint64_t) a->cfg->liveness_period * USEC_PER_SEC);
        notify_status(&run);
        request(&run, PH_WORK_POLL | PH_WORK_DROPINS | PH_WORK_HEAL);
        r = event_loop(run.e);
        if (r < 0)
                return ph_error_set(reterr, -r, "event loop: %s", strerror(-r));
        return 0;
}
