/* podhook agent: the command line of the daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define PH_LOG_MODULE "agent"
#include "cli.h"
#include "common/log.h"
#include "config.h"
#include "event.h"
#include "run.h"

int cli_agent(int argc, char **argv) {
        _cleanup_(config_freep) PhConfig *cfg = NULL;
        _cleanup_(agent_freep) PhAgent *a = NULL;
        _cleanup_error_ PhError *err = NULL;
        PhLogLevel level;
        int r;

        if (config_load(argc, argv, NULL, &cfg, &err) < 0) {
                fprintf(stderr, "podhook agent: bad settings:\n%s\n", ph_error_msg(err));
                return 2;
        }
        if (cfg->help) {
                config_help(stdout);
                return EXIT_SUCCESS;
        }
        if (ph_log_level_from_string(cfg->log_level, &level) == 0)
                ph_log_set_max_level(level);
        for (char **w = cfg->warnings; w && *w; w++)
                log_warning("%s", *w);
        if (cfg->print) {
                r = agent_print(cfg, stdout, &err);
                if (r < 0)
                        log_error("%s", ph_error_msg(err));
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        bool one_time = cfg->one_time;
        if (agent_new(argc, argv, TAKE_PTR(cfg), &a, &err) < 0) {
                log_error("%s", ph_error_msg(err));
                return EXIT_FAILURE;
        }
        if (one_time) {
                /* One job, here: no thread, no loop; SIGTERM ends the process as it would any command. */
                PhAgentJob job = {.work = PH_WORK_POLL | PH_WORK_DROPINS | PH_WORK_RESCAN | PH_WORK_DELIVER,
                                  .deliver_all = true};
                agent_work(a, &job, NULL);
                if (job.left > 0)
                        log_warning("%d signal(s) not delivered yet; they stay in the outbox", job.left);
                size_t lost = agent_stop(a);
                /* The events of the pass reach --notify-exec before the agent exits. */
                _cleanup_(event_freep) PhEvent *e = NULL;
                if (event_new(&e) == 0 &&
                    notifier_drain(a->notifier, e, NOTIFY_EXEC_TIMEOUT_USEC + 5ull * 1000 * 1000) ==
                            -ETIMEDOUT)
                        log_warning("notify-exec: not every event was handed to the command before the agent "
                                    "exits");
                notifier_detach(a->notifier);
                /* 0 only when every result is stored and delivered. */
                return job.poll == 0 && job.left == 0 && lost == 0 && a->undelivered == 0 ? EXIT_SUCCESS
                                                                                          : EXIT_FAILURE;
        }
        r = agent_run(a, &err);
        size_t lost = agent_stop(a);
        if (r < 0) {
                log_error("%s", ph_error_msg(err));
                return EXIT_FAILURE;
        }
        return lost == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
