#include "plugins/api_key/api_key.h"

#include "gateway/core/secret_params.h"
#include "gateway/http/ascii.h"
#include "gateway/http/url.h"

namespace sluice::plugins::api_key {
namespace {

constexpr std::string_view kChallenge = "ApiKey realm=\"sluice\"";

// The mark of item i of a list value (the list's own mark when it is not a sequence).
YAML::Mark item_mark(const config::Value& list, size_t i) {
    return list.node.IsSequence() && i < list.node.size() ? list.node[i].Mark() : list.mark;
}

bool read_keys(config::MapReader& r, std::vector<Key>& out) {
    std::vector<std::string> lines;
    if (!r.get_string_list("keys", lines)) return false;
    auto list = r.find("keys");
    if (!list) return true;
    bool ok = true;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string error;
        std::optional<Key> k = parse_key_line(lines[i], error);
        if (!k) {
            // Never the key itself: the message names the item only.
            r.diag().error(item_mark(*list, i), r.path("keys") + "[" + std::to_string(i) + "]: " + error);
            ok = false;
            continue;
        }
        out.push_back(std::move(*k));
    }
    if (ok && lines.empty()) {
        r.diag().error(list->mark, r.path("keys") + ": list at least one key");
        ok = false;
    }
    return ok;
}

bool read_from(config::MapReader& r, std::vector<KeySource>& out) {
    std::vector<std::string> from;
    if (!r.get_string_list("from", from)) return false;
    auto list = r.find("from");
    if (!list) return true;
    if (from.empty()) {
        r.diag().error(list->mark, r.path("from") + ": list at least one source");
        return false;
    }
    out.clear();
    bool ok = true;
    for (size_t i = 0; i < from.size(); ++i) {
        std::string error;
        std::optional<KeySource> src = parse_key_source(from[i], error);
        if (!src) {
            r.diag().error(item_mark(*list, i), r.path("from") + ": " + error);
            ok = false;
            continue;
        }
        out.push_back(std::move(*src));
    }
    return ok;
}

std::optional<Options> parse(config::MapReader& r, const config::PluginSite&) {
    Options o;
    bool ok = read_keys(r, o.keys);
    std::string keys_file;
    if (r.get_string("keys_file", keys_file) && !keys_file.empty()) {
        // Read now, so a missing or bad file fails --check (and a reload) at this option.
        std::string error;
        if (auto file_keys = read_keys_file(keys_file, error)) {
            o.keys.insert(o.keys.end(), file_keys->begin(), file_keys->end());
        } else {
            r.diag().error(r.find("keys_file")->mark, r.path("keys_file") + ": " + error);
            ok = false;
        }
    } else if (r.has("keys_file")) {
        ok = false;
    }
    if (!r.has("keys") && !r.has("keys_file")) {
        r.diag().error(r.mark(), r.where() + ": give keys, keys_file or both");
        ok = false;
    }
    ok &= read_from(r, o.from);
    if (!ok) return std::nullopt;
    return o;
}

std::optional<std::string> presented_key(const http::RequestHead& head,
                                         const std::vector<KeySource>& from) {
    for (const KeySource& src : from) {
        if (src.kind == KeySource::Kind::Header) {
            if (const std::string* v = head.header(src.name); v && !v->empty()) return *v;
        } else if (auto v = http::query_param(head.query, src.name); v && !v->empty()) {
            return v;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<KeySource> parse_key_source(std::string_view text, std::string& error) {
    auto colon = text.find(':');
    std::string_view kind = text.substr(0, colon);
    std::string_view name = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
    if ((kind != "header" && kind != "query") || name.empty()) {
        error = "'" + std::string(text) + "' is not a key source (header:<name> or query:<name>)";
        return std::nullopt;
    }
    if (kind == "header") {
        if (!http::is_token(name)) {
            error = "'" + std::string(name) + "' is not a header name";
            return std::nullopt;
        }
        return KeySource{KeySource::Kind::Header, std::string(name)};
    }
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '&' || c == '=' || c == '#') {
            error = "query parameter name '" + std::string(name) + "' has a space or separator";
            return std::nullopt;
        }
    }
    return KeySource{KeySource::Kind::Query, std::string(name)};
}

ApiKeyFilter::ApiKeyFilter(Options o, const BuildContext& ctx)
    : opts_(std::move(o)), channel_of_(ctx.channel_of), decisions_("api_key", ctx) {
    for (const KeySource& src : opts_.from)
        if (src.kind == KeySource::Kind::Query) secret_params::add(src.name);
}

pipeline::HeadVerdict ApiKeyFilter::on_request_head(pipeline::Request& req, pipeline::Resume) {
    const http::RequestHead& head = req.head();
    std::optional<std::string> presented = presented_key(head, opts_.from);
    if (!presented) {
        return decisions_.refuse(req, 401, "missing API key",
                                 {{"WWW-Authenticate", std::string(kChallenge)}});
    }
    const Key* key = find_key(opts_.keys, *presented);
    if (!key) {
        return decisions_.refuse(req, 401, "unknown API key",
                                 {{"WWW-Authenticate", std::string(kChallenge) + ", error=\"invalid_key\""}});
    }
    if (channel_of_ && !key->channels.empty()) {
        // No valid channel in the path: the handler answers 400 for it.
        if (std::optional<std::string> channel = channel_of_(head); channel && !key->allows(*channel))
            return decisions_.refuse(req, 403, "channel not allowed for this key");
    }
    decisions_.allow();
    return pipeline::HeadVerdict::Pass;
}

PluginDef plugin() {
    PluginDef def = make_plugin<Options>(
        "api_key", parse,
        [](const Options& o, const BuildContext& ctx, std::string&) -> std::shared_ptr<pipeline::Filter> {
            return std::make_shared<ApiKeyFilter>(o, ctx);
        });
    def.authenticates = true;
    return def;
}

}  // namespace sluice::plugins::api_key
