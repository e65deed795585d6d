// The publish endpoint's bearer token (publish.token), as the first filter of the publish
// chain: a POST without the token is answered 401, with a wrong one 403, before the
// handler reads anything. Other methods pass (the handler answers them 405).
#pragma once

#include <string>

#include "gateway/pipeline/filter.h"

namespace sluice::app {

class PublishTokenFilter final : public pipeline::Filter {
  public:
    explicit PublishTokenFilter(std::string token) : token_(std::move(token)) {}

    std::string_view name() const override { return "publish_token"; }
    unsigned hooks() const override { return OnRequestHead; }
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume) override;

  private:
    std::string token_;
};

}  // namespace sluice::app
