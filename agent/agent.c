/* The agent's jobs: polls, drop-in syncs, deliveries; its reload and its back-off. With run.c, the
 * only place of the daemon that logs at warning or above. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PH_LOG_MODULE "agent"
#include "bootstrap.h"
#include "common/deployment.h"
#include "common/digest.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/secret.h"
#include "docker/pod-options.h"
#include "docker/registry-auth.h"
#include "jitter.h"
#include "kubelet/convert.h"
#include "agent.h"
#include "queue-agent.h"
#include "source/queue-store.h"
#include "heal.h"
#include "observe.h"
#include "signal/signal.h"

#define OCC_STATE_FILE      "os-collect-config.json"
#define METADATA_STATE_FILE "metadata.json"
#define LOCAL_DEFAULT_DIR   "/var/lib/os-collect-config/local-data"

static void sources_free(PhSource **s, json_t **last, size_t n) {
        for (size_t i = 0; i < n; i++) {
                source_free(s[i]);
                if (last)
                        json_decref(last[i]);
        }
        free(s);
        free(last);
}

PhAgent *agent_free(PhAgent *a) {
        if (!a)
                return NULL;
        sources_free(a->sources, a->last, a->n_sources);
        source_free(a->queue);
        json_decref(a->queue_last);
        dispatch_done(&a->dispatch);
        dropins_free(a->dropins);
        dropins_free(a->api_pods);
        free(a->api_pods_dir);
        notifier_free(a->notifier);
        status_free(a->status);
        json_decref(a->occ);
        json_decref(a->applied);
        json_decref(a->started);
        json_decref(a->probe_failures);
        free(a->boot_hash);
        free(a->hook_dirs);
        free(a->state_dir_real);
        outbox_free(a->outbox);
        state_free(a->state);
        config_free(a->cfg);
        free(a);
        return NULL;
}

static char *occ_digest(const json_t *occ) {
        _cleanup_free_ char *text = json_dumps(occ, JSON_SORT_KEYS | JSON_COMPACT);
        return digest_sha256_hex(text ? text : "", text ? strlen(text) : 0);
}

int agent_resolve_occ(const PhConfig *cfg, json_t **ret_occ, char **ret_hash, PhError **reterr) {
        json_auto_t *boot = NULL, *saved = NULL;
        int r;

        if (cfg->bootstrap && *cfg->bootstrap)
                r = bootstrap_read(cfg->bootstrap, &boot, reterr);
        else if (cfg->occ)
                r = bootstrap_from_json(cfg->occ, &boot, reterr);
        else {
                r = bootstrap_read_first(BOOTSTRAP_DEFAULT_PATHS, &boot, reterr);
                if (r == -ENOENT)
                        ph_error_prefix(reterr, "nothing to poll (pass --bootstrap FILE or write %s)",
                                        cfg->occ_config && *cfg->occ_config ? cfg->occ_config
                                                                            : "a config file");
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *hash = occ_digest(boot);
        _cleanup_free_ char *path = xasprintf("%s/%s", cfg->state_dir, OCC_STATE_FILE);
        saved = file_load_json(path, 16u * 1024 * 1024);
        const char *saved_hash = json_string_value(json_object_get(saved, "bootstrap"));
        json_t *followed = json_object_get(saved, "occ");
        if (saved_hash && strcmp(saved_hash, hash) == 0 && json_is_object(followed))
                *ret_occ = bootstrap_normalize(followed);
        else
                *ret_occ = TAKE_PTR(boot);
        if (ret_hash)
                *ret_hash = TAKE_PTR(hash);
        return 0;
}

int agent_build_sources(const PhConfig *cfg, const json_t *occ, const PhHttpCancel *cancel, PhSource ***ret,
                        size_t *ret_n, PhError **reterr) {
        const json_t *collectors = json_object_get(occ, "collectors");
        size_t n = 0, i;
        PhSource **list = xcalloc(json_array_size(collectors) + 1, sizeof(*list));
        const json_t *c;
        PhSourceOptions o = {.timeout_ms = (long) cfg->request_timeout * 1000,
                             .ca_file = cfg->ca_file && *cfg->ca_file ? cfg->ca_file : NULL,
                             .cancel = cancel,
                             .state_dir = cfg->state_dir,
                             .peek = cfg->print};

        json_array_foreach(collectors, i, c) {
                const char *name = json_string_value(c);
                const json_t *section = json_object_get(occ, name);
                _cleanup_error_ PhError *err = NULL;

                if (!name)
                        continue;
                /* Boot-time and EC2 data carry no deployments. */
                if (strcmp(name, "ec2") == 0 || strcmp(name, "heat_local") == 0) {
                        log_info("collector %s is not used by podhook; skipped", name);
                        continue;
                }
                /* The queue directory is read when --listen takes deployments, after the others. */
                if (strcmp(name, "queue") == 0) {
                        log_info("collector queue is --listen's; skipped");
                        continue;
                }
                /* Heat lists "local" for every server; without a section it is the default directory,
                 * which is only worth polling when it exists. */
                if (strcmp(name, "local") == 0 && !section && file_exists(LOCAL_DEFAULT_DIR) <= 0)
                        continue;
                if (source_new(name, section, &o, &list[n], &err) < 0) {
                        sources_free(list, NULL, n);
                        if (reterr)
                                *reterr = TAKE_PTR(err);
                        return -EINVAL;
                }
                n++;
        }
        if (n == 0) {
                free(list);
                return ph_error_set(reterr, EINVAL, "os-collect-config names no usable collector");
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

/* Swaps in sources for occ; on error the old ones stay. */
static int agent_use_occ(PhAgent *a, const json_t *occ, PhError **reterr) {
        PhSource **s = NULL;
        size_t n = 0;
        int r = agent_build_sources(a->cfg, occ, &a->cancel, &s, &n, reterr);

        if (r < 0)
                return r;
        sources_free(a->sources, a->last, a->n_sources);
        a->sources = s;
        a->n_sources = n;
        a->last = xcalloc(n, sizeof(json_t *));
        json_decref(a->occ);
        a->occ = json_deep_copy(occ);
        return 0;
}

/* The first line of deploy_stderr that says something, for an event. */
static char *stderr_line(const json_t *data) {
        _cleanup_free_ char *line =
                deployment_first_line(json_string_value(json_object_get(data, "deploy_stderr")), 500);

        return *line ? TAKE_PTR(line) : xstrdup("(nothing on stderr)");
}

/* What a hook run did to its pod, for the status store; a rollback is an event of its own. */
static void on_ran(PhAgent *a, const char *id, const json_t *dep, const json_t *ran, const char *action) {
        const char *pod = json_string_value(json_object_get(ran, "pod"));
        const char *summary = json_string_value(json_object_get(ran, "summary"));
        bool rolled_back = json_is_true(json_object_get(ran, "rolled_back"));
        json_int_t code = json_integer_value(json_object_get(ran, "status_code"));

        status_observe(a->status, PH_STATUS_APPLY_SECONDS, json_real_value(json_object_get(ran, "seconds")));
        if (!pod)
                return;
        if (strcasecmp(action, "DELETE") == 0 && code == 0) {
                status_pod_remove(a->status, pod);
                heal_record_remove(a->state_dir_real, pod);
                return;
        }
        /* What self-healing repairs the pod from; a failed apply leaves the pod as it was before. */
        if (code == 0 && strcasecmp(action, "SUSPEND") == 0)
                heal_record_remove(a->state_dir_real, pod); /* stopped on purpose: nothing to heal */
        else if (code == 0)
                heal_record_save(a->state_dir_real, pod, dep, NULL);
        status_pod_owner(a->status, pod, "deployment", id);
        status_pod_applied(a->status, pod, (int) code, summary, rolled_back);
        if (rolled_back) {
                _cleanup_free_ char *msg =
                        xasprintf("pod %s: the update of deployment %s failed and was rolled "
                                  "back: %s",
                                  pod, id, summary ? summary : "the previous pod runs");
                status_counter_add(a->status, PH_STATUS_DEPLOYMENTS_ROLLED_BACK, 1);
                notify_emit(a->notifier, &(PhNotice){.kind = PH_NOTICE_ROLLED_BACK,
                                                     .pod = pod,
                                                     .deployment = id,
                                                     .message = msg});
        }
}

/* --publish: a result that is stored goes out too (from the loop thread, through the box). */
static void agent_publish_result(PhAgent *a, const char *id, const json_t *dep, const char *pod,
                                 const char *action, const json_t *data) {
        if (!a->pubbox)
                return;
        _cleanup_strv_free_ char **secrets = hook_secret_values(a->hooks, ELEMENTSOF(a->hooks), dep);
        pubbox_result(a->pubbox, id, pod, action, data, secrets);
}

static void on_result(PhAgent *a, const char *id, const json_t *dep, const char *name, const char *action,
                      const json_t *data) {
        json_auto_t *st = status_deployment_json(a->status, id);
        const char *pod = json_string_value(json_object_get(st, "pod"));

        status_deployment_set_result(a->status, id, data);
        status_deployment_set_signal(a->status, id, true);
        agent_publish_result(a, id, dep, pod, action, data);
        observe_result(a->status, pod, data);
        if (!deployment_result_failed(data)) {
                status_counter_add(a->status, PH_STATUS_DEPLOYMENTS_APPLIED, 1);
                log_info("deployment %s (%s) %s done", id, name, action);
                return;
        }
        status_counter_add(a->status, PH_STATUS_DEPLOYMENTS_FAILED, 1);
        _cleanup_free_ char *line = stderr_line(data);
        _cleanup_free_ char *msg = xasprintf("deployment %s (%s) %s failed; the result goes to Heat: %s", id,
                                             name, action, line);
        json_auto_t *details = json_pack("{s:s, s:s, s:O?}", "name", name, "action", action, "status_code",
                                         json_object_get(data, "deploy_status_code"));
        notify_emit(a->notifier, &(PhNotice){.kind = PH_NOTICE_DEPLOYMENT_FAILED,
                                             .pod = pod,
                                             .deployment = id,
                                             .message = msg,
                                             .details = details});
}

static void on_dispatch(PhDispatchEvent ev, const char *id, const json_t *dep, const json_t *data,
                        const PhError *err, void *userdata) {
        PhAgent *a = userdata;
        const char *name = json_string_value(json_object_get(dep, "name"));
        const char *group = json_string_value(json_object_get(dep, "group"));
        const char *action = deployment_input(dep, "deploy_action");

        if (!action)
                action = "?";
        id = id ? id : "?", name = name ? name : "", group = group ? group : "Heat::Ungrouped";
        switch (ev) {
        case PH_DISPATCH_START:
        case PH_DISPATCH_RESUME:
                log_info("deployment %s (%s, group %s): %s %s", id, name, group,
                         ev == PH_DISPATCH_RESUME ? "resuming interrupted" : "running", action);
                status_deployment_set_state(a->status, id, PH_STATUS_RUNNING);
                break;
        case PH_DISPATCH_RAN:
                on_ran(a, id, dep, data, action);
                break;
        case PH_DISPATCH_RESULT:
                on_result(a, id, dep, name, action, data);
                break;
        case PH_DISPATCH_NO_ACTION:
                log_warning("deployment %s (%s): component has no config for action %s; nothing run", id,
                            name, action);
                break;
        case PH_DISPATCH_ERROR:
                /* The id may be anything the metadata says: a 5000-byte one would push the reason out of
                 * the line. */
                log_warning("deployment %.64s%s: %s", id, strlen(id) > 64 ? "..." : "", ph_error_msg(err));
                status_deployment_set_failure(a->status, id, ph_error_msg(err));
                break;
        case PH_DISPATCH_POD_REMOVED:
                log_info("pod %s removed: its deployment %s is gone from the metadata",
                         json_string_value(data), id);
                status_pod_remove(a->status, json_string_value(data));
                heal_record_remove(a->state_dir_real, json_string_value(data));
                break;
        case PH_DISPATCH_POD_KEPT:
                log_info("pod %s kept: its deployment %s is missing from the metadata for the first time",
                         json_string_value(data), id);
                break;
        case PH_DISPATCH_STATE_ERROR:
                if (strcmp(id, "?") == 0)
                        log_error("cannot write the agent's state, retried next pass: %s", ph_error_msg(err));
                else
                        log_error("deployment %s: cannot write the agent's state, retried next pass: %s", id,
                                  ph_error_msg(err));
                break;
        case PH_DISPATCH_LOST:
                if (json_is_true(data))
                        log_error("deployment %s: its result was never stored and is lost (%s); the next "
                                  "start tells Heat it failed, without running it again",
                                  id, ph_error_msg(err));
                else
                        log_error("deployment %s: its result was never stored and is lost, and its record "
                                  "cannot be changed (%s): it runs again at the next start",
                                  id, ph_error_msg(err));
                break;
        case PH_DISPATCH_RECOVERED:
                log_info("deployment %s: interrupted after its result was stored; finished, not run again",
                         id);
                break;
        }
}

static void on_outbox(PhOutboxEvent ev, const char *id, const PhError *err, unsigned attempts,
                      unsigned retry_in, void *userdata) {
        PhAgent *a = userdata;

        /* Only the last attempt's outcome counts; those that end it clear the flag again below. */
        status_deployment_set_signal(a->status, id,
                                     ev != PH_OUTBOX_DELIVERED && ev != PH_OUTBOX_STALE &&
                                             ev != PH_OUTBOX_GONE && ev != PH_OUTBOX_PERMANENT);
        switch (ev) {
        case PH_OUTBOX_DELIVERED:
                if (a->last_kind == PH_SIGNAL_NONE)
                        log_info("deployment %s uses no signal transport: nothing sent", id);
                else {
                        log_info("signal for %s delivered (%s)", id,
                                 signal_kind_to_string((PhSignalKind) a->last_kind));
                        status_counter_add(a->status, PH_STATUS_SIGNALS_DELIVERED, 1);
                }
                break;
        case PH_OUTBOX_RETRY:
                log_warning("signal for %s not delivered (attempt %u), retrying in %u s: %s", id, attempts,
                            retry_in, ph_error_msg(err));
                break;
        case PH_OUTBOX_RETRY_MAYBE_ARRIVED:
                log_warning("signal for %s sent but not answered (attempt %u; it may have arrived), sending "
                            "it again in %u s: %s",
                            id, attempts, retry_in, ph_error_msg(err));
                break;
        case PH_OUTBOX_RETRY_SMALLER:
                log_warning(
                        "signal for %s refused as too large, sending it again at once cut to %u bytes: %s",
                        id, SIGNAL_SMALL_BODY, ph_error_msg(err));
                break;
        case PH_OUTBOX_STALE:
                log_info("signal for %s not sent: %s", id, ph_error_msg(err));
                break;
        case PH_OUTBOX_GONE:
                a->undelivered++;
                log_error("signal for deployment %s dropped: %s", id, ph_error_msg(err));
                break;
        case PH_OUTBOX_PERMANENT:
                a->undelivered++;
                log_error("signal for deployment %s can never be sent, kept in outbox/bad/: %s", id,
                          ph_error_msg(err));
                break;
        case PH_OUTBOX_BAD_FILE:
                a->undelivered++;
                log_error("outbox: %s", ph_error_msg(err));
                break;
        case PH_OUTBOX_STATE_ERROR:
                log_error("signal for %s: cannot record it in the outbox (kept in memory, retried): %s", id,
                          ph_error_msg(err));
                break;
        }
}

static const char *map_str(const json_t *map, const char *k) {
        return json_string_value(json_object_get(map, k));
}

/* An undelivered result whose config id has left the metadata while a newer config of the same Heat
 * deployment (stack + resource) is listed must not be sent: Heat would take it as the newer one's. */
static bool outbox_entry_stale(const char *id, const json_t *inputs, void *userdata) {
        const PhAgent *a = userdata;
        const char *stack = map_str(inputs, "deploy_stack_id"),
                   *res = map_str(inputs, "deploy_resource_name");
        const json_t *d;
        size_t i;
        bool newer = false;

        if (!stack || !res || !a->applied)
                return false;
        json_array_foreach(json_object_get(a->applied, "deployments"), i, d) {
                json_auto_t *m = dispatch_inputs_map(d);
                const char *did = json_string_value(json_object_get(d, "id"));
                if (did && strcmp(did, id) == 0)
                        return false;
                const char *s2 = map_str(m, "deploy_stack_id"), *r2 = map_str(m, "deploy_resource_name");
                if (s2 && r2 && strcmp(s2, stack) == 0 && strcmp(r2, res) == 0)
                        newer = true;
        }
        return newer;
}

static PhSignalOutcome send_signal(const json_t *inputs, const json_t *data, const PhOutboxSend *s,
                                   void *userdata, PhError **reterr) {
        PhAgent *a = userdata;
        _cleanup_free_ char *marker = xasprintf("%s/%s", s->id, s->token);
        PhSignalOptions o = {.timeout_ms = (long) a->cfg->request_timeout * 1000,
                             .ca_file = a->cfg->ca_file && *a->cfg->ca_file ? a->cfg->ca_file : NULL,
                             .max_body = s->max_body,
                             .cancel = &a->cancel,
                             .state_dir = a->cfg->state_dir,
                             .marker = marker,
                             .maybe_arrived = s->maybe_arrived};
        a->last_kind = (int) signal_kind(inputs);
        return signal_send(inputs, data, &o, reterr);
}

/* The kubelet entry's options from the config ("" = none). */
static void agent_apply_kubelet_cfg(PhAgent *a) {
        const PhConfig *c = a->cfg;

        a->kubelet.options = (PhKubeletHookOptions){
                .manifest_dir =
                        c->kubelet_manifest_dir && *c->kubelet_manifest_dir ? c->kubelet_manifest_dir : NULL,
                .url = c->kubelet_url && *c->kubelet_url ? c->kubelet_url : NULL,
                .ca_file = c->kubelet_ca_file && *c->kubelet_ca_file ? c->kubelet_ca_file : NULL,
                .cert_file = c->kubelet_cert_file && *c->kubelet_cert_file ? c->kubelet_cert_file : NULL,
                .key_file = c->kubelet_key_file && *c->kubelet_key_file ? c->kubelet_key_file : NULL,
                .state_dir = a->state_dir_real,
                .is_listed = dispatch_is_listed,
                .listed_userdata = &a->dispatch,
        };
        a->kubelet.status = a->status;
}

static bool agent_backend_is_kubelet(const PhConfig *cfg) {
        return cfg->backend && strcmp(cfg->backend, "kubelet") == 0;
}

/* The one place that decides which entry runs a group: kubelet always goes to the kubelet entry; with
 * backend = kubelet, docker deployments and drop-ins too, and there is no docker entry (a kubelet node
 * need not have an Engine, whose absence would otherwise stop every reconciliation); external hooks
 * run the rest. */
static void agent_setup_hooks(PhAgent *a) {
        bool kubelet = agent_backend_is_kubelet(a->cfg);
        size_t n = 0;

        memset(a->hooks, 0, sizeof(a->hooks));
        if (!kubelet)
                a->hooks[n++] = (PhHook){&hook_docker_ops, &a->docker, NULL};
        a->hooks[n++] = (PhHook){&hook_kubelet_ops, &a->kubelet, kubelet ? "docker" : NULL};
        a->hooks[n++] = (PhHook){&hook_external_ops, &a->external, NULL};
        a->n_hooks = n;
        a->dispatch.hooks = a->hooks;
        a->dispatch.n_hooks = n;
}

int agent_kubelet_pod_list(PhAgent *a, json_t **ret) {
        json_auto_t *pods = status_kubelet_pods_json(a->status);

        *ret = kubelet_pod_list(pods);
        return 0;
}

static void agent_apply_cfg(PhAgent *a) {
        const PhConfig *c = a->cfg;
        const char *env = getenv("HEAT_CONFIG_HOOKS");
        PhLogLevel level;

        free(a->hook_dirs);
        a->hook_dirs = env && *env ? xasprintf("%s:%s", env, c->hook_dirs) : xstrdup(c->hook_dirs);
        a->external.dirs = a->hook_dirs;
        a->external.timeout = c->hook_timeout;
        a->docker.docker_host = c->docker_host && *c->docker_host ? c->docker_host : NULL;
        a->docker.grace_seconds = c->grace_seconds;
        a->docker.start_window = c->start_window;
        a->docker.start_window_set = true;
        a->docker.ready_timeout = c->ready_timeout;
        a->docker.ready_timeout_set = true;
        a->docker.prune_after_deploy = c->prune_after_deploy;
        a->docker.state_dir = a->state_dir_real;
        a->docker.secrets_file = c->secrets_file && *c->secrets_file ? c->secrets_file : NULL;
        a->docker.registry_config = c->registry_config && *c->registry_config ? c->registry_config : NULL;
        a->outbox->retry_max = c->retry_max;
        a->outbox->request_timeout = c->request_timeout;
        notifier_set_command(a->notifier, c->notify_exec);
        if (ph_log_level_from_string(c->log_level, &level) == 0)
                ph_log_set_max_level(level);
        agent_apply_kubelet_cfg(a);
        agent_setup_hooks(a);
}

/* Each run of the docker hook reads the secrets file and the registry config itself, so that a changed
 * value counts from the next run on, with no SIGHUP; they are read here too, at the start and on SIGHUP,
 * so that a file the runs would refuse (a secrets file of mode 0644) is said at once, not only in the
 * results of the deployments that need it. What is read is thrown away. */
static void agent_check_docker_files(const PhAgent *a) {
        if (a->docker.secrets_file) {
                _cleanup_error_ PhError *err = NULL;
                json_auto_t *v = NULL;
                if (secrets_file_load(a->docker.secrets_file, &v, &err) < 0)
                        log_warning("%s; each deployment that takes a secret from it fails until it is fixed",
                                    ph_error_msg(err));
        }
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *v = NULL;
        if (registry_config_load(a->docker.registry_config, &v, &err) < 0)
                log_warning("%s; the docker hook's deployments fail until it is fixed", ph_error_msg(err));
}

/* The drop-in directory of the config: a new one replaces what was known of the old. */
static void agent_use_dropin(PhAgent *a, const char *dir) {
        if (a->dropins && dir && *dir && strcmp(dropins_dir(a->dropins), dir) == 0)
                return;
        dropins_free(a->dropins);
        a->dropins = dir && *dir ? dropins_new(dir) : NULL;
}

/* The pods posted on the status API: synced while the API is configured or some were posted before (they
 * stay the API's until deleted on it). */
static void agent_use_api_pods(PhAgent *a) {
        bool want = (a->cfg->api && *a->cfg->api) || file_exists(a->api_pods_dir) > 0;

        if (want && mkdir(a->api_pods_dir, 0700) < 0 && errno != EEXIST)
                log_warning("%s: %s; pods posted on the API cannot be kept", a->api_pods_dir,
                            strerror(errno));
        if (want && !a->api_pods)
                a->api_pods = dropins_new(a->api_pods_dir);
}

static void agent_status_sources(PhAgent *a) {
        status_set_sources(a->status, a->n_sources, a->dropins ? dropins_dir(a->dropins) : NULL);
}

/* What runs without Heat: the drop-in directory, the queue (--listen), the status API's pods (--api);
 * NULL when none is set. */
static char *agent_without_heat(const PhConfig *cfg) {
        bool dropin = cfg->dropin && *cfg->dropin, queue = cfg->listen && *cfg->listen,
             api = cfg->api && *cfg->api;

        if (dropin && queue)
                return xasprintf("watching the drop-in directory %s and taking deployments on %s",
                                 cfg->dropin, cfg->listen);
        if (dropin)
                return xasprintf("watching the drop-in directory %s alone", cfg->dropin);
        if (queue)
                return xasprintf("taking deployments on %s alone", cfg->listen);
        return api ? xstrdup("serving the status API's pods alone") : NULL;
}

/* The sources of the config. Without any Heat configuration (no bootstrap named, no ini sections, no
 * cfn-init-data) the drop-in directory or the queue alone is enough; a bootstrap file that is named must
 * be there. */
static int agent_use_config(PhAgent *a, const PhConfig *cfg, char **ret_hash, PhError **reterr) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *occ = NULL;
        bool none_named = !(cfg->bootstrap && *cfg->bootstrap) && !cfg->occ;
        int r = agent_resolve_occ(cfg, &occ, ret_hash, &err);
        _cleanup_free_ char *alone = agent_without_heat(cfg);

        if (r == -ENOENT && none_named && alone) {
                if (a->n_sources > 0 || !a->boot_hash)
                        log_info("no Heat configuration (no bootstrap, no cfn-init-data): %s", alone);
                sources_free(a->sources, a->last, a->n_sources);
                a->sources = NULL, a->last = NULL, a->n_sources = 0;
                json_decref(a->occ);
                a->occ = NULL;
                return 0;
        }
        if (r < 0) {
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return r;
        }
        if (a->occ && json_equal(occ, a->occ))
                return 0;
        return agent_use_occ(a, occ, reterr);
}

