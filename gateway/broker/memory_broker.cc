#include "gateway/broker/memory_broker.h"

namespace sluice::broker {
namespace {

void uv_async_cb(uv_async_t* handle) noexcept {
    auto* drain = static_cast<std::function<void()>*>(handle->data);
    (*drain)();
}

void uv_async_close_cb(uv_handle_t* handle) noexcept {
    delete static_cast<std::function<void()>*>(handle->data);
    delete reinterpret_cast<uv_async_t*>(handle);
}

}  // namespace

MemoryBroker::MemoryBroker(uv_loop_t* loop, MemoryHub& hub) : loop_(loop), hub_(hub) {}

MemoryBroker::~MemoryBroker() {
    if (attached_) hub_.detach(&inbox_);
}

void MemoryBroker::start(Listener& listener) {
    listener_ = &listener;
    async_ = new uv_async_t;
    async_->data = new std::function<void()>([this] { drain(); });
    uv_async_init(loop_, async_, uv_async_cb);
    uv_async_t* async = async_;
    inbox_.wake = [async] { uv_async_send(async); };
    hub_.attach(&inbox_);
    attached_ = true;
    listener_->on_broker_ready(true);
}

void MemoryBroker::stop() {
    if (attached_) {
        hub_.detach(&inbox_);
        attached_ = false;
    }
    if (async_) {
        uv_close(reinterpret_cast<uv_handle_t*>(async_), uv_async_close_cb);
        async_ = nullptr;
    }
}

void MemoryBroker::publish(const std::string& channel, const std::string& payload,
                           const std::string& event, PublishCallback cb) {
    cb(Result<uint64_t>(hub_.publish(channel, payload, event)));
}

std::optional<uint64_t> MemoryBroker::prepare_channel(const std::string& channel) {
    uint64_t head = 0;
    std::vector<MemoryHub::MessagePtr> batch;
    // Read the head and take everything already queued for this loop in one step under
    // the hub lock; delivering that batch first makes local history agree with `head`.
    hub_.with_head(channel, [&](uint64_t h) {
        head = h;
        std::lock_guard<std::mutex> lock(inbox_.mutex);
        batch.swap(inbox_.queue);
    });
    deliver(batch);
    if (head == 0) return std::nullopt;
    return head;
}

void MemoryBroker::drain() {
    std::vector<MemoryHub::MessagePtr> batch;
    {
        std::lock_guard<std::mutex> lock(inbox_.mutex);
        batch.swap(inbox_.queue);
    }
    deliver(batch);
}

void MemoryBroker::deliver(std::vector<MemoryHub::MessagePtr>& batch) {
    if (!listener_) return;
    for (const auto& msg : batch) listener_->on_broker_message(*msg);
}

}  // namespace sluice::broker
