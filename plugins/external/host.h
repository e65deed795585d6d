// The host side of plugin.h: the sluice_host callbacks, and what a hook call fills in
// (an answer, an event rewrite), read back by the filter once the hook returns.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "gateway/loop/dispatcher.h"
#include "gateway/pipeline/filter.h"
#include "gateway/pipeline/request.h"
#include "sluice/plugin.h"

// Opaque to plugins (plugin.h declares them); defined here in the global namespace.
struct sluice_answer {
    bool set = false;
    bool error = false;  // answer_error: a JSON error body
    int status = 0;
    std::string content_type, body, reason;
    sluice::pipeline::Headers headers;
    std::string invalid;  // why the answer cannot be sent ("" when it can)
    // Set by the filter for plugins with SLUICE_PLUGIN_SUSPENDS: what host->suspend calls.
    std::function<sluice_pending*()> suspend;
    sluice_pending* pending = nullptr;  // what host->suspend returned in this call
};

// A request a plugin suspended, until its host->resume. Made on the request's loop;
// resume (any thread) posts the decision back to that loop, where it is applied if the
// request is still there and the hook did return SLUICE_SUSPEND.
struct sluice_pending {
    sluice::loop::PostHandle loop;
    sluice::pipeline::AliveToken alive;
    sluice::pipeline::Request* req = nullptr;
    sluice::pipeline::Resume resume;
    std::string plugin;
    // Keeps the plugin instance (and its host table) alive until resume: a reload may
    // drop the route's chain while a decision is pending.
    std::shared_ptr<const void> instance;
    std::atomic<bool> suspended{true};  // false: the hook returned something else after all
};

struct sluice_rewrite {
    bool set = false;
    std::string data;
    std::string invalid;
};

namespace sluice::plugins::external {

// The callbacks every host table carries.
void fill_host_callbacks(sluice_host& host);

}  // namespace sluice::plugins::external