/* Pod updates a killed podhook left unfinished are undone (or finished) before anything else runs, by
 * every hook entry that can. No engine at all is no reason to say anything: there is nothing to repair
 * then. */
static void agent_repair_pods(PhAgent *a) {
        for (size_t i = 0; i < a->n_hooks; i++) {
                _cleanup_error_ PhError *err = NULL;
                _cleanup_free_ char *summary = NULL;
                const PhHook *h = &a->hooks[i];

                if (!h->ops || !h->ops->recover)
                        continue;
                if (h->ops->recover(h, &summary, &err) < 0) {
                        if (err && (err->code == ENOENT || err->code == ECONNREFUSED))
                                log_debug("%s: no pod repairs: %s", h->ops->name, ph_error_msg(err));
                        else
                                log_warning("%s: repairing interrupted pod updates: %s", h->ops->name,
                                            ph_error_msg(err));
                }
                char *save = NULL;
                for (char *line = summary ? strtok_r(summary, "\n", &save) : NULL; line;
                     line = strtok_r(NULL, "\n", &save))
                        log_info("%s", line);
        }
}

/* --listen: the queue directory is a source of its own (the sockets are the loop's: queue-agent.h). */
static int agent_open_queue(PhAgent *a, PhError **reterr) {
        const PhConfig *c = a->cfg;

        if (!c->listen || !*c->listen)
                return 0;
        return source_new("queue", NULL, &(PhSourceOptions){.state_dir = c->state_dir}, &a->queue, reterr);
}

