#include "gateway/broker/hub_inbox.h"

namespace sluice::broker {
namespace {

struct AsyncBox {
    uv_async_t handle;
    HubInbox* inbox;
    std::function<void()> drain;
    std::function<void()> on_closed;
};

void uv_async_cb(uv_async_t* handle) noexcept {
    auto* box = reinterpret_cast<AsyncBox*>(handle);
    if (box->drain) box->drain();
}

void uv_async_close_cb(uv_handle_t* handle) noexcept {
    auto* box = reinterpret_cast<AsyncBox*>(handle);
    auto done = std::move(box->on_closed);
    delete box;
    if (done) done();
}

}  // namespace

HubInbox::HubInbox(uv_loop_t* loop, MemoryHub& hub) : loop_(loop), hub_(hub) {}

HubInbox::~HubInbox() {
    if (attached_) hub_.detach(&inbox_);
}

void HubInbox::start(Listener& listener) {
    listener_ = &listener;
    auto* box = new AsyncBox;
    box->inbox = this;
    box->drain = [this] { drain(); };
    uv_async_init(loop_, &box->handle, uv_async_cb);
    async_ = &box->handle;
    uv_async_t* async = async_;
    inbox_.wake = [async] { uv_async_send(async); };
    hub_.attach(&inbox_);
    attached_ = true;
}

void HubInbox::stop(std::function<void()> done) {
    if (attached_) {
        hub_.detach(&inbox_);
        attached_ = false;
    }
    if (!async_) {
        if (done) done();
        return;
    }
    auto* box = reinterpret_cast<AsyncBox*>(async_);
    box->drain = nullptr;
    box->on_closed = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(async_), uv_async_close_cb);
    async_ = nullptr;
}

uint64_t HubInbox::deliver_pending_and_head(const std::string& channel) {
    uint64_t head = 0;
    std::vector<MemoryHub::MessagePtr> batch;
    hub_.with_head(channel, [&](uint64_t h) {
        head = h;
        std::lock_guard<std::mutex> lock(inbox_.mutex);
        batch.swap(inbox_.queue);
    });
    deliver(batch);
    return head;
}

HeldChannel HubInbox::hold(const std::string& channel) {
    MemoryHub::Held held = hub_.hold(channel, &inbox_);
    deliver(held.pending);
    return HeldChannel{held.id, held.head, std::move(held.head_type), std::move(held.events)};
}

uint64_t HubInbox::publish_local(const std::string& channel, const std::string& payload,
                                 const std::string& event) {
    local_pending_ = true;
    return hub_.publish(channel, payload, event, &inbox_);
}

void HubInbox::drain_local() {
    if (!local_pending_) return;
    local_pending_ = false;
    drain();
}

void HubInbox::drain() {
    std::vector<MemoryHub::MessagePtr> batch;
    {
        std::lock_guard<std::mutex> lock(inbox_.mutex);
        batch.swap(inbox_.queue);
    }
    deliver(batch);
}

void HubInbox::deliver(std::vector<MemoryHub::MessagePtr>& batch) {
    if (!listener_) return;
    for (const auto& msg : batch) {
        if (msg->readiness_changed) listener_->on_broker_ready(hub_.ready());
        else listener_->on_broker_message(*msg);
    }
}

}  // namespace sluice::broker
