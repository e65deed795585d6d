// Channel templates as Redis PSUBSCRIBE patterns: which Redis channels carry the events
// of the channels a route can name. Redis glob syntax stays here, with the broker.
#pragma once

#include <string>

#include "gateway/router/path_template.h"

namespace sluice::broker {

// Placeholders become '*'; glob metacharacters in the literal text are escaped
// ("analysis:{id}" -> "analysis:*", "q?" -> "q\?").
std::string redis_glob(const router::ChannelTemplate& channel);

}  // namespace sluice::broker
