#include "gateway/core/secret_params.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "gateway/core/ascii.h"

namespace sluice::secret_params {
namespace {

std::mutex mutex;
std::vector<std::string> names;  // a handful: the configured token and key parameters
std::atomic<bool> any{false};    // lets the access log skip the lock when none was added

}  // namespace

void add(std::string_view name) {
    std::lock_guard<std::mutex> lock(mutex);
    bool known = std::any_of(names.begin(), names.end(),
                             [&](const std::string& n) { return ascii_iequals(n, name); });
    if (!known) names.emplace_back(name);
    any.store(true, std::memory_order_release);
}

bool contains(std::string_view name) {
    if (!any.load(std::memory_order_acquire)) return false;
    std::lock_guard<std::mutex> lock(mutex);
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return ascii_iequals(n, name); });
}

}  // namespace sluice::secret_params
