// Response bytes for the small responses sluice writes itself (errors, admin, publish
// answers) and the head of an SSE stream. Reason phrases follow RFC 9110.
#include "gateway/http/response.h"

#include <cstdio>

#include "gateway/core/json_object.h"

namespace sluice::http {

namespace {

// Names and values can carry request-derived text (an echoed origin or request id); a CR or
// LF there would let a client split the response, so they are dropped.
void append_field(std::string& out, std::string_view name, std::string_view value) {
    for (char c : name) {
        if (c != '\r' && c != '\n') out += c;
    }
    out += ": ";
    for (char c : value) {
        if (c != '\r' && c != '\n') out += c;
    }
    out += "\r\n";
}

void append_status_line(std::string& out, int status) {
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += status_text(status);
    out += "\r\n";
}

void append_extra_headers(std::string& out, const ResponseHead& head) {
    for (const auto& [name, value] : head.headers) append_field(out, name, value);
}

void append_connection(std::string& out, const ResponseHead& head) {
    out += head.keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
}

}  // namespace

std::string_view status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

// Content-Type is written only with a non-empty body; 204 and 304 never carry a body, so
// they get neither the body nor Content-Length (RFC 9110 8.6, 15.3.5, 15.4.5).
std::string build_response(const ResponseHead& head, std::string_view body,
                           std::string_view content_type) {
    const bool no_body = head.status == 204 || head.status == 304;
    std::string out;
    out.reserve(128 + body.size());
    append_status_line(out, head.status);
    append_extra_headers(out, head);
    if (!no_body) {
        if (!body.empty()) append_field(out, "Content-Type", content_type);
        out += "Content-Length: ";
        out += std::to_string(body.size());
        out += "\r\n";
    }
    append_connection(out, head);
    out += "\r\n";
    if (!no_body) out += body;
    return out;
}

std::string build_head(const ResponseHead& head, std::string_view reason, bool chunked) {
    std::string out;
    out.reserve(256);
    out += "HTTP/1.1 ";
    out += std::to_string(head.status);
    out += ' ';
    out += reason.empty() ? status_text(head.status) : reason;
    out += "\r\n";
    append_extra_headers(out, head);
    if (chunked) out += "Transfer-Encoding: chunked\r\n";
    append_connection(out, head);
    out += "\r\n";
    return out;
}

std::string chunk(std::string_view bytes) {
    char prefix[32];
    int len = std::snprintf(prefix, sizeof prefix, "%zx\r\n", bytes.size());
    std::string out;
    out.reserve(static_cast<size_t>(len) + bytes.size() + 2);
    out.append(prefix, static_cast<size_t>(len));
    out.append(bytes);
    out += "\r\n";
    return out;
}

std::string error_body(int status, std::string_view reason) {
    return json::JsonObject().add({{"error", reason}, {"status", status}}).str();
}

}  // namespace sluice::http
