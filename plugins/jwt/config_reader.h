// Reads the `jwt` plugin's options from its YAML map (`- jwt: {...}` on a route or under
// publish.plugins) and builds its Verifier: each problem is reported at the key or value
// that causes it, as `sluice --check` reports every other key. The secret has already been
// taken from the environment (`${JWT_SECRET}`) by the config loader and is never echoed.
#pragma once

#include <memory>

#include "gateway/config/yaml_reader.h"
#include "plugins/jwt/verifier.h"

namespace sluice::plugins::jwt {

// nullptr when the options are invalid (at least one error was reported). The caller
// runs r.finish() for unknown keys.
std::shared_ptr<const Verifier> read_jwt_config(config::MapReader& r);

}  // namespace sluice::plugins::jwt
