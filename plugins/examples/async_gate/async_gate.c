/*
 * async_gate: an example third-party sluice plugin that decides later (plugin ABI
 * version 2: suspend and resume), in C, built against sluice/plugin.h alone.
 *
 *   plugins:
 *     - async_gate: {}
 *
 * Each request waits while a thread of the plugin "asks another service" (here it only
 * sleeps 20 ms); then the request goes on if it carries an X-Token header, and is
 * answered 401 otherwise. A real plugin would send a network request from its own
 * thread or event loop instead of sleeping, and bound that wait with a timeout of its
 * own: sluice waits for resume as long as the client stays.
 *
 * What the hook reads from the request must be copied before the hook returns: the
 * request view is valid during the call only. The sluice_pending handle stays valid
 * until host->resume, which is called exactly once, from the plugin's thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/plugin.h>

typedef struct gate {
    const sluice_host *host;
} gate;

typedef struct decision {
    const sluice_host *host;
    sluice_pending *pending;
    int has_token;
} decision;

static void *gate_create(const char *config_json, const sluice_host *host, char *error,
                         size_t error_size) {
    if (strcmp(config_json, "{}") != 0) {
        strncpy(error, "async_gate takes no options", error_size - 1);
        error[error_size - 1] = '\0';
        return NULL;
    }
    gate *g = calloc(1, sizeof *g);
    if (g) g->host = host;
    return g;
}

static void gate_destroy(void *instance) { free(instance); }

static void *decide_later(void *arg) {
    decision *d = arg;
    struct timespec wait = {0, 20 * 1000 * 1000};
    nanosleep(&wait, NULL);
    if (d->has_token) {
        d->host->count(d->host, "passed", 1);
        d->host->resume(d->pending, SLUICE_PASS, 0, NULL);
    } else {
        d->host->count(d->host, "denied", 1);
        d->host->resume(d->pending, SLUICE_ANSWER, 401, "no X-Token (decided later)");
    }
    free(d);
    return NULL;
}

static int gate_on_request_head(void *instance, const sluice_request *req, sluice_answer *answer) {
    gate *g = instance;
    sluice_str value;
    decision *d = malloc(sizeof *d);
    if (!d) {
        g->host->answer_error(answer, 503, "async_gate: out of memory");
        return SLUICE_ANSWER;
    }
    d->host = g->host;
    d->has_token = g->host->header(req, "X-Token", &value);
    d->pending = g->host->suspend(answer);
    if (!d->pending) {  /* not on a worker loop: decide now */
        free(d);
        return SLUICE_PASS;
    }
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, decide_later, d) != 0) {
        /* No thread: end the wait at once (resume may be called from the hook too). */
        g->host->resume(d->pending, SLUICE_ANSWER, 503, "async_gate: no thread");
        free(d);
    }
    pthread_attr_destroy(&attr);
    return SLUICE_SUSPEND;
}

static const sluice_plugin descriptor = {
    SLUICE_PLUGIN_ABI_VERSION,
    "async_gate",
    SLUICE_PLUGIN_SUSPENDS,
    gate_create,
    gate_destroy,
    gate_on_request_head,
    NULL, /* on_event */
    NULL, /* on_close */
};

SLUICE_PLUGIN_EXPORT const sluice_plugin *sluice_plugin_entry(void) { return &descriptor; }
