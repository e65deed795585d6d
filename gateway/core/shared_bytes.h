// Immutable, reference-counted bytes: an encoded event is built once and the same
// buffer is queued on every subscriber's connection (encode once, reference many).
#pragma once

#include <memory>
#include <string>

namespace sluice {

using SharedBytes = std::shared_ptr<const std::string>;

inline SharedBytes make_shared_bytes(std::string s) {
    return std::make_shared<const std::string>(std::move(s));
}

}  // namespace sluice
