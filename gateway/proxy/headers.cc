// Header rewriting for proxied requests and responses. Names are compared ignoring case;
// values that came from a peer are written back without CR or LF so that nothing a client
// or upstream sends can split a message.
#include "gateway/proxy/headers.h"

#include <array>
#include <cstdio>

#include "gateway/core/ascii.h"
#include "gateway/http/response.h"

namespace sluice::proxy {
namespace {

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    for (char c : value) {
        if (c != '\r' && c != '\n') out += c;
    }
    out += "\r\n";
}

// Names sluice sets itself on the upstream request; the client's copies are replaced.
bool set_by_sluice(std::string_view name) {
    static constexpr std::array<std::string_view, 7> kNames{
        "host",         "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
        "x-request-id", "content-length",  "transfer-encoding"};
    for (auto n : kNames) {
        if (ascii_iequals(name, n)) return true;
    }
    return false;
}

// Joined values of every header called `name` ("a, b"), or "" when there is none.
template <class Headers> std::string joined(const Headers& headers, std::string_view name) {
    std::string out;
    for (const auto& h : headers) {
        if (!ascii_iequals(h.name, name)) continue;
        if (!out.empty()) out += ", ";
        out += h.value;
    }
    return out;
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
    static constexpr std::array<std::string_view, 10> kNames{"connection",
                                                             "keep-alive",
                                                             "proxy-connection",
                                                             "te",
                                                             "trailer",
                                                             "transfer-encoding",
                                                             "upgrade",
                                                             "proxy-authenticate",
                                                             "proxy-authorization",
                                                             "expect"};
    for (auto n : kNames) {
        if (ascii_iequals(name, n)) return true;
    }
    return false;
}

bool listed_in_connection(std::string_view value, std::string_view name) {
    while (!value.empty()) {
        size_t comma = value.find(',');
        if (ascii_iequals(trim_ows(value.substr(0, comma)), name)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

std::string usable_request_id(const http::RequestHead& req) {
    const std::string* id = req.header("x-request-id");
    if (!id || id->empty() || id->size() > 200) return {};
    for (char c : *id) {
        if (c <= 0x20 || c >= 0x7f) return {};
    }
    return *id;
}

std::string build_upstream_head(const http::RequestHead& req, const ForwardedFor& fwd,
                                Framing body) {
    std::string connection = joined(req.headers, "connection");
    std::string out;
    out.reserve(256 + req.target.size());
    out += req.method;
    out += ' ';
    out += req.target;
    out += " HTTP/1.1\r\n";
    append_field(out, "Host", fwd.host);
    for (const http::Header& h : req.headers) {
        if (is_hop_by_hop(h.name) || set_by_sluice(h.name)) continue;
        if (!connection.empty() && listed_in_connection(connection, h.name)) continue;
        append_field(out, h.name, h.value);
    }
    std::string xff = joined(req.headers, "x-forwarded-for");
    append_field(out, "X-Forwarded-For",
                 xff.empty() ? fwd.client_address : xff + ", " + fwd.client_address);
    append_field(out, "X-Forwarded-Proto", fwd.secure ? "https" : "http");
    if (const std::string* host = req.header("host")) append_field(out, "X-Forwarded-Host", *host);
    append_field(out, "X-Request-Id", fwd.request_id);
    if (body == Framing::Length) {
        const std::string* cl = req.header("content-length");
        append_field(out, "Content-Length", cl ? *cl : "0");
    } else if (body == Framing::Chunked) {
        out += "Transfer-Encoding: chunked\r\n";
    }
    out += "\r\n";
    return out;
}

std::vector<std::pair<std::string, std::string>> client_headers(const http::ResponseInfo& resp,
                                                                bool unknown_length,
                                                                std::string_view request_id) {
    std::string connection = joined(resp.headers, "connection");
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(resp.headers.size() + 1);
    bool has_id = false;
    for (const http::Header& h : resp.headers) {
        if (is_hop_by_hop(h.name)) continue;
        if (!connection.empty() && listed_in_connection(connection, h.name)) continue;
        // A 204 must not carry Content-Length (RFC 9110 8.6), whatever the upstream sent.
        if (ascii_iequals(h.name, "content-length") && (unknown_length || resp.status == 204))
            continue;
        if (ascii_iequals(h.name, "x-request-id")) has_id = true;
        out.emplace_back(h.name, h.value);
    }
    if (!has_id && !request_id.empty()) out.emplace_back("X-Request-Id", std::string(request_id));
    return out;
}

std::string chunk_prefix(size_t n) {
    char buf[32];
    int len = std::snprintf(buf, sizeof buf, "%zx\r\n", n);
    return std::string(buf, static_cast<size_t>(len));
}

bool is_idempotent(std::string_view m) {
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
           m == "DELETE";
}

}  // namespace sluice::proxy
