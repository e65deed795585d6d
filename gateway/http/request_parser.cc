// RequestParser: llhttp plus sluice's limits and request-smuggling checks.
//
// llhttp is paused twice per message. The pause in on_headers_complete gives the exact size
// of the head and lets the framing checks (Transfer-Encoding, Content-Length, body limit) run
// here in plain C++ instead of inside a C callback. The pause in on_message_complete stops at
// the message boundary, so pipelined requests are answered one at a time. While the head is
// incomplete, llhttp never sees more bytes than the remaining header budget, so an oversized
// head is rejected without buffering more than max_header_size bytes of it.
//
// In report-head mode the pause in on_headers_complete is handed to the caller (Head), who
// picks buffered or streamed body reading before the next feed(). A streamed body pauses
// llhttp once more per body span, so each piece reaches the caller outside llhttp's
// callbacks, where it may do anything (write upstream, pause reading) without re-entering
// the parser.
#include "gateway/http/request_parser.h"

#include <llhttp.h>

#include <vector>

#include "gateway/http/ascii.h"
#include "gateway/http/llhttp_bind.h"

namespace sluice::http {

namespace {

// Splits a Transfer-Encoding list ("gzip, chunked") into its codings. Empty list elements
// are allowed by the list syntax (RFC 9110 5.6.1) and skipped.
std::vector<std::string_view> split_codings(std::string_view list) {
    std::vector<std::string_view> out;
    while (true) {
        size_t comma = list.find(',');
        std::string_view item = trim_ows(list.substr(0, comma));
        if (!item.empty()) out.push_back(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

}  // namespace

struct RequestParser::Impl {
    explicit Impl(const ParserLimits& l) : limits(l) {
        llhttp_init(&parser, HTTP_REQUEST, &callbacks());
        // The one lenient flag: llhttp alone accepts only 0.9, 1.0, 1.1 and 2.0 and reports
        // anything else as a malformed version. With it, every well-formed "HTTP/d.d"
        // reaches on_version_complete, which answers 505 for all but 1.0/1.1, while a
        // garbled version is still an llhttp error (400). No framing leniency is enabled.
        parser.lenient_flags |= LENIENT_VERSION;
        parser.data = this;
    }

    // Message state, cleared by clear_message().
    RequestHead head;
    std::string body;
    std::string field;  // header name so far: llhttp may deliver it in several pieces
    std::string value;  // header value so far
    uint64_t head_bytes = 0;     // bytes of request line + headers seen
    uint64_t body_bytes = 0;     // decoded body bytes seen
    uint64_t trailer_bytes = 0;  // chunked trailer name and value bytes seen
    uint64_t message_bytes = 0;  // every byte of this message consumed so far
    bool headers_done = false;   // on_headers_complete ran (llhttp paused there)
    bool complete = false;       // on_message_complete ran (llhttp paused there)
    bool head_pending = false;   // Head was returned; llhttp still paused at the head
    bool streaming = false;      // stream_body() was called for this message
    bool body_paused = false;    // llhttp paused after a streamed body span
    bool after_lf = false;       // the last head byte seen was LF (saw_fold)
    const char* body_at = nullptr;  // the span that paused it
    size_t body_len = 0;
    bool report_head = false;    // mode, kept across messages
    bool chunked = false;         // from the head
    uint64_t declared_length = 0; // Content-Length from the head (0 if none)
    std::string absolute_authority;  // the authority of an absolute-form target

    // Failure state: sticky until reset().
    bool internal_error = false;  // a callback caught an exception
    int fail_status = 0;
    std::string fail_reason;

    ParserLimits limits;
    llhttp_t parser{};

    // The callbacks are the same for every parser: one table for the process, not 184
    // bytes in each connection (llhttp keeps a pointer to it).
    static const llhttp_settings_t& callbacks() {
        static const llhttp_settings_t table = [] {
            llhttp_settings_t t;
            llhttp_settings_init(&t);
            using namespace llhttp_bind;
            t.on_url = &data<Impl, &Impl::on_url>;
            t.on_url_complete = &event<Impl, &Impl::on_url_complete>;
            t.on_version_complete = &event<Impl, &Impl::on_version_complete>;
            t.on_header_field = &data<Impl, &Impl::on_header_field>;
            t.on_header_value = &data<Impl, &Impl::on_header_value>;
            t.on_header_value_complete = &event<Impl, &Impl::on_header_value_complete>;
            t.on_headers_complete = &event<Impl, &Impl::on_headers_complete>;
            t.on_chunk_header = &event<Impl, &Impl::on_chunk_header>;
            t.on_body = &data<Impl, &Impl::on_body>;
            t.on_message_complete = &event<Impl, &Impl::on_message_complete>;
            return t;
        }();
        return table;
    }

    void clear_message() {
        head = RequestHead{};
        body.clear();
        field.clear();
        value.clear();
        head_bytes = body_bytes = trailer_bytes = message_bytes = 0;
        headers_done = complete = after_lf = false;
        head_pending = streaming = body_paused = chunked = false;
        declared_length = 0;
        absolute_authority.clear();
        body_at = nullptr;
        body_len = 0;
        internal_error = false;
        fail_status = 0;
        fail_reason.clear();
        llhttp_reset(&parser);  // keeps type, settings, data and lenient flags
    }

    bool failed() const { return internal_error || fail_status != 0; }

    // An obs-fold (a head line that starts with SP or HTAB): llhttp would join it to the
    // previous value with a space, which RFC 9112 5.2 allows, but it may also reject it
    // (400). sluice rejects it, as nginx does, so that no proxy in front of it can read a
    // header differently. Scans head bytes as llhttp consumes them; the state carries over.
    bool saw_fold(const char* p, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            if (after_lf && (p[i] == ' ' || p[i] == '\t')) return true;
            after_lf = p[i] == '\n';
        }
        return false;
    }

    // Records the first failure; returns the value that makes llhttp stop.
    int fail(int status, std::string_view reason) {
        if (fail_status == 0) {
            fail_reason = reason;  // before the status, in case this throws
            fail_status = status;
        }
        return -1;
    }

    ParseResult error_result(size_t consumed) {
        if (fail_status == 0) {
            if (internal_error) {
                fail(500, "internal error while parsing the request");
            } else {
                fail(400, llhttp_reason());
            }
        }
        ParseResult r;
        r.kind = ParseResult::Kind::Error;
        r.consumed = consumed;
        r.status = fail_status;
        r.reason = fail_reason;
        return r;
    }

    // llhttp's own error text. llhttp sometimes finds Content-Length + Transfer-Encoding
    // before check_head() runs; that case gets the same reason as our own check gives.
    std::string llhttp_reason() const {
        const char* reason = llhttp_get_error_reason(&parser);
        std::string_view text = reason ? reason : llhttp_errno_name(llhttp_get_errno(&parser));
        if (llhttp_get_errno(&parser) == HPE_UNEXPECTED_CONTENT_LENGTH &&
            text.find("Transfer-Encoding") != std::string_view::npos) {
            return "both Content-Length and Transfer-Encoding";
        }
        return std::string(text);
    }

    // --- callbacks (run inside llhttp_execute) ---

    int on_url(const char* at, size_t n) {
        if (n > limits.max_url_length - head.target.size()) {
            return fail(414, "URL longer than max_url_length");
        }
        head.target.append(at, n);
        return 0;
    }

    int on_url_complete() {
        // Loose llhttp accepts a TAB inside the target; nothing downstream should see one.
        if (has_space_or_ctl(head.target)) return fail(400, "invalid character in request target");
        if (int rc = to_origin_form(); rc != 0) return rc;
        size_t q = head.target.find('?');
        head.path = head.target.substr(0, q);
        // RFC 3986 2.1: '%' only as %XX. A path that cannot be decoded is malformed (400),
        // not an unknown route.
        if (!valid_percent_encoding(head.path)) {
            return fail(400, "invalid percent-encoding in the path");
        }
        head.query = q == std::string::npos ? std::string() : head.target.substr(q + 1);
        return 0;
    }

    // Targets other than origin-form (RFC 9112 3.2). The absolute-form must be accepted: it
    // is routed by its path, and its authority replaces Host (check_host). sluice is not a
    // forward proxy: CONNECT (authority-form) is 501. The asterisk-form is for OPTIONS.
    int to_origin_form() {
        std::string_view t = head.target;
        if (parser.method == HTTP_CONNECT) return fail(501, "CONNECT is not supported");
        if (!t.empty() && t.front() == '/') return 0;
        // (PRI * is the HTTP/2 preface: its version gets the answer, 505.)
        if (t == "*") {
            bool ok = parser.method == HTTP_OPTIONS || parser.method == HTTP_PRI;
            return ok ? 0 : fail(400, "asterisk-form target outside OPTIONS");
        }
        size_t scheme_end = t.find("://");
        std::string_view scheme = t.substr(0, scheme_end);
        bool http_scheme = iequals(scheme, "http") || iequals(scheme, "https");
        if (scheme_end == std::string_view::npos || !http_scheme) {
            return fail(400, "invalid request target");
        }
        std::string_view rest = t.substr(scheme_end + 3);
        size_t path_at = rest.find_first_of("/?");
        std::string_view authority = rest.substr(0, path_at);
        if (authority.empty() || !is_valid_host(authority)) {
            return fail(400, "invalid request target");
        }
        std::string origin =
            path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
        if (origin.front() == '?') origin.insert(0, "/");
        absolute_authority = std::string(authority);
        head.target = std::move(origin);
        return 0;
    }

    int on_version_complete() {
        head.version_major = parser.http_major;
        head.version_minor = parser.http_minor;
        if (parser.http_major != 1 || parser.http_minor > 1) {
            return fail(505, "HTTP version not supported");
        }
        return 0;
    }

    // After the head, header callbacks carry chunked trailers. sluice has no use for them
    // (RFC 9110 6.5.1: never merge them into the head), so they are only counted, against
    // the header budget, so that endless trailers cannot hold a connection.
    int count_trailer(size_t n) {
        if (n > limits.max_header_size - trailer_bytes) {
            return fail(431, "chunked trailers larger than max_header_size");
        }
        trailer_bytes += n;
        return 0;
    }

    int on_header_field(const char* at, size_t n) {
        if (headers_done) return count_trailer(n);
        field.append(at, n);
        return 0;
    }

    int on_header_value(const char* at, size_t n) {
        if (headers_done) return count_trailer(n);
        value.append(at, n);
        return 0;
    }

    // llhttp, as built by default (without LLHTTP_STRICT_MODE), lets whitespace into header
    // names ("Host : x"). RFC 9112 5.1 requires a 400 for whitespace before the colon, a
    // classic smuggling vector, so names are checked here whatever the llhttp build.
    int on_header_value_complete() {
        if (headers_done) return 0;  // a trailer
        if (!is_token(field)) return fail(400, "invalid header name");

        head.headers.push_back(Header{std::move(field), std::string(trim_ows(value))});
        field.clear();
        value.clear();
        return 0;
    }

    int on_headers_complete() {
        // Again here: an HTTP/0.9 request line ("GET /") has no version, so
        // on_version_complete never ran for it.
        if (int rc = on_version_complete(); rc != 0) return rc;
        head.method = llhttp_method_name(static_cast<llhttp_method_t>(parser.method));
        head.keep_alive = llhttp_should_keep_alive(&parser) != 0;
        chunked = (parser.flags & F_CHUNKED) != 0;
        declared_length = (parser.flags & F_CONTENT_LENGTH) ? parser.content_length : 0;
        headers_done = true;
        return HPE_PAUSED;  // feed() checks the framing, then resumes
    }

    int on_chunk_header() {
        // llhttp puts the announced chunk size in content_length; refuse before reading it.
        if (!streaming && parser.content_length > limits.max_body_size - body_bytes) {
            return fail(413, "chunked body larger than max_body_size");
        }
        return 0;
    }

    int on_body(const char* at, size_t n) {
        if (streaming) {
            if (n == 0) return 0;  // an empty span at the end of the input: nothing to hand out
            body_bytes += n;
            body_at = at;
            body_len = n;
            body_paused = true;
            return HPE_PAUSED;  // feed() returns the piece as Body
        }
        if (n > limits.max_body_size - body_bytes) {
            return fail(413, "body larger than max_body_size");
        }
        body_bytes += n;
        body.append(at, n);
        return 0;
    }

    int on_message_complete() {
        complete = true;
        return HPE_PAUSED;  // stop at the message boundary (pipelining)
    }

    // --- checks once the head is complete (llhttp paused in on_headers_complete) ---

    // RFC 9112 3.2: 400 for an HTTP/1.1 request without Host, for any request with more
    // than one, and for a Host that is not uri-host[:port]. HTTP/1.0 may omit it.
    bool check_host() {
        Header* host = nullptr;
        for (Header& h : head.headers) {
            if (!iequals(h.name, "host")) continue;
            if (host) {
                fail(400, "more than one Host header");
                return false;
            }
            host = &h;
        }
        if (!host && head.version_minor >= 1) {
            fail(400, "missing Host header");
            return false;
        }
        if (host && !is_valid_host(host->value)) {
            fail(400, "invalid Host header");
            return false;
        }
        if (!absolute_authority.empty()) {  // RFC 9112 3.2.2: the target's authority wins
            if (host) host->value = absolute_authority;
            else head.headers.push_back(Header{"Host", absolute_authority});
        }
        return true;
    }

    bool check_head() {
        if (!check_host()) return false;
        std::string te;
        bool has_te = false;
        for (const Header& h : head.headers) {
            if (!iequals(h.name, "transfer-encoding")) continue;
            if (has_te) te += ',';
            te += h.value;
            has_te = true;
        }
        if (has_te && head.header("content-length") != nullptr) {
            fail(400, "both Content-Length and Transfer-Encoding");
            return false;
        }
        if (has_te && !check_transfer_encoding(te)) return false;
        // In report-head mode the caller first decides whether the body is buffered.
        return report_head || check_body_limit();
    }

    bool over_body_limit() const { return declared_length > limits.max_body_size; }

    bool check_body_limit() {
        if (!over_body_limit()) return true;
        fail(413, "Content-Length larger than max_body_size");
        return false;
    }

    // sluice decodes exactly one transfer coding: a single, final "chunked".
    //  - HTTP/1.0 has no Transfer-Encoding: 400 (RFC 9112 6.1 calls the framing faulty).
    //  - chunked missing, not final, or applied twice: the body length cannot be known,
    //    400 and close (RFC 9112 6.3).
    //  - chunked final but preceded by other codings (gzip, chunked): the framing is sound
    //    but we would pass on a body we cannot decode, so 501 (RFC 9112 6.1).
    bool check_transfer_encoding(std::string_view te) {
        if (head.version_minor == 0) {
            fail(400, "Transfer-Encoding in an HTTP/1.0 request");
            return false;
        }
        std::vector<std::string_view> codings = split_codings(te);
        if (codings.empty() || !iequals(codings.back(), "chunked")) {
            fail(400, "Transfer-Encoding does not end with chunked");
            return false;
        }
        for (size_t i = 0; i + 1 < codings.size(); ++i) {
            if (iequals(codings[i], "chunked")) {
                fail(400, "chunked applied more than once");
                return false;
            }
        }
        if (codings.size() > 1) {
            fail(501, "unsupported transfer coding");
            return false;
        }
        return true;
    }

    // --- trampolines: recover `this`, forward, never let an exception reach llhttp ---

    void on_callback_exception() { internal_error = true; }  // feed() turns it into a 500
};

RequestParser::RequestParser(const ParserLimits& limits) : impl_(std::make_unique<Impl>(limits)) {}

RequestParser::~RequestParser() = default;

ParseResult RequestParser::feed(const char* data, size_t len) {
    Impl& s = *impl_;
    if (s.failed()) return s.error_result(0);
    if (s.complete) reset();  // feeding after Complete starts the next message
    if (s.head_pending) {     // the caller has chosen how to read the body
        s.head_pending = false;
        if (!s.streaming && !s.check_body_limit()) return s.error_result(0);
        llhttp_resume(&s.parser);
    } else if (s.body_paused) {
        s.body_paused = false;
        llhttp_resume(&s.parser);
    }

    size_t off = 0;
    while (true) {
        size_t chunk = len - off;
        bool capped = false;
        const bool head_open = !s.headers_done;
        if (head_open) {
            uint64_t budget = s.limits.max_header_size - s.head_bytes;  // head_bytes <= max
            if (chunk > budget) {
                chunk = static_cast<size_t>(budget);
                capped = true;
            }
        }
        const char* p = data + off;
        llhttp_errno_t err = llhttp_execute(&s.parser, p, chunk);
        size_t used = chunk;
        if (err != HPE_OK) {
            const char* pos = llhttp_get_error_pos(&s.parser);
            used = (pos >= p && pos <= p + chunk) ? static_cast<size_t>(pos - p) : 0;
        }
        off += used;
        s.message_bytes += used;
        if (head_open) s.head_bytes += used;
        if (head_open && s.saw_fold(p, used)) {
            s.fail(400, "obsolete line folding in the head");
            return s.error_result(off);
        }

        if (err == HPE_OK) {
            if (capped) {  // the budget is spent, more input is waiting, head not finished
                s.fail(431, "request head larger than max_header_size");
                return s.error_result(off);
            }
            ParseResult r;
            r.consumed = off;
            return r;
        }
        if (err == HPE_PAUSED && s.complete && !s.failed()) {
            ParseResult r;
            r.kind = ParseResult::Kind::Complete;
            r.consumed = off;
            return r;
        }
        if (err == HPE_PAUSED && s.body_paused && !s.failed()) {
            ParseResult r;
            r.kind = ParseResult::Kind::Body;
            r.consumed = off;
            r.body = std::string_view(s.body_at, s.body_len);
            return r;
        }
        if (err == HPE_PAUSED && head_open && s.headers_done && !s.failed()) {
            if (!s.check_head()) return s.error_result(off);
            if (s.report_head) {
                s.head_pending = true;
                ParseResult r;
                r.kind = ParseResult::Kind::Head;
                r.consumed = off;
                return r;
            }
            llhttp_resume(&s.parser);
            continue;
        }
        return s.error_result(off);
    }
}

void RequestParser::set_report_head(bool on) { impl_->report_head = on; }

void RequestParser::stream_body() { impl_->streaming = true; }

bool RequestParser::expects_body() const {
    return impl_->headers_done && (impl_->chunked || impl_->declared_length > 0);
}

bool RequestParser::body_within_limit() const { return !impl_->over_body_limit(); }

bool RequestParser::message_complete() const { return impl_->complete; }

bool RequestParser::in_message() const { return impl_->message_bytes > 0; }

bool RequestParser::head_complete() const { return impl_->headers_done && !impl_->failed(); }

const RequestHead& RequestParser::head() const { return impl_->head; }

RequestHead& RequestParser::head() { return impl_->head; }

const std::string& RequestParser::body() const { return impl_->body; }

void RequestParser::reset() { impl_->clear_message(); }

}  // namespace sluice::http
