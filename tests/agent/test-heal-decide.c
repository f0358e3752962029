/* Self-healing's decisions, without an engine: how a pod's inspect array is judged (observe.h: the
 * infra restarted or recreated under its apps, down, missing) and what heal_decide makes of it with the
 * container names of the last applied manifest; the Engine's times as observe_time reads them. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heal.h"
#include "observe.h"
#include "tap.h"

#define INFRA_ID "1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER_ID "9999999999999999999999999999999999999999999999999999999999999999"

/* One container of an inspect array. name: the manifest's (NULL: the infra). */
static json_t *ctr(const char *name, const char *status, const char *started, const char *netns,
                   const char *policy) {
        bool infra = !name;
        _cleanup_free_ char *cname = xasprintf("/web.%s", infra ? "_infra" : name);
        _cleanup_free_ char *id = infra ? xstrdup(INFRA_ID) : xasprintf("%064d", (int) strlen(name));
        json_t *labels =
                json_pack("{s:s, s:s}", "io.podhook.pod", "web", "io.podhook.role", infra ? "infra" : "app");
        if (!infra)
                json_object_set_new(labels, "io.podhook.container", json_string(name));
        return json_pack("{s:s, s:s, s:{s:s, s:b, s:s}, s:{s:o}, s:{s:s?, s:{s:s}}, s:i}", "Id", id, "Name",
                         cname, "State", "Status", status, "Running", strcmp(status, "running") == 0,
                         "StartedAt", started, "Config", "Labels", labels, "HostConfig", "NetworkMode", netns,
                         "RestartPolicy", "Name", policy, "RestartCount", 0);
}

#define T0 "2026-01-02T03:04:05.5Z"
#define T1 "2026-01-02T03:04:05.123456789Z"
#define T2 "2026-01-02T03:04:07Z"
#define NS "container:" INFRA_ID

typedef struct Case {
        const char *what;
        json_t *inspect;
        const char *want[3];
        PhHealAction action;
        const char *reason;
} Case;

int main(void) {
        TAP_CHECK(fabs(observe_time("2026-01-02T03:04:05.5Z") -
                       (observe_time("2026-01-02T03:04:05Z") + 0.5)) < 1e-6);
        /* Fractions of different lengths compare as numbers, not as text. */
        TAP_CHECK(observe_time(T1) < observe_time(T0));
        TAP_CHECK(observe_time("0001-01-01T00:00:00Z") < 0);
        TAP_CHECK(observe_time(NULL) < 0 && observe_time("yesterday") < 0);

        Case cases[] = {
                {"all well",
                 json_pack("[o, o, o]", ctr("web", "running", T2, NS, "always"),
                           ctr("side", "running", T2, NS, "always"),
                           ctr(NULL, "running", T0, NULL, "unless-stopped")),
                 {"web", "side"},
                 PH_HEAL_NONE,
                 NULL},
                {"infra restarted under its apps",
                 json_pack("[o, o]", ctr("web", "running", T1, NS, "always"),
                           ctr(NULL, "running", T0, NULL, "unless-stopped")),
                 {"web"},
                 PH_HEAL_RECREATE_APPS,
                 "infra restarted"},
                {"infra recreated: the apps name another",
                 json_pack("[o, o]", ctr("web", "running", T2, "container:" OTHER_ID, "always"),
                           ctr(NULL, "running", T0, NULL, "unless-stopped")),
                 {"web"},
                 PH_HEAL_RECREATE_APPS,
                 "infra recreated"},
                {"no infra",
                 json_pack("[o]", ctr("web", "running", T2, NS, "always")),
                 {"web"},
                 PH_HEAL_RECREATE_APPS,
                 "infra missing"},
                {"infra down (dockerd restarted)",
                 json_pack("[o, o]", ctr("web", "exited", T1, NS, "always"),
                           ctr(NULL, "exited", T0, NULL, "unless-stopped")),
                 {"web"},
                 PH_HEAL_REAPPLY,
                 "infra not running"},
                {"the Engine restarts the infra itself",
                 json_pack("[o, o]", ctr("web", "running", T1, NS, "always"),
                           ctr(NULL, "restarting", T0, NULL, "unless-stopped")),
                 {"web"},
                 PH_HEAL_NONE,
                 NULL},
                {"an app removed by hand",
                 json_pack("[o, o]", ctr("web", "running", T2, NS, "always"),
                           ctr(NULL, "running", T0, NULL, "unless-stopped")),
                 {"web", "side"},
                 PH_HEAL_REAPPLY,
                 "container side missing"},
                {"an app that should run is stopped",
                 json_pack("[o, o]", ctr("web", "exited", T2, NS, "always"),
                           ctr(NULL, "running", T0, NULL, "unless-stopped")),
                 {"web"},
                 PH_HEAL_REAPPLY,
                 "container web not running"},
                {"a job that ended (restartPolicy Never) is no repair",
                 json_pack("[o, o]", ctr("web", "exited", T2, NS, "no"),
                           ctr(NULL, "running", T0, NULL, "unless-stopped")),
                 {"web"},
                 PH_HEAL_NONE,
                 NULL},
                {"no pod at all is no repair", json_array(), {"web"}, PH_HEAL_NONE, NULL},
                {"unknown manifest: nothing counts as missing",
                 json_pack("[o]", ctr(NULL, "running", T0, NULL, "unless-stopped")),
                 {NULL},
                 PH_HEAL_NONE,
                 NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Case *c = &cases[i];
                _cleanup_free_ char *reason = NULL;
                PhHealAction a = heal_decide(c->inspect, c->want[0] ? (char **) c->want : NULL, &reason);
                printf("# %s\n", c->what);
                TAP_CHECK(a == c->action);
                if (c->reason)
                        TAP_CHECK_STR(reason, c->reason);
                else
                        TAP_CHECK(!reason);
                json_decref(c->inspect);
        }

        /* What the status store keeps of a pod: short ids, states, the infra's container null. */
        json_auto_t *inspect = json_pack("[o, o]", ctr("web", "running", T1, NS, "always"),
                                         ctr(NULL, "running", T0, NULL, "unless-stopped"));
        PhPodBreak b;
        json_auto_t *seen = observe_containers(inspect, &b);
        TAP_CHECK(b == PH_POD_INFRA_RESTARTED);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(seen, 0), "container")), "web");
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(seen, 0), "state")), "running");
        TAP_CHECK(strlen(json_string_value(json_object_get(json_array_get(seen, 1), "id"))) == 12);
        TAP_CHECK(json_is_null(json_object_get(json_array_get(seen, 1), "container")));
        return tap_done();
}
