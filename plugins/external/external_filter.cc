#include "plugins/external/external_filter.h"

#include "gateway/core/log.h"
#include "gateway/proxy/loop_proxy.h"
#include "gateway/sse/encode.h"
#include "plugins/external/host.h"

namespace sluice::plugins::external {
namespace {

sluice_str str(std::string_view s) { return sluice_str{s.data(), s.size()}; }

int kind_of(const BuildContext& ctx) {
    if (ctx.publish || !ctx.route) return SLUICE_ROUTE_PUBLISH;
    switch (ctx.route->route->kind) {
    case router::RouteKind::Sse: return SLUICE_ROUTE_SSE;
    case router::RouteKind::Poll: return SLUICE_ROUTE_POLL;
    case router::RouteKind::Proxy: return SLUICE_ROUTE_PROXY;
    case router::RouteKind::Static: return SLUICE_ROUTE_STATIC;
    }
    return 0;
}

}  // namespace

ExternalFilter::ExternalFilter(std::unique_ptr<Instance> inst, const BuildContext& ctx)
    : inst_(std::move(inst)), route_label_(ctx.route_label), route_kind_(kind_of(ctx)) {
    const sluice_plugin& d = inst_->desc();
    keeps_copies_ = d.on_event || d.on_close;
    // The head hook also takes the copy the later hooks read, and the close hook drops it.
    if (d.on_request_head || keeps_copies_) hooks_ |= OnRequestHead;
    if (d.on_event) hooks_ |= OnEvent;
    if (keeps_copies_) hooks_ |= OnClose;
    if (ctx.route && ctx.route->path && ctx.route->channel) route_ = ctx.route;
}

std::string ExternalFilter::channel_of(const http::RequestHead& head) const {
    if (!route_) return "";
    router::Captures caps;
    router::ChannelTemplate::ExpandError e{};
    if (!route_->path->match(head.path, caps)) return "";
    return route_->channel->expand(caps, &e).value_or("");
}

sluice_request ExternalFilter::view(const RequestCopy& r) const {
    sluice_request v{};
    v.method = str(r.method);
    v.path = str(r.path);
    v.query = str(r.query);
    v.remote_addr = str(r.remote);
    v.route = str(route_label_);
    v.channel = str(r.channel);
    v.route_kind = route_kind_;
    v.host_private = &r.headers;  // what host->header() reads
    return v;
}

ExternalFilter::Shard& ExternalFilter::shard(const pipeline::Request* req) {
    return shards_[std::hash<const pipeline::Request*>{}(req) % kShards];
}

std::shared_ptr<const ExternalFilter::RequestCopy> ExternalFilter::copy_of(const pipeline::Request& req) {
    Shard& s = shard(&req);
    std::lock_guard lock(s.mutex);
    auto it = s.copies.find(&req);
    return it == s.copies.end() ? nullptr : it->second;
}

std::function<sluice_pending*()> ExternalFilter::suspender(pipeline::Request& req,
                                                           const pipeline::Resume& resume) const {
    proxy::LoopProxy* lp = proxy::LoopProxy::current();
    if (!lp) return nullptr;  // not on a worker loop: nothing could resume it (suspend gives NULL)
    return [loop = lp->context()->dispatcher->post_handle(), &req, resume, name = inst_->name(),
            self = shared_from_this()] {
        auto* p = new sluice_pending;  // owned by the plugin until host->resume
        p->loop = loop;
        p->alive = req.alive();
        p->req = &req;
        p->resume = resume;
        p->plugin = name;
        p->instance = self;
        return p;
    };
}

void ExternalFilter::fail(pipeline::Request& req, const std::string& why) const {
    log::error("plugin broke the plugin ABI rules", {{"plugin", inst_->name()}, {"reason", why}});
    req.respond_error(500, "plugin " + inst_->name() + " failed");
}

pipeline::HeadVerdict ExternalFilter::on_request_head(pipeline::Request& req, pipeline::Resume resume) {
    const http::RequestHead& h = req.head();
    auto copy = std::make_shared<RequestCopy>(
        RequestCopy{h.method, h.path, h.query, req.remote(), channel_of(h), h.headers});
    if (keeps_copies_) {
        Shard& s = shard(&req);
        std::lock_guard lock(s.mutex);
        s.copies[&req] = copy;
    }
    if (!inst_->desc().on_request_head) return pipeline::HeadVerdict::Pass;
    sluice_request v = view(*copy);
    sluice_answer answer;
    if (inst_->desc().flags & SLUICE_PLUGIN_SUSPENDS) answer.suspend = suspender(req, resume);
    int result = inst_->desc().on_request_head(inst_->get(), &v, &answer);
    if (answer.pending && result != SLUICE_SUSPEND) answer.pending->suspended = false;
    switch (result) {
    case SLUICE_PASS: return pipeline::HeadVerdict::Pass;
    case SLUICE_ANSWER: break;
    case SLUICE_SUSPEND:
        if (answer.pending) return pipeline::HeadVerdict::Suspended;
        fail(req, (inst_->desc().flags & SLUICE_PLUGIN_SUSPENDS)
                      ? "returned SLUICE_SUSPEND without a handle from suspend"
                      : "returned SLUICE_SUSPEND without the flag SLUICE_PLUGIN_SUSPENDS");
        return pipeline::HeadVerdict::Answered;
    default:
        fail(req, "on_request_head returned " + std::to_string(result));
        return pipeline::HeadVerdict::Answered;
    }
    if (!answer.set) {
        fail(req, "returned SLUICE_ANSWER without calling answer or answer_error");
    } else if (answer.status < 200 || answer.status > 599) {
        fail(req, "answered with status " + std::to_string(answer.status) + " (200..599)");
    } else if (!answer.invalid.empty()) {
        fail(req, "answered with " + answer.invalid);
    } else if (answer.error) {
        req.respond_error(answer.status, answer.reason, std::move(answer.headers));
    } else {
        req.respond(answer.status, answer.body, answer.content_type, std::move(answer.headers));
    }
    return pipeline::HeadVerdict::Answered;
}

pipeline::EventVerdict ExternalFilter::on_event(const pipeline::Request& req,
                                                const history::StoredEvent& ev, std::string& data) {
    std::shared_ptr<const RequestCopy> copy = copy_of(req);
    if (!copy) return pipeline::EventVerdict::Keep;  // never seen by this plugin's head hook
    sluice_request v = view(*copy);
    std::string name = sse::event_name_from_encoded(*ev.encoded);
    std::string payload = sse::event_data_from_encoded(*ev.encoded);
    sluice_event e{ev.position, str(name), str(ev.type), str(payload)};
    sluice_rewrite rewrite;
    int result = inst_->desc().on_event(inst_->get(), &v, &e, &rewrite);
    switch (result) {
    case SLUICE_KEEP: return pipeline::EventVerdict::Keep;
    case SLUICE_DROP: return pipeline::EventVerdict::Drop;
    case SLUICE_REWRITE:
        if (!rewrite.set) return pipeline::EventVerdict::Keep;
        if (!rewrite.invalid.empty()) {
            log::error("plugin broke the plugin ABI rules",
                       {{"plugin", inst_->name()}, {"reason", "rewrote an event with " + rewrite.invalid}});
            return pipeline::EventVerdict::Keep;
        }
        data = std::move(rewrite.data);
        return pipeline::EventVerdict::Rewrite;
    default:
        log::error("plugin broke the plugin ABI rules",
                   {{"plugin", inst_->name()}, {"reason", "on_event returned " + std::to_string(result)}});
        return pipeline::EventVerdict::Keep;
    }
}

void ExternalFilter::on_close(const pipeline::Request& req) {
    std::shared_ptr<const RequestCopy> copy;
    {
        Shard& s = shard(&req);
        std::lock_guard lock(s.mutex);
        auto it = s.copies.find(&req);
        if (it == s.copies.end()) return;  // stopped by a plugin before this one
        copy = std::move(it->second);
        s.copies.erase(it);
    }
    if (!inst_->desc().on_close) return;
    sluice_request v = view(*copy);
    inst_->desc().on_close(inst_->get(), &v);
}

}  // namespace sluice::plugins::external
