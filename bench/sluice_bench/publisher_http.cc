#include "bench/sluice_bench/publisher_http.h"

#include "bench/sluice_bench/report.h"
#include "bench/sluice_bench/target.h"

namespace sluice::bench {
namespace {

constexpr uint64_t kRetryAfterFailureMs = 250;

}  // namespace

class HttpPublisher::Conn final : public TcpClient::Listener {
public:
    explicit Conn(HttpPublisher& owner) : owner_(owner), client_(owner.loop_, *this) {
        sink_ = [this](std::string_view b) {
            if (body_.size() < 200) body_.append(b.substr(0, 200 - body_.size()));
        };
    }

    void enqueue(std::string request) {
        if (client_.state() == TcpClient::State::Idle &&
            uv_now(owner_.loop_) < broken_until_ms_) {
            // The server refused us a moment ago; fail fast rather than queue unboundedly.
            owner_.on_error(last_error_);
            --owner_.unanswered_;
            return;
        }
        queue_.push_back(std::move(request));
    }

    void pump() {
        if (owner_.shutting_down_ || queue_.empty()) return;
        if (client_.state() == TcpClient::State::Idle) {
            connected_ = false;
            answered_here_ = 0;
            client_.open(owner_.dest_, std::nullopt);
            if (client_.state() != TcpClient::State::Connecting) return;
        }
        if (client_.state() == TcpClient::State::Closing) return;
        // A server that closes after every answer (Pushpin's publish endpoint) would drop the
        // rest of a pipeline, so it gets one request per connection.
        uint64_t depth = closes_after_answer_ ? 1 : kPipelineDepth;
        while (sent_.size() < depth && !queue_.empty()) {
            client_.write(queue_.front());
            sent_.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
    }

    void close() { client_.close(); }

    void on_connected() override { connected_ = true; }

    void on_data(std::string_view bytes) override {
        while (!bytes.empty()) {
            std::size_t used = parser_.feed(bytes, sink_);
            bytes.remove_prefix(used);
            if (parser_.failed()) {
                fail_in_flight("publish response: " + parser_.error());
                client_.close();
                return;
            }
            if (!parser_.done()) continue;
            answer(parser_.status());
            auto conn = parser_.header("connection");
            bool closing = conn && (*conn == "close" || *conn == "Close");
            parser_.reset();
            body_.clear();
            if (closing) {
                // The rest of the pipeline was never read: send it again on a new connection.
                closes_after_answer_ = true;
                requeue_in_flight();
                client_.close();
                return;
            }
        }
        pump();
    }

    void on_failed(int status) override {
        if (status == UV_EOF && answered_here_ > 0) {
            // A keep-alive connection the server closed between answers: what it did not
            // answer was not processed, so it goes out again.
            parser_.on_eof();
            if (parser_.done()) answer(parser_.status());
            requeue_in_flight();
            return;
        }
        last_error_ = status == UV_EOF ? std::string("publish connection closed by the server")
                                       : "publish connection: " + uv_error_text(status);
        fail_in_flight(last_error_);
        if (!connected_) {
            // Could not connect at all: drop what waits too, and pause new attempts briefly.
            owner_.on_error(last_error_, queue_.size());
            owner_.unanswered_ -= queue_.size();
            queue_.clear();
            broken_until_ms_ = uv_now(owner_.loop_) + kRetryAfterFailureMs;
        }
    }

    void on_closed() override {
        parser_.reset();
        body_.clear();
        pump();  // reconnect if requests are still waiting
    }

private:
    void answer(int status) {
        if (sent_.empty()) return;
        sent_.pop_front();
        ++answered_here_;
        --owner_.unanswered_;
        if (status >= 200 && status < 300) owner_.on_acked();
        else owner_.on_error("HTTP " + std::to_string(status) + " " + body_);
    }

    void requeue_in_flight() {
        while (!sent_.empty()) {
            queue_.push_front(std::move(sent_.back()));
            sent_.pop_back();
        }
    }

    void fail_in_flight(const std::string& why) {
        owner_.on_error(why, sent_.size());
        owner_.unanswered_ -= sent_.size();
        sent_.clear();
    }

    HttpPublisher& owner_;
    TcpClient client_;
    HttpResponseParser parser_;
    HttpResponseParser::BodySink sink_;
    std::string body_;                // start of the current response body, for error messages
    std::deque<std::string> queue_;   // requests not yet written
    std::deque<std::string> sent_;    // written, not yet answered (resent if the server closes)
    uint64_t answered_here_ = 0;      // answers on the current connection
    uint64_t broken_until_ms_ = 0;
    std::string last_error_;
    bool connected_ = false;
    bool closes_after_answer_ = false;
};

HttpPublisher::HttpPublisher(uv_loop_t* loop, const Options& opt, PublishLedger& ledger,
                             std::string run_id)
    : Publisher(loop, opt, ledger, std::move(run_id)) {
    const auto& t = opt.publish_target;
    dest_ = *make_sockaddr(t.endpoint.ip, t.endpoint.port, t.endpoint.ipv6);
    for (uint32_t c = 0; c < opt.channels; ++c) {
        std::string h = "POST " + expand_template(t.path_template, c, c) + " HTTP/1.1\r\nHost: " +
                        t.host_header + "\r\n";
        if (!opt.token.empty()) h += "Authorization: Bearer " + opt.token + "\r\n";
        h += "Content-Type: application/json\r\nContent-Length: ";
        heads_.push_back(std::move(h));
    }
    for (uint32_t i = 0; i < opt.publish_connections; ++i)
        conns_.push_back(std::make_unique<Conn>(*this));
}

HttpPublisher::~HttpPublisher() = default;

void HttpPublisher::open() {
    // Connections open lazily on their first request.
}

void HttpPublisher::submit(uint32_t ch, uint64_t seq, std::string_view payload) {
    std::string body;
    if (opt_.publish_format == PublishFormat::Pushpin) {
        std::string content = "id: " + std::to_string(seq) + "\ndata: ";
        content += payload;
        content += "\n\n";
        body = "{\"items\":[{\"channel\":" +
               json_quote(expand_template(opt_.publish_channel, ch, ch)) +
               ",\"formats\":{\"http-stream\":{\"content\":" + json_quote(content) + "}}}]}";
        payload = body;
    }
    std::string req;
    req.reserve(heads_[ch].size() + payload.size() + 16);
    req += heads_[ch];
    req += std::to_string(payload.size());
    req += "\r\n\r\n";
    req += payload;
    ++unanswered_;
    conns_[ch % conns_.size()]->enqueue(std::move(req));
}

void HttpPublisher::flush() {
    for (auto& c : conns_) c->pump();
}

void HttpPublisher::close_transport() {
    shutting_down_ = true;
    for (auto& c : conns_) c->close();
}

}  // namespace sluice::bench
