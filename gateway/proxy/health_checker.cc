#include "gateway/proxy/health_checker.h"

#include "gateway/proxy/pool.h"

namespace sluice::proxy {

// One server's check: a timer that alternates between "wait for the next round" and
// "the probe in flight must have answered by now".
class HealthChecker::Probe final : public UpstreamConn::Listener {
  public:
    Probe(HealthChecker& owner, size_t server) : owner_(owner), server_(server) {
        timer_.owner = this;
        timer_.fn = &Probe::timer_cb;
    }
    ~Probe() {
        wheel().cancel(timer_);
        if (conn_) conn_->close();  // silences this listener
    }

    void schedule(uint64_t ms) { wheel().schedule(timer_, ms); }

    void on_upstream_connected() override {
        const HealthCheckOptions& cfg = owner_.cfg_;
        conn_->begin_request(false);
        conn_->send("GET " + cfg.path + " HTTP/1.1\r\nHost: " + owner_.pool_.server_name(server_) +
                    "\r\nUser-Agent: sluice-health-check\r\nConnection: close\r\n\r\n");
    }
    void on_upstream_head(const http::ResponseInfo& head) override {
        record(head.status >= 200 && head.status < 400);
    }
    void on_upstream_body(std::string_view) override {}
    void on_upstream_end(bool) override {}
    void on_upstream_drained() override {}
    void on_upstream_failed(Failure, std::string_view) override {
        conn_ = nullptr;  // it is closing itself
        record(false);
    }

  private:
    TimerWheel& wheel() { return owner_.pool_.context()->wheel(); }

    static void timer_cb(void* self) noexcept { static_cast<Probe*>(self)->on_timer(); }

    void on_timer() {
        if (conn_) {  // no answer within the timeout
            record(false);
            return;
        }
        uint64_t timeout = static_cast<uint64_t>(owner_.cfg_.timeout.count());
        conn_ = owner_.pool_.open_probe(server_, this, timeout);
        if (!conn_) {
            record(false);
            return;
        }
        schedule(timeout);
    }

    void record(bool healthy) {
        if (conn_) {
            conn_->close();
            conn_ = nullptr;
        }
        schedule(static_cast<uint64_t>(owner_.cfg_.interval.count()));
        owner_.pool_.set_checked(server_, healthy);
    }

    HealthChecker& owner_;
    size_t server_;
    TimerWheel::Entry timer_;
    UpstreamConn* conn_ = nullptr;
};

HealthChecker::HealthChecker(Pool& pool, const HealthCheckOptions& cfg)
    : pool_(pool), cfg_(cfg) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::start() {
    for (size_t i = 0; i < pool_.server_count(); ++i) {
        probes_.push_back(std::make_unique<Probe>(*this, i));
        probes_.back()->schedule(0);
    }
}

}  // namespace sluice::proxy
