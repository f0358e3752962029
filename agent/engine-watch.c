/* engine-watch.h: the thread connects, streams, backs off; the loop reads the eventfd. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PH_LOG_MODULE "agent"
#include "common/http.h"
#include "common/log.h"
#include "docker/docker.h"
#include "docker/pod.h"
#include "engine-watch.h"

#define BACKOFF_MAX_SEC 30u

struct PhEngineWatch {
        pthread_t thread;
        bool started;
        int stop_fd;   /* readable: the thread ends */
        int notify_fd; /* the thread's news for the loop */
        char *host;
        PhEventSource *io;
        void (*changed)(void *userdata);
        void *userdata;
};

static void tell(PhEngineWatch *w) {
        uint64_t one = 1;
        (void) !write(w->notify_fd, &one, sizeof(one));
}

static int on_data(const char *data, size_t len, void *userdata) {
        /* The filter lets only podhook's container events through: each piece is news. */
        if (len > 0)
                tell(userdata);
        return 0;
}

/* false when the thread is to end. */
static bool pause_for(PhEngineWatch *w, unsigned sec) {
        struct pollfd p = {.fd = w->stop_fd, .events = POLLIN};
        int r;

        do
                r = poll(&p, 1, (int) (sec * 1000));
        while (r < 0 && errno == EINTR);
        return r == 0;
}

static void *watch_main(void *userdata) {
        PhEngineWatch *w = userdata;
        const PhHttpCancel cancel = {.fd = w->stop_fd};
        _cleanup_free_ char *filter = NULL, *path = NULL;
        unsigned delay = 1;
        bool said = false;

        filter = http_escape("{\"type\":[\"container\"],\"label\":[\"" POD_LABEL_MANAGED "=1\"],"
                             "\"event\":[\"start\",\"die\",\"destroy\"]}");
        path = xasprintf("/events?filters=%s", filter);
        for (;;) {
                _cleanup_(docker_freep) PhDocker *d = NULL;
                _cleanup_error_ PhError *err = NULL;

                if (docker_open(w->host, &d, &err) < 0) {
                        if (!said)
                                log_info("engine events: %s; trying again (up to every %u s)",
                                         ph_error_msg(err), BACKOFF_MAX_SEC);
                        said = true;
                        if (!pause_for(w, delay))
                                return NULL;
                        delay = delay * 2 > BACKOFF_MAX_SEC ? BACKOFF_MAX_SEC : delay * 2;
                        continue;
                }
                if (said)
                        log_info("engine events: the Engine answers again");
                said = false, delay = 1;
                /* Whatever happened while nobody listened is found by a full look. */
                tell(w);
                int r = docker_stream(d, path, on_data, w, &cancel, &err);
                if (http_cancel_requested(&cancel) || r == -ECANCELED)
                        return NULL;
                log_debug("engine events: the stream ended (%s)", r < 0 ? ph_error_msg(err) : "closed");
                if (!pause_for(w, 1))
                        return NULL;
        }
}

static int on_notify(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        PhEngineWatch *w = userdata;
        uint64_t n;

        if (read(fd, &n, sizeof(n)) == (ssize_t) sizeof(n) && w->changed)
                w->changed(w->userdata);
        return 0;
}

int engine_watch_new(PhEvent *e, const char *host, void (*changed)(void *userdata), void *userdata,
                     PhEngineWatch **ret) {
        _cleanup_(engine_watch_freep) PhEngineWatch *w = xcalloc(1, sizeof(*w));
        int r;

        w->stop_fd = w->notify_fd = -1;
        w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        w->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->stop_fd < 0 || w->notify_fd < 0)
                return -errno;
        w->host = host ? xstrdup(host) : NULL;
        w->changed = changed;
        w->userdata = userdata;
        r = event_add_io(e, &w->io, w->notify_fd, EPOLLIN, on_notify, w);
        if (r < 0)
                return r;
        event_source_set_description(w->io, "engine events");
        r = -pthread_create(&w->thread, NULL, watch_main, w);
        if (r < 0)
                return r;
        w->started = true;
        *ret = TAKE_PTR(w);
        return 0;
}

PhEngineWatch *engine_watch_free(PhEngineWatch *w) {
        uint64_t one = 1;

        if (!w)
                return NULL;
        if (w->started) {
                (void) !write(w->stop_fd, &one, sizeof(one));
                (void) pthread_join(w->thread, NULL);
        }
        (void) event_source_unref(w->io);
        if (w->stop_fd >= 0)
                (void) close(w->stop_fd);
        if (w->notify_fd >= 0)
                (void) close(w->notify_fd);
        free(w->host);
        free(w);
        return NULL;
}
