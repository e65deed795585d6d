#include "gateway/proxy/subrequest.h"

#include <nlohmann/json.hpp>

#include "gateway/core/log.h"

namespace sluice::proxy {

Subrequest::Subrequest(http::RequestHead head, SubrequestSettings settings,
                       std::function<void(Subrequest&)> finished)
    : head_(std::move(head)), settings_(std::move(settings)), finished_(std::move(finished)) {
    deadline_.owner = this;
    deadline_.fn = &Subrequest::deadline_cb;
}

Subrequest::~Subrequest() {
    wheel().cancel(deadline_);
    exchange_.reset();  // it refers to this object as its client
}

TimerWheel& Subrequest::wheel() const { return settings_.exchange.pool->context()->wheel(); }

uint64_t Subrequest::now_ms() const { return settings_.exchange.pool->context()->now_ms(); }

void Subrequest::start() {
    wheel().schedule(deadline_, settings_.deadline_ms);
    exchange_ = std::make_unique<ProxyExchange>(*this, head_, pipeline::RequestBody::None, true,
                                                settings_.exchange);
    exchange_->start();  // may fail at once (no healthy server): finish() defers the news
}

void Subrequest::cancel(int status, std::string_view reason) {
    if (done_) return;
    if (exchange_) exchange_->cancel();
    fail(status, reason);
}

// Only ProxyExchange's own error answers (respond_error) come here: the upstream's
// answers arrive through start_response.
void Subrequest::respond(int status, std::string_view body, std::string_view,
                         pipeline::Headers) {
    std::string reason = "upstream failed";
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string())
        reason = parsed["error"].get<std::string>();
    fail(status, reason);
}

void Subrequest::start_response(pipeline::ResponseHead head) {
    if (done_) return;
    answer_.status = head.status;
    answer_.headers = std::move(head.headers);
}

void Subrequest::write(SharedBytes bytes) {
    if (done_) return;
    size_t room = settings_.max_body - std::min(settings_.max_body, answer_.body.size());
    if (bytes->size() > room) answer_.body_cut = true;
    answer_.body.append(*bytes, 0, std::min(room, bytes->size()));
}

void Subrequest::end_response() {
    if (done_) return;
    finish();
}

void Subrequest::close(pipeline::CloseMode, sse::CloseReason) {
    // The upstream broke off its response (or stopped sending it) after the head.
    fail(502, "upstream failed during the response");
}

void Subrequest::fail(int status, std::string_view reason) {
    if (done_) return;
    answer_.failed = true;
    answer_.status = status;
    answer_.reason = std::string(reason);
    answer_.headers.clear();
    answer_.body.clear();
    finish();
}

void Subrequest::finish() {
    done_ = true;
    life_.end();
    wheel().cancel(deadline_);
    finished_(*this);  // the owner destroys this object later, never inside this call
}

void Subrequest::deadline_cb(void* self) noexcept {
    auto* s = static_cast<Subrequest*>(self);
    try {
        if (s->exchange_) s->exchange_->cancel();
        s->fail(504, "upstream did not answer within the timeout");
    } catch (const std::exception& e) {
        log::error("subrequest timer error", {{"error", e.what()}});
    }
}

}  // namespace sluice::proxy
