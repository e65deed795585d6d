// api_key: who may use a route (or publish) by a static key, from the config (`keys:`,
// usually "${API_KEY}") and/or a keys file (re-read when a reload builds the plugin
// again). On each request head:
//
//   no key in any source            401  WWW-Authenticate: ApiKey realm="sluice"
//   a key that is not one of ours   401  ... error="invalid_key"
//   channel outside the key's list  403  (sse, poll and publish routes)
//   otherwise                       pass
//
// The key is read from `from` in order: header:<name> (default X-API-Key) or
// query:<name> (redacted in the access log).
#pragma once

#include <string>
#include <vector>

#include "plugins/api_key/keys.h"
#include "plugins/auth/decisions.h"
#include "plugins/registry.h"

namespace sluice::plugins::api_key {

struct KeySource {
    enum class Kind { Header, Query };
    Kind kind = Kind::Header;
    std::string name;
};

struct Options {
    std::vector<Key> keys;
    std::vector<KeySource> from{{KeySource::Kind::Header, "X-API-Key"}};
};

// "header:<name>" or "query:<name>"; nullopt with `error` otherwise.
std::optional<KeySource> parse_key_source(std::string_view text, std::string& error);

class ApiKeyFilter final : public pipeline::Filter {
  public:
    ApiKeyFilter(Options o, const BuildContext& ctx);

    std::string_view name() const override { return "api_key"; }
    unsigned hooks() const override { return OnRequestHead; }
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume) override;

  private:
    Options opts_;
    ChannelOf channel_of_;
    auth::Decisions decisions_;
};

PluginDef plugin();

}  // namespace sluice::plugins::api_key
