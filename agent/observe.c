/* observe.h: a container's fields come from its inspect object; the infra container is the one whose
 * io.podhook.role label says so (or whose name ends in ._infra). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "docker/pod.h"
#include "observe.h"

const char *pod_break_to_string(PhPodBreak b) {
        switch (b) {
        case PH_POD_OK:
                return NULL;
        case PH_POD_NO_INFRA:
                return "infra missing";
        case PH_POD_INFRA_DOWN:
                return "infra not running";
        case PH_POD_INFRA_RECREATED:
                return "infra recreated";
        case PH_POD_INFRA_RESTARTED:
                return "infra restarted";
        }
        return NULL;
}

double observe_time(const char *s) {
        struct tm tm = {0};
        int n = 0;

        if (!s ||
            sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec, &n) != 6 ||
            tm.tm_year < 1970)
                return -1;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        double t = (double) timegm(&tm);
        if (s[n] == '.') {
                double scale = 0.1;
                for (const char *p = s + n + 1; *p >= '0' && *p <= '9'; p++, scale /= 10)
                        t += (*p - '0') * scale;
        }
        return t;
}

static const char *str_at(const json_t *o, const char *a, const char *b) {
        const json_t *v = json_object_get(o, a);
        return json_string_value(b ? json_object_get(v, b) : v);
}

static const char *label_of(const json_t *c, const char *key) {
        return json_string_value(
                json_object_get(json_object_get(json_object_get(c, "Config"), "Labels"), key));
}

static bool is_infra(const json_t *c) {
        const char *role = label_of(c, POD_LABEL_ROLE);
        const char *name = json_string_value(json_object_get(c, "Name"));
        size_t n = name ? strlen(name) : 0, m = strlen(POD_INFRA_SUFFIX);

        if (role)
                return strcmp(role, "infra") == 0;
        return n >= m && strcmp(name + n - m, POD_INFRA_SUFFIX) == 0;
}

json_t *observe_containers(const json_t *inspect, PhPodBreak *ret_break) {
        json_t *out = json_array();
        const json_t *infra = NULL, *c;
        size_t i, apps = 0;

        json_array_foreach(inspect, i, c) {
                if (is_infra(c) && !infra)
                        infra = c;
                else
                        apps++;
        }
        const char *infra_id = json_string_value(json_object_get(infra, "Id"));
        bool infra_runs = json_is_true(json_object_get(json_object_get(infra, "State"), "Running"));
        double infra_started = observe_time(str_at(infra, "State", "StartedAt"));
        PhPodBreak brk = PH_POD_OK;

        if (apps > 0 && !infra)
                brk = PH_POD_NO_INFRA;
        else if (infra && !infra_runs)
                brk = PH_POD_INFRA_DOWN;
        json_array_foreach(inspect, i, c) {
                const json_t *st = json_object_get(c, "State");
                const char *name = json_string_value(json_object_get(c, "Name"));
                const char *id = json_string_value(json_object_get(c, "Id"));
                bool runs = json_is_true(json_object_get(st, "Running"));
                _cleanup_free_ char *short_id = id ? xstrndup(id, 12) : NULL;

                json_array_append_new(
                        out, json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:s?}", "name",
                                       name && name[0] == '/' ? name + 1 : name, "container",
                                       c == infra ? NULL : label_of(c, POD_LABEL_CONTAINER), "id", short_id,
                                       "state", json_string_value(json_object_get(st, "Status")), "health",
                                       str_at(st, "Health", "Status"), "spec_hash",
                                       label_of(c, POD_LABEL_SPEC_HASH), "restarts",
                                       json_integer_value(json_object_get(c, "RestartCount")), "started_at",
                                       json_string_value(json_object_get(st, "StartedAt"))));
                if (c == infra || !infra || !runs || brk != PH_POD_OK)
                        continue;
                const char *mode = str_at(c, "HostConfig", "NetworkMode");
                if (mode && strncmp(mode, "container:", 10) == 0 && infra_id &&
                    strcmp(mode + 10, infra_id) != 0 &&
                    !(json_string_value(json_object_get(infra, "Name")) &&
                      strcmp(mode + 10, json_string_value(json_object_get(infra, "Name")) + 1) == 0))
                        brk = PH_POD_INFRA_RECREATED;
                else if (infra_runs && infra_started > 0 &&
                         observe_time(str_at(c, "State", "StartedAt")) + 0.0005 < infra_started)
                        brk = PH_POD_INFRA_RESTARTED;
        }
        if (ret_break)
                *ret_break = brk;
        return out;
}

void observe_result(PhStatus *s, const char *pod, const json_t *result) {
        const char *text = json_string_value(json_object_get(result, "deploy_stdout"));
        json_auto_t *inspect = text ? json_loads(text, 0, NULL) : NULL;

        if (!pod || !json_is_array(inspect))
                return;
        PhPodBreak brk;
        json_auto_t *containers = observe_containers(inspect, &brk);
        status_pod_observed(s, pod, containers, pod_break_to_string(brk));
}
