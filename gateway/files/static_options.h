// What a static route is configured with (routes[].static in the config).
#pragma once

#include <string>

namespace sluice::files {

struct StaticOptions {
    std::string root;                   // folder; relative to the config file's folder
    std::string index = "index.html";  // served for a path naming a folder
};

}  // namespace sluice::files
