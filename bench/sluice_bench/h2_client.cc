#include "bench/sluice_bench/h2_client.h"

#include <algorithm>
#include <cctype>

namespace sluice::bench {
namespace {

constexpr int32_t kStreamWindow = 1 << 20;       // per stream: SSE never waits on a window
constexpr int32_t kConnectionWindow = 64 << 20;  // shared by every stream of the connection

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// --- H2StreamClient --------------------------------------------------------------------

void H2StreamClient::open(const sockaddr_storage& dest, std::optional<uint32_t> source_ip) {
    if (state_ != State::Idle) return;
    state_ = State::Waiting;
    status_ = 0;
    head_.clear();
    conn_.attach(*this, dest, source_ip);
}

void H2StreamClient::write(std::string_view request) {
    if (state_ == State::Waiting) conn_.submit(*this, request);
}

void H2StreamClient::close() {
    if (state_ == State::Idle || state_ == State::Closing) return;
    conn_.cancel(*this);
}

// --- H2Connection ----------------------------------------------------------------------

H2Connection::H2Connection(uv_loop_t* loop, const TlsClientContext* tls, std::string sni,
                           std::string scheme)
    : loop_(loop), tcp_(loop, *this), tls_(tls != nullptr), scheme_(std::move(scheme)) {
    if (tls) tcp_.set_tls(tls, std::move(sni));
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    timer_open_ = true;
}

H2Connection::~H2Connection() {
    if (session_) nghttp2_session_del(session_);
}

void H2Connection::shutdown() {
    timer_cb(&timer_);  // streams closed by the run's end hear it now: the timer goes
    tcp_.close();
    if (timer_open_) {
        timer_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    }
}

void H2Connection::attach(H2StreamClient& s, const sockaddr_storage& dest,
                          std::optional<uint32_t> src) {
    if (session_) {
        s.listener_.on_connected();  // writes its request: submit()
        return;
    }
    waiting_.push_back(&s);
    dest_ = dest;
    src_ = src;
    if (tcp_.state() == TcpClient::State::Idle) tcp_.open(dest_, src_);
    // Closing: on_closed reconnects for the waiting streams.
}

void H2Connection::submit(H2StreamClient& s, std::string_view request) {
    if (!session_) return;
    // The subscriber's HTTP/1.1 request: "GET /path HTTP/1.1", then "Name: value" lines.
    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t eol = request.find("\r\n");
    std::string_view line = request.substr(0, eol);
    std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    fields.emplace_back(":method", std::string(line.substr(0, sp1)));
    fields.emplace_back(":path", std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)));
    fields.emplace_back(":scheme", scheme_);
    while (eol != std::string_view::npos) {
        request.remove_prefix(eol + 2);
        eol = request.find("\r\n");
        line = request.substr(0, eol);
        std::size_t colon = line.find(':');
        if (line.empty() || colon == std::string_view::npos) break;
        std::string name = lower(line.substr(0, colon));
        std::string value(line.substr(colon + 1));
        value.erase(0, value.find_first_not_of(' '));
        if (name == "host") fields.emplace_back(":authority", value);
        else if (name != "connection") fields.emplace_back(std::move(name), std::move(value));
    }
    // Pseudo-headers first, as HTTP/2 requires (":authority" was read with the others).
    std::stable_partition(fields.begin(), fields.end(),
                          [](const auto& f) { return f.first[0] == ':'; });
    std::vector<nghttp2_nv> nva;
    for (const auto& f : fields) nva.push_back(make_nv(f.first, f.second));
    int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), nullptr, nullptr);
    if (id < 0) {
        s.state_ = H2StreamClient::State::Closing;
        s.listener_.on_failed(UV_EPROTO);
        close_later(s);
        return;
    }
    s.state_ = H2StreamClient::State::Open;
    s.stream_id_ = id;
    streams_[id] = &s;
    flush();
}

void H2Connection::cancel(H2StreamClient& s) {
    if (s.state_ == H2StreamClient::State::Waiting)
        waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &s), waiting_.end());
    if (s.stream_id_ && session_) {
        streams_.erase(s.stream_id_);
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.stream_id_, NGHTTP2_CANCEL);
        flush();
    }
    s.stream_id_ = 0;
    s.state_ = H2StreamClient::State::Closing;
    close_later(s);
}

