// Query parameters that carry credentials, beyond the fixed list the access log always
// redacts (access_token, api_key, ...): the names plugins are configured to read a token
// or a key from (`from: [query:t]`). A plugin adds its names when it is built; names are
// never taken out again, so after a reload that drops one it is still redacted (the safe
// side). Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice::secret_params {

void add(std::string_view name);
// Compared without regard to case, like the fixed list.
bool contains(std::string_view name);

}  // namespace sluice::secret_params
