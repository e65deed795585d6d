// headers: edits the request headers before the route's handler (so a proxy route's
// upstream sees the edit) and the headers of every answer of the route. For each side,
// `remove` runs first, then `set` (replaces every header of that name), then `add`
// (appends one more).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plugins/registry.h"

namespace sluice::plugins::headers {

struct Edits {
    std::vector<std::string> remove;
    std::vector<std::pair<std::string, std::string>> set, add;
    bool empty() const { return remove.empty() && set.empty() && add.empty(); }
};

struct Options {
    Edits request, response;
};

// Applies `e` to a header list whose entries are (name, value) pairs; names compare
// case-insensitively.
void apply_header_edits(const Edits& e, std::vector<http::Header>& headers);
void apply_header_edits(const Edits& e, pipeline::Headers& headers);

class HeadersFilter final : public pipeline::Filter {
  public:
    explicit HeadersFilter(Options o) : opts_(std::move(o)) {}
    std::string_view name() const override { return "headers"; }
    unsigned hooks() const override;
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume) override;
    void on_response_head(const pipeline::Request& req, pipeline::ResponseHead& head) override;

  private:
    Options opts_;
};

PluginDef plugin();

}  // namespace sluice::plugins::headers
