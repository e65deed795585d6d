#include "plugins/headers/headers.h"

#include <algorithm>

#include "gateway/core/ascii.h"
#include "gateway/http/ascii.h"

namespace sluice::plugins::headers {
namespace {

// A value a header line can carry: no control characters but tab.
bool is_field_value(const std::string& s) {
    return std::none_of(s.begin(), s.end(), [](char ch) {
        unsigned char c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

// Headers sluice itself frames or relies on: editing them would break the exchange.
bool is_protected(const std::string& name) {
    for (const char* p : {"Content-Length", "Transfer-Encoding", "Connection", "Host", "Upgrade",
                          "Keep-Alive", "TE", "Trailer", "Content-Type"}) {
        if (ascii_iequals(name, p)) return true;
    }
    return false;
}

bool check_name(config::MapReader& r, std::string_view key, const std::string& name) {
    if (!http::is_token(name)) {
        r.diag().error(r.find(key)->mark, r.path(key) + ": '" + name + "' is not a header name");
        return false;
    }
    if (is_protected(name)) {
        r.diag().error(r.find(key)->mark,
                       r.path(key) + ": '" + name + "' is set by sluice itself and cannot be edited");
        return false;
    }
    return true;
}

bool read_pairs(config::MapReader& r, std::string_view key,
                std::vector<std::pair<std::string, std::string>>& out) {
    auto v = r.find(key);
    if (!v) return true;
    config::MapReader m(*v, r.diag());
    if (!m.is_map()) return false;
    bool ok = true;
    for (auto& field : m.all()) {
        auto value = config::read_string(field.value, r.diag());
        if (!value) {
            ok = false;
            continue;
        }
        if (!http::is_token(field.key) || is_protected(field.key)) {
            r.diag().error(field.key_mark, m.path(field.key) + ": " +
                                               (http::is_token(field.key) ? "is set by sluice itself and cannot be edited"
                                                                    : "is not a header name"));
            ok = false;
            continue;
        }
        if (!is_field_value(*value)) {
            r.diag().error(field.value.mark, field.value.path + ": control characters cannot go in a header");
            ok = false;
            continue;
        }
        out.emplace_back(field.key, *value);
    }
    m.finish();
    return ok;
}

bool read_edits(config::MapReader& parent, std::string_view side, Edits& out) {
    auto v = parent.find(side);
    if (!v) return true;
    config::MapReader r(*v, parent.diag());
    if (!r.is_map()) return false;
    bool ok = true;
    if (r.get_string_list("remove", out.remove)) {
        for (const auto& name : out.remove) ok &= check_name(r, "remove", name);
    } else {
        ok = false;
    }
    ok &= read_pairs(r, "set", out.set);
    ok &= read_pairs(r, "add", out.add);
    r.finish();
    return ok;
}

std::optional<Options> parse(config::MapReader& r, const config::PluginSite&) {
    Options o;
    bool ok = read_edits(r, "request", o.request);
    ok &= read_edits(r, "response", o.response);
    if (!ok) return std::nullopt;
    if (!r.has("request") && !r.has("response")) {
        r.diag().error(r.mark(), r.where() + ": nothing to do: give request and/or response "
                                             "with set, add or remove");
        return std::nullopt;
    }
    return o;
}

template <typename List, typename Make>
void apply_edits(const Edits& e, List& headers, Make make) {
    auto drop = [&](const std::string& name) {
        headers.erase(std::remove_if(headers.begin(), headers.end(),
                                     [&](const auto& h) { return ascii_iequals(make.name(h), name); }),
                      headers.end());
    };
    for (const auto& name : e.remove) drop(name);
    for (const auto& [name, value] : e.set) {
        drop(name);
        headers.push_back(make(name, value));
    }
    for (const auto& [name, value] : e.add) headers.push_back(make(name, value));
}

struct MakeHttpHeader {
    http::Header operator()(const std::string& n, const std::string& v) const { return {n, v}; }
    const std::string& name(const http::Header& h) const { return h.name; }
};
struct MakePair {
    std::pair<std::string, std::string> operator()(const std::string& n, const std::string& v) const {
        return {n, v};
    }
    const std::string& name(const std::pair<std::string, std::string>& h) const { return h.first; }
};

}  // namespace

void apply_header_edits(const Edits& e, std::vector<http::Header>& headers) { apply_edits(e, headers, MakeHttpHeader{}); }
void apply_header_edits(const Edits& e, pipeline::Headers& headers) { apply_edits(e, headers, MakePair{}); }

unsigned HeadersFilter::hooks() const {
    return (opts_.request.empty() ? 0u : unsigned(OnRequestHead)) |
           (opts_.response.empty() ? 0u : unsigned(OnResponseHead));
}

pipeline::HeadVerdict HeadersFilter::on_request_head(pipeline::Request& req, pipeline::Resume) {
    // Request hands filters a const head; the head it returns is the carrier's own
    // (mutable) parsed head, which the handler reads after the filters: editing it here
    // is what makes the edit visible to the handler and the proxy.
    // TODO(plugins): a Request::edit_head() for filters, once request.h can change.
    apply_header_edits(opts_.request, const_cast<http::RequestHead&>(req.head()).headers);
    return pipeline::HeadVerdict::Pass;
}

void HeadersFilter::on_response_head(const pipeline::Request&, pipeline::ResponseHead& head) {
    apply_header_edits(opts_.response, head.headers);
}

PluginDef plugin() {
    return make_plugin<Options>(
        "headers", parse,
        [](const Options& o, const BuildContext&, std::string&) -> std::shared_ptr<pipeline::Filter> {
            return std::make_shared<HeadersFilter>(o);
        });
}

}  // namespace sluice::plugins::headers
