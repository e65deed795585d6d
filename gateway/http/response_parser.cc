// ResponseParser: llhttp in response mode, paused at every event (head, body span, end)
// so feed() can hand each one back to the caller. While the head is incomplete llhttp never
// sees more than the remaining head budget, as in RequestParser. Framing is strict: a
// Transfer-Encoding other than a single "chunked", or one next to Content-Length, is an
// error rather than a body we would pass on undecoded or mis-delimited.
#include "gateway/http/response_parser.h"

#include <llhttp.h>

#include "gateway/http/ascii.h"
#include "gateway/http/llhttp_bind.h"

namespace sluice::http {

const std::string* ResponseInfo::header(std::string_view name) const {
    for (const Header& h : headers) {
        if (iequals(h.name, name)) return &h.value;
    }
    return nullptr;
}

struct ResponseParser::Impl {
    explicit Impl(uint64_t max_head) : max_head_size(max_head) {
        llhttp_init(&parser, HTTP_RESPONSE, &callbacks());
        parser.data = this;
    }

    ResponseInfo head;
    std::string field;
    std::string value;
    uint64_t head_bytes = 0;
    uint64_t message_bytes = 0;
    bool headers_done = false;
    bool head_reported = false;
    bool complete = false;
    bool paused = false;  // llhttp is paused (head, body span): resume before executing
    const char* body_at = nullptr;
    size_t body_len = 0;
    bool body_ready = false;
    bool no_body = false;  // mode for the current request (HEAD)
    bool failed = false;
    std::string fail_reason;

    uint64_t max_head_size;
    llhttp_t parser{};

    // One callback table for every response parser (llhttp keeps a pointer to it).
    static const llhttp_settings_t& callbacks() {
        static const llhttp_settings_t table = [] {
            llhttp_settings_t t;
            llhttp_settings_init(&t);
            using namespace llhttp_bind;
            t.on_status = &data<Impl, &Impl::on_status>;
            t.on_header_field = &data<Impl, &Impl::on_header_field>;
            t.on_header_value = &data<Impl, &Impl::on_header_value>;
            t.on_header_value_complete = &event<Impl, &Impl::on_header_value_complete>;
            t.on_headers_complete = &event<Impl, &Impl::on_headers_complete>;
            t.on_body = &data<Impl, &Impl::on_body>;
            t.on_message_complete = &event<Impl, &Impl::on_message_complete>;
            return t;
        }();
        return table;
    }

    void clear() {
        head = ResponseInfo{};
        field.clear();
        value.clear();
        head_bytes = message_bytes = 0;
        headers_done = head_reported = complete = paused = body_ready = false;
        body_at = nullptr;
        body_len = 0;
        failed = false;
        fail_reason.clear();
        llhttp_reset(&parser);
    }

    int fail(std::string_view reason) {
        if (!failed) {
            failed = true;
            fail_reason = reason;
        }
        return -1;
    }

    ResponseParseResult error(size_t consumed) {
        if (!failed) {
            const char* r = llhttp_get_error_reason(&parser);
            fail(r ? r : llhttp_errno_name(llhttp_get_errno(&parser)));
        }
        ResponseParseResult out;
        out.kind = ResponseParseResult::Kind::Error;
        out.consumed = consumed;
        out.reason = fail_reason;
        return out;
    }

    int on_status(const char* at, size_t n) {
        head.reason.append(at, n);
        return 0;
    }
    int on_header_field(const char* at, size_t n) {
        if (!headers_done) field.append(at, n);  // after the head: chunked trailers, ignored
        return 0;
    }
    int on_header_value(const char* at, size_t n) {
        if (!headers_done) value.append(at, n);
        return 0;
    }
    int on_header_value_complete() {
        if (headers_done) return 0;
        if (!is_token(field)) return fail("invalid header name in upstream response");
        head.headers.push_back(Header{std::move(field), std::string(trim_ows(value))});
        field.clear();
        value.clear();
        return 0;
    }

