#include "plugins/external/yaml_json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace sluice::plugins::external {
namespace {

nlohmann::json scalar(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") return s;  // quoted: a string, whatever it looks like
    if (s == "true") return true;
    if (s == "false") return false;
    if (s == "null" || s == "~") return nullptr;
    int64_t i = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) return i;
    bool numeric = !s.empty() && s.find_first_not_of("0123456789+-.eE") == std::string::npos;
    if (numeric) {
        char* stop = nullptr;
        double d = std::strtod(s.c_str(), &stop);
        if (stop == s.c_str() + s.size() && std::isfinite(d)) return d;
    }
    return s;
}

}  // namespace

nlohmann::json yaml_to_json(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar: return scalar(node);
    case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const YAML::Node& item : node) out.push_back(yaml_to_json(item));
        return out;
    }
    case YAML::NodeType::Map: {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& kv : node) out[kv.first.as<std::string>("")] = yaml_to_json(kv.second);
        return out;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    }
    return nullptr;
}

}  // namespace sluice::plugins::external
