/*
 * header_gate: an example third-party sluice plugin, in C, built against
 * sluice/plugin.h alone (see README.md).
 *
 *   plugins:
 *     - header_gate:
 *         require: X-Token          # requests without this header get 401
 *         value: s3cret             # optional: ... or with another value: 403
 *         drop_types: [internal]    # events whose JSON "type" is one of these are dropped
 *         redact: [password]        # each occurrence in an event's data becomes "***"
 *
 * It keeps no state of its own after create(), so its hooks are safe to call from every
 * worker thread at once; the counters it increments are kept by sluice.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#define MAX_ITEMS 16

typedef struct gate {
    const sluice_host *host;
    char *require;              /* header name, or NULL */
    char *value;                /* required value, or NULL */
    char *drop_types[MAX_ITEMS];
    int drop_count;
    char *redact[MAX_ITEMS];
    int redact_count;
} gate;

/* ---- a small reader for the JSON sluice hands over: an object whose values are
        strings or lists of strings (all this plugin takes) ---- */

typedef struct reader {
    const char *p;
    char *error;
    size_t error_size;
} reader;

static void skip_ws(reader *r) {
    while (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r') r->p++;
}

static int fail(reader *r, const char *message) {
    snprintf(r->error, r->error_size, "%s", message);
    return 0;
}

/* A JSON string (escapes \" \\ \/ \n \t; \u is refused: not needed here). */
static int read_string(reader *r, char **out) {
    skip_ws(r);
    if (*r->p != '"') return fail(r, "expected a string");
    r->p++;
    size_t cap = strlen(r->p) + 1, n = 0;
    char *s = malloc(cap);
    if (!s) return fail(r, "out of memory");
    while (*r->p && *r->p != '"') {
        char c = *r->p++;
        if (c == '\\') {
            c = *r->p++;
            if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (c != '"' && c != '\\' && c != '/') {
                free(s);
                return fail(r, "unsupported escape in a string");
            }
        }
        s[n++] = c;
    }
    if (*r->p != '"') {
        free(s);
        return fail(r, "unterminated string");
    }
    r->p++;
    s[n] = '\0';
    *out = s;
    return 1;
}

static int read_string_list(reader *r, const char *key, char **items, int *count) {
    skip_ws(r);
    if (*r->p != '[') {
        snprintf(r->error, r->error_size, "%s: expected a list of strings", key);
        return 0;
    }
    r->p++;
    skip_ws(r);
    if (*r->p == ']') {
        r->p++;
        return 1;
    }
    for (;;) {
        if (*count == MAX_ITEMS) {
            snprintf(r->error, r->error_size, "%s: at most %d items", key, MAX_ITEMS);
            return 0;
        }
        if (!read_string(r, &items[*count])) {
            snprintf(r->error, r->error_size, "%s: expected a list of strings", key);
            return 0;
        }
        if (items[*count][0] == '\0') {
            snprintf(r->error, r->error_size, "%s: an empty string", key);
            free(items[*count]);
            return 0;
        }
        (*count)++;
        skip_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == ']') {
            r->p++;
            return 1;
        }
        return fail(r, "expected ',' or ']'");
    }
}

static void gate_free(gate *g) {
    if (!g) return;
    free(g->require);
    free(g->value);
    for (int i = 0; i < g->drop_count; i++) free(g->drop_types[i]);
    for (int i = 0; i < g->redact_count; i++) free(g->redact[i]);
    free(g);
}

static int is_header_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_') return 0;
    return 1;
}

