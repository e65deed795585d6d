// Proxy routes (docs/proxy.md): the bridge between a client Connection and a
// proxy::ProxyExchange. The per-loop pools and health checks belong to the Worker.
#include "gateway/app/dispatch.h"
#include "gateway/app/worker.h"
#include "gateway/core/log.h"
#include "gateway/proxy/exchange.h"
#include "gateway/proxy/loop_proxy.h"

namespace sluice::app {
namespace {

// The Responder of a proxied request: hands the client's body and drain to the exchange,
// which answers through the same request.
class ProxyResponder final : public pipeline::Responder {
  public:
    ProxyResponder(pipeline::Request& req, proxy::ExchangeSettings settings)
        : ex_(req, req.head(), req.body_kind(), req.body_complete() && req.body().empty(),
              std::move(settings)) {}

    proxy::ProxyExchange& exchange() { return ex_; }

    void on_request_body(std::string_view bytes) override { ex_.on_request_body(bytes); }
    void on_request_end() override { ex_.on_request_end(); }
    bool on_request_error(int status, std::string_view reason) override {
        return ex_.on_request_error(status, reason);
    }
    void on_low_water() override { ex_.on_downstream_drained(); }
    void on_shutdown() override { ex_.end_stream(); }  // only event streams end early
    void on_close() noexcept override { ex_.cancel(); }

  private:
    proxy::ProxyExchange ex_;
};

uint64_t ms(std::chrono::milliseconds d) { return static_cast<uint64_t>(d.count()); }

}  // namespace

void handle_proxy(pipeline::Request& conn, const Context& ctx, const router::Match& m) {
    const Runtime& rt = *ctx.runtime;
    const proxy::RouteOptions& route = *m.route->route->proxy;
    proxy::LoopProxy& lp = ctx.worker.proxy();
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
    s.client_secure = conn.secure();
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
    const std::string& buffered = conn.body();
    auto responder = std::make_unique<ProxyResponder>(conn, std::move(s));
    proxy::ProxyExchange& ex = responder->exchange();
    conn.hand_over(std::move(responder));
    ex.start();  // may answer (and end the exchange) at once
    if (!buffered.empty() && !ex.done()) {
        ex.on_request_body(buffered);
        ex.on_request_end();
    }
}

}  // namespace sluice::app