int agent_new(int argc, char **argv, PhConfig *cfg, PhAgent **ret, PhError **reterr) {
        _cleanup_(agent_freep) PhAgent *a = xcalloc(1, sizeof(*a));
        int r;

        a->cfg = cfg;
        a->argc = argc;
        a->argv = argv;
        a->cancel = (PhHttpCancel){.fd = -1};
        a->started = json_object();
        a->probe_failures = json_object();
        a->status = status_new(0);
        r = notifier_new(a->status, NULL, &a->notifier);
        if (r < 0)
                return ph_error_set(reterr, -r, "eventfd: %s", strerror(-r));
        a->delay = cfg->min_interval;
        a->rng = jitter_seed();
        r = state_open(cfg->state_dir, &a->state, reterr);
        if (r < 0)
                return r;
        a->state_dir_real = realpath(cfg->state_dir, NULL);
        if (!a->state_dir_real)
                return ph_error_set(reterr, errno, "%s: %s", cfg->state_dir, strerror(errno));
        r = outbox_open(cfg->state_dir, cfg->retry_max, send_signal, a, &a->outbox, reterr);
        if (r < 0)
                return r;
        a->outbox->report = on_outbox;
        a->outbox->is_stale = outbox_entry_stale;
        a->docker.is_listed = dispatch_is_listed;
        a->docker.listed_userdata = &a->dispatch;
        a->dispatch.state = a->state;
        a->dispatch.outbox = a->outbox;
        a->dispatch.report = on_dispatch;
        a->dispatch.cancel = &a->cancel;
        a->dispatch.userdata = a;
        agent_apply_cfg(a);
        agent_check_docker_files(a);
        agent_use_dropin(a, cfg->dropin);
        r = agent_open_queue(a, reterr);
        if (r < 0)
                return r;
        a->api_pods_dir = xasprintf("%s/" AGENT_API_PODS_DIR, a->state_dir_real);
        agent_use_api_pods(a);
        r = agent_use_config(a, cfg, &a->boot_hash, reterr);
        if (r < 0)
                return r;
        agent_status_sources(a);
        a->applied = state_load_json(a->state, METADATA_STATE_FILE);
        agent_repair_pods(a);
        *ret = TAKE_PTR(a);
        return 0;
}