void H2Connection::on_connected() {
    if (tls_ && tcp_.alpn() != "h2") return fail_all(UV_EPROTO);  // the server did not pick h2
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close_cb);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
    std::vector<H2StreamClient*> joined;
    joined.swap(waiting_);
    for (H2StreamClient* s : joined) s->listener_.on_connected();
    flush();
}

void H2Connection::on_data(std::string_view bytes) {
    if (!session_) return;
    ssize_t rc = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size());
    if (rc < 0) {
        tcp_.close();
        return fail_all(UV_EPROTO);
    }
    flush();
}

void H2Connection::on_failed(int uv_status) { fail_all(uv_status); }

void H2Connection::on_closed() {
    if (!waiting_.empty()) tcp_.open(dest_, src_);  // streams that joined while it closed
}

void H2Connection::flush() {
    if (!session_) return;
    for (;;) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) break;
        tcp_.write(std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
    }
}

void H2Connection::fail_all(int uv_status) {
    if (session_) {
        nghttp2_session_del(session_);
        session_ = nullptr;
    }
    std::vector<H2StreamClient*> gone;
    for (const auto& entry : streams_) gone.push_back(entry.second);
    streams_.clear();
    gone.insert(gone.end(), waiting_.begin(), waiting_.end());
    waiting_.clear();
    for (H2StreamClient* s : gone) {
        s->stream_id_ = 0;
        s->state_ = H2StreamClient::State::Closing;
        s->listener_.on_failed(uv_status);
        close_later(*s);
    }
}

void H2Connection::close_later(H2StreamClient& s) {
    closing_.push_back(&s);
    if (timer_open_) uv_timer_start(&timer_, timer_cb, 0, 0);
}

void H2Connection::timer_cb(uv_timer_t* t) noexcept {
    auto* self = static_cast<H2Connection*>(t->data);
    std::vector<H2StreamClient*> closed;
    closed.swap(self->closing_);
    for (H2StreamClient* s : closed) {
        s->state_ = H2StreamClient::State::Idle;
        s->listener_.on_closed();  // may open it again
    }
}

H2StreamClient* H2Connection::stream(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
}

int H2Connection::on_header_cb(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                               size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                               void* self) noexcept {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2StreamClient* s = static_cast<H2Connection*>(self)->stream(frame->hd.stream_id);
    if (!s || s->status_ == -1) return 0;  // a trailer block after the body is ignored
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") s->status_ = std::atoi(std::string(v).c_str());
    else s->head_.append(n).append(": ").append(v).append("\r\n");
    return 0;
}

int H2Connection::on_frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* self) noexcept {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE) return 0;
    H2StreamClient* s = static_cast<H2Connection*>(self)->stream(frame->hd.stream_id);
    if (!s) return 0;
    // The body runs to the end of the stream, which the HTTP/1.1 parser reads as the end of
    // the connection.
    std::string head = "HTTP/1.1 " + std::to_string(s->status_) + " H2\r\n" + s->head_ + "\r\n";
    s->status_ = -1;
    s->listener_.on_data(head);
    return 0;
}

int H2Connection::on_data_chunk_cb(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                                   size_t len, void* self) noexcept {
    H2StreamClient* s = static_cast<H2Connection*>(self)->stream(id);
    if (s) s->listener_.on_data(std::string_view(reinterpret_cast<const char*>(data), len));
    return 0;
}

int H2Connection::on_stream_close_cb(nghttp2_session*, int32_t id, uint32_t, void* self) noexcept {
    auto* conn = static_cast<H2Connection*>(self);
    H2StreamClient* s = conn->stream(id);
    if (!s) return 0;  // cancelled by us
    conn->streams_.erase(id);
    s->stream_id_ = 0;
    s->state_ = H2StreamClient::State::Closing;
    s->listener_.on_failed(UV_EOF);
    conn->close_later(*s);
    return 0;
}

}  // namespace sluice::bench
