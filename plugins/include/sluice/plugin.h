/*
 * sluice third-party plugin ABI.
 *
 * A plugin is a shared object (`<plugins_dir>/<name>.so`) built against this header
 * alone: it links nothing of sluice and calls sluice only through the `sluice_host`
 * table it is given. It exports one C function, `sluice_plugin_entry`, returning a
 * descriptor of its hooks. Every descriptor starts with `abi_version`: sluice reads that
 * first and refuses (at start-up, on reload and in `sluice --check`) a plugin built for
 * another version than its own, reading nothing else from it.
 *
 *   routes:
 *     - path: /events/{id}
 *       sse: {channel: "events:{id}"}
 *       plugins:
 *         - header_gate: {require: X-Token}   # <plugins_dir>/header_gate.so, options as JSON
 *   plugins_dir: /usr/lib/sluice/plugins
 *
 * Threads. sluice runs one event loop per worker thread, and one plugin instance serves
 * every request of its route on every worker: on_request_head, on_event and on_close of
 * one instance are called concurrently from several threads, and must guard any state
 * they change. They run on an event loop: never block in them (no network or disk I/O).
 * create and destroy are never called concurrently with a hook of the same instance;
 * destroy may run on any thread, once no request is suspended (possibly inside the last
 * resume). Host callbacks may be called from any thread, but the
 * request, answer and rewrite handles are valid only during the hook call that got them.
 *
 * Strings passed to a plugin are not NUL-terminated unless said so (sluice_str); strings a
 * plugin passes to the host are NUL-terminated or given with a length, and are copied by
 * the host before the callback returns.
 *
 * Asynchronous decisions. A plugin that cannot decide inside on_request_head (it must ask
 * another service, or wait) sets SLUICE_PLUGIN_SUSPENDS in its flags, calls
 * host->suspend(answer) in the hook and returns SLUICE_SUSPEND. The request then waits,
 * and the plugin ends the wait later, from any thread of its own, with host->resume:
 * SLUICE_PASS (on to the next plugin, then the handler) or SLUICE_ANSWER with a status and
 * a reason (sluice's JSON error answer). resume must be called exactly once per suspend,
 * also when the client has left meanwhile (sluice then drops the decision); until then
 * the request waits, so a plugin must bound its own waits (a timeout of its own).
 *
 * Versioning. SLUICE_PLUGIN_ABI_VERSION changes whenever the layout or meaning of
 * anything below changes; sluice loads only plugins built with its own version.
 * Version 2 added asynchronous decisions (suspend, resume).
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUICE_PLUGIN_ABI_VERSION 2u

/* The name of the one symbol a plugin exports (see sluice_plugin_entry_fn). */
#define SLUICE_PLUGIN_ENTRY_SYMBOL "sluice_plugin_entry"

#if defined(__GNUC__)
#define SLUICE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SLUICE_PLUGIN_EXPORT
#endif

/* A string the host owns: `len` bytes at `data`, not NUL-terminated. */
typedef struct sluice_str {
    const char *data;
    size_t len;
} sluice_str;

typedef enum sluice_route_kind {
    SLUICE_ROUTE_SSE = 1,     /* an SSE stream: on_event runs for each event it sends */
    SLUICE_ROUTE_POLL = 2,    /* a poll (answered at once or held): on_event too */
    SLUICE_ROUTE_PROXY = 3,
    SLUICE_ROUTE_STATIC = 4,
    SLUICE_ROUTE_PUBLISH = 5  /* the publish endpoint (after its token check) */
} sluice_route_kind;

/* What a hook sees of the request. Valid during the hook call only. In on_event and
   on_close it is what the request head said (kept by sluice from on_request_head). */
typedef struct sluice_request {
    sluice_str method;       /* "GET" */
    sluice_str path;         /* as received, percent-encoded, without the query */
    sluice_str query;        /* after '?', without it; empty when none */
    sluice_str remote_addr;  /* the peer's IP address, "203.0.113.9" or "2001:db8::1" */
    sluice_str route;        /* the route's label: its path template or "prefix*" */
    sluice_str channel;      /* sse and poll routes: the channel the path names; else empty */
    int route_kind;          /* a sluice_route_kind */
    const void *host_private;
} sluice_request;

/* One event about to be sent to one subscriber (sse and poll routes). */
typedef struct sluice_event {
    uint64_t id;      /* its position in the channel (the SSE id) */
    sluice_str name;  /* the SSE event name; empty for the default "message" */
    sluice_str type;  /* the payload's JSON "type" member; empty when none */
    sluice_str data;  /* the payload */
} sluice_event;

typedef enum sluice_log_level {
    SLUICE_LOG_DEBUG = 0,
    SLUICE_LOG_INFO = 1,
    SLUICE_LOG_WARN = 2,
    SLUICE_LOG_ERROR = 3
} sluice_log_level;