    int on_headers_complete() {
        head.status = parser.status_code;
        head.version_major = parser.http_major;
        head.version_minor = parser.http_minor;
        head.keep_alive = llhttp_should_keep_alive(&parser) != 0;
        headers_done = true;
        // llhttp takes any three digits. Below 100 there is no such status (RFC 9110 15),
        // and llhttp would still read a Content-Length body that the bodiless rule says is
        // not there (found by tests/fuzz/response_parser_fuzz.cc).
        // Above 599 there is no status class either (RFC 9110 15: 1xx-5xx): passed on,
        // a browser would take it for a network error and a proxy before sluice might not
        // forward it at all; the client gets a clear 502 instead.
        if (head.status < 100 || head.status > 599) return fail("invalid status code from upstream");
        if (head.status == 101) return fail("upstream switched protocols (101)");
        // RFC 9110 6.4.1: these never carry a body, whatever Content-Length or
        // Transfer-Encoding say (a 304 may repeat the length of the representation).
        // llhttp 8 would wait for a 304's Content-Length bytes, so the body is skipped
        // here by returning 1 below (#9).
        bool bodiless = no_body || head.status < 200 || head.status == 204 || head.status == 304;
        if (bodiless) {
            head.framing = BodyFraming::None;
            return 1;  // llhttp completes the message now; on_message_complete pauses
        }
        const std::string* te = head.header("transfer-encoding");
        if (te) {
            if (head.header("content-length")) {
                return fail("upstream sent both Content-Length and Transfer-Encoding");
            }
            int count = 0;
            for (const Header& h : head.headers) count += iequals(h.name, "transfer-encoding");
            if (count != 1 || !iequals(trim_ows(*te), "chunked")) {
                return fail("unsupported transfer coding from upstream");
            }
        }
        if (parser.flags & F_CHUNKED) {
            head.framing = BodyFraming::Chunked;
        } else if (parser.flags & F_CONTENT_LENGTH) {
            head.framing = BodyFraming::Length;
            head.content_length = parser.content_length;
        } else {
            head.framing = BodyFraming::UntilClose;
            head.keep_alive = false;
        }
        return HPE_PAUSED;
    }

    int on_body(const char* at, size_t n) {
        if (n == 0) return 0;
        body_at = at;
        body_len = n;
        body_ready = true;
        return HPE_PAUSED;
    }

    int on_message_complete() {
        complete = true;
        if (head.framing != BodyFraming::UntilClose) {
            head.keep_alive = llhttp_should_keep_alive(&parser) != 0;
        }
        return HPE_PAUSED;
    }

    void on_callback_exception() {
        failed = true;
        fail_reason = "internal error while parsing the upstream response";
    }
};

ResponseParser::ResponseParser(uint64_t max_head_size)
    : impl_(std::make_unique<Impl>(max_head_size)) {}

ResponseParser::~ResponseParser() = default;

void ResponseParser::set_no_body(bool on) { impl_->no_body = on; }

ResponseParseResult ResponseParser::feed(const char* data, size_t len) {
    using Kind = ResponseParseResult::Kind;
    Impl& s = *impl_;
    if (s.failed) return s.error(0);
    // A head that completed together with its message (HEAD) is reported first, then the end.
    if (s.complete && s.head_reported) reset();
    if (s.complete && !s.head_reported) {
        s.head_reported = true;
        ResponseParseResult r;
        r.kind = Kind::Complete;
        return r;
    }
    if (s.paused) {
        s.paused = false;
        llhttp_resume(&s.parser);
    }
    size_t chunk = len;
    bool capped = false;
    const bool head_open = !s.headers_done;
    if (head_open && chunk > s.max_head_size - s.head_bytes) {
        chunk = static_cast<size_t>(s.max_head_size - s.head_bytes);
        capped = true;
    }
    llhttp_errno_t err = llhttp_execute(&s.parser, data, chunk);
    size_t used = chunk;
    if (err != HPE_OK) {
        const char* pos = llhttp_get_error_pos(&s.parser);
        used = (pos >= data && pos <= data + chunk) ? static_cast<size_t>(pos - data) : 0;
    }
    s.message_bytes += used;
    if (head_open) s.head_bytes += used;
    ResponseParseResult r;
    r.consumed = used;
    if (err == HPE_OK) {
        if (capped) {
            s.fail("upstream response head too large");
            return s.error(used);
        }
        return r;
    }
    if (err != HPE_PAUSED || s.failed) return s.error(used);
    s.paused = true;
    if (s.body_ready) {
        s.body_ready = false;
        r.kind = Kind::Body;
        r.body = std::string_view(s.body_at, s.body_len);
        return r;
    }
    if (s.headers_done && !s.head_reported) {
        // A HEAD response may be complete already; the next feed() reports that.
        if (!s.complete) s.head_reported = true;
        r.kind = Kind::Head;
        return r;
    }
    if (s.complete) {
        r.kind = Kind::Complete;
        return r;
    }
    return s.error(used);
}

ResponseParseResult ResponseParser::end_of_input() {
    using Kind = ResponseParseResult::Kind;
    Impl& s = *impl_;
    ResponseParseResult r;
    if (s.failed) return s.error(0);
    if (s.complete) {
        r.kind = Kind::Complete;
        return r;
    }
    if (s.paused) {
        s.paused = false;
        llhttp_resume(&s.parser);
    }
    llhttp_errno_t err = llhttp_finish(&s.parser);
    if (s.complete) {
        r.kind = Kind::Complete;
        return r;
    }
    if (err == HPE_OK && s.message_bytes == 0) return r;  // closed between responses
    s.fail("upstream closed the connection inside a response");
    return s.error(0);
}

const ResponseInfo& ResponseParser::head() const { return impl_->head; }

bool ResponseParser::in_message() const { return impl_->message_bytes > 0 && !impl_->complete; }

void ResponseParser::reset() { impl_->clear(); }

}  // namespace sluice::http
