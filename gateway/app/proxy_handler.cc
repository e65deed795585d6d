// Proxy routes (docs/proxy.md): the bridge between a client Connection and a
// proxy::ProxyExchange. The per-loop pools and health checks belong to the Worker.
#include "gateway/app/connection.h"
#include "gateway/app/dispatch.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/proxy/exchange.h"
#include "gateway/proxy/loop_proxy.h"

namespace sluice::app {
namespace {

// Connects the client side of one proxied request to its exchange.
class ProxyBridge final : public Exchange, public proxy::Downstream {
  public:
    ProxyBridge(Connection& conn, bool body_complete, proxy::ExchangeSettings settings)
        : conn_(conn),
          ex_(*this, conn.request(), conn.request_chunked(), body_complete, std::move(settings)) {}

    proxy::ProxyExchange& exchange() { return ex_; }

    // Exchange (client -> upstream)
    void on_request_body(std::string_view bytes) override { ex_.on_request_body(bytes); }
    void on_request_end() override { ex_.on_request_end(); }
    bool on_request_error(int status, std::string_view reason) override {
        return ex_.on_request_error(status, reason);
    }
    void on_drained() override { ex_.on_downstream_drained(); }
    void on_drain() override { ex_.end_stream(); }  // only event streams end early
    void on_close() noexcept override { ex_.cancel(); }

    // proxy::Downstream (upstream -> client)
    void send(std::string bytes) override { conn_.send(std::move(bytes)); }
    uint64_t unsent_bytes() const override { return conn_.unsent_bytes(); }
    void pause_reading() override { conn_.pause_reading(); }
    void resume_reading() override { conn_.resume_reading(); }
    bool keep_alive() const override { return conn_.keep_alive(); }
    // sluice's own answers (502, 504, ...) carry the id they are logged with.
    void respond_error(int status, std::string_view reason) override {
        conn_.set_upstream(std::string(ex_.server()));
        conn_.respond_error(status, reason, {{"X-Request-Id", conn_.request_id()}});
    }
    void finish(int status, bool keep_alive) override {
        conn_.set_upstream(std::string(ex_.server()));
        conn_.end_exchange(status, keep_alive);
    }
    void abort(int status) override {
        conn_.set_upstream(std::string(ex_.server()));
        // What the kernel takes now goes out before the close (the head and body so far),
        // so the client sees where the response broke off rather than nothing (#9).
        conn_.flush();
        conn_.abort_exchange(status);
    }

  private:
    Connection& conn_;
    proxy::ProxyExchange ex_;
};

uint64_t ms(config::Millis d) { return static_cast<uint64_t>(d.count()); }

}  // namespace

void handle_proxy(Connection& conn, const router::Match& m) {
    const Runtime& rt = *conn.request_runtime();
    const config::ProxyRoute& route = *m.route->route->proxy;
    proxy::LoopProxy& lp = conn.worker().proxy();
    lp.sync(rt.config->upstreams, rt.generation);  // no-op unless a reload is newer
    proxy::PoolPtr pool = lp.pool(route.upstream);
    auto up = rt.config->upstreams.find(route.upstream);
    if (!pool || up == rt.config->upstreams.end()) {
        log::warn("proxy route names no upstream", {{"upstream", route.upstream}});
        conn.respond_error(502, "upstream not configured", {{"X-Request-Id", conn.request_id()}});
        return;
    }
    proxy::ExchangeSettings s;
    s.pool = std::move(pool);
    s.client_address = conn.remote();
    s.request_id = conn.request_id();
    s.host_mode = route.host;
    s.host_value = route.host_value;
    s.heartbeat = route.heartbeat;
    s.connect_timeout_ms = ms(route.connect_timeout.value_or(up->second.connect_timeout));
    s.read_timeout_ms = ms(route.read_timeout.value_or(up->second.read_timeout));
    s.client_timeout_ms = ms(rt.config->limits.idle_timeout);
    s.high_water = conn.high_water();
    s.low_water = conn.low_water();

    // Bodies of proxied requests normally stream in after this; one that was read whole
    // (never in practice: see streams_request_body) is handed over in one piece.
    const std::string& buffered = conn.request_body();
    bool complete = conn.request_complete() && buffered.empty();
    auto bridge = std::make_unique<ProxyBridge>(conn, complete, std::move(s));
    ProxyBridge* b = bridge.get();
    conn.begin_exchange(std::move(bridge));
    b->exchange().start();  // may answer (and end the exchange) at once
    if (!buffered.empty() && !b->exchange().done()) {
        b->exchange().on_request_body(buffered);
        b->exchange().on_request_end();
    }
}

}  // namespace sluice::app
