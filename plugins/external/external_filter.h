// A third-party plugin instance as a pipeline::Filter: each hook builds the C view of the
// request (and event), calls the plugin, and turns what it filled in into sluice's
// answer or rewrite. A plugin that breaks the rules (an invalid answer, SLUICE_SUSPEND
// without a suspend, an unknown result) gets its request answered 500 and an error
// logged, never a crash. A suspended request is resumed on its own loop (host.h).
//
// A stream's request head is gone once its answer has started (the carrier frees it), so
// for plugins with on_event or on_close the request-head hook keeps a copy of what the
// view needs (RequestCopy) until the request's close hook.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/router/route_table.h"
#include "plugins/external/host.h"
#include "plugins/external/instance.h"
#include "plugins/registry.h"

namespace sluice::plugins::external {

class ExternalFilter final : public pipeline::Filter,
                             public std::enable_shared_from_this<ExternalFilter> {
  public:
    ExternalFilter(std::unique_ptr<Instance> inst, const BuildContext& ctx);
    std::string_view name() const override { return inst_->name(); }
    unsigned hooks() const override { return hooks_; }
    pipeline::HeadVerdict on_request_head(pipeline::Request& req, pipeline::Resume) override;
    pipeline::EventVerdict on_event(const pipeline::Request& req, const history::StoredEvent& ev,
                                    std::string& data) override;
    void on_close(const pipeline::Request& req) override;

  private:
    struct RequestCopy {
        std::string method, path, query, remote, channel;
        std::vector<http::Header> headers;
    };
    // Copies by request, sharded so that workers rarely wait for each other.
    struct Shard {
        std::mutex mutex;
        std::unordered_map<const pipeline::Request*, std::shared_ptr<const RequestCopy>> copies;
    };
    static constexpr size_t kShards = 16;

    std::string channel_of(const http::RequestHead& head) const;
    sluice_request view(const RequestCopy& r) const;
    Shard& shard(const pipeline::Request* req);
    std::shared_ptr<const RequestCopy> copy_of(const pipeline::Request& req);
    void fail(pipeline::Request& req, const std::string& why) const;
    // What host->suspend calls for this request (plugins with SLUICE_PLUGIN_SUSPENDS).
    std::function<sluice_pending*()> suspender(pipeline::Request& req,
                                               const pipeline::Resume& resume) const;

    std::unique_ptr<Instance> inst_;
    unsigned hooks_ = 0;
    std::string route_label_;
    int route_kind_ = 0;
    const router::CompiledRoute* route_ = nullptr;  // sse and poll: to name the channel
    bool keeps_copies_ = false;  // the plugin has on_event or on_close
    std::array<Shard, kShards> shards_;
};

}  // namespace sluice::plugins::external