static void *gate_create(const char *config_json, const sluice_host *host, char *error,
                         size_t error_size) {
    gate *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    g->host = host;
    reader r = {config_json, error, error_size};
    skip_ws(&r);
    if (*r.p != '{') goto bad_json;
    r.p++;
    skip_ws(&r);
    if (*r.p == '}') goto empty;
    for (;;) {
        char *key = NULL;
        if (!read_string(&r, &key)) goto bad;
        skip_ws(&r);
        if (*r.p++ != ':') {
            free(key);
            goto bad_json;
        }
        int ok;
        if (strcmp(key, "require") == 0) {
            ok = read_string(&r, &g->require);
            if (ok && !is_header_name(g->require)) ok = fail(&r, "require: not a header name");
            else if (!ok) snprintf(error, error_size, "require: expected a header name");
        } else if (strcmp(key, "value") == 0) {
            ok = read_string(&r, &g->value);
            if (!ok) snprintf(error, error_size, "value: expected a string");
        } else if (strcmp(key, "drop_types") == 0) {
            ok = read_string_list(&r, key, g->drop_types, &g->drop_count);
        } else if (strcmp(key, "redact") == 0) {
            ok = read_string_list(&r, key, g->redact, &g->redact_count);
        } else {
            snprintf(error, error_size,
                     "unknown option '%s' (header_gate takes require, value, drop_types, redact)", key);
            ok = 0;
        }
        free(key);
        if (!ok) goto bad;
        skip_ws(&r);
        if (*r.p == ',') {
            r.p++;
            continue;
        }
        if (*r.p == '}') break;
        goto bad_json;
    }
empty:
    if (g->value && !g->require) {
        snprintf(error, error_size, "value: needs require (the header it is the value of)");
        goto bad;
    }
    if (!g->require && g->drop_count == 0 && g->redact_count == 0) {
        snprintf(error, error_size, "nothing to do: give require, drop_types or redact");
        goto bad;
    }
    host->log(host, SLUICE_LOG_DEBUG, "header_gate ready");
    return g;
bad_json:
    snprintf(error, error_size, "options are not the JSON object expected");
bad:
    gate_free(g);
    return NULL;
}

static void gate_destroy(void *instance) { gate_free(instance); }

static int gate_on_request_head(void *instance, const sluice_request *req, sluice_answer *answer) {
    gate *g = instance;
    if (!g->require) return SLUICE_PASS;
    const sluice_host *h = g->host;
    sluice_str v;
    if (!h->header(req, g->require, &v)) {
        char reason[200];
        snprintf(reason, sizeof reason, "missing header %s", g->require);
        h->answer_error(answer, 401, reason);
        h->answer_header(answer, "X-Header-Gate", "missing");
        h->count(h, "denied_missing", 1);
        return SLUICE_ANSWER;
    }
    if (g->value && (v.len != strlen(g->value) || memcmp(v.data, g->value, v.len) != 0)) {
        const char body[] = "header_gate: wrong value\n";
        h->answer(answer, 403, "text/plain; charset=utf-8", body, sizeof body - 1);
        h->answer_header(answer, "X-Header-Gate", "wrong-value");
        h->count(h, "denied_value", 1);
        return SLUICE_ANSWER;
    }
    h->count(h, "passed", 1);
    return SLUICE_PASS;
}

static int equals(sluice_str s, const char *z) {
    return s.len == strlen(z) && memcmp(s.data, z, s.len) == 0;
}

static int gate_on_event(void *instance, const sluice_request *req, const sluice_event *ev,
                         sluice_rewrite *rewrite) {
    gate *g = instance;
    (void)req;
    for (int i = 0; i < g->drop_count; i++)
        if (equals(ev->type, g->drop_types[i])) return SLUICE_DROP;
    if (g->redact_count == 0) return SLUICE_KEEP;
    /* A word becomes "***": at most 3 bytes for each byte of data. */
    size_t cap = ev->data.len * 3 + 1, n = 0;
    char *out = malloc(cap);
    if (!out) return SLUICE_KEEP;
    int changed = 0;
    size_t i = 0;
    while (i < ev->data.len) {
        int hit = 0;
        for (int w = 0; w < g->redact_count && !hit; w++) {
            size_t wl = strlen(g->redact[w]);
            if (wl <= ev->data.len - i && memcmp(ev->data.data + i, g->redact[w], wl) == 0) {
                memcpy(out + n, "***", 3);
                n += 3;
                i += wl;
                hit = changed = 1;
            }
        }
        if (!hit) out[n++] = ev->data.data[i++];
    }
    if (changed) g->host->rewrite(rewrite, out, n);
    free(out);
    return changed ? SLUICE_REWRITE : SLUICE_KEEP;
}

static const sluice_plugin descriptor = {
    SLUICE_PLUGIN_ABI_VERSION,
    "header_gate",
    0,
    gate_create,
    gate_destroy,
    gate_on_request_head,
    gate_on_event,
    NULL,
};

SLUICE_PLUGIN_EXPORT const sluice_plugin *sluice_plugin_entry(void) { return &descriptor; }
