// The host side of plugin.h: the sluice_host callbacks, and what a hook call fills in
// (an answer, an event rewrite), read back by the filter once the hook returns.
#pragma once

#include <string>

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
