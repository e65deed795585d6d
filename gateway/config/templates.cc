#include "gateway/config/templates.h"

#include "gateway/router/path_template.h"

namespace sluice::config {

std::string check_path_template(std::string_view text, std::vector<std::string>& captures) {
    captures.clear();
    std::string error;
    auto parsed = router::PathTemplate::parse(text, &error);
    if (parsed) captures = parsed->capture_names();
    return error;
}

std::string check_prefix(std::string_view text) { return router::check_prefix(text); }

std::string check_channel_template(std::string_view text,
                                   std::vector<std::string>& placeholders) {
    placeholders.clear();
    std::string error;
    auto parsed = router::ChannelTemplate::parse(text, &error);
    if (parsed) placeholders = parsed->placeholder_names();
    return error;
}

}  // namespace sluice::config
