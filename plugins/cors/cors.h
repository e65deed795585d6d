// cors: Cross-Origin Resource Sharing for a route (or the publish endpoint). Answers
// preflights (OPTIONS with Origin and Access-Control-Request-Method) with 204 and the
// allowed methods, request headers and max-age, before the route's handler (which would
// answer OPTIONS 405 on an sse route); adds Access-Control-Allow-Origin (and credentials,
// exposed headers) to every answer of the route, SSE streams included. A request from an
// origin not allowed is left alone, preflight or not: no CORS headers, so the browser
// refuses it (as Envoy's cors filter does by default).
#pragma once

#include <string>
#include <vector>

#include "plugins/registry.h"

namespace sluice::plugins::cors {

struct Options {
    std::vector<std::string> origins;  // exact origins ("https://app.example.com"), or "*"
    bool any_origin = false;           // origins is ["*"]
    std::vector<std::string> methods;  // for preflights; default: the route's methods
    std::vector<std::string> headers{"Authorization", "Last-Event-ID"};  // allowed request headers
    std::vector<std::string> expose_headers;
    bool credentials = false;
    int64_t max_age_seconds = -1;  // -1: no Access-Control-Max-Age
};

class CorsFilter final : public pipeline::Filter {
  public:
    explicit CorsFilter(Options o);
    std::string_view name() const override { return "cors"; }
    unsigned hooks() const override { return OnRequestHead | OnResponseHead; }
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume) override;
    void on_response_head(const pipeline::Request& req, pipeline::ResponseHead& head) override;

  private:
    bool allowed(const std::string& origin) const;

    Options opts_;
    std::string methods_, headers_, expose_;  // joined once, for the answers
};

PluginDef plugin();

}  // namespace sluice::plugins::cors
