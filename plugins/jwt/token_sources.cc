#include "plugins/jwt/token_sources.h"

#include "gateway/core/ascii.h"
#include "gateway/http/url.h"

namespace sluice::plugins::jwt {

std::optional<TokenSource> parse_token_source(std::string_view text, std::string& error) {
    if (text == "header") return TokenSource{TokenSource::Kind::Bearer, {}};
    auto colon = text.find(':');
    std::string_view kind = text.substr(0, colon);
    std::string_view name = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
    if ((kind == "cookie" || kind == "query") && colon != std::string_view::npos) {
        if (name.empty()) {
            error = "a token source needs a name after '" + std::string(kind) + ":'";
            return std::nullopt;
        }
        for (char c : name) {
            // Cookie names and query keys as sluice matches them: no separators or spaces.
            if (static_cast<unsigned char>(c) <= 0x20 || c == ';' || c == '=' || c == '&' ||
                c == ',' || c == 0x7f) {
                error = "token source name '" + std::string(name) + "' has a space or separator";
                return std::nullopt;
            }
        }
        auto k = kind == "cookie" ? TokenSource::Kind::Cookie : TokenSource::Kind::Query;
        return TokenSource{k, std::string(name)};
    }
    error = "unknown token source '" + std::string(text) +
            "' (expected header, cookie:<name> or query:<name>)";
    return std::nullopt;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "Bearer";
    if (!ascii_istarts_with(authorization, scheme)) return std::nullopt;
    std::string_view rest = authorization.substr(scheme.size());
    if (rest.empty() || (rest.front() != ' ' && rest.front() != '\t')) return std::nullopt;
    rest = trim_ows(rest);
    if (rest.empty()) return std::nullopt;
    return rest;
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        auto semi = header.find(';');
        std::string_view pair = trim_ows(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        if (trim_ows(pair.substr(0, eq)) != name) continue;
        std::string_view value = trim_ows(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        }
        return value;
    }
    return std::nullopt;
}

std::string find_token(const http::RequestHead& head, const std::vector<TokenSource>& from) {
    for (const TokenSource& src : from) {
        switch (src.kind) {
            case TokenSource::Kind::Bearer:
                if (const std::string* auth = head.header("Authorization")) {
                    if (auto token = bearer_token(*auth)) return std::string(*token);
                }
                break;
            case TokenSource::Kind::Cookie:
                // A request may carry several Cookie headers (HTTP/2 splits them).
                for (const http::Header& h : head.headers) {
                    if (!ascii_iequals(h.name, "Cookie")) continue;
                    if (auto v = cookie_value(h.value, src.name); v && !v->empty()) {
                        return std::string(*v);
                    }
                }
                break;
            case TokenSource::Kind::Query:
                if (auto v = http::query_param(head.query, src.name); v && !v->empty()) return *v;
                break;
        }
    }
    return {};
}

}  // namespace sluice::plugins::jwt