bool agent_has_dropins(const PhAgent *a) {
        return a->dropins || a->api_pods;
}

bool agent_has_sources(const PhAgent *a) {
        return a->n_sources > 0 || a->queue;
}

/* Heat rewrote os-collect-config (e.g. a new transport): poll what it says from now on. */
static void agent_follow(PhAgent *a, const json_t *merged) {
        const json_t *occ = json_object_get(merged, "os-collect-config");
        _cleanup_error_ PhError *err = NULL;

        if (!json_is_object(occ))
                return;
        json_auto_t *n = bootstrap_normalize(occ);
        if (json_array_size(json_object_get(n, "collectors")) == 0 || json_equal(n, a->occ))
                return;
        if (agent_use_occ(a, n, &err) < 0) {
                log_warning("metadata names new sources that cannot be used, keeping the old ones: %s",
                            ph_error_msg(err));
                return;
        }
        json_auto_t *saved = json_pack("{s:s, s:O}", "bootstrap", a->boot_hash, "occ", n);
        if (state_save_json(a->state, OCC_STATE_FILE, saved, &err) < 0)
                log_warning("cannot save the new os-collect-config: %s", ph_error_msg(err));
        log_info("following the os-collect-config of the metadata: now polling %zu source(s)", a->n_sources);
}

