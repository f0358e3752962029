#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "docker/hostports.h"
#include "docker/pod.h"

static bool any_address(const char *ip) {
        return !ip || !*ip || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

static bool addresses_meet(const char *a, const char *b) {
        return any_address(a) || any_address(b) || strcmp(a, b) == 0;
}

/* The published port of a summary's "Ports" that takes port/protocol on host_ip, or NULL. */
static const json_t *holder_port(const json_t *summary, int port, const char *protocol, const char *host_ip) {
        const json_t *p;
        size_t i;

        json_array_foreach(json_object_get(summary, "Ports"), i, p) {
                const char *type = json_string_value(json_object_get(p, "Type"));
                if (json_integer_value(json_object_get(p, "PublicPort")) == port &&
                    strcmp(type ? type : "tcp", protocol) == 0 &&
                    addresses_meet(json_string_value(json_object_get(p, "IP")), host_ip))
                        return p;
        }
        return NULL;
}

static const char *summary_name(const json_t *summary) {
        const char *name = json_string_value(json_array_get(json_object_get(summary, "Names"), 0));
        const char *id = json_string_value(json_object_get(summary, "Id"));

        if (name)
                return name[0] == '/' ? name + 1 : name;
        return id ? id : "?";
}

int hostports_check(const char *pod, const PhManifest *m, const json_t *running, PhError **reterr) {
        for (size_t i = 0; i < m->n_containers; i++) {
                const PhContainer *c = &m->containers[i];
                for (size_t k = 0; k < c->n_ports; k++) {
                        const PhPort *p = &c->ports[k];
                        const char *protocol = p->protocol ? p->protocol : "tcp";
                        const json_t *s;
                        size_t j;

                        if (p->host_port <= 0)
                                continue;
                        json_array_foreach(running, j, s) {
                                const char *owner = pod_label(s, POD_LABEL_POD);
                                /* The pod's own containers go before the new ones start. */
                                if (owner && strcmp(owner, pod) == 0 && pod_label(s, POD_LABEL_MANAGED))
                                        continue;
                                if (!holder_port(s, p->host_port, protocol, p->host_ip))
                                        continue;
                                return ph_error_set(reterr, EADDRINUSE,
                                                    "container %s: host port %s%s%d/%s is already published "
                                                    "by container %s",
                                                    c->name, p->host_ip ? p->host_ip : "",
                                                    p->host_ip ? ":" : "", p->host_port, protocol,
                                                    summary_name(s));
                        }
                }
        }
        return 0;
}

int hostports_check_engine(PhDocker *d, const char *pod, const PhManifest *m, PhError **reterr) {
        json_auto_t *running = NULL;
        bool wanted = false;
        int r;

        for (size_t i = 0; i < m->n_containers && !wanted; i++)
                for (size_t k = 0; k < m->containers[i].n_ports && !wanted; k++)
                        wanted = m->containers[i].ports[k].host_port > 0;
        if (!wanted)
                return 0;
        /* Running ones only: a stopped container holds no port. */
        r = docker_call(d, "GET", "/containers/json", NULL, NULL, &running, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "listing the running containers");
        return hostports_check(pod, m, running, reterr);
}
