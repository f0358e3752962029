/* podhook agent: the command line of the daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define PH_LOG_MODULE "agent"
#include "cli.h"
#include "common/log.h"
#include "config.h"
#include "loop.h"

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
                time_t next;
                r = agent_pass(a, &err);
                if (r < 0)
                        log_error("%s", ph_error_msg(err));
                int left = agent_deliver(a, true, &next, &err);
                if (left < 0)
                        log_error("outbox: %s", ph_error_msg(err));
                else if (left > 0)
                        log_warning("%d signal(s) not delivered yet; they stay in the outbox", left);
                size_t lost = agent_stop(a);
                /* 0 only when every result is stored and delivered. */
                return r == 0 && left == 0 && lost == 0 && a->undelivered == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
        r = loop_run(a, &err);
        size_t lost = agent_stop(a);
        if (r < 0) {
                log_error("%s", ph_error_msg(err));
                return EXIT_FAILURE;
        }
        return lost == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