static bool has_docker(const json_t *deployments) {
        size_t i;
        const json_t *d;

        json_array_foreach(deployments, i, d) {
                const char *g = json_string_value(json_object_get(d, "group"));
                /* A component may resolve to docker for some action: count it too; kubelet pods as well. */
                if (g &&
                    (strcmp(g, "docker") == 0 || strcmp(g, "component") == 0 || strcmp(g, "kubelet") == 0))
                        return true;
        }
        return false;
}

/* Whether id is one of the queue's deployments (its last listing). */
static bool agent_queue_lists(const PhAgent *a, const char *id) {
        const json_t *d;
        size_t i;

        json_array_foreach(json_object_get(a->queue_last, "deployments"), i, d) {
                const char *qid = json_string_value(json_object_get(d, "id"));
                if (qid && strcmp(qid, id) == 0)
                        return true;
        }
        return false;
}

/* The deployments of the metadata in the status store: new ones with what the state dir knows of them,
 * those no longer listed dropped. */
static void status_listed(PhAgent *a, const json_t *deployments) {
        json_auto_t *ids = json_object(), *queued = json_object();
        size_t i;
        const json_t *d;

        json_array_foreach(deployments, i, d) {
                const char *id = json_string_value(json_object_get(d, "id"));
                if (!id || !state_id_valid(id))
                        continue;
                bool from_queue = agent_queue_lists(a, id);
                json_object_set_new(from_queue ? queued : ids, id, json_true());
                json_auto_t *known = status_deployment_json(a->status, id);
                PhStatusDeployment sd = {.id = id,
                                         .name = json_string_value(json_object_get(d, "name")),
                                         .group = json_string_value(json_object_get(d, "group")),
                                         .action = deployment_input(d, "deploy_action"),
                                         .source = from_queue ? "queue" : "heat"};
                status_deployment_listed(a->status, &sd, PH_STATUS_NEW);
                if (!known) {
                        /* For the status API, which keeps them out of every answer. */
                        json_auto_t *prepared = NULL;
                        if (dispatch_prepare(d, &prepared, NULL) != 0)
                                prepared = json_incref((json_t *) d);
                        _cleanup_strv_free_ char **values =
                                hook_secret_values(a->hooks, ELEMENTSOF(a->hooks), prepared);
                        status_deployment_set_secrets(a->status, id, values);
                }
                if (known || state_deploy_state(a->state, id) != PH_DEPLOY_DONE)
                        continue;
                /* Done before this agent started: its stored result says how. */
                _cleanup_free_ char *name = xasprintf("results/%s.json", id);
                json_auto_t *result = state_load_json(a->state, name);
                json_auto_t *waiting = outbox_entry(a->outbox, id);
                if (json_is_object(result))
                        status_deployment_set_result(a->status, id, result);
                else
                        status_deployment_set_state(a->status, id, PH_STATUS_DONE);
                status_deployment_set_signal(a->status, id, waiting != NULL);
        }
        status_deployments_keep(a->status, "heat", ids);
        status_deployments_keep(a->status, "queue", queued);
}