/* Results of on_request_head. */
typedef enum sluice_head_result {
    SLUICE_PASS = 0,     /* go on: the next plugin, then the route's handler */
    SLUICE_ANSWER = 1,   /* the plugin answered (host->answer or host->answer_error) */
    SLUICE_SUSPEND = 2   /* the plugin called host->suspend and will call host->resume */
} sluice_head_result;

/* Results of on_event. */
typedef enum sluice_event_result {
    SLUICE_KEEP = 0,     /* send the event as it is */
    SLUICE_DROP = 1,     /* this subscriber does not get it (its id is skipped) */
    SLUICE_REWRITE = 2   /* send host->rewrite's data instead, with the same id and name */
} sluice_event_result;

typedef struct sluice_answer sluice_answer;    /* opaque: an answer being built */
typedef struct sluice_pending sluice_pending;  /* opaque: a request waiting for resume */
typedef struct sluice_rewrite sluice_rewrite;  /* opaque: an event's new data */

/* What sluice offers a plugin. Valid from create until destroy returns. */
typedef struct sluice_host {
    uint32_t abi_version; /* SLUICE_PLUGIN_ABI_VERSION of the host */
    const void *host_private;

    /* A line in sluice's log (JSON, with "plugin": name), `message` NUL-terminated. */
    void (*log)(const struct sluice_host *host, sluice_log_level level, const char *message);
    /* Adds n to the counter `name` ([a-z0-9_]{1,64}), exported by /_sluice/metrics as
       sluice_plugin_counter_total{plugin="<plugin>",counter="<name>"}. */
    void (*count)(const struct sluice_host *host, const char *name, uint64_t n);

    /* The first request header called `name` (any case): 1 and *value, or 0. */
    int (*header)(const sluice_request *req, const char *name, sluice_str *value);

    /* In on_request_head, before returning SLUICE_ANSWER: the answer's status (200..599)
       and body, sent with the given Content-Type ... */
    void (*answer)(sluice_answer *a, int status, const char *content_type, const char *body,
                   size_t body_len);
    /* ... or an error answer like sluice's own: {"error":reason,"status":status}. */
    void (*answer_error)(sluice_answer *a, int status, const char *reason);
    /* One more header on the answer (not one sluice frames itself: Content-Length,
       Content-Type, Transfer-Encoding, Connection...). */
    void (*answer_header)(sluice_answer *a, const char *name, const char *value);

    /* In on_event, before returning SLUICE_REWRITE: the data to send instead (UTF-8,
       no NUL). */
    void (*rewrite)(sluice_rewrite *r, const char *data, size_t len);

    /* In on_request_head, before returning SLUICE_SUSPEND (plugins with the flag
       SLUICE_PLUGIN_SUSPENDS only): the request waits for host->resume. NULL if the plugin
       lacks the flag or already suspended this call. */
    sluice_pending *(*suspend)(sluice_answer *a);
    /* Ends a wait, from any thread: `result` SLUICE_PASS, or SLUICE_ANSWER with `status`
       (200..599) and `reason` (NUL-terminated UTF-8, the error body's "error"). Exactly
       once per suspend; `p` is freed by the call. An invalid answer is answered 500. */
    void (*resume)(sluice_pending *p, int result, int status, const char *reason);
} sluice_host;

/* A plugin whose on_request_head may return SLUICE_SUSPEND sets this flag. */
#define SLUICE_PLUGIN_SUSPENDS 1u

/* The descriptor a plugin exports. Unused hooks are NULL. */
typedef struct sluice_plugin {
    uint32_t abi_version; /* always first: SLUICE_PLUGIN_ABI_VERSION the plugin was built with */
    const char *name;     /* for logs and metrics */
    uint32_t flags;       /* 0, or SLUICE_PLUGIN_SUSPENDS */

    /* Builds an instance from the item's options, a JSON object (NUL-terminated; "{}" when
       none). Called at start-up, on each reload and by `sluice --check` (which destroys it
       at once). On bad options: NULL, with a message in `error` (error_size bytes, NUL-
       terminated), reported as FILE:LINE:COL of the plugin item. `host` stays valid until
       destroy returns. */
    void *(*create)(const char *config_json, const sluice_host *host, char *error,
                    size_t error_size);
    void (*destroy)(void *instance);

    /* Each request of the route, before its handler: a sluice_head_result. */
    int (*on_request_head)(void *instance, const sluice_request *req, sluice_answer *answer);
    /* Each event for each subscriber of an sse or poll route: a sluice_event_result. */
    int (*on_event)(void *instance, const sluice_request *req, const sluice_event *ev,
                    sluice_rewrite *rewrite);
    /* Once for each request that reached this plugin (the plugins listed before it passed
       it), when it ends: answered, stream closed, client gone. */
    void (*on_close)(void *instance, const sluice_request *req);
} sluice_plugin;

/* The entry point: `SLUICE_PLUGIN_EXPORT const sluice_plugin *sluice_plugin_entry(void)`. */
typedef const sluice_plugin *(*sluice_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_PLUGIN_H */