/* The queue's deployments after the other sources' (appended: merging would replace the list); false
 * when it has never been read. A failed read keeps the last listing and makes the pass incomplete. */
static bool agent_collect_queue(PhAgent *a, json_t *merged, bool *complete) {
        _cleanup_error_ PhError *err = NULL;
        json_t *m = NULL;

        if (source_collect(a->queue, &m, &err) == 0) {
                json_decref(a->queue_last);
                a->queue_last = m;
        } else {
                *complete = false;
                status_counter_add(a->status, PH_STATUS_POLL_ERRORS, 1);
                log_warning("%s; treating it as no change", ph_error_msg(err));
        }
        if (!a->queue_last)
                return false;
        json_t *list = json_object_get(merged, "deployments");
        if (!list) {
                list = json_array();
                json_object_set_new(merged, "deployments", list);
        }
        /* Another source's deployments that are no list are warned about with the merged metadata. */
        if (json_is_array(list)) {
                json_auto_t *copy = json_deep_copy(json_object_get(a->queue_last, "deployments"));
                (void) json_array_extend(list, copy);
        }
        return true;
}

/* How far a queue deployment got: done when its marker says so, its result is stored and no signal of
 * it waits. */
static PhQueueDone queue_done_of(PhAgent *a, const char *id) {
        if (!id || !state_id_valid(id) || state_deploy_state(a->state, id) != PH_DEPLOY_DONE ||
            json_object_get(a->dispatch.pending, id))
                return PH_QUEUE_PENDING;
        json_auto_t *waiting = outbox_entry(a->outbox, id);
        if (waiting)
                return PH_QUEUE_PENDING;
        _cleanup_free_ char *name = xasprintf("results/%s.json", id);
        json_auto_t *result = state_load_json(a->state, name);
        const json_t *code = json_object_get(result, "deploy_status_code");
        return json_is_integer(code) && json_integer_value(code) == 0 ? PH_QUEUE_DONE_OK : PH_QUEUE_DONE_FAIL;
}

/* After a pass: the queue files that are no longer wanted go to <state>/queue/done/ (queue-store.h). */
static void agent_retire_queue(PhAgent *a) {
        const json_t *deps = json_object_get(a->queue_last, "deployments");
        size_t n = json_array_size(deps), i;
        const json_t *d;

        if (n == 0)
                return;
        _cleanup_free_ PhQueueDone *done = xcalloc(n, sizeof(*done));
        json_array_foreach(deps, i, d) {
                done[i] = queue_done_of(a, json_string_value(json_object_get(d, "id")));
        }
        _cleanup_strv_free_ char **ids = queue_retire_choose(deps, done);
        if (!ids[0])
                return;
        _cleanup_error_ PhError *err = NULL;
        if (queue_store_retire(a->cfg->state_dir, ids, QUEUE_DONE_KEEP, &err) < 0) {
                log_warning("%s", ph_error_msg(err));
                return;
        }
        for (char **id = ids; *id; id++)
                log_info("queue: deployment %s is done and no longer wanted: moved to queue/done/", *id);
}

/* One poll: 0 when every source answered, 1 when some did not (their last data was used) or the job
 * was cancelled. */
static int agent_poll(PhAgent *a) {
        json_auto_t *merged = json_object();
        bool complete = true, any = false;
        int r;

        /* The agent's own state first: results that could not be written, records a crash left. */
        (void) dispatch_retry_pending(&a->dispatch);
        dispatch_recover(&a->dispatch);

        for (size_t i = 0; i < a->n_sources; i++) {
                _cleanup_error_ PhError *err = NULL;
                json_t *m = NULL;

                r = source_collect(a->sources[i], &m, &err);
                if (r < 0 && http_cancel_requested(&a->cancel))
                        return 1; /* SIGTERM cut a request short: nothing of this pass is acted on */
                if (r == 0) {
                        json_decref(a->last[i]);
                        a->last[i] = m;
                } else if (r < 0) {
                        complete = false;
                        status_counter_add(a->status, PH_STATUS_POLL_ERRORS, 1);
                        log_warning("%s; treating it as no change", ph_error_msg(err));
                }
                if (a->last[i]) {
                        source_merge_deep(merged, a->last[i]);
                        any = true;
                } else
                        complete = false;
        }
        if (a->queue && agent_collect_queue(a, merged, &complete))
                any = true;
        if (!any)
                return 1;
        agent_follow(a, merged);
        bool had_docker = has_docker(json_object_get(a->applied, "deployments"));
        bool stored = true;
        /* The metadata being acted on: the outbox checks undelivered results against it. */
        if (!a->applied || !json_equal(a->applied, merged)) {
                _cleanup_error_ PhError *err = NULL;
                if (state_save_json(a->state, METADATA_STATE_FILE, merged, &err) < 0) {
                        log_warning("%s", ph_error_msg(err));
                        stored = false;
                }
                json_decref(a->applied);
                a->applied = json_incref(merged);
        }
        /* A source that consumes what it read (zaqar) does so only once it is stored. */
        for (size_t i = 0; stored && i < a->n_sources; i++) {
                _cleanup_error_ PhError *err = NULL;
                if (source_commit(a->sources[i], &err) < 0)
                        log_warning("%s", ph_error_msg(err));
        }

        const json_t *deployments = json_object_get(merged, "deployments");
        if (!json_is_array(deployments)) {
                if (deployments && !json_is_null(deployments))
                        log_warning("the metadata's deployments is %s, not a list: ignored",
                                    deployment_kind_of(deployments));
                complete = false;
                deployments = NULL;
        }
        if (deployments) {
                status_listed(a, deployments);
                if (complete)
                        dispatch_forget_vanished(&a->dispatch, deployments);
                r = dispatch_all(&a->dispatch, deployments);
                if (r == -EINTR)
                        return 1;
                /* Only nodes that run pods talk to Docker: a script-only node may have none. */
                if (complete && (has_docker(deployments) || had_docker || a->reconcile_pending ||
                                 dispatch_pods_missing(&a->dispatch))) {
                        _cleanup_error_ PhError *err = NULL;
                        a->reconcile_pending = dispatch_reconcile(&a->dispatch, deployments, &err) < 0;
                        if (a->reconcile_pending)
                                log_warning("cannot reconcile pods, trying again next pass: %s",
                                            ph_error_msg(err));
                }
                if (a->queue)
                        agent_retire_queue(a);
        }
        log_debug("pass done: %zu deployment(s) listed, metadata %s, %zu result(s) waiting to be stored",
                  json_array_size(deployments), complete ? "complete" : "incomplete",
                  json_object_size(a->dispatch.pending));
        return complete ? 0 : 1;
}

/* The drop-in directory: what changed is applied, what is gone removed. */
static uint64_t agent_sync_dropins(PhAgent *a, bool retry) {
        uint64_t recheck = 0;
        const PhDropinsEnv env = {
                .hooks = a->hooks,
                .n_hooks = a->n_hooks,
                .group = "docker",
                .state_dir = a->state_dir_real,
                .status = a->status,
                .notifier = a->notifier,
                .cancel = &a->cancel,
                .debounce_usec = (uint64_t) a->cfg->dropin_debounce_ms * 1000,
        };

        if (a->dropins)
                dropins_sync(a->dropins, &env, retry, &recheck);
        if (a->api_pods && !http_cancel_requested(&a->cancel)) {
                /* The API's pods: files it wrote itself, complete when they are renamed in. */
                PhDropinsEnv api = env;
                uint64_t ignored = 0;
                api.source = "api";
                api.debounce_usec = 0;
                dropins_sync(a->api_pods, &api, retry, &ignored);
        }
        return recheck;
}

static PhHealEnv heal_env(PhAgent *a) {
        return (PhHealEnv){.hook = &a->hooks[0],
                           .state_dir = a->state_dir_real,
                           .status = a->status,
                           .notifier = a->notifier,
                           .cancel = &a->cancel};
}

/* Self-healing over the docker entry's pods. An Engine that does not answer is said once, and once more
 * when it answers again: the next pass (its events, the reconcile timer) converges then. */
static void agent_heal(PhAgent *a) {
        _cleanup_error_ PhError *err = NULL;
        const PhHealEnv env = heal_env(a);

        if (heal_pass(&env, &err) < 0) {
                bool no_engine = err && (err->code == ENOENT || err->code == ECONNREFUSED);
                /* A node without any engine has nothing to heal: only one that answered before is news. */
                if (no_engine && !a->heal_answered)
                        log_debug("self-healing: %s", ph_error_msg(err));
                else if (!a->heal_failing)
                        log_warning("self-healing: cannot look at the pods, trying again: %s",
                                    ph_error_msg(err));
                a->heal_failing = true;
                return;
        }
        if (a->heal_failing)
                log_info("self-healing: the Engine answers again; every pod looked at");
        a->heal_failing = false;
        a->heal_answered = true;
}

static void agent_probe(PhAgent *a) {
        _cleanup_error_ PhError *err = NULL;
        const PhHealEnv env = heal_env(a);

        /* An Engine that does not answer is the heal pass's to say. */
        if (heal_probe_pass(&env, a->probe_failures, a->cfg->liveness_failures, a->cfg->grace_seconds, &err) <
            0)
                log_debug("livenessProbes: %s", ph_error_msg(err));
}

void agent_work(PhAgent *a, PhAgentJob *job, const PhHttpCancel *cancel) {
        _cleanup_error_ PhError *err = NULL;

        a->cancel = cancel ? *cancel : (PhHttpCancel){.fd = -1};
        job->poll = 0, job->left = 0, job->next_due = 0, job->dropin_recheck = 0, job->cancelled = false;
        if ((job->work & PH_WORK_POLL) && agent_has_sources(a))
                job->poll = agent_poll(a);
        if ((job->work & PH_WORK_DROPINS) && !http_cancel_requested(&a->cancel))
                job->dropin_recheck = agent_sync_dropins(a, job->work & PH_WORK_RESCAN);
        /* A stopping agent sends nothing more: what waits is sent at the next start. */
        if (!http_cancel_requested(&a->cancel)) {
                job->left = outbox_flush(a->outbox, time(NULL), job->deliver_all, &job->next_due, &err);
                if (job->left < 0)
                        log_warning("outbox: %s", ph_error_msg(err));
                else
                        status_gauge_set(a->status, PH_STATUS_SIGNALS_PENDING, job->left);
        }
        if ((job->work & PH_WORK_HEAL) && !http_cancel_requested(&a->cancel))
                agent_heal(a);
        if ((job->work & PH_WORK_PROBE) && !http_cancel_requested(&a->cancel))
                agent_probe(a);
        job->cancelled = http_cancel_requested(&a->cancel);
        a->cancel = (PhHttpCancel){.fd = -1};
}

size_t agent_stop(PhAgent *a) {
        return dispatch_stop(&a->dispatch);
}

/* {"<source>": metadata}: the secrets of every deployment (those only its hook knows to find, in a YAML
 * manifest, too) and of the rest go, wherever they appear. */
static void redact_for_print(json_t *out) {
        _cleanup_strv_free_ char **extra = xcalloc(1, sizeof(char *));
        const char *name;
        const json_t *md, *d;
        size_t i;

        json_object_foreach(out, name, md) {
                json_array_foreach(json_object_get(md, "deployments"), i, d) {
                        json_auto_t *prepared = NULL;
                        /* As the hook would get it: a component resolves to its docker config. */
                        if (dispatch_prepare(d, &prepared, NULL) != 0)
                                prepared = json_incref((json_t *) d);
                        _cleanup_strv_free_ char **values = hook_default_secret_values(prepared);
                        for (char **v = values; *v; v++) {
                                size_t k = strv_length(extra);
                                extra = xrealloc(extra, (k + 2) * sizeof(char *));
                                extra[k] = TAKE_PTR(*v);
                                extra[k + 1] = NULL;
                        }
                }
        }
        secret_redact_deep(out, extra);
}

int agent_print(const PhConfig *cfg, FILE *f, PhError **reterr) {
        json_auto_t *occ = NULL, *out = json_object();
        PhSource **s = NULL;
        size_t n = 0;
        int r = agent_resolve_occ(cfg, &occ, NULL, reterr), ok = 0;

        if (r < 0)
                return r;
        r = agent_build_sources(cfg, occ, NULL, &s, &n, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_error_ PhError *err = NULL;
                json_t *m = NULL;
                if (source_collect(s[i], &m, &err) == 0) {
                        json_object_set_new(out, source_name(s[i]), m);
                        ok++;
                } else
                        log_warning("%s", ph_error_msg(err));
        }
        sources_free(s, NULL, n);
        if (!cfg->show_secrets)
                redact_for_print(out);
        _cleanup_free_ char *text = json_dumps(out, JSON_INDENT(1));
        fprintf(f, "%s\n", text ? text : "{}");
        if (ok == 0)
                return ph_error_set(reterr, EIO, "no source answered");
        return 0;
}

/* The queue's sockets and key files are the loop's from the start: a reload keeps them (SIGHUP reads
 * the allow file again, agent_queue_reload). */
static void agent_queue_keep_cfg(const PhConfig *old, PhConfig *c) {
        struct {
                char **now;
                const char *was;
        } keep[] = {{&c->listen, old->listen},
                    {&c->publish, old->publish},
                    {&c->curve_secret_file, old->curve_secret_file},
                    {&c->curve_allow_file, old->curve_allow_file}};
        bool changed = false;

        for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
                const char *was = keep[i].was ? keep[i].was : "", *now = *keep[i].now ? *keep[i].now : "";
                changed = changed || strcmp(was, now) != 0;
                free(*keep[i].now);
                *keep[i].now = xstrdup(was);
        }
        if (changed)
                log_warning("reload: listen, publish and the CURVE key files need a restart; still using "
                            "the old ones");
}

void agent_reload(PhAgent *a) {
        _cleanup_(config_freep) PhConfig *c = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *hash = NULL;

        if (config_load(a->argc, a->argv, NULL, &c, &err) < 0) {
                log_warning("reload: new config rejected, keeping the old one:\n%s", ph_error_msg(err));
                return;
        }
        for (char **w = c->warnings; w && *w; w++)
                log_warning("%s", *w);
        if (strcmp(c->state_dir, a->cfg->state_dir) != 0)
                log_warning("reload: state-dir changes need a restart; still using %s", a->cfg->state_dir);
        free(c->state_dir);
        c->state_dir = xstrdup(a->cfg->state_dir);
        agent_queue_keep_cfg(a->cfg, c);
        if (agent_use_config(a, c, &hash, &err) < 0) {
                log_warning("reload: sources rejected, keeping the old config: %s", ph_error_msg(err));
                return;
        }
        agent_use_dropin(a, c->dropin);
        free(a->boot_hash);
        a->boot_hash = TAKE_PTR(hash);
        config_free(a->cfg);
        a->cfg = TAKE_PTR(c);
        agent_apply_cfg(a);
        agent_check_docker_files(a);
        agent_use_api_pods(a);
        agent_status_sources(a);
        log_info("configuration reloaded");
}

uint64_t agent_next_poll_usec(PhAgent *a) {
        uint64_t ms = (uint64_t) a->delay * 1000;
        uint64_t j = ms / 10;

        if (j > 0)
                ms = ms - j + jitter_next(&a->rng) % (2 * j + 1);
        if (a->delay < a->cfg->interval)
                a->delay = a->delay * 2 > a->cfg->interval ? a->cfg->interval : a->delay * 2;
        return (ms > 100 ? ms : 100) * 1000;
}
